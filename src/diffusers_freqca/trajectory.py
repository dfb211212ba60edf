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
"""The lifecycle of a cache context: which transformer calls belong to one generation (one denoising trajectory).

A *generation* of a cache context is the sequence of transformer calls of one denoising loop in that context. The
rules, in the order they apply (docs/troubleshooting.md states them for users):

1. A generation ends when diffusers resets stateful caches (`maybe_free_model_hooks()` at the end of every pipeline
   call, `_reset_stateful_cache()`), when a diffusers pipeline starts a denoising loop (FreqCa watches
   `DiffusionPipeline.progress_bar`, which every pipeline opens before its loop, so a call that ended in an exception
   cannot leak its state into the next one), and when the cache is enabled.
2. If the pipeline passes `CacheContext.step_index`, a call whose index is not larger than the previous call's starts
   a new generation.
3. Otherwise the timestep decides: along one trajectory timesteps move in one direction (down for almost every
   sampler, up for pipelines that pass `1000 - t` such as Mochi). A call whose timestep moves against the direction
   seen so far starts a new generation. Equal timesteps continue the generation: second-order samplers
   (`FlowMatchHeunDiscreteScheduler`) evaluate every timestep twice, and diffusers' own caches count two calls in one
   context as two steps.
4. Each call that continues a generation is its next step, whatever the timestep: the step count is per generation,
   so a transformer that takes over part-way (Wan 2.2's second expert, img2img) gets its own warm-up.

Calls outside any `cache_context` (FLUX.1-Kontext, img2img, inpaint and ControlNet pipelines enter none) get
automatic contexts: a call that receives the very same `hidden_states` tensor as the previous call is another branch
of the same step (true CFG without contexts) and goes to the next automatic context; any other call goes to the first.
"""

import math
import weakref
from dataclasses import dataclass

import torch


def read_time(timestep) -> float | None:
    r"""
    The noise level of one transformer call as a float, from the `timestep` argument in whatever shape it comes.

    Per-token timesteps (`WanImageToVideoPipeline(expand_timesteps=True)` gives the conditioning frame's tokens 0) and
    per-sample ones are reduced to their largest entry: the noisiest token tracks the trajectory, fixed entries do not.

    Args:
        timestep (`torch.Tensor`, `float`, `int` or `None`): the call's timestep, any shape.

    Returns:
        `float` or `None`: the largest entry; `None` when the call passed no timestep or an empty one.

    Raises:
        `ValueError`: when the timestep is not finite.

    Example:
        ```python
        >>> read_time(torch.tensor([[0.0, 0.7, 0.7]]))
        0.7
        ```
    """
    if timestep is None:
        return None
    if isinstance(timestep, torch.Tensor):
        if timestep.numel() == 0:
            return None
        # One scalar crosses to the host per call: the schedule and the lifecycle rules need it there.
        value = float(timestep.detach().max()) if timestep.numel() > 1 else float(timestep.detach().reshape(()))
    elif isinstance(timestep, (int, float)) and not isinstance(timestep, bool):
        value = float(timestep)
    else:
        return None
    if not math.isfinite(value):
        raise ValueError(
            f"FreqCa received a non-finite timestep ({value}); it cannot place this call on a trajectory."
        )
    return value


@dataclass
class Trajectory:
    r"""
    Where one cache context is in its current generation.

    Args:
        calls (`int`): calls made in this generation (the index of the next step).
        last_time (`float`, *optional*): the timestep of the previous call.
        direction (`int`): `-1` when timesteps decrease, `+1` when they increase, `0` while unknown.
        last_step_index (`int`, *optional*): the `CacheContext.step_index` of the previous call, if the pipeline passes
            one.
    """

    calls: int = 0
    last_time: float | None = None
    direction: int = 0
    last_step_index: int | None = None

    def starts_new_generation(self, time: float | None, step_index: int | None) -> bool:
        r"""
        Whether a call at `time` (and `step_index`, when the pipeline passes one) starts a new generation.

        Args:
            time (`float`, *optional*): the call's timestep from [`read_time`].
            step_index (`int`, *optional*): `CacheContext.step_index`.

        Returns:
            `bool`: `True` for the first call and for calls that go back (rules 2 and 3 of this module).
        """
        if self.calls == 0:
            return True
        if step_index is not None and self.last_step_index is not None:
            return step_index <= self.last_step_index
        if time is None or self.last_time is None or time == self.last_time:
            return False
        move = 1 if time > self.last_time else -1
        return self.direction != 0 and move != self.direction

    def advance(self, time: float | None, step_index: int | None) -> int:
        r"""
        Records a call of the current generation and returns its step (0 for the first call).

        Args:
            time (`float`, *optional*): the call's timestep.
            step_index (`int`, *optional*): `CacheContext.step_index`.

        Returns:
            `int`: the call's step within the generation.
        """
        if time is not None and self.last_time is not None and time != self.last_time and self.direction == 0:
            self.direction = 1 if time > self.last_time else -1
        step = self.calls
        self.calls += 1
        if time is not None:
            self.last_time = time
        self.last_step_index = step_index
        return step


class AutoContexts:
    r"""
    Names contexts for calls made outside any `cache_context`: the branches of one step (true CFG run as separate calls
    on the same latents) go to `freqca_auto_0`, `freqca_auto_1`, ...; the first call of each step to `freqca_auto_0`.

    A branch is recognised by receiving the same `hidden_states` tensor object as the previous call (pipelines build the
    model input once per step and pass it to both branches); only a weak reference is kept.

    Example:
        ```python
        >>> contexts = AutoContexts()
        >>> x = torch.zeros(1, 4, 8)
        >>> contexts.name_for(x), contexts.name_for(x), contexts.name_for(x + 1)
        ('freqca_auto_0', 'freqca_auto_1', 'freqca_auto_0')
        ```
    """

    PREFIX = "freqca_auto"

    def __init__(self):
        self._previous: weakref.ref | None = None
        self._index = 0

    def name_for(self, hidden_states: torch.Tensor) -> str:
        r"""
        The automatic context name of a call.

        Args:
            hidden_states (`torch.Tensor`): the `hidden_states` the transformer received.

        Returns:
            `str`: `"freqca_auto_<branch>"`.
        """
        previous = self._previous() if self._previous is not None else None
        self._index = self._index + 1 if previous is hidden_states else 0
        try:
            self._previous = weakref.ref(hidden_states)
        except TypeError:  # not weak-referenceable: every call is a new step
            self._previous = None
        return f"{self.PREFIX}_{self._index}"

    def reset(self) -> None:
        """Forgets the previous call."""
        self._previous = None
        self._index = 0
