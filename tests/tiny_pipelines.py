# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""Real diffusers pipelines with tiny, randomly initialised components, built offline from configs.

Four pipelines are covered by the pipeline tests (`PIPELINE_NAMES`): `FluxPipeline`, `FluxKontextPipeline`,
`QwenImagePipeline` and `QwenImageEditPipeline`; `FluxImg2ImgPipeline` joins them in `ALL_PIPELINE_NAMES`. None of them
needs a text encoder, tokenizer or processor when it is called with precomputed prompt embeddings
(checked against the diffusers 0.42.1 source: `encode_prompt` only touches them when `prompt_embeds` is `None`), so
those components are `None`. Everything is seeded, float32 and on the CPU.

The call arguments ask for `output_type="latent"`: tests compare the denoised latents (packed tokens) directly, with
no clamping and no random VAE decoder in between; pass `output_type="np"` to decode.

Example:
    ```python
    >>> from tiny_pipelines import build_tiny_pipeline

    >>> pipe, inputs = build_tiny_pipeline("flux")
    >>> latents = pipe(**inputs(seed=0)).images  # a fresh seeded generator per call
    ```
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import PIL.Image
import torch
from diffusers import (
    AutoencoderKL,
    AutoencoderKLQwenImage,
    DiffusionPipeline,
    FlowMatchEulerDiscreteScheduler,
    FluxImg2ImgPipeline,
    FluxKontextPipeline,
    FluxPipeline,
    FluxTransformer2DModel,
    QwenImageEditPipeline,
    QwenImagePipeline,
    QwenImageTransformer2DModel,
)

from diffusers_freqca.block_stack import find_block_stack


PIPELINE_NAMES = ("flux", "flux_kontext", "qwenimage", "qwenimage_edit")
ALL_PIPELINE_NAMES = (*PIPELINE_NAMES, "flux_img2img")
NUM_INFERENCE_STEPS = 12

# Flux: a 2x VAE and 2x2 patch packing make one token per 4x4 pixels, so 32x48 pixels are an 8x12 token grid.
FLUX_HEIGHT, FLUX_WIDTH = 32, 48
KONTEXT_REFERENCE_SIZE = 32  # square reference image of FLUX.1-Kontext: an 8x8 grid next to the 8x12 target
# QwenImageEditPipeline always resizes its reference image to about one megapixel (1024x1024 for a square image).
# A 16x VAE keeps that reference at a 32x32 token grid; the target then needs 32 pixels per token: 128x192 -> 4x6.
QWEN_EDIT_HEIGHT, QWEN_EDIT_WIDTH = 128, 192
QWEN_EDIT_REFERENCE_PIXELS = 1024


@dataclass
class TinyPipelineInputs:
    r"""
    The call arguments of a tiny pipeline, with a fresh seeded generator for every call.

    Args:
        kwargs (`dict[str, Any]`): the keyword arguments of the pipeline call, without `generator`.
        negative_kwargs (`dict[str, Any]`): what to add for true classifier-free guidance (`true_cfg_scale > 1` and
            negative prompt embeddings).
        resolution (`Callable[[int, int], dict]`): returns the overrides for another output resolution.
        seed (`int`): the default generator seed.
        reference (`dict[str, Any]`): for the edit pipelines, the `height` and `width` in pixels of the reference image
            as the pipeline feeds it to the VAE; empty for text-to-image pipelines.

    Example:
        ```python
        >>> pipe, inputs = build_tiny_pipeline("flux_kontext")
        >>> image = pipe(**inputs(seed=1, **inputs.resolution(32, 32))).images
        ```
    """

    kwargs: dict[str, Any]
    negative_kwargs: dict[str, Any]
    resolution: Callable[[int, int], dict[str, Any]]
    seed: int = 0
    reference: dict[str, Any] = field(default_factory=dict)

    def __call__(self, seed: int | None = None, **overrides) -> dict[str, Any]:
        r"""
        Returns a new dict of call arguments with a new `torch.Generator` seeded with `seed` (default: `self.seed`);
        `overrides` replace or add arguments.
        """
        kwargs = {**self.kwargs, **overrides}
        kwargs["generator"] = torch.Generator("cpu").manual_seed(self.seed if seed is None else seed)
        return kwargs


def _flow_match_scheduler(**config) -> FlowMatchEulerDiscreteScheduler:
    return FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, **config)


def _tiny_flux_vae(seed: int) -> AutoencoderKL:
    torch.manual_seed(seed)
    # Two blocks: one 2x down-sampling, so `vae_scale_factor == 2`.
    return AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(4, 8), layers_per_block=1, latent_channels=4,
        norm_num_groups=2, sample_size=32, scaling_factor=1.5, shift_factor=0.06, use_quant_conv=False,
        use_post_quant_conv=False, mid_block_add_attention=False,
    ).eval()  # fmt: skip


def _tiny_flux_transformer(seed: int, guidance_embeds: bool) -> FluxTransformer2DModel:
    torch.manual_seed(seed)
    # in_channels = 4 latent channels x 2x2 packing; 2 double-stream and 2 single-stream blocks.
    return FluxTransformer2DModel(
        patch_size=1, in_channels=16, num_layers=2, num_single_layers=2, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=32, guidance_embeds=guidance_embeds,
        axes_dims_rope=(4, 6, 6),
    ).eval()  # fmt: skip


def _tiny_flux_pipeline(pipeline_class, seed: int, guidance_embeds: bool):
    """A FLUX-family pipeline of `pipeline_class` on the tiny VAE and transformer, without text encoders."""
    pipe = pipeline_class(
        scheduler=_flow_match_scheduler(),
        vae=_tiny_flux_vae(seed),
        text_encoder=None,
        tokenizer=None,
        text_encoder_2=None,
        tokenizer_2=None,
        transformer=_tiny_flux_transformer(seed, guidance_embeds=guidance_embeds),
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _flux_embeddings(seed: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    generator = torch.Generator("cpu").manual_seed(seed + 100)
    positive = {
        "prompt_embeds": torch.randn(1, 7, 32, generator=generator),
        "pooled_prompt_embeds": torch.randn(1, 32, generator=generator),
    }
    # FluxPipeline requires negative embeddings of the same shape as the positive ones.
    negative = {
        "negative_prompt_embeds": torch.randn(1, 7, 32, generator=generator),
        "negative_pooled_prompt_embeds": torch.randn(1, 32, generator=generator),
        "true_cfg_scale": 2.0,
    }
    return positive, negative


def _random_image(height: int, width: int, seed: int) -> PIL.Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    return PIL.Image.fromarray(pixels)


def build_tiny_flux_pipeline(seed: int = 0) -> tuple[FluxPipeline, TinyPipelineInputs]:
    r"""
    A `FluxPipeline` with a tiny `FluxTransformer2DModel` (2 + 2 blocks) and `AutoencoderKL`, and no text encoders.

    Args:
        seed (`int`, defaults to `0`): seeds the weights, the embeddings and the default generator.

    Returns:
        `tuple[FluxPipeline, TinyPipelineInputs]`: the pipeline and its call arguments (32x48 pixels, 12 steps,
        `output_type="latent"`).
    """
    pipe = _tiny_flux_pipeline(FluxPipeline, seed, guidance_embeds=False)
    positive, negative = _flux_embeddings(seed)
    kwargs = {
        **positive,
        "height": FLUX_HEIGHT,
        "width": FLUX_WIDTH,
        "num_inference_steps": NUM_INFERENCE_STEPS,
        "output_type": "latent",
    }
    return pipe, TinyPipelineInputs(kwargs, negative, lambda height, width: {"height": height, "width": width}, seed)


def build_tiny_flux_kontext_pipeline(seed: int = 0) -> tuple[FluxKontextPipeline, TinyPipelineInputs]:
    r"""
    A `FluxKontextPipeline` with the components of [`build_tiny_flux_pipeline`] (guidance-distilled transformer) and
    a 32x32 reference image, so the transformer sees an 8x12 target grid followed by an 8x8 reference grid.

    `_auto_resize=False` keeps the reference at its own size (the pipeline would otherwise resize it to one of the
    ~1-megapixel resolutions FLUX.1-Kontext was trained on), and `max_area` equals the target area, because the
    pipeline rescales `height` and `width` to `max_area`.

    Args:
        seed (`int`, defaults to `0`): seeds the weights, the embeddings, the image and the default generator.

    Returns:
        `tuple[FluxKontextPipeline, TinyPipelineInputs]`: the pipeline and its call arguments.
    """
    pipe = _tiny_flux_pipeline(FluxKontextPipeline, seed, guidance_embeds=True)
    positive, negative = _flux_embeddings(seed)

    def resolution(height: int, width: int) -> dict[str, Any]:
        return {"height": height, "width": width, "max_area": height * width}

    image = _random_image(KONTEXT_REFERENCE_SIZE, KONTEXT_REFERENCE_SIZE, seed)
    kwargs = {
        **positive,
        **resolution(FLUX_HEIGHT, FLUX_WIDTH),
        "image": image,
        "_auto_resize": False,
        "guidance_scale": 2.5,
        "num_inference_steps": NUM_INFERENCE_STEPS,
        "output_type": "latent",
    }
    reference = {"height": KONTEXT_REFERENCE_SIZE, "width": KONTEXT_REFERENCE_SIZE}
    return pipe, TinyPipelineInputs(kwargs, negative, resolution, seed, reference)


def build_tiny_flux_img2img_pipeline(seed: int = 0) -> tuple[FluxImg2ImgPipeline, TinyPipelineInputs]:
    r"""
    A `FluxImg2ImgPipeline` with the components of [`build_tiny_flux_pipeline`] and a 32x48 input image: the
    trajectory starts part-way, at `strength` (1.0 in the default arguments, i.e. all `num_inference_steps` steps; the
    pipeline runs `int(num_inference_steps * strength)` of them). It enters no `cache_context` (diffusers 0.42.1).

    The resolution override also resizes the input image, so that the pipeline's own resizing never comes into play.

    Args:
        seed (`int`, defaults to `0`): seeds the weights, the embeddings, the image and the default generator.

    Returns:
        `tuple[FluxImg2ImgPipeline, TinyPipelineInputs]`: the pipeline and its call arguments.
    """
    pipe = _tiny_flux_pipeline(FluxImg2ImgPipeline, seed, guidance_embeds=False)
    positive, negative = _flux_embeddings(seed)

    def resolution(height: int, width: int) -> dict[str, Any]:
        return {"height": height, "width": width, "image": _random_image(height, width, seed)}

    kwargs = {
        **positive,
        **resolution(FLUX_HEIGHT, FLUX_WIDTH),
        "strength": 1.0,
        "num_inference_steps": NUM_INFERENCE_STEPS,
        "output_type": "latent",
    }
    return pipe, TinyPipelineInputs(kwargs, negative, resolution, seed)


def _tiny_qwen_vae(seed: int, num_downsamples: int, num_res_blocks: int = 1) -> AutoencoderKLQwenImage:
    torch.manual_seed(seed)
    # `vae_scale_factor == 2 ** len(temperal_downsample)`; no temporal down-sampling (images are single frames).
    return AutoencoderKLQwenImage(
        base_dim=2, z_dim=4, dim_mult=[1] * (num_downsamples + 1), num_res_blocks=num_res_blocks,
        temperal_downsample=[False] * num_downsamples, latents_mean=[0.1, -0.2, 0.0, 0.3],
        latents_std=[1.5, 0.8, 1.0, 1.2],
    ).eval()  # fmt: skip


def _tiny_qwen_transformer(seed: int) -> QwenImageTransformer2DModel:
    torch.manual_seed(seed)
    # in_channels = 4 latent channels x 2x2 packing; 2 blocks.
    return QwenImageTransformer2DModel(
        patch_size=2, in_channels=16, out_channels=4, num_layers=2, attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=16, guidance_embeds=False, axes_dims_rope=(8, 4, 4),
    ).eval()  # fmt: skip


def _qwen_embeddings(seed: int) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    generator = torch.Generator("cpu").manual_seed(seed + 200)
    # Padded masks (not all ones), so that the pipeline passes them on to the transformer.
    mask = torch.ones(1, 7, dtype=torch.long)
    mask[:, 5:] = 0
    negative_mask = torch.ones(1, 6, dtype=torch.long)
    negative_mask[:, 4:] = 0
    positive = {"prompt_embeds": torch.randn(1, 7, 16, generator=generator), "prompt_embeds_mask": mask}
    negative = {
        "negative_prompt_embeds": torch.randn(1, 6, 16, generator=generator),
        "negative_prompt_embeds_mask": negative_mask,
        "true_cfg_scale": 2.0,
    }
    return positive, negative


def build_tiny_qwenimage_pipeline(seed: int = 0) -> tuple[QwenImagePipeline, TinyPipelineInputs]:
    r"""
    A `QwenImagePipeline` with a tiny `QwenImageTransformer2DModel` (2 blocks) and a 2x `AutoencoderKLQwenImage`,
    and no text encoder or tokenizer.

    Args:
        seed (`int`, defaults to `0`): seeds the weights, the embeddings and the default generator.

    Returns:
        `tuple[QwenImagePipeline, TinyPipelineInputs]`: the pipeline and its call arguments (32x48 pixels, an 8x12
        token grid, 12 steps, `output_type="latent"`, `true_cfg_scale=1`).
    """
    pipe = QwenImagePipeline(
        scheduler=_flow_match_scheduler(shift_terminal=0.02, max_shift=0.9, max_image_seq_len=8192),
        vae=_tiny_qwen_vae(seed, num_downsamples=1),
        text_encoder=None,
        tokenizer=None,
        transformer=_tiny_qwen_transformer(seed),
    )
    pipe.set_progress_bar_config(disable=True)
    positive, negative = _qwen_embeddings(seed)
    kwargs = {
        **positive,
        "height": FLUX_HEIGHT,
        "width": FLUX_WIDTH,
        "true_cfg_scale": 1.0,
        "num_inference_steps": NUM_INFERENCE_STEPS,
        "output_type": "latent",
    }
    return pipe, TinyPipelineInputs(kwargs, negative, lambda height, width: {"height": height, "width": width}, seed)


def build_tiny_qwenimage_edit_pipeline(seed: int = 0) -> tuple[QwenImageEditPipeline, TinyPipelineInputs]:
    r"""
    A `QwenImageEditPipeline` with a tiny `QwenImageTransformer2DModel` (2 blocks), a 16x `AutoencoderKLQwenImage`,
    no text encoder, tokenizer or processor, and a square reference image.

    The pipeline resizes the reference to 1024x1024 pixels whatever its size, so the transformer sees a 4x6 target
    grid (128x192 pixels) followed by a 32x32 reference grid; most of a call's time is the VAE encoding that
    reference (about 0.3 s on one CPU thread).

    Args:
        seed (`int`, defaults to `0`): seeds the weights, the embeddings, the image and the default generator.

    Returns:
        `tuple[QwenImageEditPipeline, TinyPipelineInputs]`: the pipeline and its call arguments (12 steps,
        `output_type="latent"`, `true_cfg_scale=1`).
    """
    pipe = QwenImageEditPipeline(
        scheduler=_flow_match_scheduler(shift_terminal=0.02, max_shift=0.9, max_image_seq_len=8192),
        # No residual blocks in the VAE: encoding the 1024x1024 reference at full resolution dominates a call.
        vae=_tiny_qwen_vae(seed, num_downsamples=4, num_res_blocks=0),
        text_encoder=None,
        tokenizer=None,
        processor=None,
        transformer=_tiny_qwen_transformer(seed),
    )
    pipe.set_progress_bar_config(disable=True)
    positive, negative = _qwen_embeddings(seed)
    kwargs = {
        **positive,
        "image": _random_image(16, 16, seed),
        "height": QWEN_EDIT_HEIGHT,
        "width": QWEN_EDIT_WIDTH,
        "true_cfg_scale": 1.0,
        "num_inference_steps": NUM_INFERENCE_STEPS,
        "output_type": "latent",
    }
    reference = {"height": QWEN_EDIT_REFERENCE_PIXELS, "width": QWEN_EDIT_REFERENCE_PIXELS}
    return pipe, TinyPipelineInputs(
        kwargs, negative, lambda height, width: {"height": height, "width": width}, seed, reference
    )


_BUILDERS = {
    "flux": build_tiny_flux_pipeline,
    "flux_kontext": build_tiny_flux_kontext_pipeline,
    "flux_img2img": build_tiny_flux_img2img_pipeline,
    "qwenimage": build_tiny_qwenimage_pipeline,
    "qwenimage_edit": build_tiny_qwenimage_edit_pipeline,
}


def build_tiny_pipeline(name: str, seed: int = 0) -> tuple[DiffusionPipeline, TinyPipelineInputs]:
    r"""
    Builds one of the tiny pipelines by name.

    Args:
        name (`str`): one of `ALL_PIPELINE_NAMES`.
        seed (`int`, defaults to `0`): seeds the weights, inputs and default generator.

    Returns:
        `tuple[DiffusionPipeline, TinyPipelineInputs]`: the pipeline and its call arguments.
    """
    if name not in _BUILDERS:
        raise ValueError(f"`name` must be one of {', '.join(repr(n) for n in _BUILDERS)}, got {name!r}.")
    return _BUILDERS[name](seed)


def transformer_blocks(transformer: torch.nn.Module) -> list[torch.nn.Module]:
    r"""All blocks of the transformer's block stack, in the order FreqCa hooks them (`find_block_stack`)."""
    return [block for _, block in find_block_stack(transformer)]
