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
"""Wall-clock speed-up of FreqCa against the uncached run in the same process, and the hook's own overhead.

A mid-size FLUX-architecture transformer (random weights: speed does not depend on them) is driven by the denoising
loop of `FluxPipeline` without its text encoders and VAE: the same scheduler (`FlowMatchEulerDiscreteScheduler` with
FLUX's shifted sigmas), the same transformer call per step inside `cache_context("cond")` and the same Euler step.
The uncached and the FreqCa runs are interleaved (uncached, FreqCa N=6, FreqCa N=9, uncached, ...) so that load from
other processes hits all of them alike, and medians are compared. Each step is timed in wall-clock time and in the
process's CPU time: with one torch thread the CPU time is the compute the step needed, which other jobs on a shared
machine do not change (they only make the wall clock run on while this process waits for a core).

The overhead is broken down per step: the median time of full and predicted steps of the FreqCa runs against the
uncached steps, the cost of a step with no blocks at all (embeddings, RoPE, output head and scheduler step, which
every block-skipping cache pays), and FreqCa's own work on the block-stack output (band split and forecaster update
on full steps, forecast on predicted steps) timed in isolation.

    python -m benchmarks.speed                  # from the root of a clone; 2-5 minutes on 2 CPU cores
    python -m benchmarks.speed --quick          # a few seconds, for a smoke test
"""

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers.hooks._helpers import TransformerBlockRegistry

from diffusers_freqca import get_freqca_stats
from diffusers_freqca.band_split import BandSplitter
from diffusers_freqca.block_stack import find_block_stack, last_block
from diffusers_freqca.config import DECOMPOSITIONS, FreqCaConfig
from diffusers_freqca.forecast import BandForecaster
from diffusers_freqca.schedule import full_steps

from .models import (
    FLUX_SCHEDULER_CONFIG,
    ModelShape,
    build_transformer,
    flux_shift,
    image_layout,
    make_inputs,
    paper_config,
)


# A mid-size model of FLUX.1-dev's architecture (18M parameters, 1/660 of FLUX.1-dev): one evaluation takes about
# 0.25 s on one core of the project's 2-core CPU at 384x384 (24x24 = 576 image tokens and 64 text tokens, the
# image:text ratio of FLUX.1-dev at 1024x1024 with 512 T5 tokens is 8:1).
SPEED_MODEL = ModelShape(
    "flux-mid",
    "FluxTransformer2DModel",
    {
        "patch_size": 1,
        "in_channels": 64,
        "num_layers": 4,
        "num_single_layers": 8,
        "attention_head_dim": 64,
        "num_attention_heads": 4,
        "joint_attention_dim": 256,
        "pooled_projection_dim": 128,
        "guidance_embeds": True,
        "axes_dims_rope": (8, 28, 28),
    },
    text_tokens=64,
)
# The same, tiny: for `--quick` and the tests (a few seconds in all).
QUICK_MODEL = ModelShape(
    "flux-tiny",
    "FluxTransformer2DModel",
    {
        **SPEED_MODEL.config,
        "num_layers": 2,
        "num_single_layers": 4,
        "attention_head_dim": 32,
        "num_attention_heads": 4,
        "joint_attention_dim": 64,
        "pooled_projection_dim": 32,
        "axes_dims_rope": (8, 12, 12),
    },
    text_tokens=16,
)


@dataclass
class LoopTiming:
    r"""
    The timings of one run of a [`DenoisingLoop`].

    Args:
        wall (`list[float]`): wall-clock seconds of each step (transformer call and scheduler step).
        cpu (`list[float]`): CPU seconds of this process in each step. With one torch thread this is the step's
            compute time, unaffected by other processes taking turns on the cores (wall clock is).
    """

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


class DenoisingLoop:
    r"""
    The denoising loop of `FluxPipeline` without text encoders and VAE: per step, one transformer call inside
    `cache_context("cond")` with `timestep = t / 1000`, then an Euler step of `FlowMatchEulerDiscreteScheduler` with
    FLUX's resolution-shifted sigmas. Works for any transformer whose inputs `models.make_inputs` builds.

    Args:
        transformer (`torch.nn.Module`): the transformer.
        inputs (`dict[str, Any]`): one call's inputs (see `models.make_inputs`); `hidden_states` is the initial noise.
        num_inference_steps (`int`): denoising steps.

    Example:
        ```python
        >>> loop = DenoisingLoop(transformer, make_inputs(SPEED_MODEL, 384, 384, device="cpu", dtype=torch.float32), 50)
        >>> latents = loop.run()
        >>> sum(loop.timing.wall), sum(loop.timing.cpu)
        ```
    """

    def __init__(self, transformer: torch.nn.Module, inputs: dict[str, Any], num_inference_steps: int):
        from diffusers import FlowMatchEulerDiscreteScheduler

        if (
            isinstance(num_inference_steps, bool)
            or not isinstance(num_inference_steps, int)
            or num_inference_steps < 1
        ):
            raise ValueError(f"`num_inference_steps` must be an int >= 1, got {num_inference_steps!r}.")
        self.transformer = transformer
        self.inputs = inputs
        self.num_inference_steps = num_inference_steps
        self.scheduler = FlowMatchEulerDiscreteScheduler(**FLUX_SCHEDULER_CONFIG)
        self.sigmas = np.linspace(1.0, 1 / num_inference_steps, num_inference_steps)
        self.mu = flux_shift(inputs["hidden_states"].shape[1])
        self.timing = LoopTiming()

    @torch.no_grad()
    def run(self, time_steps: bool = True) -> torch.Tensor:
        r"""
        Runs the loop once; with `time_steps`, the seconds of each step are in `self.timing` afterwards.

        Args:
            time_steps (`bool`, defaults to `True`): read the clocks around each step. Leave it off on a GPU, where
                the clocks would only see kernel launches; time the whole run with CUDA events instead.

        Returns:
            `torch.Tensor`: the final latents.

        Example:
            ```python
            >>> latents = loop.run()
            >>> len(loop.timing.wall) == loop.num_inference_steps
            True
            ```
        """
        device = self.inputs["hidden_states"].device
        self.scheduler.set_timesteps(sigmas=self.sigmas, mu=self.mu, device=device)
        latents = self.inputs["hidden_states"].clone()
        inputs = dict(self.inputs)
        self.timing = LoopTiming()
        for t in self.scheduler.timesteps:
            if time_steps:
                wall, cpu = time.perf_counter(), time.process_time()
            inputs["hidden_states"] = latents
            inputs["timestep"] = t.expand(latents.shape[0]).to(latents.dtype) / 1000
            with self.transformer.cache_context("cond"):
                noise_pred = self.transformer(**inputs)[0]
            latents = self.scheduler.step(noise_pred, t, latents, return_dict=False)[0]
            if time_steps:
                self.timing.wall.append(time.perf_counter() - wall)
                self.timing.cpu.append(time.process_time() - cpu)
        return latents


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class SpeedResult:
    r"""
    The speed of one FreqCa setting against the uncached loop.

    Args:
        cache_interval (`int`): FreqCa's `N`.
        num_inference_steps (`int`): steps per image.
        full_steps (`int`): steps on which the block stack ran (from `get_freqca_stats`).
        expected_full_steps (`int`): `len(full_steps(num_inference_steps, config))`.
        ideal_speedup (`float`): steps / full steps: the speed-up if predicted steps cost nothing.
        wall (`list[float]`), cpu (`list[float]`): seconds per image of the FreqCa runs, one per repeat.
        uncached_wall (`list[float]`), uncached_cpu (`list[float]`): the same for the uncached runs.
        full_step_cpu (`float`): median CPU seconds of a FreqCa full step.
        predicted_step_cpu (`float`): median CPU seconds of a FreqCa predicted step.
    """

    cache_interval: int
    num_inference_steps: int
    full_steps: int
    expected_full_steps: int
    ideal_speedup: float
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    uncached_wall: list[float] = field(default_factory=list)
    uncached_cpu: list[float] = field(default_factory=list)
    full_step_cpu: float = float("nan")
    predicted_step_cpu: float = float("nan")

    @property
    def speedup_wall(self) -> float:
        """Median uncached wall-clock seconds per image / median FreqCa wall-clock seconds per image."""
        return _median(self.uncached_wall) / _median(self.wall)

    @property
    def speedup_cpu(self) -> float:
        """Median uncached CPU seconds per image / median FreqCa CPU seconds per image."""
        return _median(self.uncached_cpu) / _median(self.cpu)


@dataclass
class SpeedReport:
    r"""
    The result of [`measure_speed`].

    Args:
        model (`str`): the model's name.
        config (`dict[str, Any]`): its transformer config.
        height (`int`), width (`int`): the image size; `image_tokens`, `text_tokens`: the sequence lengths.
        dtype (`str`): the model's dtype; `threads` (`int`): torch's CPU threads; `repeats` (`int`): interleaved
            repeats.
        load_average (`tuple[float, float]`): the machine's 1-minute load average before and after the runs.
        eval_cpu (`float`): median CPU seconds of an uncached step (one transformer evaluation and the scheduler
            step).
        no_block_step_cpu (`float`): median CPU seconds of a step with the block lists emptied (the model's
            embeddings, RoPE and output head, and the scheduler step: what every block-skipping cache pays).
        forecaster_update_cpu (`float`): FreqCa's own work on a full step (band split and forecaster update of the
            block-stack output), timed alone.
        forecaster_predict_cpu (`float`): FreqCa's own work on a predicted step (the forecast), timed alone.
        results (`list[SpeedResult]`): one per FreqCa setting.
    """

    model: str
    config: dict[str, Any]
    height: int
    width: int
    image_tokens: int
    text_tokens: int
    dtype: str
    threads: int
    repeats: int
    load_average: tuple[float, float] = (float("nan"), float("nan"))
    eval_cpu: float = float("nan")
    no_block_step_cpu: float = float("nan")
    forecaster_update_cpu: float = float("nan")
    forecaster_predict_cpu: float = float("nan")
    results: list[SpeedResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-serialisable dict, with each result's `speedup_cpu` and `speedup_wall` added."""
        data = asdict(self)
        for entry, result in zip(data["results"], self.results):
            entry["speedup_cpu"] = result.speedup_cpu
            entry["speedup_wall"] = result.speedup_wall
        return data


@torch.no_grad()
def time_forecaster(config: FreqCaConfig, feature: torch.Tensor, layout, repeats: int = 5) -> tuple[float, float]:
    r"""
    Times FreqCa's own work on a block-stack output of the shape of `feature`, outside the model: the median CPU
    seconds of a forecaster update with a full history (the band split of the new differences included) and of a
    forecast.

    Args:
        config (`FreqCaConfig`): the settings (decomposition, orders, predictor, cut-off).
        feature (`torch.Tensor`): a block-stack output, `(batch, tokens, channels)`.
        layout (`TokenLayout`): its token layout.
        repeats (`int`, defaults to `5`): timed repeats of each.

    Returns:
        `tuple[float, float]`: `(update_seconds, predict_seconds)`.

    Example:
        ```python
        >>> update, predict = time_forecaster(FreqCaConfig(), torch.randn(1, 576, 256), layout)
        ```
    """
    splitter = BandSplitter(config.decomposition, config.cutoff_ratio) if config.splits_bands else None
    forecaster = BandForecaster(
        low_order=config.low_freq_order,
        high_order=config.high_freq_order,
        low_pass=(lambda x: splitter.low_pass(x, layout)) if splitter is not None else None,
        predictor=config.predictor,
        hermite_scale=config.hermite_scale,
        storage_dtype=config.cache_dtype,
    )
    values = [feature * (1 + 0.01 * k) for k in range(config.forecast_order + 1 + repeats)]
    updates, predictions = [], []
    step = 0
    for value in values[: config.forecast_order + 1]:  # fill the history (and build the transform's tables once)
        forecaster.update(value, time=float(step), step=step)
        step += config.cache_interval
    for value in values[config.forecast_order + 1 :]:
        start = time.process_time()
        forecaster.update(value, time=float(step), step=step)
        updates.append(time.process_time() - start)
        start = time.process_time()
        forecaster.predict(float(step + 1))
        predictions.append(time.process_time() - start)
        step += config.cache_interval
    return _median(updates), _median(predictions)


def _no_block_step_cpu(loop: DenoisingLoop) -> list[float]:
    # The same loop with the block lists emptied: what a step costs when every block is skipped and nothing is
    # forecast.
    transformer = loop.transformer
    saved = {}
    for name in dict.fromkeys(block_name.rsplit(".", 1)[0] for block_name, _ in find_block_stack(transformer)):
        saved[name] = getattr(transformer, name)
        setattr(transformer, name, torch.nn.ModuleList())
    try:
        loop.run()
        return loop.timing.cpu
    finally:
        for name, blocks in saved.items():
            setattr(transformer, name, blocks)


def _capture_stack_output(transformer: torch.nn.Module, inputs: dict[str, Any]) -> torch.Tensor:
    # The block stack's image-token output of one call; diffusers' block registry says where it is in the output.
    captured = {}
    tail = last_block(transformer)
    index = TransformerBlockRegistry.get(type(tail)).return_hidden_states_index

    def capture(module, args, output) -> None:
        captured["output"] = output[index] if isinstance(output, tuple) else output

    handle = tail.register_forward_hook(capture)
    try:
        with torch.no_grad():
            transformer(**inputs)
    finally:
        handle.remove()
    return captured["output"]


def measure_speed(
    model: ModelShape = SPEED_MODEL,
    height: int = 384,
    width: int = 384,
    num_inference_steps: int = 50,
    cache_intervals: tuple[int, ...] = (6, 9),
    repeats: int = 5,
    decomposition: str = "dct",
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
    log=print,
) -> SpeedReport:
    r"""
    Measures FreqCa's speed-up on the CPU against the uncached loop, interleaving the runs (uncached, then each
    FreqCa setting, `repeats` times) and comparing medians, in CPU time and in wall-clock time.

    Args:
        model (`ModelShape`, defaults to `SPEED_MODEL`): the FLUX-architecture model.
        height (`int`, defaults to `384`), width (`int`, defaults to `384`): image size (16 pixels per token).
        num_inference_steps (`int`, defaults to `50`): steps per image.
        cache_intervals (`tuple[int, ...]`, defaults to `(6, 9)`): FreqCa's `N` values (the paper's recipe
            otherwise: the `"paper"` preset of FLUX.1-dev).
        repeats (`int`, defaults to `5`): interleaved repeats of every run.
        decomposition (`str`, defaults to `"dct"`): FreqCa's band split.
        dtype (`torch.dtype`, defaults to `torch.float32`): the model's dtype.
        seed (`int`, defaults to `0`): seed of the weights and inputs.
        log (`Callable[[str], None]`, defaults to `print`): progress messages.

    Returns:
        [`SpeedReport`]: the measurements.

    Example:
        ```python
        >>> report = measure_speed(repeats=3)
        >>> [(r.cache_interval, round(r.speedup_cpu, 2), r.ideal_speedup) for r in report.results]
        ```
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"`repeats` must be an int >= 1, got {repeats!r}.")
    if not cache_intervals:
        raise ValueError("`cache_intervals` must name at least one FreqCa cache_interval.")
    if model.class_name != "FluxTransformer2DModel":
        raise ValueError(f"`model` must be a FluxTransformer2DModel shape, got {model.class_name!r}.")
    configs = {n: paper_config("flux.1-dev", n, decomposition=decomposition) for n in cache_intervals}
    torch.manual_seed(seed)
    # Built on the CPU with the class's own random initialisation, directly in `dtype`.
    transformer = build_transformer(model, "cpu", dtype)
    generator = torch.Generator().manual_seed(seed)
    inputs = make_inputs(model, height, width, 1, "cpu", dtype, generator=generator)
    loop = DenoisingLoop(transformer, inputs, num_inference_steps)
    report = SpeedReport(
        model=model.name,
        config=dict(model.config),
        height=height,
        width=width,
        image_tokens=inputs["hidden_states"].shape[1],
        text_tokens=inputs["encoder_hidden_states"].shape[1],
        dtype=str(dtype).replace("torch.", ""),
        threads=torch.get_num_threads(),
        repeats=repeats,
    )
    load_before = os.getloadavg()[0]
    results = {}
    for n, config in configs.items():
        expected = len(full_steps(num_inference_steps, config))
        results[n] = SpeedResult(n, num_inference_steps, 0, expected, num_inference_steps / expected)
    full_cpu = {n: [] for n in configs}
    predicted_cpu = {n: [] for n in configs}
    uncached_cpu: list[float] = []

    # Warm-up, untimed: the allocator, and FreqCa's lazily built transform tables.
    DenoisingLoop(transformer, inputs, min(num_inference_steps, 3)).run(time_steps=False)
    for config in configs.values():
        transformer.enable_cache(config)
        try:
            DenoisingLoop(transformer, inputs, min(num_inference_steps, config.disable_cache_before_step + 2)).run()
        finally:
            transformer.disable_cache()

    for repeat in range(repeats):
        loop.run()
        uncached_cpu.extend(loop.timing.cpu)
        uncached = (sum(loop.timing.wall), sum(loop.timing.cpu))
        log(f"repeat {repeat + 1}/{repeats}: uncached {uncached[0]:.2f} s wall, {uncached[1]:.2f} s CPU")
        for n, config in configs.items():
            transformer.enable_cache(config)
            try:
                loop.run()
                stats = get_freqca_stats(transformer).contexts["cond"]
            finally:
                transformer.disable_cache()
            result = results[n]
            result.full_steps = stats.computed_steps
            result.wall.append(sum(loop.timing.wall))
            result.cpu.append(sum(loop.timing.cpu))
            result.uncached_wall.append(uncached[0])
            result.uncached_cpu.append(uncached[1])
            computed = set(stats.full_steps)
            full_cpu[n].extend(s for i, s in enumerate(loop.timing.cpu) if i in computed)
            predicted_cpu[n].extend(s for i, s in enumerate(loop.timing.cpu) if i not in computed)
            log(
                f"  FreqCa N={n}: {result.wall[-1]:.2f} s wall, {result.cpu[-1]:.2f} s CPU "
                f"({stats.computed_steps} full steps)"
            )

    report.eval_cpu = _median(uncached_cpu)
    report.no_block_step_cpu = _median(_no_block_step_cpu(loop))
    first = next(iter(configs.values()))
    report.forecaster_update_cpu, report.forecaster_predict_cpu = time_forecaster(
        first, _capture_stack_output(transformer, inputs), image_layout(model, height, width)
    )
    for n, result in results.items():
        result.full_step_cpu = _median(full_cpu[n])
        result.predicted_step_cpu = _median(predicted_cpu[n])
    report.results = list(results.values())
    report.load_average = (load_before, os.getloadavg()[0])
    return report


@dataclass
class ShareResult:
    r"""
    One cache's wall-clock speed-up as a share of its ideal, from [`measure_share_of_ideal`].

    Args:
        method (`str`): its label.
        evaluations (`int`): block-stack evaluations per run.
        ideal (`float`): steps / evaluations.
        speedup (`float`): median uncached wall time over the median wall time of the method.
        share (`float`): `speedup / ideal`; 1 means the skipped steps cost nothing.
    """

    method: str
    evaluations: int
    ideal: float
    speedup: float
    share: float


def measure_share_of_ideal(
    model: ModelShape = SPEED_MODEL,
    height: int = 384,
    width: int = 384,
    num_inference_steps: int = 50,
    cache_intervals: tuple[int, ...] = (6, 9),
    repeats: int = 5,
    seed: int = 0,
    log=print,
) -> list[ShareResult]:
    r"""
    What a predicted step costs, FreqCa's default against diffusers' TaylorSeer-lite (which also skips every block and
    forecasts the model output), measured as each method's wall-clock speed-up over the uncached loop divided by its
    ideal speed-up (steps / block-stack evaluations). Runs are interleaved (uncached, then every method, `repeats`
    times) and medians compared, in one process.

    Args:
        model (`ModelShape`, defaults to `SPEED_MODEL`): the FLUX-architecture model (random weights).
        height (`int`), width (`int`): image size in pixels.
        num_inference_steps (`int`, defaults to `50`): steps per run.
        cache_intervals (`tuple[int, ...]`, defaults to `(6, 9)`): the N of both methods.
        repeats (`int`, defaults to `5`): interleaved repeats.
        seed (`int`, defaults to `0`): seed of the weights and inputs.
        log (`Callable[[str], None]`): progress messages.

    Returns:
        `list[ShareResult]`: FreqCa and TaylorSeer-lite per interval.

    Example:
        ```python
        >>> [(r.method, round(r.share, 3)) for r in measure_share_of_ideal(repeats=3)]
        ```
    """
    from diffusers import TaylorSeerCacheConfig

    torch.manual_seed(seed)
    transformer = build_transformer(model, "cpu", torch.float32)
    inputs = make_inputs(model, height, width, 1, "cpu", torch.float32, generator=torch.Generator().manual_seed(seed))
    loop = DenoisingLoop(transformer, inputs, num_inference_steps)
    methods = {}
    for n in cache_intervals:
        config = FreqCaConfig(cache_interval=n)
        methods[f"FreqCa default N={n}"] = (config, len(full_steps(num_inference_steps, config)))
        lite = TaylorSeerCacheConfig(
            cache_interval=n, disable_cache_before_step=3, max_order=1, use_lite_mode=True,
            taylor_factors_dtype=torch.float32,
        )  # fmt: skip
        # TaylorSeer computes steps s < 3 and those with (s - 3 - 1) % N == 0 (diffusers 0.42.1).
        methods[f"TaylorSeer-lite N={n}"] = (lite, sum(s < 3 or (s - 4) % n == 0 for s in range(num_inference_steps)))
    times: dict[str, list[float]] = {name: [] for name in ["uncached", *methods]}

    def timed(config) -> float:
        if config is not None:
            transformer.enable_cache(config)
        try:
            start = time.perf_counter()
            loop.run(time_steps=False)
            return time.perf_counter() - start
        finally:
            if config is not None:
                transformer.disable_cache()

    timed(None)  # warm-up, untimed
    for config, _ in methods.values():
        timed(config)
    for repeat in range(repeats):
        times["uncached"].append(timed(None))
        for name, (config, _) in methods.items():
            times[name].append(timed(config))
        log(f"repeat {repeat + 1}/{repeats}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()))
    uncached = _median(times["uncached"])
    results = []
    for name, (_, evaluations) in methods.items():
        ideal = num_inference_steps / evaluations
        speedup = uncached / _median(times[name])
        results.append(ShareResult(name, evaluations, ideal, speedup, speedup / ideal))
    return results


def format_report(report: SpeedReport) -> str:
    r"""
    The Markdown tables of a [`SpeedReport`]: the speed-up against the ideal, and the per-step costs.

    Args:
        report (`SpeedReport`): from [`measure_speed`].

    Returns:
        `str`: the Markdown text.

    Example:
        ```python
        >>> print(format_report(measure_speed(repeats=3)))
        ```
    """
    eval_s = report.eval_cpu
    lines = [
        f"**{report.model}** (FLUX architecture, {report.config['num_layers']} double + "
        f"{report.config.get('num_single_layers', 0)} single blocks, "
        f"{report.config['num_attention_heads']} heads x {report.config['attention_head_dim']}, random weights), "
        f"{report.height}x{report.width} = {report.image_tokens} image tokens + {report.text_tokens} text tokens, "
        f"{report.dtype}, {report.threads} torch thread(s), {report.repeats} interleaved repeats, medians; "
        f"1-minute load average {report.load_average[0]:.1f} before, {report.load_average[1]:.1f} after.",
        "",
        "| FreqCa | steps | full steps | ideal | uncached s/image, CPU (wall) | FreqCa s/image, CPU (wall) "
        "| speed-up, CPU time | of ideal | speed-up, wall clock | of ideal |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report.results:
        lines.append(
            f"| N={r.cache_interval} | {r.num_inference_steps} | {r.full_steps} | {r.ideal_speedup:.2f}x | "
            f"{_median(r.uncached_cpu):.2f} ({_median(r.uncached_wall):.2f}) | "
            f"{_median(r.cpu):.2f} ({_median(r.wall):.2f}) | {r.speedup_cpu:.2f}x | "
            f"{100 * r.speedup_cpu / r.ideal_speedup:.1f}% | {r.speedup_wall:.2f}x | "
            f"{100 * r.speedup_wall / r.ideal_speedup:.1f}% |"
        )
    lines += [
        "",
        f"Per step, median CPU time, as a fraction of an uncached step ({1000 * eval_s:.1f} ms: one transformer "
        "evaluation and the scheduler step):",
        "",
        "| step or work | ms | of an uncached step |",
        "|---|---:|---:|",
    ]

    def row(label: str, seconds: float) -> None:
        lines.append(f"| {label} | {1000 * seconds:.2f} | {100 * seconds / eval_s:.2f}% |")

    for r in report.results:
        row(f"N={r.cache_interval}: full step", r.full_step_cpu)
        row(f"N={r.cache_interval}: predicted step", r.predicted_step_cpu)
    row("step with the block lists emptied (embeddings, RoPE, output head, scheduler)", report.no_block_step_cpu)
    for r in report.results:
        row(
            f"N={r.cache_interval}: FreqCa's extra on a predicted step (predicted step - emptied step)",
            r.predicted_step_cpu - report.no_block_step_cpu,
        )
        row(
            f"N={r.cache_interval}: FreqCa's extra on a full step (full step - uncached step)",
            r.full_step_cpu - eval_s,
        )
    row("FreqCa band split + forecaster update, timed alone (full steps)", report.forecaster_update_cpu)
    row("FreqCa forecast, timed alone (predicted steps)", report.forecaster_predict_cpu)
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    r"""
    The command-line parser of `python -m benchmarks.speed`.

    Returns:
        `argparse.ArgumentParser`: the parser.

    Example:
        ```python
        >>> build_parser().parse_args(["--repeats", "3"]).repeats
        3
        ```
    """
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.speed",
        description=(
            "Wall-clock speed-up of FreqCa against the uncached denoising loop in the same process, on a mid-size "
            "FLUX-architecture transformer with random weights on the CPU (FluxPipeline's loop without text "
            "encoders and VAE). Uncached and FreqCa runs are interleaved and medians compared; the ideal speed-up is "
            "steps / full steps. Also breaks down the cost of full and predicted steps and FreqCa's own work."
        ),
    )
    parser.add_argument("--steps", type=int, default=50, help="denoising steps per image (default: 50)")
    parser.add_argument(
        "--cache-intervals", type=int, nargs="+", default=[6, 9], help="FreqCa cache_interval values (default: 6 9)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats of every run (default: 5)")
    parser.add_argument("--height", type=int, default=384, help="image height in pixels (default: 384)")
    parser.add_argument("--width", type=int, default=384, help="image width in pixels (default: 384)")
    parser.add_argument(
        "--decomposition", choices=DECOMPOSITIONS, default="dct", help="FreqCa's band split (default: dct)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help=(
            "torch CPU threads (default: 1; on a small machine shared with other jobs, several threads spend most of "
            "their time waiting on each other and the timings become erratic)"
        ),
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights and inputs (default: 0)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a tiny model at 256x256, 12 steps, 1 repeat (a few seconds; for tests, not for numbers)",
    )
    parser.add_argument("--output-json", type=Path, default=None, help="also write the results to this JSON file")
    parser.add_argument(
        "--against-taylorseer",
        action="store_true",
        help="instead: the default config's speed-up as a share of its ideal next to TaylorSeer-lite's",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    r"""
    Runs the speed benchmark and prints its markdown tables.

    Args:
        argv (`list[str]`, *optional*): the arguments; `None` reads the command line.

    Returns:
        `int`: 0 on success.

    Example:
        ```bash
        python -m benchmarks.speed --repeats 5 --output-json speed.json
        ```
    """
    args = build_parser().parse_args(argv)
    if args.threads < 1:
        raise ValueError(f"`--threads` must be >= 1, got {args.threads}.")
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    if args.quick:
        model, height, width, steps, repeats = QUICK_MODEL, 256, 256, 12, 1
    else:
        model, height, width, steps, repeats = SPEED_MODEL, args.height, args.width, args.steps, args.repeats
    if args.against_taylorseer:
        try:
            shares = measure_share_of_ideal(
                model, height, width, steps, tuple(args.cache_intervals), repeats, args.seed
            )
        finally:
            torch.set_num_threads(previous_threads)
        print("| method | evaluations | ideal speed-up | measured speed-up | share of ideal |")
        print("|---|---|---|---|---|")
        for r in shares:
            print(f"| {r.method} | {r.evaluations} | {r.ideal:.2f}x | {r.speedup:.2f}x | {r.share:.3f} |")
        if args.output_json is not None:
            args.output_json.parent.mkdir(parents=True, exist_ok=True)
            args.output_json.write_text(json.dumps([asdict(r) for r in shares], indent=2) + "\n")
        return 0
    try:
        report = measure_speed(
            model,
            height=height,
            width=width,
            num_inference_steps=steps,
            cache_intervals=tuple(args.cache_intervals),
            repeats=repeats,
            decomposition=args.decomposition,
            seed=args.seed,
        )
    finally:
        torch.set_num_threads(previous_threads)
    print(format_report(report))
    if args.output_json is not None:
        args.output_json.parent.mkdir(parents=True, exist_ok=True)
        args.output_json.write_text(json.dumps({"benchmark": "speed", **report.to_dict()}, indent=2) + "\n")
        print(f"Wrote {args.output_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
