# Copyright 2026 The diffusers-freqca authors. All rights reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""Forecasting a cached feature from its values at the last full steps: per frequency band ([`BandForecaster`]), and
the model output in its velocity or noise form ([`OutputForecaster`])."""

import math
from collections.abc import Callable

import torch
from diffusers.utils import get_logger

from .config import FreqCaConfig


logger = get_logger(__name__)  # pylint: disable=invalid-name


# Keeps the log-SNR axis finite and tame at both ends of a trajectory (sigma -> 0 and sigma -> 1), where the plain
# log-SNR diverges and a linear extrapolation along it would over-shoot.
LOG_SNR_OFFSET = 0.05


def forecast_position(spacing: str, step: int, sigma: float | None) -> float:
    r"""
    Where a denoising step lies on the forecast's time axis. Positions increase along a trajectory whose noise level
    decreases, so that forecasts extrapolate forward.

    - `"step"`: the step index.
    - `"sigma"`: `-sigma`.
    - `"log_snr"`: `log((1 - sigma + c) / (sigma + c))` with `c = LOG_SNR_OFFSET`, the log signal-to-noise ratio of a
      flow-matching noise level `sigma`, regularised at both ends.

    Args:
        spacing (`str`): `"log_snr"`, `"sigma"` or `"step"`.
        step (`int`): the step index within the generation.
        sigma (`float`, *optional*): the step's noise level in `[0, 1]`; `None` falls back to the step index.

    Returns:
        `float`: the position.

    Example:
        ```python
        >>> forecast_position("log_snr", 10, 0.5)
        0.0
        ```
    """
    if spacing == "step" or sigma is None:
        return float(step)
    sigma = min(max(float(sigma), 0.0), 1.0)
    if spacing == "sigma":
        return -sigma
    if spacing == "log_snr":
        return math.log((1.0 - sigma + LOG_SNR_OFFSET) / (sigma + LOG_SNR_OFFSET))
    raise ValueError(f"`spacing` must be 'log_snr', 'sigma' or 'step', got {spacing!r}.")


def predictor_coefficients(
    predictor: str, distance: float, unit: float = 1.0, scale: float = 0.71
) -> tuple[float, float]:
    r"""
    Weights `(a1, a2)` of the first and second derivative in a forecast `F + a1 * F' + a2 * F''` at `distance` past
    the last full step.

    - `"taylor"`: `a1 = d`, `a2 = d^2 / 2`.
    - `"hermite"` (FreqCa): with the distance and the derivatives measured in units of `unit` (one denoising step),
      `F + sum_k D_k * H_k(s * x) * s^k / k!` with `x = d / unit`, `H_1(y) = 2y`, `H_2(y) = 4y^2 - 2`, i.e.
      `a1 = unit * 2 s^2 x` and `a2 = unit^2 * (4 s^2 x^2 - 2) s^2 / 2` (about `1.008 x` and `0.508 x^2 - 0.504` for
      `s = 0.71`).

    Args:
        predictor (`str`): `"taylor"` or `"hermite"`.
        distance (`float`): how far past the last full step the forecast is, in the forecast's time unit.
        unit (`float`, defaults to `1.0`): the length of one denoising step in that unit (Hermite only).
        scale (`float`, defaults to `0.71`): the Hermite scale `s`.

    Example:
        ```python
        >>> predictor_coefficients("hermite", 2.0)
        (2.0164, 1.5246...)
        ```
    """
    if predictor == "taylor":
        return distance, distance * distance / 2.0
    if predictor == "hermite":
        x = distance / unit
        a1 = unit * (2.0 * scale * x) * scale
        a2 = unit * unit * (4.0 * (scale * x) ** 2 - 2.0) * scale**2 / math.factorial(2)
        return a1, a2
    raise ValueError(f"`predictor` must be 'hermite' or 'taylor', got {predictor!r}.")


class BandForecaster:
    r"""
    Forecasts a feature `F(t)` from its values at the most recent full steps, with separate forecast orders for a
    low and a high frequency band.

    It stores the latest value `F(t0)` once and, per band, the Newton divided differences of that band:
    `F[t0, t1]` (order >= 1) and `F[t0, t1, t2]` (order 2). Because the band split is linear, it is applied to the
    difference of consecutive full-step values, never to the values themselves, and a band of order 0 stores
    nothing: the paper's setting (low order 0, high order 2) holds three feature-sized tensors.

    Derivatives at `t0` come from the Newton polynomial through the stored points, so they honour uneven spacing and
    a Taylor forecast is exact for polynomials up to the forecast order.

    Args:
        low_order (`int`): forecast order of the low band, `0..2`.
        high_order (`int`): forecast order of the high band, `0..2`.
        low_pass (`Callable[[torch.Tensor], torch.Tensor]`, *optional*):
            Returns the low band (float32) of a float32 feature. `None` means no split: the whole feature is the high
            band.
        predictor (`str`, defaults to `"hermite"`): see [`predictor_coefficients`].
        hermite_scale (`float`, defaults to `0.71`): the Hermite scale.
        storage_dtype (`torch.dtype`, *optional*): dtype of the stored tensors; `None` keeps the feature's dtype.

    Example:
        ```python
        >>> forecaster = BandForecaster(low_order=0, high_order=2, low_pass=None, predictor="taylor")
        >>> for t in (0.0, 1.0, 2.0):
        ...     forecaster.update(torch.tensor([t**2]), time=t, step=int(t))
        >>> forecaster.predict(time=4.0)
        tensor([16.])
        ```
    """

    def __init__(
        self,
        low_order: int,
        high_order: int,
        low_pass: Callable[[torch.Tensor], torch.Tensor] | None = None,
        predictor: str = "hermite",
        hermite_scale: float = 0.71,
        storage_dtype: torch.dtype | None = None,
    ):
        if low_pass is None:
            low_order = high_order
        self.orders = {"low": low_order, "high": high_order}
        self.low_pass = low_pass
        self.predictor = predictor
        self.hermite_scale = hermite_scale
        self.storage_dtype = storage_dtype
        self.reset()

    @classmethod
    def from_config(
        cls, config: FreqCaConfig, low_pass: Callable[[torch.Tensor], torch.Tensor] | None = None
    ) -> "BandForecaster":
        r"""
        The forecaster a config describes: its band orders, predictor, Hermite scale and storage dtype.

        Args:
            config (`FreqCaConfig`): the settings.
            low_pass (`Callable`, *optional*): the low-pass filter of the band split; `None` when the config does not
                split bands (`config.splits_bands` is `False`).

        Returns:
            `BandForecaster`: a new, empty forecaster.

        Raises:
            `ValueError`: when the config splits bands and no `low_pass` is given.

        Example:
            ```python
            >>> BandForecaster.from_config(FreqCaConfig()).orders
            {'low': 1, 'high': 1}
            ```
        """
        if config.splits_bands and low_pass is None:
            raise ValueError("This config splits frequency bands: pass the band split's `low_pass` filter.")
        return cls(
            low_order=config.low_freq_order,
            high_order=config.high_freq_order,
            low_pass=low_pass if config.splits_bands else None,
            predictor=config.predictor,
            hermite_scale=config.hermite_scale,
            storage_dtype=config.cache_dtype,
        )

    def reset(self) -> None:
        """Forgets every stored value."""
        self.value: torch.Tensor | None = None
        self.times: list[float] = []
        self.steps: list[int] = []
        self.differences: dict[str, list[torch.Tensor]] = {"low": [], "high": []}

    @property
    def num_updates(self) -> int:
        return len(self.times)

    @property
    def tensors(self) -> list[torch.Tensor]:
        """Every tensor held, for memory accounting."""
        held = [] if self.value is None else [self.value]
        return held + self.differences["low"] + self.differences["high"]

    @property
    def nbytes(self) -> int:
        """Bytes held by the stored tensors."""
        return sum(t.numel() * t.element_size() for t in self.tensors)

    def _bands(self, difference: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.low_pass is None:
            return {"high": difference}
        needs = {band for band, order in self.orders.items() if order >= 1}
        if not needs:
            return {}
        low = self.low_pass(difference)
        bands = {"low": low, "high": difference - low}
        return {band: bands[band] for band in needs}

    @torch.no_grad()
    def update(self, value: torch.Tensor, time: float, step: int) -> None:
        r"""
        Records the feature computed at a full step.

        Args:
            value (`torch.Tensor`): the feature.
            time (`float`): its position on the forecast's time axis (strictly increasing between updates).
            step (`int`): its denoising step index (used to measure the mean step size on that axis).
        """
        dtype = self.storage_dtype or value.dtype
        # Differences of nearby values cancel digits: take them in float32 at least, never below the inputs.
        compute = torch.float64 if torch.float64 in (dtype, value.dtype) else torch.float32
        max_order = max(self.orders.values())
        if self.value is not None and max_order >= 1:
            dt = time - self.times[0]
            if dt <= 0:
                raise ValueError(f"Forecast times must increase between full steps, got {time} after {self.times[0]}.")
            first = (value.to(compute) - self.value.to(compute)) / dt
            for band, band_first in self._bands(first).items():
                old = self.differences[band]
                new = [band_first]
                if self.orders[band] >= 2 and old:
                    # F[t_new, t0, t1] = (F[t_new, t0] - F[t0, t1]) / (t_new - t1)
                    new.append((band_first - old[0].to(compute)) / (time - self.times[1]))
                self.differences[band] = [d.to(dtype) for d in new]
        # Never keep the caller's tensor itself: a model output handed back to the pipeline may be changed in place.
        stored = value.detach().to(dtype)
        self.value = stored.clone() if stored.data_ptr() == value.data_ptr() else stored
        self.times = [time, *self.times][: max_order + 1]
        self.steps = [step, *self.steps][: max_order + 1]

    @torch.no_grad()
    def retime(self, times: list[float]) -> None:
        r"""
        Moves the stored points to new positions on the time axis, keeping their values: the divided differences are
        recomputed for the new spacing. Used when the axis of a generation changes after some full steps (e.g. a
        trajectory turns out to repeat timesteps, so FreqCa forecasts along step indices instead).

        Args:
            times (`list[float]`): the new positions of the stored points, most recent first, strictly decreasing (one
                per stored point: `len(times) == num_updates`).

        Raises:
            `ValueError`: when the count does not match or the positions do not decrease.
        """
        if len(times) != len(self.times):
            raise ValueError(f"`times` must hold {len(self.times)} positions, got {len(times)}.")
        if any(a <= b for a, b in zip(times, times[1:])):
            raise ValueError(f"Forecast times must decrease from the most recent point, got {times}.")
        old = self.times
        for band, differences in self.differences.items():
            if not differences:
                continue
            compute = torch.float64 if differences[0].dtype == torch.float64 else torch.float32
            first = differences[0].to(compute)
            new = [first * ((old[0] - old[1]) / (times[0] - times[1]))]
            if len(differences) == 2:
                # Recover F[t1, t2] from F[t0, t1] and F[t0, t1, t2], then redo both with the new times.
                previous = first - differences[1].to(compute) * (old[0] - old[2])
                previous = previous * ((old[1] - old[2]) / (times[1] - times[2]))
                new.append((new[0] - previous) / (times[0] - times[2]))
            self.differences[band] = [d.to(differences[0].dtype) for d in new]
        self.times = list(times)

    def step_unit(self) -> float:
        """The mean distance between consecutive denoising steps on the time axis, over the stored history."""
        if len(self.times) < 2 or self.steps[0] == self.steps[-1]:
            return 1.0
        return (self.times[0] - self.times[-1]) / (self.steps[0] - self.steps[-1])

    @torch.no_grad()
    def predict(self, time: float) -> torch.Tensor:
        r"""
        The forecast feature at `time`, in the storage dtype.

        Args:
            time (`float`): a position on the forecast's time axis, usually past the last update.

        Returns:
            `torch.Tensor`: the forecast.
        """
        if self.value is None:
            raise RuntimeError("BandForecaster.predict was called before any update.")
        distance = time - self.times[0]
        a1, a2 = predictor_coefficients(self.predictor, distance, self.step_unit(), self.hermite_scale)
        prediction = self.value
        for differences in self.differences.values():
            if not differences:
                continue
            if len(differences) == 1:
                # Order one: F'(t0) ~= F[t0, t1].
                prediction = prediction + a1 * differences[0]
                continue
            # Order two: F'(t0) = F[t0,t1] + F[t0,t1,t2] (t0 - t1), F''(t0) = 2 F[t0,t1,t2].
            second_weight = a1 * (self.times[0] - self.times[1]) + 2.0 * a2
            prediction = prediction + a1 * differences[0] + second_weight * differences[1]
        return prediction


# The smallest `1 - sigma` the noise form divides by: keeps a forecast finite at a noise level of 1.
MIN_SIGNAL_LEVEL = 1e-3


class OutputForecaster(BandForecaster):
    r"""
    Forecasts the output `v` of a transformer (`forecast_target="model_output"`) in one of two forms:

    - velocity: `v` is extrapolated as it is (a [`BandForecaster`] without a band split), what TaylorSeer-lite does;
    - noise: for a flow-matching model (latents `x = (1 - sigma) x_0 + sigma e`, output `v = e - x_0`), the noise
      prediction `e = x + (1 - sigma) v` is extrapolated and converted back with the predicted step's own input `x`
      and noise level `sigma`: `v = (e - x) / (1 - sigma)`. Unlike the velocity form, the forecast then follows
      where the latents actually are.

    Which form applies (`FreqCaConfig.output_form`): `"velocity"`, `"noise"`, or `"auto"`: the noise form for models
    whose family says their output is a flow-matching velocity (`families.TransformerFamily.flow_velocity`), the
    velocity form otherwise; `"auto"` also falls back to the velocity form for a call without a noise level or with
    an output shaped unlike its input. On the model zoo the noise form was the better generaliser (docs/benchmarks.md).

    Args:
        config (`FreqCaConfig`): the settings; uses `output_form`, `high_freq_order`, `predictor`, `hermite_scale`
            and `cache_dtype`. The noise form is stored in `cache_dtype`, or float32 when it is `None` (the sum
            `x + (1 - sigma) v` cancels digits in half precision; the output is as small as the latents).
        flow_velocity (`bool`, defaults to `False`): whether the model's output is a flow-matching velocity.

    Example:
        ```python
        >>> forecaster = OutputForecaster(FreqCaConfig(forecast_target="model_output", output_form="noise"))
        >>> x, v = torch.zeros(1, 4, 2), torch.ones(1, 4, 2)
        >>> forecaster.update(v, time=0.0, step=0, x=x, sigma=0.8)
        >>> forecaster.predict(time=1.0, x=x - 0.1 * v, sigma=0.7).flatten()[0]  # one point: order 0, the same v
        tensor(1.)
        ```
    """

    def __init__(self, config: FreqCaConfig, flow_velocity: bool = False):
        self.output_form = config.output_form
        self.uses_noise_form = config.output_form == "noise" or (config.output_form == "auto" and flow_velocity)
        # One forecaster per form: only the one in use is filled.
        self.noise_forecaster = BandForecaster(
            low_order=config.high_freq_order,
            high_order=config.high_freq_order,
            predictor=config.predictor,
            hermite_scale=config.hermite_scale,
            storage_dtype=config.cache_dtype or torch.float32,
        )
        super().__init__(
            low_order=config.high_freq_order,
            high_order=config.high_freq_order,
            predictor=config.predictor,
            hermite_scale=config.hermite_scale,
            storage_dtype=config.cache_dtype,
        )

    def reset(self) -> None:
        """Forgets every stored value."""
        super().reset()
        self.noise_forecaster.reset()
        self.form = "noise" if self.uses_noise_form else "velocity"

    @property
    def tensors(self) -> list[torch.Tensor]:
        return super().tensors + self.noise_forecaster.tensors

    @staticmethod
    def _why_not_noise_form(output: torch.Tensor, x: torch.Tensor | None, sigma: float | None) -> str | None:
        # Why the noise form cannot apply to this call, or None when it can.
        if sigma is None:
            return "the call gives no noise level that goes down along the generation"
        if x is None or tuple(x.shape) != tuple(output.shape):
            shape = None if x is None else tuple(x.shape)
            return f"the output's shape {tuple(output.shape)} differs from the input's {shape}"
        return None

    @staticmethod
    def _velocity_from_noise(noise: torch.Tensor, x: torch.Tensor, sigma: float) -> torch.Tensor:
        return (noise - x.to(noise.dtype)) / max(1.0 - sigma, MIN_SIGNAL_LEVEL)

    @torch.no_grad()
    def update(
        self,
        value: torch.Tensor,
        time: float,
        step: int,
        x: torch.Tensor | None = None,
        sigma: float | None = None,
    ) -> None:
        r"""
        Records the output of a full step.

        Args:
            value (`torch.Tensor`): the transformer's output `v`, shaped like `x` for the noise form.
            time (`float`): its position on the forecast axis (strictly increasing between updates).
            step (`int`): its denoising step index.
            x (`torch.Tensor`, *optional*): the step's input latents (the transformer's `hidden_states`).
            sigma (`float`, *optional*): the step's noise level in `[0, 1]`, `None` when unknown.

        Raises:
            `ValueError`: with `output_form="noise"` when the noise form cannot apply to this call.
        """
        if self.form == "noise":
            reason = self._why_not_noise_form(value, x, sigma)
            if reason is None:
                noise = x.to(torch.float32) + (1.0 - sigma) * value.to(torch.float32)
                self.noise_forecaster.update(noise, time=time, step=step)
                # The velocity forecaster keeps only the axis (times and steps): no tensors.
                self.times = [time, *self.times][: max(self.orders.values()) + 1]
                self.steps = [step, *self.steps][: max(self.orders.values()) + 1]
                return
            if self.output_form == "noise":
                raise ValueError(
                    f"FreqCa cannot forecast this model's output in the noise form (`output_form='noise'`): {reason}. "
                    "Use `output_form='velocity'` or `'auto'`."
                )
            # `"auto"`: this generation continues in the velocity form, from this full step on.
            logger.info(
                f"FreqCa: forecasting the model output as it is (velocity form) from step {step} on: {reason}."
            )
            self.reset()
            self.form = "velocity"
        super().update(value, time=time, step=step)

    def can_predict(self, x: torch.Tensor | None, sigma: float | None) -> bool:
        r"""
        Whether `predict` can forecast a step with input `x` and noise level `sigma`: always in the velocity form
        (once updated); the noise form needs both, with `x` shaped like the stored forecast.

        Args:
            x (`torch.Tensor`, *optional*): the step's input latents.
            sigma (`float`, *optional*): the step's noise level.

        Returns:
            `bool`: `False` when the step must be computed instead.
        """
        if not self.num_updates:
            return False
        if self.form != "noise":
            return True
        return x is not None and sigma is not None and tuple(x.shape) == tuple(self.noise_forecaster.value.shape)

    @torch.no_grad()
    def predict(self, time: float, x: torch.Tensor | None = None, sigma: float | None = None) -> torch.Tensor:
        r"""
        The forecast output at `time`: in the storage dtype of the velocity form, in float32 (or `cache_dtype`) for
        the noise form.

        Args:
            time (`float`): the position of the predicted step on the forecast axis.
            x (`torch.Tensor`, *optional*): the predicted step's input latents (noise form).
            sigma (`float`, *optional*): the predicted step's noise level (noise form).

        Returns:
            `torch.Tensor`: the forecast `v`.

        Raises:
            `RuntimeError`: before any update, or in the noise form without `x` and `sigma`.
        """
        if self.form != "noise":
            return super().predict(time)
        if x is None or sigma is None:
            raise RuntimeError("The noise form of the output forecast needs the step's input latents and noise level.")
        return self._velocity_from_noise(self.noise_forecaster.predict(time), x, sigma)

    @torch.no_grad()
    def retime(self, times: list[float]) -> None:
        if self.form == "noise":
            self.noise_forecaster.retime(times)
            self.times = list(times)
            return
        super().retime(times)
