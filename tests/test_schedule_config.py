# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The step schedule and the config's validation and serialisation."""

import dataclasses
import json
import typing

import pytest
import torch
from model_utils import TINY_MODELS, run_steps, written_out_schedule
from parameterized import parameterized

from diffusers_freqca import FreqCaConfig, full_steps, get_freqca_stats, is_full_step


def test_default_schedules():
    # Written out by hand: warm-up 0 and 3; the first full step ceil(N / 2) after step 3; then every N.
    assert full_steps(50, FreqCaConfig(cache_interval=6)) == [0, 3, 6, 12, 18, 24, 30, 36, 42, 48]
    assert full_steps(50, FreqCaConfig(cache_interval=9)) == [0, 3, 8, 17, 26, 35, 44]
    assert full_steps(28, FreqCaConfig(cache_interval=9)) == [0, 3, 8, 17, 26]
    assert full_steps(12, FreqCaConfig(cache_interval=3)) == [0, 3, 5, 8, 11]
    # The stride is capped at the interval: N=2 warms up on steps 0 and 2.
    assert full_steps(8, FreqCaConfig(cache_interval=2)) == [0, 2, 3, 5, 7]
    # The paper's consecutive warm-up is one field away.
    assert full_steps(12, FreqCaConfig(cache_interval=3, warmup_stride=1)) == [0, 1, 3, 6, 9]


def test_paper_schedules_with_an_even_first_interval():
    # The paper's schedule: three warm-up steps (0, 1, 2), then one full step every N steps after step 2.
    paper = {"disable_cache_before_step": 3, "warmup_stride": 1}
    six = full_steps(50, FreqCaConfig(cache_interval=6, first_interval=6, **paper))
    assert six == [0, 1, 2, 8, 14, 20, 26, 32, 38, 44]
    nine = full_steps(50, FreqCaConfig(cache_interval=9, first_interval=9, **paper))
    assert nine == [0, 1, 2, 11, 20, 29, 38, 47] and 50 / len(nine) == 6.25
    # With the default warm-up (steps 0 and 3) the even schedule starts N steps after step 3.
    assert full_steps(50, FreqCaConfig(cache_interval=6, first_interval=6)) == [0, 3, 9, 15, 21, 27, 33, 39, 45]


def test_schedule_matches_the_written_out_rule_for_every_length_interval_and_warmup():
    for steps in range(0, 61):
        for interval in range(1, 12):
            for warmup in (1, 2, 3, 5):
                for first in (None, 1, interval, interval + 2):
                    for stride in (1, 2, 3, 7):
                        config = FreqCaConfig(
                            cache_interval=interval,
                            disable_cache_before_step=warmup,
                            first_interval=first,
                            warmup_stride=stride,
                        )
                        expected = written_out_schedule(steps, interval, warmup, first, stride)
                        assert full_steps(steps, config) == expected, (steps, interval, warmup, first, stride)


def test_schedule_needs_no_step_count():
    # A longer run starts with the shorter run's full steps: nothing depends on the length.
    config = FreqCaConfig(cache_interval=6)
    long = full_steps(80, config)
    for steps in range(1, 80):
        assert full_steps(steps, config) == [s for s in long if s < steps]


def test_interval_one_computes_every_step():
    assert full_steps(7, FreqCaConfig(cache_interval=1)) == list(range(7))


def test_extra_full_steps_and_disable_after():
    config = FreqCaConfig(cache_interval=6, full_compute_steps=(47, 5), disable_cache_after_step=49)
    assert config.full_compute_steps == (5, 47)
    # The interval counts from the most recent full step, whichever rule made it.
    assert full_steps(50, config) == [0, 3, 5, 11, 17, 23, 29, 35, 41, 47, 49]
    # An extra full step inside the first interval (the scheduled one is step 6): the regular interval counts from it.
    assert full_steps(20, FreqCaConfig(cache_interval=6, full_compute_steps=(4,))) == [0, 3, 4, 10, 16]
    # Inside the warm-up, extra full steps are full too and do not move the warm-up's own steps.
    assert full_steps(12, FreqCaConfig(cache_interval=6, full_compute_steps=(1,))) == [0, 1, 3, 6]


def test_is_full_step_without_history_is_full():
    assert is_full_step(10, None, FreqCaConfig())
    assert not is_full_step(10, 9, FreqCaConfig())
    assert is_full_step(0, 5, FreqCaConfig())  # warm-up, whatever came before


def test_full_steps_rejects_bad_lengths():
    for bad in (-1, 2.0, True, "3"):
        with pytest.raises(ValueError, match="num_inference_steps"):
            full_steps(bad, FreqCaConfig())


# ---------------------------------------------------------------------------------------------- validation (issue 9.6)

NON_FINITE = (float("nan"), float("inf"), float("-inf"))
# Every field with values it must refuse: out of range, wrong type, and (below) NaN and infinity in float fields.
BAD_VALUES: dict[str, list] = {
    "cache_interval": [0, -3, 2.5, 6.0, True, "6", None],
    "disable_cache_before_step": [0, -1, 1.5, False, "3", None],
    "warmup_stride": [0, -1, 3.0, True, "3", None],
    "first_interval": [0, -2, 3.0, True, "3"],
    "disable_cache_after_step": [-1, 4.0, True, "48"],
    "full_compute_steps": [(1, -2), (1.0,), (True,), "12", b"12", 12, ("1",)],
    "spacing": ["timestep", "", "LOG_SNR", 1, None],
    "decomposition": ["wavelet", "DCT", 0, None],
    "cutoff_ratio": [0.0, -0.1, 1.5, "0.1", True, None, 10**400],
    "temporal_cutoff_ratio": [0.0, 1.01, "0.5", True, 10**400],
    "low_freq_order": [3, -1, 1.0, True, "0", None],
    "high_freq_order": [3, -1, 2.0, False, "2", None],
    "predictor": ["spline", "Taylor", 0, None],
    "hermite_scale": [0.0, -0.71, 10.5, "0.71", True, None, 10**400],
    "crf_form": ["absolute", "", 1, None],
    "cache_dtype": [torch.int8, torch.complex64, "float32", float, 16],
    "grid_fallback": ["guess", "", 0, None],
    # `None` is valid: it resolves to "model_output", or to "crf" for a band split.
    "forecast_target": ["output", "", 1, "CRF"],
    "output_form": ["noise_form", "", "Velocity", 1, None],
}
FIELDS = [field.name for field in dataclasses.fields(FreqCaConfig)]


def _float_fields() -> list[str]:
    hints = typing.get_type_hints(FreqCaConfig)
    return [name for name in FIELDS if float in typing.get_args(hints[name]) or hints[name] is float]


def test_every_field_has_bad_values_and_every_float_field_is_covered():
    # Fields added later must join the table; the float fields are the ones NaN and infinity are tried on below.
    assert set(FIELDS) <= set(BAD_VALUES), sorted(set(FIELDS) - set(BAD_VALUES))
    assert {"cutoff_ratio", "hermite_scale"} <= set(_float_fields())


@parameterized.expand(
    [
        (f"{name}_{i}", name, value)
        for name, values in BAD_VALUES.items()
        if name in FIELDS  # a field may not exist yet in this checkout
        for i, value in enumerate(values)
    ]
    + [(f"{name}_{value}", name, value) for name in _float_fields() for value in NON_FINITE]
)
def test_invalid_values_name_the_field_and_value(_, field_name, value):
    with pytest.raises(ValueError, match=f"`{field_name}`") as error:
        FreqCaConfig(**{field_name: value})
    if not (isinstance(value, int) and value > 10**300):  # the message need not spell out a 400-digit number
        assert repr(value) in str(error.value) or str(value) in str(error.value)


@parameterized.expand([(name, value) for name in ("cutoff_ratio", "hermite_scale") for value in NON_FINITE])
def test_non_finite_values_are_refused_from_files_too(name, value):
    with pytest.raises(ValueError, match=name):
        FreqCaConfig.from_dict({**FreqCaConfig().to_dict(), name: value})


def test_good_edge_values_are_accepted():
    config = FreqCaConfig(cutoff_ratio=1, hermite_scale=10, disable_cache_after_step=0, full_compute_steps=[3, 1, 3])
    assert config.cutoff_ratio == 1.0 and isinstance(config.cutoff_ratio, float) and config.hermite_scale == 10.0
    assert config.full_compute_steps == (1, 3)


def test_dict_round_trip_and_unknown_keys():
    config = FreqCaConfig(
        cache_interval=9, cache_dtype=torch.bfloat16, full_compute_steps=(48,), decomposition="fft", low_freq_order=0
    )
    data = config.to_dict()
    assert data["cache_dtype"] == "bfloat16" and data["full_compute_steps"] == [48]
    assert FreqCaConfig.from_dict(data) == config
    with pytest.raises(ValueError, match="Unknown FreqCaConfig field.*'interval'"):
        FreqCaConfig.from_dict({"interval": 6})
    with pytest.raises(ValueError, match="cache_dtype"):
        FreqCaConfig.from_dict({"cache_dtype": "int4"})


@parameterized.expand(
    [
        ({"schedule_power": 1.5}, "schedule_power"),
        ({"num_inference_steps": 50}, "num_inference_steps"),
        ({"schedule_power": 1.5, "num_inference_steps": 50}, "schedule_power"),
        ({"spacing": "timestep"}, "spacing='sigma'"),
    ]
)
def test_version_0_1_configs_are_explained(data, mentioned):
    with pytest.raises(ValueError, match="diffusers-freqca 0.1") as error:
        FreqCaConfig.from_dict(data)
    assert mentioned in str(error.value)


def test_defaults_and_derived_properties():
    config = FreqCaConfig()
    assert (config.cache_interval, config.disable_cache_before_step, config.first_interval) == (6, 2, None)
    # The default forecasts the model output (the form follows the model's family); a band split needs the CRF.
    assert (config.forecast_target, config.output_form) == ("model_output", "auto")
    split = FreqCaConfig(decomposition="dct", low_freq_order=0, high_freq_order=2)
    assert split.forecast_target == "crf"
    assert FreqCaConfig(forecast_target="crf").forecast_target == "crf"
    assert (config.spacing, config.decomposition, config.predictor, config.crf_form) == (
        "sigma",
        "none",
        "taylor",
        "hidden_states",
    )
    assert (config.low_freq_order, config.high_freq_order) == (1, 1)
    assert config.resolved_first_interval == 3 and FreqCaConfig(cache_interval=9).resolved_first_interval == 5
    assert FreqCaConfig(cache_interval=9, first_interval=9).resolved_first_interval == 9
    assert not config.splits_bands and config.forecast_order == 1
    # Different orders with a decomposition split; a decomposition with equal orders would change nothing and is
    # refused, naming the fields (a user asking for the paper's split must not silently get none).
    for orders in ((1, 1), (0, 0), (2, 2)):
        with pytest.raises(ValueError, match=r"`decomposition='dct'`.*`low_freq_order` and `high_freq_order`"):
            FreqCaConfig(decomposition="dct", low_freq_order=orders[0], high_freq_order=orders[1])
    with pytest.raises(ValueError, match="decomposition='fft'"):
        FreqCaConfig(decomposition="fft")
    assert FreqCaConfig(decomposition="dct", low_freq_order=0, high_freq_order=2).splits_bands
    assert FreqCaConfig(decomposition="dct", low_freq_order=0, high_freq_order=2).forecast_order == 2
    assert not FreqCaConfig(decomposition="none", low_freq_order=0, high_freq_order=2).splits_bands


def test_from_dict_reads_the_file_save_pretrained_writes(tmp_path):
    config = FreqCaConfig(cache_interval=9, output_form="velocity")
    config.save_pretrained(tmp_path)
    data = json.loads((tmp_path / "freqca_config.json").read_text())
    assert "_class_name" in data and "format_version" in data
    assert FreqCaConfig.from_dict(data) == config


def test_a_config_changed_after_enable_cache_changes_nothing_and_is_checked_again():
    tiny = TINY_MODELS["flux"]()
    config = FreqCaConfig(cache_interval=3)
    tiny.model.enable_cache(config)
    config.cache_interval = 6  # the running cache keeps the copy it was given
    run_steps(tiny, num_steps=12)
    assert get_freqca_stats(tiny.model).contexts["cond"].full_steps == [0, 3, 5, 8, 11]
    tiny.model.disable_cache()
    config.cache_interval = 0
    with pytest.raises(ValueError, match="cache_interval"):
        tiny.model.enable_cache(config)
