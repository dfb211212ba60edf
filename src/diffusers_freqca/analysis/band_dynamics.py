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
"""Per step and frequency band: how similar the block stack's output is between steps, and how well its trajectory
is forecast from earlier steps (the two properties FreqCa relies on)."""

from collections.abc import Iterable, Sequence
from typing import Any

import torch

from ..band_split import BandSplitter, TokenLayout
from ..config import CRF_FORMS, DECOMPOSITIONS, PREDICTORS
from ..forecast import BandForecaster
from ..metrics import cosine_similarity, relative_error
from .recording import CRFTrace


# The bands of every row: the two halves of the cache's split, and the feature before splitting.
BANDS = ("low", "high", "unsplit")
# The decompositions that split bands (the analysis has nothing to show for `decomposition="none"`).
SPLIT_DECOMPOSITIONS = tuple(d for d in DECOMPOSITIONS if d != "none")

STEP_COLUMNS = (
    "crf_form",
    "band",
    "step",
    "timestep",
    "energy_fraction",
    "cos_prev",
    "rel_change_prev",
    "cos_lag",
    "error_order0",
    "error_order1",
    "error_order2",
)


def _energy(x: torch.Tensor) -> torch.Tensor:
    # Squared L2 norm per sample, in float64.
    return x.reshape(x.shape[0], -1).to(torch.float64).pow(2).sum(dim=1)


def lag_forecast(
    history: Sequence[torch.Tensor], lag: int, predictor: str = "hermite", hermite_scale: float = 0.71
) -> torch.Tensor:
    r"""
    Forecasts a trajectory `lag` steps past its last value from values `lag` steps apart, with FreqCa's forecaster.

    The forecast order is `len(history) - 1` (at most 2): one value is reused, two give a line, three a parabola
    (with `predictor="taylor"`, exactly the polynomial through them: `3 x[-1] - 3 x[-2] + x[-3]` for three values).

    Args:
        history (`Sequence[torch.Tensor]`): 1 to 3 values at steps `k - m lag, ..., k - lag`, oldest first.
        lag (`int`): the distance between the values and from the last one to the forecast, in steps.
        predictor (`str`, defaults to `"hermite"`): `"hermite"` or `"taylor"`, see [`predictor_coefficients`].
        hermite_scale (`float`, defaults to `0.71`): the Hermite scale.

    Returns:
        `torch.Tensor`: the forecast at step `k`, in float32 (float64 for float64 inputs).

    Example:
        ```python
        >>> values = [torch.tensor([float(t) ** 2]) for t in (0, 2, 4)]
        >>> lag_forecast(values, lag=2, predictor="taylor")
        tensor([36.])
        ```
    """
    if not 1 <= len(history) <= 3:
        raise ValueError(f"`history` must hold 1 to 3 values, got {len(history)}.")
    if isinstance(lag, bool) or not isinstance(lag, int) or lag < 1:
        raise ValueError(f"`lag` must be an int >= 1, got {lag!r}.")
    order = len(history) - 1
    forecaster = BandForecaster(order, order, low_pass=None, predictor=predictor, hermite_scale=hermite_scale)
    for i, value in enumerate(history):
        value = value if value.dtype == torch.float64 else value.to(torch.float32)
        forecaster.update(value, time=float(i * lag), step=i * lag)
    return forecaster.predict(float(len(history) * lag))


def _check_settings(interval: int, cutoff_ratio: float, decomposition: str, predictor: str) -> None:
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise ValueError(f"`interval` must be an int >= 1, got {interval!r}.")
    if isinstance(cutoff_ratio, bool) or not isinstance(cutoff_ratio, (int, float)) or not 0 < cutoff_ratio <= 1:
        raise ValueError(f"`cutoff_ratio` must be a float in (0, 1], got {cutoff_ratio!r}.")
    if decomposition not in SPLIT_DECOMPOSITIONS:
        raise ValueError(
            f"`decomposition` must be one of {', '.join(map(repr, SPLIT_DECOMPOSITIONS))}, got {decomposition!r}."
        )
    if predictor not in PREDICTORS:
        raise ValueError(f"`predictor` must be one of {', '.join(map(repr, PREDICTORS))}, got {predictor!r}.")


def _check_temporal_cutoff(temporal_cutoff_ratio: float | None) -> None:
    value = temporal_cutoff_ratio
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1):
        raise ValueError(f"`temporal_cutoff_ratio` must be None or a float in (0, 1], got {value!r}.")


def _stream_layout(trace: CRFTrace, stream: int) -> TokenLayout:
    indices = trace.calls(stream)
    layout, shape = trace.layouts[indices[0]], trace.outputs[indices[0]].shape
    for i in indices[1:]:
        if trace.layouts[i] != layout or trace.outputs[i].shape != shape:
            raise ValueError(
                "The recorded calls change shape or token grid between steps (step "
                f"{trace.steps[i]}: {tuple(trace.outputs[i].shape)} vs {tuple(shape)}); analyze one generation at one "
                "resolution."
            )
    return layout


class _Bands:
    # The bands of each step's feature, computed on first use and dropped once no later step can need them.
    def __init__(self, features: list[torch.Tensor], splitter: BandSplitter, layout: TokenLayout, device):
        self.features, self.splitter, self.layout, self.device = features, splitter, layout, device
        self.cache: dict[int, dict[str, torch.Tensor]] = {}

    def __call__(self, step: int) -> dict[str, torch.Tensor]:
        if step not in self.cache:
            feature = self.features[step].to(self.device)
            # float32 for the split (float64 inputs keep their precision), as in the cache.
            feature = feature if feature.dtype == torch.float64 else feature.to(torch.float32)
            low, high = self.splitter.split(feature, self.layout)
            self.cache[step] = {"low": low, "high": high, "unsplit": feature}
        return self.cache[step]

    def forget_before(self, step: int) -> None:
        for old in [s for s in self.cache if s < step]:
            del self.cache[old]


def analyze_trace(
    trace: CRFTrace,
    interval: int = 6,
    cutoff_ratio: float = 0.1,
    decomposition: str = "dct",
    predictor: str = "hermite",
    hermite_scale: float = 0.71,
    crf_forms: Iterable[str] = CRF_FORMS,
    stream: int = 0,
    device: torch.device | str | None = None,
    temporal_cutoff_ratio: float | None = None,
) -> list[dict[str, Any]]:
    r"""
    Per step and band, how similar the CRF is between steps and how well its trajectory is forecast. Image grids are
    split in 2-D, video grids in 3-D (frames x rows x columns), as the cache splits them.

    One row per CRF form, band and step, with the columns of `STEP_COLUMNS`:

    - `crf_form`: `"hidden_states"` (the block stack's output, the authors' CRF) or `"residual"` (output minus input),
      see `FreqCaConfig.crf_form`.
    - `band`: `"low"`, `"high"` (the cache's split at the chosen cut-off) or `"unsplit"` (the whole feature).
    - `step`: the denoising step `k`, from 0. `timestep`: the timestep the transformer received at that step.
    - `energy_fraction`: `||band(k)||^2 / ||feature(k)||^2` (low and high add up to 1: the split is orthogonal).
    - `cos_prev`: cosine similarity of `band(k)` and `band(k-1)`.
    - `rel_change_prev`: `||band(k) - band(k-1)|| / ||band(k)||`.
    - `cos_lag`: cosine similarity of `band(k)` and `band(k-N)`, `N` the interval.
    - `error_order0`: relative error of reusing `band(k-N)` for `band(k)`: `||band(k-N) - band(k)|| / ||band(k)||`.
    - `error_order1`: relative error of the first-order forecast of `band(k)` from `band(k-N)`, `band(k-2N)`.
    - `error_order2`: relative error of the second-order forecast of `band(k)` from `band(k-N)`, `band(k-2N)`,
      `band(k-3N)` (the predictor of the analysis, Hermite by default, as in the cache).

    Metrics are computed per sample of the batch and averaged; a metric that needs steps before step 0 is empty.

    Args:
        trace (`CRFTrace`): from [`record_crf`] or [`CRFRecorder`].
        interval (`int`, defaults to `6`): the lag `N` (FreqCa's `cache_interval`).
        cutoff_ratio (`float`, defaults to `0.1`): the band split's cut-off, as `FreqCaConfig.cutoff_ratio`.
        decomposition (`str`, defaults to `"dct"`): `"dct"` or `"fft"`, as `FreqCaConfig.decomposition`.
        predictor (`str`, defaults to `"hermite"`): the forecast of `error_order1` / `error_order2`.
        hermite_scale (`float`, defaults to `0.71`): the Hermite scale.
        crf_forms (`Iterable[str]`, defaults to both): which features to analyze.
        stream (`int`, defaults to `0`): which call of each step (0: the conditional pass).
        device (`torch.device` or `str`, *optional*): where to compute; defaults to where the trace is stored.
        temporal_cutoff_ratio (`float`, *optional*): the cut-off along the frames of video grids, as
            `FreqCaConfig.temporal_cutoff_ratio`; `None` uses `cutoff_ratio`.

    Returns:
        `list[dict[str, Any]]`: the rows, `None` where a metric is undefined.

    Example:
        ```python
        >>> rows = analyze_trace(trace, interval=6)
        >>> [row["cos_lag"] for row in rows if row["band"] == "low" and row["step"] == 20]
        [0.99...]
        ```
    """
    _check_settings(interval, cutoff_ratio, decomposition, predictor)
    layout = _stream_layout(trace, stream)
    indices = trace.calls(stream)
    _check_temporal_cutoff(temporal_cutoff_ratio)
    splitter = BandSplitter(decomposition, float(cutoff_ratio), temporal_cutoff_ratio)
    rows = []
    for crf_form in crf_forms:
        features = trace.features(crf_form, stream)
        bands = _Bands(features, splitter, layout, device or features[0].device)
        for k in range(len(features)):
            current = bands(k)
            total = _energy(current["unsplit"])
            for band in BANDS:
                value = current[band]
                row: dict[str, Any] = dict.fromkeys(STEP_COLUMNS)
                energy = _energy(value) / total.clamp_min(1e-300)
                row.update(
                    crf_form=crf_form, band=band, step=k, timestep=trace.timesteps[indices[k]],
                    energy_fraction=float(energy.mean()),
                )  # fmt: skip
                if k >= 1:
                    row["cos_prev"] = cosine_similarity(value, bands(k - 1)[band])
                    row["rel_change_prev"] = relative_error(bands(k - 1)[band], value)
                if k >= interval:
                    row["cos_lag"] = cosine_similarity(value, bands(k - interval)[band])
                for order in range(3):
                    if k >= (order + 1) * interval:
                        history = [bands(k - m * interval)[band] for m in range(order + 1, 0, -1)]
                        forecast = lag_forecast(history, interval, predictor, hermite_scale)
                        row[f"error_order{order}"] = relative_error(forecast, value)
                rows.append(row)
            bands.forget_before(k + 1 - 3 * interval)
    return rows


__all__ = ["BANDS", "SPLIT_DECOMPOSITIONS", "STEP_COLUMNS", "analyze_trace", "lag_forecast"]
