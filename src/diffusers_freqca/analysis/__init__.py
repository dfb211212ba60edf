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

The modules, by job: `recording` ([`CRFRecorder`], [`record_crf`]), `band_dynamics` (per-step similarity and
forecast error, [`analyze_trace`]), `replay` (FreqCa's schedule on the recorded trajectory, [`scheme_errors`]),
`report` (CSV, Markdown tables, the figure) and `cli` (the command). The metrics are `diffusers_freqca.metrics`.

    diffusers-freqca analyze                                # the project's trained tiny model, CPU, ~20 s
    diffusers-freqca analyze --cutoff-sweep 0.05,0.1,0.2,0.3 --interval-sweep 3,6,9
    diffusers-freqca analyze --model black-forest-labs/FLUX.1-dev --prompt "a red fox in the snow"
"""

from ..metrics import cosine_similarity, relative_error
from .band_dynamics import BANDS, SPLIT_DECOMPOSITIONS, STEP_COLUMNS, analyze_trace, lag_forecast
from .cli import build_parser, main
from .recording import CRFRecorder, CRFTrace, record_crf
from .replay import SCHEME_COLUMNS, scheme_errors
from .report import format_scheme, format_summary, plot_analysis, summarize, write_csv


__all__ = [
    "BANDS",
    "SCHEME_COLUMNS",
    "SPLIT_DECOMPOSITIONS",
    "STEP_COLUMNS",
    "CRFRecorder",
    "CRFTrace",
    "analyze_trace",
    "build_parser",
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
