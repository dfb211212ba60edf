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
"""The models the benchmarks build: FLUX.1-dev's and Qwen-Image's transformer configs and scheduler, small models of
the same architectures, and the inputs of one transformer call as their pipelines pass them.

The FreqCa settings of each model (the paper's band split, the paper's recipe) come from the package's presets
(`diffusers_freqca.presets`), not from here.
"""

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from diffusers.pipelines.flux.pipeline_flux import calculate_shift

from diffusers_freqca.band_split import GridSegment, TokenLayout
from diffusers_freqca.config import DTYPES_BY_NAME, FreqCaConfig
from diffusers_freqca.presets import MODELS as PRESET_MODELS
from diffusers_freqca.presets import get_preset


# black-forest-labs/FLUX.1-dev, transformer/config.json.
FLUX_1_DEV_CONFIG: dict[str, Any] = {
    "patch_size": 1,
    "in_channels": 64,
    "num_layers": 19,
    "num_single_layers": 38,
    "attention_head_dim": 128,
    "num_attention_heads": 24,
    "joint_attention_dim": 4096,
    "pooled_projection_dim": 768,
    "guidance_embeds": True,
    "axes_dims_rope": (16, 56, 56),
}

# Qwen/Qwen-Image, transformer/config.json: the defaults of `QwenImageTransformer2DModel.__init__` in diffusers 0.42.
QWEN_IMAGE_CONFIG: dict[str, Any] = {
    "patch_size": 2,
    "in_channels": 64,
    "out_channels": 16,
    "num_layers": 60,
    "attention_head_dim": 128,
    "num_attention_heads": 24,
    "joint_attention_dim": 3584,
    "guidance_embeds": False,
    "axes_dims_rope": (16, 56, 56),
}


# black-forest-labs/FLUX.1-dev, scheduler/scheduler_config.json (the parts that set the sigmas). The project's tiny
# model uses the same settings.
FLUX_SCHEDULER_CONFIG: dict[str, Any] = {
    "base_image_seq_len": 256,
    "base_shift": 0.5,
    "max_image_seq_len": 4096,
    "max_shift": 1.15,
    "num_train_timesteps": 1000,
    "shift": 3.0,
    "use_dynamic_shifting": True,
}


def flux_shift(image_seq_len: int, config: dict[str, Any] = FLUX_SCHEDULER_CONFIG) -> float:
    r"""
    The `mu` of FLUX's resolution-dependent timestep shift (diffusers' `calculate_shift` with the scheduler's
    settings): linear in the number of image tokens, from `base_shift` at `base_image_seq_len` tokens to
    `max_shift` at `max_image_seq_len` tokens.

    Args:
        image_seq_len (`int`): image tokens per image.
        config (`dict[str, Any]`, defaults to `FLUX_SCHEDULER_CONFIG`): the scheduler's settings.

    Returns:
        `float`: the shift `mu` that `FluxPipeline` passes to `scheduler.set_timesteps`.

    Example:
        ```python
        >>> round(flux_shift(4096), 4)
        1.15
        ```
    """
    return calculate_shift(
        image_seq_len,
        config["base_image_seq_len"],
        config["max_image_seq_len"],
        config["base_shift"],
        config["max_shift"],
    )


@dataclass(frozen=True)
class ModelShape:
    r"""
    A transformer and the shapes of its inputs, as its diffusers pipeline calls it.

    Both FLUX.1-dev and Qwen-Image use a VAE that downsamples by 8 and pack 2x2 latent patches into one token, so a
    `height x width` image has `(height // 16) x (width // 16)` image tokens.

    Args:
        name (`str`): the name used on the command line, e.g. `"flux.1-dev"`.
        class_name (`str`): the diffusers transformer class, `"FluxTransformer2DModel"` or
            `"QwenImageTransformer2DModel"`.
        config (`dict[str, Any]`): the arguments of the class's `__init__`.
        text_tokens (`int`): the length of the prompt embedding sequence.
        pixels_per_token (`int`, defaults to `16`): image pixels per token along each axis.

    Example:
        ```python
        >>> MODELS["flux.1-dev"].grid(1024, 1024)
        (64, 64)
        ```
    """

    name: str
    class_name: str
    config: dict[str, Any]
    text_tokens: int
    pixels_per_token: int = 16

    def grid(self, height: int, width: int) -> tuple[int, int]:
        r"""
        The image token grid of a `height x width` image.

        Args:
            height (`int`): image height in pixels, a multiple of `pixels_per_token`.
            width (`int`): image width in pixels, a multiple of `pixels_per_token`.

        Returns:
            `tuple[int, int]`: `(rows, columns)` of tokens.

        Raises:
            `ValueError`: for sizes that are not positive multiples of `pixels_per_token`.

        Example:
            ```python
            >>> MODELS["flux.1-dev"].grid(768, 1360)
            (48, 85)
            ```
        """
        for label, value in (("height", height), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, int) or value < self.pixels_per_token:
                raise ValueError(f"`{label}` must be an int >= {self.pixels_per_token}, got {value!r}.")
            if value % self.pixels_per_token:
                raise ValueError(f"`{label}` must be a multiple of {self.pixels_per_token}, got {value}.")
        return height // self.pixels_per_token, width // self.pixels_per_token

    @property
    def hidden_size(self) -> int:
        """The width of the block stack's features."""
        return self.config["num_attention_heads"] * self.config["attention_head_dim"]

    @property
    def num_blocks(self) -> int:
        """Transformer blocks in all block lists."""
        return self.config["num_layers"] + self.config.get("num_single_layers", 0)


MODELS: dict[str, ModelShape] = {
    # FluxPipeline pads prompts to max_sequence_length=512 T5 tokens.
    "flux.1-dev": ModelShape("flux.1-dev", "FluxTransformer2DModel", FLUX_1_DEV_CONFIG, text_tokens=512),
    # QwenImagePipeline trims the prompt embeddings to the prompt's length; 256 tokens stands for a long prompt.
    "qwen-image": ModelShape("qwen-image", "QwenImageTransformer2DModel", QWEN_IMAGE_CONFIG, text_tokens=256),
}

# The same architectures, small: for `--quick` and the tests.
QUICK_MODELS: dict[str, ModelShape] = {
    "flux.1-dev": ModelShape(
        "flux.1-dev",
        "FluxTransformer2DModel",
        {
            **FLUX_1_DEV_CONFIG,
            "num_layers": 2,
            "num_single_layers": 3,
            "attention_head_dim": 16,
            "num_attention_heads": 2,
            "joint_attention_dim": 48,
            "pooled_projection_dim": 24,
            "axes_dims_rope": (4, 6, 6),
        },
        text_tokens=12,
    ),
    "qwen-image": ModelShape(
        "qwen-image",
        "QwenImageTransformer2DModel",
        {
            **QWEN_IMAGE_CONFIG,
            "num_layers": 3,
            "attention_head_dim": 16,
            "num_attention_heads": 2,
            "joint_attention_dim": 40,
            "axes_dims_rope": (8, 4, 4),
        },
        text_tokens=10,
    ),
}

DTYPES: dict[str, torch.dtype] = {name: dtype for name, dtype in DTYPES_BY_NAME.items() if name != "float64"}


def paper_decomposition(name: str) -> str:
    r"""
    The band split the paper uses for a model of `MODELS`, as its presets record it (`"dct"` for FLUX.1-dev,
    `"fft"` for Qwen-Image).

    Args:
        name (`str`): a key of `MODELS`.

    Returns:
        `str`: the `FreqCaConfig.decomposition`.

    Example:
        ```python
        >>> paper_decomposition("qwen-image")
        'fft'
        ```
    """
    return PRESET_MODELS[name].decomposition


def paper_config(name: str, cache_interval: int, **changes: Any) -> FreqCaConfig:
    r"""
    The paper's FreqCa recipe for a model of `MODELS` (its `"paper"` preset) at another cache interval.

    Args:
        name (`str`): a key of `MODELS`.
        cache_interval (`int`): the interval `N`.
        changes: other `FreqCaConfig` fields to change, e.g. `decomposition="none"`.

    Returns:
        `FreqCaConfig`: the config, validated.

    Example:
        ```python
        >>> paper_config("flux.1-dev", 9).crf_form
        'hidden_states'
        ```
    """
    return dataclasses.replace(get_preset(name, "paper").config, cache_interval=cache_interval, **changes)


def torch_dtype(name: str) -> torch.dtype:
    r"""
    The torch dtype of a model dtype name of the command lines.

    Args:
        name (`str`): a key of `DTYPES` (`"bfloat16"`, `"float16"` or `"float32"`).

    Returns:
        `torch.dtype`: the dtype.

    Raises:
        `ValueError`: for another name.

    Example:
        ```python
        >>> torch_dtype("bfloat16")
        torch.bfloat16
        ```
    """
    if name not in DTYPES:
        raise ValueError(f"`dtype` must be one of {sorted(DTYPES)}, got {name!r}.")
    return DTYPES[name]


def _model_class(class_name: str) -> type:
    import diffusers

    if class_name not in ("FluxTransformer2DModel", "QwenImageTransformer2DModel"):
        raise ValueError(
            f"`class_name` must be 'FluxTransformer2DModel' or 'QwenImageTransformer2DModel', got {class_name!r}."
        )
    return getattr(diffusers, class_name)


@contextlib.contextmanager
def _default_dtype(dtype: torch.dtype) -> Iterator[None]:
    # Parameters are created directly in `dtype`: no float32 copy and no cast afterwards.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def build_transformer(
    model: ModelShape, device: str | torch.device = "meta", dtype: torch.dtype = torch.bfloat16
) -> torch.nn.Module:
    r"""
    Builds the transformer of `model` with uninitialised parameters in `dtype` on `device`.

    On `"meta"` nothing is allocated, which is what the memory benchmark needs. On a real device the class's own
    random initialisation runs there, directly in `dtype` (no float32 copy); `gpu_timing.init_random_weights` then
    makes the values of a deep model safe for caches that look at the features.

    Args:
        model (`ModelShape`): the model.
        device (`str` or `torch.device`, defaults to `"meta"`): where the parameters are created.
        dtype (`torch.dtype`, defaults to `torch.bfloat16`): their dtype.

    Returns:
        `torch.nn.Module`: the transformer in eval mode.

    Example:
        ```python
        >>> transformer = build_transformer(MODELS["flux.1-dev"])
        >>> sum(p.numel() for p in transformer.parameters()) / 1e9
        11.9...
        ```
    """
    cls = _model_class(model.class_name)
    with _default_dtype(dtype), torch.device(device):
        transformer = cls(**model.config)
    return transformer.eval()


def make_inputs(
    model: ModelShape,
    height: int,
    width: int,
    batch_size: int = 1,
    device: str | torch.device = "meta",
    dtype: torch.dtype = torch.bfloat16,
    text_tokens: int | None = None,
    generator: torch.Generator | None = None,
) -> dict[str, Any]:
    r"""
    The keyword arguments of one transformer call, shaped as the model's diffusers pipeline passes them.

    FLUX gets packed latents, T5 embeddings, the CLIP pooled embedding, `timestep` as sigma in `[0, 1]`, `guidance`
    (FLUX.1-dev is guidance-distilled) and the row/column `img_ids` / `txt_ids`. Qwen-Image gets packed latents, the
    prompt embeddings without a mask (QwenImagePipeline drops an all-ones mask) and `img_shapes`. The values are random
    normal (on `"meta"`: none); `timestep` is 1.0 and callers overwrite it per step.

    Args:
        model (`ModelShape`): the model.
        height (`int`): image height in pixels.
        width (`int`): image width in pixels.
        batch_size (`int`, defaults to `1`): images per call.
        device (`str` or `torch.device`, defaults to `"meta"`): where the tensors live.
        dtype (`torch.dtype`, defaults to `torch.bfloat16`): dtype of the floating-point inputs.
        text_tokens (`int`, *optional*): prompt tokens; defaults to `model.text_tokens`.
        generator (`torch.Generator`, *optional*): for the random values (CPU generator).

    Returns:
        `dict[str, Any]`: the call's keyword arguments, with `return_dict=False`.

    Example:
        ```python
        >>> inputs = make_inputs(MODELS["flux.1-dev"], 1024, 1024)
        >>> inputs["hidden_states"].shape, inputs["img_ids"].shape
        (torch.Size([1, 4096, 64]), torch.Size([4096, 3]))
        ```
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be an int >= 1, got {batch_size!r}.")
    text_tokens = model.text_tokens if text_tokens is None else text_tokens
    if isinstance(text_tokens, bool) or not isinstance(text_tokens, int) or text_tokens < 1:
        raise ValueError(f"`text_tokens` must be an int >= 1, got {text_tokens!r}.")
    rows, cols = model.grid(height, width)
    config = model.config
    device = torch.device(device)

    def tensor(*shape: int, dtype: torch.dtype = dtype) -> torch.Tensor:
        if device.type == "meta":
            return torch.empty(*shape, device=device, dtype=dtype)
        return torch.randn(*shape, generator=generator, dtype=torch.float32).to(device=device, dtype=dtype)

    inputs: dict[str, Any] = {
        "hidden_states": tensor(batch_size, rows * cols, config["in_channels"]),
        "encoder_hidden_states": tensor(batch_size, text_tokens, config["joint_attention_dim"]),
        "timestep": torch.ones(batch_size, device=device, dtype=dtype),
        "return_dict": False,
    }
    if model.class_name == "FluxTransformer2DModel":
        img_ids = torch.zeros(rows, cols, 3)
        img_ids[..., 1] = torch.arange(rows)[:, None]
        img_ids[..., 2] = torch.arange(cols)[None, :]
        inputs["pooled_projections"] = tensor(batch_size, config["pooled_projection_dim"])
        inputs["img_ids"] = img_ids.reshape(rows * cols, 3).to(device=device, dtype=dtype)
        inputs["txt_ids"] = torch.zeros(text_tokens, 3, device=device, dtype=dtype)
        if config.get("guidance_embeds", False):
            # FLUX.1-dev's default guidance_scale is 3.5; the value does not change the cost.
            inputs["guidance"] = torch.full((batch_size,), 3.5, device=device, dtype=torch.float32)
    else:
        inputs["img_shapes"] = [[(1, rows, cols)]] * batch_size
    return inputs


def image_layout(model: ModelShape, height: int, width: int) -> TokenLayout:
    r"""
    The token layout of one `height x width` image: a single raster grid, as `img_ids` / `img_shapes` describe it.

    Args:
        model (`ModelShape`): the model.
        height (`int`): image height in pixels.
        width (`int`): image width in pixels.

    Returns:
        `TokenLayout`: one `GridSegment` starting at token 0.

    Example:
        ```python
        >>> image_layout(MODELS["qwen-image"], 1024, 512).segments
        (GridSegment(start=0, height=64, width=32),)
        ```
    """
    rows, cols = model.grid(height, width)
    return TokenLayout(rows * cols, (GridSegment(0, rows, cols),))
