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
"""FreqCa as diffusers hooks: per-context state, one decision per transformer call, hooks on the model, blocks and head.

Layout of a FreqCa'd transformer:

- a forward pre-hook on the transformer (a plain torch hook, which survives accelerate's forward replacement under
  model CPU offload) reads each call (token grid, timestep, model input), finds its cache context and decides: full
  step or predicted step (`FreqCaRuntime.begin_call`);
- a hook on every block of the block stack runs the block on full steps and returns its inputs untouched on
  predicted steps (the first block's hook is the stateful one diffusers sets cache contexts and resets on);
- what is cached and forecast depends on `FreqCaConfig.forecast_target`:
    - `"model_output"` (the default): a forward hook on the transformer (`FreqCaRuntime.end_call`) records the
      transformer's output on full steps; on predicted steps a hook on the transformer itself (`FreqCaModelHook`)
      returns the forecast without running the forward (see `forecast.OutputForecaster` for the velocity and
      noise forms), or, when the call asks for another output packing than the last full step's (or passes
      positional arguments), the forward runs with every block skipped and the forward hook replaces its output;
      the head hook passes its input through;
    - `"crf"` (the paper): the hook on the output head records the head's input, the Cumulative Residual Feature, on
      full steps and replaces it by the forecast on predicted steps, so the head runs with the current step's
      conditioning; the forward hook does nothing.
"""

import dataclasses
from dataclasses import dataclass, field

import torch
from diffusers.hooks import HookRegistry, ModelHook
from diffusers.hooks._helpers import TransformerBlockMetadata
from diffusers.hooks.hooks import BaseState, CacheContext, StateManager
from diffusers.utils import get_logger
from diffusers.utils.torch_utils import unwrap_module

from .band_split import BandSplitter, TokenLayout
from .block_stack import BLOCK_LIST_NAMES, find_block_stack
from .config import FreqCaConfig
from .families import block_metadata, check_supported, family_for, head_module
from .forecast import BandForecaster, OutputForecaster, forecast_position
from .hook_order import move_to_top, reinstall_on_top, remove_top_hook, restore_new_forward
from .parallel import ContextParallelGroup, low_pass_shard
from .schedule import is_full_step
from .token_grid import CallInputReader, CallInputs, HeadBandSplitter
from .trajectory import AutoContexts, Trajectory


logger = get_logger(__name__)  # pylint: disable=invalid-name

_FREQCA_LEADER_BLOCK_HOOK = "freqca_leader_block_hook"
_FREQCA_BLOCK_HOOK = "freqca_block_hook"
_FREQCA_HEAD_HOOK = "freqca_head_hook"
_FREQCA_MODEL_HOOK = "freqca_model_hook"
_FREQCA_HOOK_NAMES = (_FREQCA_LEADER_BLOCK_HOOK, _FREQCA_BLOCK_HOOK, _FREQCA_HEAD_HOOK, _FREQCA_MODEL_HOOK)


@dataclass
class FreqCaContextStats:
    r"""
    What FreqCa did in the most recent generation of one cache context.

    Args:
        computed_steps (`int`): steps on which the block stack ran.
        predicted_steps (`int`): steps on which the block stack was skipped and the cached feature (the model output
            or the block-stack output, `FreqCaConfig.forecast_target`) forecast.
        full_steps (`list[int]`): the indices (within the generation) of the computed steps.
        cache_bytes (`int`): the largest number of bytes the context's cache held in this process. Under context
            parallelism, with `forecast_target="crf"` each rank caches only its shard of the image tokens, so this is
            one rank's cache: about `1 / degree` of a single-process run's; the model output is whole on every rank,
            and so is its cache.
        restarts (`int`): how often an input change (shape, dtype, device, token grid) forced a restart.
        gathered_bytes (`int`): under context parallelism with a band split, the bytes this rank received from the
            other ranks to low-pass each image's whole grid (full steps only); `0` otherwise.
        output_forms (`dict[str, int]`): with `forecast_target="model_output"`, how many predicted steps each form
            of the output forecast (`"velocity"`, `"noise"`, see `FreqCaConfig.output_form`) produced.
    """

    computed_steps: int = 0
    predicted_steps: int = 0
    full_steps: list[int] = field(default_factory=list)
    cache_bytes: int = 0
    restarts: int = 0
    gathered_bytes: int = 0
    output_forms: dict[str, int] = field(default_factory=dict)


@dataclass
class FreqCaStats:
    r"""
    Statistics of a module with FreqCa applied, from [`get_freqca_stats`]: the most recent call (pipeline call or
    denoising loop) and the totals since FreqCa was applied.

    Args:
        contexts (`dict[str, FreqCaContextStats]`): per cache context of the most recent call (`"cond"`, `"uncond"`,
            or `"freqca_auto_0"`, ... for pipelines that set no cache context), its generation.
        total_computed_steps (`int`): computed steps over the module's lifetime with FreqCa.
        total_predicted_steps (`int`): predicted steps over the same lifetime.
        context_parallel_degree (`int`, defaults to `1`): the number of ranks that shared each image's tokens in the
            most recent call (diffusers' context parallelism, `ring_degree * ulysses_degree`); `1` without it. The
            byte counts are this rank's.
        context_parallel_rank (`int`, defaults to `0`): this rank's index among them (its shard's index).

    Example:
        ```python
        >>> stats = get_freqca_stats(pipe.transformer)
        >>> stats.computed_steps, stats.predicted_steps  # the most recent call, all contexts together
        (10, 40)
        ```
    """

    contexts: dict[str, FreqCaContextStats]
    total_computed_steps: int
    total_predicted_steps: int
    context_parallel_degree: int = 1
    context_parallel_rank: int = 0

    @property
    def computed_steps(self) -> int:
        """Computed steps of the most recent call, over all its contexts."""
        return sum(stats.computed_steps for stats in self.contexts.values())

    @property
    def predicted_steps(self) -> int:
        """Predicted steps of the most recent call, over all its contexts."""
        return sum(stats.predicted_steps for stats in self.contexts.values())

    @property
    def cache_bytes(self) -> int:
        """The largest cache held by each context of the most recent call, summed over the contexts (bytes, this
        rank's under context parallelism)."""
        return sum(stats.cache_bytes for stats in self.contexts.values())

    def __str__(self) -> str:
        lines = [
            f"FreqCa, most recent call: {self.computed_steps} computed + {self.predicted_steps} predicted steps, "
            f"cache {self.cache_bytes / 2**20:.2f} MiB"
        ]
        if self.context_parallel_degree > 1:
            lines[0] += f" on rank {self.context_parallel_rank} of {self.context_parallel_degree} (context parallel)"
        for name, stats in self.contexts.items():
            lines.append(
                f"  {name}: {stats.computed_steps} computed + {stats.predicted_steps} predicted, full steps "
                f"{stats.full_steps}, restarts {stats.restarts}"
                + (f", output forecast in the {' / '.join(stats.output_forms)} form" if stats.output_forms else "")
            )
        return "\n".join(lines)


class FreqCaState(BaseState):
    r"""
    The state of one cache context: its generation (see `diffusers_freqca.trajectory`), the forecaster of what it
    caches (the block-stack output, or the model output: `FreqCaConfig.forecast_target`), and what the current call
    decided.

    Args:
        config (`FreqCaConfig`): the settings.
        splitter (`BandSplitter`, *optional*): the band split, `None` when no split is needed.
        flow_velocity (`bool`, defaults to `False`): whether the model's output is a flow-matching velocity (its
            family's `flow_velocity`), for `output_form="auto"`.
    """

    def __init__(self, config: FreqCaConfig, splitter: BandSplitter | None, flow_velocity: bool = False):
        super().__init__()
        self.config = config
        self.splitter = splitter
        if config.forecast_target == "model_output":
            self.forecaster = OutputForecaster(config, flow_velocity)
        else:
            self.forecaster = BandForecaster.from_config(config, self._low_pass if splitter is not None else None)
        self.reset()

    def _low_pass(self, x: torch.Tensor) -> torch.Tensor:
        if self.parallel is None:
            return self.splitter.low_pass(x, self.layout)
        # Context parallelism: `x` is this rank's shard; the split needs each image's whole grid (see `parallel`).
        low, received = low_pass_shard(self.splitter, x, self.layout, self.parallel)
        self.stats.gathered_bytes += received
        return low

    def reset(self) -> None:
        self.trajectory = Trajectory()
        self.forecaster.reset()
        self.stats: FreqCaContextStats | None = None
        self.signature = None
        self.layout: TokenLayout | None = None
        self.parallel: ContextParallelGroup | None = None
        self.step = -1
        self.last_full_step: int | None = None
        # Full steps still needed before forecasting again after a restart.
        self.refill = 0
        # The axis of this generation: noise levels of the stored points (most recent first) and whether the
        # generation forecasts along step indices instead (no timestep, or repeated timesteps).
        self.noise_levels: list[float | None] = []
        self.on_steps = False
        self.noise: float | None = None
        self.position = 0.0
        self.should_compute = True
        self.stack_input: torch.Tensor | None = None
        # The transformer's input latents and noise level of the current call (`forecast_target="model_output"`).
        self.model_input: torch.Tensor | None = None
        self.output_sigma: float | None = None
        # How the last full step's output was packed (`_OutputPacking`), so that a predicted step can return the
        # forecast without running the forward; `None` when it cannot be rebuilt. `returned_forecast`: the current
        # call's output is the forecast already.
        self.output_packing: _OutputPacking | None = None
        self.returned_forecast = False


class _FreqCaStateManager(StateManager):
    # diffusers' StateManager requires a cache context. Pipelines such as FluxKontextPipeline enter none, so FreqCa
    # falls back to automatic context names; this subclass exposes the (possibly absent) context for that.
    def current_context(self) -> CacheContext | None:
        return self._context

    def get_state_for(self, name: str) -> FreqCaState:
        if name not in self._state_cache:
            self._state_cache[name] = self._state_cls(*self._init_args, **self._init_kwargs)
        return self._state_cache[name]

    def states(self) -> dict[str, FreqCaState]:
        return self._state_cache


class FreqCaRuntime:
    r"""
    What all FreqCa hooks of one transformer share: the config, the input reader, the per-context states, the
    statistics, and the decision of each call.

    Args:
        module (`torch.nn.Module`): the transformer FreqCa is applied to.
        config (`FreqCaConfig`): the settings.
    """

    def __init__(self, module: torch.nn.Module, config: FreqCaConfig):
        self.config = config
        self.module = module
        self.family = family_for(type(module).__name__)
        self.reader = CallInputReader(module)
        splitter = (
            HeadBandSplitter.from_config(config, self.family, type(module).__name__) if config.splits_bands else None
        )
        self.state_manager = _FreqCaStateManager(FreqCaState, (config, splitter, self.family.flow_velocity), {})
        self.auto_contexts = AutoContexts()
        self.timestep_scale = self.family.timestep_scale
        # Statistics of the most recent call; a new call starts when a context starts its second generation.
        self.stats: dict[str, FreqCaContextStats] = {}
        self.total_computed_steps = 0
        self.total_predicted_steps = 0
        self.hooked: list[tuple[torch.nn.Module, str, ModelHook]] = []
        self.model_hook: ModelHook | None = None
        # `module.forward` as installed with the model hook (`hook_order.remove_top_hook`).
        self.model_forward = None
        self.pre_hook_handle = None
        self.post_hook_handle = None
        self.current: FreqCaState | None = None
        self._new_call = True
        self._warned: set[str] = set()
        # The context-parallel group of the current call (`None` without context parallelism), read at every call:
        # `enable_parallelism` may come before or after FreqCa.
        self.parallel: ContextParallelGroup | None = None

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.warning(message)

    # ------------------------------------------------------------------------------------------------ lifecycle

    def _report_finished(self) -> None:
        # A generation that skipped nothing is said once, never silently: also a run no longer than the warm-up, the
        # case the message explains first.
        for name, stats in self.stats.items():
            if stats.computed_steps > 0 and stats.predicted_steps == 0:
                self._warn_once(
                    "nothing-skipped",
                    f"FreqCa computed all {stats.computed_steps} steps of cache context {name!r}: nothing was "
                    "skipped. Every step was a warm-up or scheduled full step: a run needs more steps (with the "
                    "default warm-up on steps 0 and 3, at least 2; with `warmup_stride=1`, more than "
                    "`disable_cache_before_step`) and a `cache_interval` above 1; see the lifecycle rules in "
                    "docs/troubleshooting.md.",
                )

    def reset(self, report: bool = True) -> None:
        r"""
        Ends every context's generation (end of a pipeline call, a new denoising loop, `_reset_stateful_cache`).

        Args:
            report (`bool`, defaults to `True`): warn (once) if the generations that end skipped nothing. The start of
                a denoising loop passes `False`: a call that ended normally was reported at its end, and one that
                ended in an exception did not run its course.
        """
        if report:
            self._report_finished()
        self.state_manager.reset()
        self.auto_contexts.reset()
        self.current = None
        self._new_call = True

    def _start_generation(self, name: str, state: FreqCaState) -> None:
        if self._new_call or name in self.stats:
            # The first generation after a reset, or a second generation of a context without one in between: a new
            # call. Statistics describe the most recent call only. A reset has already reported the call before it
            # (or, at the start of a denoising loop, deliberately not: that call was aborted).
            if not self._new_call:
                self._report_finished()
            self.stats = {}
            self._new_call = False
        state.reset()
        state.stats = self.stats[name] = FreqCaContextStats()

    # ------------------------------------------------------------------------------------------------ decisions

    def _context(self, call: CallInputs) -> tuple[str, CacheContext | None]:
        context = self.state_manager.current_context()
        if context is not None:
            return context.name, context
        if call.hidden_states is None:
            return f"{AutoContexts.PREFIX}_0", None
        return self.auto_contexts.name_for(call.hidden_states), None

    def _noise_level(self, call: CallInputs, context: CacheContext | None) -> float | None:
        if context is not None and context.sigma is not None:
            return float(context.sigma)
        if call.time is None:
            return None
        if self.timestep_scale is None:
            # Pipelines pass either sigma (t / 1000, FLUX, Qwen-Image) or t in [0, 1000]; the first call tells which.
            self.timestep_scale = 1.0 if call.time <= 1.5 else 1e-3
        return min(max(call.time * self.timestep_scale, 0.0), 1.0)

    def _signature(self, call: CallInputs, layout: TokenLayout | None):
        x = call.hidden_states
        if x is None:
            return (None, layout, self.parallel)
        return (tuple(x.shape), x.dtype, x.device, layout, self.parallel)

    def _layout(self, call: CallInputs) -> TokenLayout | None:
        # The reader describes the tokens the output head sees (the family table says how); the splitter lines that
        # up with the head's input (`token_grid.HeadBandSplitter`). Without a layout it splits the head's input in 1-D.
        if not self.config.splits_bands:
            return None
        if call.layout is not None:
            return call.layout
        seq_len = call.hidden_states.shape[1] if call.hidden_states is not None and call.hidden_states.ndim == 3 else 0
        reason = f"{self.reader.class_name}'s forward call does not describe its image token grid"
        if self.config.grid_fallback == "error":
            raise ValueError(f"FreqCa cannot split frequency bands: {reason}, and `grid_fallback='error'`.")
        self._warn_once(
            f"fallback-{seq_len}",
            f"FreqCa: {reason}; splitting bands over the token sequence in 1-D instead (`grid_fallback='sequence'`).",
        )
        return TokenLayout.sequence(seq_len) if seq_len else None

    def _position(self, state: FreqCaState, step: int, noise: float | None) -> float:
        if self.config.spacing == "step" or state.on_steps or noise is None:
            return float(step)
        # Along a trajectory whose timesteps increase (Mochi passes 1000 - t), the noise level is 1 - sigma.
        level = 1.0 - noise if state.trajectory.direction > 0 else noise
        return forecast_position(self.config.spacing, step, level)

    def _place(self, state: FreqCaState, step: int, noise: float | None, repeated: bool) -> None:
        # Repeated timesteps (second-order samplers) or a missing timestep put the generation on step indices; a
        # direction that turns out to be increasing flips the noise level. Both re-time the stored points.
        if self.config.spacing != "step" and not state.on_steps and (repeated or noise is None):
            state.on_steps = True
            if state.forecaster.num_updates:
                state.forecaster.retime([float(s) for s in state.forecaster.steps])
        elif self.config.spacing != "step" and not state.on_steps and state.forecaster.num_updates:
            times = [self._position(state, s, n) for s, n in zip(state.forecaster.steps, state.noise_levels)]
            if times != state.forecaster.times:
                state.forecaster.retime(times)
        state.position = self._position(state, step, noise)
        if state.forecaster.num_updates and state.position <= state.forecaster.times[0]:
            # The axis does not advance (e.g. a sampler that goes back in noise level): fall back to steps.
            state.on_steps = True
            state.forecaster.retime([float(s) for s in state.forecaster.steps])
            state.position = float(step)

    def _wants_compute(self, state: FreqCaState, step: int) -> bool:
        # The decision rule of one context at `step`; `begin_call` and `will_compute` share it.
        return state.refill > 0 or is_full_step(step, state.last_full_step, self.config)

    @torch.compiler.disable
    def will_compute(self, time: float | None, hidden_states: torch.Tensor | None = None) -> bool:
        r"""
        Whether a transformer call at timestep `time` made next would run the block stack in any cache context with
        a generation in progress: what `begin_call` would decide for it, without changing any state. Modules that run
        before the transformer in a step and only feed its blocks (ControlNets, `diffusers_freqca.controlnet`) ask it.

        Args:
            time (`float`, *optional*): the timestep of the coming call, as the transformer will receive it.
            hidden_states (`torch.Tensor`, *optional*): the latents of the coming call; a change of shape, dtype or
                device restarts a context with a full step.

        Returns:
            `bool`: `False` only when every context with a generation in progress would predict the call.
        """
        states = [state for state in self.state_manager.states().values() if state.trajectory.calls > 0]
        if not states:
            return True
        for state in states:
            if state.trajectory.starts_new_generation(time, None):
                return True
            if hidden_states is not None and state.signature is not None and state.signature[0] is not None:
                if (tuple(hidden_states.shape), hidden_states.dtype, hidden_states.device) != state.signature[:3]:
                    return True
            if self._wants_compute(state, state.trajectory.calls):
                return True
        return False

    @torch.compiler.disable
    def begin_call(self, module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        r"""
        Runs before every forward of the transformer: finds the call's cache context and generation, restarts the
        context when its inputs changed, and decides whether the block stack runs.
        """
        self.parallel = ContextParallelGroup.from_module(module)
        call = self.reader.read(args, kwargs)
        name, context = self._context(call)
        step_index = context.step_index if context is not None else None
        state = self.state_manager.get_state_for(name)
        if state.trajectory.starts_new_generation(call.time, step_index):
            self._start_generation(name, state)
        layout = self._layout(call)
        signature = self._signature(call, layout)
        if state.signature is not None and signature != state.signature:
            # Never mix features of different shapes, dtypes, devices or grids: forget the cache and start over.
            logger.info(f"FreqCa: the inputs of context {name!r} changed; restarting with a full computation.")
            state.forecaster.reset()
            state.noise_levels = []
            state.last_full_step = None
            state.refill = min(self.config.disable_cache_before_step, self.config.forecast_order + 1)
            state.stats.restarts += 1
        state.signature, state.layout, state.parallel = signature, layout, self.parallel

        repeated = call.time is not None and call.time == state.trajectory.last_time
        state.step = state.trajectory.advance(call.time, step_index)
        noise = self._noise_level(call, context)
        self._place(state, state.step, noise, repeated)

        should_compute = self._wants_compute(state, state.step)
        if self.config.forecast_target == "model_output":
            # The noise level the output forecast's noise form needs: one that goes down along the generation.
            state.output_sigma = noise if state.trajectory.direction <= 0 else None
            if not should_compute and not state.forecaster.can_predict(call.hidden_states, state.output_sigma):
                # A step the forecast cannot serve (e.g. the noise form without a noise level) is computed instead.
                should_compute = True
        # Under context parallelism every rank must take the same decision (a rank that skips the blocks would leave
        # the others waiting in attention collectives): the group computes when any rank wants to.
        state.should_compute = should_compute if self.parallel is None else self.parallel.agree(should_compute)
        stats = state.stats
        if state.should_compute:
            state.refill = max(0, state.refill - 1)
            stats.computed_steps += 1
            stats.full_steps.append(state.step)
            self.total_computed_steps += 1
        else:
            stats.predicted_steps += 1
            self.total_predicted_steps += 1
        state.noise = noise
        state.stack_input = None
        state.model_input = call.hidden_states if self.config.forecast_target == "model_output" else None
        self.current = state
        self.ensure_outermost()

    def ensure_outermost(self) -> None:
        # A block hook registered after ours (group offloading, re-applied by LoRA loading) would run before our skip
        # decision and onload weights of blocks that are then skipped: move ours back on top (see `hook_order`).
        for module, name, hook in self.hooked:
            move_to_top(module, name, hook)
        # The hook on the transformer keeps its place (context-parallel split hooks may sit either side of it) but is
        # repaired when a removal below it bypassed it (LoRA loading under group offloading, stream tracing).
        if self.model_hook is not None:
            restore_new_forward(self.module, self.model_hook)
            self.model_hook.ran = False

    def check_model_hook(self) -> None:
        # After a call: if the hook on the transformer did not run, something replaced the transformer's forward
        # under it (accelerate's model CPU offload does after every pipeline call); wrap the live forward again.
        if self.model_hook is not None and not self.model_hook.ran:
            logger.debug("FreqCa: the transformer's forward was replaced under FreqCa's hook; re-installing it.")
            reinstall_on_top(self.module, _FREQCA_MODEL_HOOK, self.model_hook)
            self.model_forward = self.module.forward

    # ------------------------------------------------------------------------------------------------ features

    def record_stack_input(self, hidden_states: torch.Tensor) -> None:
        r"""Keeps the block stack's input of this call for `crf_form="residual"`."""
        if self.config.crf_form == "residual" and self.current is not None:
            self.current.stack_input = hidden_states

    def _residual_base(self, state: FreqCaState, like: torch.Tensor) -> torch.Tensor:
        stack_input = state.stack_input
        if stack_input is None or stack_input.shape != like.shape:
            raise ValueError(
                "`crf_form='residual'` needs the block stack's input to have the shape of the output head's input "
                f"({tuple(like.shape)}), got {None if stack_input is None else tuple(stack_input.shape)}; use "
                "`crf_form='hidden_states'` for this model."
            )
        return stack_input.to(device=like.device, dtype=like.dtype)

    @torch.compiler.disable
    def record(self, crf: torch.Tensor) -> None:
        r"""Records the output head's input of a full step (the Cumulative Residual Feature)."""
        state = self.current
        feature = crf - self._residual_base(state, crf) if self.config.crf_form == "residual" else crf
        state.forecaster.update(feature, time=state.position, step=state.step)
        self._recorded(state)
        state.stack_input = None

    @staticmethod
    def _recorded(state: FreqCaState) -> None:
        # Bookkeeping after a full step's feature entered the forecaster, whatever the target.
        state.noise_levels = [state.noise, *state.noise_levels][: state.forecaster.num_updates]
        state.last_full_step = state.step
        state.stats.cache_bytes = max(state.stats.cache_bytes, state.forecaster.nbytes)

    @torch.compiler.disable
    def end_call(self, module: torch.nn.Module, args: tuple, kwargs: dict, output):
        r"""
        Runs after every forward of the transformer (a torch forward hook). With `forecast_target="model_output"` it
        records the output of a full step and replaces the output of a predicted step by the forecast.
        """
        self.check_model_hook()
        state = self.current
        if state is None or self.config.forecast_target != "model_output":
            return None
        if state.returned_forecast:
            # `FreqCaModelHook` returned the forecast without running the forward.
            state.returned_forecast = False
            return None
        sample = _output_tensor(output)
        if sample is None:
            raise ValueError(
                f"FreqCa found no output tensor in {type(module).__name__}'s return value ({type(output).__name__}); "
                "use `forecast_target='crf'` for this model."
            )
        if state.should_compute:
            # The noise form of the output forecast needs the noise level of a trajectory that goes down in noise.
            state.forecaster.update(
                sample, time=state.position, step=state.step, x=state.model_input, sigma=state.output_sigma
            )
            state.model_input = None
            self._recorded(state)
            state.output_packing = _OutputPacking.of(output, sample, kwargs)
            return None
        return _replace_output(output, self._predicted_output(state, sample.shape, sample.dtype, sample.device))

    def _predicted_output(self, state: FreqCaState, shape, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        # The forecast model output of a predicted step, from the latents and noise level `begin_call` read.
        prediction = state.forecaster.predict(state.position, x=state.model_input, sigma=state.output_sigma)
        state.model_input = None
        forms = state.stats.output_forms
        forms[state.forecaster.form] = forms.get(state.forecaster.form, 0) + 1
        return self._matching(prediction, shape, dtype, device)

    @torch.compiler.disable
    def forecast_output(self, args: tuple, kwargs: dict):
        r"""
        The whole output of a predicted step with `forecast_target="model_output"`, packed as the last full step's
        output was, or `None` when the forward has to run (another target, a full step, a call that asks for another
        packing). Embeddings, positional encodings and the output head then do not run either.
        """
        state = self.current
        if state is None or self.config.forecast_target != "model_output" or state.should_compute:
            return None
        packing = state.output_packing
        if packing is None or args or packing.return_dict != kwargs.get("return_dict", True):
            return None
        sample = self._predicted_output(state, packing.shape, packing.dtype, packing.device)
        state.returned_forecast = True
        return packing.pack(sample)

    @torch.compiler.disable
    def forecast(self, like: torch.Tensor) -> torch.Tensor:
        r"""The forecast output-head input of a predicted step, on the device and in the dtype of `like`."""
        state = self.current
        prediction = self._matching(state.forecaster.predict(state.position), like.shape, like.dtype, like.device)
        if self.config.crf_form == "residual":
            prediction = prediction + self._residual_base(state, like)
        state.stack_input = None
        return prediction

    @staticmethod
    def _matching(prediction: torch.Tensor, shape, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        # A forecast replaces a tensor of this call: it must have its shape; it takes its device and dtype.
        if prediction.shape != shape:
            raise RuntimeError(
                f"FreqCa's forecast has shape {tuple(prediction.shape)} but the tensor it replaces has "
                f"{tuple(shape)}; this model changes that shape without its inputs doing so."
            )
        return prediction.to(device=device, dtype=dtype)


@dataclass
class _OutputPacking:
    # How a transformer packed its output: a bare tensor, a 1-tuple, or an output class whose only field is `sample`;
    # anything with more fields is never rebuilt (the other fields would be stale).
    kind: str
    output_class: type | None
    return_dict: bool | None
    shape: torch.Size
    dtype: torch.dtype
    device: torch.device

    @classmethod
    def of(cls, output, sample: torch.Tensor, kwargs: dict) -> "_OutputPacking | None":
        return_dict = kwargs.get("return_dict", True)
        if isinstance(output, torch.Tensor):
            kind, output_class = "tensor", None
        elif isinstance(output, tuple) and len(output) == 1:
            kind, output_class = "tuple", None
        elif (
            getattr(output, "sample", None) is sample and hasattr(output, "keys") and list(output.keys()) == ["sample"]
        ):
            kind, output_class = "class", type(output)
        else:
            return None
        return cls(kind, output_class, return_dict, sample.shape, sample.dtype, sample.device)

    def pack(self, sample: torch.Tensor):
        if self.kind == "tensor":
            return sample
        if self.kind == "tuple":
            return (sample,)
        return self.output_class(sample=sample)


def _output_tensor(output) -> torch.Tensor | None:
    # diffusers transformers return `(sample, ...)` or an output class whose first field is the sample.
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    sample = getattr(output, "sample", None)
    return sample if isinstance(sample, torch.Tensor) else None


def _replace_output(output, value: torch.Tensor):
    if isinstance(output, torch.Tensor):
        return value
    if isinstance(output, tuple):
        return (value, *output[1:])
    if isinstance(output, list):
        return [value, *output[1:]]
    output.sample = value
    return output


class FreqCaBlockHook(ModelHook):
    r"""
    Hook on one transformer block: the block runs on full steps; on predicted steps it returns its inputs untouched.
    The first block's hook (the leader) owns the per-context state: diffusers sets cache contexts and resets state
    through stateful hooks.

    Args:
        runtime (`FreqCaRuntime`): the shared state and logic.
        is_leader (`bool`): whether this is the stack's first block.
    """

    def __init__(self, runtime: FreqCaRuntime, is_leader: bool = False):
        super().__init__()
        self.runtime = runtime
        self.state_manager = runtime.state_manager
        self.is_leader = is_leader
        self._is_stateful = is_leader
        self._metadata: TransformerBlockMetadata | None = None

    def initialize_hook(self, module: torch.nn.Module) -> torch.nn.Module:
        self._metadata = block_metadata(unwrap_module(module))
        return module

    def reset_state(self, module: torch.nn.Module) -> torch.nn.Module:
        if self.is_leader:
            self.runtime.reset()
        return module

    def _passthrough(self, args: tuple, kwargs: dict, hidden_states: torch.Tensor):
        metadata = self._metadata
        if metadata.return_encoder_hidden_states_index is None:
            return hidden_states
        encoder_hidden_states = metadata._get_parameter_from_args_kwargs(
            metadata.encoder_hidden_states_argument_name, args, kwargs
        )
        output = [None, None]
        output[metadata.return_hidden_states_index] = hidden_states
        output[metadata.return_encoder_hidden_states_index] = encoder_hidden_states
        return tuple(output)

    def new_forward(self, module: torch.nn.Module, *args, **kwargs):
        state = self.runtime.current
        hidden_states = self._metadata._get_parameter_from_args_kwargs(
            self._metadata.hidden_states_argument_name, args, kwargs
        )
        if self.is_leader:
            self.runtime.record_stack_input(hidden_states)
        if state is None or state.should_compute:
            return self.fn_ref.original_forward(*args, **kwargs)
        return self._passthrough(args, kwargs, hidden_states)


class FreqCaHeadHook(ModelHook):
    r"""
    Hook on the output head (e.g. `norm_out`). With `forecast_target="crf"`, on full steps it records the head's input,
    the block stack's output for the image tokens; on predicted steps it replaces that input by the forecast. The head
    then runs as usual, with the current step's conditioning. With `forecast_target="model_output"` it passes the
    input through: on predicted steps the head normally does not run at all (`FreqCaModelHook`).

    Args:
        runtime (`FreqCaRuntime`): the shared state and logic.
    """

    def __init__(self, runtime: FreqCaRuntime):
        super().__init__()
        self.runtime = runtime

    def new_forward(self, module: torch.nn.Module, *args, **kwargs):
        state = self.runtime.current
        if state is None or self.runtime.config.forecast_target != "crf":
            return self.fn_ref.original_forward(*args, **kwargs)
        if args:
            crf, rest = args[0], args[1:]
        elif "hidden_states" in kwargs:
            crf, rest = kwargs.pop("hidden_states"), ()
        else:
            raise ValueError(
                f"FreqCa's head hook on {type(module).__name__} found no hidden-states input (first positional "
                "argument or `hidden_states`)."
            )
        if state.should_compute:
            self.runtime.record(crf)
        else:
            crf = self.runtime.forecast(like=crf)
        if args:
            return self.fn_ref.original_forward(crf, *rest, **kwargs)
        return self.fn_ref.original_forward(hidden_states=crf, **kwargs)


class FreqCaModelHook(ModelHook):
    r"""
    Hook on the transformer itself. With `forecast_target="model_output"` a predicted step returns the forecast
    without running the forward at all: no embedding, positional encoding, block or output head runs, and under
    context parallelism no collective (every rank forecasts the whole output). A predicted step runs the forward with
    every block skipped instead (and its output is replaced) when the last full step's output cannot be rebuilt (see
    `_OutputPacking`), when the call asks for another packing (`return_dict` changed) or passes positional arguments.

    Args:
        runtime (`FreqCaRuntime`): the shared state and logic.
    """

    def __init__(self, runtime: FreqCaRuntime):
        super().__init__()
        self.runtime = runtime
        # Whether the hook ran in the current call (`FreqCaRuntime.check_model_hook`).
        self.ran = False

    def new_forward(self, module: torch.nn.Module, *args, **kwargs):
        self.ran = True
        output = self.runtime.forecast_output(args, kwargs)
        if output is not None:
            return output
        return self.fn_ref.original_forward(*args, **kwargs)


def _check_blocks(blocks: list[tuple[str, torch.nn.Module]], module: torch.nn.Module) -> None:
    if not blocks:
        raise ValueError(
            f"FreqCa found no transformer block list in {type(module).__name__}; it looks for `ModuleList` children "
            f"named one of {sorted(BLOCK_LIST_NAMES)}."
        )
    for name, block in blocks:
        try:
            block_metadata(unwrap_module(block))
        except ValueError as error:
            raise ValueError(f"Block '{name}': {error}") from None


def apply_freqca(module: torch.nn.Module, config: FreqCaConfig) -> None:
    r"""
    Applies [FreqCa](https://huggingface.co/papers/2510.08669) to a diffusion transformer.

    Hooks are registered on every block of the transformer's block stack (`block_stack.find_block_stack`) and on its
    output head (the family table's `head`, `norm_out` for most models), a forward pre-hook on `module` reads each
    call and decides full or predicted step, a hook on `module` itself returns the forecast of a predicted step
    without running its forward, and a forward hook on `module` records its output on full steps
    (`forecast_target="model_output"`, the default). Most users call `module.enable_cache(config)` instead, which
    does the same and keeps diffusers' `_cache_config` bookkeeping.

    Args:
        module (`torch.nn.Module`):
            The transformer, e.g. a `FluxTransformer2DModel` or `QwenImageTransformer2DModel`. Its blocks' classes
            must be registered in diffusers' `TransformerBlockRegistry`.
        config (`FreqCaConfig`):
            The configuration.

    Raises:
        `ValueError`: when `config` is not a `FreqCaConfig`, FreqCa is already applied, the module runs tensor
            parallelism, or it has no block stack, no output head, or unregistered blocks.

    Under diffusers' context parallelism (`module.enable_parallelism(config=ContextParallelConfig(...))`, before or
    after this call) every rank takes the same decision at every call. With `forecast_target="crf"` each rank
    forecasts and caches its own shard of the image tokens, and gathers the shards on full steps only when the config
    splits bands; the model output is whole on every rank, which forecasts all of it (see
    `diffusers_freqca.parallel` and docs/multi_gpu.md).

    Example:
        ```python
        >>> import torch
        >>> from diffusers import QwenImagePipeline
        >>> from diffusers_freqca import FreqCaConfig, apply_freqca

        >>> pipe = QwenImagePipeline.from_pretrained("Qwen/Qwen-Image", torch_dtype=torch.bfloat16).to("cuda")
        >>> apply_freqca(pipe.transformer, FreqCaConfig())
        >>> image = pipe("a lighthouse at dawn", num_inference_steps=50).images[0]
        ```
    """
    if not isinstance(config, FreqCaConfig):
        raise ValueError(f"`config` must be a FreqCaConfig, got {type(config).__name__}.")
    if getattr(module, "_freqca_runtime", None) is not None:
        raise ValueError("FreqCa is already applied to this module; call `remove_freqca(module)` first.")
    # A copy, validated again: changing the caller's config object later neither bypasses the checks nor changes a
    # running cache.
    config = dataclasses.replace(config)
    # Refuses parallel set-ups FreqCa does not support (context parallelism is supported, also when enabled later).
    ContextParallelGroup.from_module(module)
    family = check_supported(module)  # the family table's refusals, with their reasons
    blocks = find_block_stack(module)
    _check_blocks(blocks, module)
    head = head_module(module, family)

    runtime = FreqCaRuntime(module, config)
    for index, (name, block) in enumerate(blocks):
        is_leader = index == 0
        hook = FreqCaBlockHook(runtime, is_leader=is_leader)
        hook_name = _FREQCA_LEADER_BLOCK_HOOK if is_leader else _FREQCA_BLOCK_HOOK
        logger.debug(f"Applying FreqCaBlockHook to '{name}' (leader={is_leader})")
        HookRegistry.check_if_exists_or_initialize(block).register_hook(hook, hook_name)
        runtime.hooked.append((block, hook_name, hook))
    head_hook = FreqCaHeadHook(runtime)
    HookRegistry.check_if_exists_or_initialize(head).register_hook(head_hook, _FREQCA_HEAD_HOOK)
    runtime.hooked.append((head, _FREQCA_HEAD_HOOK, head_hook))
    model_hook = FreqCaModelHook(runtime)
    HookRegistry.check_if_exists_or_initialize(module).register_hook(model_hook, _FREQCA_MODEL_HOOK)
    # Not moved to the top before each call as the block and head hooks are: on the transformer itself diffusers'
    # context-parallel split hooks must keep their place (they may sit below it when parallelism came first).
    runtime.model_hook = model_hook
    runtime.model_forward = module.forward
    runtime.pre_hook_handle = module.register_forward_pre_hook(runtime.begin_call, with_kwargs=True)
    runtime.post_hook_handle = module.register_forward_hook(runtime.end_call, with_kwargs=True)
    module._freqca_runtime = runtime
    # diffusers caches which submodules carry hooks; cache contexts must reach the new ones.
    HookRegistry.check_if_exists_or_initialize(module).invalidate_child_registries_cache()


def remove_freqca(module: torch.nn.Module) -> None:
    r"""
    Removes every FreqCa hook from `module` (the inverse of [`apply_freqca`]) and frees the tensors its cache holds.
    `module.disable_cache()` calls it.

    Args:
        module (`torch.nn.Module`): a module FreqCa was applied to.

    Raises:
        `ValueError`: when FreqCa is not applied to `module`.

    Example:
        ```python
        >>> apply_freqca(pipe.transformer, FreqCaConfig())
        >>> remove_freqca(pipe.transformer)
        ```
    """
    runtime = getattr(module, "_freqca_runtime", None)
    if runtime is None:
        raise ValueError("FreqCa is not applied to this module.")
    for hooked_module, _, hook in [*runtime.hooked, (module, _FREQCA_MODEL_HOOK, runtime.model_hook)]:
        restore_new_forward(hooked_module, hook)
    remove_top_hook(module, _FREQCA_MODEL_HOOK, runtime.model_forward)
    registry = HookRegistry.check_if_exists_or_initialize(module)
    for name in _FREQCA_HOOK_NAMES:
        registry.remove_hook(name, recurse=True)
    registry.invalidate_child_registries_cache()
    runtime.pre_hook_handle.remove()
    runtime.post_hook_handle.remove()
    runtime.hooked.clear()
    # Free the cached tensors now: the runtime and its hooks reference each other, so without this they would stay in
    # (GPU) memory until Python's cycle collector happens to run. A generation cut short leaves them filled.
    runtime.state_manager.reset()
    module._freqca_runtime = None


def get_freqca_stats(module: torch.nn.Module) -> FreqCaStats:
    r"""
    What FreqCa did on `module`: per cache context of the most recent call, the steps computed and predicted and the
    bytes its cache held; and the totals since FreqCa was applied.

    Args:
        module (`torch.nn.Module`): a module FreqCa is applied to.

    Returns:
        [`FreqCaStats`]: a snapshot (later calls do not change it).

    Raises:
        `ValueError`: when FreqCa is not applied to `module`.

    Example:
        ```python
        >>> image = pipe(prompt, num_inference_steps=50).images[0]
        >>> print(get_freqca_stats(pipe.transformer))  # FLUX.1-dev, 1024x1024, FreqCaConfig()
        FreqCa, most recent call: 10 computed + 40 predicted steps, cache 2.00 MiB
          cond: 10 computed + 40 predicted, full steps [0, 3, 6, 12, 18, 24, 30, 36, 42, 48], restarts 0, output forecast in the noise form
        ```
    """
    runtime = getattr(module, "_freqca_runtime", None)
    if runtime is None:
        raise ValueError("FreqCa is not applied to this module.")
    contexts = {
        name: FreqCaContextStats(
            computed_steps=stats.computed_steps,
            predicted_steps=stats.predicted_steps,
            full_steps=list(stats.full_steps),
            cache_bytes=stats.cache_bytes,
            restarts=stats.restarts,
            gathered_bytes=stats.gathered_bytes,
            output_forms=dict(stats.output_forms),
        )
        for name, stats in runtime.stats.items()
    }
    parallel = runtime.parallel
    return FreqCaStats(
        contexts,
        runtime.total_computed_steps,
        runtime.total_predicted_steps,
        context_parallel_degree=1 if parallel is None else parallel.degree,
        context_parallel_rank=0 if parallel is None else parallel.rank,
    )
