# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The preset table: the paper's values, lookups, refusals, the listed numbers, and presets driving real pipelines."""

import json
import math

import pytest
from parameterized import parameterized

from diffusers_freqca import FreqCaConfig, full_steps, get_freqca_stats
from diffusers_freqca.presets import MODELS, SETTINGS, get_preset, list_presets, refused_models


PAPER_MODELS = ("flux.1-dev", "flux.1-kontext-dev", "qwen-image", "qwen-image-edit")
ALL_PRESETS = [(model, setting) for model in MODELS for setting in SETTINGS]


def paper_schedule(num_steps: int, interval: int, warmup: int = 3) -> list[int]:
    # Written out independently of `full_steps`: the warm-up steps, then every `interval`-th step after the last one.
    return [s for s in range(num_steps) if s < warmup or (s - (warmup - 1)) % interval == 0]


def default_schedule(num_steps: int, interval: int) -> list[int]:
    # The same for `FreqCaConfig()`'s schedule: warm-up steps 0 and 3 (0 and N when N < 3), the first full step
    # ceil(N / 2) after the second, then every N.
    second = min(3, interval)
    start = second + math.ceil(interval / 2)
    return [s for s in range(num_steps) if s in (0, second) or (s >= start and (s - start) % interval == 0)]


def preset_schedule(setting: str, num_steps: int, interval: int) -> list[int]:
    return (paper_schedule if setting.startswith("paper") else default_schedule)(num_steps, interval)


def test_independent_schedule_matches_the_paper_counts():
    # The paper: 50 steps, N=6 -> 10 full steps (5.0x); N=9 -> 8 full steps (6.25x).
    assert paper_schedule(50, 6) == [0, 1, 2, 8, 14, 20, 26, 32, 38, 44]
    assert len(paper_schedule(50, 9)) == 8
    # The defaults: warm-up steps 0 and 3 and half an interval to the first full step, so as many as the paper at N=6
    # (10) and one fewer at N=9 (7).
    assert default_schedule(50, 6) == [0, 3, 6, 12, 18, 24, 30, 36, 42, 48]
    assert default_schedule(50, 9) == [0, 3, 8, 17, 26, 35, 44]


@parameterized.expand(
    [(model, setting, interval) for model in PAPER_MODELS for setting, interval in (("paper", 6), ("paper-fast", 9))]
)
def test_paper_settings_are_the_papers(model, setting, interval):
    config = FreqCaConfig.from_preset(model, setting)
    expected_split = "fft" if model.startswith("qwen") else "dct"
    assert config == FreqCaConfig(
        cache_interval=interval,
        disable_cache_before_step=3,
        warmup_stride=1,
        first_interval=interval,
        disable_cache_after_step=None,
        full_compute_steps=None,
        decomposition=expected_split,
        cutoff_ratio=0.1,
        low_freq_order=0,
        high_freq_order=2,
        predictor="hermite",
        hermite_scale=0.71,
        spacing="step",
        crf_form="hidden_states",
        cache_dtype=None,
    )
    preset = get_preset(model, setting)
    assert preset.num_inference_steps == 50
    assert preset.source.startswith(f"paper: N={interval}")
    assert full_steps(50, config) == paper_schedule(50, interval)


@parameterized.expand([(model,) for model in MODELS])
def test_balanced_and_fast_are_the_defaults_at_the_papers_intervals(model):
    assert FreqCaConfig.from_preset(model) == FreqCaConfig(cache_interval=6)  # "balanced" is the default setting
    assert FreqCaConfig.from_preset(model, "fast") == FreqCaConfig(cache_interval=9)


@parameterized.expand(ALL_PRESETS)
def test_every_preset_is_valid_and_sourced(model, setting):
    preset = get_preset(model, setting)
    config = preset.config
    assert isinstance(config, FreqCaConfig)
    # The paper's recipe splits bands of the CRF with the family's transform; the defaults forecast the whole model
    # output.
    expected_split = MODELS[model].decomposition if setting.startswith("paper") else "none"
    assert config.decomposition == expected_split
    assert config.forecast_target == ("crf" if setting.startswith("paper") else "model_output")
    assert preset.source.strip()
    if not MODELS[model].in_paper:
        assert f"not evaluated on {MODELS[model].title}" in preset.source or "not this model" in preset.source
    # Round trip through the serialised form: a preset is a plain config.
    assert FreqCaConfig.from_dict(config.to_dict()) == config


def test_family_decompositions():
    for name, info in MODELS.items():
        expected = "fft" if name.startswith("qwen") else "dct"
        assert info.decomposition == expected, name


def test_lookup_is_case_insensitive_and_accepts_repo_ids():
    expected = FreqCaConfig.from_preset("flux.1-dev", "fast")
    assert FreqCaConfig.from_preset("FLUX.1-dev", "fast") == expected
    assert FreqCaConfig.from_preset("black-forest-labs/FLUX.1-dev", "fast") == expected
    assert FreqCaConfig.from_preset("Qwen/Qwen-Image-Edit") == FreqCaConfig.from_preset("qwen-image-edit")


def test_each_call_returns_a_new_config():
    first = FreqCaConfig.from_preset("flux.1-dev")
    first.cache_interval = 2
    assert FreqCaConfig.from_preset("flux.1-dev").cache_interval == 6


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ValueError, match="Unknown model 'sdxl'") as error:
        FreqCaConfig.from_preset("sdxl")
    for name in MODELS:
        assert name in str(error.value)


def test_unknown_setting_lists_the_known_ones():
    with pytest.raises(ValueError, match="Unknown setting 'turbo'") as error:
        FreqCaConfig.from_preset("flux.1-dev", "turbo")
    for setting in SETTINGS:
        assert setting in str(error.value)


@parameterized.expand([("flux.1-schnell",), ("black-forest-labs/FLUX.1-schnell",)])
def test_schnell_is_refused_with_a_reason(model):
    with pytest.raises(ValueError, match="4 steps") as error:
        FreqCaConfig.from_preset(model)
    assert "warm-up" in str(error.value)
    assert "flux.1-schnell" in refused_models()


@parameterized.expand([("chroma", "ChromaTransformer2DModel"), ("flux.2-dev", "Flux2Transformer2DModel")])
def test_untuned_models_have_no_preset_and_say_what_to_use(model, transformer_class):
    with pytest.raises(ValueError, match="no preset yet") as error:
        FreqCaConfig.from_preset(model)
    assert transformer_class in str(error.value) and "FreqCaConfig()" in str(error.value)


@parameterized.expand([(None,), (42,), ("",)])
def test_bad_model_argument(model):
    with pytest.raises(ValueError, match="model"):
        get_preset(model)


def test_list_presets_rows_and_numbers():
    rows = list_presets()
    assert [(row["model"], row["setting"]) for row in rows] == ALL_PRESETS
    for row in rows:
        interval = row["config"]["cache_interval"]
        steps = row["num_inference_steps"]
        expected = preset_schedule(row["setting"], steps, interval)
        assert row["transformer_evaluations"] == len(expected)
        assert row["evaluation_speedup"] == pytest.approx(steps / len(expected), abs=1e-4)
        assert FreqCaConfig.from_dict(row["config"]) == FreqCaConfig.from_preset(row["model"], row["setting"])
        assert row["repo_id"] == MODELS[row["model"]].repo_id
    json.dumps(rows)  # JSON-serialisable as is
    flux = {row["setting"]: row for row in list_presets("flux.1-dev")}
    assert flux["balanced"]["transformer_evaluations"] == 10 and flux["fast"]["transformer_evaluations"] == 7
    assert flux["paper"]["transformer_evaluations"] == 10 and flux["paper-fast"]["transformer_evaluations"] == 8
    assert flux["balanced"]["evaluation_speedup"] == 5.0 and flux["fast"]["evaluation_speedup"] == round(50 / 7, 4)


def test_list_presets_for_one_model():
    assert {row["model"] for row in list_presets("Qwen/Qwen-Image")} == {"qwen-image"}
    with pytest.raises(ValueError, match="Unknown model"):
        list_presets("nope")


# The four paper models and the tiny real pipelines of the same classes (tests/tiny_pipelines.py).
TINY_PIPELINES = [
    ("flux.1-dev", "flux"),
    ("flux.1-kontext-dev", "flux_kontext"),
    ("qwen-image", "qwenimage"),
    ("qwen-image-edit", "qwenimage_edit"),
]


def test_every_preset_uses_a_transformer_class_the_pipeline_tests_run():
    # A model joins the table only if its transformer class is one that the test below runs FreqCa on.
    assert {info.transformer for info in MODELS.values()} == {"FluxTransformer2DModel", "QwenImageTransformer2DModel"}
    assert {model for model, _ in TINY_PIPELINES} == {name for name, info in MODELS.items() if info.in_paper}


@parameterized.expand(TINY_PIPELINES)
def test_presets_drive_real_pipelines(model, pipeline_name):
    from tiny_pipelines import NUM_INFERENCE_STEPS, build_tiny_pipeline

    pipe, inputs = build_tiny_pipeline(pipeline_name)
    assert type(pipe).__name__ == MODELS[model].pipeline
    assert type(pipe.transformer).__name__ == MODELS[model].transformer
    config = FreqCaConfig.from_preset(model, "fast")
    pipe.transformer.enable_cache(config)
    pipe(**inputs(seed=0))
    stats = get_freqca_stats(pipe.transformer)
    assert stats.contexts
    # N=9 over the 12 steps of the tiny pipelines: warm-up 0, 3, then step 3 + ceil(9 / 2) = 8 (the next, 17, is past
    # the end).
    expected = [0, 3, 8]
    assert default_schedule(NUM_INFERENCE_STEPS, 9) == expected
    assert stats.computed_steps == len(expected) * len(stats.contexts)
    for context in stats.contexts.values():
        assert context.full_steps == expected
        assert context.predicted_steps == NUM_INFERENCE_STEPS - len(expected)
    pipe.transformer.disable_cache()


def test_from_preset_step_count_is_deprecated_and_changes_nothing():
    # 0.1 re-planned its full steps for a step count; the schedule no longer needs one.
    with pytest.warns(FutureWarning, match="num_inference_steps"):
        config = FreqCaConfig.from_preset("flux.1-dev", "balanced", num_inference_steps=28)
    assert config == FreqCaConfig.from_preset("flux.1-dev", "balanced")
    assert not hasattr(config, "num_inference_steps") and not hasattr(config, "schedule_power")
    with pytest.raises(ValueError, match="num_inference_steps"):
        FreqCaConfig.from_preset("flux.1-dev", "paper", num_inference_steps=0)
