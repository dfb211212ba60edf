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
"""Helpers shared by the tutorial examples: common arguments, tiny mode, timed runs and the FreqCa report.

Every example runs a real Hub model on a GPU by default. With `--tiny` (or `DIFFUSERS_FREQCA_TINY=1` in the
environment) it runs in seconds on a CPU, offline, instead:

- FLUX examples use the project's small *trained* FLUX-architecture checkpoint (`diffusers_freqca.tiny_model`):
  real denoising dynamics on 64x64 synthetic images, so the comparison with and without FreqCa means something,
  though about a 6-block model and not about FLUX.1-dev;
- Qwen-Image examples build the real pipeline class from tiny, *randomly initialised* components: they check the
  plumbing (the pipeline, the token grids, FreqCa's skipping and statistics), not the quality; the image is noise.
"""

import argparse
import dataclasses
import os
import time
from pathlib import Path
from typing import Any


TINY_ENV = "DIFFUSERS_FREQCA_TINY"
TINY_STEPS = 20
TINY_SIZE = 64
NOTE_TRAINED = (
    "tiny mode: the project's small trained FLUX-architecture checkpoint on the CPU (64x64 synthetic images). The "
    "comparison with and without FreqCa is real, but it is about this 6-block model, not about {model}."
)
NOTE_TRAINED_EDIT = (
    "tiny mode: {pipeline} on the project's small trained FLUX-architecture checkpoint on the CPU. That checkpoint "
    "was trained for text-to-image only, so this run checks the plumbing (reference-image tokens, token grids, "
    "FreqCa's skipping), not editing quality."
)
NOTE_RANDOM = (
    "tiny mode: {pipeline} built from tiny randomly initialised components on the CPU. This checks the plumbing "
    "(pipeline, token grids, FreqCa's skipping and statistics), not quality: the image is noise."
)


def tiny_requested(args: argparse.Namespace) -> bool:
    r"""
    Whether tiny mode is on: `--tiny`, or `DIFFUSERS_FREQCA_TINY` set to anything but `""`, `"0"` or `"false"`.

    Args:
        args (`argparse.Namespace`): the parsed arguments.

    Example:
        ```python
        >>> tiny_requested(argparse.Namespace(tiny=True))
        True
        ```
    """
    return bool(args.tiny) or os.environ.get(TINY_ENV, "").strip().lower() not in ("", "0", "false")


def add_common_arguments(
    parser: argparse.ArgumentParser,
    default_model: str,
    default_output: str,
    default_steps: int = 50,
    sweep: bool = False,
) -> None:
    r"""
    Adds the arguments every example has: `--model`, `--tiny`, `--steps`, `--interval`, `--seed`, `--output`,
    `--dtype`, `--device`, `--no-baseline` and `--no-warmup`.

    Args:
        parser (`argparse.ArgumentParser`): the example's parser.
        default_model (`str`): the Hub repository of the real model.
        default_output (`str`): where the image goes by default.
        default_steps (`int`, defaults to `50`): denoising steps with the real model (tiny mode uses 20).
        sweep (`bool`, defaults to `False`): `--interval` takes several values (default `4 6 9`) and `--output` is
            the path of a JSON file.
    """
    parser.set_defaults(real_steps=default_steps)
    parser.add_argument("--model", default=default_model, help="Hub repo id or local folder (default: %(default)s).")
    parser.add_argument(
        "--tiny",
        action="store_true",
        help=f"Run the project's tiny model on the CPU instead of --model (also: {TINY_ENV}=1). Seconds, offline.",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help=f"Denoising steps (default: {default_steps}; {TINY_STEPS} with --tiny).",
    )
    if sweep:
        parser.add_argument(
            "--interval", type=int, nargs="+", default=[4, 6, 9], help="Cache intervals to try (default: 4 6 9)."
        )
    else:
        parser.add_argument(
            "--interval",
            type=int,
            default=6,
            help="FreqCa's cache interval N: one full step every N steps after 3 warm-up steps (default: %(default)s).",
        )
    parser.add_argument("--seed", type=int, default=0, help="Generator seed (default: %(default)s).")
    what = "the results (JSON; the image grid goes next to it as .png)" if sweep else "the image"
    parser.add_argument("--output", default=default_output, help=f"Where to save {what} (default: %(default)s).")
    parser.add_argument(
        "--dtype",
        default="bfloat16",
        choices=("bfloat16", "float16", "float32"),
        help="Weights dtype of the real model (tiny mode always uses float32).",
    )
    parser.add_argument("--device", default=None, help="Device (default: cuda if available, else cpu).")
    parser.add_argument(
        "--offload",
        action="store_true",
        help="pipe.enable_model_cpu_offload() instead of moving the whole pipeline to the GPU (for smaller GPUs).",
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="Skip the run without FreqCa (no speed-up or PSNR is printed)."
    )
    parser.add_argument(
        "--no-warmup",
        action="store_true",
        help="Skip the short untimed warm-up call that keeps one-off start-up costs out of the timings.",
    )


def check_common_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    r"""
    Rejects bad values of the common arguments with a clear message (through `parser.error`) and fills in defaults
    that depend on tiny mode.

    Args:
        parser (`argparse.ArgumentParser`): the example's parser.
        args (`argparse.Namespace`): the parsed arguments; `args.tiny` and `args.steps` are updated in place.
    """
    args.tiny = tiny_requested(args)
    if args.steps is None:
        args.steps = TINY_STEPS if args.tiny else args.real_steps
    if args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}.")
    intervals = args.interval if isinstance(args.interval, list) else [args.interval]
    if any(interval is not None and interval < 1 for interval in intervals):
        parser.error(f"--interval must be >= 1, got {args.interval}.")


def resolve_device(args: argparse.Namespace):
    r"""
    The device to run on: `--device`, else CUDA when available; tiny mode runs on the CPU unless `--device` says
    otherwise.

    Args:
        args (`argparse.Namespace`): the parsed arguments.

    Returns:
        `torch.device`: the device.
    """
    import torch

    if args.device is not None:
        return torch.device(args.device)
    if args.tiny or not torch.cuda.is_available():
        if not args.tiny:
            print(f"warning: no CUDA GPU found; running {args.model} on the CPU will be very slow (try --tiny).")
        return torch.device("cpu")
    return torch.device("cuda")


def place(pipe, args: argparse.Namespace, device) -> None:
    r"""
    Puts the pipeline on `device`, or enables model CPU offload with `--offload` on a GPU; hides the progress bar.

    Args:
        pipe (`DiffusionPipeline`): the pipeline.
        args (`argparse.Namespace`): the parsed arguments.
        device (`torch.device`): from [`resolve_device`].
    """
    if args.offload and device.type != "cpu":
        # FreqCa keeps working under offloading, in either order of set-up (docs/offloading.md).
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    pipe.set_progress_bar_config(disable=True)


def torch_dtype(args: argparse.Namespace):
    r"""The weights dtype: float32 in tiny mode, else `--dtype`."""
    import torch

    return torch.float32 if args.tiny else getattr(torch, args.dtype)


def with_interval(config, interval: int | None, **changes: Any):
    r"""
    `config` with `cache_interval=interval` (unless `None`) and the other `changes`, validated again.

    Args:
        config (`FreqCaConfig`): the starting config, e.g. a preset.
        interval (`int`, *optional*): the new cache interval.
        changes: other fields to change.

    Example:
        ```python
        >>> with_interval(FreqCaConfig.from_preset("flux.1-dev"), 9).cache_interval
        9
        ```
    """
    if interval is not None:
        changes["cache_interval"] = interval
    return dataclasses.replace(config, **changes)


# Tiny mode: the trained checkpoint.


def tiny_checkpoint_error() -> str | None:
    r"""
    Why the project's trained tiny checkpoint cannot be used here, or `None` if it can.

    Example:
        ```python
        >>> tiny_checkpoint_error() is None
        True
        ```
    """
    try:
        from diffusers_freqca import tiny_model
    except ImportError as error:
        return f"diffusers_freqca.tiny_model cannot be imported ({error})"
    if not hasattr(tiny_model, "load_tiny_flux_pipeline"):
        return "diffusers_freqca.tiny_model has no load_tiny_flux_pipeline"
    config = Path(tiny_model.DEFAULT_CHECKPOINT) / "transformer" / "config.json"
    if not config.is_file():
        return f"the trained tiny checkpoint is missing ({config} does not exist)"
    return None


def load_tiny_flux(class_index: int = 0):
    r"""
    The trained tiny `FluxPipeline` and the inputs of one 64x64 image of class `class_index`.

    Args:
        class_index (`int`, defaults to `0`): which class of `diffusers_freqca.tiny_model.CLASS_NAMES` to draw.

    Returns:
        `tuple[FluxPipeline, dict]`: the pipeline (on the CPU, float32) and the call arguments (embeddings, size).
    """
    error = tiny_checkpoint_error()
    if error is not None:
        raise SystemExit(f"--tiny needs the project's trained tiny checkpoint, but {error}.")
    from diffusers_freqca import tiny_model

    pipe = tiny_model.load_tiny_flux_pipeline()
    prompt_embeds, pooled_prompt_embeds = tiny_model.get_prompt_embeds(pipe, class_index)
    inputs = {
        "prompt_embeds": prompt_embeds,
        "pooled_prompt_embeds": pooled_prompt_embeds,
        "height": TINY_SIZE,
        "width": TINY_SIZE,
    }
    return pipe, inputs


def tiny_reference_image(class_index: int = 3, seed: int = 0):
    r"""
    A 64x64 image from the tiny model's synthetic data, to stand in for a photo as the reference of an edit.

    Args:
        class_index (`int`, defaults to `3`): the class to draw.
        seed (`int`, defaults to `0`): seed of its random position, size and colours.

    Returns:
        `PIL.Image.Image`: the image.
    """
    import numpy as np
    from PIL import Image

    from diffusers_freqca import tiny_model

    array = tiny_model.make_image(class_index, np.random.default_rng(seed))
    return Image.fromarray((array.transpose(1, 2, 0) * 255).round().astype(np.uint8))


# Tiny mode: randomly initialised Qwen-Image components, built from configs (no download).

_QWEN_TEXT_DIM = 32
_QWEN_TEXT_TOKENS = 12


def _tiny_qwen_transformer():
    from diffusers import QwenImageTransformer2DModel

    # 4 latent channels packed 2x2 -> 16 input channels; rotary axes (8, 4, 4) add up to the head dimension 16.
    return QwenImageTransformer2DModel(
        patch_size=2,
        in_channels=16,
        out_channels=4,
        num_layers=3,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=_QWEN_TEXT_DIM,
        guidance_embeds=False,
        axes_dims_rope=(8, 4, 4),
    ).eval()


def _tiny_qwen_vae(num_downsamples: int, num_res_blocks: int):
    from diffusers import AutoencoderKLQwenImage

    # The pipelines' VAE scale factor is 2 ** len(temperal_downsample): one entry per spatial down-sampling.
    return AutoencoderKLQwenImage(
        base_dim=4,
        z_dim=4,
        dim_mult=[1] * (num_downsamples + 1),
        num_res_blocks=num_res_blocks,
        temperal_downsample=[False] * num_downsamples,
        latents_mean=[0.0] * 4,
        latents_std=[1.0] * 4,
    ).eval()


def _tiny_qwen_scheduler():
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, shift_terminal=0.02, max_image_seq_len=8192)


def _tiny_qwen_prompts(seed: int) -> dict[str, Any]:
    import torch

    # Precomputed "prompt embeddings" stand in for the Qwen2.5-VL text encoder; a negative prompt enables true CFG,
    # as in the real examples, so FreqCa keeps two cache contexts ("cond" and "uncond").
    generator = torch.Generator().manual_seed(seed + 1000)
    return {
        "prompt_embeds": torch.randn(1, _QWEN_TEXT_TOKENS, _QWEN_TEXT_DIM, generator=generator),
        "prompt_embeds_mask": torch.ones(1, _QWEN_TEXT_TOKENS, dtype=torch.long),
        "negative_prompt_embeds": torch.randn(1, _QWEN_TEXT_TOKENS, _QWEN_TEXT_DIM, generator=generator),
        "negative_prompt_embeds_mask": torch.ones(1, _QWEN_TEXT_TOKENS, dtype=torch.long),
        "true_cfg_scale": 4.0,
    }


def build_tiny_qwen_image(seed: int = 0):
    r"""
    A `QwenImagePipeline` with a tiny random `QwenImageTransformer2DModel` (3 blocks) and `AutoencoderKLQwenImage`
    (2x down-sampling), no text encoder, and the inputs of one 64x64 image (a 16x16 token grid) with true CFG.

    Args:
        seed (`int`, defaults to `0`): seeds the weights and the prompt embeddings.

    Returns:
        `tuple[QwenImagePipeline, dict]`: the pipeline and the call arguments.
    """
    import torch
    from diffusers import QwenImagePipeline

    torch.manual_seed(seed)
    pipe = QwenImagePipeline(
        scheduler=_tiny_qwen_scheduler(),
        vae=_tiny_qwen_vae(num_downsamples=1, num_res_blocks=1),
        text_encoder=None,
        tokenizer=None,
        transformer=_tiny_qwen_transformer(),
    )
    return pipe, {**_tiny_qwen_prompts(seed), "height": TINY_SIZE, "width": TINY_SIZE}


def build_tiny_qwen_image_edit(seed: int = 0):
    r"""
    A `QwenImageEditPipeline` with a tiny random `QwenImageTransformer2DModel` (3 blocks) and `AutoencoderKLQwenImage`
    (16x down-sampling, no residual blocks), no text encoder, tokenizer or processor, and the inputs of one edit.

    The pipeline always resizes the reference image to about one megapixel (1024x1024 for a square one): with the
    16x VAE and 2x2 patches that is a 32x32 token grid, after the 128x128 target's 4x4 grid.

    Args:
        seed (`int`, defaults to `0`): seeds the weights and the prompt embeddings.

    Returns:
        `tuple[QwenImageEditPipeline, dict]`: the pipeline and the call arguments.
    """
    import torch
    from diffusers import QwenImageEditPipeline

    torch.manual_seed(seed)
    pipe = QwenImageEditPipeline(
        scheduler=_tiny_qwen_scheduler(),
        vae=_tiny_qwen_vae(num_downsamples=4, num_res_blocks=0),
        text_encoder=None,
        tokenizer=None,
        processor=None,
        transformer=_tiny_qwen_transformer(),
    )
    image = tiny_reference_image(seed=seed)
    return pipe, {**_tiny_qwen_prompts(seed), "image": image, "height": 128, "width": 128}


# Running and reporting.


def timed_call(pipe, inputs: dict[str, Any], seed: int, device) -> tuple[Any, float]:
    r"""
    Calls the pipeline with a fresh generator seeded with `seed` and returns `(first image, seconds)`; CUDA work is
    synchronised before the clock stops.

    Args:
        pipe (`DiffusionPipeline`): the pipeline.
        inputs (`dict[str, Any]`): the call arguments, without `generator`.
        seed (`int`): the generator seed.
        device (`torch.device`): the device the pipeline runs on.
    """
    import torch

    generator = torch.Generator("cpu").manual_seed(seed)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    image = pipe(**inputs, generator=generator).images[0]
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return image, time.perf_counter() - start


def psnr(image_a, image_b) -> float:
    r"""
    Peak signal-to-noise ratio in dB between two 8-bit images (`inf` if they are identical).

    Example:
        ```python
        >>> from PIL import Image
        >>> psnr(Image.new("RGB", (4, 4)), Image.new("RGB", (4, 4)))
        inf
        ```
    """
    import numpy as np

    a = np.asarray(image_a, dtype=np.float64)
    b = np.asarray(image_b, dtype=np.float64)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def format_stats(stats) -> list[str]:
    r"""
    One line per cache context of a `FreqCaStats`: computed and predicted steps, the full steps, cache size and
    restarts.

    Args:
        stats (`FreqCaStats`): from `get_freqca_stats`.
    """
    lines = []
    for name, context in stats.contexts.items():
        lines.append(
            f"  context {name!r}: {context.computed_steps} computed + {context.predicted_steps} predicted steps, "
            f"full steps {context.full_steps}, cache {context.cache_bytes / 2**20:.2f} MiB, "
            f"restarts {context.restarts}"
        )
    return lines


def compare_with_and_without(pipe, inputs: dict[str, Any], config, args: argparse.Namespace, device) -> dict:
    r"""
    The core of every example: an untimed warm-up call, the run without FreqCa (unless `--no-baseline`), then the run
    with `config`, printing the wall times, `get_freqca_stats` and, with a baseline, the speed-up and the PSNR of the
    FreqCa image against the full computation (same seed). FreqCa is disabled again at the end.

    Args:
        pipe (`DiffusionPipeline`): the pipeline, already on `device`.
        inputs (`dict[str, Any]`): its call arguments, without `generator` and `num_inference_steps`.
        config (`FreqCaConfig`): the FreqCa settings.
        args (`argparse.Namespace`): the parsed arguments (`steps`, `seed`, `no_baseline`, `no_warmup`).
        device (`torch.device`): where the pipeline runs.

    Returns:
        `dict`: `image` (with FreqCa), `seconds`, `stats`, and with a baseline `baseline_image`, `baseline_seconds`,
        `speedup` and `psnr`.
    """
    from diffusers_freqca import get_freqca_stats

    inputs = {**inputs, "num_inference_steps": args.steps}
    if not args.no_warmup:
        # One-off costs (CUDA context and kernels, allocator growth, lazy imports) would otherwise land in whichever
        # run comes first.
        timed_call(pipe, {**inputs, "num_inference_steps": 2}, args.seed, device)
    result: dict[str, Any] = {}
    if not args.no_baseline:
        result["baseline_image"], result["baseline_seconds"] = timed_call(pipe, inputs, args.seed, device)
        print(f"without FreqCa: {result['baseline_seconds']:.2f} s ({args.steps} transformer steps per context)")

    pipe.transformer.enable_cache(config)
    try:
        result["image"], result["seconds"] = timed_call(pipe, inputs, args.seed, device)
        result["stats"] = get_freqca_stats(pipe.transformer)
    finally:
        pipe.transformer.disable_cache()
    print(f"with FreqCa (cache_interval={config.cache_interval}, {config.decomposition}): {result['seconds']:.2f} s")
    print("get_freqca_stats(pipe.transformer):")
    for line in format_stats(result["stats"]):
        print(line)
    if not args.no_baseline:
        result["speedup"] = result["baseline_seconds"] / result["seconds"]
        result["psnr"] = psnr(result["image"], result["baseline_image"])
        print(f"speed-up: {result['speedup']:.2f}x, PSNR against the full computation: {result['psnr']:.2f} dB")
    return result


def save_images(result: dict, output: str) -> None:
    r"""
    Saves the FreqCa image to `output` and, if there was a baseline run, the image without FreqCa next to it
    (`<name>_no_freqca.png`).

    Args:
        result (`dict`): from [`compare_with_and_without`].
        output (`str`): the path of the FreqCa image.
    """
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    result["image"].save(path)
    print(f"saved {path}")
    if "baseline_image" in result:
        baseline = path.with_name(f"{path.stem}_no_freqca{path.suffix or '.png'}")
        result["baseline_image"].save(baseline)
        print(f"saved {baseline}")
