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
"""FreqCa's schedule and forecaster replayed on a recorded (uncached) trajectory: the error of the forecast block-stack
output for several cut-off ratios and intervals, next to reusing or forecasting the whole feature."""

import math
from collections.abc import Iterable
from typing import Any

import torch

from ..band_split import BandSplitter
from ..config import FreqCaConfig
from ..forecast import BandForecaster
from ..metrics import relative_error
from ..schedule import full_steps
from .band_dynamics import _check_settings, _check_temporal_cutoff, _stream_layout
from .recording import CRFTrace


SCHEME_COLUMNS = (
    "crf_form",
    "interval",
    "cutoff_ratio",
    "evaluations",
    "predicted_steps",
    "freqca_error",
    "reuse_error",
    "forecast_error",
)


def _replay(
    outputs: list[torch.Tensor],
    features: list[torch.Tensor],
    residual: bool,
    inputs: list[torch.Tensor],
    config: FreqCaConfig,
    forecaster: BandForecaster,
    device,
    first_step: int,
) -> tuple[float, int, int]:
    # FreqCa's schedule on the true trajectory: the forecaster sees the true feature of every full step and forecasts
    # every other step; returns the mean relative error of the block-stack output on the forecast steps.
    full = set(full_steps(len(features), config))
    errors = []
    for k, feature in enumerate(features):
        if k in full:
            forecaster.update(feature.to(device), time=float(k), step=k)
            continue
        if k < first_step:
            continue
        prediction = forecaster.predict(float(k))
        # The metrics run in float64; adding the input in the model's dtype (bfloat16) would add rounding error.
        prediction = prediction.to(torch.float64)
        if residual:
            prediction = prediction + inputs[k].to(device, torch.float64)
        errors.append(relative_error(prediction, outputs[k].to(device)))
    return (sum(errors) / len(errors) if errors else math.nan), len(full), len(errors)


def scheme_errors(
    trace: CRFTrace,
    intervals: Iterable[int] = (6,),
    cutoff_ratios: Iterable[float] = (0.1,),
    decomposition: str = "dct",
    predictor: str = "hermite",
    hermite_scale: float = 0.71,
    crf_forms: Iterable[str] = ("hidden_states",),
    warmup_steps: int = 3,
    first_step: int = 0,
    stream: int = 0,
    device: torch.device | str | None = None,
    temporal_cutoff_ratio: float | None = None,
) -> list[dict[str, Any]]:
    r"""
    Replays FreqCa's schedule and forecaster on the recorded trajectory for each interval and cut-off, and measures
    the error of the forecast block-stack output against the true one, next to reusing or forecasting the whole
    feature.

    One row per CRF form, interval and cut-off, with the columns of `SCHEME_COLUMNS`:

    - `crf_form`, `interval` (`cache_interval`), `cutoff_ratio`: the settings replayed.
    - `evaluations`: full steps of the schedule (`full_steps(num_steps, config)`); `predicted_steps`: the other steps
      from `first_step` on, over which the errors are averaged.
    - `freqca_error`: mean over the predicted steps of `||predicted - true|| / ||true||` for the block-stack output,
      when FreqCa's forecaster (low band reused, high band forecast with order 2) is fed the true full steps.
    - `reuse_error`: the same for reusing the whole feature of the last full step (no split, order 0).
    - `forecast_error`: the same for a second-order forecast of the whole feature (no split, order 2).

    These are one-step (open-loop) errors on the uncached trajectory: in a cached run, errors also feed back through
    the later steps, so compare settings with them, and check the chosen one on images.

    Args:
        trace (`CRFTrace`): from [`record_crf`] or [`CRFRecorder`].
        intervals (`Iterable[int]`, defaults to `(6,)`): the `cache_interval`s to replay.
        cutoff_ratios (`Iterable[float]`, defaults to `(0.1,)`): the `cutoff_ratio`s to replay.
        decomposition (`str`, defaults to `"dct"`): `"dct"` or `"fft"`.
        predictor (`str`, defaults to `"hermite"`): FreqCa's predictor.
        hermite_scale (`float`, defaults to `0.71`): the Hermite scale.
        crf_forms (`Iterable[str]`, defaults to `("hidden_states",)`): which cached features to replay.
        warmup_steps (`int`, defaults to `3`): `disable_cache_before_step` of the schedule (consecutive warm-up steps,
            `warmup_stride=1`, as in the paper).
        first_step (`int`, defaults to `0`): average the errors only over the predicted steps from this one on (the
            first predicted steps extrapolate from the closely spaced warm-up steps and often dominate the mean).
        stream (`int`, defaults to `0`): which call of each step.
        device (`torch.device` or `str`, *optional*): where to compute; defaults to where the trace is stored.
        temporal_cutoff_ratio (`float`, *optional*): the cut-off along the frames of video grids (3-D split), as
            `FreqCaConfig.temporal_cutoff_ratio`; `None` uses each replayed `cutoff_ratio`.

    Returns:
        `list[dict[str, Any]]`: the rows.

    Example:
        ```python
        >>> for row in scheme_errors(trace, intervals=(6, 9), cutoff_ratios=(0.05, 0.1, 0.2)):
        ...     print(row["interval"], row["cutoff_ratio"], row["freqca_error"], row["reuse_error"])
        ```
    """
    intervals, cutoff_ratios = list(intervals), list(cutoff_ratios)
    if isinstance(first_step, bool) or not isinstance(first_step, int) or first_step < 0:
        raise ValueError(f"`first_step` must be an int >= 0, got {first_step!r}.")
    if not intervals or not cutoff_ratios:
        raise ValueError("`intervals` and `cutoff_ratios` must each hold at least one value.")
    for interval in intervals:
        for cutoff_ratio in cutoff_ratios:
            _check_settings(interval, cutoff_ratio, decomposition, predictor)
    _check_temporal_cutoff(temporal_cutoff_ratio)
    layout = _stream_layout(trace, stream)
    indices = trace.calls(stream)
    outputs = [trace.outputs[i] for i in indices]
    inputs = [trace.inputs[i] for i in indices]
    device = device or outputs[0].device
    rows = []
    for crf_form in crf_forms:
        features = trace.features(crf_form, stream)
        residual = crf_form == "residual"
        for interval in intervals:
            base = {
                "cache_interval": interval,
                "disable_cache_before_step": warmup_steps,
                "warmup_stride": 1,
                "predictor": predictor,
            }
            base["forecast_target"] = "crf"  # what is replayed: the CRF (either form), not the model output
            config = FreqCaConfig(**base, decomposition="none", crf_form=crf_form)
            whole = {}
            for name, order in (("reuse_error", 0), ("forecast_error", 2)):
                forecaster = BandForecaster(order, order, None, predictor, hermite_scale)
                whole[name], evaluations, predicted = _replay(
                    outputs, features, residual, inputs, config, forecaster, device, first_step
                )
            for cutoff_ratio in cutoff_ratios:
                # The paper's band orders (low band reused, high band order 2), as the row describes them, whatever
                # the config's defaults are.
                config = FreqCaConfig(
                    **base,
                    decomposition=decomposition,
                    cutoff_ratio=float(cutoff_ratio),
                    low_freq_order=0,
                    high_freq_order=2,
                    crf_form=crf_form,
                )
                splitter = BandSplitter(decomposition, float(cutoff_ratio), temporal_cutoff_ratio)
                forecaster = BandForecaster(
                    config.low_freq_order,
                    config.high_freq_order,
                    low_pass=lambda x, splitter=splitter: splitter.low_pass(x, layout),
                    predictor=predictor,
                    hermite_scale=hermite_scale,
                )
                freqca, evaluations, predicted = _replay(
                    outputs, features, residual, inputs, config, forecaster, device, first_step
                )
                rows.append(
                    {
                        "crf_form": crf_form, "interval": interval, "cutoff_ratio": float(cutoff_ratio),
                        "evaluations": evaluations, "predicted_steps": predicted, "freqca_error": freqca, **whole,
                    }
                )  # fmt: skip
    return rows


__all__ = ["SCHEME_COLUMNS", "scheme_errors"]
