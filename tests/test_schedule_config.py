# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The step schedule and the config's validation and serialisation."""

import pytest
import torch
from parameterized import parameterized

from diffusers_freqca import FreqCaConfig, full_steps, is_full_step


def test_paper_schedules():
    assert full_steps(50, FreqCaConfig(cache_interval=6)) == [0, 1, 2, 8, 14, 20, 26, 32, 38, 44]
    nine = full_steps(50, FreqCaConfig(cache_interval=9))
    assert nine == [0, 1, 2, 11, 20, 29, 38, 47] and 50 / len(nine) == 6.25


def test_interval_one_computes_every_step():
    assert full_steps(7, FreqCaConfig(cache_interval=1)) == list(range(7))


def test_extra_full_steps_and_disable_after():
    config = FreqCaConfig(cache_interval=6, full_compute_steps=(47, 5), disable_cache_after_step=49)
    assert config.full_compute_steps == (5, 47)
    # The interval counts from the most recent full step, whichever rule made it.
    assert full_steps(50, config) == [0, 1, 2, 5, 11, 17, 23, 29, 35, 41, 47, 49]


def test_is_full_step_without_history_is_full():
    assert is_full_step(10, None, FreqCaConfig())
    assert not is_full_step(10, 9, FreqCaConfig())


@parameterized.expand(
    [
        ("cache_interval", 0, "cache_interval"),
        ("cache_interval", 2.5, "cache_interval"),
        ("cache_interval", True, "cache_interval"),
        ("disable_cache_before_step", 0, "disable_cache_before_step"),
        ("disable_cache_after_step", -1, "disable_cache_after_step"),
        ("full_compute_steps", (1, -2), "full_compute_steps"),
        ("full_compute_steps", "12", "full_compute_steps"),
        ("decomposition", "wavelet", "decomposition"),
        ("cutoff_ratio", 0.0, "cutoff_ratio"),
        ("cutoff_ratio", 1.5, "cutoff_ratio"),
        ("cutoff_ratio", "0.1", "cutoff_ratio"),
        ("low_freq_order", 3, "low_freq_order"),
        ("high_freq_order", -1, "high_freq_order"),
        ("predictor", "spline", "predictor"),
        ("hermite_scale", 0.0, "hermite_scale"),
        ("spacing", "sigma", "spacing"),
        ("crf_form", "absolute", "crf_form"),
        ("cache_dtype", torch.int8, "cache_dtype"),
        ("grid_fallback", "guess", "grid_fallback"),
    ]
)
def test_invalid_values_name_the_field_and_value(field, value, pattern):
    with pytest.raises(ValueError, match=pattern) as error:
        FreqCaConfig(**{field: value})
    assert repr(value) in str(error.value) or str(value) in str(error.value)


def test_dict_round_trip_and_unknown_keys():
    config = FreqCaConfig(cache_interval=9, cache_dtype=torch.bfloat16, full_compute_steps=(48,), decomposition="fft")
    data = config.to_dict()
    assert data["cache_dtype"] == "bfloat16" and data["full_compute_steps"] == [48]
    assert FreqCaConfig.from_dict(data) == config
    with pytest.raises(ValueError, match="Unknown FreqCaConfig field.*'interval'"):
        FreqCaConfig.from_dict({"interval": 6})
    with pytest.raises(ValueError, match="cache_dtype"):
        FreqCaConfig.from_dict({"cache_dtype": "int4"})


def test_derived_properties():
    assert FreqCaConfig().splits_bands and FreqCaConfig().forecast_order == 2
    assert not FreqCaConfig(decomposition="none").splits_bands
    assert not FreqCaConfig(low_freq_order=1, high_freq_order=1).splits_bands


@parameterized.expand([(6, 1.5, 50), (9, 1.5, 50), (6, 2.0, 50), (6, 1.25, 28), (4, 3.0, 30), (6, 0.5, 50)])
def test_schedule_power_moves_full_steps_but_keeps_their_number(interval, power, steps):
    even = full_steps(steps, FreqCaConfig(cache_interval=interval))
    config = FreqCaConfig(cache_interval=interval, schedule_power=power, num_inference_steps=steps)
    warped = full_steps(steps, config)
    assert len(warped) == len(even) and warped[:3] == [0, 1, 2]
    # Independent formula: the k-th of the J full steps after the warm-up at 2 + round(J * N * (k / J) ** power),
    # J and the last one's position taken from the even schedule.
    after = even[3:]
    expected = [2 + round(len(after) * interval * (k / len(after)) ** power) for k in range(1, len(after) + 1)]
    if all(b > a for a, b in zip([2, *expected], expected)):  # no rounding collisions: the formula holds as is
        assert warped[3:] == expected
    assert warped[-1] == even[-1]
    if power > 1:  # front-loaded: the first gap after the warm-up is no longer than the even one
        assert warped[3] <= even[3]


def test_schedule_power_one_is_the_papers_schedule_and_longer_runs_continue_evenly():
    assert full_steps(50, FreqCaConfig(schedule_power=1.0, num_inference_steps=50)) == full_steps(50, FreqCaConfig())
    config = FreqCaConfig(cache_interval=6, schedule_power=1.5, num_inference_steps=50)
    assert full_steps(50, config) == [0, 1, 2, 4, 8, 14, 20, 27, 35, 44]
    # 62 steps where 50 were planned: after the last planned full step the even rule takes over.
    assert full_steps(62, config) == [0, 1, 2, 4, 8, 14, 20, 27, 35, 44, 50, 56]


@parameterized.expand(
    [
        ({"schedule_power": 1.5}, "num_inference_steps"),
        ({"schedule_power": 0.1, "num_inference_steps": 50}, "schedule_power"),
        ({"schedule_power": "1.5", "num_inference_steps": 50}, "schedule_power"),
        ({"schedule_power": True, "num_inference_steps": 50}, "schedule_power"),
        ({"num_inference_steps": 0}, "num_inference_steps"),
    ]
)
def test_schedule_power_validation(kwargs, field_name):
    with pytest.raises(ValueError, match=field_name):
        FreqCaConfig(**kwargs)


@parameterized.expand([(p,) for p in (0.25, 0.5, 0.75, 1.5, 2.0, 4.0)])
def test_schedule_power_keeps_the_count_for_every_length_and_interval(power):
    # Rounding bunches positions where the schedule is dense; none may be lost or doubled.
    for steps in range(1, 81):
        for interval in range(1, 12):
            even = full_steps(steps, FreqCaConfig(cache_interval=interval))
            warped = full_steps(
                steps, FreqCaConfig(cache_interval=interval, schedule_power=power, num_inference_steps=steps)
            )
            assert len(warped) == len(even) and warped == sorted(set(warped)), (steps, interval)
            assert warped[-1] == even[-1], (steps, interval)
