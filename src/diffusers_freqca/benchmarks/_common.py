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
"""What the benchmarks share: image metrics and counters of transformer and block evaluations."""

import contextlib
import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F

from ..hooks import _transformer_blocks


def psnr(image: torch.Tensor, reference: torch.Tensor, data_range: float = 1.0) -> float:
    r"""
    Peak signal-to-noise ratio in dB between two images or batches (mean squared error over all elements).

    Args:
        image (`torch.Tensor`): the image(s) to judge.
        reference (`torch.Tensor`): the reference, same shape.
        data_range (`float`, defaults to `1.0`): the range of the values (`1.0` for images in [0, 1]).

    Returns:
        `float`: PSNR in dB; `inf` for identical inputs.

    Example:
        ```python
        >>> psnr(torch.zeros(3, 8, 8), torch.full((3, 8, 8), 0.1))
        20.0
        ```
    """
    if image.shape != reference.shape:
        raise ValueError(f"`image` has shape {tuple(image.shape)} but `reference` has {tuple(reference.shape)}.")
    mse = F.mse_loss(image.double(), reference.double()).item()
    return math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse)


def _gaussian_window(size: int, sigma: float) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    kernel = torch.exp(-(coords**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def ssim(image: torch.Tensor, reference: torch.Tensor, data_range: float = 1.0) -> float:
    r"""
    Structural similarity (Wang et al. 2004): 11x11 Gaussian window with sigma 1.5, K1=0.01, K2=0.03, computed per
    channel over the valid region and averaged over channels and images.

    Args:
        image (`torch.Tensor`): images of shape `(channels, height, width)` or `(batch, channels, height, width)`.
        reference (`torch.Tensor`): the reference, same shape.
        data_range (`float`, defaults to `1.0`): the range of the values.

    Returns:
        `float`: mean SSIM, 1.0 for identical images.

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
    x, y = image.double(), reference.double()

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window, groups=channels)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.mean().item()


class CallCounter:
    r"""
    Counts forward calls of a module (e.g. the transformer or one of its blocks) through a forward pre-hook.

    Args:
        module (`torch.nn.Module`): the module to watch.

    Example:
        ```python
        >>> with CallCounter(pipe.transformer.transformer_blocks[0]) as counter:
        ...     pipe(...)
        >>> counter.count
        ```
    """

    def __init__(self, module: torch.nn.Module):
        self.module = module
        self.count = 0
        self._handle = None

    def _hook(self, module, args, kwargs):
        self.count += 1

    def __enter__(self) -> "CallCounter":
        self._handle = self.module.register_forward_pre_hook(self._hook, with_kwargs=True)
        return self

    def __exit__(self, *exc) -> None:
        self._handle.remove()
        self._handle = None


def _blocks(transformer: torch.nn.Module) -> list[torch.nn.Module]:
    # The block stack exactly as FreqCa's hooks see it (diffusers' registered block lists, in the model's order).
    blocks = [block for _, block in _transformer_blocks(transformer)]
    if not blocks:
        raise ValueError(f"{type(transformer).__name__} has no block list that diffusers' caches know.")
    return blocks


def first_block(transformer: torch.nn.Module) -> torch.nn.Module:
    r"""
    The first transformer block of a diffusers DiT, the one FreqCa's hooks decide on.

    Its calls count full transformer evaluations under every cache: all of them run the first block on every step
    they compute (FirstBlockCache even on steps it skips, which is why its compute is counted separately).

    Args:
        transformer (`torch.nn.Module`): a diffusers transformer model.

    Returns:
        `torch.nn.Module`: the first block.

    Example:
        ```python
        >>> first_block(pipe.transformer) is pipe.transformer.transformer_blocks[0]
        True
        ```
    """
    return _blocks(transformer)[0]


def last_block(transformer: torch.nn.Module) -> torch.nn.Module:
    r"""
    The last transformer block of a diffusers DiT, whose output FreqCa caches.

    Args:
        transformer (`torch.nn.Module`): a diffusers transformer model.

    Returns:
        `torch.nn.Module`: the last block; its calls count evaluations of the whole block stack.

    Example:
        ```python
        >>> last_block(pipe.transformer) is pipe.transformer.single_transformer_blocks[-1]
        True
        ```
    """
    return _blocks(transformer)[-1]


def _inner_layer(block: torch.nn.Module) -> torch.nn.Module:
    for module in block.modules():
        if isinstance(module, torch.nn.Linear):
            return module
    raise ValueError(f"{type(block).__name__} has no Linear layer to count its evaluations on.")


@contextlib.contextmanager
def count_evaluations(transformer: torch.nn.Module) -> Iterator[dict[str, int]]:
    r"""
    Counts, while the context is open, how often the transformer is called, how often its first block computes and
    how often its last block computes (= full evaluations of the block stack). A block computes when its first
    `Linear` layer runs: a cache that skips the block is still entered through the block's call.

    Args:
        transformer (`torch.nn.Module`): a diffusers transformer model.

    Yields:
        `dict[str, int]`: filled on exit with `calls`, `first_block` and `last_block`.

    Example:
        ```python
        >>> with count_evaluations(pipe.transformer) as counts:
        ...     pipe(...)
        >>> counts["last_block"], counts["calls"]
        ```
    """
    counts: dict[str, int] = {}
    # Caches replace a skipped block's forward but are still entered through the block's `__call__`, so the calls of
    # a block are counted on a layer inside it, which runs only when the block really computes.
    first_inner, last_inner = _inner_layer(first_block(transformer)), _inner_layer(last_block(transformer))
    with CallCounter(transformer) as calls, CallCounter(first_inner) as first, CallCounter(last_inner) as last:
        yield counts
    counts.update(calls=calls.count, first_block=first.count, last_block=last.count)
