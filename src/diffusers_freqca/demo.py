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

By default it runs offline on a CPU with the project's small trained FLUX-architecture model (`tiny_model`), one image
per class, 50 steps; `--model black-forest-labs/FLUX.1-dev` (or any diffusers pipeline repo with a supported
transformer) runs a Hub model, on a GPU when there is one.
"""

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .benchmarks._common import count_evaluations, psnr, ssim
from .config import FreqCaConfig
from .hooks import get_freqca_stats


DEFAULT_OUTPUT = "outputs/demo.png"


def build_parser() -> argparse.ArgumentParser:
    r"""
    The demo's command-line parser.

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
            "speed-up, and the quality of the FreqCa images against the full computation (PSNR, SSIM). Without "
            "--model it runs offline on the CPU with the project's small trained FLUX-architecture model (8 "
            "synthetic-image classes, 64x64) in about a minute."
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
        help="FreqCa preset setting for --model (balanced, fast, paper, paper-fast); see `diffusers-freqca presets`",
    )
    parser.add_argument(
        "--cache-interval", type=int, default=None, help="N: one full transformer evaluation every N steps"
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
    from . import tiny_model

    pipe = tiny_model.load_tiny_flux_pipeline()
    embeds = [tiny_model.get_prompt_embeds(pipe, index) for index in range(len(tiny_model.CLASS_NAMES))]
    inputs = {
        "prompt_embeds": torch.cat([e[0] for e in embeds]),
        "pooled_prompt_embeds": torch.cat([e[1] for e in embeds]),
        "height": tiny_model.IMAGE_SIZE,
        "width": tiny_model.IMAGE_SIZE,
    }
    config = FreqCaConfig.from_preset("flux.1-dev", args.preset, num_inference_steps=args.steps)
    description = f"the project's tiny trained FLUX-architecture model, {len(embeds)} images of 64x64"
    return pipe, inputs, config, description


def _hub_setup(args: argparse.Namespace, device: str) -> tuple[Any, dict[str, Any], FreqCaConfig, str]:
    from diffusers import DiffusionPipeline

    dtype = torch.bfloat16 if device != "cpu" else torch.float32
    pipe = DiffusionPipeline.from_pretrained(args.model, torch_dtype=dtype)
    config = FreqCaConfig.from_preset(args.model, args.preset, num_inference_steps=args.steps)
    inputs = {"prompt": args.prompt, "height": args.height, "width": args.width}
    return pipe, inputs, config, f"{args.model}, {args.height}x{args.width}"


def _run(pipe, inputs: dict[str, Any], steps: int, seed: int, device: str) -> tuple[np.ndarray, float, dict]:
    generator = torch.Generator("cpu").manual_seed(seed)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    with count_evaluations(pipe.transformer) as counts:
        images = pipe(**inputs, num_inference_steps=steps, generator=generator, output_type="np").images
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return images, time.perf_counter() - start, counts


def _side_by_side(full: np.ndarray, cached: np.ndarray, output: str) -> None:
    from PIL import Image

    def row(images: np.ndarray) -> np.ndarray:
        return np.concatenate(list(images), axis=1)

    difference = np.clip(np.abs(full - cached) * 4.0, 0.0, 1.0)  # x4 so small differences are visible
    grid = np.concatenate([row(full), row(cached), row(difference)], axis=0)
    image = Image.fromarray((grid * 255).round().astype(np.uint8))
    if image.height < 256:  # tiny images: enlarge without smoothing
        factor = 256 // image.height + 1
        image = image.resize((image.width * factor, image.height * factor), Image.NEAREST)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    image.save(output)


def run_demo(args: argparse.Namespace) -> dict[str, Any]:
    r"""
    Runs the demo and returns what it measured.

    Args:
        args (`argparse.Namespace`): parsed by [`build_parser`].

    Returns:
        `dict`: `evaluations_full`, `evaluations_freqca` (full evaluations of the block stack), `seconds_full`,
        `seconds_freqca`, `speedup`, `ideal_speedup`, `psnr`, `ssim`, `stats` (a `FreqCaStats`) and `output`.

    Example:
        ```python
        >>> result = run_demo(build_parser().parse_args(["--steps", "20"]))
        >>> result["evaluations_freqca"] < result["evaluations_full"]
        True
        ```
    """
    if args.steps < 1:
        raise ValueError(f"`--steps` must be a positive integer, got {args.steps}.")
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
        config = FreqCaConfig.from_dict({**config.to_dict(), "cache_interval": args.cache_interval})
    pipe.set_progress_bar_config(disable=args.no_progress, leave=False)

    print(f"model: {description}; {args.steps} steps; device {device}")
    print(f"FreqCa: {config}")
    # A short warm-up so that one-time costs (allocations, kernel selection) are in neither timed run.
    _run(pipe, inputs, 2, args.seed, device)
    full, seconds_full, counts_full = _run(pipe, inputs, args.steps, args.seed, device)
    pipe.transformer.enable_cache(config)
    try:
        cached, seconds_cached, counts_cached = _run(pipe, inputs, args.steps, args.seed, device)
        stats = get_freqca_stats(pipe.transformer)
    finally:
        pipe.transformer.disable_cache()

    full_t, cached_t = torch.from_numpy(full).permute(0, 3, 1, 2), torch.from_numpy(cached).permute(0, 3, 1, 2)
    result = {
        "evaluations_full": counts_full["last_block"],
        "evaluations_freqca": counts_cached["last_block"],
        "transformer_calls": counts_cached["calls"],
        "seconds_full": seconds_full,
        "seconds_freqca": seconds_cached,
        "speedup": seconds_full / seconds_cached,
        "ideal_speedup": counts_full["last_block"] / max(counts_cached["last_block"], 1),
        "psnr": psnr(cached_t, full_t),
        "ssim": ssim(cached_t, full_t) if min(full.shape[1:3]) >= 11 else float("nan"),
        "stats": stats,
        "output": args.output,
    }
    _side_by_side(full, cached, args.output)
    return result


def main(argv: list[str] | None = None) -> int:
    r"""
    `diffusers-freqca demo`: prints the comparison and saves the side-by-side PNG (rows: full computation, FreqCa,
    difference x4).

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
    args = build_parser().parse_args(argv)
    result = run_demo(args)
    print()
    print(f"{'':<24}{'full computation':>18}{'FreqCa':>12}")
    print(f"{'block-stack evaluations':<24}{result['evaluations_full']:>18}{result['evaluations_freqca']:>12}")
    print(f"{'wall time (s)':<24}{result['seconds_full']:>18.2f}{result['seconds_freqca']:>12.2f}")
    print(
        f"speed-up {result['speedup']:.2f}x (ideal {result['ideal_speedup']:.2f}x: "
        f"{result['evaluations_full']} / {result['evaluations_freqca']} evaluations)"
    )
    print(f"quality against the full computation: PSNR {result['psnr']:.2f} dB, SSIM {result['ssim']:.4f}")
    for name, context in result["stats"].contexts.items():
        print(
            f"FreqCa context {name!r}: {context.computed_steps} steps computed (steps {context.full_steps}), "
            f"{context.predicted_steps} forecast, cache {context.cache_bytes / 2**10:.1f} KiB"
        )
    print(f"saved {result['output']} (rows: full computation, FreqCa, difference x4)")
    return 0
