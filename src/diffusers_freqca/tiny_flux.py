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
"""The project's small *trained* FLUX-architecture model, shipped with the package, as a real `FluxPipeline`.

Real checkpoints cannot be downloaded everywhere, and random weights have no real denoising dynamics, so the demo,
`diffusers-freqca analyze`, the examples' `--tiny` mode and the quality benchmark run on a tiny
`FluxTransformer2DModel` + `AutoencoderKL` trained on synthetic 64x64 images of eight classes (large-scale structure
and fine texture, so that both low- and high-frequency dynamics exist). The classes play the role of prompts: each
has a fixed "prompt embedding" stored with the checkpoint, which the transformer learned to follow.

This module only loads the checkpoint (`assets/tiny-flux/`, 5.7 MB). The data generator and the training loop that
made it are development tools outside the package: `python -m tools.train_tiny_flux` in a clone of the repository.
"""

import operator
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
from safetensors.torch import load_file


DEFAULT_CHECKPOINT = Path(__file__).parent / "assets" / "tiny-flux"
IMAGE_SIZE = 64
CLASS_NAMES = (
    "striped red disk on a blue gradient",
    "checkered green square on dark ground",
    "dotted yellow diamond on a purple gradient",
    "white ring on orange stripes",
    "red disk on diagonal blue stripes",
    "concentric yellow rings",
    "cyan cross on a fine grid",
    "two checkered purple disks",
)
PROMPT_EMBEDS_FILE = "prompt_embeds.safetensors"


def load_tiny_flux_pipeline(path: str | Path | None = None, torch_dtype: torch.dtype = torch.float32) -> FluxPipeline:
    r"""
    A real `diffusers.FluxPipeline` on the trained tiny checkpoint, without text encoders: call it with the
    embeddings from [`get_prompt_embeds`] (or the inputs of [`pipeline_inputs`]) at 64x64 pixels.

    Args:
        path (`str` or `Path`, *optional*):
            A checkpoint folder laid out like a diffusers pipeline repository (`transformer/`, `vae/`, `scheduler/`
            and `prompt_embeds.safetensors`); defaults to the one shipped with the package (`DEFAULT_CHECKPOINT`).
        torch_dtype (`torch.dtype`, defaults to `torch.float32`):
            dtype of the transformer and the VAE (the shipped weights are stored in float16).

    Returns:
        `FluxPipeline`: on the CPU, its progress bar enabled; `pipe.tiny_checkpoint_path` records `path`.

    Raises:
        `FileNotFoundError`: when `path` holds no checkpoint (the message says how to train one).

    Example:
        ```python
        >>> from diffusers_freqca.tiny_flux import get_prompt_embeds, load_tiny_flux_pipeline

        >>> pipe = load_tiny_flux_pipeline()
        >>> prompt_embeds, pooled = get_prompt_embeds(pipe, "concentric yellow rings")
        >>> image = pipe(prompt_embeds=prompt_embeds, pooled_prompt_embeds=pooled, height=64, width=64).images[0]
        ```
    """
    path = Path(path) if path is not None else DEFAULT_CHECKPOINT
    if not (path / "transformer" / "config.json").is_file():
        raise FileNotFoundError(
            f"No tiny checkpoint at {path}. Train one from a clone of the diffusers-freqca repository with "
            f"`python -m tools.train_tiny_flux train --output-dir {path}`."
        )
    # FluxPipeline registers None for the text encoders and tokenizers; encode_prompt never touches them when
    # embeddings are given.
    pipe = FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler.from_pretrained(path / "scheduler"),
        vae=AutoencoderKL.from_pretrained(path / "vae", torch_dtype=torch_dtype),
        text_encoder=None,
        tokenizer=None,
        text_encoder_2=None,
        tokenizer_2=None,
        transformer=FluxTransformer2DModel.from_pretrained(path / "transformer", torch_dtype=torch_dtype),
    )
    pipe.tiny_checkpoint_path = path
    pipe.set_progress_bar_config(disable=None)
    return pipe


def _class_index(class_name_or_index: str | int) -> int:
    if isinstance(class_name_or_index, str):
        if class_name_or_index not in CLASS_NAMES:
            raise ValueError(f"Unknown class {class_name_or_index!r}; known classes are {list(CLASS_NAMES)}.")
        return CLASS_NAMES.index(class_name_or_index)
    try:
        index = operator.index(class_name_or_index)  # ints, NumPy ints; not floats
    except TypeError:
        raise ValueError(f"A class must be a name or an int index, got {class_name_or_index!r}.") from None
    if isinstance(class_name_or_index, bool) or not 0 <= index < len(CLASS_NAMES):
        raise ValueError(f"Class index must be in [0, {len(CLASS_NAMES) - 1}], got {class_name_or_index!r}.")
    return index


def get_prompt_embeds(
    path_or_pipe: str | Path | FluxPipeline | None, class_name_or_index: str | int, batch_size: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""
    The "prompt" of one class for the tiny pipeline: its stored embeddings, repeated `batch_size` times.

    Args:
        path_or_pipe (`str`, `Path`, `FluxPipeline` or `None`):
            A pipeline from [`load_tiny_flux_pipeline`] (the embeddings then take its transformer's dtype and
            device), a checkpoint folder, or `None` for the shipped checkpoint (float32 on the CPU).
        class_name_or_index (`str` or `int`):
            A name from `CLASS_NAMES` or its index.
        batch_size (`int`, defaults to `1`):
            How many copies.

    Returns:
        `tuple[torch.Tensor, torch.Tensor]`: `prompt_embeds` of shape `(batch_size, 8, 64)` and
        `pooled_prompt_embeds` of shape `(batch_size, 32)`.

    Raises:
        `ValueError`: for an unknown class name or an index out of range.

    Example:
        ```python
        >>> prompt_embeds, pooled = get_prompt_embeds(None, 3, batch_size=2)
        >>> prompt_embeds.shape
        torch.Size([2, 8, 64])
        ```
    """
    index = _class_index(class_name_or_index)
    if isinstance(path_or_pipe, FluxPipeline):
        path = getattr(path_or_pipe, "tiny_checkpoint_path", DEFAULT_CHECKPOINT)
        dtype, device = path_or_pipe.transformer.dtype, path_or_pipe.transformer.device
    else:
        path = Path(path_or_pipe) if path_or_pipe is not None else DEFAULT_CHECKPOINT
        dtype, device = torch.float32, torch.device("cpu")
    tensors = load_file(str(Path(path) / PROMPT_EMBEDS_FILE))
    prompt_embeds = tensors["prompt_embeds"][index : index + 1].repeat(batch_size, 1, 1)
    pooled = tensors["pooled_prompt_embeds"][index : index + 1].repeat(batch_size, 1)
    return prompt_embeds.to(device, dtype), pooled.to(device, dtype)


def pipeline_inputs(pipe: FluxPipeline, classes=None, repeats: int = 1) -> dict[str, Any]:
    r"""
    The call arguments of the tiny pipeline for a batch of classes: their embeddings and the 64x64 size.

    Args:
        pipe (`FluxPipeline`): from [`load_tiny_flux_pipeline`].
        classes (`Iterable[str | int]`, *optional*): class names or indices, one image each; defaults to every class
            in order.
        repeats (`int`, defaults to `1`): the whole list of classes this many times (e.g. one copy per seed: the
            pipeline draws different noise for each image of a batch).

    Returns:
        `dict[str, Any]`: `prompt_embeds` `(len(classes) * repeats, 8, 64)`, `pooled_prompt_embeds`
        `(len(classes) * repeats, 32)`, `height` and `width` (64); add `num_inference_steps`, `generator`,
        `output_type` and call `pipe(**inputs, ...)`.

    Example:
        ```python
        >>> inputs = pipeline_inputs(pipe, classes=[0, 3])
        >>> images = pipe(**inputs, num_inference_steps=20, output_type="np").images
        >>> images.shape
        (2, 64, 64, 3)
        ```
    """
    classes = list(range(len(CLASS_NAMES)) if classes is None else classes)
    if not classes:
        raise ValueError("`classes` must name at least one class.")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"`repeats` must be an int >= 1, got {repeats!r}.")
    embeds = [get_prompt_embeds(pipe, c) for c in classes]
    return {
        "prompt_embeds": torch.cat([e[0] for e in embeds]).repeat(repeats, 1, 1),
        "pooled_prompt_embeds": torch.cat([e[1] for e in embeds]).repeat(repeats, 1),
        "height": IMAGE_SIZE,
        "width": IMAGE_SIZE,
    }


__all__ = [
    "CLASS_NAMES",
    "DEFAULT_CHECKPOINT",
    "IMAGE_SIZE",
    "get_prompt_embeds",
    "load_tiny_flux_pipeline",
    "pipeline_inputs",
]
