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
"""How close FreqCa stays to the full computation: image metrics (PSNR, SSIM) and feature metrics (cosine
similarity, relative error).

The demo, the examples, the frequency analysis, the benchmarks and the tests all measure with these functions. All
of them compute in float64, whatever the inputs' dtype: they compare nearly equal tensors, where float32 sums lose
digits.
"""

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F


def image_to_tensor(image: Any) -> torch.Tensor:
    r"""
    An image or a batch of images as a float64 tensor in `[0, 1]`, channels first.

    Accepts what diffusers pipelines return: a `PIL.Image.Image` (8-bit), a list of them, a NumPy array in the
    pipelines' `output_type="np"` layout (`(height, width, channels)` or `(batch, height, width, channels)`, floats
    in `[0, 1]` or `uint8`), or a `torch.Tensor`, which is returned as is in float64 (pipelines' `output_type="pt"`
    is already `(batch, channels, height, width)` in `[0, 1]`).

    Args:
        image (`PIL.Image.Image`, `list[PIL.Image.Image]`, `np.ndarray` or `torch.Tensor`): the image(s).

    Returns:
        `torch.Tensor`: float64, `(channels, height, width)` for one image, `(batch, channels, height, width)` for a
        batch; `uint8` inputs are divided by 255.

    Raises:
        `ValueError`: for a NumPy array that is not 3-D or 4-D, or another type.

    Example:
        ```python
        >>> from PIL import Image
        >>> image_to_tensor(Image.new("RGB", (8, 4), (255, 0, 0))).shape
        torch.Size([3, 4, 8])
        ```
    """
    if isinstance(image, torch.Tensor):
        return image.to(torch.float64)
    if isinstance(image, (list, tuple)):
        return torch.stack([image_to_tensor(item) for item in image])
    if not isinstance(image, np.ndarray):
        try:
            from PIL import Image
        except ImportError:  # pragma: no cover - PIL comes with diffusers
            Image = None
        if Image is None or not isinstance(image, Image.Image):
            raise ValueError(
                f"`image` must be a PIL image, a NumPy array or a torch tensor, got {type(image).__name__}."
            )
        image = np.asarray(image.convert("RGB"))
    if image.ndim not in (3, 4):
        raise ValueError(f"A NumPy image must be (H, W, C) or (B, H, W, C), got shape {image.shape}.")
    tensor = torch.from_numpy(np.array(image, dtype=np.float64))  # a copy: PIL's arrays are read-only
    if image.dtype == np.uint8:
        tensor = tensor / 255.0
    return tensor.movedim(-1, -3)


def psnr(image: torch.Tensor, reference: torch.Tensor, data_range: float = 1.0) -> float:
    r"""
    Peak signal-to-noise ratio in dB between two images or batches, from the mean squared error over all elements.

    Args:
        image (`torch.Tensor`): the image(s) to judge, any shape, values in `[0, data_range]`.
        reference (`torch.Tensor`): the reference (e.g. the full computation), same shape.
        data_range (`float`, defaults to `1.0`): the range of the values (`1.0` for images in `[0, 1]`, `255.0` for
            8-bit values).

    Returns:
        `float`: PSNR in dB; `inf` for identical inputs.

    Raises:
        `ValueError`: when the shapes differ.

    Example:
        ```python
        >>> psnr(torch.zeros(3, 8, 8), torch.full((3, 8, 8), 0.1))
        20.0
        ```
    """
    if image.shape != reference.shape:
        raise ValueError(f"`image` has shape {tuple(image.shape)} but `reference` has {tuple(reference.shape)}.")
    mse = F.mse_loss(image.to(torch.float64), reference.to(torch.float64)).item()
    return math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse)


def _gaussian_window(size: int, sigma: float) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    kernel = torch.exp(-(coords**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def ssim(image: torch.Tensor, reference: torch.Tensor, data_range: float = 1.0) -> float:
    r"""
    Structural similarity (Wang et al., 2004) with the usual constants: an 11x11 Gaussian window of standard
    deviation 1.5, `K1 = 0.01`, `K2 = 0.03`, computed per channel over the valid region (no padding) and averaged
    over channels and images.

    Args:
        image (`torch.Tensor`): `(channels, height, width)` or `(batch, channels, height, width)`, height and width
            at least 11.
        reference (`torch.Tensor`): the reference, same shape.
        data_range (`float`, defaults to `1.0`): the range of the values.

    Returns:
        `float`: the mean SSIM, 1.0 for identical images.

    Raises:
        `ValueError`: when the shapes differ, or are not 3-D / 4-D with sides of at least 11 pixels.

    Example:
        ```python
        >>> image = torch.rand(3, 32, 32)
        >>> ssim(image, image)
        1.0
        ```
    """
    if image.shape != reference.shape:
        raise ValueError(f"`image` has shape {tuple(image.shape)} but `reference` has {tuple(reference.shape)}.")
    if image.dim() == 3:
        image, reference = image[None], reference[None]
    if image.dim() != 4 or min(image.shape[-2:]) < 11:
        raise ValueError(f"`image` must be (C, H, W) or (B, C, H, W) with H, W >= 11, got {tuple(image.shape)}.")
    channels = image.shape[1]
    window = _gaussian_window(11, 1.5)
    window = (window[:, None] * window[None, :]).expand(channels, 1, 11, 11).contiguous()
    x, y = image.to(torch.float64), reference.to(torch.float64)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window.to(t.device), groups=channels)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.mean().item()


def _per_sample(x: torch.Tensor) -> torch.Tensor:
    # One float64 vector per sample (first dimension).
    return x.reshape(x.shape[0], -1).to(torch.float64)


def cosine_similarity(a: torch.Tensor, b: torch.Tensor) -> float:
    r"""
    Cosine similarity of `a` and `b` per sample (first dimension), averaged over the samples. Two zero samples count
    as identical (1.0).

    Args:
        a (`torch.Tensor`): shape `(batch, ...)`, e.g. block-stack outputs `(batch, tokens, channels)`.
        b (`torch.Tensor`): the same shape.

    Returns:
        `float`: the mean cosine similarity, in `[-1, 1]`.

    Example:
        ```python
        >>> cosine_similarity(torch.ones(2, 3), 2 * torch.ones(2, 3))
        1.0
        ```
    """
    a, b = _per_sample(a), _per_sample(b)
    norms = a.norm(dim=1) * b.norm(dim=1)
    cos = torch.where(norms > 0, (a * b).sum(dim=1) / norms.clamp_min(1e-300), torch.ones_like(norms))
    return float(cos.mean())


def relative_error(estimate: torch.Tensor, target: torch.Tensor) -> float:
    r"""
    `||estimate - target|| / ||target||` (L2 norms) per sample (first dimension), averaged over the samples. A zero
    target gives 0 when the estimate is zero too, `inf` otherwise.

    Args:
        estimate (`torch.Tensor`): shape `(batch, ...)`, e.g. a forecast block-stack output.
        target (`torch.Tensor`): the same shape, e.g. the computed one.

    Returns:
        `float`: the mean relative error, >= 0.

    Example:
        ```python
        >>> relative_error(torch.tensor([[3.0, 4.0]]), torch.tensor([[0.0, 4.0]]))
        0.75
        ```
    """
    estimate, target = _per_sample(estimate), _per_sample(target)
    difference = (estimate - target).norm(dim=1)
    norm = target.norm(dim=1)
    error = torch.where(norm > 0, difference / norm.clamp_min(1e-300), torch.where(difference > 0, math.inf, 0.0))
    return float(error.mean())


__all__ = ["cosine_similarity", "image_to_tensor", "psnr", "relative_error", "ssim"]
