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
"""The analysis's outputs: CSV files, per-band means as Markdown tables, and the figure."""

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .band_dynamics import BANDS, STEP_COLUMNS


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

    Needs matplotlib (`pip install "diffusers-freqca[plot]"` or `pip install matplotlib`); it draws with the Agg
    canvas and leaves pyplot's state alone.

    Args:
        rows (`list[dict[str, Any]]`): from [`analyze_trace`].
        path (`str` or `Path`): the image file (PNG for a `.png` name); its folder is created if needed.
        crf_form (`str`): which feature's rows to plot.
        interval (`int`): the lag `N` the rows were computed with.
        title (`str`, *optional*): the figure's title.

    Raises:
        `ImportError`: without matplotlib (the message says how to install it).
        `ValueError`: when no row has `crf_form`.

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
        raise ImportError(
            'Plotting the frequency analysis needs matplotlib: `pip install "diffusers-freqca[plot]"` (or '
            "`pip install matplotlib`)."
        ) from None
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


__all__ = ["format_scheme", "format_summary", "plot_analysis", "summarize", "write_csv"]
