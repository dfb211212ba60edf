# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The project's trained tiny FLUX checkpoint: its data, that it loads in a real FluxPipeline, and that it learned."""

import math

import numpy as np
import pytest
import torch
from diffusers import FluxPipeline, FluxTransformer2DModel
from parameterized import parameterized

from diffusers_freqca import tiny_model


HAS_CHECKPOINT = (tiny_model.DEFAULT_CHECKPOINT / "transformer" / "config.json").is_file()
needs_checkpoint = pytest.mark.skipif(not HAS_CHECKPOINT, reason="the packaged tiny checkpoint is not trained yet")


@parameterized.expand([(c,) for c in range(len(tiny_model.CLASS_NAMES))])
def test_data_is_deterministic_and_has_fine_detail(class_index):
    a = tiny_model.make_image(class_index, np.random.default_rng(3))
    b = tiny_model.make_image(class_index, np.random.default_rng(3))
    assert a.dtype == np.float32 and a.shape == (3, 64, 64) and np.array_equal(a, b)
    assert 0.0 <= a.min() and a.max() <= 1.0
    # Energy above a quarter of the Nyquist frequency: the texture the high band has to carry.
    spectrum = np.abs(np.fft.fft2(a - a.mean(axis=(1, 2), keepdims=True))) ** 2
    f = np.abs(np.fft.fftfreq(64))
    high = (f[:, None] > 0.125) | (f[None, :] > 0.125)
    assert spectrum[:, high].sum() / spectrum.sum() > 0.05


def test_unknown_class_raises():
    with pytest.raises(ValueError, match="class_index"):
        tiny_model.make_image(8, np.random.default_rng(0))
    with pytest.raises(ValueError, match="Unknown class"):
        tiny_model.get_prompt_embeds(None, "a cat")


def test_missing_checkpoint_says_how_to_train(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-tiny"):
        tiny_model.load_tiny_flux_pipeline(tmp_path)


@needs_checkpoint
def test_pipeline_runs_and_checkpoint_is_small():
    pipe = tiny_model.load_tiny_flux_pipeline()
    pipe.set_progress_bar_config(disable=True)
    assert isinstance(pipe, FluxPipeline)
    prompt_embeds, pooled = tiny_model.get_prompt_embeds(pipe, "concentric yellow rings", batch_size=2)
    images = pipe(prompt_embeds=prompt_embeds, pooled_prompt_embeds=pooled, height=64, width=64,
                  num_inference_steps=10, generator=torch.Generator().manual_seed(0), output_type="np").images  # fmt: skip
    assert images.shape == (2, 64, 64, 3) and np.isfinite(images).all()
    size = sum(f.stat().st_size for f in tiny_model.DEFAULT_CHECKPOINT.rglob("*") if f.is_file())
    assert size < 10 * 2**20


@needs_checkpoint
@torch.no_grad()
def test_trained_transformer_beats_random_initialisation():
    pipe = tiny_model.load_tiny_flux_pipeline()
    vae, trained = pipe.vae, pipe.transformer
    torch.manual_seed(0)
    untrained = FluxTransformer2DModel.from_config(trained.config).eval()
    images, classes = tiny_model.make_batch(16, np.random.default_rng(123))
    z = (vae.encode(images).latent_dist.mode() - vae.config.shift_factor) * vae.config.scaling_factor
    z = FluxPipeline._pack_latents(z, *z.shape)
    prompt_embeds, pooled = tiny_model.class_embeddings()
    noise = torch.randn(z.shape, generator=torch.Generator().manual_seed(1))
    sigma = 0.5
    kwargs = {
        "hidden_states": (1 - sigma) * z + sigma * noise,
        "encoder_hidden_states": prompt_embeds[classes],
        "pooled_projections": pooled[classes],
        "timestep": torch.full((16,), sigma),
        "img_ids": FluxPipeline._prepare_latent_image_ids(1, 16, 16, "cpu", torch.float32),
        "txt_ids": torch.zeros(8, 3),
        "return_dict": False,
    }
    target = noise - z
    trained_error = torch.nn.functional.mse_loss(trained(**kwargs)[0], target).item()
    untrained_error = torch.nn.functional.mse_loss(untrained(**kwargs)[0], target).item()
    # Predicting zero velocity costs E|noise - z|^2 ~= 2; training must do far better.
    assert trained_error < 0.5 * untrained_error and trained_error < 1.0


@needs_checkpoint
@torch.no_grad()
def test_vae_reconstructs_the_data():
    vae = tiny_model.load_tiny_flux_pipeline().vae
    images, _ = tiny_model.make_batch(16, np.random.default_rng(7))
    reconstruction = vae.decode(vae.encode(images).latent_dist.mode()).sample.clamp(-1, 1)
    mse = torch.nn.functional.mse_loss((reconstruction + 1) / 2, (images + 1) / 2).item()
    # 20 dB on [0, 1] images: shapes and colours are reproduced; the finest texture is softened.
    assert 10 * math.log10(1 / mse) > 20
