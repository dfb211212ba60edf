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
"""Denoising-loop timings of the full-size FLUX.1-dev and Qwen-Image transformers on a CUDA GPU.

The transformers are built from their real configs directly on the GPU in bfloat16 and filled with small random
values: the time of a call does not depend on the weights. The loop is `speed.DenoisingLoop` (FluxPipeline's loop
without text encoders and VAE) at 1024x1024, timed with CUDA events after a warm-up, for: no cache, FreqCa's default
(`FreqCaConfig(cache_interval=N)`) and the paper's recipe at N=6 and N=9, diffusers' TaylorSeerCache lite (order 1,
interval 6 and 9, the peer of the zoo benchmark) and with its defaults, FirstBlockCache and MagCache (FLUX only:
diffusers ships calibration ratios for FLUX, none for Qwen-Image). Both models get the same scheduler sigmas
(their values do not change the cost) and one transformer call per step: Qwen-Image with `true_cfg_scale > 1` makes
two, in two cache contexts, which doubles every time in the table.

FirstBlockCache decides from the features whether to skip, so with random weights its number of full evaluations,
and thus its time, says nothing about the real model; the table reports the evaluations it made. The other caches
follow fixed schedules (MagCache's follows its calibration ratios), so their timings are those of the real models.

    python -m benchmarks.gpu_timing --output-json gpu.json     # from the root of a clone, on a CUDA machine
    python -m benchmarks.gpu_timing --dry-run                  # the same code on tiny models on the CPU
"""

import argparse
import datetime
import gc
import json
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from diffusers_freqca import FreqCaConfig
from diffusers_freqca.block_stack import CallCounter, count_evaluations, last_block

from .models import MODELS, ModelShape, build_transformer, make_inputs, paper_config, paper_decomposition
from .speed import DenoisingLoop


METHODS: tuple[str, ...] = (
    "uncached",
    "freqca-n6",
    "freqca-n9",
    "freqca-paper-n6",
    "freqca-paper-n9",
    "taylorseer-lite-n6",
    "taylorseer-lite-n9",
    "taylorseer",
    "first-block-cache",
    "magcache",
)

# `--dry-run`: two blocks of each architecture at a small shape, on the CPU, for a few steps.
DRY_RUN_MODELS: dict[str, ModelShape] = {
    "flux.1-dev": ModelShape(
        "flux.1-dev",
        "FluxTransformer2DModel",
        {
            **MODELS["flux.1-dev"].config,
            "num_layers": 1,
            "num_single_layers": 1,
            "attention_head_dim": 16,
            "num_attention_heads": 2,
            "joint_attention_dim": 32,
            "pooled_projection_dim": 16,
            "axes_dims_rope": (4, 6, 6),
        },
        text_tokens=8,
    ),
    "qwen-image": ModelShape(
        "qwen-image",
        "QwenImageTransformer2DModel",
        {
            **MODELS["qwen-image"].config,
            "num_layers": 2,
            "attention_head_dim": 16,
            "num_attention_heads": 2,
            "joint_attention_dim": 24,
            "axes_dims_rope": (8, 4, 4),
        },
        text_tokens=8,
    ),
}


def cache_config(method: str, model: str, num_inference_steps: int, fbc_threshold: float = 0.12) -> tuple[Any, str]:
    r"""
    The cache config of a benchmark method.

    Args:
        method (`str`): one of `METHODS`.
        model (`str`): `"flux.1-dev"` or `"qwen-image"` (FreqCa's band split and MagCache's ratios depend on it).
        num_inference_steps (`int`): steps per image (MagCache interpolates its ratios to it).
        fbc_threshold (`float`, defaults to `0.12`): FirstBlockCache's threshold.

    Returns:
        `tuple[Any, str]`: the config (`None` for `"uncached"` and for a method that cannot run on this model) and a
        short description, or the reason it is skipped.

    Example:
        ```python
        >>> cache_config("freqca-n9", "qwen-image", 50)[1]
        'FreqCaConfig(cache_interval=9) (the default)'
        >>> cache_config("freqca-paper-n9", "qwen-image", 50)
        (FreqCaConfig(cache_interval=9, ..., decomposition='fft', ...), 'FreqCa paper recipe N=9, fft')
        ```
    """
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {', '.join(METHODS)}, got {method!r}.")
    if model not in MODELS:
        raise ValueError(f"`model` must be one of {', '.join(MODELS)}, got {model!r}.")
    if method == "uncached":
        return None, "no cache"
    if method.startswith("freqca-paper-n"):
        interval = int(method.removeprefix("freqca-paper-n"))
        return paper_config(model, interval), f"FreqCa paper recipe N={interval}, {paper_decomposition(model)}"
    if method.startswith("freqca-n"):
        interval = int(method.removeprefix("freqca-n"))
        return FreqCaConfig(cache_interval=interval), f"FreqCaConfig(cache_interval={interval}) (the default)"
    if method.startswith("taylorseer-lite-n"):
        from diffusers import TaylorSeerCacheConfig

        interval = int(method.removeprefix("taylorseer-lite-n"))
        config = TaylorSeerCacheConfig(cache_interval=interval, max_order=1, use_lite_mode=True)
        return config, f"TaylorSeerCache lite, interval {interval}, max_order 1"
    if method == "taylorseer":
        from diffusers import TaylorSeerCacheConfig

        config = TaylorSeerCacheConfig()
        return config, f"TaylorSeerCache defaults (interval {config.cache_interval}, max_order {config.max_order})"
    if method == "first-block-cache":
        from diffusers import FirstBlockCacheConfig

        return FirstBlockCacheConfig(threshold=fbc_threshold), f"FirstBlockCache threshold {fbc_threshold}"
    from diffusers import MagCacheConfig
    from diffusers.hooks.mag_cache import FLUX_MAG_RATIOS

    if model != "flux.1-dev":
        return None, "skipped: diffusers ships no MagCache ratios for Qwen-Image (calibrating random weights is moot)"
    config = MagCacheConfig(mag_ratios=FLUX_MAG_RATIOS, num_inference_steps=num_inference_steps)
    return config, "MagCache defaults with diffusers' FLUX_MAG_RATIOS"


@torch.no_grad()
def init_random_weights(module: torch.nn.Module, std: float = 0.02, seed: int = 0) -> None:
    r"""
    Fills the parameters of `module` in place, on their device: normal values with standard deviation `std` for
    matrices, ones for normalisation weights, zeros for biases. Keeps the activations of a deep random model finite,
    which caches that look at the features (FirstBlockCache) need.

    Args:
        module (`torch.nn.Module`): the model.
        std (`float`, defaults to `0.02`): standard deviation of the matrix entries.
        seed (`int`, defaults to `0`): the seed.

    Example:
        ```python
        >>> init_random_weights(transformer)
        ```
    """
    torch.manual_seed(seed)
    for name, parameter in module.named_parameters():
        if parameter.ndim >= 2:
            parameter.normal_(0.0, std)
        elif "norm" in name and name.endswith("weight"):
            parameter.fill_(1.0)
        else:
            parameter.zero_()


def build_random_transformer(
    model: ModelShape, device: torch.device, dtype: torch.dtype = torch.bfloat16, seed: int = 0
) -> torch.nn.Module:
    r"""
    Builds `model`'s transformer directly on `device` in `dtype` (no CPU copy; the class's initialisation runs on the
    device) and fills it with [`init_random_weights`].

    Args:
        model (`ModelShape`): the model.
        device (`torch.device`): where to build it.
        dtype (`torch.dtype`, defaults to `torch.bfloat16`): its dtype.
        seed (`int`, defaults to `0`): the seed of the weights.

    Returns:
        `torch.nn.Module`: the transformer, in eval mode.

    Example:
        ```python
        >>> transformer = build_random_transformer(MODELS["flux.1-dev"], torch.device("cuda"))
        ```
    """
    transformer = build_transformer(model, device, dtype)
    init_random_weights(transformer, seed=seed)
    return transformer.eval()


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_run(loop: DenoisingLoop, device: torch.device) -> float:
    r"""
    Seconds of one run of `loop`: CUDA events around the whole loop on a GPU (no synchronisation inside it), the wall
    clock elsewhere.

    Args:
        loop (`DenoisingLoop`): the loop.
        device (`torch.device`): where it runs.

    Returns:
        `float`: seconds per image.

    Example:
        ```python
        >>> seconds = timed_run(DenoisingLoop(transformer, inputs, 50), torch.device("cuda"))
        ```
    """
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize(device)
        start.record()
        loop.run(time_steps=False)
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1000.0
    start_time = time.perf_counter()
    loop.run(time_steps=False)
    return time.perf_counter() - start_time


@dataclass
class MethodTiming:
    r"""
    The timing of one method on one model.

    Args:
        method (`str`): the method's name; `description` (`str`): its config, or why it was skipped.
        seconds (`list[float]`): seconds per image, one per repeat (empty when skipped).
        evaluations (`int`): steps of the last run on which the last block ran (the whole block stack ran).
        attention_evaluations (`int`): steps of the last run on which the last block's attention ran
            (TaylorSeerCache runs every block and forecasts only the attention outputs).
        peak_memory_gib (`float`, *optional*): peak CUDA memory allocated during the timed runs, weights included.
    """

    method: str
    description: str
    seconds: list[float] = field(default_factory=list)
    evaluations: int = 0
    attention_evaluations: int = 0
    peak_memory_gib: float | None = None

    @property
    def median_seconds(self) -> float:
        """The median of `seconds`, `nan` when the method did not run."""
        return statistics.median(self.seconds) if self.seconds else float("nan")


@dataclass
class ModelTiming:
    r"""
    The timings of every method on one model.

    Args:
        model (`str`): the model's name.
        device (`str`): the device's name.
        height (`int`), width (`int`): the image size; `num_inference_steps` (`int`): steps per image.
        weights_gib (`float`): the size of the weights.
        methods (`list[MethodTiming]`): the methods, the uncached run first.
    """

    model: str
    device: str
    height: int
    width: int
    num_inference_steps: int
    weights_gib: float
    methods: list[MethodTiming] = field(default_factory=list)

    def speedups(self) -> dict[str, float]:
        """Median uncached seconds / median seconds of each method that ran."""
        base = next((m.median_seconds for m in self.methods if m.method == "uncached"), float("nan"))
        return {m.method: base / m.median_seconds for m in self.methods if m.seconds}

    def to_dict(self) -> dict[str, Any]:
        """The timings as a JSON-serialisable dict, with the `speedups` added."""
        data = asdict(self)
        data["speedups"] = self.speedups()
        return data


def time_model(
    model: ModelShape,
    device: torch.device,
    height: int = 1024,
    width: int = 1024,
    num_inference_steps: int = 50,
    methods: tuple[str, ...] = METHODS,
    repeats: int = 1,
    warmup_steps: int = 5,
    fbc_threshold: float = 0.12,
    dtype: torch.dtype = torch.bfloat16,
    log=print,
) -> ModelTiming:
    r"""
    Builds `model` with random weights on `device` and times the denoising loop for each method, interleaving the
    methods in each repeat. Before each method's timed runs, one untimed warm-up run of `warmup_steps` steps with the
    same cache; the cache's state is reset before every run, as a pipeline does at the end of each call.

    Args:
        model (`ModelShape`): the model and its shapes.
        device (`torch.device`): where to run.
        height (`int`, defaults to `1024`), width (`int`, defaults to `1024`): the image size.
        num_inference_steps (`int`, defaults to `50`): steps per image.
        methods (`tuple[str, ...]`, defaults to `METHODS`): what to time; `"uncached"` is always included.
        repeats (`int`, defaults to `1`): timed runs of each method.
        warmup_steps (`int`, defaults to `5`): steps of the warm-up run.
        fbc_threshold (`float`, defaults to `0.12`): FirstBlockCache's threshold.
        dtype (`torch.dtype`, defaults to `torch.bfloat16`): the model's dtype.
        log (`Callable[[str], None]`, defaults to `print`): progress messages.

    Returns:
        [`ModelTiming`]: the timings.

    Example:
        ```python
        >>> timing = time_model(MODELS["flux.1-dev"], torch.device("cuda"), methods=("uncached", "freqca-n6"))
        >>> timing.speedups()["freqca-n6"]
        ```
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"`repeats` must be an int >= 1, got {repeats!r}.")
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 1:
        raise ValueError(f"`warmup_steps` must be an int >= 1, got {warmup_steps!r}.")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"Unknown method(s) {unknown}; the methods are {', '.join(METHODS)}.")
    methods = ("uncached", *(m for m in methods if m != "uncached"))
    transformer = build_random_transformer(model, device, dtype)
    weights = sum(p.numel() * p.element_size() for p in transformer.parameters()) / 2**30
    generator = torch.Generator().manual_seed(0)
    inputs = make_inputs(model, height, width, 1, device, dtype, generator=generator)
    loop = DenoisingLoop(transformer, inputs, num_inference_steps)
    warmup = DenoisingLoop(transformer, inputs, min(warmup_steps, num_inference_steps))
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    timing = ModelTiming(model.name, device_name, height, width, num_inference_steps, weights)
    configs = {}
    for method in methods:
        config, description = cache_config(method, model.name, num_inference_steps, fbc_threshold)
        configs[method] = config
        timing.methods.append(MethodTiming(method, description))
    # The query projection runs only when the attention really computes.
    attention_probe = last_block(transformer).attn.to_q
    runnable = [m for m in timing.methods if m.method == "uncached" or configs[m.method] is not None]
    for entry in timing.methods:
        if entry not in runnable:
            log(f"{model.name}: {entry.method} {entry.description}")

    def run(entry: MethodTiming, timed: bool) -> None:
        config = configs[entry.method]
        if config is not None:
            transformer.enable_cache(config)
        try:
            if not timed:
                warmup.run(time_steps=False)
                return
            if config is not None:
                transformer._reset_stateful_cache()
            with count_evaluations(transformer) as counts, CallCounter(attention_probe) as attention:
                seconds = timed_run(loop, device)
            entry.seconds.append(seconds)
            entry.evaluations = counts["last_block"]
            entry.attention_evaluations = attention.count
        finally:
            if config is not None:
                transformer.disable_cache()

    for entry in runnable:
        run(entry, timed=False)
    for repeat in range(repeats):
        for entry in runnable:
            # What an earlier method's cache left behind in reference cycles must not count in this one's peak.
            gc.collect()
            if device.type == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats(device)
            run(entry, timed=True)
            if device.type == "cuda":
                peak = torch.cuda.max_memory_allocated(device) / 2**30
                entry.peak_memory_gib = max(entry.peak_memory_gib or 0.0, peak)
            log(
                f"{model.name} repeat {repeat + 1}/{repeats}: {entry.method} {entry.seconds[-1]:.2f} s "
                f"(block stack ran on {entry.evaluations} steps, attention on {entry.attention_evaluations})"
            )
    return timing


def format_timing(timing: ModelTiming) -> str:
    r"""
    The Markdown table of one [`ModelTiming`], with a line about the setting above it.

    Args:
        timing (`ModelTiming`): from [`time_model`].

    Returns:
        `str`: the Markdown text.

    Example:
        ```python
        >>> print(format_timing(time_model(MODELS["flux.1-dev"], torch.device("cuda"))))
        ```
    """
    lines = [
        f"**{timing.model}**, {timing.height}x{timing.width}, {timing.num_inference_steps} steps, batch 1, bfloat16, "
        f"random weights ({timing.weights_gib:.1f} GiB), on {timing.device}; medians of "
        f"{max((len(m.seconds) for m in timing.methods), default=0)} run(s).",
        "",
        "| method | config | steps the block stack ran | steps the attention ran | s/image | speed-up "
        "| peak CUDA memory (GiB) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    speedups = timing.speedups()
    for entry in timing.methods:
        if not entry.seconds:
            lines.append(f"| {entry.method} | {entry.description} | | | | | |")
            continue
        memory = "n/a" if entry.peak_memory_gib is None else f"{entry.peak_memory_gib:.2f}"
        lines.append(
            f"| {entry.method} | {entry.description} | {entry.evaluations} | {entry.attention_evaluations} | "
            f"{entry.median_seconds:.2f} | "
            f"{speedups[entry.method]:.2f}x | {memory} |"
        )
    return "\n".join(lines)


def environment() -> dict[str, Any]:
    r"""
    What a timing depends on besides the code: the date (UTC), the library versions and the device.

    Returns:
        `dict[str, Any]`: `date`, `python`, `torch`, `cuda` (`None` on a CPU build), `diffusers`, `accelerate` and
        `device` (the GPU's name, or `"CPU"`).

    Example:
        ```python
        >>> environment()["torch"]
        '2.11.0+cu130'
        ```
    """
    import accelerate
    import diffusers

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "diffusers": diffusers.__version__,
        "accelerate": accelerate.__version__,
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU",
    }


def build_parser() -> argparse.ArgumentParser:
    r"""
    The command-line parser of `python -m benchmarks.gpu_timing`.

    Returns:
        `argparse.ArgumentParser`: the parser.

    Example:
        ```python
        >>> build_parser().parse_args(["--dry-run"]).dry_run
        True
        ```
    """
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.gpu_timing",
        description=(
            "Time the denoising loop of the full-size FLUX.1-dev and Qwen-Image transformers (random bf16 weights, "
            "1024x1024, 50 steps) on a CUDA GPU without a cache, with FreqCa (default and paper recipe) at N=6 and "
            "N=9, and with diffusers' TaylorSeerCache (lite at N=6 and 9, and its defaults), FirstBlockCache and "
            "MagCache. Needs a GPU with about 45 GiB free for Qwen-Image (28 GiB for FLUX.1-dev); --dry-run checks "
            "the benchmark on the CPU with two-block models."
        ),
    )
    parser.add_argument(
        "--models", nargs="+", choices=sorted(MODELS), default=sorted(MODELS), help="models to time (default: both)"
    )
    parser.add_argument(
        "--methods", nargs="+", choices=METHODS, default=list(METHODS), help="methods to time (default: all)"
    )
    parser.add_argument("--steps", type=int, default=50, help="denoising steps per image (default: 50)")
    parser.add_argument("--height", type=int, default=1024, help="image height in pixels (default: 1024)")
    parser.add_argument("--width", type=int, default=1024, help="image width in pixels (default: 1024)")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs of each method (default: 1)")
    parser.add_argument("--warmup-steps", type=int, default=5, help="steps of each warm-up run (default: 5)")
    parser.add_argument("--fbc-threshold", type=float, default=0.12, help="FirstBlockCache threshold (default: 0.12)")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="two-block models at 128x128, 3 steps, on the CPU: runs the benchmark's code without a GPU",
    )
    parser.add_argument("--output-json", type=Path, default=None, help="also write the results to this JSON file")
    return parser


def main(argv: list[str] | None = None) -> int:
    r"""
    Runs the GPU timing benchmark and prints one markdown table per model.

    Args:
        argv (`list[str]`, *optional*): the arguments; `None` reads the command line.

    Returns:
        `int`: 0 on success, 2 when no CUDA GPU is available (and `--dry-run` is not given).

    Example:
        ```bash
        python -m benchmarks.gpu_timing --models flux.1-dev --output-json gpu.json
        python -m benchmarks.gpu_timing --dry-run
        ```
    """
    args = build_parser().parse_args(argv)
    if args.dry_run:
        device = torch.device("cpu")
        models, height, width, steps, warmup_steps, repeats = DRY_RUN_MODELS, 128, 128, 3, 1, 1
    else:
        if not torch.cuda.is_available():
            print(
                "python -m benchmarks.gpu_timing: needs a CUDA GPU, and torch.cuda.is_available() is False here. "
                "Run it on a machine with a GPU, or use --dry-run to check the benchmark on the CPU with small models.",
                file=sys.stderr,
            )
            return 2
        device = torch.device("cuda")
        models, height, width, steps = MODELS, args.height, args.width, args.steps
        warmup_steps, repeats = args.warmup_steps, args.repeats
    if steps < 1:
        raise ValueError(f"`--steps` must be >= 1, got {steps}.")
    timings = []
    for name in args.models:
        timing = time_model(
            models[name],
            device,
            height=height,
            width=width,
            num_inference_steps=steps,
            methods=tuple(args.methods),
            repeats=repeats,
            warmup_steps=warmup_steps,
            fbc_threshold=args.fbc_threshold,
        )
        timings.append(timing)
        # The model of `time_model` is unreferenced now: give its memory back before building the next one.
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
        print(format_timing(timing))
        print()
    if args.output_json is not None:
        args.output_json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "benchmark": "gpu",
            "dry_run": args.dry_run,
            "environment": environment(),
            "command": "python -m benchmarks.gpu_timing " + " ".join(argv if argv is not None else sys.argv[1:]),
            "models": [t.to_dict() for t in timings],
        }
        args.output_json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"Wrote {args.output_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
