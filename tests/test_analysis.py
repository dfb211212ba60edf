# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The frequency-analysis tool: metrics against independent computations, the CRF recorder on real pipelines, the
CSV and the `diffusers-freqca analyze` command."""

import contextlib
import csv
import io
import math

import numpy as np
import pytest
import scipy.fft
import torch
from parameterized import parameterized
from tiny_pipelines import build_tiny_pipeline

from diffusers_freqca import FreqCaConfig, GridSegment, TokenLayout, full_steps, tiny_flux
from diffusers_freqca.analysis import (
    BANDS,
    SCHEME_COLUMNS,
    STEP_COLUMNS,
    CRFRecorder,
    CRFTrace,
    analyze_trace,
    cosine_similarity,
    lag_forecast,
    main,
    record_crf,
    relative_error,
    scheme_errors,
    summarize,
    write_csv,
)
from diffusers_freqca.cli import main as cli_main


HAS_CHECKPOINT = (tiny_flux.DEFAULT_CHECKPOINT / "transformer" / "config.json").is_file()
HEIGHT, WIDTH, BATCH, CHANNELS = 8, 12, 2, 5
SCALE = 0.71  # the Hermite scale
CRF_BOTH = ("hidden_states", "residual")


# ------------------------------------------------------------------------------------------ synthetic trajectories


def basis_pattern(decomposition: str, u: int, v: int) -> np.ndarray:
    # One basis function of the transform, built with scipy (independent of the package's DCT / mask code):
    # a pure frequency, entirely in one band.
    if decomposition == "dct":
        coefficients = np.zeros((HEIGHT, WIDTH))
        coefficients[u, v] = 1.0
        return scipy.fft.idctn(coefficients, norm="ortho")
    rows, cols = np.meshgrid(np.arange(HEIGHT), np.arange(WIDTH), indexing="ij")
    return np.cos(2 * np.pi * (u * rows / HEIGHT + v * cols / WIDTH))


def component(pattern: np.ndarray, seed: int) -> np.ndarray:
    # (batch, tokens, channels): the spatial pattern times a random channel vector per sample.
    vectors = np.random.default_rng(seed).standard_normal((BATCH, 1, CHANNELS))
    return pattern.reshape(1, HEIGHT * WIDTH, 1) * vectors


def make_trace(outputs: list[np.ndarray], inputs: list[np.ndarray] | None = None) -> CRFTrace:
    layout = TokenLayout(HEIGHT * WIDTH, (GridSegment(0, HEIGHT, WIDTH),))
    inputs = inputs if inputs is not None else [np.zeros_like(o) for o in outputs]
    n = len(outputs)
    return CRFTrace(
        outputs=[torch.from_numpy(o) for o in outputs],
        inputs=[torch.from_numpy(i) for i in inputs],
        layouts=[layout] * n,
        timesteps=[1.0 - k / n for k in range(n)],
        steps=list(range(n)),
        streams=[0] * n,
        model_class="synthetic",
    )


def two_band_trajectory(decomposition: str, num_steps: int, low_of_step, high_of_step):
    # low(k) = a(k) L, high(k) = b1(k) H1 + b2(k) H2: two high frequencies with different coefficients, so that the
    # high band changes direction (its cosine similarity is not trivially 1).
    low_part = component(basis_pattern(decomposition, 0, 0), seed=1)
    high_1 = component(basis_pattern(decomposition, HEIGHT // 2, WIDTH // 2), seed=2)
    high_2 = component(basis_pattern(decomposition, HEIGHT // 2, WIDTH // 3 + 1), seed=3)
    lows = [low_of_step(k) * low_part for k in range(num_steps)]
    highs = []
    for k in range(num_steps):
        b1, b2 = high_of_step(k)
        highs.append(b1 * high_1 + b2 * high_2)
    return lows, highs


def np_cos(a, b):
    a, b = a.reshape(BATCH, -1), b.reshape(BATCH, -1)
    return float(np.mean((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))


def np_rel(estimate, target):
    estimate, target = estimate.reshape(BATCH, -1), target.reshape(BATCH, -1)
    return float(np.mean(np.linalg.norm(estimate - target, axis=1) / np.linalg.norm(target, axis=1)))


def np_hermite(x1, x2, x3, lag):
    # Second-order Hermite forecast `lag` past x3 from values at 0, lag, 2 lag (FreqCa's predictor, in step units).
    d1 = (x3 - x2) / lag
    d2 = ((x3 - x2) / lag - (x2 - x1) / lag) / (2 * lag)
    first, second = d1 + d2 * lag, 2 * d2
    a1 = 2 * SCALE**2 * lag
    a2 = (4 * SCALE**2 * lag**2 - 2) * SCALE**2 / 2
    return x3 + a1 * first + a2 * second


def quadratic_high(k):
    return 1.0 + 0.3 * k - 0.02 * k**2, 0.5 - 0.1 * k + 0.015 * k**2


# ------------------------------------------------------------------------------------------------------ the metrics


@parameterized.expand([(1,), (3,)])
def test_cosine_similarity_and_relative_error_against_numpy(batch):
    generator = torch.Generator().manual_seed(batch)
    a, b = torch.randn(batch, 7, 4, generator=generator), torch.randn(batch, 7, 4, generator=generator)
    a_np, b_np = a.numpy().reshape(batch, -1), b.numpy().reshape(batch, -1)
    expected_cos = np.mean((a_np * b_np).sum(1) / (np.linalg.norm(a_np, axis=1) * np.linalg.norm(b_np, axis=1)))
    expected_rel = np.mean(np.linalg.norm(a_np - b_np, axis=1) / np.linalg.norm(b_np, axis=1))
    assert cosine_similarity(a, b) == pytest.approx(expected_cos, rel=1e-6)
    assert relative_error(a, b) == pytest.approx(expected_rel, rel=1e-6)
    assert cosine_similarity(a, 3 * a) == pytest.approx(1.0)
    assert relative_error(b, b) == 0.0
    zeros = torch.zeros(batch, 7, 4)
    assert cosine_similarity(zeros, zeros) == 1.0
    assert relative_error(zeros, zeros) == 0.0 and relative_error(a, zeros) == math.inf


@parameterized.expand([(1,), (2,), (6,)])
def test_lag_forecast_is_exact_for_polynomials_with_taylor(lag):
    coefficients = torch.randn(3, 4, dtype=torch.float64)

    def value(t):
        return coefficients[0] + coefficients[1] * t + coefficients[2] * t**2

    history = [value(float(m * lag)) for m in range(3)]
    torch.testing.assert_close(lag_forecast(history, lag, "taylor"), value(3.0 * lag))
    torch.testing.assert_close(lag_forecast(history[1:], lag, "taylor"), 2 * history[2] - history[1])
    torch.testing.assert_close(lag_forecast(history[2:], lag, "taylor"), history[2])


@parameterized.expand([(1,), (4,), (6,)])
def test_lag_forecast_hermite_against_independent_formula(lag):
    x1, x2, x3 = (np.random.default_rng(lag + i).standard_normal(5) for i in range(3))
    forecast = lag_forecast([torch.from_numpy(x) for x in (x1, x2, x3)], lag, "hermite")
    np.testing.assert_allclose(forecast.numpy(), np_hermite(x1, x2, x3, lag), rtol=1e-10)


@parameterized.expand(
    [("zero_history", [], 1), ("four_values", [torch.zeros(1)] * 4, 1), ("lag", [torch.zeros(1)], 0)]
)
def test_lag_forecast_rejects_bad_arguments(_, history, lag):
    with pytest.raises(ValueError, match="history|lag"):
        lag_forecast(history, lag)


@parameterized.expand([("dct", 2), ("dct", 3), ("fft", 2)])
def test_analyze_trace_against_independent_computation(decomposition, interval):
    num_steps = 12
    lows, highs = two_band_trajectory(decomposition, num_steps, lambda k: 2.0, quadratic_high)
    trace = make_trace([lo + hi for lo, hi in zip(lows, highs)])
    rows = analyze_trace(
        trace, interval=interval, cutoff_ratio=0.2, decomposition=decomposition, predictor="taylor",
        crf_forms=("hidden_states",),
    )  # fmt: skip
    assert len(rows) == num_steps * len(BANDS)
    assert [(row["step"], row["band"]) for row in rows] == [(k, b) for k in range(num_steps) for b in BANDS]
    for row in rows:
        k = row["step"]
        band = {"low": lows, "high": highs, "unsplit": [lo + hi for lo, hi in zip(lows, highs)]}[row["band"]]
        total = (lows[k] + highs[k]).reshape(BATCH, -1)
        energy = np.mean((band[k].reshape(BATCH, -1) ** 2).sum(1) / (total**2).sum(1))
        assert row["energy_fraction"] == pytest.approx(energy, abs=1e-6)
        assert row["timestep"] == pytest.approx(1.0 - k / num_steps)
        expected = {
            "cos_prev": np_cos(band[k], band[k - 1]) if k >= 1 else None,
            "rel_change_prev": np_rel(band[k - 1], band[k]) if k >= 1 else None,
            "cos_lag": np_cos(band[k], band[k - interval]) if k >= interval else None,
            "error_order0": np_rel(band[k - interval], band[k]) if k >= interval else None,
            # Taylor forecasts are exact for this trajectory: constant low band, quadratic high band.
            "error_order2": 0.0 if k >= 3 * interval else None,
        }
        for column, value in expected.items():
            if value is None:
                assert row[column] is None, (column, row)
            else:
                assert row[column] == pytest.approx(value, abs=1e-6), (column, row)
        if k < 2 * interval:
            assert row["error_order1"] is None
        elif row["band"] == "low":
            assert row["error_order1"] == pytest.approx(0.0, abs=1e-6)
        else:
            # A line through two points of a parabola misses it: the first-order forecast is not exact.
            assert row["error_order1"] > 1e-3
        if row["band"] == "low" and k >= 1:
            # The low band is constant: similarity 1, no change.
            assert row["cos_prev"] == pytest.approx(1.0) and row["rel_change_prev"] == pytest.approx(0.0, abs=1e-6)
        if row["band"] == "high" and k >= 1:
            assert row["cos_prev"] < 1 - 1e-6


def test_analyze_trace_hermite_order2_against_independent_formula():
    num_steps, interval = 10, 3
    lows, highs = two_band_trajectory("dct", num_steps, lambda k: 1.0 + 0.1 * k**1.5, quadratic_high)
    trace = make_trace([lo + hi for lo, hi in zip(lows, highs)])
    rows = analyze_trace(trace, interval=interval, crf_forms=("hidden_states",))
    for row in rows:
        if row["step"] < 3 * interval or row["band"] == "unsplit":
            continue
        band = lows if row["band"] == "low" else highs
        k = row["step"]
        forecast = np_hermite(band[k - 3 * interval], band[k - 2 * interval], band[k - interval], interval)
        assert row["error_order2"] == pytest.approx(np_rel(forecast, band[k]), rel=1e-6)


def test_residual_form_uses_output_minus_input():
    rng = np.random.default_rng(0)
    outputs = [rng.standard_normal((BATCH, HEIGHT * WIDTH, CHANNELS)) for _ in range(4)]
    inputs = [rng.standard_normal((BATCH, HEIGHT * WIDTH, CHANNELS)) for _ in range(4)]
    trace = make_trace(outputs, inputs)
    rows = analyze_trace(trace, interval=1, crf_forms=("residual",))
    residuals = [o - i for o, i in zip(outputs, inputs)]
    for row in rows:
        if row["band"] == "unsplit" and row["step"] >= 1:
            k = row["step"]
            assert row["cos_prev"] == pytest.approx(np_cos(residuals[k], residuals[k - 1]), rel=1e-6)
    assert {row["crf_form"] for row in rows} == {"residual"}


def test_energy_fractions_of_the_bands_add_up_to_one_on_a_random_trace():
    rng = np.random.default_rng(1)
    trace = make_trace([rng.standard_normal((BATCH, HEIGHT * WIDTH, CHANNELS)) for _ in range(3)])
    for decomposition in ("dct", "fft"):
        rows = analyze_trace(trace, interval=1, decomposition=decomposition, crf_forms=("hidden_states",))
        for k in range(3):
            fractions = {row["band"]: row["energy_fraction"] for row in rows if row["step"] == k}
            assert fractions["low"] + fractions["high"] == pytest.approx(1.0, abs=1e-6)
            assert 0 < fractions["low"] < 0.5 and fractions["unsplit"] == pytest.approx(1.0)


@parameterized.expand(
    [
        ("interval", {"interval": 0}, "interval"),
        ("cutoff", {"cutoff_ratio": 1.5}, "cutoff_ratio"),
        ("decomposition", {"decomposition": "wavelet"}, "decomposition"),
        ("predictor", {"predictor": "spline"}, "predictor"),
        ("crf_form", {"crf_forms": ("output",)}, "crf_form"),
        ("stream", {"stream": 1}, "stream"),
    ]
)
def test_analyze_trace_rejects_bad_arguments(_, kwargs, field):
    trace = make_trace([np.ones((BATCH, HEIGHT * WIDTH, CHANNELS))] * 3)
    with pytest.raises(ValueError, match=field):
        analyze_trace(trace, **kwargs)


def test_analyze_trace_rejects_a_trace_that_changes_resolution():
    trace = make_trace([np.ones((BATCH, HEIGHT * WIDTH, CHANNELS))] * 3)
    trace.outputs[2] = torch.ones(BATCH, 48, CHANNELS, dtype=torch.float64)
    trace.layouts[2] = TokenLayout(48, (GridSegment(0, 6, 8),))
    with pytest.raises(ValueError, match="one resolution"):
        analyze_trace(trace, interval=1)


# ------------------------------------------------------------------------------------ FreqCa's schedule replayed


@parameterized.expand([(0,), (10,)])
def test_scheme_errors_against_independent_computation(first_step):
    # Low band: a rough, non-polynomial path (only reuse can follow it); high band: a parabola (order 2 is exact).
    num_steps, interval = 20, 3
    wiggle = np.random.default_rng(5).uniform(1.0, 2.0, num_steps)
    lows, highs = two_band_trajectory("dct", num_steps, lambda k: wiggle[k], quadratic_high)
    features = [lo + hi for lo, hi in zip(lows, highs)]
    rows = scheme_errors(
        make_trace(features), intervals=(interval,), cutoff_ratios=(0.2, 1.0), predictor="taylor",
        crf_forms=("hidden_states",), first_step=first_step,
    )  # fmt: skip
    # scheme_errors replays the CRF forecast on the paper's schedule (warmup_steps=3 by default).
    full = full_steps(
        num_steps,
        FreqCaConfig(warmup_stride=1, cache_interval=interval, disable_cache_before_step=3, forecast_target="crf"),
    )
    predicted = [k for k in range(first_step, num_steps) if k not in full]
    last_full = {k: max(f for f in full if f < k) for k in predicted}
    freqca = np.mean([np_rel(lows[last_full[k]] + highs[k], features[k]) for k in predicted])
    reuse = np.mean([np_rel(features[last_full[k]], features[k]) for k in predicted])
    assert [row["cutoff_ratio"] for row in rows] == [0.2, 1.0]
    for row in rows:
        assert row["evaluations"] == len(full) and row["predicted_steps"] == len(predicted)
        assert row["reuse_error"] == pytest.approx(reuse, rel=1e-9)
        assert row["forecast_error"] > 0
    assert rows[0]["freqca_error"] == pytest.approx(freqca, rel=1e-6)
    # With the cut-off at 1 the whole feature is "low": FreqCa reuses it. (The split runs in float32: rel 1e-6.)
    assert rows[1]["freqca_error"] == pytest.approx(reuse, rel=1e-6)


def test_scheme_errors_residual_form_adds_the_current_input():
    # Residual = constant low + parabolic high, on top of inputs that jump around: the residual form forecasts the
    # output exactly, the hidden-states form cannot.
    num_steps = 14
    lows, highs = two_band_trajectory("dct", num_steps, lambda k: 1.5, quadratic_high)
    rng = np.random.default_rng(7)
    inputs = [rng.standard_normal((BATCH, HEIGHT * WIDTH, CHANNELS)) for _ in range(num_steps)]
    outputs = [lo + hi + x for lo, hi, x in zip(lows, highs, inputs)]
    rows = scheme_errors(make_trace(outputs, inputs), intervals=(3,), predictor="taylor", crf_forms=CRF_BOTH)
    errors = {row["crf_form"]: row["freqca_error"] for row in rows}
    assert errors["residual"] == pytest.approx(0.0, abs=1e-6)
    assert errors["hidden_states"] > 0.1


def test_scheme_errors_rejects_bad_arguments():
    trace = make_trace([np.ones((BATCH, HEIGHT * WIDTH, CHANNELS))] * 3)
    with pytest.raises(ValueError, match="cutoff_ratios"):
        scheme_errors(trace, cutoff_ratios=())
    with pytest.raises(ValueError, match="first_step"):
        scheme_errors(trace, first_step=-1)


# ------------------------------------------------------------------------------------------------------------- CSV


def test_csv_has_the_documented_columns_and_rows(tmp_path):
    num_steps, interval = 8, 2
    lows, highs = two_band_trajectory("dct", num_steps, lambda k: 1.0 + 0.1 * k, quadratic_high)
    rows = analyze_trace(make_trace([lo + hi for lo, hi in zip(lows, highs)]), interval=interval)
    path = tmp_path / "sub" / "analysis.csv"
    write_csv(rows, path)
    with path.open() as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == STEP_COLUMNS
        read = list(reader)
    assert len(read) == 2 * len(BANDS) * num_steps
    for written, row in zip(read, rows):
        for column in STEP_COLUMNS:
            if row[column] is None:
                assert written[column] == ""
            elif isinstance(row[column], float):
                assert float(written[column]) == pytest.approx(row[column], rel=1e-5, abs=1e-12)
            else:
                assert written[column] == str(row[column])
        k = int(written["step"])
        assert (written["cos_lag"] == "") == (k < interval)
        assert (written["error_order2"] == "") == (k < 3 * interval)


def test_summarize_means_over_defined_steps():
    rows = [
        {**dict.fromkeys(STEP_COLUMNS), "crf_form": "hidden_states", "band": "low", "step": 0, "energy_fraction": 0.5},
        {
            **dict.fromkeys(STEP_COLUMNS), "crf_form": "hidden_states", "band": "low", "step": 1,
            "energy_fraction": 0.7, "cos_prev": 0.9,
        },
    ]  # fmt: skip
    (summary,) = summarize(rows, "hidden_states")
    assert summary["band"] == "low" and summary["energy_fraction"] == pytest.approx(0.6)
    assert summary["cos_prev"] == pytest.approx(0.9) and summary["error_order2"] is None


# ---------------------------------------------------------------------------------------------- the recorder


EXPECTED_LAYOUTS = {
    # FluxPipeline / QwenImagePipeline at 32x48 pixels: an 8x12 token grid.
    "flux": TokenLayout(96, (GridSegment(0, 8, 12),)),
    "qwenimage": TokenLayout(96, (GridSegment(0, 8, 12),)),
    # FLUX.1-Kontext: the 8x12 target grid, then the 8x8 reference grid.
    "flux_kontext": TokenLayout(160, (GridSegment(0, 8, 12), GridSegment(96, 8, 8))),
}


@parameterized.expand([(name,) for name in EXPECTED_LAYOUTS])
def test_recorder_captures_one_crf_per_transformer_call(name):
    pipe, inputs = build_tiny_pipeline(name)
    transformer = pipe.transformer
    seen = {"calls": 0, "norm_out": [], "embedded": []}

    def count(module, args, kwargs):
        seen["calls"] += 1

    # Independent witnesses: what enters the output head, and what the image embedder produces (the stack's input).
    embedder = transformer.x_embedder if hasattr(transformer, "x_embedder") else transformer.img_in
    handles = [
        transformer.register_forward_pre_hook(count, with_kwargs=True),
        transformer.norm_out.register_forward_pre_hook(lambda m, args: seen["norm_out"].append(args[0].clone())),
        embedder.register_forward_hook(lambda m, args, output: seen["embedded"].append(output.clone())),
    ]
    try:
        trace, output = record_crf(pipe, inputs(seed=0))
    finally:
        for handle in handles:
            handle.remove()
    steps = inputs.kwargs["num_inference_steps"]
    assert seen["calls"] == steps == trace.num_calls
    assert trace.steps == list(range(steps)) and trace.streams == [0] * steps
    assert trace.model_class == type(transformer).__name__
    assert all(layout == EXPECTED_LAYOUTS[name] for layout in trace.layouts)
    assert all(t1 > t2 for t1, t2 in zip(trace.timesteps, trace.timesteps[1:]))
    for recorded, head_input in zip(trace.outputs, seen["norm_out"]):
        assert recorded.shape[1] == EXPECTED_LAYOUTS[name].seq_len
        torch.testing.assert_close(recorded, head_input, rtol=0, atol=0)
    for recorded, embedded in zip(trace.inputs, seen["embedded"]):
        torch.testing.assert_close(recorded, embedded, rtol=0, atol=0)
    # Recording changes nothing, and leaves no hook behind.
    torch.testing.assert_close(output.images, pipe(**inputs(seed=0)).images, rtol=0, atol=0)
    assert not transformer._forward_pre_hooks and not transformer._forward_hooks


def test_recorder_separates_the_passes_of_true_cfg_and_keeps_the_last_generation():
    pipe, inputs = build_tiny_pipeline("flux")
    steps = inputs.kwargs["num_inference_steps"]
    with CRFRecorder(pipe.transformer) as recorder:
        pipe(**inputs(seed=0))
        pipe(**inputs(seed=1, **inputs.negative_kwargs))
    trace = recorder.trace
    assert trace.num_calls == 2 * steps
    assert trace.streams == [0, 1] * steps and trace.steps == [k for k in range(steps) for _ in range(2)]
    assert len(trace.features("hidden_states", stream=1)) == steps
    # The conditional pass of the second run, not the first run.
    plain, _ = record_crf(pipe, inputs(seed=1, **inputs.negative_kwargs))
    torch.testing.assert_close(trace.outputs[0], plain.outputs[0], rtol=0, atol=0)


def test_recorder_refuses_a_cached_transformer():
    pipe, _ = build_tiny_pipeline("flux")
    pipe.transformer.enable_cache(FreqCaConfig(warmup_stride=1))
    with pytest.raises(ValueError, match="disable_cache"):
        CRFRecorder(pipe.transformer)
    pipe.transformer.disable_cache()
    CRFRecorder(pipe.transformer)


def test_record_crf_needs_a_transformer():
    with pytest.raises(ValueError, match="transformer"):
        record_crf(object(), {})


# ------------------------------------------------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def random_checkpoint(tmp_path_factory):
    # A checkpoint in the tiny model's format with untrained weights: the command runs whatever the weights are.
    path = tmp_path_factory.mktemp("tiny-random")
    from tools.train_tiny_flux import train

    with contextlib.redirect_stdout(io.StringIO()):
        train(path, vae_iterations=0, transformer_iterations=0)
    return path


def read_csv(path):
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_quick_command_writes_csv_png_and_sweep(random_checkpoint, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from PIL import Image

    argv = ["--quick", "--checkpoint", str(random_checkpoint), "--output-dir", str(tmp_path), "--interval", "3"]
    assert main([*argv, "--cutoff-sweep", "0.1,1.0"]) == 0
    out = capsys.readouterr().out
    assert "recorded 20 transformer calls (20 steps)" in out and "| low |" in out
    rows = read_csv(tmp_path / "frequency_analysis.csv")
    assert len(rows) == 2 * len(BANDS) * 20
    sweep = read_csv(tmp_path / "scheme_sweep.csv")
    assert len(sweep) == 2 * 2 and set(sweep[0]) == set(SCHEME_COLUMNS)
    for row in sweep:
        # The CRF replayed on the paper's schedule (three warm-up steps, scheme_errors' default).
        paper_schedule = FreqCaConfig(
            warmup_stride=1, cache_interval=3, disable_cache_before_step=3, forecast_target="crf"
        )
        assert int(row["evaluations"]) == len(full_steps(20, paper_schedule))
        if float(row["cutoff_ratio"]) == 1.0:
            assert float(row["freqca_error"]) == pytest.approx(float(row["reuse_error"]), rel=1e-4)
    with Image.open(tmp_path / "frequency_analysis.png") as image:
        assert image.format == "PNG" and image.width > image.height > 200


@pytest.mark.skipif(not HAS_CHECKPOINT, reason="the packaged tiny checkpoint is not trained yet")
def test_quick_command_on_the_trained_checkpoint(tmp_path):
    # `--tiny` names the default explicitly, as `diffusers-freqca calibrate --tiny` does.
    assert main(["--tiny", "--quick", "--no-plot", "--output-dir", str(tmp_path)]) == 0
    rows = read_csv(tmp_path / "frequency_analysis.csv")
    assert len(rows) == 2 * len(BANDS) * 20 and not (tmp_path / "frequency_analysis.png").exists()


def test_analyze_is_a_subcommand(capsys):
    assert cli_main(["analyze", "--help"]) == 0
    assert "usage: diffusers-freqca analyze" in capsys.readouterr().out
    assert cli_main(["analyze", "--tiny", "--model", "black-forest-labs/FLUX.1-dev"]) == 2
    assert "not allowed with argument --tiny" in capsys.readouterr().err


@parameterized.expand(
    [
        ("interval", ["--interval", "0"], "interval"),
        ("interval_too_large", ["--steps", "10", "--interval", "10"], "interval"),
        ("cutoff", ["--cutoff-ratio", "1.5"], "cutoff_ratio"),
        ("cutoff_in_sweep", ["--cutoff-sweep", "0.1,2.0"], "cutoff_ratio"),
        ("sweep_syntax", ["--cutoff-sweep", "0.1,abc"], "cutoff-sweep"),
        ("steps", ["--steps", "1"], "steps"),
        ("replay_from_step", ["--steps", "10", "--replay-from-step", "10"], "replay-from-step"),
        ("both_models", ["--model", "x/y", "--checkpoint", "z"], "checkpoint"),
    ]
)
def test_command_rejects_bad_arguments(_, argv, field):
    stderr = io.StringIO()
    with pytest.raises(SystemExit) as error, contextlib.redirect_stderr(stderr):
        main(argv)
    assert error.value.code == 2
    assert field in stderr.getvalue()
