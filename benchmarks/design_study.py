# Copyright 2026 The diffusers-freqca authors. Licensed under the Apache License, Version 2.0.
"""The design study: which of FreqCa's free variables matter, measured on the tune half of the zoo only.

    python -m benchmarks.design_study                       # the tune half, 50 and 28 steps, N = 6 and 9
    python -m benchmarks.design_study --models flux-scenes-16 --settings t2i-28

Each row changes one thing against the default (`FreqCaConfig(cache_interval=N)`), with the same images and the same
metric as `benchmarks.zoo` (mean per-image PSNR against the full computation, 16 images):

- what is forecast: the model's output after the head, as a noise prediction `x + (1 - sigma) v` converted back
  with the current input (default) or as it is (velocity, as TaylorSeer-lite does), or as a data prediction
  `x - sigma v`; the CRF at the output head's input (the paper), or its residual form;
- the time axis of the forecast: sigma (default), log-SNR, step index;
- the forecast order and predictor: first order (default), second order, Taylor or the paper's Hermite;
- the band split: none (default), DCT or FFT with the low band reused and the high band extrapolated, per-band
  orders, cut-offs;
- where the full steps fall: warm-up 2 (default) or 3, first interval ceil(N/2) (default), N/3 or N (the paper's even
  schedule).

The data-prediction form is not a FreqCa configuration; it runs through a small stand-in here (`OutputForecast`), on
the same schedule and axis as the default, so that only the forecast's form differs.
"""

import argparse
import json
import math
from pathlib import Path

import torch

from benchmarks.zoo import SETTINGS, ZooBench
from diffusers_freqca.config import FreqCaConfig
from diffusers_freqca.forecast import forecast_position
from diffusers_freqca.schedule import is_full_step
from tools.zoo.specs import names


DEFAULT_OUT = Path("docs/benchmark_results/design_study.json")


def variants(interval: int, architecture: str) -> dict[str, dict]:
    r"""
    The FreqCa configurations of the study at one interval: label -> the fields changed against the default.
    """
    split = "dct" if architecture == "flux" else "fft"
    return {
        "default (model output, noise form, sigma axis, first order, warm-up 0 and 3, first interval N/2)": {},
        "model output, velocity form (TaylorSeer-lite's target)": {"output_form": "velocity"},
        "CRF through the output head (the paper's target)": {"forecast_target": "crf"},
        "CRF residual form": {"forecast_target": "crf", "crf_form": "residual"},
        "axis: log-SNR": {"spacing": "log_snr"},
        "axis: step index": {"spacing": "step"},
        "second order (Taylor)": {"low_freq_order": 2, "high_freq_order": 2},
        "Hermite predictor, first order": {"predictor": "hermite"},
        f"CRF, {split} split: low reused, high first order": {"decomposition": split, "low_freq_order": 0},
        f"CRF, {split} split: low first, high second order": {"decomposition": split, "high_freq_order": 2},
        f"CRF, {split} split, cut-off 0.25: low reused": {
            "decomposition": split, "low_freq_order": 0, "cutoff_ratio": 0.25,
        },
        "warm-up 0, 1 (consecutive)": {"warmup_stride": 1},
        "warm-up 0, 1, 2 (consecutive)": {"disable_cache_before_step": 3, "warmup_stride": 1},
        "first interval N/3": {"first_interval": max(1, math.ceil(interval / 3))},
        "first interval N (even schedule)": {"first_interval": interval},
        "paper recipe (CRF, even, Hermite order 2 high band, step axis, warm-up 3)": {
            "first_interval": interval, "spacing": "step", "decomposition": split, "low_freq_order": 0,
            "high_freq_order": 2, "predictor": "hermite", "disable_cache_before_step": 3, "warmup_stride": 1,
        },
    }  # fmt: skip


class OutputForecast:
    r"""
    A stand-in for forecasting the model's *output* instead of the CRF: the transformer's forward is replaced, on
    predicted steps, by a first-order extrapolation (along the default's axis, on the default's schedule) of either
    the velocity `v`, the noise prediction `eps = x + (1 - sigma) v` or the data prediction `x0 = x - sigma v`,
    converted back with the current input `x`.
    One context per call parity when the model runs true CFG.

    Args:
        transformer (`torch.nn.Module`): the model (FLUX or Qwen-Image: the output has the input's layout).
        config (`FreqCaConfig`): schedule and axis.
        target (`str`): `"velocity"`, `"noise"` or `"data"`.
        contexts (`int`): calls per step (2 with true CFG).
    """

    def __init__(self, transformer, config: FreqCaConfig, target: str, contexts: int):
        self.transformer, self.config, self.target, self.contexts = transformer, config, target, contexts
        self.original = transformer.forward
        self.states = [self._fresh() for _ in range(contexts)]
        self.calls = 0
        self.computed = 0

    @staticmethod
    def _fresh() -> dict:
        return {"step": -1, "last_full": None, "points": [], "sigma": math.inf}

    def __enter__(self):
        self.transformer.forward = self._forward
        return self

    def __exit__(self, *exc):
        self.transformer.forward = self.original

    def _forward(self, *args, **kwargs):
        index = self.calls % self.contexts
        self.calls += 1
        x = kwargs["hidden_states"]
        sigma = float(kwargs["timestep"].reshape(-1)[0])
        if sigma > self.states[index]["sigma"]:  # a new generation (the next pipeline call)
            self.states[index] = self._fresh()
        state = self.states[index]
        state["sigma"] = sigma
        state["step"] += 1
        step = state["step"]
        position = forecast_position(self.config.spacing, step, sigma)
        if not state["points"] or is_full_step(step, state["last_full"], self.config):
            output = self.original(*args, **kwargs)
            v = output[0] if isinstance(output, tuple) else output.sample
            feature = {"velocity": v, "noise": x + (1 - sigma) * v, "data": x - sigma * v}[self.target]
            state["points"] = [(position, feature.detach().clone()), *state["points"]][:2]
            state["last_full"] = step
            self.computed += 1
            return output
        (p0, f0), *rest = state["points"]
        prediction = f0
        if rest:
            p1, f1 = rest[0]
            prediction = f0 + (position - p0) / (p0 - p1) * (f0 - f1)
        if self.target == "velocity":
            v = prediction
        elif self.target == "noise":
            v = (prediction - x) / max(1 - sigma, 1e-4)
        else:
            v = (x - prediction) / max(sigma, 1e-4)
        return (v,)


def run_study(models: list[str], settings: list[str], intervals: list[int], images: int, log=print) -> list[dict]:
    r"""
    Measures every variant on every model, setting and interval.

    Returns:
        `list[dict]`: rows with `model`, `setting`, `interval`, `variant`, `psnr`, `psnr_min`, `evaluations`.
    """
    rows = []
    for name in models:
        for setting in settings:
            bench = ZooBench(name, setting, images)
            cfg_contexts = 2 if bench.spec.true_cfg_scale is not None else 1
            for interval in intervals:
                for label, fields in variants(interval, bench.spec.architecture).items():
                    result = bench.measure(label, "FreqCa", interval, FreqCaConfig(cache_interval=interval, **fields))
                    rows.append(_row(name, setting, interval, label, result))
                    log(f"{name} {setting} N={interval} {label}: {result.evaluations:.2f} steps, {result.psnr:.2f} dB")
                for target in ("data",):
                    config = FreqCaConfig(cache_interval=interval)
                    with OutputForecast(bench.pipe.transformer, config, target, cfg_contexts):
                        result = bench.measure(f"model output ({target})", "output", interval, None)
                    label = f"forecast the model output as {target} (same schedule and axis)"
                    rows.append(_row(name, setting, interval, label, result))
                    log(f"{name} {setting} N={interval} {label}: {result.psnr:.2f} dB")
    return rows


def _row(name, setting, interval, label, result) -> dict:
    return {
        "model": name,
        "setting": setting,
        "interval": interval,
        "variant": label,
        "psnr": result.psnr,
        "psnr_min": result.psnr_min,
        "evaluations": result.evaluations,
    }


def format_study(rows: list[dict]) -> str:
    r"""A Markdown table: one row per variant, one column per (model, setting, N), and the variant's mean gain."""
    columns = sorted({(r["model"], r["setting"], r["interval"]) for r in rows})
    default = {
        (r["model"], r["setting"], r["interval"]): r["psnr"] for r in rows if r["variant"].startswith("default")
    }
    labels = list(dict.fromkeys(r["variant"] for r in rows))
    header = "| variant | " + " | ".join(f"{m} {s} N={n}" for m, s, n in columns) + " | mean change |"
    lines = [header, "|" + "---|" * (len(columns) + 2)]
    for label in labels:
        cells, changes = [], []
        for column in columns:
            match = [r for r in rows if (r["model"], r["setting"], r["interval"]) == column and r["variant"] == label]
            if match:
                cells.append(f"{match[0]['psnr']:.2f}")
                changes.append(match[0]["psnr"] - default[column])
            else:
                cells.append("")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {sum(changes) / len(changes):+.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.design_study", description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=names("tune"))
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=["t2i-50", "t2i-28"])
    parser.add_argument("--intervals", nargs="+", type=int, default=[6, 9])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = run_study(args.models, args.settings, args.intervals, args.images, log=lambda line: print(line, flush=True))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    out.with_suffix(".md").write_text(format_study(rows) + "\n")
    print(format_study(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
