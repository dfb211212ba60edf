# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The quality benchmark's measuring tools against independent computations, and its quick mode end to end."""

import json
import math

import numpy as np
import pytest
import torch
from parameterized import parameterized
from scipy.signal import correlate2d

from diffusers_freqca import FreqCaConfig, full_steps
from diffusers_freqca.benchmarks import _common, quality


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
    assert _common.ssim(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(_ssim_reference(x, y), abs=1e-9)


def test_ssim_of_constant_images_and_identity():
    a, b = 0.3, 0.7
    expected = (2 * a * b + 0.01**2) / (a * a + b * b + 0.01**2)  # no variance: only the luminance term is left
    assert _common.ssim(torch.full((3, 16, 16), a), torch.full((3, 16, 16), b)) == pytest.approx(expected, rel=1e-6)
    image = torch.rand(2, 3, 16, 16)
    assert _common.ssim(image, image) == pytest.approx(1.0)


def test_psnr_matches_numpy_and_rejects_shape_mismatch():
    rng = np.random.default_rng(0)
    x, y = rng.random((2, 3, 8, 8)), rng.random((2, 3, 8, 8))
    assert _common.psnr(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(
        -10 * np.log10(((x - y) ** 2).mean())
    )
    assert _common.psnr(torch.from_numpy(x), torch.from_numpy(x)) == math.inf
    with pytest.raises(ValueError, match="shape"):
        _common.psnr(torch.zeros(3, 8, 8), torch.zeros(3, 8, 9))


def test_mac_counter_counts_every_linear_call():
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    with quality.MacCounter(model) as macs:
        model(torch.zeros(5, 3, 8))
        model(torch.zeros(2, 8))
    assert macs.total == (15 + 2) * (8 * 16 + 16 * 4)
    model(torch.zeros(1, 8))  # hooks are gone after the context
    assert macs.total == 17 * (8 * 16 + 16 * 4)


@parameterized.expand([(10, 50), (8, 50), (5, 20), (4, 12)])
def test_spread_schedule_ends_on_the_last_step(num_full, steps):
    schedule = quality.spread_schedule(num_full, steps)
    assert len(schedule) == num_full and schedule[:3] == (0, 1, 2) and schedule[-1] == steps - 1
    assert list(schedule) == sorted(set(schedule))
    config = FreqCaConfig(cache_interval=steps, full_compute_steps=schedule)
    assert full_steps(steps, config) == list(schedule)


def test_freqca_variants_match_the_papers_compute():
    # Every variant except the schedule ones keeps the paper's full steps, so they compare at equal compute.
    for method in quality.freqca_methods(6, 50):
        assert len(full_steps(50, method.config)) == 10, method.name


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    output = tmp_path_factory.mktemp("quality")
    assert quality.main(["--quick", "--no-peers", "--output-dir", str(output)]) == 0
    return output, json.loads((output / "results.json").read_text())


def test_quick_run_counts_compute_and_measures_against_the_full_run(quick_results):
    output, results = quick_results
    assert (output / "table.md").read_text().startswith("| matched to |")
    assert (output / "quality_vs_compute.png").stat().st_size > 1000
    names = [r["name"] for r in results]
    assert names == ["FreqCa N=3 (paper: dct, hidden_states)", "FreqCa N=3 residual"]
    for result in results:
        # --quick: 12 steps, N=3 -> full steps 0, 1, 2, 5, 8, 11; the MAC count sees the same 6 evaluations
        # (plus the output head's share on the 6 predicted steps).
        assert result["block_stack_evaluations"] == 6
        assert 6.0 < result["evaluations"] < 6.5
        assert 15.0 < result["psnr"] < 60.0 and 0.5 < result["ssim"] < 1.0
        assert result["psnr_min"] <= result["psnr"]
