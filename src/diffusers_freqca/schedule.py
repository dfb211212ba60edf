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
"""Which denoising steps run the transformer in full, and which are forecast."""

import functools

from .config import FreqCaConfig


def is_full_step(step: int, last_full_step: int | None, config: FreqCaConfig) -> bool:
    r"""
    Whether denoising step `step` must run the whole block stack.

    A step is full when it is in the warm-up (`step < disable_cache_before_step`), at or after
    `disable_cache_after_step`, listed in `full_compute_steps`, when no full step has been computed yet, or when
    `cache_interval` steps have passed since the last full step.

    Args:
        step (`int`): the step index, from 0.
        last_full_step (`int`, *optional*): the index of the most recent full step, `None` if there was none.
        config (`FreqCaConfig`): the schedule's settings.

    Example:
        ```python
        >>> config = FreqCaConfig(cache_interval=6, disable_cache_before_step=3)
        >>> [s for s in range(10) if is_full_step(s, None if s == 0 else max(f for f in (0, 1, 2, 8) if f < s), config)]
        [0, 1, 2, 8]
        ```
    """
    if step < config.disable_cache_before_step or last_full_step is None:
        return True
    if config.disable_cache_after_step is not None and step >= config.disable_cache_after_step:
        return True
    if config.full_compute_steps is not None and step in config.full_compute_steps:
        return True
    planned = planned_full_steps(config)
    if planned is not None and step <= planned[-1]:
        return step in planned
    return step - last_full_step >= config.cache_interval


def planned_full_steps(config: FreqCaConfig) -> tuple[int, ...] | None:
    r"""
    The full steps that `schedule_power` places over `num_inference_steps` steps, or `None` for the even schedule.

    The warm-up steps come first; the J full steps that the even schedule computes after them keep their number, and
    the k-th is moved to `disable_cache_before_step - 1 + round(J * cache_interval * (k / J) ** schedule_power)`, so
    the first and last of them stay where the even schedule has them when `schedule_power` is 1.

    Args:
        config (`FreqCaConfig`): the schedule's settings.

    Returns:
        `tuple[int, ...]` or `None`: the planned full steps (warm-up included), `None` when `schedule_power == 1`.

    Example:
        ```python
        >>> planned_full_steps(FreqCaConfig(cache_interval=6, schedule_power=1.5, num_inference_steps=50))
        (0, 1, 2, 4, 8, 14, 20, 27, 35, 44)
        ```
    """
    if config.schedule_power == 1.0:
        return None
    return _power_schedule(
        config.num_inference_steps, config.disable_cache_before_step, config.cache_interval, config.schedule_power
    )


@functools.lru_cache(maxsize=64)
def _power_schedule(num_steps: int, warmup: int, interval: int, power: float) -> tuple[int, ...]:
    # The even schedule's count after the warm-up: warm-up, then every `interval` steps while inside the trajectory.
    count = len(range(warmup - 1 + interval, num_steps, interval)) if num_steps > warmup else 0
    last = warmup - 1 + count * interval  # where the even schedule's last full step is
    steps = list(range(min(warmup, num_steps)))
    for k in range(1, count + 1):
        position = warmup - 1 + round(count * interval * (k / count) ** power)
        # Rounding bunches positions together where the schedule is dense (the start for powers above 1, the end
        # below 1): keep them distinct, leaving room for the ones still to come, so that the count stays the same.
        steps.append(min(max(position, steps[-1] + 1), last - (count - k)))
    return tuple(steps)


def full_steps(num_inference_steps: int, config: FreqCaConfig) -> list[int]:
    r"""
    The full steps of a run of `num_inference_steps` steps.

    Args:
        num_inference_steps (`int`): number of denoising steps (transformer calls per context).
        config (`FreqCaConfig`): the schedule's settings.

    Returns:
        `list[int]`: the indices of the full steps; their count is the number of transformer evaluations per context.

    Example:
        ```python
        >>> full_steps(50, FreqCaConfig(cache_interval=6))
        [0, 1, 2, 8, 14, 20, 26, 32, 38, 44]
        ```
    """
    if isinstance(num_inference_steps, bool) or not isinstance(num_inference_steps, int) or num_inference_steps < 0:
        raise ValueError(f"`num_inference_steps` must be a non-negative int, got {num_inference_steps!r}.")
    steps: list[int] = []
    for step in range(num_inference_steps):
        if is_full_step(step, steps[-1] if steps else None, config):
            steps.append(step)
    return steps
