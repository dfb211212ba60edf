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
"""The frequency analysis FreqCa is built on, as a tool: `diffusers-freqca analyze`.

It runs a diffusers pipeline once, without any cache, and records at every transformer call the output of the block
stack for the image tokens (the Cumulative Residual Feature, CRF: the hidden states that enter the output head
`norm_out` in FLUX and Qwen-Image) and its input. Each recorded feature is split into a low and a high band over its
image token grid(s) exactly as the cache splits it ([`BandSplitter`] on the [`TokenLayout`] read by
`token_grid.CallInputReader`), and per band and step it measures:

- **similarity** between steps: the cosine similarity with the previous step and with the step `interval` earlier
  (what reusing a band for `interval` steps relies on);
- **continuity** of the trajectory: the relative error of forecasting a band from the steps `interval`, `2 interval`
  and `3 interval` earlier with a polynomial of order 1 or 2 ([`BandForecaster`]), against the error of reusing the
  value `interval` steps earlier (order 0).

It also replays FreqCa's real schedule on the recorded (uncached) trajectory, with FreqCa's own forecaster, and
reports the error of the predicted block-stack output for several cut-off ratios and intervals: the numbers to look
at when choosing `cutoff_ratio` and `cache_interval` for a model.

    diffusers-freqca analyze                                # the project's trained tiny model, CPU, ~20 s
    diffusers-freqca analyze --cutoff-sweep 0.05,0.1,0.2,0.3 --interval-sweep 3,6,9
    diffusers-freqca analyze --model black-forest-labs/FLUX.1-dev --prompt "a red fox in the snow"
"""

import argparse
import csv
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from diffusers.hooks._helpers import TransformerBlockRegistry
from diffusers.utils import get_logger
from diffusers.utils.torch_utils import unwrap_module

from .band_split import BandSplitter, TokenLayout
from .config import CRF_FORMS, FreqCaConfig
from .forecast import BandForecaster
from .hooks import _transformer_blocks
from .schedule import full_steps
from .token_grid import CallInputReader


logger = get_logger(__name__)  # pylint: disable=invalid-name

# The bands of every row: the two halves of the cache's split, and the feature before splitting.
BANDS = ("low", "high", "unsplit")
DECOMPOSITIONS = ("dct", "fft")
PREDICTORS = ("hermite", "taylor")

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


@dataclass
class CRFTrace:
    r"""
    What [`CRFRecorder`] recorded: per transformer call, the block stack's output and input for the image tokens.

    Calls at the same timestep (e.g. the conditional and unconditional passes of true classifier-free guidance) are
    one denoising step; their order within the step is their `stream`.

    Args:
        outputs (`list[torch.Tensor]`): per call, the block stack's output `(batch, tokens, channels)`.
        inputs (`list[torch.Tensor]`): per call, the block stack's input, same shape.
        layouts (`list[TokenLayout]`): per call, where the image grids are in the token sequence.
        timesteps (`list[float | None]`): per call, the timestep the transformer received.
        steps (`list[int]`): per call, its denoising step, from 0.
        streams (`list[int]`): per call, its index among the calls of its step.
        model_class (`str`): the transformer's class name.

    Example:
        ```python
        >>> trace, _ = record_crf(pipe, {"prompt": "a red fox", "num_inference_steps": 50, "output_type": "latent"})
        >>> features = trace.features("hidden_states")  # one tensor per step, conditional pass
        >>> trace.layouts[0].segments
        (GridSegment(start=0, height=64, width=64),)
        ```
    """

    outputs: list[torch.Tensor] = field(default_factory=list)
    inputs: list[torch.Tensor] = field(default_factory=list)
    layouts: list[TokenLayout] = field(default_factory=list)
    timesteps: list[float | None] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    streams: list[int] = field(default_factory=list)
    model_class: str = ""

    @property
    def num_calls(self) -> int:
        """How many transformer calls were recorded."""
        return len(self.outputs)

    def calls(self, stream: int = 0) -> list[int]:
        r"""
        The indices of the calls of one stream, one per step, in step order.

        Args:
            stream (`int`, defaults to `0`): which call of each step (with true CFG: 0 conditional, 1 unconditional).

        Example:
            ```python
            >>> unconditional = [trace.outputs[i] for i in trace.calls(stream=1)]
            ```
        """
        indices = [i for i, s in enumerate(self.streams) if s == stream]
        if not indices:
            raise ValueError(f"`stream` must be one of {sorted(set(self.streams))} for this trace, got {stream!r}.")
        return indices

    def features(self, crf_form: str, stream: int = 0) -> list[torch.Tensor]:
        r"""
        The cached feature of every step of a stream.

        Args:
            crf_form (`str`): `"hidden_states"` (the block stack's output) or `"residual"` (output minus input).
            stream (`int`, defaults to `0`): which call of each step.

        Returns:
            `list[torch.Tensor]`: one `(batch, tokens, channels)` tensor per step.

        Example:
            ```python
            >>> residuals = trace.features("residual")
            ```
        """
        if crf_form not in CRF_FORMS:
            raise ValueError(f"`crf_form` must be one of {', '.join(map(repr, CRF_FORMS))}, got {crf_form!r}.")
        indices = self.calls(stream)
        if crf_form == "hidden_states":
            return [self.outputs[i] for i in indices]
        return [self.outputs[i] - self.inputs[i] for i in indices]


class CRFRecorder:
    r"""
    Records the block-stack output (the CRF) and input of every call of a transformer, as a context manager.

    The output is the hidden states returned by the last block of the transformer's block stacks and the input the
    hidden states given to the first block: the tensors FreqCa caches (for FLUX and Qwen-Image, the output is the
    input of `norm_out`). Forward hooks do the recording, so the model runs unchanged; the token layout of each call
    comes from the same per-model table the cache uses (`diffusers_freqca.token_grid`), falling back to one 1-D
    sequence (with a warning) when the call does not describe its grid.

    A call whose timestep is larger than the previous one starts a new generation: the recorder then keeps only the
    new one.

    Args:
        transformer (`torch.nn.Module`): the transformer, without any cache enabled.
        storage_device (`torch.device` or `str`, defaults to `"cpu"`): where recorded tensors are kept. They keep the
            model's dtype; FLUX.1-dev at 1024x1024 in bfloat16 takes about 50 MB per call (output and input).

    Example:
        ```python
        >>> with CRFRecorder(pipe.transformer) as recorder:
        ...     pipe(prompt, num_inference_steps=50)
        >>> trace = recorder.trace
        >>> len(trace.outputs), trace.outputs[0].shape
        (50, torch.Size([1, 4096, 3072]))
        ```
    """

    def __init__(self, transformer: torch.nn.Module, storage_device: torch.device | str = "cpu"):
        if getattr(transformer, "_freqca_runtime", None) is not None or getattr(
            transformer, "is_cache_enabled", False
        ):
            raise ValueError(
                "The frequency analysis needs the uncached trajectory, but a cache is enabled on this transformer; "
                "call `transformer.disable_cache()` first."
            )
        blocks = _transformer_blocks(transformer)
        if not blocks:
            raise ValueError(
                f"Found no transformer block list in {type(transformer).__name__}: the analysis records the output of "
                "the block stack, which it finds like FreqCa does (`ModuleList` children named like diffusers' block "
                "lists, e.g. `transformer_blocks`)."
            )
        self.transformer = transformer
        self.storage_device = torch.device(storage_device)
        self._first, self._last = blocks[0][1], blocks[-1][1]
        try:
            self._first_metadata = TransformerBlockRegistry.get(unwrap_module(self._first).__class__)
            self._last_metadata = TransformerBlockRegistry.get(unwrap_module(self._last).__class__)
        except ValueError:
            raise ValueError(
                f"The analysis needs to know how the blocks of {type(transformer).__name__} take and return their "
                "hidden states, but their class is not registered in diffusers' TransformerBlockRegistry."
            ) from None
        self._reader = CallInputReader(transformer)
        self._handles: list[Any] = []
        self.trace = CRFTrace(model_class=type(transformer).__name__)
        self._reset_call_state()

    def _reset_call_state(self) -> None:
        self._call = None
        self._input: torch.Tensor | None = None
        self._last_time: float | None = None
        self._step = -1
        self._stream = 0
        self._warned = False

    def __enter__(self) -> "CRFRecorder":
        self.trace = CRFTrace(model_class=type(self.transformer).__name__)
        self._reset_call_state()
        self._handles = [
            self.transformer.register_forward_pre_hook(self._on_call, with_kwargs=True),
            self._first.register_forward_pre_hook(self._on_first_block, with_kwargs=True),
            self._last.register_forward_hook(self._on_last_block, with_kwargs=True),
        ]
        return self

    def __exit__(self, *exc_info) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _store(self, tensor: torch.Tensor) -> torch.Tensor:
        # A copy, so that an in-place operation of the model later in the call cannot change what was recorded.
        return tensor.detach().to(self.storage_device, copy=True)

    def _on_call(self, module, args, kwargs) -> None:
        call = self._reader.read(args, kwargs)
        time, last = call.time, self._last_time
        if time is not None and last is not None and time > last:
            # Timesteps decrease along a trajectory: a larger one is a new generation.
            self.trace = CRFTrace(model_class=self.trace.model_class)
            self._step = -1
        if time is not None and time == last and self._step >= 0:
            self._stream += 1
        else:
            self._step += 1
            self._stream = 0
        self._last_time = time
        self._call = call

    def _on_first_block(self, module, args, kwargs) -> None:
        metadata = self._first_metadata
        self._input = self._store(
            metadata._get_parameter_from_args_kwargs(metadata.hidden_states_argument_name, args, kwargs)
        )

    def _on_last_block(self, module, args, kwargs, output) -> None:
        hidden_states = output[self._last_metadata.return_hidden_states_index] if isinstance(output, tuple) else output
        if self._call is None or self._input is None:
            # The blocks ran outside a call of the transformer itself: nothing to attribute them to.
            return
        seq_len = hidden_states.shape[1]
        layout = self._call.layout
        if layout is None or layout.seq_len != seq_len:
            if not self._warned:
                logger.warning(
                    f"{self.trace.model_class}'s call does not describe a token grid of {seq_len} tokens; the analysis "
                    "splits bands over the token sequence in 1-D, as FreqCa's `grid_fallback='sequence'` does."
                )
                self._warned = True
            layout = TokenLayout.sequence(seq_len)
        self.trace.outputs.append(self._store(hidden_states))
        self.trace.inputs.append(self._input)
        self.trace.layouts.append(layout)
        self.trace.timesteps.append(self._call.time)
        self.trace.steps.append(self._step)
        self.trace.streams.append(self._stream)
        self._input = None


def record_crf(
    pipe, pipeline_kwargs: dict[str, Any], storage_device: torch.device | str = "cpu"
) -> tuple[CRFTrace, Any]:
    r"""
    Runs a diffusers pipeline once, without a cache, and records the CRF of every transformer call.

    Args:
        pipe (`DiffusionPipeline`): a pipeline with a `transformer` (FLUX, FLUX.1-Kontext, Qwen-Image, ...).
        pipeline_kwargs (`dict[str, Any]`): the arguments of the pipeline call (prompt, size, steps, generator...).
        storage_device (`torch.device` or `str`, defaults to `"cpu"`): where the recorded tensors are kept.

    Returns:
        `tuple[CRFTrace, Any]`: the trace and the pipeline's output.

    Example:
        ```python
        >>> from diffusers_freqca.tiny_model import get_prompt_embeds, load_tiny_flux_pipeline

        >>> pipe = load_tiny_flux_pipeline()
        >>> embeds, pooled = get_prompt_embeds(pipe, 0)
        >>> trace, _ = record_crf(pipe, {"prompt_embeds": embeds, "pooled_prompt_embeds": pooled, "height": 64,
        ...                              "width": 64, "num_inference_steps": 50, "output_type": "latent"})
        >>> len(trace.outputs)
        50
        ```
    """
    transformer = getattr(pipe, "transformer", None)
    if not isinstance(transformer, torch.nn.Module):
        raise ValueError(f"`pipe` must have a `transformer` module, got {type(pipe).__name__} without one.")
    with CRFRecorder(transformer, storage_device) as recorder:
        output = pipe(**pipeline_kwargs)
    if recorder.trace.num_calls == 0:
        raise ValueError("The pipeline call ran no transformer block; there is nothing to analyze.")
    return recorder.trace, output


# ------------------------------------------------------------------------------------------------------------ metrics


def _flat(x: torch.Tensor) -> torch.Tensor:
    # Per-sample vectors in float64: the metrics compare nearly equal tensors, where float32 sums lose digits.
    return x.reshape(x.shape[0], -1).to(torch.float64)


def cosine_similarity(a: torch.Tensor, b: torch.Tensor) -> float:
    r"""
    Cosine similarity of `a` and `b` per sample (first dimension), averaged over the samples. Two zero samples count
    as identical (1.0).

    Args:
        a (`torch.Tensor`): shape `(batch, ...)`.
        b (`torch.Tensor`): the same shape.

    Example:
        ```python
        >>> cosine_similarity(torch.ones(2, 3), 2 * torch.ones(2, 3))
        1.0
        ```
    """
    a, b = _flat(a), _flat(b)
    norms = a.norm(dim=1) * b.norm(dim=1)
    cos = torch.where(norms > 0, (a * b).sum(dim=1) / norms.clamp_min(1e-300), torch.ones_like(norms))
    return float(cos.mean())


def relative_error(estimate: torch.Tensor, target: torch.Tensor) -> float:
    r"""
    `||estimate - target|| / ||target||` per sample (first dimension), averaged over the samples. A zero target
    gives 0 when the estimate is zero too, `inf` otherwise.

    Args:
        estimate (`torch.Tensor`): shape `(batch, ...)`.
        target (`torch.Tensor`): the same shape.

    Example:
        ```python
        >>> relative_error(torch.tensor([[3.0, 4.0]]), torch.tensor([[0.0, 4.0]]))
        0.75
        ```
    """
    estimate, target = _flat(estimate), _flat(target)
    difference = (estimate - target).norm(dim=1)
    norm = target.norm(dim=1)
    error = torch.where(norm > 0, difference / norm.clamp_min(1e-300), torch.where(difference > 0, math.inf, 0.0))
    return float(error.mean())


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
    if decomposition not in DECOMPOSITIONS:
        raise ValueError(
            f"`decomposition` must be one of {', '.join(map(repr, DECOMPOSITIONS))}, got {decomposition!r}."
        )
    if predictor not in PREDICTORS:
        raise ValueError(f"`predictor` must be one of {', '.join(map(repr, PREDICTORS))}, got {predictor!r}.")


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
) -> list[dict[str, Any]]:
    r"""
    Per step and band, how similar the CRF is between steps and how well its trajectory is forecast.

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
    splitter = BandSplitter(decomposition, float(cutoff_ratio))
    rows = []
    for crf_form in crf_forms:
        features = trace.features(crf_form, stream)
        bands = _Bands(features, splitter, layout, device or features[0].device)
        for k in range(len(features)):
            current = bands(k)
            total = _flat(current["unsplit"]).pow(2).sum(dim=1)
            for band in BANDS:
                value = current[band]
                row: dict[str, Any] = dict.fromkeys(STEP_COLUMNS)
                energy = _flat(value).pow(2).sum(dim=1) / total.clamp_min(1e-300)
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
        warmup_steps (`int`, defaults to `3`): `disable_cache_before_step` of the schedule.
        first_step (`int`, defaults to `0`): average the errors only over the predicted steps from this one on (the
            first predicted steps extrapolate from the closely spaced warm-up steps and often dominate the mean).
        stream (`int`, defaults to `0`): which call of each step.
        device (`torch.device` or `str`, *optional*): where to compute; defaults to where the trace is stored.

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
            base = {"cache_interval": interval, "disable_cache_before_step": warmup_steps, "predictor": predictor}
            config = FreqCaConfig(**base, decomposition="none", crf_form=crf_form)
            whole = {}
            for name, order in (("reuse_error", 0), ("forecast_error", 2)):
                forecaster = BandForecaster(order, order, None, predictor, hermite_scale)
                whole[name], evaluations, predicted = _replay(
                    outputs, features, residual, inputs, config, forecaster, device, first_step
                )
            for cutoff_ratio in cutoff_ratios:
                config = FreqCaConfig(
                    **base, decomposition=decomposition, cutoff_ratio=float(cutoff_ratio), crf_form=crf_form
                )
                splitter = BandSplitter(decomposition, float(cutoff_ratio))
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


# ------------------------------------------------------------------------------------------------------------ outputs


def write_csv(rows: list[dict[str, Any]], path: str | Path, columns: Sequence[str] = STEP_COLUMNS) -> None:
    r"""
    Writes rows to a CSV file with a header; `None` becomes an empty cell, floats keep 6 significant digits.

    Args:
        rows (`list[dict[str, Any]]`): from [`analyze_trace`] or [`scheme_errors`].
        path (`str` or `Path`): the file; its folder is created if needed.
        columns (`Sequence[str]`, defaults to `STEP_COLUMNS`): the columns, in order (`SCHEME_COLUMNS` for sweeps).

    Example:
        ```python
        >>> write_csv(analyze_trace(trace), "outputs/analysis/frequency_analysis.csv")
        ```
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def cell(value):
        if value is None:
            return ""
        return f"{value:.6g}" if isinstance(value, float) else value

    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell(row[column]) for column in columns])


def summarize(rows: list[dict[str, Any]], crf_form: str) -> list[dict[str, Any]]:
    r"""
    Per band, the mean of every metric of [`analyze_trace`] over the steps where it is defined.

    Args:
        rows (`list[dict[str, Any]]`): from [`analyze_trace`].
        crf_form (`str`): which feature's rows.

    Returns:
        `list[dict[str, Any]]`: one dict per band with `band` and the mean of each metric column.

    Example:
        ```python
        >>> summarize(analyze_trace(trace), "hidden_states")[0]["band"]
        'low'
        ```
    """
    metrics = STEP_COLUMNS[STEP_COLUMNS.index("energy_fraction") :]
    summary = []
    for band in BANDS:
        selected = [row for row in rows if row["crf_form"] == crf_form and row["band"] == band]
        if not selected:
            continue
        means: dict[str, Any] = {"band": band}
        for metric in metrics:
            values = [row[metric] for row in selected if row[metric] is not None]
            means[metric] = sum(values) / len(values) if values else None
        summary.append(means)
    return summary


def format_summary(summary: list[dict[str, Any]], interval: int) -> str:
    r"""
    The per-band means of [`summarize`] as a Markdown table.

    Args:
        summary (`list[dict[str, Any]]`): from [`summarize`].
        interval (`int`): the lag `N`, for the headers.

    Example:
        ```python
        >>> print(format_summary(summarize(rows, "hidden_states"), interval=6))
        ```
    """
    headers = (
        "band", "energy", "cos(k, k-1)", "change vs k-1", f"cos(k, k-{interval})", f"reuse err (lag {interval})",
        "order-1 err", "order-2 err",
    )  # fmt: skip
    metrics = STEP_COLUMNS[STEP_COLUMNS.index("energy_fraction") :]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for means in summary:
        cells = [means["band"]] + ["-" if means[m] is None else f"{means[m]:.4f}" for m in metrics]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_scheme(rows: list[dict[str, Any]]) -> str:
    r"""
    The rows of [`scheme_errors`] as a Markdown table.

    Example:
        ```python
        >>> print(format_scheme(scheme_errors(trace, cutoff_ratios=(0.05, 0.1, 0.2))))
        ```
    """
    headers = ("crf_form", "interval", "evaluations", "cutoff", "FreqCa err", "reuse err", "order-2 err")
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        cells = (
            row["crf_form"], str(row["interval"]), str(row["evaluations"]), f"{row['cutoff_ratio']:g}",
            f"{row['freqca_error']:.4f}", f"{row['reuse_error']:.4f}", f"{row['forecast_error']:.4f}",
        )  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


_BAND_STYLE = {"low": ("tab:blue", "low band"), "high": ("tab:orange", "high band"), "unsplit": ("0.45", "unsplit")}


def plot_analysis(rows: list[dict[str, Any]], path: str | Path, crf_form: str, interval: int, title: str = "") -> None:
    r"""
    Plots the rows of one CRF form in three panels and saves the figure: similarity between consecutive steps,
    similarity at lag `interval`, and the error of reusing (order 0) against forecasting (order 2) each band.

    Needs matplotlib (`pip install matplotlib`); it draws with the Agg canvas and leaves pyplot's state alone.

    Args:
        rows (`list[dict[str, Any]]`): from [`analyze_trace`].
        path (`str` or `Path`): the image file (PNG for a `.png` name); its folder is created if needed.
        crf_form (`str`): which feature's rows to plot.
        interval (`int`): the lag `N` the rows were computed with.
        title (`str`, *optional*): the figure's title.

    Example:
        ```python
        >>> plot_analysis(analyze_trace(trace), "frequency_analysis.png", "hidden_states", interval=6)
        ```
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
    except ImportError:
        raise ImportError("Plotting the frequency analysis needs matplotlib: `pip install matplotlib`.") from None
    selected = [row for row in rows if row["crf_form"] == crf_form]
    if not selected:
        raise ValueError(f"No rows for `crf_form={crf_form!r}` to plot.")

    def series(band: str, column: str) -> tuple[list[int], list[float]]:
        points = [(row["step"], row[column]) for row in selected if row["band"] == band]
        return [p[0] for p in points], [math.nan if p[1] is None else p[1] for p in points]

    figure = Figure(figsize=(13, 3.9), dpi=90)
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 3)
    panels = (
        (axes[0], "cos_prev", "similarity with the previous step", "cosine similarity, step k vs k-1"),
        (axes[1], "cos_lag", f"similarity {interval} steps apart", f"cosine similarity, step k vs k-{interval}"),
    )
    for axis, column, heading, label in panels:
        for band, (colour, name) in _BAND_STYLE.items():
            axis.plot(*series(band, column), color=colour, label=name, linewidth=1.6)
        axis.set_title(heading, fontsize=10)
        axis.set_ylabel(label, fontsize=9)
    axis = axes[2]
    for band, (colour, _) in _BAND_STYLE.items():
        axis.plot(*series(band, "error_order0"), color=colour, linestyle="--", linewidth=1.4)
        axis.plot(*series(band, "error_order2"), color=colour, linewidth=1.6)
    axis.set_yscale("log")
    axis.set_title(f"predicting step k from {interval} steps earlier", fontsize=10)
    axis.set_ylabel("relative L2 error", fontsize=9)
    # Colours are the bands (legend of the first panel); the line style is the predictor.
    styles = [
        Line2D([], [], color="0.2", linestyle="--", label=f"reuse step k-{interval}"),
        Line2D([], [], color="0.2", label=f"order-2 forecast from k-{interval}, k-{2 * interval}, k-{3 * interval}"),
    ]
    axis.legend(handles=styles, fontsize=7, loc="best")
    for axis in axes:
        axis.set_xlabel("denoising step k", fontsize=9)
        axis.grid(alpha=0.3)
        axis.tick_params(labelsize=8)
    axes[0].legend(fontsize=8, loc="best")
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)


# ---------------------------------------------------------------------------------------------------------------- CLI


def _parse_list(text: str, kind, flag: str) -> list:
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"`{flag}` must be a comma-separated list of {kind.__name__}s, got {text!r}.") from None
    if not values:
        raise ValueError(f"`{flag}` must name at least one value, got {text!r}.")
    return values


def build_parser() -> argparse.ArgumentParser:
    r"""
    The parser of `diffusers-freqca analyze`.

    Example:
        ```python
        >>> build_parser().parse_args(["--quick"]).quick
        True
        ```
    """
    parser = argparse.ArgumentParser(
        prog="diffusers-freqca analyze",
        description=(
            "Run a pipeline once without a cache, record the output of the transformer's block stack (the CRF) for "
            "the image tokens at every step, split it into low and high frequency bands as FreqCa does, and measure "
            "per band how similar it is between steps and how well it is forecast from earlier steps. Writes "
            "frequency_analysis.csv and frequency_analysis.png. Without --model it runs the project's trained tiny "
            "model (CPU, offline, about 20 seconds on a 2-core CPU)."
        ),
    )
    parser.add_argument(
        "--model", default=None, help="a diffusers pipeline (Hub id or folder); default: the project's tiny model"
    )
    parser.add_argument("--prompt", default="A photo of a red fox sitting in the snow, detailed fur", help="--model")
    parser.add_argument("--image", default=None, help="--model: reference image file or URL, for editing pipelines")
    parser.add_argument("--height", type=int, default=1024, help="--model: image height in pixels (default: 1024)")
    parser.add_argument("--width", type=int, default=1024, help="--model: image width in pixels (default: 1024)")
    parser.add_argument("--checkpoint", default=None, help="tiny model: checkpoint folder (default: the packaged one)")
    parser.add_argument(
        "--classes", default="0,1,2,3", help="tiny model: class indices, one batch (default: %(default)s)"
    )
    parser.add_argument("--device", default=None, help="default: cuda if available for --model, else cpu")
    parser.add_argument("--steps", type=int, default=50, help="denoising steps (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default: %(default)s)")
    parser.add_argument(
        "--interval", type=int, default=6, help="the lag N, FreqCa's cache_interval (default: %(default)s)"
    )
    parser.add_argument(
        "--cutoff-ratio", type=float, default=0.1, help="the band split's cut-off (default: %(default)s)"
    )
    parser.add_argument("--decomposition", default="dct", choices=DECOMPOSITIONS, help="default: %(default)s")
    parser.add_argument(
        "--predictor", default="hermite", choices=PREDICTORS, help="forecast of the analysis (default: %(default)s)"
    )
    parser.add_argument(
        "--crf-form",
        default="hidden_states",
        choices=CRF_FORMS,
        help="the cached feature the figure shows; the CSV holds both (default: %(default)s)",
    )
    parser.add_argument(
        "--cutoff-sweep", default=None, help="comma-separated cut-offs to replay FreqCa with, e.g. 0.05,0.1,0.2,0.3"
    )
    parser.add_argument("--interval-sweep", default=None, help="comma-separated intervals to replay, e.g. 3,6,9")
    parser.add_argument(
        "--replay-from-step",
        type=int,
        default=0,
        help="average the replay's errors over the predicted steps from this step on (default: %(default)s)",
    )
    parser.add_argument(
        "--output-dir", default="outputs/analysis", help="where the CSV files and the PNG go (default: %(default)s)"
    )
    parser.add_argument("--no-plot", action="store_true", help="write the CSV only")
    parser.add_argument("--quick", action="store_true", help="at most 20 steps and one sample: a smoke test")
    return parser


def _tiny_pipeline_kwargs(args, pipe) -> dict[str, Any]:
    from .tiny_model import IMAGE_SIZE, get_prompt_embeds

    classes = _parse_list(args.classes, int, "--classes")
    if args.quick:
        classes = classes[:1]
    embeds = [get_prompt_embeds(pipe, index) for index in classes]
    return {
        "prompt_embeds": torch.cat([e[0] for e in embeds]),
        "pooled_prompt_embeds": torch.cat([e[1] for e in embeds]),
        "height": IMAGE_SIZE,
        "width": IMAGE_SIZE,
        "num_inference_steps": args.steps,
        "generator": torch.Generator("cpu").manual_seed(args.seed),
        "output_type": "latent",
    }


def _hub_pipeline(args):
    from diffusers import DiffusionPipeline

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device != "cpu" else torch.float32
    pipe = DiffusionPipeline.from_pretrained(args.model, torch_dtype=dtype).to(device)
    kwargs: dict[str, Any] = {
        "prompt": args.prompt,
        "height": args.height,
        "width": args.width,
        "num_inference_steps": args.steps,
        "generator": torch.Generator("cpu").manual_seed(args.seed),
        "output_type": "latent",
    }
    if args.image is not None:
        from diffusers.utils import load_image

        kwargs["image"] = load_image(args.image)
    return pipe, kwargs


def main(argv: list[str] | None = None) -> int:
    r"""
    `diffusers-freqca analyze`: records one uncached generation, writes `frequency_analysis.csv` (see
    [`analyze_trace`]) and `frequency_analysis.png` (see [`plot_analysis`]), and with `--cutoff-sweep` /
    `--interval-sweep` also `scheme_sweep.csv` (see [`scheme_errors`]); prints the per-band means and the replay.

    Args:
        argv (`list[str]`, *optional*): the arguments; `None` reads the command line.

    Returns:
        `int`: 0 on success.

    Example:
        ```bash
        diffusers-freqca analyze --output-dir outputs/analysis
        diffusers-freqca analyze --cutoff-sweep 0.05,0.1,0.2,0.3 --interval-sweep 3,6,9
        diffusers-freqca analyze --model Qwen/Qwen-Image --decomposition fft --prompt "a lighthouse at dawn"
        ```
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quick:
        args.steps = min(args.steps, 20)
    try:
        if args.model is not None and args.checkpoint is not None:
            raise ValueError("`--checkpoint` (the tiny model) and `--model` exclude each other; give one of them.")
        if args.steps < 2:
            raise ValueError(f"`--steps` must be >= 2, got {args.steps}.")
        _check_settings(args.interval, args.cutoff_ratio, args.decomposition, args.predictor)
        if args.replay_from_step < 0 or args.replay_from_step >= args.steps:
            raise ValueError(
                f"`--replay-from-step` must be in [0, {args.steps - 1}] for {args.steps} steps, got {args.replay_from_step}."
            )
        if args.interval >= args.steps:
            raise ValueError(f"`--interval` must be smaller than `--steps` ({args.steps}), got {args.interval}.")
        cutoffs = _parse_list(args.cutoff_sweep, float, "--cutoff-sweep") if args.cutoff_sweep else [args.cutoff_ratio]
        intervals = (
            _parse_list(args.interval_sweep, int, "--interval-sweep") if args.interval_sweep else [args.interval]
        )
        for interval in intervals:
            for cutoff in cutoffs:
                _check_settings(interval, cutoff, args.decomposition, args.predictor)
        if args.model is None:
            from .tiny_model import load_tiny_flux_pipeline

            pipe = load_tiny_flux_pipeline(args.checkpoint)
            if args.device is not None:
                pipe.to(args.device)
            pipe.set_progress_bar_config(disable=True)
            kwargs = _tiny_pipeline_kwargs(args, pipe)
            model_name = "the project's trained tiny FLUX-architecture model"
        else:
            pipe, kwargs = _hub_pipeline(args)
            model_name = args.model
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))

    trace, _ = record_crf(pipe, kwargs)
    steps = len(trace.calls(0))
    layout = trace.layouts[trace.calls(0)[0]]
    grids = ", ".join(f"{s.height}x{s.width}" for s in layout.segments)
    print(
        f"recorded {trace.num_calls} transformer calls ({steps} steps) of {trace.model_class}: batch "
        f"{trace.outputs[0].shape[0]}, {layout.seq_len} image tokens (grid {grids}), {trace.outputs[0].shape[2]} "
        "channels"
    )
    # The trace is kept on the CPU; the band splits and forecasts run where the model ran (a GPU for large models).
    device = pipe.transformer.device
    rows = analyze_trace(
        trace, args.interval, args.cutoff_ratio, args.decomposition, args.predictor, crf_forms=CRF_FORMS, device=device
    )
    output = Path(args.output_dir)
    write_csv(rows, output / "frequency_analysis.csv")
    # The figure's feature first.
    for crf_form in sorted(CRF_FORMS, key=lambda form: form != args.crf_form):
        print(f"\nmeans over the steps, crf_form={crf_form!r}, cut-off {args.cutoff_ratio:g} ({args.decomposition}):")
        print(format_summary(summarize(rows, crf_form), args.interval))

    sweep = scheme_errors(
        trace, intervals, cutoffs, args.decomposition, args.predictor, crf_forms=CRF_FORMS,
        first_step=args.replay_from_step, device=device,
    )  # fmt: skip
    print(
        "\nFreqCa's schedule replayed on this trajectory (mean relative error of the predicted block-stack output on "
        f"the predicted steps from step {args.replay_from_step} on; FreqCa: low band reused, high band order-2 "
        "forecast):"
    )
    print(format_scheme(sweep))
    written = [output / "frequency_analysis.csv"]
    if args.cutoff_sweep or args.interval_sweep:
        write_csv(sweep, output / "scheme_sweep.csv", SCHEME_COLUMNS)
        written.append(output / "scheme_sweep.csv")
    if not args.no_plot:
        title = (
            f"{model_name}: {steps} steps, {args.decomposition.upper()} cut-off {args.cutoff_ratio:g}, "
            f"N = {args.interval}, crf_form = {args.crf_form}"
        )
        try:
            plot_analysis(rows, output / "frequency_analysis.png", args.crf_form, args.interval, title)
            written.append(output / "frequency_analysis.png")
        except ImportError as error:
            print(f"no plot: {error}", file=sys.stderr)
    print("\nwrote " + ", ".join(str(path) for path in written))
    return 0


__all__ = [
    "BANDS",
    "SCHEME_COLUMNS",
    "STEP_COLUMNS",
    "CRFRecorder",
    "CRFTrace",
    "analyze_trace",
    "cosine_similarity",
    "format_scheme",
    "format_summary",
    "lag_forecast",
    "main",
    "plot_analysis",
    "record_crf",
    "relative_error",
    "scheme_errors",
    "summarize",
    "write_csv",
]


if __name__ == "__main__":
    sys.exit(main())
