# Copyright 2026 The diffusers-freqca authors. Licensed under the Apache License, Version 2.0.
"""Real diffusers pipelines on the zoo's checkpoints, and the call arguments of one benchmark image."""

from pathlib import Path
from typing import Any

import numpy as np
import PIL.Image
import torch
from diffusers import (
    FlowMatchEulerDiscreteScheduler,
    FluxImg2ImgPipeline,
    FluxPipeline,
    FluxTransformer2DModel,
    QwenImageImg2ImgPipeline,
    QwenImagePipeline,
    QwenImageTransformer2DModel,
)
from safetensors.torch import load_file

from . import data
from .specs import ZooSpec, get_spec
from .train import DEFAULT_ROOT, load_vae


def is_trained(name: str, root: Path = DEFAULT_ROOT) -> bool:
    r"""Whether the zoo model `name` has a finished checkpoint under `root`."""
    return (Path(root) / name / "train_summary.json").is_file()


def load_pipeline(name: str, img2img: bool = False, root: Path = DEFAULT_ROOT, dtype: torch.dtype = torch.float32):
    r"""
    A diffusers pipeline (`FluxPipeline` / `QwenImagePipeline`, or their img2img variants) on a zoo checkpoint,
    without text encoders: call it with [`call_kwargs`].

    Args:
        name (`str`): the zoo model.
        img2img (`bool`, defaults to `False`): build the image-to-image pipeline instead.
        root (`Path`): the zoo folder.
        dtype (`torch.dtype`, defaults to `torch.float32`): weights' dtype.

    Returns:
        `DiffusionPipeline`: the pipeline, with its progress bar disabled and `zoo_spec` set to the model's row.
    """
    spec = get_spec(name)
    path = Path(root) / name
    if not is_trained(name, root):
        raise FileNotFoundError(
            f"Zoo model {name!r} is not trained under {root}; run `python -m tools.zoo.train all`."
        )
    scheduler = FlowMatchEulerDiscreteScheduler.from_pretrained(path / "scheduler")
    vae = load_vae(spec.architecture, Path(root), dtype)
    if spec.architecture == "flux":
        transformer = FluxTransformer2DModel.from_pretrained(path / "transformer", torch_dtype=dtype).eval()
        cls = FluxImg2ImgPipeline if img2img else FluxPipeline
        pipe = cls(
            scheduler=scheduler,
            vae=vae,
            text_encoder=None,
            tokenizer=None,
            text_encoder_2=None,
            tokenizer_2=None,
            transformer=transformer,
        )
    else:
        transformer = QwenImageTransformer2DModel.from_pretrained(path / "transformer", torch_dtype=dtype).eval()
        cls = QwenImageImg2ImgPipeline if img2img else QwenImagePipeline
        pipe = cls(scheduler=scheduler, vae=vae, text_encoder=None, tokenizer=None, transformer=transformer)
    pipe.set_progress_bar_config(disable=True)
    pipe.zoo_spec = spec
    pipe.zoo_embeddings = load_file(str(path / "embeddings.safetensors"))
    return pipe


def init_image(spec: ZooSpec, class_index: int, seed: int) -> PIL.Image.Image:
    r"""The img2img input of one benchmark image: a fresh data sample of another class than the prompt's."""
    rng = np.random.default_rng(10_000 + seed)
    names = data.class_names(spec.family)
    other = (class_index + 1 + int(rng.integers(0, len(names) - 1))) % len(names)
    pixels = data.render(spec.family, other, rng, spec.height, spec.width)
    return PIL.Image.fromarray((pixels.transpose(1, 2, 0) * 255).round().astype(np.uint8))


def call_kwargs(pipe, class_indices: list[int], seed: int, num_inference_steps: int, strength: float | None = None):
    r"""
    The pipeline call for a batch of class "prompts" at one seed: embeddings, size, steps, true CFG where the model
    uses it, and for img2img the input images and `strength`.

    Args:
        pipe: a pipeline from [`load_pipeline`].
        class_indices (`list[int]`): the classes, one image each.
        seed (`int`): the generator seed.
        num_inference_steps (`int`): denoising steps.
        strength (`float`, *optional*): img2img strength (needs an img2img pipeline).

    Returns:
        `dict[str, Any]`: keyword arguments for `pipe(...)`, with `output_type="pt"`.
    """
    spec: ZooSpec = pipe.zoo_spec
    e = pipe.zoo_embeddings
    index = torch.tensor(class_indices)
    kwargs: dict[str, Any] = {
        "prompt_embeds": e["prompt_embeds"][index],
        "height": spec.height,
        "width": spec.width,
        "num_inference_steps": num_inference_steps,
        "generator": torch.Generator().manual_seed(seed),
        "output_type": "pt",
    }
    batch = len(class_indices)
    if spec.architecture == "flux":
        kwargs["pooled_prompt_embeds"] = e["pooled_prompt_embeds"][index]
        if spec.true_cfg_scale is not None:
            kwargs["negative_prompt_embeds"] = e["null_prompt_embeds"].expand(batch, -1, -1)
            kwargs["negative_pooled_prompt_embeds"] = e["null_pooled_prompt_embeds"].expand(batch, -1)
            kwargs["true_cfg_scale"] = spec.true_cfg_scale
    else:
        kwargs["prompt_embeds_mask"] = torch.ones(batch, kwargs["prompt_embeds"].shape[1], dtype=torch.long)
        if spec.true_cfg_scale is not None:
            kwargs["negative_prompt_embeds"] = e["null_prompt_embeds"].expand(batch, -1, -1)
            kwargs["negative_prompt_embeds_mask"] = torch.ones(
                batch, kwargs["prompt_embeds"].shape[1], dtype=torch.long
            )
            kwargs["true_cfg_scale"] = spec.true_cfg_scale
        else:
            kwargs["true_cfg_scale"] = 1.0
    if strength is not None:
        kwargs["image"] = [init_image(spec, k, seed) for k in class_indices]
        kwargs["strength"] = strength
    return kwargs
