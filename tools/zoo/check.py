# Copyright 2026 The diffusers-freqca authors. Licensed under the Apache License, Version 2.0.
"""Did a zoo model learn its data? Samples beside data, and a number: how many samples look like their own class.

    python -m tools.zoo.check flux-scenes-16            # writes zoo/flux-scenes-16/samples.png, prints the scores

The score is a nearest-centroid test in a simple image feature space (a 3x3-cell colour layout plus per-channel
gradient energy, so both the composition and the texture count): for each class, centroids are computed from 64
fresh data images, and a sample scores when its nearest centroid is its own class. `train_summary.json` carries the
loss curve's last-fifth change (near zero once the loss has flattened).
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from . import data
from .load import call_kwargs, load_pipeline
from .specs import get_spec
from .train import DEFAULT_ROOT


def image_features(images: np.ndarray) -> np.ndarray:
    r"""
    Features of images `(n, 3, H, W)` in `[0, 1]`: the mean colour of each cell of a 3x3 grid (27 values) and the mean
    absolute horizontal and vertical differences per channel (6 values, scaled by 4 to weigh texture like colour).
    """
    n, _, height, width = images.shape
    cells = []
    for i in range(3):
        for j in range(3):
            cell = images[:, :, i * height // 3 : (i + 1) * height // 3, j * width // 3 : (j + 1) * width // 3]
            cells.append(cell.mean(axis=(2, 3)))
    texture = [
        np.abs(np.diff(images, axis=3)).mean(axis=(2, 3)) * 4,
        np.abs(np.diff(images, axis=2)).mean(axis=(2, 3)) * 4,
    ]
    return np.concatenate(cells + texture, axis=1).reshape(n, -1)


def class_centroids(family: str, height: int, width: int, per_class: int = 64, seed: int = 99) -> np.ndarray:
    r"""The feature centroid of each class, from `per_class` fresh data images: `(classes, features)`."""
    rng = np.random.default_rng(seed)
    centroids = []
    for k in range(len(data.class_names(family))):
        images = np.stack([data.render(family, k, rng, height, width) for _ in range(per_class)])
        centroids.append(image_features(images).mean(axis=0))
    return np.stack(centroids)


@torch.no_grad()
def check(name: str, root: Path = DEFAULT_ROOT, seeds: int = 2, steps: int = 50) -> dict:
    r"""
    Samples every class `seeds` times and scores them against the data (module docstring); writes `samples.png`
    (for each class, a data image above two samples).

    Returns:
        `dict`: `class_agreement` (fraction of samples nearest their own class), per-class hits, and the training
        summary's loss numbers.
    """
    spec = get_spec(name)
    pipe = load_pipeline(name, root=root)
    classes = list(range(len(data.class_names(spec.family))))
    samples = [pipe(**call_kwargs(pipe, classes, seed, steps)).images.float().numpy() for seed in range(seeds)]
    centroids = class_centroids(spec.family, spec.height, spec.width)
    hits = np.zeros(len(classes), int)
    for batch in samples:
        distance = ((image_features(batch)[:, None] - centroids[None]) ** 2).sum(-1)
        hits += distance.argmin(axis=1) == np.arange(len(classes))
    rng = np.random.default_rng(0)
    reference = np.stack([data.render(spec.family, k, rng, spec.height, spec.width) for k in classes])
    rows = [np.concatenate(list(images), axis=2) for images in [reference, *samples]]
    grid = (np.concatenate(rows, axis=1).transpose(1, 2, 0) * 255).round().clip(0, 255).astype(np.uint8)
    from PIL import Image

    Image.fromarray(grid).save(Path(root) / name / "samples.png")
    summary = json.loads((Path(root) / name / "train_summary.json").read_text())
    return {
        "model": name,
        "class_agreement": float(hits.sum() / (len(classes) * seeds)),
        "hits_per_class": hits.tolist(),
        "loss_first_tenth": summary["loss_first_tenth"],
        "loss_last_tenth": summary["loss_last_tenth"],
        "loss_change_last_fifth": summary["loss_change_last_fifth"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.zoo.check", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="+")
    parser.add_argument("--root", default=str(DEFAULT_ROOT))
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for name in args.names:
        print(json.dumps(check(name, Path(args.root), args.seeds)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
