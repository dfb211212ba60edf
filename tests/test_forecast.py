# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The forecaster: exactness on polynomials, the Hermite coefficients, per-band orders and memory."""

import math

import numpy as np
import pytest
import torch
from numpy.polynomial.hermite import hermval
from parameterized import parameterized

from diffusers_freqca.band_split import BandSplitter, GridSegment, TokenLayout
from diffusers_freqca.forecast import BandForecaster, predictor_coefficients


def _feed(forecaster, fn, times):
    for step, t in enumerate(times):
        forecaster.update(fn(t), time=t, step=step)


@parameterized.expand(
    [
        ("constant_order0", 0, lambda t: torch.full((2, 3), 4.0, dtype=torch.float64)),
        ("linear_order1", 1, lambda t: torch.tensor([[1.0, -2.0]], dtype=torch.float64) * t + 3.0),
        (
            "quadratic_order2",
            2,
            lambda t: (
                torch.tensor([[0.5, -1.5]], dtype=torch.float64) * t**2
                + torch.tensor([[2.0, 1.0]], dtype=torch.float64) * t
                - 1
            ),
        ),
    ]
)
def test_taylor_is_exact_on_polynomials_with_uneven_spacing(_, order, fn):
    forecaster = BandForecaster(low_order=order, high_order=order, predictor="taylor", storage_dtype=torch.float64)
    times = [0.0, 0.7, 1.1, 2.9, 3.4]
    _feed(forecaster, fn, times)
    for t in (3.5, 4.0, 6.25):
        torch.testing.assert_close(forecaster.predict(t), fn(t), atol=1e-9, rtol=1e-9)


def test_order_is_reduced_while_history_is_short():
    forecaster = BandForecaster(low_order=2, high_order=2, predictor="taylor", storage_dtype=torch.float64)
    forecaster.update(torch.tensor([1.0]).double(), time=0.0, step=0)
    torch.testing.assert_close(forecaster.predict(3.0), torch.tensor([1.0]).double())  # order 0
    forecaster.update(torch.tensor([3.0]).double(), time=1.0, step=1)
    torch.testing.assert_close(forecaster.predict(3.0), torch.tensor([7.0]).double())  # linear through 2 points


def test_hermite_coefficients_follow_the_paper():
    s = 0.71
    for d in (1.0, 2.0, 5.0):
        a1, a2 = predictor_coefficients("hermite", d, unit=1.0, scale=s)
        # pred = F + sum_k D_k H_k(s d) s^k / k!, physicists' Hermite polynomials.
        assert math.isclose(a1, hermval(s * d, [0, 1]) * s, rel_tol=1e-12)
        assert math.isclose(a2, hermval(s * d, [0, 0, 1]) * s**2 / 2, rel_tol=1e-12)
        # The numbers quoted in method.md.
        assert math.isclose(a1, 1.0082 * d, rel_tol=1e-4)
        assert math.isclose(a2, 0.5082 * d**2 - 0.5041, abs_tol=2e-3)


def test_hermite_unit_rescales_distance_and_derivatives_consistently():
    # Measuring time in half-steps (unit 0.5) must give the same forecast as measuring it in steps.
    a1, a2 = predictor_coefficients("hermite", 3.0, unit=1.0)
    b1, b2 = predictor_coefficients("hermite", 1.5, unit=0.5)
    # F' in half-step units is twice F' in step units, F'' four times, so weights scale by 1/2 and 1/4.
    assert math.isclose(b1, a1 / 2) and math.isclose(b2, a2 / 4)


def test_hermite_forecast_equals_formula_on_divided_differences():
    forecaster = BandForecaster(low_order=2, high_order=2, predictor="hermite", storage_dtype=torch.float64)
    values = {0.0: 1.0, 6.0: 2.0, 12.0: 5.0}
    for step, (t, v) in enumerate(values.items()):
        forecaster.update(torch.tensor([v]).double(), time=t, step=step * 6)
    # Newton polynomial through the points, derivatives at t0 = 12, in units of one step (step_unit = 1 here).
    d01 = (5.0 - 2.0) / 6.0
    d012 = (d01 - (2.0 - 1.0) / 6.0) / 12.0
    f1, f2 = d01 + d012 * 6.0, 2 * d012
    a1, a2 = predictor_coefficients("hermite", 2.0)
    torch.testing.assert_close(forecaster.predict(14.0), torch.tensor([5.0 + a1 * f1 + a2 * f2]).double())


def test_low_band_reused_high_band_extrapolated():
    h, w = 8, 8
    layout = TokenLayout(h * w, (GridSegment(0, h, w),))
    splitter = BandSplitter("dct", 0.2)
    base = torch.randn(1, h * w, 3, dtype=torch.float64)
    low_dir, high_dir = splitter.split(torch.randn(1, h * w, 3), layout)
    low_dir, high_dir = low_dir.double(), high_dir.double()

    def feature(t):
        return base + low_dir * math.sin(t) + high_dir * (0.3 * t**2 - t)

    forecaster = BandForecaster(
        low_order=0,
        high_order=2,
        low_pass=lambda x: splitter.low_pass(x, layout).double(),
        predictor="taylor",
        storage_dtype=torch.float64,
    )
    _feed(forecaster, feature, [0.0, 1.0, 2.5])
    t = 4.0
    # Low band frozen at its last full-step value, high band extrapolated exactly (it is quadratic).
    expected = base + low_dir * math.sin(2.5) + high_dir * (0.3 * t**2 - t)
    torch.testing.assert_close(forecaster.predict(t), expected, atol=1e-5, rtol=1e-5)


@parameterized.expand([((0, 2), 3), ((0, 0), 1), ((1, 2), 4), ((2, 2), 3), ((0, 1), 2)])
def test_memory_holds_one_value_plus_the_differences(orders, tensors):
    low_order, high_order = orders
    layout = TokenLayout(16, (GridSegment(0, 4, 4),))
    splitter = BandSplitter("fft", 0.3)
    low_pass = None if low_order == high_order else (lambda x: splitter.low_pass(x, layout))
    forecaster = BandForecaster(low_order, high_order, low_pass=low_pass, storage_dtype=torch.bfloat16)
    _feed(forecaster, lambda t: torch.randn(2, 16, 8) * t, [0.0, 1.0, 2.0, 3.0])
    assert len(forecaster.tensors) == tensors
    assert forecaster.nbytes == tensors * 2 * 16 * 8 * 2
    assert all(t.dtype == torch.bfloat16 for t in forecaster.tensors)


def test_predict_before_update_and_non_increasing_time_raise():
    forecaster = BandForecaster(0, 2)
    with pytest.raises(RuntimeError, match="before any update"):
        forecaster.predict(1.0)
    forecaster.update(torch.zeros(1), time=1.0, step=0)
    with pytest.raises(ValueError, match="must increase"):
        forecaster.update(torch.zeros(1), time=1.0, step=1)
    with pytest.raises(ValueError, match="predictor"):
        predictor_coefficients("spline", 1.0)


def test_step_unit_is_mean_spacing_on_the_time_axis():
    forecaster = BandForecaster(0, 2)
    for step, t in ((0, -1.0), (3, -0.7), (6, -0.46)):
        forecaster.update(torch.zeros(1), time=t, step=step)
    assert math.isclose(forecaster.step_unit(), (-0.46 + 1.0) / 6)
    np.testing.assert_allclose(forecaster.times, [-0.46, -0.7, -1.0])
