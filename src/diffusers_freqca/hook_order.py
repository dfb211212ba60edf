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
"""Keeping FreqCa's block hooks outermost, whatever diffusers registers or removes around them.

Two behaviours of diffusers' `HookRegistry` (diffusers 0.42, `src/diffusers/hooks/hooks.py`,
https://github.com/huggingface/diffusers/blob/v0.42.1/src/diffusers/hooks/hooks.py) matter here:

- The hook registered last runs first. Group offloading registered after FreqCa (or re-applied by LoRA loading and
  unloading) would onload the weights of blocks that FreqCa then skips.
- `HookRegistry.remove_hook` of the hook right below another one writes the forward below the removed hook into the
  upper hook's `fn_ref.forward`, where the upper hook's `new_forward` lives, and leaves its `fn_ref.original_forward`
  pointing at the removed hook: the upper hook is then bypassed while the removed hook still runs. This happens when
  group offloading is removed and re-applied, when group offloading with `use_stream=True` removes its execution-order
  trackers after the first call, and in our own move to the top.

[`restore_new_forward`] repairs the second, [`move_to_top`] fixes the first; FreqCa calls both before each call.

One kind of hook stays above FreqCa's: diffusers' context-parallel split hooks (`ContextParallelSplitHook`,
`src/diffusers/hooks/context_parallel.py`). They cut a module's inputs into this rank's shard (QwenImage's plan does so
on its first block), and FreqCa's block hook must see, and on predicted steps pass on, the shard.
"""

import functools

import torch
from diffusers.hooks import HookRegistry, ModelHook
from diffusers.hooks.context_parallel import ContextParallelSplitHook


def restore_new_forward(module: torch.nn.Module, hook: ModelHook) -> None:
    r"""
    Puts `hook.new_forward` back in front of whatever now lies below it, if a removal below it bypassed it.

    Args:
        module (`torch.nn.Module`): the module the hook is registered on.
        hook (`ModelHook`): the hook to repair; nothing happens when it is intact or has no `new_forward`.

    Example:
        ```python
        >>> restore_new_forward(pipe.transformer.transformer_blocks[0], hook)
        ```
    """
    fn_ref = hook.fn_ref
    if not hasattr(hook, "new_forward") or fn_ref is None:
        return
    forward = fn_ref.forward
    if isinstance(forward, functools.partial) and forward.func == hook.new_forward:
        return
    fn_ref.original_forward = forward
    fn_ref.forward = functools.update_wrapper(functools.partial(hook.new_forward, module), hook.new_forward)


def _lift(module: torch.nn.Module, registry: HookRegistry, name: str) -> None:
    # Re-registers the hook called `name` on top, repairing the hook the removal bypasses.
    order = registry._hook_order
    if order[-1] == name:
        return
    hook = registry.hooks[name]
    above = registry.hooks[order[order.index(name) + 1]]
    registry.remove_hook(name, recurse=False)
    restore_new_forward(module, above)
    registry.register_hook(hook, name)


def move_to_top(module: torch.nn.Module, name: str, hook: ModelHook) -> None:
    r"""
    Makes the hook called `name` the outermost hook of `module` (the one that runs first), except for diffusers'
    context-parallel split hooks, which stay above it in their order; repairs any hook that the move bypasses.

    Args:
        module (`torch.nn.Module`): the module the hook is registered on.
        name (`str`): the hook's name in the module's `HookRegistry`.
        hook (`ModelHook`): the hook itself.

    Example:
        ```python
        >>> move_to_top(block, "freqca_block_hook", hook)
        ```
    """
    restore_new_forward(module, hook)
    registry = HookRegistry.check_if_exists_or_initialize(module)
    if name not in registry.hooks:
        return
    outside = [n for n in registry._hook_order if isinstance(registry.hooks[n], ContextParallelSplitHook)]
    if registry._hook_order[-1 - len(outside) :] == [name, *outside]:
        return
    for lifted in (name, *outside):
        _lift(module, registry, lifted)


def reinstall_on_top(module: torch.nn.Module, name: str, hook: ModelHook) -> None:
    r"""
    Puts a hook that dropped out of `module`'s forward chain back on top of whatever `module.forward` is now.

    accelerate's model CPU offload re-installs its hook after every pipeline call (`maybe_free_model_hooks`), and in
    doing so sets `module.forward` back to the forward it saw when first installed: a `HookRegistry` hook registered
    on the module after the offload is no longer called, though the registry still lists it. This wraps the current
    `module.forward` again and records the hook as the registry's outermost, so that removing it later restores the
    forward that is live now, not the stale one.

    Args:
        module (`torch.nn.Module`): the module the hook is registered on.
        name (`str`): the hook's name in the module's `HookRegistry`.
        hook (`ModelHook`): the hook, which must define `new_forward` and no `pre_forward` / `post_forward` work.

    Example:
        ```python
        >>> reinstall_on_top(pipe.transformer, "freqca_model_hook", hook)
        ```
    """
    registry = HookRegistry.check_if_exists_or_initialize(module)
    if name not in registry.hooks:
        registry.register_hook(hook, name)
        return
    index = registry._hook_order.index(name)
    fn_ref = registry._fn_refs.pop(index)
    registry._hook_order.pop(index)
    current = module.forward
    fn_ref.original_forward = current
    fn_ref.forward = functools.update_wrapper(functools.partial(hook.new_forward, module), hook.new_forward)

    def rewritten(*args, **kwargs):
        return fn_ref.forward(*args, **kwargs)

    module.forward = functools.update_wrapper(rewritten, current)
    registry._hook_order.append(name)
    registry._fn_refs.append(fn_ref)


def remove_top_hook(module: torch.nn.Module, name: str, installed_forward) -> None:
    r"""
    Removes the hook called `name` from `module`'s `HookRegistry`. When it is the outermost hook but `module.forward`
    is no longer the forward installed with it (accelerate replaced it, see [`reinstall_on_top`]), only the registry's
    entry goes: `HookRegistry.remove_hook` would set `module.forward` back to a forward that is no longer live.

    Args:
        module (`torch.nn.Module`): the module the hook is registered on.
        name (`str`): the hook's name.
        installed_forward (`Callable`): the `module.forward` in place right after the hook was (re-)installed.
    """
    registry = HookRegistry.check_if_exists_or_initialize(module)
    if name not in registry.hooks:
        return
    if registry._hook_order[-1] == name and module.forward is not installed_forward:
        index = registry._hook_order.index(name)
        registry._hook_order.pop(index)
        registry._fn_refs.pop(index)
        hook = registry.hooks.pop(name)
        hook.deinitalize_hook(module)
        return
    registry.remove_hook(name, recurse=False)
