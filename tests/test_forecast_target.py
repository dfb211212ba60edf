# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""`forecast_target`: the CRF at the output head's input, or the model's output; both against independent
computations on tiny models called step by step."""

import math

import pytest
import torch
from model_utils import TINY_MODELS, BlockComputeCounter, run_steps, timesteps
from parameterized import parameterized

from diffusers_freqca import FreqCaConfig, full_steps, get_freqca_stats
from diffusers_freqca.forecast import LOG_SNR_OFFSET


def _log_snr(sigma: float) -> float:
    return math.log((1 - sigma + LOG_SNR_OFFSET) / (sigma + LOG_SNR_OFFSET))


@parameterized.expand([("flux",), ("qwen",)])
def test_model_output_target_extrapolates_the_outputs_of_the_last_two_full_steps(name):
    tiny = TINY_MODELS[name]()
    times = timesteps(14)
    reference = run_steps(tiny, times=times)
    config = FreqCaConfig(cache_interval=4, forecast_target="model_output")
    tiny.model.enable_cache(config)
    counter = BlockComputeCounter(tiny.model)
    cached = run_steps(tiny, times=times)
    counter.remove()
    full = full_steps(14, config)
    assert get_freqca_stats(tiny.model).contexts["cond"].full_steps == full
    tiny.model.disable_cache()
    blocks_per_call = max(counter.per_call)
    for step, (got, want) in enumerate(zip(cached, reference)):
        if step in full:
            # Full steps run the whole model: bit for bit the uncached output, every block computed.
            assert torch.equal(got, want) and counter.per_call[step] == blocks_per_call
            continue
        assert counter.per_call[step] == 0
        # Predicted steps: the line through the outputs of the last two full steps, along the log-SNR, computed here
        # from the *cached* run's own full-step outputs.
        last, before = [s for s in full if s < step][-2:][::-1]
        p0, p1, p = _log_snr(times[last]), _log_snr(times[before]), _log_snr(times[step])
        expected = cached[last] + (p - p0) / (p0 - p1) * (cached[last] - cached[before])
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@parameterized.expand([("flux",), ("qwen",)])
def test_model_output_cache_holds_two_output_sized_tensors(name):
    tiny = TINY_MODELS[name]()
    tiny.model.enable_cache(FreqCaConfig(forecast_target="model_output"))
    outputs = run_steps(tiny, num_steps=12)
    stats = get_freqca_stats(tiny.model).contexts["cond"]
    tiny.model.disable_cache()
    # The value and the first divided difference, in the model's dtype.
    assert stats.cache_bytes == 2 * outputs[0].numel() * outputs[0].element_size()


def test_model_output_refuses_a_band_split_and_the_residual_form():
    with pytest.raises(ValueError, match="forecast_target='model_output'"):
        FreqCaConfig(forecast_target="model_output", decomposition="dct", low_freq_order=0)
    with pytest.raises(ValueError, match="crf_form"):
        FreqCaConfig(forecast_target="model_output", crf_form="residual")
    # Equal band orders split nothing, so a decomposition is allowed (and unused).
    FreqCaConfig(forecast_target="model_output", decomposition="dct")
    with pytest.raises(ValueError, match="forecast_target"):
        FreqCaConfig(forecast_target="output")
