# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The zoo benchmark (`benchmarks/zoo.py`) and the design study, run from a clone: the margin rule against an
independent computation, the study's table, and a small real measurement on a committed zoo model."""

import json
import math
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from benchmarks import zoo
from benchmarks.design_study import format_study, variants
from benchmarks.zoo import Result, ZooBench, freqca_default, margins, merge_results, write_summary
from diffusers_freqca import FreqCaConfig, full_steps
from tools.zoo.load import is_trained


def _result(method, family, interval, evaluations, psnr):
    return Result(method, family, interval, evaluations, 0, psnr, psnr, psnr, 1.0, 0.0)


def test_margin_is_taken_over_peers_with_at_most_one_more_step():
    results = [
        _result("FreqCa default N=6", "FreqCa", 6, 10.2, 40.0),
        _result("FreqCa paper N=6", "FreqCa paper", 6, 10.2, 45.0),  # our own variants are not peers
        _result("TaylorSeer lite", "TaylorSeer", 6, 11.2, 39.0),  # exactly one more step: a peer
        _result("fewer steps (12)", "fewer steps", 6, 12.0, 41.5),  # 1.8 more: not a peer
        _result("MagCache", "MagCache", 6, 9.0, 38.0),
    ]
    margin = margins(results)[6]
    assert margin["best_peer"] == "TaylorSeer lite"
    assert margin["margin"] == pytest.approx(40.0 - 39.0)
    assert margin["best_peer_evaluations"] == pytest.approx(11.2)


def test_a_peer_run_for_another_interval_counts_when_its_compute_is_in_the_window():
    # Plain sampling with 6 steps is run beside N=9; at N=6 the default also makes 6 evaluations, so it competes there.
    results = [
        _result("FreqCa default N=6", "FreqCa", 6, 6.0, 32.9),
        _result("MagCache", "MagCache", 6, 7.1, 27.6),
        _result("FreqCa default N=9", "FreqCa", 9, 5.0, 29.0),
        _result("fewer steps (6)", "fewer steps", 9, 6.0, 28.7),
        _result("fewer steps (8)", "fewer steps", 9, 8.0, 35.0),  # 2 more than N=6's 6: outside both windows
    ]
    by_interval = margins(results)
    assert by_interval[6]["best_peer"] == "fewer steps (6)"
    assert by_interval[6]["margin"] == pytest.approx(32.9 - 28.7)
    assert by_interval[9]["best_peer"] == "fewer steps (6)"
    assert by_interval[9]["margin"] == pytest.approx(29.0 - 28.7)


def test_a_peer_that_skips_whole_steps_is_compared_at_one_more_full_evaluation():
    def row(method, family, evaluations, full, psnr):
        return Result(method, family, 6, evaluations, full, psnr, psnr, psnr, 1.0, 0.0)

    results = [
        # Under true CFG (two calls per step): plain sampling's 10 steps are 20 calls.
        row("fewer steps (10)", "fewer steps", 10.0, 20, 30.0),
        row("FreqCa default N=6", "FreqCa", 10.0, 20, 40.0),  # predicted steps run nothing: exactly 10 steps
        # One more full evaluation plus 0.17 steps of embedders on its predicted steps: compared.
        row("TaylorSeer lite", "TaylorSeer", 11.17, 22, 39.5),
        # Two more full evaluations: not compared.
        row("MagCache", "MagCache", 12.1, 24, 45.0),
        # Few full evaluations but much partial compute (its first block on every step): judged by compute only.
        row("FirstBlockCache", "FirstBlockCache", 11.4, 2, 44.0),
    ]
    margin = margins(results)[6]
    assert margin["best_peer"] == "TaylorSeer lite" and margin["margin"] == pytest.approx(0.5)


def test_a_default_only_run_replaces_the_default_rows_and_keeps_the_peers():
    stored = [
        asdict(_result("FreqCa default N=6", "FreqCa", 6, 10.2, 40.0)),
        asdict(_result("FreqCa calibrated N=6", "FreqCa calibrated", 6, 10.2, 42.0)),
        asdict(_result("TaylorSeer lite", "TaylorSeer", 6, 11.2, 39.0)),
        asdict(_result("FreqCa default N=9", "FreqCa", 9, 7.2, 35.0)),
    ]
    new = [_result("FreqCa default N=6", "FreqCa", 6, 10.2, 41.0)]
    rows = merge_results(stored, new, [6], only="default")
    assert [(r["family"], r["interval"], r["psnr"]) for r in rows] == [
        ("FreqCa calibrated", 6, 42.0),
        ("TaylorSeer", 6, 39.0),
        ("FreqCa", 6, 41.0),
        ("FreqCa", 9, 35.0),
    ]
    assert margins([Result(**r) for r in rows])[6]["margin"] == pytest.approx(2.0)
    # A full run of an interval replaces every row of it.
    rows = merge_results(stored, new, [6])
    assert [(r["family"], r["interval"]) for r in rows] == [("FreqCa", 6), ("FreqCa", 9)]


def test_summary_reports_every_margin_and_the_worst_case_per_half(tmp_path):
    tune = {
        "t2i-50": [
            asdict(_result("FreqCa default N=6", "FreqCa", 6, 10.2, 40.0)),
            asdict(_result("FreqCa calibrated N=6", "FreqCa calibrated", 6, 10.2, 43.0)),
            asdict(_result("TaylorSeer lite", "TaylorSeer", 6, 11.2, 39.0)),
            asdict(_result("FreqCa default N=9", "FreqCa", 9, 7.2, 30.0)),
            asdict(_result("fewer steps (8)", "fewer steps", 9, 8.0, 32.5)),
        ]
    }
    held_out = {"t2i-28": [asdict(_result("FreqCa default N=6", "FreqCa", 6, 6.1, 35.0)),
                           asdict(_result("fewer steps (7)", "fewer steps", 6, 7.0, 34.0))]}  # fmt: skip
    (tmp_path / "flux-scenes-16.json").write_text(json.dumps(tune))
    (tmp_path / "flux-mixed-24x32.json").write_text(json.dumps(held_out))
    text = write_summary(tmp_path)
    assert (tmp_path / "summary.md").read_text() == text
    assert (
        "| flux-scenes-16 (tune) | t2i-50 | 6 | 10.20, 40.00 | TaylorSeer lite: 11.20, 39.00 | +1.00 | +4.00 |" in text
    )
    assert "| flux-scenes-16 (tune) | t2i-50 | 9 | 7.20, 30.00 | fewer steps (8): 8.00, 32.50 | -2.50 | - |" in text
    assert "Worst case of the default, tune half: -2.50 dB (flux-scenes-16 t2i-50 N=9)." in text
    assert "Worst case of the default, held-out half: +1.00 dB (flux-mixed-24x32 t2i-28 N=6)." in text
    # Each peer on its own: TaylorSeer is in the window once (+1.00); plain sampling with 8 steps is in the window of
    # both N=6 (+7.50) and N=9 (-2.50), with 7 steps in the held-out N=6 (+1.00).
    assert "| TaylorSeer | 1 | 1 | 0 | +1.00 (flux-scenes-16 t2i-50 N=6) |" in text
    assert "| fewer steps | 3 | 2 | 1 | -2.50 (flux-scenes-16 t2i-50 N=9) |" in text
    assert "| MagCache |" not in text
    # Counts over the same cells: text-to-image N=6 +1.00 (held-out) and +1.00 / -2.50 (tune); calibrated +4.00 only.
    assert (
        "Cells at N = 6, 9, default, text-to-image: ahead by >= 0.5 dB in 2 of 3, behind in 1 "
        "(worst -2.50, flux-scenes-16 t2i-50 N=9)." in text
    )
    assert "calibrated configuration: ahead by >= 0.5 dB in 1 of 1, behind in 0" in text
    assert "The calibrated configuration scores below the default in 0 of 1 cells." in text
    assert "image-to-image" not in text and "other intervals" not in text


def test_margin_against_one_peer_family_only():
    results = [
        _result("FreqCa default N=6", "FreqCa", 6, 10.0, 40.0),
        _result("TaylorSeer lite", "TaylorSeer", 6, 11.0, 41.0),
        _result("MagCache", "MagCache", 6, 10.1, 38.0),
    ]
    assert margins(results)[6]["margin"] == pytest.approx(-1.0)
    assert margins(results, peer_family="MagCache")[6]["margin"] == pytest.approx(2.0)
    assert margins(results, peer_family="PAB")[6]["best_peer"] is None


def test_study_variants_are_valid_configs_and_the_table_reports_changes_against_the_default():
    for interval in (6, 9):
        for architecture in ("flux", "qwen"):
            for fields in variants(interval, architecture).values():
                FreqCaConfig(cache_interval=interval, **fields)
    rows = [
        {"model": "m", "setting": "s", "interval": 6, "variant": "default (x)", "psnr": 40.0},
        {"model": "m", "setting": "s", "interval": 6, "variant": "axis: sigma", "psnr": 37.5},
    ]
    table = format_study(rows)
    assert "| axis: sigma | 37.50 | -2.50 |" in table and "| default (x) | 40.00 | +0.00 |" in table


@pytest.mark.skipif(not is_trained("flux-scenes-16"), reason="the zoo checkpoint is not in this checkout")
def test_a_real_measurement_on_a_zoo_model_counts_its_compute():
    torch.manual_seed(0)
    bench = ZooBench("flux-scenes-16", "t2i-28", images=2)
    result = bench.measure("default", "FreqCa", 6, freqca_default(6))
    # Compute in equivalent steps: the full steps plus what every step pays outside the blocks (a small share).
    computed = len(full_steps(28, FreqCaConfig(cache_interval=6)))
    assert computed <= result.evaluations < computed + 0.2
    assert math.isfinite(result.psnr) and 25 < result.psnr < 80
    again = bench.measure("default", "FreqCa", 6, freqca_default(6))
    assert again.psnr == result.psnr  # seeded: the same images every time
    plain = bench.measure("plain", "fewer steps", 6, None, steps=28)
    assert plain.evaluations == pytest.approx(28.0) and math.isinf(plain.psnr_min)


def _row(family, interval, evaluations, psnr):
    return {"family": family, "interval": interval, "block_stack_evaluations": evaluations, "psnr": psnr}


def test_default_comparison_between_two_stored_results():
    old = {
        "t2i-50": [_row("FreqCa", 6, 10, 40.0), _row("FreqCa", 9, 7, 35.0), _row("TaylorSeer", 6, 11, 41.0)],
        "t2i-28": [_row("FreqCa", 6, 6, 30.0)],
    }
    new = {
        "t2i-50": [_row("FreqCa", 9, 7, 34.5), _row("FreqCa", 6, 10, 41.5), _row("FreqCa", 12, 6, 33.0)],
        "t2i-28": [_row("FreqCa", 6, 5, 29.0)],
    }
    changes = zoo.compare_default(old, new)
    # Only cells stored both times, peers ignored, intervals in order.
    assert [(c["setting"], c["interval"]) for c in changes] == [("t2i-50", 6), ("t2i-50", 9), ("t2i-28", 6)]
    assert [round(c["change"], 6) for c in changes] == [1.5, -0.5, -1.0]
    assert (changes[2]["old_evaluations"], changes[2]["new_evaluations"]) == (6, 5)
    text = zoo.format_comparison({"m": changes}, "abc123")
    assert "| m | t2i-50 | 6 | 10 -> 10 | 40.00 | 41.50 | +1.50 |" in text
    # Two cells with unchanged evaluations: one up by 1.5, one down by 0.5, mean +0.5.
    assert (
        "same evaluations: 2 cells, higher in 1 (mean +1.50 dB), lower in 1 (down to -0.50 dB); mean change +0.50"
        in text
    )
    assert "other evaluations: 1 cells, higher in 0, lower in 1 (down to -1.00 dB); mean change -1.00" in text


def test_compare_with_reads_the_committed_results(tmp_path, capsys):
    import subprocess

    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    path = tmp_path / "flux-scenes-16.json"
    path.write_text(json.dumps({"t2i-50": [_row("FreqCa", 6, 10, 40.0)]}))
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "then"], check=True)
    path.write_text(json.dumps({"t2i-50": [_row("FreqCa", 6, 10, 42.25)]}))
    argv = ["--models", "flux-scenes-16", "--out", str(tmp_path), "--compare-with", "HEAD"]
    assert zoo.main(argv) == 0
    assert "| flux-scenes-16 | t2i-50 | 6 | 10 -> 10 | 40.00 | 42.25 | +2.25 |" in capsys.readouterr().out
    # A model added to the zoo after the revision is named, not compared.
    (tmp_path / "qwen-mixed-16.json").write_text(json.dumps({"t2i-50": [_row("FreqCa", 6, 10, 39.0)]}))
    argv = ["--models", "flux-scenes-16", "qwen-mixed-16", "--out", str(tmp_path), "--compare-with", "HEAD"]
    assert zoo.main(argv) == 0
    out = capsys.readouterr().out
    assert "| flux-scenes-16 | t2i-50 | 6 |" in out and "| qwen-mixed-16 |" not in out
    assert "Not stored both at HEAD and now (not compared): qwen-mixed-16." in out
    with pytest.raises(ValueError, match="'no-such-revision' is not a commit"):
        zoo.main(["--models", "flux-scenes-16", "--out", str(tmp_path), "--compare-with", "no-such-revision"])


def test_summary_counts_the_other_intervals_only_where_peers_were_run_for_them(tmp_path):
    rows = {
        "t2i-50": [
            asdict(_result("FreqCa default N=3", "FreqCa", 3, 17.0, 50.0)),
            asdict(_result("TaylorSeer lite N=3", "TaylorSeer", 3, 18.0, 51.0)),  # run for N=3: counted, -1.00
            asdict(_result("FreqCa default N=12", "FreqCa", 12, 6.0, 30.0)),
            asdict(_result("fewer steps (7)", "fewer steps", 6, 7.0, 20.0)),  # run for N=6 only: N=12 not counted
        ]
    }
    (tmp_path / "flux-scenes-16.json").write_text(json.dumps(rows))
    text = write_summary(tmp_path)
    assert (
        "Cells at the other intervals with peers run for them, default: ahead by >= 0.5 dB in 0 of 1, behind in 1 "
        "(worst -1.00, flux-scenes-16 t2i-50 N=3)." in text
    )
    assert "The same cells against TaylorSeerCache on its own: ahead by >= 0.5 dB in 0 of 1, behind in 1" in text


def test_each_model_defaults_to_the_image_count_its_stored_results_were_measured_with():
    import re

    from tools.zoo.specs import ZOO

    for name in ZOO:
        page = (Path(__file__).resolve().parents[1] / "docs/benchmark_results/zoo" / f"{name}.md").read_text()
        stored = int(re.search(r"the mean over (\d+) images", page).group(1))
        assert zoo.images_for(name) == stored, name
    assert zoo.images_for("flux-scenes-16", 4) == 4


def test_placement_search_moves_one_full_step_at_a_time_and_keeps_step_zero():
    from benchmarks.placement_search import even_grid, neighbours

    assert even_grid(28, 5) == (0, 6, 11, 17, 22)
    assert even_grid(50, 7) == (0, 7, 14, 21, 29, 36, 43)
    # Full steps at least one step apart never round together: the search always starts at the default's count.
    for run_steps in range(1, 60):
        for count in range(1, run_steps + 1):
            grid = even_grid(run_steps, count)
            assert len(grid) == count and grid[0] == 0 and grid[-1] < run_steps
    moves = neighbours((0, 3, 8, 17, 26), 28)
    assert (0, 1, 8, 17, 26) in moves and (0, 3, 8, 17, 27) in moves
    assert (0, 3, 8, 17, 28) not in moves  # past the last step
    for placement in moves:
        assert placement[0] == 0 and len(placement) == 5 and list(placement) == sorted(set(placement))
        assert sum(a != b for a, b in zip(placement, (0, 3, 8, 17, 26))) == 1
    assert neighbours((0, 1, 2), 3) == []  # nowhere to go


def test_placement_search_climbs_to_the_optimum_of_a_separable_score():
    from benchmarks.placement_search import MIN_GAIN, local_search

    target = (0, 5, 10, 17, 24)
    calls = []

    def score(steps):
        calls.append(steps)
        return -float(sum((a - b) ** 2 for a, b in zip(steps, target)))

    best, value, moves = local_search(score, (0, 3, 8, 17, 26), 28, log=lambda *_: None)
    assert best == target and value == 0.0 and moves > 0
    # A gain at or under MIN_GAIN is not taken.
    flat = local_search(lambda steps: MIN_GAIN * (steps[1] == 4), (0, 3, 9), 12, log=lambda *_: None)
    assert flat[0] == (0, 3, 9) and flat[2] == 0


def test_placement_config_runs_exactly_the_given_full_steps():
    from benchmarks.placement_search import FORECASTS, placement_config

    for fields in FORECASTS.values():
        for steps in [(0, 5, 10, 17, 24), (0, 1, 2, 3), (0,)]:
            assert tuple(full_steps(28, placement_config(steps, **fields))) == steps
    with pytest.raises(ValueError, match="starting at 0"):
        placement_config((5, 9))


def test_placement_search_table_gives_the_margin_over_plain_sampling_with_one_more_step():
    from benchmarks.placement_search import format_search

    result = {
        "model": "m", "setting": "t2i-28", "interval": 9, "default_full_steps": [0, 3, 8, 17, 26],
        "default_psnr": 16.4, "plain": {"5": 23.5, "6": 25.5},
        "forecasts": {"f": {"best_full_steps": [0, 5, 11, 18, 24], "psnr": 24.25, "placements_measured": 40}},
    }  # fmt: skip
    row = format_search([result]).splitlines()[-1]
    assert row == (
        "| m | t2i-28 | 9 | 5 | [0, 3, 8, 17, 26] | 16.40 | 23.50 | 25.50 | f | [0, 5, 11, 18, 24] | 24.25 | -1.25 | 40 |"
    )


@pytest.mark.skipif(not is_trained("flux-scenes-16"), reason="the zoo checkpoint is not in this checkout")
def test_a_placement_runs_as_many_evaluations_as_it_lists_through_the_hooks():
    from benchmarks.placement_search import FORECASTS, placement_config

    bench = ZooBench("flux-scenes-16", "t2i-28", images=1)
    for fields in FORECASTS.values():
        result = bench.measure("placement", "FreqCa", 9, placement_config((0, 5, 10, 17, 24), **fields))
        assert round(result.evaluations) == 5 and result.block_stack_evaluations == 5
