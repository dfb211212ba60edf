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
"""Which denoising steps of a generation run the transformer in full, and which are forecast.

The schedule needs no step count: it depends only on the step's index within its generation (see
`diffusers_freqca.trajectory`) and the index of the last full step, so it is the same for 28 and 50 steps, for
img2img trajectories that start part-way, and for a transformer that takes over part-way.
"""

from .config import FreqCaConfig


def is_full_step(step: int, last_full_step: int | None, config: FreqCaConfig) -> bool:
    r"""
    Whether step `step` of a generation must run the whole block stack.

    A step is full when no full step has been computed yet, when it is a warm-up step (`0, warmup_stride, ...`,
    `disable_cache_before_step` of them), at or after `disable_cache_after_step`, when it is listed in
    `full_compute_steps`, or when enough steps have passed since the last full step: `first_interval` after the last
    warm-up step, `cache_interval` after any other. Steps between warm-up steps are forecast.

    Args:
        step (`int`): the step index within the generation, from 0.
        last_full_step (`int`, *optional*): the index of the most recent full step, `None` if there was none.
        config (`FreqCaConfig`): the schedule's settings.

    Returns:
        `bool`: whether the step is full.

    Example:
        ```python
        >>> config = FreqCaConfig(cache_interval=6)  # warm-up: steps 0 and 3; first_interval defaults to 3
        >>> [is_full_step(s, 0, config) for s in (1, 2, 3)]  # steps 1 and 2 are forecast from step 0
        [False, False, True]
        >>> [is_full_step(s, 3, config) for s in (5, 6)]  # the first full step comes 3 steps after the warm-up
        [False, True]
        >>> [is_full_step(s, 6, config) for s in (11, 12)]  # then one every 6 steps
        [False, True]
        ```
    """
    if last_full_step is None:
        return True
    if config.disable_cache_after_step is not None and step >= config.disable_cache_after_step:
        return True
    if config.full_compute_steps is not None and step in config.full_compute_steps:
        return True
    last_warmup = config.last_warmup_step
    if step <= last_warmup:
        return step % config.resolved_warmup_stride == 0
    interval = config.resolved_first_interval if last_full_step == last_warmup else config.cache_interval
    return step - last_full_step >= interval


def full_steps(num_inference_steps: int, config: FreqCaConfig) -> list[int]:
    r"""
    The full steps of a generation of `num_inference_steps` steps (transformer calls per cache context).

    Args:
        num_inference_steps (`int`): number of denoising steps (transformer calls per context).
        config (`FreqCaConfig`): the schedule's settings.

    Returns:
        `list[int]`: the indices of the full steps; their count is the number of transformer evaluations per context.

    Raises:
        `ValueError`: when `num_inference_steps` is not an int `>= 0`.

    Example:
        ```python
        >>> full_steps(50, FreqCaConfig(cache_interval=6))  # warm-up 0 and 3, then 3 steps, then every 6
        [0, 3, 6, 12, 18, 24, 30, 36, 42, 48]
        >>> full_steps(50, FreqCaConfig.from_preset("flux.1-dev", "paper"))  # 3 warm-up steps, an even schedule
        [0, 1, 2, 8, 14, 20, 26, 32, 38, 44]
        ```
    """
    if isinstance(num_inference_steps, bool) or not isinstance(num_inference_steps, int) or num_inference_steps < 0:
        raise ValueError(f"`num_inference_steps` must be an int >= 0, got {num_inference_steps!r}.")
    steps: list[int] = []
    for step in range(num_inference_steps):
        if is_full_step(step, steps[-1] if steps else None, config):
            steps.append(step)
    return steps
