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
"""`diffusers-freqca analyze`: records one uncached generation and writes the analysis (CSV, figure, tables)."""

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

from ..config import CRF_FORMS, PREDICTORS
from ..tiny_flux import load_tiny_flux_pipeline, pipeline_inputs
from .band_dynamics import SPLIT_DECOMPOSITIONS, _check_settings, _check_temporal_cutoff, analyze_trace
from .recording import record_crf
from .replay import SCHEME_COLUMNS, scheme_errors
from .report import format_scheme, format_summary, plot_analysis, summarize, write_csv


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
            "the image tokens at every step, split it into low and high frequency bands as the paper's band-split "
            "forecast does (FreqCaConfig's default forecasts the model output without a split; this tells whether a "
            "split would help on your model), and measure per band how similar it is between steps and how well it "
            "is forecast from earlier steps. Writes "
            "frequency_analysis.csv and frequency_analysis.png. Without --model it runs the project's trained tiny "
            "model (CPU, offline, about 2 minutes on a 2-core CPU)."
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--model", default=None, help="a diffusers pipeline (Hub id or folder); default: the project's tiny model"
    )
    # As in `diffusers-freqca calibrate`: the tiny model named explicitly (it is also what runs without --model).
    source.add_argument("--tiny", action="store_true", help="the package's embedded tiny FLUX model (the default)")
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
    parser.add_argument(
        "--temporal-cutoff-ratio",
        type=float,
        default=None,
        help="the cut-off along the frames of video grids (3-D split); default: the --cutoff-ratio",
    )
    parser.add_argument("--num-frames", type=int, default=None, help="--model: frames of a video pipeline")
    parser.add_argument(
        "--decomposition",
        default="dct",
        choices=SPLIT_DECOMPOSITIONS,
        help="the paper's for FLUX (default: %(default)s)",
    )
    parser.add_argument(
        "--predictor",
        default="hermite",
        choices=PREDICTORS,
        help="forecast of the analysis; the paper's Hermite by default (FreqCaConfig's default: taylor)",
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
    classes = _parse_list(args.classes, int, "--classes")
    if args.quick:
        classes = classes[:1]
    return {
        **pipeline_inputs(pipe, classes),
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
    if args.num_frames is not None:
        kwargs["num_frames"] = args.num_frames
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
        _check_temporal_cutoff(args.temporal_cutoff_ratio)
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
    grids = ", ".join(
        f"{s.frames}x{s.height}x{s.width}" if s.frames > 1 else f"{s.height}x{s.width}" for s in layout.segments
    )
    print(
        f"recorded {trace.num_calls} transformer calls ({steps} steps) of {trace.model_class}: batch "
        f"{trace.outputs[0].shape[0]}, {layout.seq_len} tokens at the output head (grid {grids}), "
        f"{trace.outputs[0].shape[2]} "
        "channels"
    )
    # The trace is kept on the CPU; the band splits and forecasts run where the model ran (a GPU for large models).
    device = pipe.transformer.device
    rows = analyze_trace(
        trace, args.interval, args.cutoff_ratio, args.decomposition, args.predictor, crf_forms=CRF_FORMS, device=device,
        temporal_cutoff_ratio=args.temporal_cutoff_ratio,
    )  # fmt: skip
    output = Path(args.output_dir)
    write_csv(rows, output / "frequency_analysis.csv")
    # The figure's feature first.
    for crf_form in sorted(CRF_FORMS, key=lambda form: form != args.crf_form):
        print(f"\nmeans over the steps, crf_form={crf_form!r}, cut-off {args.cutoff_ratio:g} ({args.decomposition}):")
        print(format_summary(summarize(rows, crf_form), args.interval))

    sweep = scheme_errors(
        trace, intervals, cutoffs, args.decomposition, args.predictor, crf_forms=CRF_FORMS,
        first_step=args.replay_from_step, device=device, temporal_cutoff_ratio=args.temporal_cutoff_ratio,
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


if __name__ == "__main__":
    sys.exit(main())
