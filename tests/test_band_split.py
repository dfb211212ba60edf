# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The band split against independent references (scipy / numpy), on square, non-square and multi-image layouts."""

import math

import numpy as np
import pytest
import scipy.fft
import torch
from parameterized import parameterized

from diffusers_freqca.band_split import BandSplitter, GridSegment, TokenLayout, dct_matrix, low_band_mask


def _reference_low(grid: np.ndarray, ratio: float, kind: str) -> np.ndarray:
    """Low band of a (h, w, c) grid computed with scipy/numpy and a mask built from the definition."""
    h, w, _ = grid.shape
    axes = max(1, int(h > 1) + int(w > 1))
    if kind == "dct":
        fh = np.arange(h) / max(h - 1, 1)
        fw = np.arange(w) / max(w - 1, 1)
        radius = np.sqrt((fh[:, None] ** 2 + fw[None, :] ** 2) / axes)
        mask = radius <= ratio + 1e-9
        coeffs = scipy.fft.dctn(grid, type=2, norm="ortho", axes=(0, 1))
        return scipy.fft.idctn(coeffs * mask[:, :, None], type=2, norm="ortho", axes=(0, 1))
    fh = np.abs(np.fft.fftfreq(h))
    fw = np.abs(np.fft.fftfreq(w))
    fh = fh / fh.max() if fh.max() > 0 else fh
    fw = fw / fw.max() if fw.max() > 0 else fw
    radius = np.sqrt((fh[:, None] ** 2 + fw[None, :] ** 2) / axes)
    mask = radius <= ratio + 1e-9
    spectrum = np.fft.fft2(grid, axes=(0, 1))
    return np.real(np.fft.ifft2(spectrum * mask[:, :, None], axes=(0, 1)))


@parameterized.expand([(1,), (2,), (7,), (16,), (33,)])
def test_dct_matrix_matches_scipy_and_is_orthonormal(n):
    x = np.random.default_rng(n).standard_normal(n)
    c = dct_matrix(n, dtype=torch.float64)
    np.testing.assert_allclose((c @ torch.from_numpy(x)).numpy(), scipy.fft.dct(x, norm="ortho"), atol=1e-12)
    torch.testing.assert_close(c @ c.T, torch.eye(n, dtype=torch.float64), atol=1e-12, rtol=0)


@parameterized.expand(
    [
        ("dct_square", "dct", 16, 16, 0.1),
        ("dct_nonsquare", "dct", 12, 20, 0.1),
        ("dct_wide_cut", "dct", 9, 5, 0.35),
        ("fft_square", "fft", 16, 16, 0.1),
        ("fft_nonsquare_odd", "fft", 11, 18, 0.2),
        ("fft_1d", "fft", 1, 64, 0.1),
        ("dct_1d", "dct", 1, 40, 0.1),
    ]
)
def test_low_band_matches_independent_reference(_, kind, h, w, ratio):
    rng = np.random.default_rng(0)
    grid = rng.standard_normal((h, w, 5))
    x = torch.from_numpy(grid.reshape(1, h * w, 5)).float()
    splitter = BandSplitter(kind, ratio)
    low, high = splitter.split(x, TokenLayout(h * w, (GridSegment(0, h, w),)))
    expected = _reference_low(grid, ratio, kind).reshape(1, h * w, 5)
    np.testing.assert_allclose(low.numpy(), expected, atol=2e-5)
    # Exact reconstruction: low + high == input.
    torch.testing.assert_close(low + high, x, atol=1e-6, rtol=0)


@parameterized.expand([("dct",), ("fft",)])
def test_low_pass_is_an_orthogonal_projection(kind):
    x = torch.randn(2, 10 * 14, 3)
    layout = TokenLayout(140, (GridSegment(0, 10, 14),))
    splitter = BandSplitter(kind, 0.25)
    low, high = splitter.split(x, layout)
    # Idempotent: the low band of the low band is itself; the high band has no low part.
    torch.testing.assert_close(splitter.low_pass(low, layout), low, atol=1e-5, rtol=0)
    assert splitter.low_pass(high, layout).abs().max() < 1e-5
    # Orthogonal bands: energy splits exactly.
    torch.testing.assert_close((x**2).sum(), (low**2).sum() + (high**2).sum(), rtol=1e-5, atol=1e-4)
    assert 0 < (low**2).sum() < (x**2).sum()


def test_constant_grid_is_all_low_band():
    x = torch.full((1, 8 * 6, 4), 3.0)
    low, high = BandSplitter("dct", 0.1).split(x, TokenLayout(48, (GridSegment(0, 8, 6),)))
    torch.testing.assert_close(low, x, atol=1e-5, rtol=0)
    assert high.abs().max() < 1e-5


def test_square_dct_mask_is_the_papers_mask():
    # The authors' mask on an n x n grid: sqrt(u^2 + v^2) <= ratio * max sqrt(u^2 + v^2).
    for n, ratio in ((16, 0.1), (64, 0.1), (32, 0.3)):
        u = np.arange(n)
        radius = np.sqrt(u[:, None] ** 2 + u[None, :] ** 2)
        expected = radius <= ratio * radius.max()
        np.testing.assert_array_equal(low_band_mask(n, n, ratio, "dct").numpy(), expected)


def test_segments_are_split_independently_and_gaps_are_high_band():
    h1, w1, h2, w2 = 6, 8, 4, 4
    layout = TokenLayout(3 + h1 * w1 + 2 + h2 * w2, (GridSegment(3, h1, w1), GridSegment(5 + h1 * w1, h2, w2)))
    splitter = BandSplitter("dct", 0.2)
    x = torch.randn(2, layout.seq_len, 3)
    low = splitter.low_pass(x, layout)
    first, second = layout.segments
    alone = splitter.low_pass(x[:, first.start : first.end], TokenLayout(first.length, (GridSegment(0, h1, w1),)))
    torch.testing.assert_close(low[:, first.start : first.end], alone)
    # Changing the second image does not leak into the first one's bands.
    y = x.clone()
    y[:, second.start : second.end] += torch.randn(2, second.length, 3)
    torch.testing.assert_close(splitter.low_pass(y, layout)[:, first.start : first.end], alone)
    # Tokens outside every grid have no low band.
    assert low[:, :3].abs().max() == 0 and low[:, first.end : second.start].abs().max() == 0


def test_matrices_and_masks_are_built_once_per_grid():
    splitter = BandSplitter("dct", 0.1)
    layout = TokenLayout(64, (GridSegment(0, 8, 8),))
    splitter.low_pass(torch.randn(1, 64, 2), layout)
    matrix = splitter._matrices[(8, torch.device("cpu"))]
    splitter.low_pass(torch.randn(1, 64, 2), layout)
    assert splitter._matrices[(8, torch.device("cpu"))] is matrix and len(splitter._masks) == 1


def test_low_pass_runs_in_float32_for_half_inputs():
    x = torch.randn(1, 64, 4, dtype=torch.bfloat16)
    low = BandSplitter("fft", 0.1).low_pass(x, TokenLayout(64, (GridSegment(0, 8, 8),)))
    assert low.dtype == torch.float32


@parameterized.expand(
    [
        ("wrong_seq_len", (1, 50, 4)),
        ("not_3d", (64, 4)),
    ]
)
def test_shape_mismatch_raises(_, shape):
    with pytest.raises(ValueError, match="Expected features of shape"):
        BandSplitter("dct", 0.1).low_pass(torch.randn(*shape), TokenLayout(64, (GridSegment(0, 8, 8),)))


@parameterized.expand(
    [
        ("overlap", (GridSegment(0, 4, 4), GridSegment(10, 2, 2)), 32, "must not overlap"),
        ("past_end", (GridSegment(0, 4, 4),), 10, "past the sequence length"),
        ("empty_grid", (GridSegment(0, 0, 4),), 10, "positive height"),
    ]
)
def test_invalid_layouts_raise(_, segments, seq_len, message):
    with pytest.raises(ValueError, match=message):
        TokenLayout(seq_len, segments)


def test_invalid_decomposition_raises():
    with pytest.raises(ValueError, match="decomposition"):
        BandSplitter("wavelet", 0.1)
    with pytest.raises(ValueError, match="kind"):
        low_band_mask(4, 4, 0.1, "wavelet")


def test_fft_mask_counts_on_square_grid():
    # 16x16, ratio 0.1: |f| normalised per axis, radius <= 0.1 * sqrt(2) * 8 / 8 in index units -> the DC term and
    # its four nearest neighbours (the rfft half-spectrum holds (0,0), (+-1,0) and (0,1)).
    mask = low_band_mask(16, 16, 0.1, "fft")
    assert mask.shape == (16, 9)
    assert mask.sum().item() == 4 and mask[0, 0] and mask[1, 0] and mask[15, 0] and mask[0, 1]
    assert math.isclose(low_band_mask(16, 16, 1.0, "fft").float().mean().item(), 1.0)
