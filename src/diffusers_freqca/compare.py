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
"""The same generation with and without FreqCa: evaluations counted, speed-up timed, quality measured.

`diffusers-freqca demo` and every example in `examples/` run this one comparison (`compare_configs` for several
configs at once, as the interval and cut-off sweep does). Wall-clock timings are noisy on a
shared machine (a run that another process slows down can make a single ratio read far above or below the truth),
so the runs are interleaved (without, with, with, without, ...) and the medians compared, and the *ideal* speed-up
(transformer evaluations without FreqCa / with it) is reported next to the measured one.
"""

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from .block_stack import count_evaluations
from .config import FreqCaConfig
from .hooks import FreqCaStats, get_freqca_stats
from .metrics import image_to_tensor, psnr, ssim


@dataclass
class Comparison:
    r"""
    What [`compare_with_and_without`] measured.

    Args:
        num_inference_steps (`int`): denoising steps of every timed run.
        repeats (`int`): timed runs of each kind, interleaved.
        images_freqca (`Any`): the pipeline's `images` from the last run with FreqCa (PIL images, or arrays /
            tensors with `output_type="np"` / `"pt"`).
        seconds_freqca (`list[float]`): wall-clock seconds of each run with FreqCa.
        evaluations_freqca (`int`): transformer calls in which the whole block stack ran, in one run with FreqCa.
        transformer_calls (`int`): transformer calls in one run (steps times cache contexts, e.g. 2 per step with
            true classifier-free guidance); without FreqCa every call evaluates the block stack.
        stats (`FreqCaStats`): `get_freqca_stats` after the last run with FreqCa.
        images_full (`Any`, *optional*): the images of the last run without FreqCa; `None` without a baseline.
        seconds_full (`list[float]`): seconds of each run without FreqCa (empty without a baseline).
        evaluations_full (`int`, *optional*): block-stack evaluations in one run without FreqCa.
        psnr (`float`, *optional*): PSNR (dB) of the FreqCa images against the full computation's, over the batch.
        ssim (`float`, *optional*): their mean SSIM (`None` for images smaller than 11 pixels).
    """

    num_inference_steps: int
    repeats: int
    images_freqca: Any
    seconds_freqca: list[float]
    evaluations_freqca: int
    transformer_calls: int
    stats: FreqCaStats
    images_full: Any = None
    seconds_full: list[float] = field(default_factory=list)
    evaluations_full: int | None = None
    psnr: float | None = None
    ssim: float | None = None

    @property
    def has_baseline(self) -> bool:
        """Whether the runs without FreqCa were made (speed-up and quality are known)."""
        return bool(self.seconds_full)

    @property
    def ideal_speedup(self) -> float:
        """Transformer evaluations without FreqCa / with it: the speed-up if nothing but the block stack cost time."""
        baseline = self.evaluations_full if self.evaluations_full is not None else self.transformer_calls
        return baseline / max(self.evaluations_freqca, 1)

    @property
    def speedup(self) -> float | None:
        """Median seconds without FreqCa / median seconds with it; `None` without a baseline."""
        if not self.has_baseline:
            return None
        return statistics.median(self.seconds_full) / statistics.median(self.seconds_freqca)


def _synchronize() -> None:
    # Wall-clock timings must include the queued GPU work, on every GPU (device maps spread a model over several).
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for index in range(torch.cuda.device_count()):
            torch.cuda.synchronize(index)


def _timed_call(pipe, inputs: dict[str, Any], seed: int) -> tuple[Any, float, dict[str, int]]:
    generator = torch.Generator("cpu").manual_seed(seed)
    _synchronize()
    start = time.perf_counter()
    with count_evaluations(pipe.transformer) as counts:
        images = pipe(**inputs, generator=generator).images
    _synchronize()
    return images, time.perf_counter() - start, counts


def _check_counts(num_inference_steps: int, repeats: int, warmup_steps: int) -> None:
    for name, value, minimum in (("num_inference_steps", num_inference_steps, 1), ("repeats", repeats, 1),
                                 ("warmup_steps", warmup_steps, 0)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"`{name}` must be an int >= {minimum}, got {value!r}.")


def compare_configs(
    pipe,
    inputs: dict[str, Any],
    configs: Sequence[FreqCaConfig],
    num_inference_steps: int,
    seed: int = 0,
    repeats: int = 3,
    baseline: bool = True,
    warmup_steps: int = 2,
) -> list[Comparison]:
    r"""
    Generates the same images without FreqCa and with each of several configs, and measures each config against the
    full computation.

    First an untimed warm-up call of `warmup_steps` steps without a cache (one-off costs: allocations, kernel
    selection, lazy imports), then `repeats` rounds of one run without FreqCa and one with each config. The order
    rotates from round to round (without, A, B; A, B, without; B, without, A; ...), so that a change of the machine's
    load hits every kind of run alike; each run's generator is seeded with `seed`, so all see the same noise. Every run
    counts the transformer calls and the full evaluations of the block stack (`block_stack.count_evaluations`).
    FreqCa is enabled with `pipe.transformer.enable_cache(config)` for its runs and disabled after each one, also on
    errors.

    Args:
        pipe (`DiffusionPipeline`):
            A pipeline with a `transformer` that accepts FreqCa (FLUX, FLUX.1-Kontext, Qwen-Image, ...), already
            placed on its device(s), without a cache enabled. CUDA work is synchronised before each clock reading.
        inputs (`dict[str, Any]`):
            The call arguments without `generator` and `num_inference_steps` (prompt or embeddings, size,
            `output_type`, ...).
        configs (`Sequence[FreqCaConfig]`):
            The FreqCa settings to compare, at least one.
        num_inference_steps (`int`):
            Denoising steps of every timed run.
        seed (`int`, defaults to `0`):
            Seed of every run's CPU generator.
        repeats (`int`, defaults to `3`):
            Timed runs of each kind. Speed-ups are ratios of medians; more repeats make them steadier on a busy
            machine.
        baseline (`bool`, defaults to `True`):
            Run without FreqCa too. Without a baseline neither the measured speed-up nor the quality is known (the
            ideal speed-up still is).
        warmup_steps (`int`, defaults to `2`):
            Steps of the untimed warm-up call; `0` skips it.

    Returns:
        `list[Comparison]`: one per config, in order; they share the runs without FreqCa.

    Raises:
        `ValueError`: for an empty `configs`, `num_inference_steps < 1`, `repeats < 1` or `warmup_steps < 0`.

    Example:
        ```python
        >>> configs = [FreqCaConfig.from_preset("flux.1-dev", setting) for setting in ("balanced", "paper")]
        >>> balanced, paper = compare_configs(pipe, pipeline_inputs(pipe), configs, num_inference_steps=20)
        >>> balanced.psnr > paper.psnr
        True
        ```
    """
    configs = list(configs)
    if not configs:
        raise ValueError("`configs` must hold at least one FreqCaConfig.")
    _check_counts(num_inference_steps, repeats, warmup_steps)
    transformer = pipe.transformer
    run_inputs = {**inputs, "num_inference_steps": num_inference_steps}
    if warmup_steps:
        _timed_call(pipe, {**inputs, "num_inference_steps": warmup_steps}, seed)

    # One record per kind of run: index 0 without FreqCa, then one per config.
    records: list[dict[str, Any]] = [{"seconds": []} for _ in range(len(configs) + 1)]

    def run(kind: int) -> None:
        record = records[kind]
        if kind == 0:
            record["images"], seconds, record["counts"] = _timed_call(pipe, run_inputs, seed)
        else:
            transformer.enable_cache(configs[kind - 1])
            try:
                record["images"], seconds, record["counts"] = _timed_call(pipe, run_inputs, seed)
                record["stats"] = get_freqca_stats(transformer)
            finally:
                transformer.disable_cache()
        record["seconds"].append(seconds)

    kinds = list(range(len(records))) if baseline else list(range(1, len(records)))
    for repeat in range(repeats):
        shift = repeat % len(kinds)
        for kind in kinds[shift:] + kinds[:shift]:
            run(kind)

    full = records[0]
    reference = image_to_tensor(full["images"]) if baseline else None
    results = []
    for record in records[1:]:
        result = Comparison(
            num_inference_steps=num_inference_steps,
            repeats=repeats,
            images_freqca=record["images"],
            seconds_freqca=record["seconds"],
            evaluations_freqca=record["counts"]["last_block"],
            transformer_calls=record["counts"]["calls"],
            stats=record["stats"],
        )
        if baseline:
            result.images_full, result.seconds_full = full["images"], full["seconds"]
            result.evaluations_full = full["counts"]["last_block"]
            images = image_to_tensor(record["images"])
            result.psnr = psnr(images, reference)
            result.ssim = ssim(images, reference) if min(images.shape[-2:]) >= 11 else None
        results.append(result)
    return results


def compare_with_and_without(
    pipe,
    inputs: dict[str, Any],
    config: FreqCaConfig,
    num_inference_steps: int,
    seed: int = 0,
    repeats: int = 3,
    baseline: bool = True,
    warmup_steps: int = 2,
) -> Comparison:
    r"""
    Generates the same images without and with FreqCa and measures the difference: [`compare_configs`] with one
    config.

    An untimed warm-up call, then `repeats` rounds of one run without FreqCa and one with it, in alternating order
    (without, with; with, without; ...), each with a generator seeded with `seed`.

    Args:
        pipe (`DiffusionPipeline`):
            A pipeline with a `transformer` that accepts FreqCa, already placed on its device(s).
        inputs (`dict[str, Any]`):
            The call arguments without `generator` and `num_inference_steps`.
        config (`FreqCaConfig`):
            The FreqCa settings.
        num_inference_steps (`int`):
            Denoising steps of every timed run.
        seed (`int`, defaults to `0`):
            Seed of every run's CPU generator.
        repeats (`int`, defaults to `3`):
            Timed runs of each kind; the speed-up is the ratio of their medians.
        baseline (`bool`, defaults to `True`):
            Run without FreqCa too (needed for the measured speed-up and the quality).
        warmup_steps (`int`, defaults to `2`):
            Steps of the untimed warm-up call; `0` skips it.

    Returns:
        [`Comparison`]: images, timings, evaluation counts, FreqCa's statistics and, with a baseline, PSNR and SSIM
        of the FreqCa images against the full computation.

    Raises:
        `ValueError`: for `num_inference_steps < 1`, `repeats < 1` or `warmup_steps < 0`.

    Example:
        ```python
        >>> from diffusers_freqca import FreqCaConfig
        >>> from diffusers_freqca.compare import compare_with_and_without, format_comparison
        >>> from diffusers_freqca.tiny_flux import load_tiny_flux_pipeline, pipeline_inputs

        >>> pipe = load_tiny_flux_pipeline()
        >>> config = FreqCaConfig.from_preset("flux.1-dev", "balanced")
        >>> result = compare_with_and_without(pipe, pipeline_inputs(pipe), config, num_inference_steps=20)
        >>> print(format_comparison(result))
        ```
    """
    (result,) = compare_configs(pipe, inputs, [config], num_inference_steps, seed, repeats, baseline, warmup_steps)
    return result


def format_stats(stats: FreqCaStats) -> list[str]:
    r"""
    One line per cache context of FreqCa's statistics: computed and predicted steps, which steps were computed, the
    cache size and the restarts.

    Args:
        stats (`FreqCaStats`): from `get_freqca_stats`.

    Returns:
        `list[str]`: the lines, e.g. `"FreqCa context 'cond': 10 computed + 40 predicted steps, full steps [0, 3, 6,
        12, ...], cache 0.25 MiB, restarts 0"` (the demo's tiny model, 8 images of 64x64, `FreqCaConfig()`).

    Example:
        ```python
        >>> print("\n".join(format_stats(get_freqca_stats(pipe.transformer))))
        ```
    """
    return [
        f"FreqCa context {name!r}: {context.computed_steps} computed + {context.predicted_steps} predicted steps, "
        f"full steps {context.full_steps}, cache {context.cache_bytes / 2**20:.2f} MiB, restarts {context.restarts}"
        for name, context in stats.contexts.items()
    ]


def format_comparison(result: Comparison) -> str:
    r"""
    The comparison as text: evaluations and median wall time with and without FreqCa, the measured speed-up beside
    the ideal one, quality against the full computation, and FreqCa's statistics per cache context.

    Args:
        result (`Comparison`): from [`compare_with_and_without`].

    Returns:
        `str`: several lines, without a final newline.

    Example:
        ```python
        >>> print(format_comparison(compare_with_and_without(pipe, inputs, config, num_inference_steps=50)))
                                 without FreqCa      FreqCa
        block-stack evaluations              50          10
        wall time (s, median of 3)         9.12        1.95
        speed-up 4.68x measured, 5.00x ideal (50 / 10 block-stack evaluations)
        ...
        ```
    """
    timing = f"wall time (s, median of {result.repeats})"
    width = max(len(timing), len("block-stack evaluations")) + 2
    evaluations_full = result.evaluations_full if result.evaluations_full is not None else result.transformer_calls
    seconds_freqca = statistics.median(result.seconds_freqca)
    if result.has_baseline:
        seconds_full = f"{statistics.median(result.seconds_full):>16.2f}"
    else:
        seconds_full = f"{'not run':>16}"
    ideal = (
        f"{result.ideal_speedup:.2f}x ideal ({evaluations_full} / {result.evaluations_freqca} block-stack evaluations)"
    )
    lines = [
        f"{'':<{width}}{'without FreqCa':>16}{'FreqCa':>12}",
        f"{'block-stack evaluations':<{width}}{evaluations_full:>16}{result.evaluations_freqca:>12}",
        f"{timing:<{width}}{seconds_full}{seconds_freqca:>12.2f}",
    ]
    if result.has_baseline:
        lines.append(f"speed-up {result.speedup:.2f}x measured, {ideal}")
        quality = f"quality against the full computation: PSNR {result.psnr:.2f} dB"
        lines.append(quality + (f", SSIM {result.ssim:.4f}" if result.ssim is not None else ""))
    else:
        lines.append(f"speed-up not measured (no run without FreqCa); {ideal}")
    lines.extend(format_stats(result.stats))
    return "\n".join(lines)


__all__ = ["Comparison", "compare_configs", "compare_with_and_without", "format_comparison", "format_stats"]
