# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The table of diffusers transformer classes FreqCa supports, with a tiny model and a forward call for each, and the
"Supported models" docs page generated from it.

Every row builds a randomly initialised model of a few blocks from a config of a few numbers and calls it like its
pipelines do, at a given noise level (`sigma` in `[0, 1]`, passed in the convention of the class's pipelines). The
coverage test (`test_supported_models.py`) runs each for a few steps with and without FreqCa. Classes the family table
refuses (`diffusers_freqca.families.FAMILIES`) appear on the page with the reason.

Regenerate the page after changing the table:

    python tests/supported_models.py > docs/supported_models.md
"""

import sys
from collections.abc import Callable
from dataclasses import dataclass

import diffusers
import torch

from diffusers_freqca.families import FAMILIES


@dataclass(frozen=True)
class Case:
    r"""
    One supported transformer class and how to run a tiny model of it.

    Args:
        class_name (`str`): the diffusers class.
        init (`dict`): the tiny config.
        inputs (`Callable`): `inputs(gen, sigma, time)` -> the forward kwargs, where `gen` is a seeded generator
            that a case may use for inputs that stay fixed (it is re-seeded for every run), `sigma` the noise level
            in `[0, 1]` and `time` the timestep in the pipelines' convention.
        pipelines (`str`): the diffusers pipelines that use the class (main ones).
        grid (`str`): where the token grid comes from, for the docs page.
        split (`str`): the band split the head's input gets: `"2-D"`, `"3-D"` or `"sequence"`.
        time (`str`, defaults to `"raw"`): how the pipelines pass the timestep: `"raw"` (`1000 * sigma`), `"sigma"`,
            `"raw_increasing"` (`1000 * (1 - sigma)`) or `"sigma_increasing"` (`1 - sigma`).
        note (`str`, defaults to `""`): a remark for the page.
    """

    class_name: str
    init: dict
    inputs: Callable[[torch.Generator, float, float], dict]
    pipelines: str
    grid: str
    split: str
    time: str = "raw"
    note: str = ""

    def timestep(self, sigma: float) -> float:
        """The timestep the pipelines pass at noise level `sigma`."""
        return {
            "raw": 1000.0 * sigma,
            "sigma": sigma,
            "raw_increasing": 1000.0 * (1.0 - sigma),
            "sigma_increasing": 1.0 - sigma,
        }[self.time]

    def build(self, seed: int = 0) -> torch.nn.Module:
        """The tiny model, seeded, in eval mode. Parameters initialised to zero (output projections, gates) get small
        random values, so that every output depends on the blocks."""
        torch.manual_seed(seed)
        model = getattr(diffusers, self.class_name)(**self.init).eval()
        with torch.no_grad():
            for parameter in model.parameters():
                if parameter.numel() > 1 and not parameter.any():
                    parameter.normal_(0.0, 0.02)
        return model


def _r(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=gen)


def _t(value: float, batch: int = 1) -> torch.Tensor:
    return torch.full((batch,), float(value))


def _ids(height: int, width: int, columns: int = 3, index: float = 0.0) -> torch.Tensor:
    # FLUX-style position ids of a raster grid: (index, row, column[, 0...]).
    ids = torch.zeros(height * width, columns)
    ids[:, 0] = index
    ids[:, 1] = torch.arange(height).repeat_interleave(width).float()
    ids[:, 2] = torch.arange(width).repeat(height).float()
    return ids


def _noisy(gen: torch.Generator, sigma: float, *shape: int) -> torch.Tensor:
    # A fresh latent per step (pipelines pass a new tensor every step): fixed noise and signal mixed at `sigma`.
    noise, signal = _r(gen, *shape), _r(gen, *shape)
    return sigma * noise + (1.0 - sigma) * signal


_FLUX_BLOCKS = {"patch_size": 1, "in_channels": 4, "num_layers": 1, "num_single_layers": 1, "attention_head_dim": 16,
                "num_attention_heads": 2, "joint_attention_dim": 32}  # fmt: skip
_H, _W = 4, 6  # image token grid of the 2-D cases


def _flux_like(extra: dict | None = None, columns: int = 3, text: int = 6, text_dim: int = 32):
    def inputs(gen, sigma, time):
        kwargs = {
            "hidden_states": _noisy(gen, sigma, 1, _H * _W, 4),
            "encoder_hidden_states": _r(gen, 1, text, text_dim),
            "img_ids": _ids(_H, _W, columns),
            "txt_ids": torch.zeros(text, columns),
            "timestep": _t(time),
        }
        kwargs.update({k: (v(gen) if callable(v) else v) for k, v in (extra or {}).items()})
        return kwargs

    return inputs


def _qwen_like(gen, sigma, time):
    return {
        "hidden_states": _noisy(gen, sigma, 1, _H * _W, 16),
        "encoder_hidden_states": _r(gen, 1, 7, 16),
        "encoder_hidden_states_mask": torch.ones(1, 7, dtype=torch.long),
        "timestep": _t(time),
        "img_shapes": [[(1, _H, _W)]],
    }


def _latent_image(channels: int = 4, height: int = 8, width: int = 12, **fixed):
    def inputs(gen, sigma, time):
        kwargs = {"hidden_states": _noisy(gen, sigma, 1, channels, height, width), "timestep": _t(time)}
        kwargs.update({k: (v(gen) if callable(v) else v) for k, v in fixed.items()})
        return kwargs

    return inputs


def _latent_video(channels: int = 4, frames: int = 3, height: int = 8, width: int = 8, int_time=False, **fixed):
    def inputs(gen, sigma, time):
        timestep = _t(time).long() if int_time else _t(time)
        kwargs = {"hidden_states": _noisy(gen, sigma, 1, channels, frames, height, width), "timestep": timestep}
        kwargs.update({k: (v(gen) if callable(v) else v) for k, v in fixed.items()})
        return kwargs

    return inputs


def _text(length: int, dim: int):
    return lambda gen: _r(gen, 1, length, dim)


def _hunyuan_dit_inputs(gen, sigma, time):
    from diffusers.models.embeddings import get_2d_rotary_pos_embed

    return {
        "hidden_states": _noisy(gen, sigma, 1, 4, 8, 12),
        "timestep": _t(time),
        "encoder_hidden_states": _r(gen, 1, 4, 8),
        "text_embedding_mask": torch.ones(1, 4),
        "encoder_hidden_states_t5": _r(gen, 1, 4, 8),
        "text_embedding_mask_t5": torch.ones(1, 4),
        "image_meta_size": torch.tensor([[64.0, 96.0, 64.0, 96.0, 0.0, 0.0]]),
        "style": torch.zeros(1, dtype=torch.long),
        # The pipeline's rotary embedding for a 4x6 token grid and 8-channel heads.
        "image_rotary_emb": get_2d_rotary_pos_embed(8, ((0, 0), (4, 6)), (4, 6)),
    }


def _lumina_next_inputs(gen, sigma, time):
    from diffusers.models.embeddings import get_2d_rotary_pos_embed_lumina

    return {
        "hidden_states": _noisy(gen, sigma, 1, 4, 8, 12),
        "timestep": _t(time),
        "encoder_hidden_states": _r(gen, 1, 8, 32),
        "encoder_mask": torch.ones(1, 8),
        "image_rotary_emb": get_2d_rotary_pos_embed_lumina(8, 384, 384, linear_factor=1.0, ntk_factor=1.0),
        "cross_attention_kwargs": {},
    }


def _omnigen_inputs(gen, sigma, time):
    tokens = 1 + 4 * 6  # the time token, then the 4x6 image tokens
    return {
        "hidden_states": _noisy(gen, sigma, 1, 4, 8, 12),
        "timestep": _t(time),
        "input_ids": None,
        "input_img_latents": [],
        "input_image_sizes": {},
        "attention_mask": torch.ones(1, tokens, tokens),
        "position_ids": torch.arange(tokens).unsqueeze(0),
    }


def _krea2_inputs(gen, sigma, time):
    text = 4
    ids = torch.cat([torch.zeros(text, 3), _ids(_H, _W)])
    return {
        "hidden_states": _noisy(gen, sigma, 1, _H * _W, 16),
        "encoder_hidden_states": _r(gen, 1, text, 3, 16),
        "timestep": _t(time),
        "position_ids": ids,
        "encoder_attention_mask": torch.ones(1, text, dtype=torch.bool),
    }


def _z_image_inputs(gen, sigma, time):
    return {"x": [_noisy(gen, sigma, 16, 1, 8, 12)], "cap_feats": [_r(gen, 16, 16)], "t": _t(time)}


def _helios_inputs(gen, sigma, time):
    return {
        "hidden_states": _noisy(gen, sigma, 1, 4, 2, 8, 8),
        "timestep": _t(time).long(),
        "encoder_hidden_states": _r(gen, 1, 12, 16),
        "indices_hidden_states": torch.ones(1, 2),
        "indices_latents_history_short": torch.ones(1, 1),
        "indices_latents_history_mid": torch.ones(1, 1),
        "indices_latents_history_long": torch.ones(1, 4),
        "latents_history_short": _r(gen, 1, 4, 1, 8, 8),
        "latents_history_mid": _r(gen, 1, 4, 1, 8, 8),
        "latents_history_long": _r(gen, 1, 4, 4, 8, 8),
    }


def _framepack_inputs(gen, sigma, time):
    return {
        "hidden_states": _noisy(gen, sigma, 1, 4, 3, 4, 4),
        "timestep": _t(time),
        "encoder_hidden_states": _r(gen, 1, 12, 16),
        "pooled_projections": _r(gen, 1, 8),
        "encoder_attention_mask": torch.ones(1, 12),
        "guidance": _t(4000.0),
        "image_embeds": _r(gen, 1, 12, 16),
        "indices_latents": torch.arange(3).float(),
        "latents_clean": _r(gen, 1, 4, 2, 4, 4),
        "indices_latents_clean": torch.ones(2),
        "latents_history_2x": _r(gen, 1, 4, 2, 4, 4),
        "indices_latents_history_2x": torch.ones(2),
        "latents_history_4x": _r(gen, 1, 4, 8, 4, 4),
        "indices_latents_history_4x": torch.ones(8),
    }


def _wan_animate_inputs(gen, sigma, time):
    return {
        "hidden_states": _noisy(gen, sigma, 1, 12, 3, 8, 8),
        "timestep": _t(time).long(),
        "encoder_hidden_states": _r(gen, 1, 12, 16),
        "encoder_hidden_states_image": _r(gen, 1, 12, 16),
        "pose_hidden_states": _r(gen, 1, 4, 2, 8, 8),
        "face_pixel_values": _r(gen, 1, 3, 5, 16, 16),
    }


def _ltx_inputs(gen, sigma, time):
    return {
        "hidden_states": _noisy(gen, sigma, 1, 3 * 4 * 4, 4),
        "encoder_hidden_states": _r(gen, 1, 8, 16),
        "timestep": _t(time),
        "encoder_attention_mask": torch.ones(1, 8, dtype=torch.bool),
        "num_frames": 3,
        "height": 4,
        "width": 4,
    }


def _kandinsky5_inputs(gen, sigma, time):
    return {
        "hidden_states": _noisy(gen, sigma, 1, 3, 8, 8, 4),
        "encoder_hidden_states": _r(gen, 1, 5, 16),
        "timestep": _t(time),
        "pooled_projections": _r(gen, 1, 8),
        "visual_rope_pos": [torch.arange(3), torch.arange(4), torch.arange(4)],
        "text_rope_pos": torch.arange(5),
    }


def _cogvideox_inputs(gen, sigma, time, **extra):
    kwargs = {
        "hidden_states": _noisy(gen, sigma, 1, 2, 4, 8, 8),
        "encoder_hidden_states": _r(gen, 1, 8, 8),
        "timestep": _t(time).long(),
    }
    kwargs.update({k: v(gen) for k, v in extra.items()})
    return kwargs


def _stable_audio_inputs(gen, sigma, time):
    from diffusers.models.embeddings import get_1d_rotary_pos_embed

    return {
        "hidden_states": _noisy(gen, sigma, 1, 8, 16),
        "timestep": _t(time),
        "encoder_hidden_states": _r(gen, 1, 6, 16),
        "global_hidden_states": _r(gen, 1, 1, 16),
        # The pipeline's rotary embedding over the global token and the 16 audio tokens, half the head dimension.
        "rotary_embedding": get_1d_rotary_pos_embed(4, 17, use_real=True, repeat_interleave_real=False),
    }


def _audio(shape: tuple[int, ...], **fixed):
    def inputs(gen, sigma, time):
        kwargs = {"hidden_states": _noisy(gen, sigma, *shape), "timestep": _t(time)}
        kwargs.update({k: (v(gen) if callable(v) else v) for k, v in fixed.items()})
        return kwargs

    return inputs


_IDS = "`img_ids` (image index, row, column)"
_SHAPES = "`img_shapes` per sample"
_LATENT = "`hidden_states` shape / patch size"

# fmt: off
CASES: tuple[Case, ...] = (
    # ----------------------------------------------------------------------------------------------- images: ids
    Case("FluxTransformer2DModel", {**_FLUX_BLOCKS, "pooled_projection_dim": 32, "axes_dims_rope": (4, 4, 8)},
         _flux_like({"pooled_projections": lambda g: _r(g, 1, 32)}),
         "FluxPipeline, FluxKontextPipeline, FluxFillPipeline, FluxControlNetPipeline, ...", _IDS, "2-D", "sigma"),
    Case("Flux2Transformer2DModel", {**_FLUX_BLOCKS, "timestep_guidance_channels": 256, "axes_dims_rope": (4, 4, 4, 4)},
         _flux_like({"guidance": _t(1.0)}, columns=4),
         "Flux2Pipeline, Flux2KleinPipeline, Flux2KleinKVPipeline", "`img_ids` (reference index, row, column, layer)",
         "2-D", "sigma", "Single-stream text tokens are sliced off before the head."),
    Case("ChromaTransformer2DModel",
         {**_FLUX_BLOCKS, "axes_dims_rope": (4, 4, 8), "approximator_num_channels": 8, "approximator_hidden_dim": 16,
          "approximator_layers": 1},
         _flux_like(), "ChromaPipeline, ChromaImg2ImgPipeline, ChromaInpaintPipeline", _IDS, "2-D", "sigma"),
    Case("OvisImageTransformer2DModel", {**_FLUX_BLOCKS, "out_channels": 4, "axes_dims_rope": (4, 4, 8)},
         _flux_like(), "OvisImagePipeline", _IDS, "2-D", "sigma"),
    Case("LongCatImageTransformer2DModel", {**_FLUX_BLOCKS, "pooled_projection_dim": 32, "axes_dims_rope": (4, 4, 8)},
         _flux_like({"guidance": _t(3.5)}), "LongCatImagePipeline, LongCatImageEditPipeline", _IDS, "2-D", "sigma"),
    Case("BriaTransformer2DModel",
         {**_FLUX_BLOCKS, "attention_head_dim": 8, "pooled_projection_dim": None, "axes_dims_rope": (0, 4, 4)},
         _flux_like(), "BriaPipeline", _IDS, "2-D"),
    Case("BriaFiboTransformer2DModel",
         {**_FLUX_BLOCKS, "attention_head_dim": 8, "joint_attention_dim": 64, "text_encoder_dim": 32,
          "pooled_projection_dim": None, "axes_dims_rope": (0, 4, 4)},
         _flux_like({"text_encoder_layers": lambda g: [_r(g, 1, 6, 32), _r(g, 1, 6, 32)]}, text_dim=64),
         "BriaFiboPipeline, BriaFiboEditPipeline", _IDS, "2-D"),
    Case("Flux3Transformer2DModel",
         {"in_channels": 4, "cond_in_channels": 4, "num_layers": 1, "num_single_layers": 2, "attention_head_dim": 16,
          "num_attention_heads": 2, "joint_attention_dim": 32, "timestep_channels": 256, "mlp_ratio": 2.0,
          "axes_dims_rope": (4, 4, 4, 4)},
         _flux_like({"image_cond_hidden_states": lambda g: _r(g, 1, _H * _W, 4),
                     "image_cond_ids": _ids(_H, _W, 4, index=10.0)}, columns=4),
         "(modular pipelines)", "`img_ids` (index, row, column, layer)", "2-D", "sigma",
         "Its per-modality early lists (`txt_mode_blocks`, `mode_blocks`) are hooked from the family table."),
    # ---------------------------------------------------------------------------------------- images: img_shapes
    Case("QwenImageTransformer2DModel",
         {"patch_size": 2, "in_channels": 16, "out_channels": 4, "num_layers": 2, "attention_head_dim": 16,
          "num_attention_heads": 2, "joint_attention_dim": 16, "guidance_embeds": False, "axes_dims_rope": (8, 4, 4)},
         _qwen_like, "QwenImagePipeline, QwenImageEditPipeline, QwenImageEditPlusPipeline, "
         "QwenImageControlNetPipeline, ...", _SHAPES, "2-D", "sigma"),
    Case("NucleusMoEImageTransformer2DModel",
         {"patch_size": 2, "in_channels": 16, "out_channels": 4, "num_layers": 2, "attention_head_dim": 16,
          "num_attention_heads": 2, "joint_attention_dim": 16, "axes_dims_rope": (8, 4, 4), "moe_enabled": False},
         _qwen_like, "NucleusMoEImagePipeline", _SHAPES, "2-D", "sigma"),
    # -------------------------------------------------------------------------------------------- images: latents
    Case("SD3Transformer2DModel",
         {"sample_size": 16, "patch_size": 2, "in_channels": 4, "num_layers": 2, "attention_head_dim": 8,
          "num_attention_heads": 2, "caption_projection_dim": 16, "joint_attention_dim": 32,
          "pooled_projection_dim": 16, "out_channels": 4, "pos_embed_max_size": 16},
         _latent_image(encoder_hidden_states=_text(6, 32), pooled_projections=lambda g: _r(g, 1, 16)),
         "StableDiffusion3Pipeline, StableDiffusion3ControlNetPipeline, StableDiffusion3Img2ImgPipeline, ...",
         _LATENT, "2-D"),
    Case("PixArtTransformer2DModel",
         {"sample_size": 8, "num_layers": 2, "patch_size": 2, "attention_head_dim": 4, "num_attention_heads": 2,
          "in_channels": 4, "cross_attention_dim": 8, "out_channels": 8, "attention_bias": True,
          "activation_fn": "gelu-approximate", "num_embeds_ada_norm": 8, "norm_type": "ada_norm_single",
          "norm_elementwise_affine": False, "norm_eps": 1e-6, "use_additional_conditions": False,
          "caption_channels": None},
         _latent_image(encoder_hidden_states=_text(8, 8), added_cond_kwargs={"aspect_ratio": None, "resolution": None}),
         "PixArtAlphaPipeline, PixArtSigmaPipeline", _LATENT, "2-D"),
    Case("DiTTransformer2DModel",
         {"in_channels": 4, "out_channels": 8, "activation_fn": "gelu-approximate", "num_attention_heads": 2,
          "attention_head_dim": 4, "attention_bias": True, "num_layers": 2, "norm_type": "ada_norm_zero",
          "num_embeds_ada_norm": 8, "patch_size": 2, "sample_size": 8},
         _latent_image(height=8, width=8, class_labels=torch.tensor([3])), "DiTPipeline", _LATENT, "2-D"),
    Case("SanaTransformer2DModel",
         {"patch_size": 1, "in_channels": 4, "out_channels": 4, "num_layers": 2, "attention_head_dim": 4,
          "num_attention_heads": 2, "num_cross_attention_heads": 2, "cross_attention_head_dim": 4,
          "cross_attention_dim": 8, "caption_channels": 8, "sample_size": 8},
         _latent_image(height=4, width=6, encoder_hidden_states=_text(8, 8)),
         "SanaPipeline, SanaSprintPipeline, SanaControlNetPipeline", _LATENT, "2-D"),
    Case("CogView3PlusTransformer2DModel",
         {"patch_size": 2, "in_channels": 4, "num_layers": 2, "attention_head_dim": 4, "num_attention_heads": 2,
          "out_channels": 4, "text_embed_dim": 8, "time_embed_dim": 8, "condition_dim": 2, "pos_embed_max_size": 8,
          "sample_size": 8},
         _latent_image(encoder_hidden_states=_text(8, 8), original_size=torch.tensor([[64, 96]]),
                       target_size=torch.tensor([[64, 96]]), crop_coords=torch.tensor([[0, 0]])),
         "CogView3PlusPipeline", _LATENT, "2-D"),
    Case("CogView4Transformer2DModel",
         {"patch_size": 2, "in_channels": 4, "num_layers": 2, "attention_head_dim": 4, "num_attention_heads": 4,
          "out_channels": 4, "text_embed_dim": 8, "time_embed_dim": 8, "condition_dim": 4},
         _latent_image(encoder_hidden_states=_text(8, 8), original_size=torch.tensor([[64, 96]]),
                       target_size=torch.tensor([[64, 96]]), crop_coords=torch.tensor([[0, 0]])),
         "CogView4Pipeline, CogView4ControlPipeline", _LATENT, "2-D"),
    Case("HunyuanImageTransformer2DModel",
         {"in_channels": 4, "out_channels": 4, "num_attention_heads": 2, "attention_head_dim": 16, "num_layers": 1,
          "num_single_layers": 1, "num_refiner_layers": 1, "mlp_ratio": 2.0, "patch_size": (1, 1),
          "text_embed_dim": 16, "rope_axes_dim": (8, 8)},
         _latent_image(height=4, width=6, encoder_hidden_states=_text(6, 16), encoder_attention_mask=torch.ones(1, 6)),
         "HunyuanImagePipeline, HunyuanImageRefinerPipeline", _LATENT, "2-D"),
    Case("HunyuanDiT2DModel",
         {"sample_size": 8, "patch_size": 2, "in_channels": 4, "num_layers": 2, "attention_head_dim": 8,
          "num_attention_heads": 2, "cross_attention_dim": 8, "cross_attention_dim_t5": 8,
          "pooled_projection_dim": 4, "hidden_size": 16, "text_len": 4, "text_len_t5": 4,
          "activation_fn": "gelu-approximate"},
         _hunyuan_dit_inputs, "HunyuanDiTPipeline, HunyuanDiTControlNetPipeline", _LATENT, "2-D"),
    Case("LuminaNextDiT2DModel",
         {"sample_size": 16, "patch_size": 2, "in_channels": 4, "hidden_size": 24, "num_layers": 2,
          "num_attention_heads": 3, "num_kv_heads": 1, "multiple_of": 16, "ffn_dim_multiplier": None,
          "norm_eps": 1e-5, "learn_sigma": False, "qk_norm": True, "cross_attention_dim": 32,
          "scaling_factor": 1.0},
         _lumina_next_inputs, "LuminaPipeline", _LATENT, "2-D", "sigma_increasing"),
    Case("OmniGenTransformer2DModel",
         {"hidden_size": 16, "num_attention_heads": 4, "num_key_value_heads": 4, "intermediate_size": 32,
          "num_layers": 2, "pad_token_id": 0, "vocab_size": 1000, "in_channels": 4, "time_step_dim": 4,
          "rope_scaling": {"long_factor": [1, 2], "short_factor": [1, 2]}},
         _omnigen_inputs, "OmniGenPipeline", _LATENT, "2-D", "sigma_increasing",
         "Condition and time tokens precede the image tokens; the head sees the image tokens only."),
    Case("PRXTransformer2DModel",
         {"in_channels": 4, "patch_size": 2, "context_in_dim": 16, "hidden_size": 32, "mlp_ratio": 2.0,
          "num_heads": 2, "depth": 2, "axes_dim": (8, 8)},
         _latent_image(encoder_hidden_states=_text(6, 16)), "PRXPipeline", _LATENT, "2-D", "sigma"),
    Case("BriaFibo2Transformer2DModel",
         {"in_channels": 4, "patch_size": 2, "dim": 32, "n_layers": 2, "n_refiner_layers": 1, "n_heads": 2,
          "cap_feat_dim": 16, "injection_layer_ids": (1,), "perceiver_num_layers": 1, "min_num_gist_tokens": 4,
          "max_num_gist_tokens": 8, "gist_step": 4, "gist_min_text_len": 4, "gist_max_text_len": 16,
          "axes_dims": (4, 6, 6), "axes_lens": (64, 32, 32)},
         _latent_image(encoder_hidden_states=lambda g: _r(g, 1, 2, 6, 16)), "BriaFibo2Pipeline", _LATENT, "2-D",
         "sigma", "Its blocks run on gist, image and reference tokens; the head sees the image slice."),
    Case("AuraFlowTransformer2DModel",
         {"sample_size": 32, "patch_size": 2, "in_channels": 4, "num_mmdit_layers": 1, "num_single_dit_layers": 1,
          "attention_head_dim": 8, "num_attention_heads": 4, "caption_projection_dim": 32,
          "joint_attention_dim": 32, "out_channels": 4, "pos_embed_max_size": 256},
         _latent_image(encoder_hidden_states=_text(8, 32)), "AuraFlowPipeline", _LATENT, "2-D", "sigma",
         "Its joint blocks (`joint_transformer_blocks`) are hooked from the family table."),
    Case("HiDreamImageTransformer2DModel",
         {"patch_size": 2, "in_channels": 4, "out_channels": 4, "num_layers": 1, "num_single_layers": 1,
          "attention_head_dim": 8, "num_attention_heads": 4, "caption_channels": (8, 4), "text_emb_dim": 8,
          "num_routed_experts": 2, "num_activated_experts": 2, "axes_dims_rope": (4, 2, 2),
          "max_resolution": (32, 32), "llama_layers": (0, 1), "force_inference_output": True},
         lambda gen, sigma, time: {
             "hidden_states": _noisy(gen, sigma, 1, 4, 16, 8), "timesteps": _t(time),
             "encoder_hidden_states_t5": _r(gen, 1, 8, 8), "encoder_hidden_states_llama3": _r(gen, 2, 1, 8, 4),
             "pooled_embeds": _r(gen, 1, 8)},
         "HiDreamImagePipeline", _LATENT, "2-D", "raw",
         "Non-square images are padded to `max_seq` tokens after the grid; the tiny case is non-square."),
    Case("ErnieImageTransformer2DModel",
         {"hidden_size": 16, "num_attention_heads": 1, "num_layers": 2, "ffn_hidden_size": 16, "in_channels": 16,
          "out_channels": 16, "patch_size": 1, "text_in_dim": 16, "rope_theta": 256, "rope_axes_dim": (8, 4, 4),
          "eps": 1e-6, "qk_layernorm": True},
         _latent_image(channels=16, height=4, width=6, text_bth=_text(6, 16), text_lens=torch.tensor([6])),
         "ErnieImagePipeline", _LATENT, "2-D", "raw", "Its head sees (tokens, batch, channels), image then text."),
    Case("Krea2Transformer2DModel",
         {"in_channels": 16, "num_layers": 2, "attention_head_dim": 8, "num_attention_heads": 4,
          "num_key_value_heads": 2, "intermediate_size": 32, "timestep_embed_dim": 8, "text_hidden_dim": 16,
          "num_text_layers": 3, "text_num_attention_heads": 2, "text_num_key_value_heads": 1,
          "text_intermediate_size": 16, "num_layerwise_text_blocks": 1, "num_refiner_text_blocks": 1,
          "axes_dims_rope": (4, 2, 2), "rope_theta": 1000.0, "norm_eps": 1e-5},
         _krea2_inputs, "Krea2Pipeline", "`position_ids` of the image tokens", "2-D", "sigma"),
    Case("Lumina2Transformer2DModel",
         {"sample_size": 16, "patch_size": 2, "in_channels": 4, "hidden_size": 24, "num_layers": 2,
          "num_refiner_layers": 1, "num_attention_heads": 3, "num_kv_heads": 1, "multiple_of": 2,
          "ffn_dim_multiplier": None, "norm_eps": 1e-5, "scaling_factor": 1.0, "axes_dim_rope": (4, 2, 2),
          "axes_lens": (128, 128, 128), "cap_feat_dim": 32},
         _latent_image(encoder_hidden_states=_text(8, 32),
                       encoder_attention_mask=torch.tensor([[True] * 6 + [False] * 2])),
         "Lumina2Pipeline", _LATENT + " after the valid caption tokens", "2-D", "sigma_increasing",
         "Its head sees the caption's valid tokens, then the image; one call's samples must share the caption length."),
    Case("ZImageTransformer2DModel",
         {"all_patch_size": (2,), "all_f_patch_size": (1,), "in_channels": 16, "dim": 16, "n_layers": 2,
          "n_refiner_layers": 1, "n_heads": 1, "n_kv_heads": 2, "qk_norm": True, "cap_feat_dim": 16,
          "rope_theta": 256.0, "t_scale": 1000.0, "axes_dims": (8, 4, 4), "axes_lens": (256, 32, 32)},
         _z_image_inputs, "ZImagePipeline, ZImageImg2ImgPipeline, ZImageControlNetPipeline, ...",
         "`x` latents per sample / `patch_size`", "2-D", "sigma_increasing",
         "Its head sees each sample's image tokens, then its caption tokens."),
    # --------------------------------------------------------------------------------------------- videos: latents
    Case("WanTransformer3DModel",
         {"patch_size": (1, 2, 2), "num_attention_heads": 2, "attention_head_dim": 12, "in_channels": 4,
          "out_channels": 4, "text_dim": 16, "freq_dim": 256, "ffn_dim": 32, "num_layers": 2, "cross_attn_norm": True,
          "qk_norm": "rms_norm_across_heads", "rope_max_seq_len": 32},
         _latent_video(encoder_hidden_states=_text(12, 16)),
         "WanPipeline, WanImageToVideoPipeline, WanVideoToVideoPipeline, LucyEditPipeline", _LATENT, "3-D", "raw",
         "Leading frames with per-token timestep 0 (image-to-video with `expand_timesteps`) are a grid of their own."),
    Case("WanVACETransformer3DModel",
         {"patch_size": (1, 2, 2), "num_attention_heads": 2, "attention_head_dim": 12, "in_channels": 16,
          "out_channels": 16, "text_dim": 32, "freq_dim": 256, "ffn_dim": 32, "num_layers": 4, "cross_attn_norm": True,
          "qk_norm": "rms_norm_across_heads", "rope_max_seq_len": 32, "vace_layers": (0, 2), "vace_in_channels": 48},
         _latent_video(channels=16, encoder_hidden_states=_text(12, 32),
                       control_hidden_states=lambda g: _r(g, 1, 48, 3, 8, 8)),
         "WanVACEPipeline", _LATENT, "3-D", "raw", "The VACE blocks run on every step (they feed the hooked blocks)."),
    Case("WanAnimateTransformer3DModel",
         {"patch_size": (1, 2, 2), "num_attention_heads": 2, "attention_head_dim": 12, "in_channels": 12,
          "latent_channels": 4, "out_channels": 4, "text_dim": 16, "freq_dim": 256, "ffn_dim": 32, "num_layers": 2,
          "cross_attn_norm": True, "qk_norm": "rms_norm_across_heads", "image_dim": 16, "rope_max_seq_len": 32,
          "motion_encoder_channel_sizes": {"4": 16, "8": 16, "16": 16}, "motion_encoder_size": 16,
          "motion_style_dim": 8, "motion_dim": 4, "motion_encoder_dim": 16, "face_encoder_hidden_dim": 16,
          "face_encoder_num_heads": 2, "inject_face_latents_blocks": 2},
         _wan_animate_inputs, "WanAnimatePipeline", _LATENT, "3-D"),
    Case("ChronoEditTransformer3DModel",
         {"patch_size": (1, 2, 2), "num_attention_heads": 2, "attention_head_dim": 8, "in_channels": 16,
          "out_channels": 16, "text_dim": 32, "freq_dim": 16, "ffn_dim": 32, "num_layers": 2, "cross_attn_norm": True,
          "qk_norm": "rms_norm_across_heads", "eps": 1e-6, "image_dim": None, "added_kv_proj_dim": None,
          "rope_max_seq_len": 64, "pos_embed_seq_len": None, "rope_temporal_skip_len": 8},
         _latent_video(channels=16, int_time=True, encoder_hidden_states=_text(12, 32)), "ChronoEditPipeline",
         _LATENT, "3-D"),
    Case("SkyReelsV2Transformer3DModel",
         {"patch_size": (1, 2, 2), "num_attention_heads": 2, "attention_head_dim": 12, "in_channels": 4,
          "out_channels": 4, "text_dim": 16, "freq_dim": 256, "ffn_dim": 32, "num_layers": 2, "cross_attn_norm": True,
          "qk_norm": "rms_norm_across_heads", "rope_max_seq_len": 32},
         _latent_video(int_time=True, encoder_hidden_states=_text(12, 16)),
         "SkyReelsV2Pipeline, SkyReelsV2ImageToVideoPipeline, SkyReelsV2DiffusionForcingPipeline, ...", _LATENT,
         "3-D"),
    Case("HeliosTransformer3DModel",
         {"patch_size": (1, 2, 2), "num_attention_heads": 2, "attention_head_dim": 12, "in_channels": 4,
          "out_channels": 4, "text_dim": 16, "freq_dim": 256, "ffn_dim": 32, "num_layers": 2, "cross_attn_norm": True,
          "qk_norm": "rms_norm_across_heads", "rope_dim": (4, 4, 4), "has_multi_term_memory_patch": True,
          "guidance_cross_attn": True, "zero_history_timestep": True, "is_amplify_history": False},
         _helios_inputs, "HeliosPipeline, HeliosPyramidPipeline", _LATENT, "3-D", "raw",
         "Its head sees the history tokens before the current chunk's grid."),
    Case("AnyFlowTransformer3DModel",
         {"patch_size": (1, 2, 2), "num_attention_heads": 2, "attention_head_dim": 12, "in_channels": 4,
          "out_channels": 4, "text_dim": 16, "freq_dim": 256, "ffn_dim": 32, "num_layers": 2, "cross_attn_norm": True,
          "rope_max_seq_len": 32, "gate_value": 0.25, "deltatime_type": "r"},
         lambda gen, sigma, time: {
             "hidden_states": _noisy(gen, sigma, 1, 2, 4, 8, 8), "timestep": torch.full((1, 2), time),
             "r_timestep": torch.full((1, 2), max(time - 100.0, 0.0)), "encoder_hidden_states": _r(gen, 1, 12, 16)},
         "AnyFlowPipeline", "`hidden_states` (B, F, C, H, W) / patch size", "3-D"),
    Case("HunyuanVideoTransformer3DModel",
         {"in_channels": 4, "out_channels": 4, "num_attention_heads": 2, "attention_head_dim": 10, "num_layers": 1,
          "num_single_layers": 1, "num_refiner_layers": 1, "patch_size": 1, "patch_size_t": 1,
          "guidance_embeds": True, "text_embed_dim": 16, "pooled_projection_dim": 8, "rope_axes_dim": (2, 4, 4),
          "image_condition_type": None},
         _latent_video(height=4, width=6, encoder_hidden_states=_text(12, 16), pooled_projections=lambda g: _r(g, 1, 8),
                       encoder_attention_mask=torch.ones(1, 12), guidance=_t(4000.0)),
         "HunyuanVideoPipeline, HunyuanVideoImageToVideoPipeline, HunyuanSkyreelsImageToVideoPipeline", _LATENT, "3-D"),
    Case("HunyuanVideo15Transformer3DModel",
         {"in_channels": 4, "out_channels": 4, "num_attention_heads": 2, "attention_head_dim": 8, "num_layers": 2,
          "num_refiner_layers": 1, "mlp_ratio": 2.0, "patch_size": 1, "patch_size_t": 1, "text_embed_dim": 16,
          "text_embed_2_dim": 8, "image_embed_dim": 12, "rope_axes_dim": (2, 2, 4), "target_size": 16,
          "task_type": "t2v"},
         _latent_video(height=4, width=6, encoder_hidden_states=_text(6, 16), encoder_hidden_states_2=_text(4, 8),
                       encoder_attention_mask=torch.ones(1, 6), encoder_attention_mask_2=torch.ones(1, 4),
                       image_embeds=lambda g: _r(g, 1, 3, 12)),
         "HunyuanVideo15Pipeline, HunyuanVideo15ImageToVideoPipeline", _LATENT, "3-D"),
    Case("HunyuanVideoFramepackTransformer3DModel",
         {"in_channels": 4, "out_channels": 4, "num_attention_heads": 2, "attention_head_dim": 10, "num_layers": 1,
          "num_single_layers": 1, "num_refiner_layers": 1, "patch_size": 2, "patch_size_t": 1,
          "guidance_embeds": True, "text_embed_dim": 16, "pooled_projection_dim": 8, "rope_axes_dim": (2, 4, 4),
          "image_condition_type": None, "has_image_proj": True, "image_proj_dim": 16, "has_clean_x_embedder": True},
         _framepack_inputs, "HunyuanVideoFramepackPipeline", _LATENT, "3-D", "raw",
         "History and clean-latent tokens are sliced off before the head."),
    Case("MochiTransformer3DModel",
         {"patch_size": 2, "num_attention_heads": 2, "attention_head_dim": 8, "num_layers": 2,
          "pooled_projection_dim": 16, "in_channels": 4, "out_channels": None, "qk_norm": "rms_norm",
          "text_embed_dim": 16, "time_embed_dim": 4, "activation_fn": "swiglu", "max_sequence_length": 16},
         _latent_video(encoder_hidden_states=_text(16, 16), encoder_attention_mask=torch.ones(1, 16, dtype=torch.bool)),
         "MochiPipeline", _LATENT, "3-D", "raw_increasing", "Its pipeline passes increasing timesteps."),
    Case("AllegroTransformer3DModel",
         {"num_attention_heads": 2, "attention_head_dim": 8, "in_channels": 4, "out_channels": 4, "num_layers": 2,
          "cross_attention_dim": 16, "sample_width": 8, "sample_height": 8, "sample_frames": 8,
          "caption_channels": 8},
         _latent_video(frames=2, int_time=True, encoder_hidden_states=_text(16, 8)), "AllegroPipeline", _LATENT, "3-D"),
    Case("CosmosTransformer3DModel",
         {"in_channels": 4, "out_channels": 4, "num_attention_heads": 2, "attention_head_dim": 12, "num_layers": 2,
          "mlp_ratio": 2.0, "text_embed_dim": 16, "adaln_lora_dim": 4, "max_size": (4, 32, 32),
          "patch_size": (1, 2, 2), "rope_scale": (1.0, 1.0, 1.0), "concat_padding_mask": False,
          "extra_pos_embed_type": None},
         _latent_video(encoder_hidden_states=_text(6, 16), fps=24),
         "CosmosTextToWorldPipeline, Cosmos2TextToImagePipeline, Cosmos2VideoToWorldPipeline, ...", _LATENT, "3-D",
         "sigma"),
    Case("EasyAnimateTransformer3DModel",
         {"attention_head_dim": 16, "num_attention_heads": 2, "in_channels": 4, "mmdit_layers": 2, "num_layers": 2,
          "out_channels": 4, "patch_size": 2, "sample_height": 60, "sample_width": 90, "text_embed_dim": 16,
          "time_embed_dim": 8, "time_position_encoding_type": "3d_rope", "timestep_activation_fn": "silu"},
         _latent_video(int_time=True, encoder_hidden_states=_text(16, 16)),
         "EasyAnimatePipeline, EasyAnimateInpaintPipeline, EasyAnimateControlPipeline", _LATENT, "3-D"),
    Case("SanaVideoTransformer3DModel",
         {"in_channels": 16, "out_channels": 16, "num_attention_heads": 2, "attention_head_dim": 12, "num_layers": 2,
          "num_cross_attention_heads": 2, "cross_attention_head_dim": 12, "cross_attention_dim": 24,
          "caption_channels": 16, "mlp_ratio": 2.5, "dropout": 0.0, "attention_bias": False, "sample_size": 8,
          "patch_size": (1, 2, 2), "norm_elementwise_affine": False, "norm_eps": 1e-6,
          "qk_norm": "rms_norm_across_heads", "rope_max_seq_len": 32},
         _latent_video(channels=16, int_time=True, encoder_hidden_states=_text(12, 16)),
         "SanaVideoPipeline, SanaImageToVideoPipeline", _LATENT, "3-D"),
    Case("MotifVideoTransformer3DModel",
         {"in_channels": 33, "out_channels": 16, "num_attention_heads": 2, "attention_head_dim": 12, "num_layers": 1,
          "num_single_layers": 1, "num_decoder_layers": 0, "mlp_ratio": 4.0, "patch_size": 1, "patch_size_t": 1,
          "qk_norm": "rms_norm", "norm_type": "layer_norm", "text_embed_dim": 32, "image_embed_dim": 4,
          "rope_theta": 256.0, "rope_axes_dim": (4, 4, 4), "enable_text_cross_attention_dual": False,
          "enable_text_cross_attention_single": False},
         _latent_video(channels=33, height=4, width=6, int_time=True, encoder_hidden_states=_text(12, 32)),
         "MotifVideoPipeline, MotifVideoImage2VideoPipeline", _LATENT, "3-D"),
    Case("CogVideoXTransformer3DModel",
         {"num_attention_heads": 2, "attention_head_dim": 8, "in_channels": 4, "out_channels": 4, "time_embed_dim": 2,
          "text_embed_dim": 8, "num_layers": 2, "sample_width": 8, "sample_height": 8, "sample_frames": 8,
          "patch_size": 2, "patch_size_t": None, "temporal_compression_ratio": 4, "max_text_seq_length": 8},
         _cogvideox_inputs, "CogVideoXPipeline, CogVideoXImageToVideoPipeline, CogVideoXVideoToVideoPipeline, ...",
         "`hidden_states` (B, F, C, H, W) / patch size", "3-D"),
    Case("ConsisIDTransformer3DModel",
         {"num_attention_heads": 2, "attention_head_dim": 8, "in_channels": 4, "out_channels": 4, "time_embed_dim": 2,
          "text_embed_dim": 8, "num_layers": 1, "sample_width": 8, "sample_height": 8, "sample_frames": 8,
          "patch_size": 2, "temporal_compression_ratio": 4, "max_text_seq_length": 8, "cross_attn_interval": 1,
          "is_kps": False, "is_train_face": True, "cross_attn_dim_head": 1, "cross_attn_num_heads": 1,
          "LFE_id_dim": 2, "LFE_vit_dim": 2, "LFE_depth": 5, "LFE_dim_head": 8, "LFE_num_heads": 2,
          "LFE_num_id_token": 1, "LFE_num_querie": 1, "LFE_output_dim": 10, "LFE_ff_mult": 1, "LFE_num_scale": 1},
         lambda gen, sigma, time: _cogvideox_inputs(gen, sigma, time, id_vit_hidden=lambda g: [_r(g, 1, 2, 2)],
                                                    id_cond=lambda g: torch.ones(1, 2)),
         "ConsisIDPipeline", "`hidden_states` (B, F, C, H, W) / patch size", "3-D"),
    Case("Kandinsky5Transformer3DModel",
         {"in_visual_dim": 4, "out_visual_dim": 4, "in_text_dim": 16, "in_text_dim2": 8, "time_dim": 16,
          "patch_size": (1, 2, 2), "model_dim": 32, "ff_dim": 64, "num_text_blocks": 1, "num_visual_blocks": 2,
          "axes_dims": (4, 6, 6)},
         _kandinsky5_inputs, "Kandinsky5T2VPipeline, Kandinsky5I2VPipeline, Kandinsky5T2IPipeline, ...",
         "`hidden_states` (B, F, H, W, C) / patch size", "3-D", "raw", "Its head receives the (B, F, H, W, D) grid."),
    Case("LatteTransformer3DModel",
         {"sample_size": 8, "num_layers": 1, "patch_size": 2, "attention_head_dim": 4, "num_attention_heads": 2,
          "caption_channels": 8, "in_channels": 4, "cross_attention_dim": 8, "out_channels": 8,
          "attention_bias": True, "activation_fn": "gelu-approximate", "num_embeds_ada_norm": 1000,
          "norm_type": "ada_norm_single", "norm_elementwise_affine": False, "norm_eps": 1e-6, "video_length": 2},
         _latent_video(frames=2, int_time=True, encoder_hidden_states=_text(8, 8)), "LattePipeline", _LATENT, "2-D",
         "raw", "Its head sees each frame as a batch row: a 2-D split per frame."),
    Case("LTXVideoTransformer3DModel",
         {"in_channels": 4, "out_channels": 4, "num_attention_heads": 2, "attention_head_dim": 8,
          "cross_attention_dim": 16, "num_layers": 2, "qk_norm": "rms_norm_across_heads", "caption_channels": 16},
         _ltx_inputs, "LTXPipeline, LTXImageToVideoPipeline, LTXConditionPipeline", "`num_frames`, `height`, `width`",
         "3-D", "raw", "LTXConditionPipeline passes `video_coords` instead: it falls back to the 1-D split."),
    # --------------------------------------------------------------------------------------------------- audio
    Case("AceStepTransformer1DModel",
         {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
          "num_key_value_heads": 2, "head_dim": 8, "in_channels": 24, "audio_acoustic_hidden_dim": 8, "patch_size": 2,
          "rope_theta": 10000.0, "rms_norm_eps": 1e-6, "sliding_window": 16},
         _audio((1, 8, 8), timestep_r=lambda g: _t(0.0), encoder_hidden_states=_text(10, 32),
                context_latents=lambda g: _r(g, 1, 8, 16)),
         "AceStepPipeline", "the audio token sequence", "sequence", "sigma"),
    Case("StableAudioDiTModel",
         {"sample_size": 16, "in_channels": 8, "num_layers": 2, "attention_head_dim": 8, "num_attention_heads": 2,
          "num_key_value_attention_heads": 1, "out_channels": 8, "cross_attention_dim": 16, "time_proj_dim": 16,
          "global_states_input_dim": 16, "cross_attention_input_dim": 16},
         _stable_audio_inputs, "StableAudioPipeline", "the audio token sequence", "sequence", "sigma"),
    Case("StableAudio3DiTModel",
         {"io_channels": 8, "patch_size": 1, "embed_dim": 32, "depth": 2, "num_heads": 4, "cond_token_dim": 16,
          "global_cond_dim": 12, "local_add_cond_dim": 5, "timestep_features_dim": 16, "ff_mult": 2,
          "num_memory_tokens": 3, "use_differential_attention": False},
         _audio((1, 8, 16), encoder_hidden_states=_text(4, 16), global_hidden_states=lambda g: _r(g, 1, 12)),
         "StableAudio3Pipeline, StableAudio3AudioToAudioPipeline, StableAudio3InpaintPipeline",
         "the audio token sequence", "sequence", "sigma"),
    Case("LongCatAudioDiTTransformer",
         {"dit_dim": 64, "dit_depth": 2, "dit_heads": 4, "dit_text_dim": 32, "latent_dim": 8, "text_conv": False},
         _audio((1, 16, 8), encoder_hidden_states=_text(10, 32),
                encoder_attention_mask=torch.ones(1, 10, dtype=torch.bool),
                attention_mask=torch.ones(1, 16, dtype=torch.bool)),
         "LongCatAudioDiTPipeline", "the audio token sequence", "sequence", "sigma"),
    Case("MiniMaxMusic3Transformer1DModel",
         {"in_channels": 8, "condition_dim": 16, "num_layers": 2, "num_attention_heads": 2, "attention_head_dim": 8,
          "ff_inner_dim": 32, "rotary_dim": 4, "fourier_embedding_dim": 8},
         _audio((1, 8, 24), encoder_hidden_states=_text(24, 16)), "(modular pipelines)", "the audio token sequence",
         "sequence", "sigma"),
)
# fmt: on

CASES_BY_CLASS = {case.class_name: case for case in CASES}


def render_page() -> str:
    r"""The "Supported models" docs page, from `CASES` and the family table's refusals."""
    lines = [
        "# Supported models",
        "",
        "<!-- Generated by `python tests/supported_models.py > docs/supported_models.md` from the table in",
        "     tests/supported_models.py; tests/test_supported_models.py checks that this page matches it. -->",
        "",
        "Every transformer class of diffusers 0.42.1 with a block stack, and what FreqCa does with it. A supported "
        "class works with `pipe.transformer.enable_cache(FreqCaConfig())` (or `apply_freqca(pipe.transformer, "
        "config)` for classes without diffusers' `CacheMixin`); a refused class makes both raise a `ValueError` "
        "with the reason below.",
        "",
        '**Band split** is what `decomposition="dct"` / `"fft"` splits at the output head\'s input: each image\'s '
        "token grid in 2-D, each video's in 3-D (frames x rows x columns, with `temporal_cutoff_ratio` along the "
        "frames), or one 1-D sequence for audio. The grid comes from the model's own inputs (**grid source**).",
        "",
        "**Tested:** every supported class is run as a tiny, randomly initialised model for 6 steps by "
        "`tests/test_supported_models.py`: blocks skipped on predicted steps, output finite and close to the "
        "uncached one, `disable_cache` restores the uncached output bit for bit, the expected band split with no "
        "1-D fallback. Classes marked *pipeline* also run end to end in a tiny diffusers pipeline "
        "(`tests/test_video_pipelines.py`, `tests/test_pipelines.py`, `tests/test_controlnet.py`).",
        "",
        "**ControlNets** (`FluxControlNetPipeline`, `StableDiffusion3ControlNetPipeline`, "
        "`QwenImageControlNetPipeline` and every other pipeline with a `controlnet` component) skip their forward on "
        "the steps the transformer predicts: their residuals only feed the skipped blocks or the head's input, "
        "which the forecast replaces (`diffusers_freqca.controlnet`; `tests/test_controlnet.py` checks the forward "
        "counts and that the output is bit-identical to a cached run in which the ControlNet ran).",
        "",
        "## Supported",
        "",
        "| Model class | Pipelines | Grid source | Band split | Tested | Notes |",
        "|---|---|---|---|---|---|",
    ]
    for case in sorted(CASES, key=lambda c: c.class_name):
        tested = "tiny model" + (", pipeline" if case.class_name in PIPELINE_TESTED else "")
        lines.append(
            f"| `{case.class_name}` | {case.pipelines} | {case.grid} | {case.split} | {tested} | {case.note} |"
        )
    lines += [
        "",
        "## Refused",
        "",
        "| Model class | Reason |",
        "|---|---|",
    ]
    for name in sorted(FAMILIES):
        reason = FAMILIES[name].refused
        if reason is not None:
            lines.append(f"| `{name}` | {reason} |")
    lines.append("")
    return "\n".join(lines)


# Classes that the pipeline tests also run end to end (see the page's "Tested" paragraph).
PIPELINE_TESTED = frozenset(
    {
        "FluxTransformer2DModel",
        "Flux2Transformer2DModel",
        "QwenImageTransformer2DModel",
        "SD3Transformer2DModel",
        "WanTransformer3DModel",
        "HunyuanVideoTransformer3DModel",
        "LTXVideoTransformer3DModel",
        "CogVideoXTransformer3DModel",
    }
)


if __name__ == "__main__":
    sys.stdout.write(render_page())
