# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The quality benchmark (`benchmarks/quality.py`, run from a clone): its compute counter against an independent
count, its schedules, the paper's recipe from the presets, and its quick mode end to end."""

import json

import pytest
import torch
from parameterized import parameterized

from benchmarks import quality
from diffusers_freqca import FreqCaConfig, full_steps
from diffusers_freqca.presets import get_preset


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
    config = FreqCaConfig(cache_interval=steps, first_interval=steps, full_compute_steps=schedule)
    assert full_steps(steps, config) == list(schedule)


@parameterized.expand([(6, 50, 1.5), (9, 50, 1.5), (6, 50, 2.0), (6, 28, 1.25), (4, 30, 3.0), (6, 50, 0.5)])
def test_power_schedule_moves_full_steps_but_keeps_their_number(interval, steps, power):
    even = full_steps(steps, FreqCaConfig(cache_interval=interval, first_interval=interval))
    moved = quality.power_schedule(interval, steps, power)
    assert len(moved) == len(even) and moved[:3] == (0, 1, 2) and moved[-1] == even[-1]
    assert list(moved) == sorted(set(moved))
    # Independent formula where rounding does not bunch positions: 2 + round(J * N * (k / J) ** power).
    after = len(even) - 3
    expected = [2 + round(after * interval * (k / after) ** power) for k in range(1, after + 1)]
    if all(b > a for a, b in zip([2, *expected], expected)):
        assert list(moved[3:]) == expected
    if power > 1:
        assert moved[3] <= even[3]
    config = FreqCaConfig(cache_interval=steps, first_interval=steps, full_compute_steps=moved)
    assert full_steps(steps, config) == list(moved)


def test_the_first_variant_is_the_papers_recipe():
    paper = quality.freqca_methods(6, 50, sweep=False)[0].config
    assert paper == get_preset("flux.1-dev", "paper").config


def test_freqca_variants_match_the_papers_compute():
    # Every variant keeps the paper's number of full steps, so they compare at equal compute.
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
        # --quick: 12 steps, the paper's N=3 -> full steps 0, 1, 2, 5, 8, 11; the MAC count sees the same 6 evaluations
        # (plus the output head's share on the 6 predicted steps).
        assert result["block_stack_evaluations"] == 6
        assert 6.0 < result["evaluations"] < 6.5
        assert 15.0 < result["psnr"] < 60.0 and 0.5 < result["ssim"] < 1.0
        assert result["psnr_min"] <= result["psnr"]
