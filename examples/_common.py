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

- FLUX examples use the project's small *trained* FLUX-architecture checkpoint (`diffusers_freqca.tiny_flux`):
  real denoising dynamics on 64x64 synthetic images, so the comparison with and without FreqCa means something,
  though about a 6-block model and not about FLUX.1-dev;
- Qwen-Image examples build the real pipeline class from tiny, *randomly initialised* components: they check the
  plumbing (the pipeline, the image tokens, FreqCa's skipping and statistics), not the quality; the image is noise.

The comparison with and without FreqCa is the package's own (`diffusers_freqca.compare`, the one `diffusers-freqca
demo` runs): interleaved timed runs, the median speed-up next to the ideal one, PSNR against the full computation.
"""

import argparse
import dataclasses
import os
from pathlib import Path
from typing import Any


# The weights dtypes the examples offer for the real models (tiny mode always runs in float32).
DTYPES = ("bfloat16", "float16", "float32")
TINY_ENV = "DIFFUSERS_FREQCA_TINY"
TINY_STEPS = 20
TINY_SIZE = 64
NOTE_TRAINED = (
    "tiny mode: the project's small trained FLUX-architecture checkpoint on the CPU (64x64 synthetic images). The "
    "comparison with and without FreqCa is real, but it is about this 6-block model, not about {model}."
)
NOTE_TRAINED_EDIT = (
    "tiny mode: {pipeline} on the project's small trained FLUX-architecture checkpoint on the CPU. That checkpoint "
    "was trained for text-to-image only, so this run checks the plumbing (reference-image tokens, FreqCa's "
    "skipping), not editing quality."
)
NOTE_RANDOM = (
    "tiny mode: {pipeline} built from tiny randomly initialised components on the CPU. This checks the plumbing "
    "(pipeline, image tokens, FreqCa's skipping and statistics), not quality: the image is noise."
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
    `--dtype`, `--device`, `--offload`, `--repeats`, `--no-baseline` and `--no-warmup`.

    Args:
        parser (`argparse.ArgumentParser`): the example's parser.
        default_model (`str`): the Hub repository of the real model.
        default_output (`str`): where the image goes by default.
        default_steps (`int`, defaults to `50`): denoising steps with the real model (tiny mode uses 20).
        sweep (`bool`, defaults to `False`): `--interval` takes several values (default `4 6 9`) and `--output` is
            the path of a JSON file.

    Example:
        ```python
        >>> parser = argparse.ArgumentParser()
        >>> add_common_arguments(parser, "black-forest-labs/FLUX.1-dev", "outputs/flux.png")
        >>> parser.parse_args(["--tiny"]).repeats
        3
        ```
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
            help="FreqCa's cache interval N: one full step every N steps after the warm-up (default: %(default)s).",
        )
    parser.add_argument("--seed", type=int, default=0, help="Generator seed (default: %(default)s).")
    what = "the results (JSON; the image grid goes next to it as .png)" if sweep else "the image"
    parser.add_argument("--output", default=default_output, help=f"Where to save {what} (default: %(default)s).")
    parser.add_argument(
        "--dtype",
        default="bfloat16",
        choices=DTYPES,
        help="Weights dtype of the real model (tiny mode always uses float32).",
    )
    parser.add_argument("--device", default=None, help="Device (default: cuda if available, else cpu).")
    parser.add_argument(
        "--offload",
        action="store_true",
        help="pipe.enable_model_cpu_offload() instead of moving the whole pipeline to the GPU (for smaller GPUs).",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help=(
            "Timed runs with and without FreqCa, interleaved; the speed-up compares their medians (default: "
            "%(default)s). More repeats give a steadier number on a busy machine."
        ),
    )
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="Skip the runs without FreqCa (the ideal speed-up is printed, the measured one and PSNR are not).",
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

    Example:
        ```python
        >>> args = parser.parse_args(["--tiny"])
        >>> check_common_arguments(parser, args)
        >>> args.steps
        20
        ```
    """
    args.tiny = tiny_requested(args)
    if args.steps is None:
        args.steps = TINY_STEPS if args.tiny else args.real_steps
    if args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}.")
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}.")
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

    Example:
        ```python
        >>> resolve_device(argparse.Namespace(device=None, tiny=True, model="x"))
        device(type='cpu')
        ```
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

    Example:
        ```python
        >>> place(pipe, args, resolve_device(args))
        ```
    """
    if args.offload and device.type != "cpu":
        # FreqCa keeps working under offloading, in either order of set-up (docs/offloading.md).
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    pipe.set_progress_bar_config(disable=True)


def torch_dtype(args: argparse.Namespace):
    r"""
    The weights dtype: float32 in tiny mode, else `--dtype`.

    Args:
        args (`argparse.Namespace`): the parsed arguments.

    Returns:
        `torch.dtype`: the dtype to load the pipeline in.

    Example:
        ```python
        >>> torch_dtype(argparse.Namespace(tiny=False, dtype="bfloat16"))
        torch.bfloat16
        ```
    """
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
        if config.first_interval == config.cache_interval:  # the paper's even schedule stays even
            changes.setdefault("first_interval", interval)
    return dataclasses.replace(config, **changes)


# Tiny mode: the trained checkpoint.


def tiny_checkpoint_error() -> str | None:
    r"""
    Why the project's trained tiny checkpoint cannot be used here, or `None` if it can.

    Returns:
        `str` or `None`: the reason, for a message.

    Example:
        ```python
        >>> tiny_checkpoint_error() is None
        True
        ```
    """
    try:
        from diffusers_freqca import tiny_flux
    except ImportError as error:
        return f"diffusers_freqca.tiny_flux cannot be imported ({error})"
    config = Path(tiny_flux.DEFAULT_CHECKPOINT) / "transformer" / "config.json"
    if not config.is_file():
        return f"the trained tiny checkpoint is missing ({config} does not exist)"
    return None


def load_tiny_flux(classes=(0,)):
    r"""
    The trained tiny `FluxPipeline` and the inputs of one 64x64 image per class.

    Args:
        classes (`Iterable[int]`, defaults to `(0,)`): which classes of `diffusers_freqca.tiny_flux.CLASS_NAMES` to
            draw.

    Returns:
        `tuple[FluxPipeline, dict]`: the pipeline (on the CPU, float32) and the call arguments (embeddings, size).

    Raises:
        `SystemExit`: when the checkpoint cannot be used (with the reason).

    Example:
        ```python
        >>> pipe, inputs = load_tiny_flux(classes=[0, 3])
        >>> inputs["prompt_embeds"].shape[0]
        2
        ```
    """
    error = tiny_checkpoint_error()
    if error is not None:
        raise SystemExit(f"--tiny needs the project's trained tiny checkpoint, but {error}.")
    from diffusers_freqca import tiny_flux

    pipe = tiny_flux.load_tiny_flux_pipeline()
    return pipe, tiny_flux.pipeline_inputs(pipe, classes)


def tiny_reference_image(size: int = TINY_SIZE):
    r"""
    A `size x size` picture to stand in for a photo as the reference image of an edit in tiny mode: a white ring on
    orange vertical stripes, like the tiny model's "white ring on orange stripes" class.

    Args:
        size (`int`, defaults to `64`): the side in pixels.

    Returns:
        `PIL.Image.Image`: an RGB image.

    Example:
        ```python
        >>> tiny_reference_image().size
        (64, 64)
        ```
    """
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), (230, 130, 30))
    draw = ImageDraw.Draw(image)
    stripe = max(1, size // 16)
    for left in range(0, size, 2 * stripe):
        draw.rectangle((left, 0, left + stripe - 1, size - 1), fill=(150, 80, 20))
    box = (size * 0.25, size * 0.25, size * 0.75, size * 0.75)
    draw.ellipse(box, outline=(245, 245, 245), width=max(2, size // 10))
    return image


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

    Example:
        ```python
        >>> pipe, inputs = build_tiny_qwen_image()
        >>> image = pipe(**inputs, num_inference_steps=4).images[0]
        ```
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

    Example:
        ```python
        >>> pipe, inputs = build_tiny_qwen_image_edit()
        >>> edited = pipe(**inputs, num_inference_steps=4).images[0]
        ```
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
    image = tiny_reference_image()
    return pipe, {**_tiny_qwen_prompts(seed), "image": image, "height": 128, "width": 128}


# Running and reporting.


def compare(pipe, inputs: dict[str, Any], config, args: argparse.Namespace):
    r"""
    The core of every example: the package's comparison with and without FreqCa (`compare_with_and_without`, the
    one `diffusers-freqca demo` runs), printed: evaluations and median wall times, the measured speed-up beside the
    ideal one, PSNR against the full computation, and `get_freqca_stats` per cache context.

    Args:
        pipe (`DiffusionPipeline`): the pipeline, already placed.
        inputs (`dict[str, Any]`): its call arguments, without `generator` and `num_inference_steps`.
        config (`FreqCaConfig`): the FreqCa settings.
        args (`argparse.Namespace`): the parsed arguments (`steps`, `seed`, `repeats`, `no_baseline`, `no_warmup`).

    Returns:
        `Comparison`: what was measured; `images_freqca[0]` is the FreqCa image.

    Example:
        ```python
        >>> result = compare(pipe, inputs, FreqCaConfig.from_preset("flux.1-dev"), args)
        ```
    """
    from diffusers_freqca.compare import compare_with_and_without, format_comparison

    print(f"FreqCa: cache_interval={config.cache_interval}, decomposition={config.decomposition!r}")
    result = compare_with_and_without(
        pipe,
        inputs,
        config,
        args.steps,
        seed=args.seed,
        repeats=args.repeats,
        baseline=not args.no_baseline,
        warmup_steps=0 if args.no_warmup else 2,
    )
    print(format_comparison(result))
    return result


def save_images(result, output: str) -> None:
    r"""
    Saves the FreqCa image to `output` and, if there was a baseline run, the image without FreqCa next to it
    (`<name>_no_freqca.png`).

    Args:
        result (`Comparison`): from [`compare`].
        output (`str`): the path of the FreqCa image.

    Example:
        ```python
        >>> save_images(result, "outputs/flux.png")
        saved outputs/flux.png
        saved outputs/flux_no_freqca.png
        ```
    """
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    result.images_freqca[0].save(path)
    print(f"saved {path}")
    if result.images_full is not None:
        baseline = path.with_name(f"{path.stem}_no_freqca{path.suffix or '.png'}")
        result.images_full[0].save(baseline)
        print(f"saved {baseline}")
