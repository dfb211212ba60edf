# Copyright 2026 The diffusers-freqca authors. Licensed under the Apache License, Version 2.0.
"""Train the zoo: the two shared VAEs, then each transformer, with logs and resumable checkpoints.

    python -m tools.zoo.train vae --architecture flux          # shared AutoencoderKL
    python -m tools.zoo.train vae --architecture qwen          # shared AutoencoderKLQwenImage
    python -m tools.zoo.train model flux-scenes-16             # one transformer (needs its VAE)
    python -m tools.zoo.train all                              # everything missing, in order

Everything is seeded and runs a fixed number of iterations, so a busy machine trains the same weights, only later.
Checkpoints (every 250 iterations, `checkpoint.pt`) let an interrupted run resume where it stopped. The loss is
logged every 50 iterations to `train_log.jsonl`; `train_summary.json` holds the final numbers, including the mean
loss over the first and last tenths of training, so "has the loss flattened" is answered by numbers.
"""

import argparse
import copy
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import (
    AutoencoderKL,
    AutoencoderKLQwenImage,
    FlowMatchEulerDiscreteScheduler,
    FluxPipeline,
    FluxTransformer2DModel,
    QwenImagePipeline,
    QwenImageTransformer2DModel,
)
from safetensors.torch import save_file

from . import data
from .specs import EMBED_DIM, EMBED_SEQ_LEN, POOLED_DIM, VAE_ITERATIONS, ZOO, ZooSpec, get_spec


DEFAULT_ROOT = Path(os.environ.get("FREQCA_ZOO_DIR", Path(__file__).resolve().parents[2] / "zoo"))
CHECKPOINT_EVERY = 250
LOG_EVERY = 50

FLUX_VAE = {
    "in_channels": 3, "out_channels": 3, "down_block_types": ("DownEncoderBlock2D",) * 2,
    "up_block_types": ("UpDecoderBlock2D",) * 2, "block_out_channels": (32, 64), "layers_per_block": 1,
    "latent_channels": 4, "norm_num_groups": 16, "mid_block_add_attention": False,
}  # fmt: skip
QWEN_VAE = {
    "base_dim": 32, "z_dim": 4, "dim_mult": [1, 2], "num_res_blocks": 1, "temperal_downsample": [False],
}  # fmt: skip


def class_embeddings(spec: ZooSpec) -> dict[str, torch.Tensor]:
    r"""
    The fixed, seeded "prompt embeddings" of a model's classes, plus the null embedding (all zeros) that true CFG
    uses as the negative prompt.

    Returns:
        `dict[str, torch.Tensor]`: `prompt_embeds` `(classes, 8, 64)`, `pooled_prompt_embeds` `(classes, 32)`,
        `null_prompt_embeds` `(1, 8, 64)` and `null_pooled_prompt_embeds` `(1, 32)`.
    """
    generator = torch.Generator().manual_seed(1000 + spec.seed)
    count = len(data.class_names(spec.family))
    return {
        "prompt_embeds": torch.randn(count, EMBED_SEQ_LEN, EMBED_DIM, generator=generator),
        "pooled_prompt_embeds": torch.randn(count, POOLED_DIM, generator=generator),
        "null_prompt_embeds": torch.zeros(1, EMBED_SEQ_LEN, EMBED_DIM),
        "null_pooled_prompt_embeds": torch.zeros(1, POOLED_DIM),
    }


def _log(path: Path, record: dict) -> None:
    print(json.dumps(record), flush=True)
    with path.open("a") as handle:
        handle.write(json.dumps(record) + "\n")


def _lr(iteration: int, total: int, peak: float) -> float:
    warmup = min(100, total // 10)
    if iteration < warmup:
        return peak * (iteration + 1) / warmup
    progress = (iteration - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def _summary(log_path: Path, seconds: float, iterations: int) -> dict:
    losses = [json.loads(line)["loss"] for line in log_path.read_text().splitlines() if '"loss"' in line]
    tenth = max(1, len(losses) // 10)
    return {
        "iterations": iterations,
        "seconds": round(seconds, 1),
        "loss_first_tenth": float(np.mean(losses[:tenth])),
        "loss_last_tenth": float(np.mean(losses[-tenth:])),
        # The relative change over the last fifth of training: near 0 when the loss has flattened.
        "loss_change_last_fifth": float(
            (np.mean(losses[-tenth:]) - np.mean(losses[-2 * tenth : -tenth])) / np.mean(losses[-2 * tenth : -tenth])
        )
        if len(losses) >= 2 * tenth
        else None,
    }


# ---------------------------------------------------------------------------------------------------------------- VAE


def _encode(vae, images: torch.Tensor, architecture: str):
    if architecture == "flux":
        return vae.encode(images).latent_dist
    return vae.encode(images[:, :, None]).latent_dist


def _decode(vae, latents: torch.Tensor, architecture: str) -> torch.Tensor:
    if architecture == "flux":
        return vae.decode(latents).sample
    return vae.decode(latents).sample[:, :, 0]


def _vae_batch(rng: np.random.Generator, size: int = 16, crop: int = 48) -> np.ndarray:
    # Images rendered at the zoo's sizes (textures scale with the image), then cropped: the VAE is convolutional, so it
    # learns every scale the transformers will see at a fraction of the cost of whole images.
    side = int(rng.choice([64, 96, 128]))
    images = data.batch("mixed", size, rng, side, side)[0]
    top, left = rng.integers(0, side - crop + 1, 2)
    return np.ascontiguousarray(images[:, :, top : top + crop, left : left + crop])


def train_vae(architecture: str, root: Path = DEFAULT_ROOT, iterations: int = VAE_ITERATIONS, seed: int = 0) -> dict:
    r"""
    Trains the shared VAE of one architecture (reconstruction loss plus a tiny KL term) on both data families
    (48x48 crops of 64 to 128 pixel images), measures the latent statistics, and stores them in the VAE's config the way its pipeline reads them.

    Args:
        architecture (`str`): `"flux"` (`AutoencoderKL`) or `"qwen"` (`AutoencoderKLQwenImage`).
        root (`Path`): the zoo folder; the VAE goes to `root / f"vae-{architecture}"`.
        iterations (`int`): optimisation steps of batch 16.
        seed (`int`): seed of data and initialisation.

    Returns:
        `dict`: the summary (iterations, seconds, losses, reconstruction PSNR on fresh data).
    """
    out = root / f"vae-{architecture}"
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    vae = AutoencoderKL(**FLUX_VAE) if architecture == "flux" else AutoencoderKLQwenImage(**QWEN_VAE)
    optimizer = torch.optim.AdamW(vae.parameters(), lr=2e-3)
    log_path = out / "train_log.jsonl"
    log_path.write_text("")
    start, smoothed = time.time(), None
    for iteration in range(iterations):
        for group in optimizer.param_groups:
            group["lr"] = _lr(iteration, iterations, 2e-3)
        images = torch.from_numpy(_vae_batch(rng))
        posterior = _encode(vae, images, architecture)
        loss = F.mse_loss(_decode(vae, posterior.sample(), architecture), images) + 1e-6 * posterior.kl().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        smoothed = loss.item() if smoothed is None else 0.95 * smoothed + 0.05 * loss.item()
        if (iteration + 1) % LOG_EVERY == 0:
            _log(log_path, {"iteration": iteration + 1, "loss": smoothed, "seconds": round(time.time() - start, 1)})
    vae.eval()
    with torch.no_grad():
        images = torch.from_numpy(data.batch("mixed", 64, rng, 64, 64)[0])
        latents = _encode(vae, images, architecture).mode()
        mse = F.mse_loss(_decode(vae, latents, architecture).clamp(-1, 1), images).item()
        if architecture == "flux":
            shift, scale = latents.mean().item(), latents.std().item()
            vae.register_to_config(scaling_factor=1.0 / scale, shift_factor=shift)
        else:
            dims = [0, 2, 3, 4]
            vae.register_to_config(
                latents_mean=latents.mean(dim=dims).tolist(), latents_std=latents.std(dim=dims).tolist()
            )
    summary = _summary(log_path, time.time() - start, iterations)
    summary["reconstruction_psnr"] = 10 * math.log10(4.0 / mse)  # images span [-1, 1]: a range of 2
    vae.to(torch.float16).save_pretrained(out)
    (out / "train_summary.json").write_text(json.dumps(summary, indent=2))
    return summary


# -------------------------------------------------------------------------------------------------------- transformer


def sample_sigmas(spec: ZooSpec, count: int, image_seq_len: int) -> torch.Tensor:
    r"""
    Training noise levels, shifted as the model's scheduler shifts its sampling sigmas: logit-normal times (80%)
    mixed with uniform ones (20%, so that both ends of the trajectory are trained), then the scheduler's shift.
    """
    u = torch.where(torch.rand(count) < 0.8, torch.sigmoid(torch.randn(count)), torch.rand(count))
    u = u.clamp(1e-3, 1.0)
    settings = spec.scheduler
    if settings.get("use_dynamic_shifting"):
        slope = (settings["max_shift"] - settings["base_shift"]) / (
            settings["max_image_seq_len"] - settings["base_image_seq_len"]
        )
        mu = settings["base_shift"] + slope * (image_seq_len - settings["base_image_seq_len"])
        return math.exp(mu) / (math.exp(mu) + (1 / u - 1))
    shift = settings.get("shift", 1.0)
    return shift * u / (1 + (shift - 1) * u)


class _Model:
    # What differs between the architectures when training: packing, position inputs, the call.
    def __init__(self, spec: ZooSpec, vae):
        self.spec, self.vae = spec, vae
        self.rows, self.cols = spec.grid
        if spec.architecture == "flux":
            self.transformer = FluxTransformer2DModel(**spec.transformer)
            self.img_ids = FluxPipeline._prepare_latent_image_ids(1, self.rows, self.cols, "cpu", torch.float32)
            self.txt_ids = torch.zeros(EMBED_SEQ_LEN, 3)
        else:
            self.transformer = QwenImageTransformer2DModel(**spec.transformer)
            mean = torch.tensor(vae.config.latents_mean).view(1, -1, 1, 1, 1)
            std = torch.tensor(vae.config.latents_std).view(1, -1, 1, 1, 1)
            self.latents_mean, self.latents_std = mean, std

    @torch.no_grad()
    def latents(self, images: torch.Tensor) -> torch.Tensor:
        batch = images.shape[0]
        if self.spec.architecture == "flux":
            z = self.vae.encode(images).latent_dist.sample()
            z = (z - self.vae.config.shift_factor) * self.vae.config.scaling_factor
            return FluxPipeline._pack_latents(z, batch, z.shape[1], z.shape[2], z.shape[3])
        z = self.vae.encode(images[:, :, None]).latent_dist.sample()
        z = ((z - self.latents_mean) / self.latents_std)[:, :, 0]
        return QwenImagePipeline._pack_latents(z, batch, z.shape[1], z.shape[2], z.shape[3])

    def __call__(self, noisy, sigma, prompt_embeds, pooled):
        if self.spec.architecture == "flux":
            return self.transformer(
                hidden_states=noisy,
                encoder_hidden_states=prompt_embeds,
                pooled_projections=pooled,
                timestep=sigma,
                img_ids=self.img_ids,
                txt_ids=self.txt_ids,
                return_dict=False,
            )[0]
        batch = noisy.shape[0]
        return self.transformer(
            hidden_states=noisy,
            encoder_hidden_states=prompt_embeds,
            encoder_hidden_states_mask=torch.ones(batch, prompt_embeds.shape[1], dtype=torch.long),
            timestep=sigma,
            img_shapes=[[(1, self.rows, self.cols)]] * batch,
            return_dict=False,
        )[0]


def load_vae(architecture: str, root: Path = DEFAULT_ROOT, dtype: torch.dtype = torch.float32):
    r"""The shared VAE of an architecture, from `root / f"vae-{architecture}"`."""
    path = root / f"vae-{architecture}"
    cls = AutoencoderKL if architecture == "flux" else AutoencoderKLQwenImage
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"No VAE at {path}; run `python -m tools.zoo.train vae --architecture {architecture}`."
        )
    return cls.from_pretrained(path, torch_dtype=dtype).eval()


def train_model(spec: ZooSpec, root: Path = DEFAULT_ROOT, iterations: int | None = None) -> dict:
    r"""
    Trains one zoo transformer: rectified-flow velocity loss, AdamW with warm-up and cosine decay, gradient
    clipping, and an exponential moving average of the weights (what is saved). Resumes from `checkpoint.pt` when
    one exists.

    Args:
        spec (`ZooSpec`): the model.
        root (`Path`): the zoo folder; the model goes to `root / spec.name`.
        iterations (`int`, *optional*): overrides `spec.iterations` (for quick checks).

    Returns:
        `dict`: the summary written to `train_summary.json`.
    """
    total = spec.iterations if iterations is None else iterations
    out = root / spec.name
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(spec.seed)
    rng = np.random.default_rng(spec.seed)
    vae = load_vae(spec.architecture, root)
    model = _Model(spec, vae)
    transformer = model.transformer
    ema = copy.deepcopy(transformer).requires_grad_(False)
    optimizer = torch.optim.AdamW(transformer.parameters(), lr=spec.learning_rate, weight_decay=0.0)
    embeds = class_embeddings(spec)
    log_path = out / "train_log.jsonl"
    start_iteration, elapsed = 0, 0.0
    checkpoint_path = out / "checkpoint.pt"
    if checkpoint_path.is_file():
        state = torch.load(checkpoint_path, weights_only=False)
        transformer.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"])
        start_iteration, elapsed = state["iteration"], state["seconds"]
        print(f"resuming {spec.name} at iteration {start_iteration}", flush=True)
    else:
        log_path.write_text("")
    seq_len = model.rows * model.cols
    start, smoothed = time.time() - elapsed, None
    for iteration in range(start_iteration, total):
        for group in optimizer.param_groups:
            group["lr"] = _lr(iteration, total, spec.learning_rate)
        images, classes = data.batch(spec.family, spec.batch_size, rng, spec.height, spec.width)
        z = model.latents(torch.from_numpy(images))
        prompt_embeds = embeds["prompt_embeds"][classes]
        pooled = embeds["pooled_prompt_embeds"][classes]
        if spec.true_cfg_scale is not None:
            drop = torch.rand(len(classes)) < 0.1
            prompt_embeds = torch.where(drop[:, None, None], embeds["null_prompt_embeds"], prompt_embeds)
            pooled = torch.where(drop[:, None], embeds["null_pooled_prompt_embeds"], pooled)
        sigma = sample_sigmas(spec, len(classes), seq_len)
        noise = torch.randn_like(z)
        noisy = (1 - sigma[:, None, None]) * z + sigma[:, None, None] * noise
        loss = F.mse_loss(model(noisy, sigma, prompt_embeds, pooled), noise - z)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(transformer.parameters(), 1.0)
        optimizer.step()
        with torch.no_grad():
            decay = min(0.999, (1 + iteration) / (10 + iteration))
            torch._foreach_lerp_(list(ema.parameters()), list(transformer.parameters()), 1 - decay)
        smoothed = loss.item() if smoothed is None else 0.95 * smoothed + 0.05 * loss.item()
        if (iteration + 1) % LOG_EVERY == 0:
            _log(
                log_path,
                {
                    "iteration": iteration + 1,
                    "loss": smoothed,
                    "lr": optimizer.param_groups[0]["lr"],
                    "seconds": round(time.time() - start, 1),
                },
            )
        if (iteration + 1) % CHECKPOINT_EVERY == 0 and iteration + 1 < total:
            torch.save(
                {
                    "model": transformer.state_dict(),
                    "ema": ema.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "numpy_rng": rng.bit_generator.state,
                    "torch_rng": torch.get_rng_state(),
                    "iteration": iteration + 1,
                    "seconds": time.time() - start,
                },
                checkpoint_path,
            )
    summary = _summary(log_path, time.time() - start, total)
    summary["threads"] = torch.get_num_threads()
    # fp16 storage halves the files; loading upcasts to the requested dtype.
    ema.to(torch.float16).save_pretrained(out / "transformer")
    FlowMatchEulerDiscreteScheduler(**spec.scheduler).save_pretrained(out / "scheduler")
    save_file(embeds, str(out / "embeddings.safetensors"))
    (out / "train_summary.json").write_text(json.dumps(summary, indent=2))
    checkpoint_path.unlink(missing_ok=True)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.zoo.train", description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=str(DEFAULT_ROOT), help="zoo folder (default: ./zoo or $FREQCA_ZOO_DIR)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    commands = parser.add_subparsers(dest="command", required=True)
    vae_parser = commands.add_parser("vae", help="train a shared VAE")
    vae_parser.add_argument("--architecture", choices=("flux", "qwen"), required=True)
    vae_parser.add_argument("--iterations", type=int, default=VAE_ITERATIONS)
    model_parser = commands.add_parser("model", help="train one transformer")
    model_parser.add_argument("name", choices=sorted(ZOO))
    model_parser.add_argument("--iterations", type=int, default=None, help="override the spec (quick checks only)")
    commands.add_parser("all", help="train every VAE and transformer that is missing")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    root = Path(args.root)
    if args.command == "vae":
        print(json.dumps(train_vae(args.architecture, root, args.iterations), indent=2))
    elif args.command == "model":
        print(json.dumps(train_model(get_spec(args.name), root, args.iterations), indent=2))
    else:
        # Tune half first, so that design work can start on it while the held-out half trains.
        for spec in sorted(ZOO.values(), key=lambda spec: spec.half != "tune"):
            if not (root / f"vae-{spec.architecture}" / "config.json").is_file():
                train_vae(spec.architecture, root)
            if not (root / spec.name / "train_summary.json").is_file():
                train_model(spec, root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
