# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""Tiny transformers built from configs and a denoising-like driver that calls them step by step."""

import math
from dataclasses import dataclass

import torch
from diffusers import FluxPipeline, FluxTransformer2DModel, QwenImageTransformer2DModel

from diffusers_freqca.block_stack import find_block_stack


@dataclass
class TinyModel:
    model: torch.nn.Module
    make_inputs: callable  # (batch, height, width, timestep) -> kwargs


def tiny_flux(seed: int = 0) -> TinyModel:
    torch.manual_seed(seed)
    model = FluxTransformer2DModel(
        patch_size=1, in_channels=8, num_layers=2, num_single_layers=2, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=32, axes_dims_rope=(4, 6, 6),
    ).eval()  # fmt: skip
    generator = torch.Generator().manual_seed(seed + 1)
    encoder = torch.randn(4, 5, 32, generator=generator)
    pooled = torch.randn(4, 32, generator=generator)
    latents = torch.randn(4, 64 * 64, 8, generator=generator)

    def make_inputs(batch, height, width, timestep):
        return {
            "hidden_states": latents[:batch, : height * width] * timestep,
            "encoder_hidden_states": encoder[:batch],
            "pooled_projections": pooled[:batch],
            "timestep": torch.full((batch,), float(timestep)),
            "img_ids": FluxPipeline._prepare_latent_image_ids(batch, height, width, "cpu", torch.float32),
            "txt_ids": torch.zeros(5, 3),
            "return_dict": False,
        }

    return TinyModel(model, make_inputs)


def tiny_qwen(seed: int = 0) -> TinyModel:
    torch.manual_seed(seed)
    model = QwenImageTransformer2DModel(
        patch_size=2, in_channels=16, out_channels=4, num_layers=3, attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=16, guidance_embeds=False, axes_dims_rope=(8, 4, 4),
    ).eval()  # fmt: skip
    generator = torch.Generator().manual_seed(seed + 1)
    encoder = torch.randn(4, 7, 16, generator=generator)
    latents = torch.randn(4, 64 * 64, 16, generator=generator)

    def make_inputs(batch, height, width, timestep):
        return {
            "hidden_states": latents[:batch, : height * width] * timestep,
            "encoder_hidden_states": encoder[:batch],
            "encoder_hidden_states_mask": torch.ones(batch, 7, dtype=torch.long),
            "timestep": torch.full((batch,), float(timestep)),
            "img_shapes": [[(1, height, width)]] * batch,
            "return_dict": False,
        }

    return TinyModel(model, make_inputs)


TINY_MODELS = {"flux": tiny_flux, "qwen": tiny_qwen}


def timesteps(num_steps: int) -> list[float]:
    return torch.linspace(1.0, 1.0 / num_steps, num_steps).tolist()


@torch.no_grad()
def run_steps(tiny: TinyModel, num_steps=12, batch=1, height=6, width=8, context="cond", times=None):
    """Calls the model once per step, as a pipeline's denoising loop does, and returns the outputs."""
    outputs = []
    for t in times or timesteps(num_steps):
        kwargs = tiny.make_inputs(batch, height, width, t)
        if context is None:
            outputs.append(tiny.model(**kwargs)[0])
        else:
            with tiny.model.cache_context(context):
                outputs.append(tiny.model(**kwargs)[0])
    return outputs


def blocks(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The blocks of the model's block stack, found as everything else in the project finds them."""
    return [block for _, block in find_block_stack(model)]


class BlockComputeCounter:
    """Counts, per transformer call, how many blocks really computed (their attention submodule ran)."""

    def __init__(self, model: torch.nn.Module):
        self.per_call: list[int] = []
        self._handles = [model.register_forward_pre_hook(lambda *_: self.per_call.append(0))]
        for block in blocks(model):
            self._handles.append(block.attn.register_forward_pre_hook(self._count))

    def _count(self, *_):
        self.per_call[-1] += 1

    def remove(self):
        for handle in self._handles:
            handle.remove()


def written_out_schedule(
    num_steps: int, interval: int, warmup: int = 2, first: int | None = None, stride: int = 1
) -> list[int]:
    r"""
    The full steps of a generation written out independently of `full_steps`: `warmup` warm-up steps `stride` apart
    (the stride capped at `interval`; `1` is the paper's consecutive warm-up, the default is 3), a full step `first`
    steps after the last of them (default `ceil(interval / 2)`), then one every `interval` steps.
    """
    first = math.ceil(interval / 2) if first is None else first
    warmup_steps = [k * min(stride, interval) for k in range(warmup)]
    start = warmup_steps[-1] + first
    return [s for s in range(num_steps) if s in warmup_steps or (s >= start and (s - start) % interval == 0)]
