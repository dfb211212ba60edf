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
"""Quality at matched compute: FreqCa against diffusers' own caches and against fewer denoising steps.

Every method generates the same images (the project's trained tiny FLUX-architecture model, one image per class and
seed, 64x64) and is compared with the full computation at `--steps` steps (PSNR and SSIM of the final images). Compute
is measured, not assumed: forward hooks on every `Linear` layer of the transformer add up its multiply-accumulates,
and a method's compute is reported as *equivalent transformer evaluations* (its MACs over those of one uncached
call). This puts caches that skip whole steps (FreqCa, FirstBlockCache, MagCache), caches that skip only attention
(TaylorSeerCache's default, PyramidAttentionBroadcast, FasterCache) and fewer steps on one axis. Caches with a
threshold (FirstBlockCache, MagCache) are tuned by bisection to the compute of FreqCa at each interval.

    make benchmark                              # = python -m benchmarks.quality, from the root of a clone
    python -m benchmarks.quality --quick        # seconds: a smoke test
"""

import argparse
import ast
import contextlib
import io
import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from diffusers_freqca import tiny_flux
from diffusers_freqca.block_stack import count_evaluations
from diffusers_freqca.config import FreqCaConfig
from diffusers_freqca.metrics import psnr, ssim
from diffusers_freqca.presets import PAPER_RECIPE
from diffusers_freqca.schedule import full_steps


@dataclass
class Method:
    r"""
    One entry of the benchmark.

    Args:
        name (`str`): the label in the table.
        family (`str`): `"FreqCa"`, `"TaylorSeer"`, `"FirstBlockCache"`, `"MagCache"`, `"PAB"`, `"FasterCache"`,
            `"fewer steps"` or `"full"`.
        config (`Any`, *optional*): the cache config given to `enable_cache`, `None` for no cache.
        steps (`int`, *optional*): denoising steps of this run if not the benchmark's (the fewer-steps baseline).
        target (`int`, *optional*): the FreqCa interval this entry is matched to, for grouping.
    """

    name: str
    family: str
    config: Any = None
    steps: int | None = None
    target: int | None = None


@dataclass
class Result:
    r"""
    The measurement of one [`Method`].

    Args:
        name (`str`), family (`str`), target (`int`, *optional*): as in [`Method`].
        evaluations (`float`): equivalent transformer evaluations per image trajectory (MACs / MACs of one full call).
        block_stack_evaluations (`int`): calls in which the last transformer block computed.
        psnr (`float`): PSNR (dB) of the final images against the full computation, over all images.
        psnr_min (`float`): the worst image's PSNR.
        ssim (`float`): mean SSIM against the full computation.
        seconds (`float`): wall time of the run (indicative only: the machine may be shared).
        config (`dict`): the settings, for the record.
    """

    name: str
    family: str
    target: int | None
    evaluations: float
    block_stack_evaluations: int
    psnr: float
    psnr_min: float
    ssim: float
    seconds: float
    config: dict = field(default_factory=dict)


class MacCounter:
    r"""
    Adds up the multiply-accumulates of every `torch.nn.Linear` call inside a module while the context is open.

    Linear layers hold all but a small part of a DiT's compute (attention score products, which scale the same way in
    every method here, are left out).

    Args:
        module (`torch.nn.Module`): the transformer.

    Example:
        ```python
        >>> with MacCounter(pipe.transformer) as macs:
        ...     pipe(...)
        >>> macs.total
        ```
    """

    def __init__(self, module: torch.nn.Module):
        self.module = module
        self.total = 0
        self._handles: list = []

    def _hook(self, layer: torch.nn.Linear, args: tuple) -> None:
        rows = args[0].numel() // layer.in_features
        self.total += rows * layer.in_features * layer.out_features

    def __enter__(self) -> "MacCounter":
        self._handles = [
            m.register_forward_pre_hook(self._hook) for m in self.module.modules() if isinstance(m, torch.nn.Linear)
        ]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def spread_schedule(num_full: int, steps: int, warmup: int = 3) -> tuple[int, ...]:
    r"""
    `num_full` full steps: `warmup` at the start, the rest evenly spread so that the last one is the final step.

    The paper's schedule (a full step every N steps after the warm-up) leaves the last `N - 1` or so steps forecast,
    where the image's fine detail settles; this alternative spends the same compute but ends on a full step.

    Args:
        num_full (`int`): number of full steps (> `warmup`).
        steps (`int`): number of denoising steps.
        warmup (`int`, defaults to `3`): full steps at the start.

    Returns:
        `tuple[int, ...]`: the full steps.

    Example:
        ```python
        >>> spread_schedule(10, 50)
        (0, 1, 2, 9, 15, 22, 29, 36, 42, 49)
        ```
    """
    if not warmup < num_full <= steps:
        raise ValueError(f"`num_full` must be in ({warmup}, {steps}], got {num_full}.")
    gap = (steps - warmup) / (num_full - warmup)
    return tuple(range(warmup)) + tuple(warmup - 1 + round(gap * i) for i in range(1, num_full - warmup + 1))


def power_schedule(interval: int, steps: int, power: float, warmup: int = 3) -> tuple[int, ...]:
    r"""
    The paper's number of full steps at `interval`, moved towards the start of the trajectory (`power > 1`): the `J`
    full steps that the paper's even schedule places after the warm-up keep their number, and the `k`-th goes to
    `warmup - 1 + round(J * interval * (k / J) ** power)` (kept distinct where rounding bunches them). Version 0.1
    called this `schedule_power`; it is measured here as an explicit list of full steps.

    Args:
        interval (`int`): the cache interval N of the even schedule whose count is kept.
        steps (`int`): number of denoising steps.
        power (`float`): `1` is the even schedule; above 1 denser early, sparser late.
        warmup (`int`, defaults to `3`): full steps at the start.

    Returns:
        `tuple[int, ...]`: the full steps.

    Example:
        ```python
        >>> power_schedule(6, 50, 1.5)
        (0, 1, 2, 4, 8, 14, 20, 27, 35, 44)
        ```
    """
    count = len(range(warmup - 1 + interval, steps, interval)) if steps > warmup else 0
    last = warmup - 1 + count * interval  # where the even schedule's last full step is
    full = list(range(min(warmup, steps)))
    for k in range(1, count + 1):
        position = warmup - 1 + round(count * interval * (k / count) ** power)
        full.append(min(max(position, full[-1] + 1), last - (count - k)))
    return tuple(full)


def freqca_methods(interval: int, steps: int, sweep: bool = True) -> list[Method]:
    r"""
    The FreqCa variants measured at one cache interval.

    Args:
        interval (`int`): the cache interval N.
        steps (`int`): denoising steps.
        sweep (`bool`, defaults to `True`): include the cut-off, order, spacing and schedule variants; `False` keeps
            the paper's recipe and the two CRF forms.

    Returns:
        `list[Method]`

    Example:
        ```python
        >>> [m.name for m in freqca_methods(6, 50, sweep=False)]
        ['FreqCa N=6 (paper: dct, hidden_states)', 'FreqCa N=6 residual']
        ```
    """
    # The authors' recipe with the DCT split they use for FLUX (the tiny model's architecture): an even schedule.
    paper = {**PAPER_RECIPE, "cache_interval": interval, "first_interval": interval, "decomposition": "dct"}

    def fixed(full: tuple[int, ...]) -> dict[str, Any]:
        # Exactly these full steps: no interval ever elapses within the run.
        return {"cache_interval": steps, "first_interval": steps, "full_compute_steps": full}

    def make(label: str, **changes: Any) -> Method:
        return Method(f"FreqCa N={interval} {label}", "FreqCa", FreqCaConfig(**{**paper, **changes}), target=interval)

    methods = [
        Method(f"FreqCa N={interval} (paper: dct, hidden_states)", "FreqCa", FreqCaConfig(**paper), target=interval),
        make("residual", crf_form="residual"),
    ]
    if not sweep:
        return methods
    num_full = len(full_steps(steps, FreqCaConfig(**paper)))
    end = spread_schedule(num_full, steps)
    # The schedule matters most (see docs/benchmarks.md): the variants are measured on a front-loaded schedule with the
    # paper's number of full steps (`power_schedule`, power 1.5) and, for the forecast orders, also on the even one.
    front = {"crf_form": "residual", **fixed(power_schedule(interval, steps, 1.5))}
    methods += [
        make("residual, ends on a full step", crf_form="residual", **fixed(end)),
        make("residual, schedule_power 1.25", crf_form="residual", **fixed(power_schedule(interval, steps, 1.25))),
        make("residual, schedule_power 2", crf_form="residual", **fixed(power_schedule(interval, steps, 2.0))),
        make("residual, no band split, order 1", crf_form="residual", decomposition="none", high_freq_order=1),
        make("residual, no band split, order 0", crf_form="residual", decomposition="none", high_freq_order=0),
        make("power 1.5, residual (dct, low 0, high 2)", **front),
        make("power 1.5, hidden_states", **{**front, "crf_form": "hidden_states"}),
        make("power 1.5, fft", **front, decomposition="fft"),
        make("power 1.5, taylor", **front, predictor="taylor"),
        make("power 1.5, sigma spacing", **front, spacing="sigma"),
        make("power 1.5, low 0, high 1", **front, high_freq_order=1),
        make("power 1.5, low 1, high 2", **front, low_freq_order=1),
        make("power 1.5, no band split, order 2", **front, decomposition="none"),
        make("power 1.5, no band split, order 1", **front, decomposition="none", high_freq_order=1),
        make("power 1.5, no band split, order 0", **front, decomposition="none", high_freq_order=0),
        make(
            "power 1.5, no band split, order 1, hidden_states",
            **{**front, "crf_form": "hidden_states"},
            decomposition="none",
            high_freq_order=1,
        ),  # fmt: skip
        make(
            "power 2, no band split, order 1",
            **{**front, **fixed(power_schedule(interval, steps, 2.0))},
            decomposition="none",
            high_freq_order=1,
        ),  # fmt: skip
        make(
            "power 1.25, no band split, order 1",
            **{**front, **fixed(power_schedule(interval, steps, 1.25))},
            decomposition="none",
            high_freq_order=1,
        ),  # fmt: skip
    ]
    methods += [make(f"power 1.5, cutoff {c}", **front, cutoff_ratio=c) for c in (0.05, 0.2, 0.3, 0.5)]
    methods += [
        make(f"power 1.5, low 1, high 2, cutoff {c}", **front, low_freq_order=1, cutoff_ratio=c) for c in (0.05, 0.3)
    ]
    return methods


class Benchmark:
    r"""
    Runs methods on the trained tiny model and measures them against the full computation.

    Args:
        steps (`int`): denoising steps of the reference and of every cached run.
        seeds (`int`): images per class (the batch is `8 * seeds` images).
        checkpoint (`str`, *optional*): a tiny checkpoint folder; defaults to the packaged one.
        classes (`int`, *optional*): use only the first `classes` classes (for quick runs).

    Example:
        ```python
        >>> bench = Benchmark(steps=50, seeds=2)
        >>> bench.measure(Method("FreqCa N=6", "FreqCa", FreqCaConfig(cache_interval=6))).psnr
        ```
    """

    def __init__(self, steps: int = 50, seeds: int = 2, checkpoint: str | None = None, classes: int | None = None):
        self.steps = steps
        self.pipe = tiny_flux.load_tiny_flux_pipeline(checkpoint)
        self.pipe.set_progress_bar_config(disable=True)
        count = len(tiny_flux.CLASS_NAMES) if classes is None else classes
        self.inputs = tiny_flux.pipeline_inputs(self.pipe, range(count), repeats=seeds)
        self.reference, _, self.reference_macs, _ = self._generate(None, steps)
        self.macs_per_call = self.reference_macs / steps

    def _generate(self, config: Any, steps: int) -> tuple[torch.Tensor, float, int, int]:
        transformer = self.pipe.transformer
        if config is not None:
            transformer.enable_cache(config)
        try:
            start = time.perf_counter()
            with MacCounter(transformer) as macs, count_evaluations(transformer) as counts:
                images = self.pipe(
                    **self.inputs,
                    num_inference_steps=steps,
                    generator=torch.Generator().manual_seed(0),
                    output_type="pt",
                ).images
            seconds = time.perf_counter() - start
        finally:
            if config is not None:
                transformer.disable_cache()
        return images.float(), seconds, macs.total, counts["last_block"]

    def measure(self, method: Method) -> Result:
        r"""
        Runs one method and measures it.

        Args:
            method (`Method`): what to run.

        Returns:
            `Result`: its compute, evaluations, PSNR and SSIM against the full computation.

        Example:
            ```python
            >>> bench.measure(Method("FreqCa N=9", "FreqCa", FreqCaConfig(cache_interval=9))).psnr
            ```
        """
        steps = method.steps or self.steps
        images, seconds, macs, stack = self._generate(method.config, steps)
        per_image = [psnr(images[i], self.reference[i]) for i in range(images.shape[0])]
        return Result(
            name=method.name,
            family=method.family,
            target=method.target,
            evaluations=macs / self.macs_per_call,
            block_stack_evaluations=stack,
            psnr=psnr(images, self.reference),
            psnr_min=min(per_image),
            ssim=ssim(images, self.reference),
            seconds=seconds,
            config=_describe(method.config, steps),
        )

    def tune(self, make: Callable[[float], Any], target: float, low: float, high: float, iterations: int = 8):
        r"""
        Bisects a threshold so that the method's compute is as close as possible to `target` evaluations, assuming
        compute falls as the threshold grows.

        Args:
            make (`Callable[[float], Any]`): threshold -> cache config.
            target (`float`): equivalent evaluations to match.
            low (`float`), high (`float`): the bracket of thresholds.
            iterations (`int`, defaults to `8`): bisection steps.

        Returns:
            `tuple[float, Result]`: the threshold whose run came closest to `target` (ties: the cheaper one) and its
            result.

        Example:
            ```python
            >>> threshold, result = bench.tune(lambda t: FirstBlockCacheConfig(threshold=t), 10.0, 1e-3, 4.0)
            ```
        """
        best = None
        for _ in range(iterations):
            middle = math.sqrt(low * high) if low > 0 else (low + high) / 2
            result = self.measure(Method("tuning", "tuning", make(middle)))
            key = (abs(result.evaluations - target), result.evaluations)
            if best is None or key < best[0]:
                best = (key, middle, result)
            if result.evaluations > target:
                low = middle
            else:
                high = middle
        return best[1], best[2]


def _describe(config: Any, steps: int) -> dict:
    if config is None:
        return {"steps": steps}
    if isinstance(config, FreqCaConfig):
        return {"steps": steps, **config.to_dict()}
    described = {"steps": steps, "class": type(config).__name__}
    for key, value in vars(config).items():
        if isinstance(value, (int, float, str, bool, type(None))):
            described[key] = value
        elif isinstance(value, (tuple, list)) and all(isinstance(v, (int, float, str)) for v in value):
            described[key] = list(value)
    return described


def calibrate_mag_ratios(bench: Benchmark) -> list[float]:
    r"""
    MagCache's magnitude ratios for the tiny model, from diffusers' own calibration mode (one uncached run that prints
    them).

    Args:
        bench (`Benchmark`): the benchmark (its model, inputs and steps).

    Returns:
        `list[float]`: one ratio per step.

    Example:
        ```python
        >>> ratios = calibrate_mag_ratios(Benchmark(steps=50, seeds=1))
        >>> len(ratios)
        50
        ```
    """
    from diffusers import MagCacheConfig

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        bench._generate(MagCacheConfig(calibrate=True, num_inference_steps=bench.steps), bench.steps)
    lines = [line for line in output.getvalue().splitlines() if line.strip().startswith("[")]
    if not lines:
        raise RuntimeError(f"MagCache calibration printed no ratios:\n{output.getvalue()}")
    return [float(v) for v in ast.literal_eval(lines[-1].strip())]


def peer_methods(bench: Benchmark, interval: int, freqca_evaluations: float) -> Iterator[Result]:
    r"""
    diffusers' caches and the fewer-steps baseline, at the compute of FreqCa with cache interval `interval`.

    Args:
        bench (`Benchmark`): the benchmark.
        interval (`int`): the FreqCa interval being matched.
        freqca_evaluations (`float`): FreqCa's measured equivalent evaluations at that interval.

    Yields:
        `Result`: one per peer configuration (results of failing configurations are skipped with a message).

    Example:
        ```python
        >>> bench = Benchmark(steps=50, seeds=1)
        >>> freqca = bench.measure(freqca_methods(6, 50, sweep=False)[0])
        >>> peers = list(peer_methods(bench, 6, freqca.evaluations))
        ```
    """
    from diffusers import (
        FasterCacheConfig,
        FirstBlockCacheConfig,
        MagCacheConfig,
        PyramidAttentionBroadcastConfig,
        TaylorSeerCacheConfig,
    )

    steps = bench.steps
    fewer = max(1, round(freqca_evaluations))
    yield bench.measure(Method(f"fewer steps ({fewer})", "fewer steps", None, steps=fewer, target=interval))

    for order in (1, 2):
        for lite in (False, True):
            config = TaylorSeerCacheConfig(
                cache_interval=interval, disable_cache_before_step=3, max_order=order, use_lite_mode=lite,
                taylor_factors_dtype=torch.float32,
            )  # fmt: skip
            label = f"TaylorSeer N={interval} order {order}" + (" lite" if lite else "")
            yield bench.measure(Method(label, "TaylorSeer", config, target=interval))

    threshold, result = bench.tune(lambda t: FirstBlockCacheConfig(threshold=t), freqca_evaluations, 1e-3, 4.0)
    result.name, result.family, result.target = (
        f"FirstBlockCache (threshold {threshold:.3g})",
        "FirstBlockCache",
        interval,
    )
    yield result

    ratios = calibrate_mag_ratios(bench)

    def mag(t: float) -> Any:
        return MagCacheConfig(
            threshold=t, max_skip_steps=interval - 1, retention_ratio=3 / steps, num_inference_steps=steps,
            mag_ratios=ratios,
        )  # fmt: skip

    threshold, result = bench.tune(mag, freqca_evaluations, 1e-3, 20.0)
    result.name = f"MagCache (threshold {threshold:.3g}, max skip {interval - 1})"
    result.family, result.target = "MagCache", interval
    yield result

    pipe = bench.pipe

    def timestep() -> int:
        return pipe.current_timestep if getattr(pipe, "current_timestep", None) is not None else 500

    attention_caches = [
        (
            f"PAB (attention every {interval} steps)",
            "PAB",
            lambda: PyramidAttentionBroadcastConfig(
                spatial_attention_block_skip_range=interval,
                spatial_attention_timestep_skip_range=(-1, 1001),
                current_timestep_callback=timestep,
            ),
        ),
        (
            f"FasterCache (attention every {interval} steps)",
            "FasterCache",
            lambda: FasterCacheConfig(
                spatial_attention_block_skip_range=interval,
                spatial_attention_timestep_skip_range=(-1, 1001),
                current_timestep_callback=timestep,
                is_guidance_distilled=True,
                attention_weight_callback=lambda _: 0.5,
                tensor_format="BFCHW",
            ),
        ),
    ]
    for label, family, make in attention_caches:
        try:
            yield bench.measure(Method(label, family, make(), target=interval))
        except Exception as error:  # noqa: BLE001 - report and go on: one peer failing must not end the benchmark
            print(f"{label}: could not run on FluxTransformer2DModel: {type(error).__name__}: {error}")


def format_table(results: list[Result]) -> str:
    r"""
    The results as a Markdown table, sorted by interval and quality.

    Args:
        results (`list[Result]`): what [`Benchmark.measure`] returned.

    Returns:
        `str`: the Markdown table.

    Example:
        ```python
        >>> print(format_table(run(intervals=(6,), steps=20, seeds=1, sweep=False, peers=False)))
        ```
    """
    lines = [
        "| matched to | method | equivalent evaluations | block-stack evaluations | PSNR (dB) | worst PSNR | SSIM |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(results, key=lambda r: (r.target or 0, -r.psnr)):
        target = f"N={r.target}" if r.target else "-"
        lines.append(
            f"| {target} | {r.name} | {r.evaluations:.2f} | {r.block_stack_evaluations} | {r.psnr:.2f} | "
            f"{r.psnr_min:.2f} | {r.ssim:.4f} |"
        )
    return "\n".join(lines)


def plot(results: list[Result], path: str, steps: int) -> None:
    r"""
    PSNR against equivalent transformer evaluations, one marker per family.

    Args:
        results (`list[Result]`): the results.
        path (`str`): the PNG to write.
        steps (`int`): denoising steps of the full computation (for the title).

    Raises:
        `ImportError`: without matplotlib.

    Example:
        ```python
        >>> plot(results, "outputs/quality/quality_vs_compute.png", steps=50)
        ```
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("The plot needs matplotlib: `pip install matplotlib`.") from error
    markers = {"FreqCa": "o", "TaylorSeer": "s", "FirstBlockCache": "^", "MagCache": "v", "PAB": "P",
               "FasterCache": "X", "fewer steps": "D"}  # fmt: skip
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for family, marker in markers.items():
        points = [(r.evaluations, r.psnr) for r in results if r.family == family and math.isfinite(r.psnr)]
        if points:
            x, y = zip(*points)
            axis.scatter(x, y, marker=marker, label=family, alpha=0.8)
    axis.set_xlabel("equivalent transformer evaluations per image")
    axis.set_ylabel(f"PSNR against the full {steps}-step computation (dB)")
    axis.set_title("Quality at matched compute (tiny trained FLUX-architecture model)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def run(
    intervals: tuple[int, ...] = (6, 9), steps: int = 50, seeds: int = 2, sweep: bool = True, peers: bool = True,
    classes: int | None = None, checkpoint: str | None = None, log: Callable[[str], None] = print,
) -> list[Result]:  # fmt: skip
    r"""
    The whole benchmark: FreqCa's variants and the peers at each interval.

    Args:
        intervals (`tuple[int, ...]`, defaults to `(6, 9)`): FreqCa intervals to match compute to.
        steps (`int`, defaults to `50`): denoising steps.
        seeds (`int`, defaults to `2`): images per class.
        sweep (`bool`, defaults to `True`): measure FreqCa's variants (see [`freqca_methods`]).
        peers (`bool`, defaults to `True`): measure diffusers' caches and fewer steps.
        classes (`int`, *optional*): only the first `classes` classes.
        checkpoint (`str`, *optional*): tiny checkpoint folder.
        log (`Callable[[str], None]`, defaults to `print`): progress messages.

    Returns:
        `list[Result]`

    Example:
        ```python
        >>> results = run(intervals=(6,), steps=20, seeds=1, sweep=False, peers=False)
        ```
    """
    bench = Benchmark(steps=steps, seeds=seeds, checkpoint=checkpoint, classes=classes)
    results: list[Result] = []
    for interval in intervals:
        measured = [bench.measure(method) for method in freqca_methods(interval, steps, sweep=sweep)]
        for result in measured:
            log(f"{result.name}: {result.evaluations:.2f} evaluations, PSNR {result.psnr:.2f} dB")
        results += measured
        if peers:
            # Every FreqCa variant has the paper's number of full steps: the first one's compute is the target.
            for result in peer_methods(bench, interval, measured[0].evaluations):
                results.append(result)
                log(f"{result.name}: {result.evaluations:.2f} evaluations, PSNR {result.psnr:.2f} dB")
    return results


def main(argv: list[str] | None = None) -> int:
    r"""
    `python -m benchmarks.quality` (`make benchmark`): prints the Markdown table, writes JSON and the plot.

    Args:
        argv (`list[str]`, *optional*): the arguments; `None` reads the command line.

    Returns:
        `int`: 0 on success.

    Example:
        ```bash
        python -m benchmarks.quality --output-dir outputs/quality
        python -m benchmarks.quality --quick
        ```
    """
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.quality",
        description=(
            "Image quality against the full computation at matched compute, on the project's trained tiny model: "
            "FreqCa (paper recipe and variants) against TaylorSeerCache, FirstBlockCache, MagCache (thresholds tuned "
            "to FreqCa's compute), PyramidAttentionBroadcast, FasterCache and fewer denoising steps. About 15 "
            "minutes on a 2-core CPU; --quick takes seconds."
        ),
    )
    parser.add_argument("--intervals", default="6,9", help="FreqCa intervals N to match, comma-separated")
    parser.add_argument("--steps", type=int, default=50, help="denoising steps of the full computation")
    parser.add_argument("--seeds", type=int, default=2, help="images per class (8 classes)")
    parser.add_argument("--no-sweep", action="store_true", help="FreqCa: only the paper's recipe and both CRF forms")
    parser.add_argument("--no-peers", action="store_true", help="skip diffusers' caches and fewer steps")
    parser.add_argument("--checkpoint", default=None, help="tiny checkpoint folder (default: the packaged one)")
    parser.add_argument("--output-dir", default="outputs/quality", help="where to write results.json and the plot")
    parser.add_argument("--quick", action="store_true", help="12 steps, 2 classes, N=3, no sweep: a smoke test")
    args = parser.parse_args(argv)
    intervals = tuple(int(v) for v in args.intervals.split(","))
    if args.quick:
        intervals, args.steps, args.seeds, classes, args.no_sweep = (3,), 12, 1, 2, True
    else:
        classes = None
    for interval in intervals:
        if interval < 2:
            raise ValueError(f"`--intervals` must be integers >= 2, got {interval}.")
    results = run(
        intervals, args.steps, args.seeds, sweep=not args.no_sweep, peers=not args.no_peers, classes=classes,
        checkpoint=args.checkpoint,
    )  # fmt: skip
    table = format_table(results)
    print(table)
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps([vars(r) for r in results], indent=2, default=str))
    (output / "table.md").write_text(table + "\n")
    try:
        plot(results, str(output / "quality_vs_compute.png"), args.steps)
    except ImportError as error:
        print(f"no plot: {error}")
    print(f"wrote {output / 'results.json'}, {output / 'table.md'} and the plot")
    return 0


__all__ = [
    "Benchmark",
    "MacCounter",
    "Method",
    "Result",
    "freqca_methods",
    "main",
    "power_schedule",
    "run",
    "spread_schedule",
]


if __name__ == "__main__":
    sys.exit(main())
