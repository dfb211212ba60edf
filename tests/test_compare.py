# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""`diffusers_freqca.compare`: the comparison the demo and the examples share, on a tiny random pipeline."""

import pytest
from tiny_pipelines import build_tiny_pipeline

from diffusers_freqca import FreqCaConfig, full_steps
from diffusers_freqca.compare import compare_configs, compare_with_and_without, format_comparison


@pytest.fixture(scope="module")
def flux():
    pipe, inputs = build_tiny_pipeline("flux")
    pipe.set_progress_bar_config(disable=True)
    call = dict(inputs.kwargs)
    call.pop("num_inference_steps", None)
    call.pop("generator", None)
    return pipe, call


def _call_order(monkeypatch, pipe):
    # Which kind of run each pipeline call was: "full" or the cache_interval of the enabled config.
    order = []
    original = type(pipe).__call__

    def recording_call(self, *args, **kwargs):
        config = getattr(self.transformer, "_cache_config", None)
        order.append("full" if config is None else config.cache_interval)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", recording_call)
    return order


def test_interleaved_runs_counts_and_quality(flux, monkeypatch):
    pipe, inputs = flux
    order = _call_order(monkeypatch, pipe)
    config = FreqCaConfig(warmup_stride=1, cache_interval=3)
    result = compare_with_and_without(pipe, inputs, config, num_inference_steps=10, repeats=3)
    # Warm-up (uncached), then without / with FreqCa in alternating order.
    assert order == ["full", "full", 3, 3, "full", "full", 3]
    assert len(result.seconds_full) == len(result.seconds_freqca) == 3
    evaluations = len(full_steps(10, config))
    assert result.evaluations_full == result.transformer_calls == 10
    assert result.evaluations_freqca == evaluations
    assert result.ideal_speedup == pytest.approx(10 / evaluations)
    assert result.speedup > 0 and 5.0 < result.psnr < 200.0
    assert not pipe.transformer.is_cache_enabled
    text = format_comparison(result)
    assert f"x measured, {10 / evaluations:.2f}x ideal (10 / {evaluations} block-stack evaluations)" in text
    assert "wall time (s, median of 3)" in text and "FreqCa context 'cond'" in text


def test_without_baseline_only_freqca_runs(flux, monkeypatch):
    pipe, inputs = flux
    order = _call_order(monkeypatch, pipe)
    result = compare_with_and_without(
        pipe,
        inputs,
        FreqCaConfig(warmup_stride=1, cache_interval=3),
        num_inference_steps=8,
        repeats=2,
        baseline=False,
        warmup_steps=0,
    )
    assert order == [3, 3]
    assert result.speedup is None and result.psnr is None and result.images_full is None
    assert result.ideal_speedup == pytest.approx(8 / 4)  # full steps 0, 1, 3, 6
    assert "speed-up not measured" in format_comparison(result)


def test_several_configs_share_the_baseline_and_rotate(flux, monkeypatch):
    pipe, inputs = flux
    order = _call_order(monkeypatch, pipe)
    configs = [FreqCaConfig(warmup_stride=1, cache_interval=2), FreqCaConfig(warmup_stride=1, cache_interval=4)]
    results = compare_configs(pipe, inputs, configs, num_inference_steps=8, repeats=3, warmup_steps=0)
    assert order == ["full", 2, 4, 2, 4, "full", 4, "full", 2]
    assert [r.evaluations_freqca for r in results] == [len(full_steps(8, c)) for c in configs]
    assert results[0].seconds_full is results[1].seconds_full


@pytest.mark.parametrize("kwargs", [{"repeats": 0}, {"num_inference_steps": 0}, {"warmup_steps": -1}])
def test_bad_counts(flux, kwargs):
    pipe, inputs = flux
    arguments = {"num_inference_steps": 4, **kwargs}
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        compare_with_and_without(pipe, inputs, FreqCaConfig(warmup_stride=1), **arguments)
