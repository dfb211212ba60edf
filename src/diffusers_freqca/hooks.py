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
"""FreqCa as diffusers hooks: one hook per transformer block, sharing per-context state."""

import functools
from dataclasses import dataclass, field

import torch
from diffusers.hooks import HookRegistry, ModelHook
from diffusers.hooks._common import _ALL_TRANSFORMER_BLOCK_IDENTIFIERS
from diffusers.hooks._helpers import TransformerBlockMetadata, TransformerBlockRegistry
from diffusers.hooks.hooks import BaseState, CacheContext, StateManager
from diffusers.utils import get_logger
from diffusers.utils.torch_utils import unwrap_module

from .band_split import BandSplitter, TokenLayout
from .config import FreqCaConfig
from .forecast import BandForecaster
from .schedule import is_full_step
from .token_grid import CallInputReader, CallInputs


logger = get_logger(__name__)  # pylint: disable=invalid-name

_FREQCA_LEADER_BLOCK_HOOK = "freqca_leader_block_hook"
_FREQCA_BLOCK_HOOK = "freqca_block_hook"
_FREQCA_HOOK_NAMES = (_FREQCA_LEADER_BLOCK_HOOK, _FREQCA_BLOCK_HOOK)
# Name of the context used when a pipeline enters no `cache_context`; suffixed with the call's rank at its timestep.
_AUTO_CONTEXT = "freqca_auto"


@dataclass
class FreqCaContextStats:
    r"""
    What FreqCa did in the most recent generation of one cache context.

    Args:
        computed_steps (`int`): steps on which the block stack ran.
        predicted_steps (`int`): steps on which the block stack was skipped and its output forecast.
        full_steps (`list[int]`): the indices of the computed steps.
        cache_bytes (`int`): the largest number of bytes the context's cache held.
        restarts (`int`): how often an input change (shape, dtype, device, token grid) forced a restart.
    """

    computed_steps: int = 0
    predicted_steps: int = 0
    full_steps: list[int] = field(default_factory=list)
    cache_bytes: int = 0
    restarts: int = 0


@dataclass
class FreqCaStats:
    r"""
    Statistics of a module with FreqCa applied, from [`get_freqca_stats`].

    Args:
        contexts (`dict[str, FreqCaContextStats]`): per cache context (e.g. `"cond"`, `"uncond"`), its most recent
            generation.
        total_computed_steps (`int`): computed steps over the module's lifetime with FreqCa.
        total_predicted_steps (`int`): predicted steps over the same lifetime.
    """

    contexts: dict[str, FreqCaContextStats]
    total_computed_steps: int
    total_predicted_steps: int

    @property
    def cache_bytes(self) -> int:
        """The largest cache held by each context, summed over the contexts."""
        return sum(stats.cache_bytes for stats in self.contexts.values())


class FreqCaState(BaseState):
    r"""
    The state of one cache context: where it is in the trajectory and the forecaster of its block-stack output.

    Args:
        config (`FreqCaConfig`): the settings.
        splitter (`BandSplitter`, *optional*): the band split, `None` when no split is needed.
    """

    def __init__(self, config: FreqCaConfig, splitter: BandSplitter | None):
        super().__init__()
        self.config = config
        self.splitter = splitter
        self.stats: FreqCaContextStats | None = None
        self.forecaster = BandForecaster(
            low_order=config.low_freq_order,
            high_order=config.high_freq_order,
            low_pass=self._low_pass if splitter is not None else None,
            predictor=config.predictor,
            hermite_scale=config.hermite_scale,
            storage_dtype=config.cache_dtype,
        )
        self.reset()

    def _low_pass(self, x: torch.Tensor) -> torch.Tensor:
        return self.splitter.low_pass(x, self.layout)

    def reset(self) -> None:
        self.step = -1
        self.last_full_step: int | None = None
        self.last_time: float | None = None
        self.position = 0.0
        self.signature = None
        self.layout: TokenLayout | None = None
        self.should_compute = True
        self.stack_input: torch.Tensor | None = None
        self.forecaster.reset()


class _FreqCaStateManager(StateManager):
    # diffusers' StateManager requires a cache context. Pipelines such as FluxKontextPipeline enter none, so FreqCa
    # falls back to automatic context names; this subclass exposes the (possibly absent) context for that.
    def current_context(self) -> CacheContext | None:
        return self._context

    def get_state_for(self, name: str) -> FreqCaState:
        if name not in self._state_cache:
            self._state_cache[name] = self._state_cls(*self._init_args, **self._init_kwargs)
        return self._state_cache[name]


class FreqCaRuntime:
    r"""
    What all FreqCa hooks of one module share: the config, the input reader, the statistics, and the step logic.

    Args:
        module (`torch.nn.Module`): the transformer FreqCa is applied to.
        config (`FreqCaConfig`): the settings.
    """

    def __init__(self, module: torch.nn.Module, config: FreqCaConfig):
        self.config = config
        self.reader = CallInputReader(module)
        splitter = BandSplitter(config.decomposition, config.cutoff_ratio) if config.splits_bands else None
        self.state_manager = _FreqCaStateManager(FreqCaState, (config, splitter), {})
        self.call: CallInputs | None = None
        self.auto_time: float | None = None
        self.auto_index = 0
        self.stats: dict[str, FreqCaContextStats] = {}
        self.total_computed_steps = 0
        self.total_predicted_steps = 0
        self.hooked_blocks: list[tuple[torch.nn.Module, str, ModelHook]] = []
        self.pre_hook_handle = None
        self.current_state: FreqCaState | None = None
        self._warned: set[str] = set()

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.warning(message)

    def reset(self) -> None:
        self.state_manager.reset()
        self.call = None
        self.auto_time = None
        self.auto_index = 0

    @torch.compiler.disable
    def on_call(self, module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        # Runs before every forward of the transformer (a torch forward pre-hook, which survives accelerate's
        # forward replacement under model CPU offload, unlike a hook on the root's `forward`).
        self.call = self.reader.read(args, kwargs)
        if self.call.time is not None and self.call.time == self.auto_time:
            # Another call at the same timestep without a cache context (e.g. true CFG in FluxKontextPipeline):
            # give it its own automatic context.
            self.auto_index += 1
        else:
            self.auto_index = 0
        self.auto_time = self.call.time
        self.ensure_outermost()

    def ensure_outermost(self) -> None:
        # A block hook registered after ours (group offloading, re-applied by LoRA loading) would run before our skip
        # decision and onload weights of blocks that are then skipped. Moving our hook back to the outermost place
        # keeps skipped blocks untouched whatever the order of `enable_cache` and offloading.
        for block, name, hook in self.hooked_blocks:
            _restore_new_forward(block, hook)
            registry = HookRegistry.check_if_exists_or_initialize(block)
            if registry._hook_order and registry._hook_order[-1] != name:
                above = registry.hooks[registry._hook_order[registry._hook_order.index(name) + 1]]
                registry.remove_hook(name, recurse=False)
                _restore_new_forward(block, above)
                registry.register_hook(hook, name)

    def _context_name(self) -> tuple[str, int | None]:
        context = self.state_manager.current_context()
        if context is not None:
            return context.name, context.step_index
        return f"{_AUTO_CONTEXT}_{self.auto_index}", None

    def _layout(self, call: CallInputs, hidden_states: torch.Tensor) -> TokenLayout | None:
        if not self.config.splits_bands:
            return None
        seq_len = hidden_states.shape[1]
        layout = call.layout
        if layout is not None and layout.seq_len == seq_len:
            return layout
        reason = (
            f"the model's inputs describe {layout.seq_len} image tokens but the block stack has {seq_len}"
            if layout is not None
            else f"{self.reader.class_name}'s forward call does not describe its image token grid"
        )
        if self.config.grid_fallback == "error":
            raise ValueError(f"FreqCa cannot split frequency bands: {reason}, and `grid_fallback='error'`.")
        self._warn_once(
            f"fallback-{seq_len}",
            f"FreqCa: {reason}; splitting bands over the token sequence in 1-D instead (`grid_fallback='sequence'`).",
        )
        return TokenLayout.sequence(seq_len)

    @torch.compiler.disable
    def begin_step(self, hidden_states: torch.Tensor) -> FreqCaState:
        r"""Starts a transformer call: finds its state, restarts it when needed, and decides compute or forecast."""
        if hidden_states.ndim != 3:
            raise ValueError(
                "FreqCa expects the block stack's image hidden states as (batch, tokens, channels), got shape "
                f"{tuple(hidden_states.shape)}."
            )
        call, self.call = self.call or CallInputs(None, None), None
        name, step_index = self._context_name()
        state = self.state_manager.get_state_for(name)
        layout = self._layout(call, hidden_states)
        signature = (tuple(hidden_states.shape), hidden_states.dtype, hidden_states.device, layout)

        new_generation = state.step < 0
        if step_index is not None:
            new_generation |= step_index <= state.step
        elif call.time is not None and state.last_time is not None:
            # Timesteps decrease along a trajectory: one that does not is the start of a new generation.
            new_generation |= call.time >= state.last_time
        changed_inputs = not new_generation and signature != state.signature
        planned = self.config.num_inference_steps if self.config.schedule_power != 1.0 else None
        if new_generation and planned is not None and 0 <= state.step < planned - 1:
            self._warn_once(
                "short-run",
                f"FreqCa: the full steps were planned for `num_inference_steps={planned}` but a generation of context "
                f"{name!r} ran {state.step + 1} steps, so it got fewer or differently placed full steps than "
                "planned. Set `num_inference_steps` to the steps you run, e.g. "
                "`FreqCaConfig.from_preset(model, setting, num_inference_steps=...)`.",
            )
        if new_generation:
            state.reset()
            self.stats[name] = FreqCaContextStats()
        elif changed_inputs:
            # Never mix features of different shapes, dtypes, devices or grids: forget the cache and start over.
            logger.info(f"FreqCa: the inputs of context {name!r} changed; restarting with a full computation.")
            state.reset()
            self.stats[name].restarts += 1
        state.signature, state.layout = signature, layout
        state.step = step_index if step_index is not None else state.step + 1
        state.last_time = call.time
        if planned is not None and state.step == planned:
            self._warn_once(
                "long-run",
                f"FreqCa: the full steps were planned for `num_inference_steps={planned}` but context {name!r} is at "
                f"step {state.step + 1}; the steps after the plan follow the even schedule (one full step every "
                f"{self.config.cache_interval}). Set `num_inference_steps` to the steps you run.",
            )

        if self.config.spacing == "timestep" and call.time is not None:
            state.position = -call.time
        else:
            if self.config.spacing == "timestep":
                self._warn_once(
                    "no-timestep", "FreqCa: `spacing='timestep'` but the model got no timestep; using steps."
                )
            state.position = float(state.step)

        state.should_compute = state.forecaster.num_updates == 0 or is_full_step(
            state.step, state.last_full_step, self.config
        )
        stats = self.stats[name]
        if state.should_compute:
            stats.computed_steps += 1
            stats.full_steps.append(state.step)
            self.total_computed_steps += 1
        else:
            stats.predicted_steps += 1
            self.total_predicted_steps += 1
        state.stack_input = hidden_states if self.config.crf_form == "residual" else None
        state.stats = stats
        return state

    def _feature(self, state: FreqCaState, stack_output: torch.Tensor) -> torch.Tensor:
        if self.config.crf_form == "hidden_states":
            return stack_output
        stack_input = state.stack_input
        if stack_input.shape != stack_output.shape:
            raise ValueError(
                f"`crf_form='residual'` needs the block stack's output shape {tuple(stack_output.shape)} to match its "
                f"input shape {tuple(stack_input.shape)}; use `crf_form='hidden_states'` for this model."
            )
        return stack_output - stack_input.to(stack_output.device)

    @torch.compiler.disable
    def finish_full_step(self, state: FreqCaState, stack_output: torch.Tensor) -> None:
        r"""Records the block stack's output of a full step."""
        state.forecaster.update(self._feature(state, stack_output), time=state.position, step=state.step)
        state.last_full_step = state.step
        state.stats.cache_bytes = max(state.stats.cache_bytes, state.forecaster.nbytes)
        state.stack_input = None

    @torch.compiler.disable
    def forecast(self, state: FreqCaState, like: torch.Tensor) -> torch.Tensor:
        r"""The forecast block-stack output of a predicted step, on the device and in the dtype of `like`."""
        prediction = state.forecaster.predict(state.position).to(device=like.device, dtype=like.dtype)
        if self.config.crf_form == "residual":
            prediction = prediction + state.stack_input.to(device=like.device, dtype=like.dtype)
        state.stack_input = None
        return prediction


class FreqCaBlockHook(ModelHook):
    r"""
    Hook on one transformer block. The first block of the stack (the leader) decides, per call, whether the stack
    runs; on a predicted step every block returns its inputs untouched without running, and the last block returns
    the forecast block-stack output instead.

    Args:
        runtime (`FreqCaRuntime`): the shared state and logic.
        is_leader (`bool`): whether this is the stack's first block.
        is_tail (`bool`): whether this is the stack's last block.
    """

    def __init__(self, runtime: FreqCaRuntime, is_leader: bool = False, is_tail: bool = False):
        super().__init__()
        self.runtime = runtime
        self.state_manager = runtime.state_manager
        self.is_leader = is_leader
        self.is_tail = is_tail
        # Only the leader owns the state: diffusers sets cache contexts and resets on stateful hooks.
        self._is_stateful = is_leader
        self._metadata: TransformerBlockMetadata | None = None
        self._state: FreqCaState | None = None

    def initialize_hook(self, module: torch.nn.Module) -> torch.nn.Module:
        self._metadata = TransformerBlockRegistry.get(unwrap_module(module).__class__)
        return module

    def reset_state(self, module: torch.nn.Module) -> torch.nn.Module:
        if self.is_leader:
            self.runtime.reset()
        return module

    def _current_state(self, hidden_states: torch.Tensor) -> FreqCaState:
        if self.is_leader:
            self.runtime.current_state = self.runtime.begin_step(hidden_states)
        return self.runtime.current_state

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

    def _hidden_from_output(self, output):
        if isinstance(output, tuple):
            return output[self._metadata.return_hidden_states_index]
        return output

    def new_forward(self, module: torch.nn.Module, *args, **kwargs):
        hidden_states = self._metadata._get_parameter_from_args_kwargs(
            self._metadata.hidden_states_argument_name, args, kwargs
        )
        state = self._current_state(hidden_states)
        if state.should_compute:
            output = self.fn_ref.original_forward(*args, **kwargs)
            if self.is_tail:
                self.runtime.finish_full_step(state, self._hidden_from_output(output))
            return output
        if self.is_tail:
            hidden_states = self.runtime.forecast(state, like=hidden_states)
        return self._passthrough(args, kwargs, hidden_states)


def _restore_new_forward(block: torch.nn.Module, hook: ModelHook) -> None:
    # `HookRegistry.remove_hook` of the hook right below `hook` writes the forward below the removed hook into
    # `hook.fn_ref.forward`, where `hook.new_forward` lives, and leaves `fn_ref.original_forward` pointing at the removed
    # hook: `hook` is then bypassed while the removed hook still runs. This happens when group offloading is removed and
    # re-applied (LoRA loading or unloading: every group would be onloaded twice), when group offloading with
    # `use_stream=True` removes its execution-order trackers after the first call (FreqCa would stop skipping), and in
    # our own move to the top. Put `new_forward` back, on top of what now lies below it.
    fn_ref = hook.fn_ref
    if not hasattr(hook, "new_forward") or fn_ref is None:
        return
    forward = fn_ref.forward
    if isinstance(forward, functools.partial) and forward.func == hook.new_forward:
        return
    fn_ref.original_forward = forward
    fn_ref.forward = functools.update_wrapper(functools.partial(hook.new_forward, block), hook.new_forward)


def _transformer_blocks(module: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    blocks = []
    for name, submodule in module.named_children():
        if name not in _ALL_TRANSFORMER_BLOCK_IDENTIFIERS or not isinstance(submodule, torch.nn.ModuleList):
            continue
        for index, block in enumerate(submodule):
            blocks.append((f"{name}.{index}", block))
    return blocks


def apply_freqca(module: torch.nn.Module, config: FreqCaConfig) -> None:
    r"""
    Applies [FreqCa](https://huggingface.co/papers/2510.08669) to a diffusion transformer.

    Hooks are registered on every block of the transformer's block stacks (the `ModuleList`s named like diffusers'
    transformer block lists, e.g. `transformer_blocks` and `single_transformer_blocks`, in definition order) and a
    forward pre-hook on `module` reads the token grid and the timestep of each call. Most users call
    `module.enable_cache(config)` instead, which does the same and keeps diffusers' `_cache_config` bookkeeping.

    Args:
        module (`torch.nn.Module`):
            The transformer, e.g. a `FluxTransformer2DModel` or `QwenImageTransformer2DModel`. Its blocks' classes
            must be registered in diffusers' `TransformerBlockRegistry`.
        config (`FreqCaConfig`):
            The configuration.

    Example:
        ```python
        >>> import torch
        >>> from diffusers import QwenImagePipeline
        >>> from diffusers_freqca import FreqCaConfig, apply_freqca

        >>> pipe = QwenImagePipeline.from_pretrained("Qwen/Qwen-Image", torch_dtype=torch.bfloat16).to("cuda")
        >>> apply_freqca(pipe.transformer, FreqCaConfig(decomposition="fft"))
        >>> image = pipe("a lighthouse at dawn", num_inference_steps=50).images[0]
        ```
    """
    if not isinstance(config, FreqCaConfig):
        raise ValueError(f"`config` must be a FreqCaConfig, got {type(config).__name__}.")
    if getattr(module, "_freqca_runtime", None) is not None:
        raise ValueError("FreqCa is already applied to this module; call `remove_freqca(module)` first.")
    if getattr(module, "_parallel_config", None) is not None:
        raise ValueError(
            "FreqCa does not support context parallelism: its band split needs each image's whole token grid, which "
            "context parallelism shards across ranks."
        )
    blocks = _transformer_blocks(module)
    if not blocks:
        raise ValueError(
            f"FreqCa found no transformer block list in {type(module).__name__}; it looks for `ModuleList` children "
            f"named one of {sorted(_ALL_TRANSFORMER_BLOCK_IDENTIFIERS)}."
        )
    for name, block in blocks:
        block_class = unwrap_module(block).__class__
        try:
            TransformerBlockRegistry.get(block_class)
        except ValueError:
            raise ValueError(
                f"FreqCa needs to know how block '{name}' ({block_class.__name__}) returns its hidden states, but that "
                "class is not registered in diffusers' TransformerBlockRegistry."
            ) from None

    runtime = FreqCaRuntime(module, config)
    for index, (name, block) in enumerate(blocks):
        is_leader, is_tail = index == 0, index == len(blocks) - 1
        hook = FreqCaBlockHook(runtime, is_leader=is_leader, is_tail=is_tail)
        hook_name = _FREQCA_LEADER_BLOCK_HOOK if is_leader else _FREQCA_BLOCK_HOOK
        logger.debug(f"Applying FreqCaBlockHook to '{name}' (leader={is_leader}, tail={is_tail})")
        HookRegistry.check_if_exists_or_initialize(block).register_hook(hook, hook_name)
        runtime.hooked_blocks.append((block, hook_name, hook))
    runtime.pre_hook_handle = module.register_forward_pre_hook(runtime.on_call, with_kwargs=True)
    module._freqca_runtime = runtime


def remove_freqca(module: torch.nn.Module) -> None:
    r"""
    Removes every FreqCa hook from `module` (the inverse of [`apply_freqca`]). `module.disable_cache()` calls it.

    Args:
        module (`torch.nn.Module`): a module FreqCa was applied to.

    Example:
        ```python
        >>> apply_freqca(pipe.transformer, FreqCaConfig())
        >>> remove_freqca(pipe.transformer)
        ```
    """
    runtime = getattr(module, "_freqca_runtime", None)
    if runtime is None:
        raise ValueError("FreqCa is not applied to this module.")
    for block, _, hook in runtime.hooked_blocks:
        _restore_new_forward(block, hook)
    registry = HookRegistry.check_if_exists_or_initialize(module)
    for name in _FREQCA_HOOK_NAMES:
        registry.remove_hook(name, recurse=True)
    registry.invalidate_child_registries_cache()
    runtime.pre_hook_handle.remove()
    runtime.hooked_blocks.clear()
    module._freqca_runtime = None


def get_freqca_stats(module: torch.nn.Module) -> FreqCaStats:
    r"""
    What FreqCa did on `module`: per cache context, the steps computed and predicted in its most recent generation and
    the bytes its cache held; and the totals since FreqCa was applied.

    Args:
        module (`torch.nn.Module`): a module FreqCa is applied to.

    Example:
        ```python
        >>> image = pipe(prompt, num_inference_steps=50).images[0]
        >>> stats = get_freqca_stats(pipe.transformer)
        >>> stats.contexts["cond"].computed_steps, stats.contexts["cond"].predicted_steps
        (10, 40)
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
        )
        for name, stats in runtime.stats.items()
    }
    return FreqCaStats(contexts, runtime.total_computed_steps, runtime.total_predicted_steps)
