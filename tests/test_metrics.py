# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""`diffusers_freqca.metrics`: PSNR and SSIM against independent computations, the image conversion, and the feature
metrics' edge cases."""

import math

import numpy as np
import pytest
import torch
from parameterized import parameterized
from PIL import Image
from scipy.signal import correlate2d

from diffusers_freqca import metrics


def _ssim_reference(x: np.ndarray, y: np.ndarray) -> float:
    # Straight from the definition, one channel at a time, with scipy doing the window sums.
    coords = np.arange(11) - 5.0
    g = np.exp(-(coords**2) / (2 * 1.5**2))
    window = np.outer(g, g) / np.outer(g, g).sum()
    values = []
    for a, b in zip(x, y):
        mu_a, mu_b = correlate2d(a, window, "valid"), correlate2d(b, window, "valid")
        var_a = correlate2d(a * a, window, "valid") - mu_a**2
        var_b = correlate2d(b * b, window, "valid") - mu_b**2
        cov = correlate2d(a * b, window, "valid") - mu_a * mu_b
        c1, c2 = 0.01**2, 0.03**2
        values.append(
            ((2 * mu_a * mu_b + c1) * (2 * cov + c2) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))).mean()
        )
    return float(np.mean(values))


@parameterized.expand([(0,), (1,), (2,)])
def test_ssim_matches_the_definition(seed):
    rng = np.random.default_rng(seed)
    x = rng.random((3, 24, 20))
    y = np.clip(x + 0.1 * rng.standard_normal(x.shape), 0, 1)
    assert metrics.ssim(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(_ssim_reference(x, y), abs=1e-9)


def test_ssim_of_constant_images_and_identity():
    a, b = 0.3, 0.7
    expected = (2 * a * b + 0.01**2) / (a * a + b * b + 0.01**2)  # no variance: only the luminance term is left
    assert metrics.ssim(torch.full((3, 16, 16), a), torch.full((3, 16, 16), b)) == pytest.approx(expected, rel=1e-6)
    image = torch.rand(2, 3, 16, 16)
    assert metrics.ssim(image, image) == pytest.approx(1.0)


def test_psnr_matches_numpy_and_rejects_shape_mismatch():
    rng = np.random.default_rng(0)
    x, y = rng.random((2, 3, 8, 8)), rng.random((2, 3, 8, 8))
    assert metrics.psnr(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(
        -10 * np.log10(((x - y) ** 2).mean())
    )
    assert metrics.psnr(torch.from_numpy(x), torch.from_numpy(x)) == math.inf
    with pytest.raises(ValueError, match="shape"):
        metrics.psnr(torch.zeros(3, 8, 8), torch.zeros(3, 8, 9))


def test_image_to_tensor_accepts_what_pipelines_return():
    array = np.random.default_rng(0).random((2, 5, 7, 3)).astype(np.float32)  # output_type="np"
    tensor = metrics.image_to_tensor(array)
    assert tensor.shape == (2, 3, 5, 7) and tensor.dtype == torch.float64
    assert torch.equal(tensor[1, 2], torch.from_numpy(array[1, :, :, 2]).double())
    pil = Image.fromarray((array[0] * 255).round().astype(np.uint8))
    from_pil = metrics.image_to_tensor([pil, pil])
    assert from_pil.shape == (2, 3, 5, 7)
    assert torch.allclose(from_pil[0], tensor[0], atol=0.5 / 255 + 1e-9)
    pt = torch.rand(1, 3, 4, 4)
    assert torch.equal(metrics.image_to_tensor(pt), pt.double())
    with pytest.raises(ValueError, match="PIL image"):
        metrics.image_to_tensor("image.png")


def test_psnr_of_8_bit_images():
    a = Image.new("RGB", (4, 4), (0, 0, 0))
    b = Image.new("RGB", (4, 4), (255, 255, 255))
    assert metrics.psnr(metrics.image_to_tensor(a), metrics.image_to_tensor(b)) == pytest.approx(0.0)
    assert metrics.psnr(metrics.image_to_tensor(a), metrics.image_to_tensor(a)) == math.inf


def test_feature_metrics_edge_cases():
    zero = torch.zeros(2, 3)
    assert metrics.cosine_similarity(zero, zero) == 1.0
    assert metrics.relative_error(zero, zero) == 0.0
    assert metrics.relative_error(torch.ones(2, 3), zero) == math.inf
    assert metrics.cosine_similarity(torch.tensor([[1.0, 0.0]]), torch.tensor([[-2.0, 0.0]])) == -1.0
