# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The project's trained tiny FLUX checkpoint: its data (`tools.train_tiny_flux`), that it loads in a real FluxPipeline
(`diffusers_freqca.tiny_flux`), and that it learned."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import FluxPipeline, FluxTransformer2DModel
from parameterized import parameterized

from diffusers_freqca import tiny_flux
from tools import train_tiny_flux


def test_the_trained_checkpoint_ships_with_the_package():
    # The demo, the examples and the benchmarks depend on it: never skip its tests silently.
    assert (tiny_flux.DEFAULT_CHECKPOINT / "transformer" / "config.json").is_file()
    assert (tiny_flux.DEFAULT_CHECKPOINT / "README.md").is_file()


def test_training_never_writes_into_the_package_by_default():
    default = train_tiny_flux.build_parser().parse_args(["train"]).output_dir
    assert default == str(train_tiny_flux.DEFAULT_OUTPUT_DIR) and not Path(default).is_absolute()
    assert "diffusers_freqca" not in Path(default).parts


def test_train_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_tiny_flux.main(["train", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: python -m tools.train_tiny_flux train" in out and "--output-dir" in out


def test_train_writes_a_loadable_checkpoint(tmp_path):
    # Untrained (zero iterations): the folder layout and the loader, not the learning.
    log = train_tiny_flux.train(tmp_path, vae_iterations=0, transformer_iterations=0)
    assert log["transformer"]["iterations"] == 0
    pipe = tiny_flux.load_tiny_flux_pipeline(tmp_path)
    inputs = tiny_flux.pipeline_inputs(pipe, ["concentric yellow rings", 1], repeats=2)
    assert inputs["prompt_embeds"].shape == (4, 8, 64) and inputs["pooled_prompt_embeds"].shape == (4, 32)
    # The stored scheduler is FLUX.1-dev's, as the benchmarks describe it.
    from benchmarks.models import FLUX_SCHEDULER_CONFIG

    for key, value in FLUX_SCHEDULER_CONFIG.items():
        assert pipe.scheduler.config[key] == value


@parameterized.expand([(c,) for c in range(len(tiny_flux.CLASS_NAMES))])
def test_data_is_deterministic_and_has_fine_detail(class_index):
    a = train_tiny_flux.make_image(class_index, np.random.default_rng(3))
    b = train_tiny_flux.make_image(class_index, np.random.default_rng(3))
    assert a.dtype == np.float32 and a.shape == (3, 64, 64) and np.array_equal(a, b)
    assert 0.0 <= a.min() and a.max() <= 1.0
    # Energy above a quarter of the Nyquist frequency: the texture the high band has to carry.
    spectrum = np.abs(np.fft.fft2(a - a.mean(axis=(1, 2), keepdims=True))) ** 2
    f = np.abs(np.fft.fftfreq(64))
    high = (f[:, None] > 0.125) | (f[None, :] > 0.125)
    assert spectrum[:, high].sum() / spectrum.sum() > 0.05


def test_unknown_class_raises():
    with pytest.raises(ValueError, match="class_index"):
        train_tiny_flux.make_image(8, np.random.default_rng(0))
    with pytest.raises(ValueError, match="Unknown class"):
        tiny_flux.get_prompt_embeds(None, "a cat")


def test_missing_checkpoint_says_how_to_train(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m tools.train_tiny_flux train"):
        tiny_flux.load_tiny_flux_pipeline(tmp_path)


def test_pipeline_runs_and_checkpoint_is_small():
    pipe = tiny_flux.load_tiny_flux_pipeline()
    pipe.set_progress_bar_config(disable=True)
    assert isinstance(pipe, FluxPipeline)
    prompt_embeds, pooled = tiny_flux.get_prompt_embeds(pipe, "concentric yellow rings", batch_size=2)
    images = pipe(prompt_embeds=prompt_embeds, pooled_prompt_embeds=pooled, height=64, width=64,
                  num_inference_steps=10, generator=torch.Generator().manual_seed(0), output_type="np").images  # fmt: skip
    assert images.shape == (2, 64, 64, 3) and np.isfinite(images).all()
    size = sum(f.stat().st_size for f in tiny_flux.DEFAULT_CHECKPOINT.rglob("*") if f.is_file())
    assert size < 10 * 2**20


@torch.no_grad()
def test_trained_transformer_beats_random_initialisation():
    pipe = tiny_flux.load_tiny_flux_pipeline()
    vae, trained = pipe.vae, pipe.transformer
    torch.manual_seed(0)
    untrained = FluxTransformer2DModel.from_config(trained.config).eval()
    images, classes = train_tiny_flux.make_batch(16, np.random.default_rng(123))
    z = (vae.encode(images).latent_dist.mode() - vae.config.shift_factor) * vae.config.scaling_factor
    z = FluxPipeline._pack_latents(z, *z.shape)
    prompt_embeds, pooled = train_tiny_flux.class_embeddings()
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


@torch.no_grad()
def test_vae_reconstructs_the_data():
    vae = tiny_flux.load_tiny_flux_pipeline().vae
    images, _ = train_tiny_flux.make_batch(16, np.random.default_rng(7))
    reconstruction = vae.decode(vae.encode(images).latent_dist.mode()).sample.clamp(-1, 1)
    mse = torch.nn.functional.mse_loss((reconstruction + 1) / 2, (images + 1) / 2).item()
    # 18 dB on [0, 1] images: shapes and colours are reproduced; the finest texture is softened.
    assert 10 * math.log10(1 / mse) > 18


def _palette(pixels: np.ndarray, bins: int = 4) -> np.ndarray:
    # Joint colour histogram (4 bins per channel) of (n, 3) pixels in [0, 1].
    q = np.clip((pixels * bins).astype(int), 0, bins - 1)
    histogram = np.bincount(q[:, 0] * bins * bins + q[:, 1] * bins + q[:, 2], minlength=bins**3).astype(float)
    return histogram / histogram.sum()


@torch.no_grad()
def test_samples_look_like_their_class():
    # Each class has its own palette. A sample is assigned the class of its nearest data image (histogram
    # intersection of palettes over 16 images per class). A model that ignored the prompt or drew noise gets about
    # one class in eight right; ours must get at least six (the packaged model: 6 of 8 at 50 steps, the thin cross
    # and the two small disks are the weakest) and match its own class better than the others on average.
    pipe = tiny_flux.load_tiny_flux_pipeline()
    pipe.set_progress_bar_config(disable=True)
    count = len(tiny_flux.CLASS_NAMES)
    grid = train_tiny_flux.sample_grid(pipe, num_inference_steps=50, seed=0).astype(np.float32) / 255.0
    samples = grid.reshape(64, count, 64, 3).transpose(1, 0, 2, 3).reshape(count, -1, 3)
    rng = np.random.default_rng(5)
    bank = [[_palette(train_tiny_flux.make_image(c, rng).reshape(3, -1).T) for _ in range(16)] for c in range(count)]
    scores = np.array(
        [[max(np.minimum(_palette(x), h).sum() for h in bank[c]) for c in range(count)] for x in samples]
    )
    assert (scores.argmax(axis=1) == np.arange(count)).sum() >= 6
    own = np.diag(scores).mean()
    others = (scores.sum() - np.trace(scores)) / (count * (count - 1))
    assert own > 2 * others
