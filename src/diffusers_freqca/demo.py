# Copyright 2026 The diffusers-freqca authors. All rights reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""The demo: the same images with and without FreqCa, transformer evaluations counted, speed-up and quality measured.

By default it runs offline on a CPU with the project's small trained FLUX-architecture model (`tiny_flux`), one image
per class, 50 steps; `--model black-forest-labs/FLUX.1-dev` (or any diffusers pipeline repo with a supported
transformer) runs a Hub model, on a GPU when there is one. The comparison itself is `compare.compare_with_and_without`,
the one the examples run too.
"""

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from . import tiny_flux
from .compare import Comparison, compare_with_and_without, format_comparison
from .config import FreqCaConfig
from .presets import SETTINGS


DEFAULT_OUTPUT = "outputs/demo.png"


def build_parser() -> argparse.ArgumentParser:
    r"""
    The demo's command-line parser.

    Returns:
        `argparse.ArgumentParser`: the parser of `diffusers-freqca demo`.

    Example:
        ```python
        >>> build_parser().parse_args(["--cache-interval", "9"]).cache_interval
        9
        ```
    """
    parser = argparse.ArgumentParser(
        prog="diffusers-freqca demo",
        description=(
            "Generate the same images with and without FreqCa and compare: transformer evaluations, wall-clock "
            "speed-up (median of interleaved runs, next to the ideal one), and the quality of the FreqCa images "
            "against the full computation (PSNR, SSIM). Without --model it runs offline on the CPU with the "
            "project's small trained FLUX-architecture model (8 synthetic-image classes, 64x64) in a few minutes on a 2-core CPU."
        ),
    )
    parser.add_argument(
        "--model",
        default=None,
        help="a diffusers pipeline on the Hub or on disk, e.g. black-forest-labs/FLUX.1-dev (default: the tiny model)",
    )
    parser.add_argument("--prompt", default="A cat holding a sign that says hello world", help="prompt for --model")
    parser.add_argument("--height", type=int, default=1024, help="image height for --model")
    parser.add_argument("--width", type=int, default=1024, help="image width for --model")
    parser.add_argument("--steps", type=int, default=50, help="denoising steps (default 50, as in the paper)")
    parser.add_argument(
        "--preset",
        default="balanced",
        choices=SETTINGS,
        help="FreqCa preset setting (default: balanced); see `diffusers-freqca presets`",
    )
    parser.add_argument(
        "--cache-interval", type=int, default=None, help="N: one full transformer evaluation every N steps"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timed runs with and without FreqCa, interleaved; the speed-up compares medians (default: 3)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of the initial noise")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help=f"side-by-side PNG (default {DEFAULT_OUTPUT})")
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    parser.add_argument(
        "--cpu-offload", action="store_true", help="--model: enable_model_cpu_offload() instead of moving to --device"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the pipeline's progress bars")
    return parser


def _tiny_setup(args: argparse.Namespace) -> tuple[Any, dict[str, Any], FreqCaConfig, str]:
    pipe = tiny_flux.load_tiny_flux_pipeline()
    inputs = tiny_flux.pipeline_inputs(pipe)
    # The tiny model has the FLUX.1-dev architecture: its preset (no preset needs the step count).
    config = FreqCaConfig.from_preset("flux.1-dev", args.preset)
    count = inputs["prompt_embeds"].shape[0]
    description = f"the project's tiny trained FLUX-architecture model, {count} images of 64x64"
    return pipe, inputs, config, description


def _hub_setup(args: argparse.Namespace, device: str) -> tuple[Any, dict[str, Any], FreqCaConfig, str]:
    from diffusers import DiffusionPipeline

    dtype = torch.bfloat16 if device != "cpu" else torch.float32
    pipe = DiffusionPipeline.from_pretrained(args.model, torch_dtype=dtype)
    config = FreqCaConfig.from_preset(args.model, args.preset)
    inputs = {"prompt": args.prompt, "height": args.height, "width": args.width}
    return pipe, inputs, config, f"{args.model}, {args.height}x{args.width}"


def side_by_side(full: np.ndarray, freqca: np.ndarray, result: Comparison) -> Image.Image:
    r"""
    The demo's picture: three labelled rows, the full computation, FreqCa, and their difference (x4), with the
    block-stack evaluations and the PSNR written above the rows.

    Args:
        full (`np.ndarray`): the images without FreqCa, `(batch, height, width, 3)` floats in `[0, 1]` (a
            pipeline's `output_type="np"`).
        freqca (`np.ndarray`): the images with FreqCa, same shape.
        result (`Comparison`): the comparison the images come from (for the labels).

    Returns:
        `PIL.Image.Image`: an RGB image; small images are enlarged by an integer factor without smoothing, so that
        each row is at least 128 pixels high.

    Example:
        ```python
        >>> result = compare_with_and_without(pipe, {**inputs, "output_type": "np"}, config, 50)
        >>> side_by_side(result.images_full, result.images_freqca, result).save("demo.png")
        ```
    """

    def row(images: np.ndarray) -> Image.Image:
        strip = np.concatenate(list(np.clip(images, 0.0, 1.0)), axis=1)
        return Image.fromarray((strip * 255).round().astype(np.uint8))

    difference = np.clip(np.abs(full - freqca) * 4.0, 0.0, 1.0)  # x4 so that small differences are visible
    rows = [row(full), row(freqca), row(difference)]
    factor = max(1, -(-128 // rows[0].height))  # tiny images: enlarge without smoothing
    rows = [r.resize((r.width * factor, r.height * factor), Image.NEAREST) for r in rows]
    quality = f", PSNR {result.psnr:.2f} dB against the full computation" if result.psnr is not None else ""
    labels = [
        f"full computation: {result.evaluations_full} block-stack evaluations in {result.num_inference_steps} steps",
        f"FreqCa: {result.evaluations_freqca} block-stack evaluations{quality}",
        "difference x4: |FreqCa - full computation|, four times brighter",
    ]
    width = rows[0].width
    font = ImageFont.load_default(size=max(12, min(32, width // 42)))
    bar = int(font.size * 1.7) if hasattr(font, "size") else 20
    canvas = Image.new("RGB", (width, 3 * (bar + rows[0].height)), "white")
    draw = ImageDraw.Draw(canvas)
    top = 0
    for label, image in zip(labels, rows):
        draw.text((8, top + bar // 2), label, fill="black", font=font, anchor="lm")
        canvas.paste(image, (0, top + bar))
        top += bar + image.height
    return canvas


def run_demo(args: argparse.Namespace) -> Comparison:
    r"""
    Runs the demo: loads the model, compares the images with and without FreqCa and writes the labelled picture to
    `args.output`.

    Args:
        args (`argparse.Namespace`): parsed by [`build_parser`].

    Returns:
        [`Comparison`]: evaluations, timings, speed-ups, PSNR and SSIM, FreqCa's statistics and the images.

    Raises:
        `ValueError`: for `--steps` or `--repeats` below 1.

    Example:
        ```python
        >>> result = run_demo(build_parser().parse_args(["--steps", "20"]))
        >>> result.evaluations_freqca < result.evaluations_full
        True
        ```
    """
    if args.steps < 1:
        raise ValueError(f"`--steps` must be a positive integer, got {args.steps}.")
    if args.repeats < 1:
        raise ValueError(f"`--repeats` must be a positive integer, got {args.repeats}.")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if args.model is None:
        pipe, inputs, config, description = _tiny_setup(args)
        pipe.to(device)
    else:
        pipe, inputs, config, description = _hub_setup(args, device)
        if args.cpu_offload:
            pipe.enable_model_cpu_offload(device=device)
        else:
            pipe.to(device)
    if args.cache_interval is not None:
        changes = {"cache_interval": args.cache_interval}
        if config.first_interval == config.cache_interval:  # the paper's even schedule stays even
            changes["first_interval"] = args.cache_interval
        config = FreqCaConfig.from_dict({**config.to_dict(), **changes})
    pipe.set_progress_bar_config(disable=args.no_progress, leave=False)

    print(f"model: {description}; {args.steps} steps; device {device}")
    print(f"FreqCa: {config}")
    result = compare_with_and_without(
        pipe, {**inputs, "output_type": "np"}, config, args.steps, seed=args.seed, repeats=args.repeats
    )
    picture = side_by_side(result.images_full, result.images_freqca, result)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    picture.save(args.output)
    return result


def main(argv: list[str] | None = None) -> int:
    r"""
    `diffusers-freqca demo`: prints the comparison and saves the labelled side-by-side PNG (rows: full computation,
    FreqCa, difference x4).

    Args:
        argv (`list[str]`, *optional*): the arguments; `None` reads the command line.

    Returns:
        `int`: 0 on success.

    Example:
        ```bash
        diffusers-freqca demo
        diffusers-freqca demo --model black-forest-labs/FLUX.1-dev --preset fast
        ```
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = run_demo(args)
    except ValueError as error:
        parser.error(str(error))
    print()
    print(format_comparison(result))
    print(f"saved {args.output} (rows: full computation, FreqCa, difference x4)")
    return 0
