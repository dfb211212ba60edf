# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""ControlNets skip their forward on the steps FreqCa predicts: FluxControlNetPipeline, the SD3 and the Qwen-Image
ControlNet pipelines, with tiny random components.

For each pipeline: the ControlNet runs on exactly the transformer's full steps, and the output is bit-identical to a
cached run in which the ControlNet ran on every step (its residuals cannot reach the output on predicted steps: the
blocks are skipped and the head's input is the forecast, also where the model adds a residual after its last block).
"""

import numpy as np
import PIL.Image
import pytest
import torch
from diffusers import (
    AutoencoderKL,
    AutoencoderKLQwenImage,
    FlowMatchEulerDiscreteScheduler,
    FluxControlNetModel,
    FluxControlNetPipeline,
    FluxTransformer2DModel,
    QwenImageControlNetModel,
    QwenImageControlNetPipeline,
    QwenImageTransformer2DModel,
    SD3ControlNetModel,
    SD3Transformer2DModel,
    StableDiffusion3ControlNetPipeline,
)

from diffusers_freqca import FreqCaConfig, apply_freqca, get_freqca_stats, remove_freqca
from diffusers_freqca.controlnet import attach_controlnet, detach_controlnet, set_controlnet_skipping
from diffusers_freqca.schedule import full_steps


NUM_STEPS = 6
CONFIG = FreqCaConfig(cache_interval=3, disable_cache_before_step=2, first_interval=2)


def _image(size: int, seed: int) -> PIL.Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    return PIL.Image.fromarray(pixels)


def _kl_vae(latent_channels: int) -> AutoencoderKL:
    torch.manual_seed(0)
    # Two blocks: one 2x down-sampling.
    return AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(4, 8), layers_per_block=1,
        latent_channels=latent_channels, norm_num_groups=2, sample_size=32, shift_factor=0.06, scaling_factor=1.5,
    ).eval()  # fmt: skip


def _embeddings(length: int, dim: int, pooled: int | None = None, negative: bool = False) -> dict:
    generator = torch.Generator().manual_seed(7)
    kwargs = {"prompt_embeds": torch.randn(1, length, dim, generator=generator)}
    if pooled:
        kwargs["pooled_prompt_embeds"] = torch.randn(1, pooled, generator=generator)
    if negative:
        kwargs["negative_prompt_embeds"] = torch.randn(1, length, dim, generator=generator)
        if pooled:
            kwargs["negative_pooled_prompt_embeds"] = torch.randn(1, pooled, generator=generator)
    return kwargs


def _flux():
    blocks = {"patch_size": 1, "in_channels": 16, "num_layers": 2, "num_single_layers": 2, "attention_head_dim": 16,
              "num_attention_heads": 2, "joint_attention_dim": 32, "pooled_projection_dim": 32,
              "axes_dims_rope": (4, 6, 6)}  # fmt: skip
    torch.manual_seed(0)
    transformer = FluxTransformer2DModel(**blocks).eval()
    torch.manual_seed(1)
    # Single-stream layers: its last residual is added after the transformer's last block.
    controlnet = FluxControlNetModel(**{**blocks, "num_layers": 1, "num_single_layers": 1}).eval()
    pipe = FluxControlNetPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), vae=_kl_vae(4), text_encoder=None, tokenizer=None,
        text_encoder_2=None, tokenizer_2=None, transformer=transformer, controlnet=controlnet,
    )  # fmt: skip
    kwargs = {**_embeddings(6, 32, pooled=32), "control_image": _image(32, 1), "height": 32, "width": 32}
    return pipe, kwargs


def _sd3():
    blocks = {"sample_size": 16, "patch_size": 2, "in_channels": 4, "attention_head_dim": 8, "num_attention_heads": 2,
              "caption_projection_dim": 16, "joint_attention_dim": 32, "pooled_projection_dim": 16,
              "out_channels": 4, "pos_embed_max_size": 16}  # fmt: skip
    torch.manual_seed(0)
    transformer = SD3Transformer2DModel(**blocks, num_layers=3).eval()
    torch.manual_seed(1)
    controlnet = SD3ControlNetModel(**blocks, num_layers=2).eval()
    pipe = StableDiffusion3ControlNetPipeline(
        transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(), vae=_kl_vae(4), text_encoder=None,
        tokenizer=None, text_encoder_2=None, tokenizer_2=None, text_encoder_3=None, tokenizer_3=None,
        controlnet=controlnet,
    )  # fmt: skip
    # Classifier-free guidance runs both branches in one batched call.
    kwargs = {**_embeddings(6, 32, pooled=16, negative=True), "control_image": _image(32, 1), "height": 32,
              "width": 32, "guidance_scale": 2.0}  # fmt: skip
    return pipe, kwargs


def _qwen():
    blocks = {"patch_size": 2, "in_channels": 16, "out_channels": 4, "num_layers": 2, "attention_head_dim": 16,
              "num_attention_heads": 2, "joint_attention_dim": 16, "axes_dims_rope": (8, 4, 4)}  # fmt: skip
    torch.manual_seed(0)
    transformer = QwenImageTransformer2DModel(**blocks, guidance_embeds=False).eval()
    torch.manual_seed(1)
    controlnet = QwenImageControlNetModel(**blocks).eval()
    torch.manual_seed(2)
    vae = AutoencoderKLQwenImage(
        base_dim=8, z_dim=4, dim_mult=[1, 2, 4], num_res_blocks=1, temperal_downsample=[False, True],
        latents_mean=[0.0] * 4, latents_std=[1.0] * 4,
    ).eval()  # fmt: skip
    pipe = QwenImageControlNetPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=None, tokenizer=None,
        transformer=transformer, controlnet=controlnet,
    )  # fmt: skip
    embeddings = _embeddings(7, 16, negative=True)
    embeddings["prompt_embeds_mask"] = torch.ones(1, 7, dtype=torch.long)
    embeddings["negative_prompt_embeds_mask"] = torch.ones(1, 7, dtype=torch.long)
    # True CFG: a "cond" and an "uncond" call per step, both fed by the one ControlNet call.
    kwargs = {**embeddings, "control_image": _image(64, 1), "height": 64, "width": 64, "true_cfg_scale": 2.0}
    return pipe, kwargs


PIPELINES = {"flux": _flux, "sd3": _sd3, "qwenimage": _qwen}


class _Forwards:
    # Counts calls in which the ControlNet really computed (its first block ran), not calls of its wrapper.
    def __init__(self, controlnet):
        self.count = 0
        self.handle = controlnet.transformer_blocks[0].register_forward_pre_hook(self._add)

    def _add(self, *_):
        self.count += 1


def _run(pipe, kwargs):
    pipe.set_progress_bar_config(disable=True)
    forwards = _Forwards(pipe.controlnet)
    try:
        with torch.no_grad():
            output = pipe(
                **kwargs, num_inference_steps=NUM_STEPS, output_type="latent",
                generator=torch.Generator().manual_seed(0),
            )  # fmt: skip
    finally:
        forwards.handle.remove()
    return output.images, forwards.count


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_controlnet_skips_the_predicted_steps(name):
    pipe, kwargs = PIPELINES[name]()
    reference, uncached_forwards = _run(pipe, kwargs)
    assert uncached_forwards == NUM_STEPS

    apply_freqca(pipe.transformer, CONFIG)
    skipped, skipped_forwards = _run(pipe, kwargs)
    expected_full = full_steps(NUM_STEPS, CONFIG)
    assert get_freqca_stats(pipe.transformer).contexts, "FreqCa saw no transformer call"
    for stats in get_freqca_stats(pipe.transformer).contexts.values():
        assert stats.full_steps == expected_full
    assert skipped_forwards == len(expected_full)  # the ControlNet ran on the transformer's full steps only
    assert pipe.controlnet._freqca_controlnet_skipper.skipped_calls == NUM_STEPS - len(expected_full)

    set_controlnet_skipping(pipe, False)
    ran, ran_forwards = _run(pipe, kwargs)
    assert ran_forwards == NUM_STEPS
    torch.testing.assert_close(skipped, ran, rtol=0, atol=0)  # the skipped residuals could not reach the output
    assert not torch.equal(skipped, reference)

    # Without FreqCa the ControlNet runs every step again, and the output is the uncached one.
    set_controlnet_skipping(pipe, True)
    remove_freqca(pipe.transformer)
    again, again_forwards = _run(pipe, kwargs)
    assert again_forwards == NUM_STEPS
    torch.testing.assert_close(again, reference, rtol=0, atol=0)


def test_attach_and_detach_restore_the_controlnet_forward():
    pipe, _ = _flux()
    controlnet = pipe.controlnet
    skipper = attach_controlnet(controlnet, pipe.transformer)
    assert attach_controlnet(controlnet, pipe.transformer) is skipper  # idempotent
    assert "forward" in vars(controlnet)
    detach_controlnet(controlnet)
    assert "forward" not in vars(controlnet) and not hasattr(controlnet, "_freqca_controlnet_skipper")
    with pytest.raises(ValueError, match="enabled"):
        set_controlnet_skipping(pipe, "no")


def test_a_transformer_call_that_computes_after_a_skipped_controlnet_raises():
    # A custom loop that feeds the transformer other latents than the ControlNet saw: the ControlNet is skipped at a
    # step the transformer then has to compute (its input changed, so it restarts): that must not pass silently.
    pipe, _ = _flux()
    transformer, controlnet = pipe.transformer, pipe.controlnet
    apply_freqca(transformer, CONFIG)
    attach_controlnet(controlnet, transformer)
    generator = torch.Generator().manual_seed(0)
    ids = FluxControlNetPipeline._prepare_latent_image_ids(1, 4, 4, "cpu", torch.float32)
    common = {
        "encoder_hidden_states": torch.randn(1, 6, 32, generator=generator),
        "pooled_projections": torch.randn(1, 32, generator=generator),
        "txt_ids": torch.zeros(6, 3),
        "return_dict": False,
    }
    control = torch.randn(1, 16, 16, generator=generator)
    with torch.no_grad():
        for sigma in torch.linspace(1.0, 0.5, NUM_STEPS).tolist():
            latents = torch.randn(1, 16, 16, generator=generator)
            timestep = torch.tensor([sigma])
            block_samples, single_samples = controlnet(
                hidden_states=latents, controlnet_cond=control, timestep=timestep, img_ids=ids, **common
            )
            if block_samples is not None:
                transformer(hidden_states=latents, timestep=timestep, img_ids=ids, controlnet_block_samples=block_samples,
                            controlnet_single_block_samples=single_samples, **common)  # fmt: skip
                continue
            # Step 2 is predicted: the ControlNet skipped it. Now the transformer gets a larger image and restarts.
            bigger = torch.randn(1, 36, 16, generator=generator)
            bigger_ids = FluxControlNetPipeline._prepare_latent_image_ids(1, 6, 6, "cpu", torch.float32)
            with pytest.raises(RuntimeError, match="skipped the ControlNet"):
                transformer(hidden_states=bigger, timestep=timestep, img_ids=bigger_ids, **common)
            break
        else:
            pytest.fail("the ControlNet was never skipped")


def test_skipped_outputs_keep_the_structure_the_pipelines_unpack():
    from diffusers.models.controlnets.controlnet_flux import FluxControlNetOutput

    from diffusers_freqca.controlnet import _skipped_output

    residual = torch.zeros(1)
    assert _skipped_output(([residual, residual], [residual])) == (None, None)  # FLUX: double and single lists
    assert _skipped_output(([residual, residual], None)) == (None, None)  # a ControlNet without single layers
    assert _skipped_output(((residual, residual),)) == (None,)  # SD3: `controlnet(...)[0]`
    assert _skipped_output((residual, residual)) is None  # Qwen-Image: one tuple of residuals
    assert _skipped_output({3: residual}) is None  # Z-Image: residuals by layer index
    skipped = _skipped_output(FluxControlNetOutput([residual], [residual]))
    assert isinstance(skipped, FluxControlNetOutput) and skipped.controlnet_block_samples is None
    with pytest.raises(TypeError, match="does not know how to skip"):
        _skipped_output("residuals")
