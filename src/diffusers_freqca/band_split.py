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
"""Splitting token features into low and high frequency bands over each image's or video's token grid.

A grid is 2-D (rows x columns) for an image and 3-D (frames x rows x columns) for a video; a 1-D grid (one row) is a
plain sequence. On a 3-D grid the low band is what is low in space *and* in time: the spatial radius over rows and
columns is at most `cutoff_ratio` and the temporal frequency at most `temporal_cutoff_ratio`, each axis normalised by
its own largest frequency.
"""

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class GridSegment:
    r"""
    A run of tokens in the sequence that forms one image's or video's token grid, in raster order (frames, then rows,
    then columns: the last index varies fastest).

    Args:
        start (`int`): index of the segment's first token in the sequence.
        height (`int`): rows of the token grid.
        width (`int`): columns of the token grid. A 1-D segment (a plain sequence) has `height == 1` and `frames == 1`.
        frames (`int`, defaults to `1`): frames of a video token grid (latent frames divided by the temporal patch
            size); `1` for an image.

    Example:
        ```python
        >>> GridSegment(start=0, height=32, width=48).length
        1536
        >>> GridSegment(start=0, height=30, width=52, frames=21).kind  # Wan 2.1 at 480x832, 81 frames
        '3-D'
        ```
    """

    start: int
    height: int
    width: int
    frames: int = 1

    @property
    def length(self) -> int:
        """Tokens in the segment: `frames * height * width`."""
        return self.frames * self.height * self.width

    @property
    def kind(self) -> str:
        """`"3-D"` (frames > 1), `"2-D"` (rows and columns) or `"sequence"` (one row of one frame)."""
        if self.frames > 1:
            return "3-D"
        return "2-D" if self.height > 1 else "sequence"

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True)
class TokenLayout:
    r"""
    Where the image grids sit in a token sequence of length `seq_len`. Tokens outside every segment belong to no
    grid: they are treated as high band (forecast whole, never low-pass filtered).

    Args:
        seq_len (`int`): length of the token sequence.
        segments (`tuple[GridSegment, ...]`): non-overlapping grids, in sequence order.

    Example:
        ```python
        >>> # FLUX.1-Kontext at 1024x1024 with a 1024x1024 reference: target grid, then reference grid.
        >>> TokenLayout(8192, (GridSegment(0, 64, 64), GridSegment(4096, 64, 64)))
        ```
    """

    seq_len: int
    segments: tuple[GridSegment, ...]

    def __post_init__(self):
        position = 0
        for segment in self.segments:
            if segment.height < 1 or segment.width < 1 or segment.frames < 1:
                raise ValueError(f"A grid segment needs a positive height, width and frame count, got {segment}.")
            if segment.start < position:
                raise ValueError(f"Grid segments must be sorted and must not overlap, got {self.segments}.")
            position = segment.end
        if position > self.seq_len:
            raise ValueError(f"Grid segments end at token {position}, past the sequence length {self.seq_len}.")

    @classmethod
    def sequence(cls, seq_len: int) -> "TokenLayout":
        """The fallback layout: the whole sequence as one 1-D signal."""
        return cls(seq_len, (GridSegment(0, 1, seq_len),))

    @property
    def kind(self) -> str:
        """The band split this layout gets: `"3-D"` if any segment is a video grid, else `"2-D"` if any is an image
        grid, else `"sequence"`."""
        kinds = {segment.kind for segment in self.segments}
        for kind in ("3-D", "2-D"):
            if kind in kinds:
                return kind
        return "sequence"

    def aligned_to(self, seq_len: int, at: str = "end") -> "TokenLayout | None":
        r"""
        The layout of a sequence of `seq_len` tokens that shares this layout's first (`at="start"`) or last
        (`at="end"`) tokens.

        The output head of some models sees more tokens than their inputs describe (padding or text after the grid,
        history before it) or fewer (leading reference tokens that the model drops before the head). Tokens that the
        other sequence adds belong to no grid.

        Args:
            seq_len (`int`): the length of the other sequence.
            at (`str`, defaults to `"end"`): `"start"` or `"end"`: which end the two sequences share.

        Returns:
            `TokenLayout` or `None`: the aligned layout; `None` when the other sequence would cut a segment.

        Example:
            ```python
            >>> layout = TokenLayout(24, (GridSegment(0, 2, 4), GridSegment(8, 4, 4)))
            >>> layout.aligned_to(16).segments
            (GridSegment(start=0, height=4, width=4, frames=1),)
            >>> layout.aligned_to(30, at="start").segments == layout.segments
            True
            ```
        """
        if at not in ("start", "end"):
            raise ValueError(f"`at` must be 'start' or 'end', got {at!r}.")
        shift = seq_len - self.seq_len if at == "end" else 0
        if seq_len == self.seq_len:
            return self
        segments = []
        for segment in self.segments:
            start, end = segment.start + shift, segment.end + shift
            if start < 0 < end or start < seq_len < end:
                return None
            if start >= 0 and end <= seq_len:
                segments.append(GridSegment(start, segment.height, segment.width, segment.frames))
        return TokenLayout(seq_len, tuple(segments))


def dct_matrix(n: int, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""
    The orthonormal DCT-II matrix `C` of size `n x n`: `C @ x` is `scipy.fft.dct(x, norm="ortho")`, and `C.T` inverts
    it.

    Args:
        n (`int`): transform length.
        device (`torch.device`, *optional*): where to build the matrix.
        dtype (`torch.dtype`, defaults to `torch.float32`): its dtype.

    Example:
        ```python
        >>> c = dct_matrix(8)
        >>> torch.allclose(c @ c.T, torch.eye(8), atol=1e-6)
        True
        ```
    """
    k = torch.arange(n, dtype=torch.float64).unsqueeze(1)
    i = torch.arange(n, dtype=torch.float64).unsqueeze(0)
    matrix = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    matrix[0] /= math.sqrt(2.0)
    return matrix.to(device=device, dtype=dtype)


def _normalised_axis_frequency(n: int, kind: str) -> torch.Tensor:
    # Each axis is scaled to [0, 1] by its own largest frequency, so that a cut-off ratio means the same on the
    # height and the width axis of a non-square grid.
    if kind == "dct":
        freq = torch.arange(n, dtype=torch.float64)
    else:
        # One-sided (rfft) along the last axis is handled by the caller; here the full two-sided axis.
        freq = torch.fft.fftfreq(n, dtype=torch.float64).abs()
    largest = freq.max()
    return freq / largest if largest > 0 else freq


def low_band_mask(
    height: int,
    width: int,
    cutoff_ratio: float,
    kind: str,
    frames: int = 1,
    temporal_cutoff_ratio: float | None = None,
) -> torch.Tensor:
    r"""
    Boolean mask of the low band in the frequency domain of a `height x width` grid (`frames x height x width` for a
    video).

    The spatial radius of a frequency is `sqrt(sum_a (f_a / max f_a)^2 / A)` over the `A` spatial axes longer than
    one, so it lies in `[0, 1]`; a frequency is spatially low when its radius is `<= cutoff_ratio`. On a square grid
    with the DCT this is the authors' mask `sqrt(u^2 + v^2) <= ratio * max sqrt(u^2 + v^2)`; on a 1-D sequence with
    the FFT it is their `|f| <= ratio * max |f|`. On a video grid a frequency is low when it is spatially low and its
    temporal frequency, normalised by the largest one, is `<= temporal_cutoff_ratio`.

    Args:
        height (`int`): grid rows.
        width (`int`): grid columns.
        cutoff_ratio (`float`): the low band's spatial radius, in `(0, 1]`.
        kind (`str`): `"dct"` (mask over DCT indices) or `"fft"` (mask over the `rfft` half-spectrum along the
            columns: `width // 2 + 1` entries).
        frames (`int`, defaults to `1`): frames of a video grid; `1` for an image.
        temporal_cutoff_ratio (`float`, *optional*): the low band's temporal cut-off in `(0, 1]`; `None` uses
            `cutoff_ratio`. Ignored when `frames == 1`.

    Returns:
        `torch.Tensor`: bool, shape `(height, W)` for `frames == 1` and `(frames, height, W)` otherwise, `W = width`
        for the DCT and `width // 2 + 1` for the FFT.

    Raises:
        `ValueError`: when `kind` is not `"dct"` or `"fft"`.

    Example:
        ```python
        >>> low_band_mask(16, 16, 0.1, "dct").sum().item()
        6
        >>> low_band_mask(16, 16, 0.1, "dct", frames=5, temporal_cutoff_ratio=0.25).sum().item()  # 2 of 5 frequencies
        12
        ```
    """
    if kind not in ("dct", "fft"):
        raise ValueError(f"`kind` must be 'dct' or 'fft', got {kind!r}.")
    fh = _normalised_axis_frequency(height, kind)
    fw = _normalised_axis_frequency(width, kind)
    if kind == "fft":
        fw = fw[: width // 2 + 1]
    axes = max(1, int(height > 1) + int(width > 1))
    radius = torch.sqrt((fh[:, None] ** 2 + fw[None, :] ** 2) / axes)
    # A tiny tolerance so that frequencies exactly on the cut-off are low regardless of rounding.
    spatial = radius <= cutoff_ratio + 1e-9
    if frames == 1:
        return spatial
    temporal_cutoff = cutoff_ratio if temporal_cutoff_ratio is None else temporal_cutoff_ratio
    temporal = _normalised_axis_frequency(frames, kind) <= temporal_cutoff + 1e-9
    return temporal[:, None, None] & spatial[None, :, :]


class BandSplitter:
    r"""
    Splits features of shape `(batch, seq_len, channels)` into a low and a high band per image or video grid of a
    [`TokenLayout`]: a 2-D transform over each image grid, a 3-D one over each video grid. The transform runs on the
    tensor's device in float32; the DCT matrices and masks are built once per grid size and device and reused.

    `low + high == x` holds exactly (up to float32 rounding): the high band is computed as `x - low`.

    Args:
        decomposition (`str`): `"dct"` or `"fft"`.
        cutoff_ratio (`float`): the spatial cut-off, see [`low_band_mask`].
        temporal_cutoff_ratio (`float`, *optional*): the temporal cut-off of video grids; `None` uses `cutoff_ratio`.

    Example:
        ```python
        >>> splitter = BandSplitter("dct", 0.1)
        >>> x = torch.randn(2, 24 * 16, 8)
        >>> low = splitter.low_pass(x, TokenLayout(24 * 16, (GridSegment(0, 24, 16),)))
        >>> high = x - low
        ```
    """

    def __init__(self, decomposition: str, cutoff_ratio: float, temporal_cutoff_ratio: float | None = None):
        if decomposition not in ("dct", "fft"):
            raise ValueError(f"`decomposition` must be 'dct' or 'fft' for a BandSplitter, got {decomposition!r}.")
        self.decomposition = decomposition
        self.cutoff_ratio = cutoff_ratio
        self.temporal_cutoff_ratio = temporal_cutoff_ratio
        self._matrices: dict[tuple[int, torch.device], torch.Tensor] = {}
        self._masks: dict[tuple[int, int, int, torch.device], torch.Tensor] = {}

    def _dct(self, n: int, device: torch.device) -> torch.Tensor:
        key = (n, device)
        if key not in self._matrices:
            self._matrices[key] = dct_matrix(n, device=device)
        return self._matrices[key]

    def _mask(self, height: int, width: int, device: torch.device, frames: int = 1) -> torch.Tensor:
        key = (frames, height, width, device)
        if key not in self._masks:
            mask = low_band_mask(
                height, width, self.cutoff_ratio, self.decomposition, frames, self.temporal_cutoff_ratio
            )
            self._masks[key] = mask.to(device=device, dtype=torch.float32)
        return self._masks[key]

    def _low_pass_grid(self, grid: torch.Tensor) -> torch.Tensor:
        # grid: (batch, height, width, channels), float32 or float64
        _, height, width, _ = grid.shape
        mask = self._mask(height, width, grid.device).to(grid.dtype)
        if self.decomposition == "dct":
            ch = self._dct(height, grid.device).to(grid.dtype)
            cw = self._dct(width, grid.device).to(grid.dtype)
            coeffs = torch.einsum("uh,bhwc,vw->buvc", ch, grid, cw)
            coeffs = coeffs * mask[None, :, :, None]
            return torch.einsum("uh,buvc,vw->bhwc", ch, coeffs, cw)
        spectrum = torch.fft.rfft2(grid, dim=(1, 2))
        spectrum = spectrum * mask[None, :, :, None]
        return torch.fft.irfft2(spectrum, s=(height, width), dim=(1, 2))

    def _low_pass_video(self, grid: torch.Tensor) -> torch.Tensor:
        # grid: (batch, frames, height, width, channels), float32 or float64
        _, frames, height, width, _ = grid.shape
        mask = self._mask(height, width, grid.device, frames).to(grid.dtype)
        if self.decomposition == "dct":
            cf = self._dct(frames, grid.device).to(grid.dtype)
            ch = self._dct(height, grid.device).to(grid.dtype)
            cw = self._dct(width, grid.device).to(grid.dtype)
            coeffs = torch.einsum("tf,bfhwc->bthwc", cf, grid)
            coeffs = torch.einsum("uh,bthwc,vw->btuvc", ch, coeffs, cw)
            coeffs = coeffs * mask[None, :, :, :, None]
            coeffs = torch.einsum("uh,btuvc,vw->bthwc", ch, coeffs, cw)
            return torch.einsum("tf,bthwc->bfhwc", cf, coeffs)
        spectrum = torch.fft.rfftn(grid, dim=(1, 2, 3))
        spectrum = spectrum * mask[None, :, :, :, None]
        return torch.fft.irfftn(spectrum, s=(frames, height, width), dim=(1, 2, 3))

    def low_pass(self, x: torch.Tensor, layout: TokenLayout) -> torch.Tensor:
        r"""
        The low band of `x`, in float32, with zeros on tokens outside every grid.

        Args:
            x (`torch.Tensor`): features of shape `(batch, layout.seq_len, channels)`.
            layout (`TokenLayout`): where the grids are.

        Returns:
            `torch.Tensor`: float32 (float64 for float64 inputs) tensor of the shape of `x`.
        """
        if x.ndim != 3 or x.shape[1] != layout.seq_len:
            raise ValueError(
                f"Expected features of shape (batch, {layout.seq_len}, channels) for this token layout, "
                f"got {tuple(x.shape)}."
            )
        # The transform runs in float32 (float64 inputs keep their precision).
        x = x if x.dtype == torch.float64 else x.to(torch.float32)
        batch, _, channels = x.shape
        pieces = []
        position = 0
        for segment in layout.segments:
            if segment.start > position:
                pieces.append(x.new_zeros(batch, segment.start - position, channels))
            tokens = x[:, segment.start : segment.end]
            if segment.frames > 1:
                video = tokens.reshape(batch, segment.frames, segment.height, segment.width, channels)
                pieces.append(self._low_pass_video(video).reshape(batch, segment.length, channels))
            else:
                grid = tokens.reshape(batch, segment.height, segment.width, channels)
                pieces.append(self._low_pass_grid(grid).reshape(batch, segment.length, channels))
            position = segment.end
        if position < layout.seq_len:
            pieces.append(x.new_zeros(batch, layout.seq_len - position, channels))
        return pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=1)

    def split(self, x: torch.Tensor, layout: TokenLayout) -> tuple[torch.Tensor, torch.Tensor]:
        r"""
        Returns `(low, high)` in float32 with `low + high == x`.

        Args:
            x (`torch.Tensor`): features of shape `(batch, layout.seq_len, channels)`.
            layout (`TokenLayout`): where the grids are.

        Example:
            ```python
            >>> low, high = BandSplitter("fft", 0.1).split(x, layout)
            ```
        """
        low = self.low_pass(x, layout)
        return low, x.to(low.dtype) - low
