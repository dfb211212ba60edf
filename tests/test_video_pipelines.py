# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""End to end: diffusers' own pipelines with tiny random components and FreqCa on the transformer(s).

Wan 2.x (text-to-video; image-to-video with `expand_timesteps`, whose clean conditioning frame is a grid of its own;
two experts), HunyuanVideo, LTX-Video and CogVideoX split bands in 3-D over their latent video; FLUX.2 and SD3 in 2-D.
Every run checks that the blocks are skipped on FreqCa's predicted steps, that each call's band split found the
expected grid (no 1-D fallback: `grid_fallback="error"`), that the output stays finite and close to the uncached
one, and that `disable_cache` restores the uncached output bit for bit. Text encoders are replaced by precomputed
embeddings and outputs stay latents, so no VAE runs except where the pipeline encodes a conditioning image.
"""

from dataclasses import dataclass

import numpy as np
import PIL.Image
import pytest
import torch
from diffusers import (
    AutoencoderKLWan,
    CogVideoXDDIMScheduler,
    CogVideoXPipeline,
    CogVideoXTransformer3DModel,
    FlowMatchEulerDiscreteScheduler,
    Flux2Pipeline,
    Flux2Transformer2DModel,
    HunyuanVideoPipeline,
    HunyuanVideoTransformer3DModel,
    LTXPipeline,
    LTXVideoTransformer3DModel,
    SD3Transformer2DModel,
    StableDiffusion3Pipeline,
    UniPCMultistepScheduler,
    WanImageToVideoPipeline,
    WanPipeline,
    WanTransformer3DModel,
)
from diffusers.models.cache_utils import CacheMixin

from diffusers_freqca import FreqCaConfig, apply_freqca, get_freqca_stats, remove_freqca
from diffusers_freqca.block_stack import count_evaluations
from diffusers_freqca.schedule import full_steps


NUM_STEPS = 6
CONFIG = FreqCaConfig(
    cache_interval=3,
    disable_cache_before_step=2,
    first_interval=2,
    decomposition="dct",
    low_freq_order=0,
    high_freq_order=1,
    grid_fallback="error",
)
EXPECTED_FULL = full_steps(NUM_STEPS, CONFIG)  # [0, 1, 3]


def _embeddings(length: int, dim: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(1, length, dim, generator=generator)


def _wan_transformer(seed: int, in_channels: int = 4, out_channels: int = 4) -> WanTransformer3DModel:
    torch.manual_seed(seed)
    return WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=in_channels,
        out_channels=out_channels, text_dim=16, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
    ).eval()  # fmt: skip


def _wan_text(generator) -> dict:
    return {
        "prompt_embeds": _embeddings(8, 16, generator),
        "negative_prompt_embeds": _embeddings(8, 16, generator),
        "guidance_scale": 2.0,
    }


@dataclass
class Video:
    pipe: object
    kwargs: dict
    transformers: tuple[str, ...] = ("transformer",)
    split: str = "3-D"
    segments: int = 1  # grids per call (the conditioning frame of image-to-video is one of its own)
    num_steps: int = NUM_STEPS


def _wan_t2v() -> Video:
    generator = torch.Generator().manual_seed(100)
    pipe = WanPipeline(
        tokenizer=None, text_encoder=None, vae=None, scheduler=UniPCMultistepScheduler(flow_shift=3.0),
        transformer=_wan_transformer(0),
    )  # fmt: skip
    # 9 frames with the default 4x temporal / 8x spatial VAE factors: 3 latent frames of 8x8, 3x4x4 tokens.
    return Video(pipe, {**_wan_text(generator), "height": 64, "width": 64, "num_frames": 9})


def _wan_two_experts() -> Video:
    generator = torch.Generator().manual_seed(100)
    # 10 steps without a shift: the high-noise expert takes the first half or so, the low-noise expert the rest.
    pipe = WanPipeline(
        tokenizer=None, text_encoder=None, vae=None, scheduler=UniPCMultistepScheduler(flow_shift=1.0),
        transformer=_wan_transformer(0), transformer_2=_wan_transformer(1), boundary_ratio=0.5,
    )  # fmt: skip
    return Video(
        pipe, {**_wan_text(generator), "height": 64, "width": 64, "num_frames": 9, "guidance_scale_2": 1.5},
        transformers=("transformer", "transformer_2"), num_steps=10,
    )  # fmt: skip


def _wan_i2v() -> Video:
    # Wan 2.2 TI2V: the image is the first latent frame, its tokens get timestep 0 (`expand_timesteps=True`).
    generator = torch.Generator().manual_seed(100)
    torch.manual_seed(5)
    vae = AutoencoderKLWan(
        base_dim=3, z_dim=4, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True],
        latents_mean=[0.0] * 4, latents_std=[1.0] * 4,
    ).eval()  # fmt: skip
    pipe = WanImageToVideoPipeline(
        tokenizer=None, text_encoder=None, vae=vae, scheduler=UniPCMultistepScheduler(flow_shift=3.0),
        image_processor=None, image_encoder=None, transformer=_wan_transformer(0), expand_timesteps=True,
    )  # fmt: skip
    pixels = np.random.default_rng(3).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    kwargs = {**_wan_text(generator), "image": PIL.Image.fromarray(pixels), "height": 64, "width": 64,
              "num_frames": 9}  # fmt: skip
    return Video(pipe, kwargs, segments=2)


def _hunyuan_video() -> Video:
    generator = torch.Generator().manual_seed(100)
    torch.manual_seed(0)
    transformer = HunyuanVideoTransformer3DModel(
        in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=10, num_layers=1,
        num_single_layers=1, num_refiner_layers=1, patch_size=1, patch_size_t=1, guidance_embeds=True,
        text_embed_dim=16, pooled_projection_dim=8, rope_axes_dim=(2, 4, 4),
    ).eval()  # fmt: skip
    pipe = HunyuanVideoPipeline(
        text_encoder=None, tokenizer=None, transformer=transformer, vae=None,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0), text_encoder_2=None, tokenizer_2=None,
    )  # fmt: skip
    kwargs = {
        "prompt_embeds": _embeddings(8, 16, generator),
        "pooled_prompt_embeds": torch.randn(1, 8, generator=generator),
        "prompt_attention_mask": torch.ones(1, 8),
        "height": 32,
        "width": 48,
        "num_frames": 9,
    }
    return Video(pipe, kwargs)


def _ltx() -> Video:
    generator = torch.Generator().manual_seed(100)
    torch.manual_seed(0)
    transformer = LTXVideoTransformer3DModel(
        in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=8, cross_attention_dim=16,
        num_layers=2, qk_norm="rms_norm_across_heads", caption_channels=16,
    ).eval()  # fmt: skip
    pipe = LTXPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), vae=None, text_encoder=None, tokenizer=None,
        transformer=transformer,
    )  # fmt: skip
    kwargs = {
        "prompt_embeds": _embeddings(8, 16, generator),
        "prompt_attention_mask": torch.ones(1, 8),
        "negative_prompt_embeds": _embeddings(8, 16, generator),
        "negative_prompt_attention_mask": torch.ones(1, 8),
        "guidance_scale": 2.0,
        "height": 128,
        "width": 192,
        "num_frames": 17,
    }
    return Video(pipe, kwargs)


def _cogvideox() -> Video:
    generator = torch.Generator().manual_seed(100)
    torch.manual_seed(0)
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=2, attention_head_dim=8, in_channels=4, out_channels=4, time_embed_dim=2,
        text_embed_dim=8, num_layers=2, sample_width=8, sample_height=8, sample_frames=9, patch_size=2,
        temporal_compression_ratio=4, max_text_seq_length=8,
    ).eval()  # fmt: skip
    pipe = CogVideoXPipeline(
        tokenizer=None, text_encoder=None, vae=None, transformer=transformer,
        scheduler=CogVideoXDDIMScheduler(timestep_spacing="trailing"),
    )  # fmt: skip
    kwargs = {
        "prompt_embeds": _embeddings(8, 8, generator),
        "negative_prompt_embeds": _embeddings(8, 8, generator),
        "guidance_scale": 2.0,
        "height": 64,
        "width": 64,
        "num_frames": 9,
    }
    return Video(pipe, kwargs)


def _flux2() -> Video:
    generator = torch.Generator().manual_seed(100)
    torch.manual_seed(0)
    transformer = Flux2Transformer2DModel(
        patch_size=1, in_channels=16, num_layers=1, num_single_layers=2, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=32, timestep_guidance_channels=256, axes_dims_rope=(4, 4, 4, 4),
    ).eval()  # fmt: skip
    pipe = Flux2Pipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), vae=None, text_encoder=None, tokenizer=None,
        transformer=transformer,
    )  # fmt: skip
    return Video(pipe, {"prompt_embeds": _embeddings(8, 32, generator), "height": 64, "width": 96}, split="2-D")


def _sd3() -> Video:
    generator = torch.Generator().manual_seed(100)
    torch.manual_seed(0)
    transformer = SD3Transformer2DModel(
        sample_size=16, patch_size=2, in_channels=4, num_layers=3, attention_head_dim=8, num_attention_heads=2,
        caption_projection_dim=16, joint_attention_dim=32, pooled_projection_dim=16, out_channels=4,
        pos_embed_max_size=16,
    ).eval()  # fmt: skip
    pipe = StableDiffusion3Pipeline(
        transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0), vae=None, text_encoder=None,
        tokenizer=None, text_encoder_2=None, tokenizer_2=None, text_encoder_3=None, tokenizer_3=None,
    )  # fmt: skip
    kwargs = {
        "prompt_embeds": _embeddings(6, 32, generator),
        "pooled_prompt_embeds": torch.randn(1, 16, generator=generator),
        "negative_prompt_embeds": _embeddings(6, 32, generator),
        "negative_pooled_prompt_embeds": torch.randn(1, 16, generator=generator),
        "guidance_scale": 2.0,
        "height": 64,
        "width": 96,
    }
    return Video(pipe, kwargs, split="2-D")


PIPELINES = {
    "wan_t2v": _wan_t2v,
    "wan_i2v_expand_timesteps": _wan_i2v,
    "wan_two_experts": _wan_two_experts,
    "hunyuan_video": _hunyuan_video,
    "ltx_video": _ltx,
    "cogvideox": _cogvideox,
    "flux2": _flux2,
    "sd3": _sd3,
}


class _Layouts:
    # The band-split layout of every call of a FreqCa'd transformer, read right after its decision.
    def __init__(self, transformer):
        self.kinds, self.segments = [], []
        self.handle = transformer.register_forward_pre_hook(self._read)

    def _read(self, module, args):
        layout = module._freqca_runtime.current.layout
        self.kinds.append(layout.kind)
        self.segments.append(len(layout.segments))


def _call(video: Video) -> torch.Tensor:
    video.pipe.set_progress_bar_config(disable=True)
    with torch.no_grad():
        output = video.pipe(
            **video.kwargs, num_inference_steps=video.num_steps, output_type="latent",
            generator=torch.Generator().manual_seed(0),
        )  # fmt: skip
    return output.frames if hasattr(output, "frames") else output.images


def _enable(transformer):
    if isinstance(transformer, CacheMixin):
        transformer.enable_cache(CONFIG)
    else:
        apply_freqca(transformer, CONFIG)


def _disable(transformer):
    if isinstance(transformer, CacheMixin):
        transformer.disable_cache()
    else:
        remove_freqca(transformer)


@pytest.mark.parametrize("name", list(PIPELINES))
def test_pipeline_with_freqca(name):
    video = PIPELINES[name]()
    transformers = [getattr(video.pipe, attribute) for attribute in video.transformers]
    reference = _call(video)
    assert torch.isfinite(reference).all()

    for transformer in transformers:
        _enable(transformer)
    layouts = [_Layouts(transformer) for transformer in transformers]
    counters = [count_evaluations(transformer) for transformer in transformers]
    counts = [counter.__enter__() for counter in counters]
    try:
        cached = _call(video)
    finally:
        for counter in counters:
            counter.__exit__(None, None, None)
        for layout in layouts:
            layout.handle.remove()

    for transformer, count, layout in zip(transformers, counts, layouts):
        stats = get_freqca_stats(transformer)
        assert stats.predicted_steps > 0, f"{name}: FreqCa skipped nothing: {stats}"
        # The block stack ran on the full steps only, in every context (cond/uncond or one batched call).
        assert count["last_block"] == count["first_block"] == count["calls"] - stats.predicted_steps
        assert set(layout.kinds) == {video.split} and set(layout.segments) == {video.segments}, (layout.kinds, layout)
    if len(transformers) == 1:
        for context in get_freqca_stats(transformers[0]).contexts.values():
            assert context.full_steps == EXPECTED_FULL
    assert torch.isfinite(cached).all()
    error = float((cached - reference).norm() / reference.norm())
    assert error < 0.5, f"{name}: the cached output is off by {error:.3f} (relative)"

    for transformer in transformers:
        _disable(transformer)
    torch.testing.assert_close(_call(video), reference, rtol=0, atol=0)


def test_two_experts_each_warm_up_on_their_part_of_the_trajectory():
    video = _wan_two_experts()
    for attribute in video.transformers:
        _enable(getattr(video.pipe, attribute))
    _call(video)
    first, second = (get_freqca_stats(getattr(video.pipe, a)) for a in video.transformers)
    # Each expert's generation starts at its own first step (the pipeline's step index is global): its own warm-up,
    # then the same schedule. Two contexts (cond, uncond) per expert.
    steps = dict.fromkeys(first.contexts, 0)
    for stats in (first, second):
        assert stats.predicted_steps > 0
        for name, context in stats.contexts.items():
            length = context.computed_steps + context.predicted_steps
            assert context.full_steps == full_steps(length, CONFIG)
            steps[name] += length
    assert steps == {"cond": video.num_steps, "uncond": video.num_steps}
