# Copyright 2026 The diffusers-freqca authors. Licensed under the Apache License, Version 2.0.
"""Quality at matched compute on the model zoo: FreqCa's default against every diffusers cache, per model.

    python -m benchmarks.zoo --half tune                 # the models designs may be chosen on
    python -m benchmarks.zoo --half held-out             # measured once the choice is made
    python -m benchmarks.zoo --models flux-scenes-16 --settings t2i-50 --intervals 6

Protocol (docs/benchmarks.md): for each zoo model (`tools/zoo`), each setting (text-to-image at 50 and at 28 steps,
image-to-image at strength 0.6 of 50 steps) and each cache interval N in 3, 4, 6, 9, 12, every method generates the
same 16 images and is compared with the full computation (PSNR of each decoded image in [0, 1], averaged over the images, with the worst
image and the pooled PSNR of all images beside it; SSIM). Compute is
measured, not assumed: hooks on every `Linear` layer add up the transformer's multiply-accumulates, and a method's
compute is given in *equivalent steps* (its MACs over those of one full denoising step; with true CFG a step is two
calls). At N = 6 and 9 FreqCa also runs calibrated (`diffusers-freqca calibrate` on two other seeds), and every peer
runs: TaylorSeerCache (lite and full mode, order 1 and 2), FirstBlockCache and
MagCache with their thresholds bisected to FreqCa's compute, PyramidAttentionBroadcast, and plain sampling with fewer
steps (FreqCa's compute rounded, and one more). At the other N the curve has FreqCa, the paper's recipe,
TaylorSeer-lite and fewer steps. The *margin* of a FreqCa configuration is its PSNR minus the best PSNR of the peers
that used at most one equivalent step more, whichever interval they were run for.

Writes `<out>/<model>.json` (every result) and, with `--report`, `<out>/<model>.md` and `<out>/<model>.png` (PSNR
against compute per setting).
"""

import argparse
import ast
import contextlib
import io
import itertools
import json
import math
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from benchmarks.compute import MacCounter
from diffusers_freqca.block_stack import count_evaluations
from diffusers_freqca.calibrate import plain_steps_for
from diffusers_freqca.config import FreqCaConfig
from diffusers_freqca.metrics import psnr, ssim
from diffusers_freqca.presets import PAPER_RECIPE
from tools.zoo import data
from tools.zoo.load import call_kwargs, load_pipeline
from tools.zoo.specs import ZOO, get_spec, names


SETTINGS = {
    # name: (steps, img2img strength or None)
    "t2i-50": (50, None),
    "t2i-28": (28, None),
    "i2i-50x0.6": (50, 0.6),
}
INTERVALS = (3, 4, 6, 9, 12)
# The diffusers peers' families, as `Result.family` names them.
PEER_FAMILIES = ("TaylorSeer", "MagCache", "FirstBlockCache", "PAB", "fewer steps")
FULL_PEER_INTERVALS = (6, 9)
DEFAULT_OUT = Path("docs/benchmark_results/zoo")
# Images per run the stored results were measured with (the larger models cost more per image).
MEASURED_IMAGES = {"flux-scenes-16": 16}
DEFAULT_IMAGES = 8


def images_for(name: str, images: int | None = None) -> int:
    r"""The images per run for zoo model `name`: `images` if given, else what its stored results were measured with."""
    return images if images is not None else MEASURED_IMAGES.get(name, DEFAULT_IMAGES)


@dataclass
class Result:
    r"""
    One method's measurement on one model and setting.

    Args:
        method (`str`): its label.
        family (`str`): `"FreqCa"`, `"FreqCa paper"`, `"TaylorSeer"`, `"FirstBlockCache"`, `"MagCache"`, `"PAB"` or
            `"fewer steps"`.
        interval (`int`): the cache interval N the entry belongs to.
        evaluations (`float`): equivalent denoising steps of compute (MACs over the MACs of one full step).
        block_stack_evaluations (`int`): calls in which the last block computed (all contexts together).
        psnr (`float`): PSNR in dB against the full computation, the mean over images of each image's PSNR.
        psnr_min (`float`): the worst image's PSNR.
        psnr_pooled (`float`): PSNR of the mean squared error over all images (dominated by the worst images).
        ssim (`float`): mean SSIM against the full computation.
        seconds (`float`): wall time of the run (indicative only).
        config (`dict`): the settings.
    """

    method: str
    family: str
    interval: int
    evaluations: float
    block_stack_evaluations: int
    psnr: float
    psnr_min: float
    psnr_pooled: float
    ssim: float
    seconds: float
    config: dict = field(default_factory=dict)


def freqca_default(interval: int) -> FreqCaConfig:
    r"""The default configuration at cache interval `interval`: `FreqCaConfig(cache_interval=interval)`."""
    return FreqCaConfig(cache_interval=interval)


def freqca_paper(interval: int, architecture: str) -> FreqCaConfig:
    r"""The paper's recipe at interval `interval`: DCT for FLUX-family models, FFT for Qwen-Image."""
    decomposition = "dct" if architecture == "flux" else "fft"
    return FreqCaConfig(**PAPER_RECIPE, cache_interval=interval, first_interval=interval, decomposition=decomposition)


class ZooBench:
    r"""
    Runs methods on one zoo model in one setting and measures them against the full computation.

    Args:
        name (`str`): the zoo model.
        setting (`str`): a key of `SETTINGS`.
        images (`int`, defaults to `16`): images per run (classes cycled, one seed per round).

    Example:
        ```python
        >>> bench = ZooBench("flux-scenes-16", "t2i-28")
        >>> bench.measure("FreqCa N=6", "FreqCa", 6, FreqCaConfig(cache_interval=6)).psnr
        ```
    """

    def __init__(self, name: str, setting: str, images: int = 16):
        self.name, self.setting = name, setting
        self.spec = get_spec(name)
        self.steps, self.strength = SETTINGS[setting]
        self.pipe = load_pipeline(name, img2img=self.strength is not None)
        count = len(data.class_names(self.spec.family))
        self.batches = []
        for seed in range(math.ceil(images / count)):
            classes = list(range(count))[: images - seed * count]
            self.batches.append((classes, seed))
        self.run_steps = int(self.steps * self.strength) if self.strength is not None else self.steps
        self.reference, _, reference_macs, _ = self._generate(None, self.steps)
        self.macs_per_step = reference_macs / self.run_steps

    def _generate(self, config: Any, steps: int) -> tuple[torch.Tensor, float, int, int]:
        transformer = self.pipe.transformer
        if config is not None:
            transformer.enable_cache(config)
        # diffusers' caches need a cache context, which the image-to-image pipelines do not set: give them the one a
        # text-to-image pipeline would (FreqCa needs none; it finds the CFG branches itself).
        shim = (
            _cache_contexts(transformer, self.spec.true_cfg_scale is not None)
            if config is not None and not isinstance(config, FreqCaConfig) and self.strength is not None
            else contextlib.nullcontext()
        )
        try:
            start = time.perf_counter()
            images = []
            with shim, MacCounter(transformer) as macs, count_evaluations(transformer) as counts:
                for classes, seed in self.batches:
                    kwargs = call_kwargs(self.pipe, classes, seed, steps, self.strength)
                    images.append(self.pipe(**kwargs).images.float())
            seconds = time.perf_counter() - start
        finally:
            if config is not None:
                transformer.disable_cache()
        return torch.cat(images), seconds, macs.total / len(self.batches), counts["last_block"] // len(self.batches)

    def measure(self, method: str, family: str, interval: int, config: Any, steps: int | None = None) -> Result:
        r"""
        Runs one method (a cache config, or `None` with `steps` for plain sampling) and measures it.

        Returns:
            [`Result`]: compute, PSNR and SSIM against the full computation.
        """
        steps = steps or self.steps
        images, seconds, macs, stack = self._generate(config, steps)
        per_image = [psnr(images[i], self.reference[i]) for i in range(images.shape[0])]
        return Result(
            method=method,
            family=family,
            interval=interval,
            evaluations=macs / self.macs_per_step,
            block_stack_evaluations=stack,
            psnr=sum(per_image) / len(per_image),
            psnr_min=min(per_image),
            psnr_pooled=psnr(images, self.reference),
            ssim=ssim(images, self.reference),
            seconds=seconds,
            config=_describe(config, steps),
        )

    def tune(self, label: str, family: str, interval: int, make, target: float, low: float, high: float) -> Result:
        r"""
        Bisects a threshold (compute falls as it grows) so that the method's compute comes as close as possible to
        `target` equivalent steps without exceeding `target + 1`; returns the best run found.
        """
        best = None
        for _ in range(5):
            middle = math.sqrt(low * high)
            result = self.measure(f"{label} (threshold {middle:.3g})", family, interval, make(middle))
            admissible = result.evaluations <= target + 1.0
            key = (not admissible, abs(result.evaluations - target))
            if best is None or key < best[0]:
                best = (key, result)
            if result.evaluations > target:
                low = middle
            else:
                high = middle
        return best[1]

    def mag_ratios(self) -> list[float]:
        r"""MagCache's magnitude ratios for this model and setting, from diffusers' calibration mode."""
        from diffusers import MagCacheConfig

        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            self._generate(MagCacheConfig(calibrate=True, num_inference_steps=self.run_steps), self.steps)
        lines = [line for line in output.getvalue().splitlines() if line.strip().startswith("[")]
        if not lines:
            raise RuntimeError(f"MagCache calibration printed no ratios:\n{output.getvalue()}")
        return [float(v) for v in ast.literal_eval(lines[-1].strip())]


@contextlib.contextmanager
def _cache_contexts(transformer: torch.nn.Module, true_cfg: bool):
    r"""
    Calls the transformer inside `cache_context("cond")`, or, under true CFG, alternately `"cond"` and `"uncond"`
    (the image-to-image pipelines evaluate the conditional branch first), for pipelines that enter no cache context.
    """
    original = transformer.forward
    calls = itertools.count()

    def forward(*args, **kwargs):
        name = ("cond", "uncond")[next(calls) % 2] if true_cfg else "cond"
        with transformer.cache_context(name):
            return original(*args, **kwargs)

    transformer.forward = forward
    try:
        yield
    finally:
        transformer.forward = original


def _describe(config: Any, steps: int) -> dict:
    if config is None:
        return {"steps": steps}
    if isinstance(config, FreqCaConfig):
        return {"steps": steps, **config.to_dict()}
    described = {"steps": steps, "class": type(config).__name__}
    for key, value in vars(config).items():
        if isinstance(value, (int, float, str, bool, type(None))):
            described[key] = value
    return described


def run_setting(
    bench: ZooBench, intervals=INTERVALS, log=print, calibrated: bool = True, only: str | None = None
) -> list[Result]:
    r"""
    Every method of the protocol (module docstring) on one model and setting.

    Args:
        only (`str`, *optional*): `"default"` or `"calibrated"` to measure only the FreqCa default or only the
            calibrated FreqCa rows (after a change to the default or to calibrate; the peers do not change).

    Returns:
        `list[Result]`: all measurements, FreqCa first at each interval.
    """
    from diffusers import FirstBlockCacheConfig, MagCacheConfig, PyramidAttentionBroadcastConfig, TaylorSeerCacheConfig

    results: list[Result] = []

    def add(result: Result) -> Result:
        results.append(result)
        log(
            f"{bench.name} {bench.setting} N={result.interval} {result.method}: {result.evaluations:.2f} steps, "
            f"{result.psnr:.2f} dB"
        )
        return result

    ratios = None
    for interval in intervals:
        if only == "calibrated":
            if interval in FULL_PEER_INTERVALS:
                add(_calibrated(bench, interval))
            continue
        ours = add(bench.measure(f"FreqCa default N={interval}", "FreqCa", interval, freqca_default(interval)))
        if only == "default":
            continue
        add(
            bench.measure(
                f"FreqCa paper N={interval}", "FreqCa paper", interval, freqca_paper(interval, bench.spec.architecture)
            )
        )
        target = ours.evaluations
        for steps in sorted({max(1, round(target)), max(1, round(target)) + 1}):
            plain_steps = steps if bench.strength is None else plain_steps_for(steps, bench.strength)
            add(bench.measure(f"fewer steps ({steps})", "fewer steps", interval, None, steps=plain_steps))
        full = interval in FULL_PEER_INTERVALS
        if full and calibrated:
            add(_calibrated(bench, interval))
        for order in (1, 2) if full else (1,):
            for lite in (True, False) if full else (True,):
                config = TaylorSeerCacheConfig(
                    cache_interval=interval,
                    disable_cache_before_step=3,
                    max_order=order,
                    use_lite_mode=lite,
                    taylor_factors_dtype=torch.float32,
                )
                label = f"TaylorSeer {'lite' if lite else 'full'} order {order} N={interval}"
                add(bench.measure(label, "TaylorSeer", interval, config))
        if not full:
            continue
        add(bench.tune("FirstBlockCache", "FirstBlockCache", interval, lambda t: FirstBlockCacheConfig(threshold=t),
                       target, 1e-3, 4.0))  # fmt: skip
        if ratios is None:
            ratios = bench.mag_ratios()

        def mag(t: float, interval=interval, ratios=ratios) -> Any:
            return MagCacheConfig(
                threshold=t, max_skip_steps=interval - 1, retention_ratio=3 / bench.run_steps,
                num_inference_steps=bench.run_steps, mag_ratios=ratios,
            )  # fmt: skip

        add(bench.tune("MagCache", "MagCache", interval, mag, target, 1e-3, 20.0))

        def timestep(pipe=bench.pipe) -> int:
            return pipe.current_timestep if getattr(pipe, "current_timestep", None) is not None else 500

        pab = PyramidAttentionBroadcastConfig(
            spatial_attention_block_skip_range=interval,
            spatial_attention_timestep_skip_range=(-1, 1001),
            current_timestep_callback=timestep,
        )
        try:
            add(bench.measure(f"PAB (attention every {interval} steps)", "PAB", interval, pab))
        except Exception as error:  # noqa: BLE001 - one peer failing must not end the benchmark; it is reported
            log(f"PAB could not run on {type(bench.pipe.transformer).__name__}: {type(error).__name__}: {error}")
    return results


def merge_results(stored: list[dict], results: list[Result], intervals, only: str | None = None) -> list[dict]:
    r"""
    The stored rows of one setting updated with a new run: the new results replace the stored rows of the intervals
    run (with `only`, just the rows of that FreqCa family), everything else is kept.

    Args:
        stored (`list[dict]`): the setting's rows as `<model>.json` holds them.
        results (`list[Result]`): the new measurements.
        intervals (`Iterable[int]`): the intervals that were run.
        only (`str`, *optional*): `"default"` or `"calibrated"`, as in [`run_setting`].

    Returns:
        `list[dict]`: the rows, ordered by interval.
    """
    replaced = {"default": {"FreqCa"}, "calibrated": {"FreqCa calibrated"}}.get(only)
    intervals = set(intervals)
    kept = [
        r for r in stored if r["interval"] not in intervals or (replaced is not None and r["family"] not in replaced)
    ]
    return sorted(kept + [asdict(r) for r in results], key=lambda r: r["interval"])


def _calibrated(bench: ZooBench, interval: int) -> Result:
    # `diffusers-freqca calibrate` on other seeds than the benchmark's images, then measured on them.
    from diffusers_freqca.calibrate import calibrate

    def kwargs_for(seed: int, classes=bench.batches[0][0]) -> dict:
        kwargs = call_kwargs(bench.pipe, classes, seed, bench.steps, bench.strength)
        kwargs.pop("generator")
        return kwargs

    found = calibrate(bench.pipe, kwargs_for, interval, seeds=(100, 101))
    result = bench.measure(f"FreqCa calibrated N={interval}", "FreqCa calibrated", interval, found.config)
    # What calibration saw: the chosen candidate's and the default's PSNR on the calibration seeds.
    result.config["calibration_psnr"] = {"chosen": found.best.psnr, "default": found.default.psnr}
    return result


def _in_window(peer: Result, ours: Result, calls_per_step: int) -> bool:
    # At most one equivalent step more compute than ours; or, for a method that skips whole steps (its compute is its
    # full evaluations plus the embedders and output head it still runs on skipped steps, e.g. TaylorSeer-lite and
    # MagCache), at most one more full evaluation: FreqCa's predicted steps run neither, and that saving of 0.1-0.2
    # steps must not push a peer with one more evaluation out of the comparison.
    if peer.evaluations <= ours.evaluations + 1.0 + 1e-6:
        return True
    full = peer.block_stack_evaluations / calls_per_step
    skips_whole_steps = peer.evaluations <= full + 0.5
    return skips_whole_steps and full <= ours.block_stack_evaluations / calls_per_step + 1.0 + 1e-6


def margins(
    results: list[Result], family: str = "FreqCa", peer_family: str | None = None
) -> dict[int, dict[str, Any]]:
    r"""
    Per interval, the PSNR margin of `family`'s entry over the best peer using at most one more equivalent step of
    compute, or, for peers that skip whole steps, at most one more full evaluation (see `_in_window`). Every peer of
    the setting counts, whatever interval it was run for: a peer tuned for another N (say, 6 plain steps run beside
    N=9) that lands in the window is as good a competitor as one run for this N.

    Args:
        results (`list[Result]`): every measurement of one model and setting.
        family (`str`, defaults to `"FreqCa"`): whose margin (`"FreqCa"` is the default, `"FreqCa calibrated"`).
        peer_family (`str`, *optional*): only peers of this family (e.g. `"TaylorSeer"`, `"MagCache"`); `None` for all.

    Returns:
        `dict[int, dict]`: interval -> `{"psnr", "evaluations", "best_peer", "best_peer_psnr",
        "best_peer_evaluations", "margin"}` (peers: every family whose name does not start with "FreqCa"; the
        paper's recipe, "FreqCa paper", is this package's own configuration, not a diffusers peer).
    """
    out = {}
    # Transformer calls per denoising step (2 under true CFG), from plain sampling: k steps make k full evaluations.
    plain = [r for r in results if r.family == "fewer steps" and r.evaluations > 0]
    calls = max(1, round(plain[0].block_stack_evaluations / plain[0].evaluations)) if plain else 1
    for interval in sorted({r.interval for r in results}):
        mine = [r for r in results if r.interval == interval and r.family == family]
        if not mine:
            continue
        ours = mine[0]
        peers = [
            r
            for r in results
            if not r.family.startswith("FreqCa")
            and (peer_family is None or r.family == peer_family)
            and _in_window(r, ours, calls)
        ]
        best = max(peers, key=lambda r: r.psnr) if peers else None
        out[interval] = {
            "psnr": ours.psnr,
            "evaluations": ours.evaluations,
            "best_peer": best.method if best else None,
            "best_peer_psnr": best.psnr if best else None,
            "best_peer_evaluations": best.evaluations if best else None,
            "margin": ours.psnr - best.psnr if best else None,
        }
    return out


def write_report(name: str, by_setting: dict[str, list[Result]], out: Path, images: int = 16) -> None:
    r"""Writes `<out>/<name>.md` (tables and margins) and `<out>/<name>.png` (PSNR against compute)."""
    spec = get_spec(name)
    lines = [
        f"# {name} ({spec.half} half)",
        "",
        f"{spec.pipeline} on a {spec.grid[0]}x{spec.grid[1]} token grid, data family `{spec.family}`, scheduler "
        f"`{json.dumps(spec.scheduler)}`, true CFG {spec.true_cfg_scale or 'off'}. PSNR (dB) against the full "
        f"computation, the mean over {images} images of each image's PSNR; compute in equivalent full steps. Reproduce "
        f"with `python -m benchmarks.zoo --models {name} --images {images} --report`.",
        "",
    ]
    for setting, results in by_setting.items():
        lines += [
            f"## {setting}",
            "",
            "| N | method | compute (steps) | PSNR | worst image | SSIM |",
            "|---|---|---|---|---|---|",
        ]
        for r in results:
            lines.append(
                f"| {r.interval} | {r.method} | {r.evaluations:.2f} | {r.psnr:.2f} | {r.psnr_min:.2f} | {r.ssim:.4f} |"
            )
        lines += [
            "",
            "Margin of the default over the best peer with at most one more step of compute (or, for peers that skip "
            "whole steps, one more full evaluation), whichever interval the peer was run for:",
            "",
        ]
        lines += [
            "| N | default PSNR | compute | best peer | its PSNR | its compute | margin |",
            "|---|---|---|---|---|---|---|",
        ]
        for interval, m in margins(results).items():
            if m["best_peer"] is None:
                continue
            lines.append(
                f"| {interval} | {m['psnr']:.2f} | {m['evaluations']:.2f} | {m['best_peer']} | "
                f"{m['best_peer_psnr']:.2f} | {m['best_peer_evaluations']:.2f} | {m['margin']:+.2f} |"
            )
        lines.append("")
    (out / f"{name}.md").write_text("\n".join(lines))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)", file=sys.stderr)
        return
    figure, axes = plt.subplots(1, len(by_setting), figsize=(5 * len(by_setting), 4), squeeze=False)
    for ax, (setting, results) in zip(axes[0], by_setting.items()):
        for family in sorted({r.family for r in results}):
            points = sorted((r.evaluations, r.psnr) for r in results if r.family == family)
            style = "-o" if family.startswith("FreqCa") else "--."
            ax.plot([p[0] for p in points], [p[1] for p in points], style, label=family)
        ax.set_title(f"{name}: {setting}")
        ax.set_xlabel("compute (equivalent full steps)")
        ax.set_ylabel("PSNR vs full computation (dB)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out / f"{name}.png", dpi=110)
    plt.close(figure)


def _count(margins_found: list[tuple[float, str]]) -> str:
    # "ahead by >= 0.5 dB in A of B, behind in C (worst ...)" for a list of (margin, where).
    ahead = sum(m >= 0.5 for m, _ in margins_found)
    behind = sum(m < 0 for m, _ in margins_found)
    margin, where = min(margins_found)
    return f"ahead by >= 0.5 dB in {ahead} of {len(margins_found)}, behind in {behind} (worst {margin:+.2f}, {where})"


def write_summary(out: Path, intervals: tuple[int, ...] = FULL_PEER_INTERVALS) -> str:
    r"""
    The cross-model verdict, from the stored `<out>/<model>.json` files: per model, setting and interval, the margin
    of the default and of the calibrated configuration over the best peer with at most one more equivalent step; the
    worst case per half; counts of the cells ahead and behind (text-to-image, image-to-image, calibrated, and the
    other intervals where peers were run for them); and the default against each peer family on its own. Writes
    `<out>/summary.md` and returns its text.
    """
    stored = {name: json.loads((out / f"{name}.json").read_text()) for name in ZOO if (out / f"{name}.json").is_file()}
    lines = [
        "| model (half) | setting | N | default: compute, PSNR | best peer within +1 step | margin | calibrated margin |",
        "|---|---|---|---|---|---|---|",
    ]
    worst: dict[str, list[tuple[float, str]]] = {}
    groups: dict[str, list[tuple[float, str]]] = {"text-to-image": [], "image-to-image": [], "calibrated": []}
    other: list[tuple[float, str]] = []
    other_taylorseer: list[tuple[float, str]] = []
    calibrated_change: list[tuple[float, str]] = []
    by_peer: dict[str, list[tuple[float, str]]] = {peer: [] for peer in PEER_FAMILIES}
    for name, settings in stored.items():
        half = get_spec(name).half
        for setting, rows in settings.items():
            results = [Result(**r) for r in rows]
            default, calibrated = margins(results), margins(results, "FreqCa calibrated")
            per_peer = {peer: margins(results, peer_family=peer) for peer in PEER_FAMILIES}
            for interval, m in default.items():
                where = f"{name} {setting} N={interval}"
                if m["best_peer"] is None:
                    continue
                if interval not in intervals:
                    if any(r.interval == interval and not r.family.startswith("FreqCa") for r in results):
                        other.append((m["margin"], where))
                        found = per_peer["TaylorSeer"].get(interval)
                        if found and found["margin"] is not None:
                            other_taylorseer.append((found["margin"], where))
                    continue
                c = calibrated.get(interval)
                c_text = f"{c['margin']:+.2f}" if c and c["margin"] is not None else "-"
                lines.append(
                    f"| {name} ({half}) | {setting} | {interval} | {m['evaluations']:.2f}, {m['psnr']:.2f} | "
                    f"{m['best_peer']}: {m['best_peer_evaluations']:.2f}, {m['best_peer_psnr']:.2f} | "
                    f"{m['margin']:+.2f} | {c_text} |"
                )
                worst.setdefault(half, []).append((m["margin"], where))
                groups["image-to-image" if setting.startswith("i2i") else "text-to-image"].append((m["margin"], where))
                if c and c["margin"] is not None:
                    groups["calibrated"].append((c["margin"], where))
                    calibrated_change.append((c["psnr"] - m["psnr"], where))
                for peer, found in per_peer.items():
                    if found.get(interval) and found[interval]["margin"] is not None:
                        by_peer[peer].append((found[interval]["margin"], where))
    lines.append("")
    for half, cases in worst.items():
        margin, where = min(cases)
        lines.append(f"Worst case of the default, {half} half: {margin:+.2f} dB ({where}).")
    lines.append("")
    shown = ", ".join(str(n) for n in intervals)
    for label, cases in groups.items():
        if cases:
            who = "calibrated configuration" if label == "calibrated" else f"default, {label}"
            lines.append(f"Cells at N = {shown}, {who}: {_count(cases)}.")
    # Below by at least 0.005 dB: a rerun of the same config differs in the last digits.
    below = [(change, where) for change, where in calibrated_change if change < -0.005]
    if calibrated_change:
        text = (
            f"The calibrated configuration scores below the default in {len(below)} of {len(calibrated_change)} cells"
        )
        lines.append(text + (f" (down to {min(below)[0]:+.2f} dB, {min(below)[1]})." if below else "."))
    if other:
        lines.append(f"Cells at the other intervals with peers run for them, default: {_count(other)}.")
    if other_taylorseer:
        lines.append(f"The same cells against TaylorSeerCache on its own: {_count(other_taylorseer)}.")
    lines += [
        "",
        "Against each peer on its own (the same cells; a peer counts where one of its runs is in the window):",
        "",
        "| peer | cells | default ahead by >= 0.5 dB | default behind | worst margin |",
        "|---|---|---|---|---|",
    ]
    for peer, found in by_peer.items():
        if found:
            margin, where = min(found)
            ahead = sum(m >= 0.5 for m, _ in found)
            behind = sum(m < 0 for m, _ in found)
            lines.append(f"| {peer} | {len(found)} | {ahead} | {behind} | {margin:+.2f} ({where}) |")
    text = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(text)
    return text


def compare_default(old: dict[str, list[dict]], new: dict[str, list[dict]]) -> list[dict]:
    r"""
    The default's (`"FreqCa"` rows') PSNR change between two stored results of one model, per setting and interval.

    Args:
        old (`dict`), new (`dict`): `<model>.json` contents (setting -> rows), e.g. before and after a change.

    Returns:
        `list[dict]`: one entry per (setting, interval) present in both: `setting`, `interval`, `old_evaluations`,
        `new_evaluations` (block-stack evaluations), `old_psnr`, `new_psnr`, `change` (dB).

    Example:
        ```python
        >>> compare_default(old, new)[0]
        {'setting': 't2i-50', 'interval': 3, 'old_evaluations': 18, 'new_evaluations': 17, ..., 'change': -2.95}
        ```
    """
    changes = []
    for setting, rows in new.items():
        before = {r["interval"]: r for r in old.get(setting, []) if r["family"] == "FreqCa"}
        for row in sorted((r for r in rows if r["family"] == "FreqCa"), key=lambda r: r["interval"]):
            if row["interval"] not in before:
                continue
            was = before[row["interval"]]
            changes.append(
                {
                    "setting": setting,
                    "interval": row["interval"],
                    "old_evaluations": was["block_stack_evaluations"],
                    "new_evaluations": row["block_stack_evaluations"],
                    "old_psnr": was["psnr"],
                    "new_psnr": row["psnr"],
                    "change": row["psnr"] - was["psnr"],
                }
            )
    return changes


def format_comparison(by_model: dict[str, list[dict]], revision: str) -> str:
    r"""The Markdown table of [`compare_default`] for several models, with counts split by unchanged / changed
    evaluation counts."""
    lines = [
        f"The default's PSNR now against `{revision}` (block-stack evaluations then -> now):",
        "",
        "| model | setting | N | evaluations | PSNR then | PSNR now | change (dB) |",
        "|---|---|---|---|---|---|---|",
    ]
    same, fewer_or_more = [], []
    for name, changes in by_model.items():
        for c in changes:
            lines.append(
                f"| {name} | {c['setting']} | {c['interval']} | {c['old_evaluations']} -> {c['new_evaluations']} | "
                f"{c['old_psnr']:.2f} | {c['new_psnr']:.2f} | {c['change']:+.2f} |"
            )
            (same if c["old_evaluations"] == c["new_evaluations"] else fewer_or_more).append(c)
    lines.append("")
    for label, group in (("same evaluations", same), ("other evaluations", fewer_or_more)):
        if not group:
            continue
        up = [c["change"] for c in group if c["change"] > 0]
        down = [c["change"] for c in group if c["change"] < 0]
        mean = sum(c["change"] for c in group) / len(group)
        text = f"{label}: {len(group)} cells, higher in {len(up)}"
        if up:
            text += f" (mean {sum(up) / len(up):+.2f} dB)"
        text += f", lower in {len(down)}"
        if down:
            text += f" (down to {min(down):+.2f} dB)"
        lines.append(text + f"; mean change {mean:+.2f} dB.")
    return "\n".join(lines)


def _stored_at(revision: str, path: Path) -> dict | None:
    # The results file as committed at `revision` (a path inside a git checkout); None when the revision exists but
    # the file did not yet (a model added to the zoo since).
    git = ["git", "-C", str(path.parent)]
    inside = subprocess.run([*git, "rev-parse", "--is-inside-work-tree"], capture_output=True, text=True)
    if inside.returncode != 0:
        raise ValueError(f"`git show {revision}:{path}` failed: {path.parent} is not in a git checkout.")
    known = subprocess.run([*git, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], capture_output=True)
    if known.returncode != 0:
        raise ValueError(f"`git show {revision}:{path}` failed: {revision!r} is not a commit of this checkout.")
    exists = subprocess.run([*git, "cat-file", "-e", f"{revision}:./{path.name}"], capture_output=True)
    if exists.returncode != 0:
        return None
    shown = subprocess.run([*git, "show", f"{revision}:./{path.name}"], capture_output=True, text=True)
    if shown.returncode != 0:
        raise ValueError(f"`git show {revision}:{path}` failed: {shown.stderr.strip()}")
    return json.loads(shown.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.zoo", description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--half", choices=("tune", "held-out", "all"), default="all")
    group.add_argument("--models", nargs="+", choices=sorted(ZOO))
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--intervals", nargs="+", type=int, default=list(INTERVALS))
    parser.add_argument(
        "--images",
        type=int,
        default=None,
        help="images per run (default: the count the stored results were measured with: 16 for flux-scenes-16, 8 for "
        "the others; a different count must not be merged with stored peers of another)",
    )
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--report", action="store_true", help="write the markdown table and the plot per model")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--no-calibrate", action="store_true", help="skip the calibrated FreqCa rows (the slowest part of a run)"
    )
    parser.add_argument(
        "--only",
        choices=("default", "calibrated"),
        help="re-measure only the default or only the calibrated FreqCa rows, keeping the stored peers",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="only write the per-model markdown and plot from the stored results (runs nothing)",
    )
    parser.add_argument(
        "--summary", action="store_true", help="only write <out>/summary.md from the stored results (runs nothing)"
    )
    parser.add_argument(
        "--compare-with",
        metavar="REVISION",
        help="only print the default's PSNR change per cell against the results committed at this git revision",
    )
    args = parser.parse_args(argv)
    if args.summary:
        print(write_summary(Path(args.out)))
        return 0
    if args.compare_with:
        out = Path(args.out)
        by_model, absent = {}, []
        for name in args.models or names(None if args.half == "all" else args.half):
            path = out / f"{name}.json"
            then = _stored_at(args.compare_with, path)
            if then is None or not path.is_file():
                absent.append(name)
                continue
            by_model[name] = compare_default(then, json.loads(path.read_text()))
        print(format_comparison(by_model, args.compare_with))
        if absent:
            print(f"Not stored both at {args.compare_with} and now (not compared): {', '.join(absent)}.")
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    models = args.models or names(None if args.half == "all" else args.half)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        for name in models:
            stored = json.loads((out / f"{name}.json").read_text())
            write_report(
                name, {s: [Result(**r) for r in rs] for s, rs in stored.items()}, out, images_for(name, args.images)
            )
        return 0
    for name in models:
        path = out / f"{name}.json"
        stored = json.loads(path.read_text()) if path.is_file() else {}
        for setting in args.settings:
            bench = ZooBench(name, setting, images_for(name, args.images))
            results = run_setting(
                bench,
                args.intervals,
                log=lambda line: print(line, flush=True),
                calibrated=not args.no_calibrate,
                only=args.only,
            )
            # Read again before writing: another run may have stored other settings of this model meanwhile.
            stored = json.loads(path.read_text()) if path.is_file() else {}
            stored[setting] = merge_results(stored.get(setting, []), results, args.intervals, args.only)
            path.write_text(json.dumps(stored, indent=1))
        if args.report:
            write_report(
                name, {s: [Result(**r) for r in rs] for s, rs in stored.items()}, out, images_for(name, args.images)
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
