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

Runs the full computation once per prompt, then every combination of `--interval` and `--cutoff`, and prints one row
per combination: transformer evaluations, wall time, speed-up and the PSNR against the full computation (higher is
closer). Writes the rows as JSON (`--output`) and the images as a grid next to it (rows: intervals, columns:
cut-offs, first column: the full computation).

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
    TINY_SIZE,
    add_common_arguments,
    check_common_arguments,
    load_tiny_flux,
    place,
    psnr,
    resolve_device,
    timed_call,
    torch_dtype,
    with_interval,
)


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
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    check_common_arguments(parser, args)
    if any(not 0 < c <= 1 for c in args.cutoff):
        parser.error(f"--cutoff values must be in (0, 1], got {args.cutoff}.")

    from diffusers import FluxPipeline

    from diffusers_freqca import FreqCaConfig, full_steps, get_freqca_stats

    device = resolve_device(args)
    if args.tiny:
        print(NOTE_TRAINED.format(model=args.model))
        pipe, _ = load_tiny_flux()
        from diffusers_freqca import tiny_model

        cases = []
        for index in args.classes:
            prompt_embeds, pooled = tiny_model.get_prompt_embeds(pipe, index)
            cases.append(
                {
                    "prompt_embeds": prompt_embeds,
                    "pooled_prompt_embeds": pooled,
                    "height": TINY_SIZE,
                    "width": TINY_SIZE,
                }
            )
    else:
        pipe = FluxPipeline.from_pretrained(args.model, torch_dtype=torch_dtype(args))
        cases = [{"prompt": p, "height": args.height, "width": args.width, "guidance_scale": 3.5} for p in args.prompt]
    place(pipe, args, device)
    cases = [{**case, "num_inference_steps": args.steps} for case in cases]
    if not args.no_warmup:
        timed_call(pipe, {**cases[0], "num_inference_steps": 2}, args.seed, device)

    baseline = [timed_call(pipe, case, args.seed, device) for case in cases]
    baseline_seconds = statistics.mean(seconds for _, seconds in baseline)
    print(f"full computation: {args.steps} evaluations, {baseline_seconds:.2f} s per image (mean of {len(cases)})")
    preset = FreqCaConfig.from_preset("flux.1-dev", "balanced", num_inference_steps=args.steps)

    rows, grid = [], []
    for interval in args.interval:
        grid_row = [baseline[0][0]]
        for cutoff in args.cutoff:
            config = with_interval(preset, interval, cutoff_ratio=cutoff)
            pipe.transformer.enable_cache(config)
            try:
                runs = [timed_call(pipe, case, args.seed, device) for case in cases]
                stats = get_freqca_stats(pipe.transformer)
            finally:
                pipe.transformer.disable_cache()
            seconds = statistics.mean(s for _, s in runs)
            row = {
                "cache_interval": interval,
                "cutoff_ratio": cutoff,
                "transformer_evaluations": len(full_steps(args.steps, config)),
                "computed_steps": stats.contexts[next(iter(stats.contexts))].computed_steps,
                "seconds": seconds,
                "speedup": baseline_seconds / seconds,
                "psnr_db": statistics.mean(psnr(image, ref) for (image, _), (ref, _) in zip(runs, baseline)),
            }
            rows.append(row)
            grid_row.append(runs[0][0])
            print(
                f"N={interval:<2d} cut-off={cutoff:<5g} evaluations={row['transformer_evaluations']:<3d} "
                f"{seconds:6.2f} s  speed-up {row['speedup']:.2f}x  PSNR {row['psnr_db']:.2f} dB"
            )
        grid.append(grid_row)

    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    settings = {
        "model": "tiny" if args.tiny else args.model,
        "steps": args.steps,
        "seed": args.seed,
        "device": str(device),
        "cases": len(cases),
        "baseline_seconds": baseline_seconds,
    }
    output.write_text(json.dumps({"settings": settings, "rows": rows}, indent=2))
    grid_path = output.with_suffix(".png")
    _grid(grid, grid_path)
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
