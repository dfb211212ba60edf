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
"""Choose FreqCa's cache interval and cut-off ratio for your model (tutorial: docs/tutorials/choose_interval_cutoff.md).

For each prompt, runs the full computation and every combination of `--interval` and `--cutoff`, interleaved
(`--repeats` rounds; the package's `compare_configs`), and prints one row per combination: transformer evaluations,
median wall time, measured and ideal speed-up, and the PSNR against the full computation (higher is closer), averaged
over the prompts. Writes the rows as JSON (`--output`) and the images of the first prompt as a grid next to it (rows:
intervals, columns: the full computation, then the cut-offs).

The starting point is a config that splits bands (the `"paper"` preset: the CRF forecast with the low band reused and
the high band forecast at order 2), so that the cut-off matters; the `"balanced"` and `"fast"` presets forecast the
model output without a split, so every cut-off gives them the same images. `--setting` picks another preset.

    python examples/choose_interval_cutoff.py                   # FLUX.1-dev on a GPU: 3 intervals x 3 cut-offs
    python examples/choose_interval_cutoff.py --interval 5 6 7 9 --cutoff 0.1 --prompt "a red fox" "a city at night"
    python examples/choose_interval_cutoff.py --tiny            # the tiny trained model, CPU, offline
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

from _common import (
    NOTE_TRAINED,
    add_common_arguments,
    check_common_arguments,
    load_tiny_flux,
    place,
    resolve_device,
    torch_dtype,
    with_interval,
)

from diffusers_freqca.presets import SETTINGS


def build_parser() -> argparse.ArgumentParser:
    r"""
    The command-line parser of this example.

    Example:
        ```python
        >>> build_parser().parse_args(["--interval", "4", "9", "--cutoff", "0.2"]).interval
        [4, 9]
        ```
    """
    parser = argparse.ArgumentParser(
        prog="choose_interval_cutoff.py",
        description=(
            "Sweep FreqCa's cache interval and cut-off ratio on FLUX: evaluations, time, speed-up and PSNR against "
            "the full computation for every combination."
        ),
    )
    add_common_arguments(parser, "black-forest-labs/FLUX.1-dev", "outputs/choose_interval_cutoff.json", sweep=True)
    parser.add_argument(
        "--cutoff",
        type=float,
        nargs="+",
        default=[0.05, 0.1, 0.2],
        help="Cut-off ratios to try (default: %(default)s).",
    )
    parser.add_argument(
        "--setting",
        default="paper",
        choices=SETTINGS,
        help=(
            "The FLUX.1-dev preset to start from (default: %(default)s, which splits bands; the balanced and fast "
            "presets forecast the model output without a split, so the cut-off changes nothing)."
        ),
    )
    parser.add_argument(
        "--prompt",
        nargs="+",
        default=["A cat holding a sign that says hello world"],
        help="Prompts (ignored with --tiny). Use several for a decision you can trust.",
    )
    parser.add_argument("--height", type=int, default=1024, help="Image height (--tiny: 64).")
    parser.add_argument("--width", type=int, default=1024, help="Image width (--tiny: 64).")
    parser.add_argument("--classes", type=int, nargs="+", default=[0, 3, 6], help="--tiny: the classes to draw.")
    return parser


def _grid(rows: list[list], path: Path) -> None:
    from PIL import Image

    width, height = rows[0][0].size
    grid = Image.new("RGB", (width * max(len(r) for r in rows), height * len(rows)), "white")
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            grid.paste(image.convert("RGB"), (j * width, i * height))
    grid.save(path)


def main(argv: list[str] | None = None) -> int:
    r"""
    Runs the sweep.

    Args:
        argv (`list[str]`, *optional*): the arguments; `None` reads `sys.argv[1:]`.

    Returns:
        `int`: the exit status.

    Example:
        ```python
        >>> main(["--tiny", "--interval", "4", "6", "--cutoff", "0.05", "0.2"])
        0
        ```
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    check_common_arguments(parser, args)
    if any(not 0 < c <= 1 for c in args.cutoff):
        parser.error(f"--cutoff values must be in (0, 1], got {args.cutoff}.")

    from diffusers import FluxPipeline

    from diffusers_freqca import FreqCaConfig
    from diffusers_freqca.compare import compare_configs

    device = resolve_device(args)
    if args.tiny:
        print(NOTE_TRAINED.format(model=args.model))
        from diffusers_freqca.tiny_flux import pipeline_inputs

        pipe, _ = load_tiny_flux()
        cases = [pipeline_inputs(pipe, [index]) for index in args.classes]
    else:
        pipe = FluxPipeline.from_pretrained(args.model, torch_dtype=torch_dtype(args))
        cases = [{"prompt": p, "height": args.height, "width": args.width, "guidance_scale": 3.5} for p in args.prompt]
    place(pipe, args, device)

    preset = FreqCaConfig.from_preset("flux.1-dev", args.setting)
    if not preset.splits_bands:
        print(f"note: the {args.setting!r} preset does not split bands: every cut-off gives the same images.")
    combinations = [(interval, cutoff) for interval in args.interval for cutoff in args.cutoff]
    configs = [with_interval(preset, interval, cutoff_ratio=cutoff) for interval, cutoff in combinations]
    per_case = [
        compare_configs(
            pipe,
            case,
            configs,
            args.steps,
            seed=args.seed,
            repeats=args.repeats,
            warmup_steps=0 if args.no_warmup else 2,
        )
        for case in cases
    ]
    first = per_case[0][0]
    baseline_seconds = statistics.mean(statistics.median(results[0].seconds_full) for results in per_case)
    print(
        f"full computation: {first.evaluations_full} evaluations, {baseline_seconds:.2f} s per image (median of "
        f"{args.repeats} interleaved runs, mean over {len(cases)} prompt(s))"
    )

    rows, grid = [], []
    for index, (interval, cutoff) in enumerate(combinations):
        results = [case_results[index] for case_results in per_case]
        row = {
            "cache_interval": interval,
            "cutoff_ratio": cutoff,
            "transformer_evaluations": results[0].evaluations_freqca,
            "seconds": statistics.mean(statistics.median(r.seconds_freqca) for r in results),
            "speedup": statistics.mean(r.speedup for r in results),
            "ideal_speedup": results[0].ideal_speedup,
            "psnr_db": statistics.mean(r.psnr for r in results),
        }
        rows.append(row)
        if not grid or grid[-1][0] != interval:
            grid.append((interval, [results[0].images_full[0]]))
        grid[-1][1].append(results[0].images_freqca[0])
        print(
            f"N={interval:<2d} cut-off={cutoff:<5g} evaluations={row['transformer_evaluations']:<3d} "
            f"{row['seconds']:6.2f} s  speed-up {row['speedup']:.2f}x (ideal {row['ideal_speedup']:.2f}x)  "
            f"PSNR {row['psnr_db']:.2f} dB"
        )

    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    settings = {
        "model": "tiny" if args.tiny else args.model,
        "setting": args.setting,
        "steps": args.steps,
        "seed": args.seed,
        "repeats": args.repeats,
        "device": str(device),
        "cases": len(cases),
        "baseline_seconds": baseline_seconds,
    }
    output.write_text(json.dumps({"settings": settings, "rows": rows}, indent=2))
    grid_path = output.with_suffix(".png")
    _grid([images for _, images in grid], grid_path)
    print(f"saved {output} and {grid_path} (rows: intervals; columns: full computation, then the cut-offs)")
    best = max(rows, key=lambda r: (r["psnr_db"], r["speedup"]))
    print(
        f"closest to the full computation: N={best['cache_interval']}, cut-off={best['cutoff_ratio']:g} "
        f"({best['psnr_db']:.2f} dB). Pick the largest N whose images you accept, then the cut-off that scores best "
        "at that N."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
