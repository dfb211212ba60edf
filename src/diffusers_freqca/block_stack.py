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
"""The block stack of a diffusion transformer: which modules it is, and how often it computes.

FreqCa skips the whole block stack on predicted steps (and, with `forecast_target="crf"`, caches its output).
Everything in this project that needs the stack (the hooks, the frequency analysis, the demo's evaluation counter,
the benchmarks and the tests) finds it with [`find_block_stack`]: the `torch.nn.ModuleList` children of the model
whose names are diffusers' block-list names (`diffusers.hooks._common._ALL_TRANSFORMER_BLOCK_IDENTIFIERS`:
`transformer_blocks`, `single_transformer_blocks`, `blocks`, ...), in the order the model defines them, which is the
order its `forward` runs them in for every model FreqCa supports.
"""

import contextlib
from collections.abc import Iterator

import torch
from diffusers.hooks._common import _ALL_TRANSFORMER_BLOCK_IDENTIFIERS

from .families import family_for


BLOCK_LIST_NAMES: tuple[str, ...] = tuple(_ALL_TRANSFORMER_BLOCK_IDENTIFIERS)


def find_block_stack(module: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    r"""
    The transformer blocks of a diffusers model, in the order it defines them.

    A block list is a direct child of `module` that is a `torch.nn.ModuleList` and whose attribute name is one of
    diffusers' block-list names (`BLOCK_LIST_NAMES`, taken from `diffusers.hooks._common`), or a list the family table
    names for the class (`diffusers_freqca.families`: HiDream's lists, AuraFlow's joint blocks, FLUX.3's per-modality
    lists; a dotted name is a list inside a child). Lists are taken in the
    order `module` registered them (e.g. FLUX's `transformer_blocks` before its `single_transformer_blocks`), blocks
    in list order. Other children with those names (not a `ModuleList`) are ignored.

    Args:
        module (`torch.nn.Module`):
            A diffusers transformer, e.g. `FluxTransformer2DModel` or `QwenImageTransformer2DModel`. It may sit on
            any device, `meta` included: nothing is run.

    Returns:
        `list[tuple[str, torch.nn.Module]]`: `(name, block)` pairs, the name relative to `module` as
        `named_modules()` spells it (`"transformer_blocks.0"`, ..., `"single_transformer_blocks.37"`). Empty when
        the module has no block list.

    Example:
        ```python
        >>> from diffusers import FluxTransformer2DModel
        >>> from diffusers_freqca.block_stack import find_block_stack

        >>> transformer = FluxTransformer2DModel(num_layers=1, num_single_layers=2, attention_head_dim=16,
        ...                                      num_attention_heads=2, joint_attention_dim=32,
        ...                                      pooled_projection_dim=16, axes_dims_rope=(4, 6, 6))
        >>> [name for name, _ in find_block_stack(transformer)]
        ['transformer_blocks.0', 'single_transformer_blocks.0', 'single_transformer_blocks.1']
        ```
    """
    if not isinstance(module, torch.nn.Module):
        raise ValueError(f"`module` must be a torch.nn.Module, got {type(module).__name__}.")
    extra = family_for(type(module).__name__).block_lists
    names = set(BLOCK_LIST_NAMES) | set(extra)
    blocks = []
    for name, child in module.named_children():
        # A dotted extra name is a list inside a child (FLUX.3's `mode_blocks.image`); it sits where its child does.
        lists = [name] if name in names else [n for n in extra if n.startswith(f"{name}.")]
        for list_name in lists:
            blocks_list = child if list_name == name else module.get_submodule(list_name)
            if isinstance(blocks_list, torch.nn.ModuleList):
                blocks.extend((f"{list_name}.{index}", block) for index, block in enumerate(blocks_list))
    return blocks


def _require_block_stack(module: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    blocks = find_block_stack(module)
    if not blocks:
        raise ValueError(
            f"{type(module).__name__} has no transformer block list: no `ModuleList` child is named one of "
            f"{', '.join(BLOCK_LIST_NAMES)}."
        )
    return blocks


def first_block(module: torch.nn.Module) -> torch.nn.Module:
    r"""
    The first block of the block stack: the block FreqCa's hooks decide on, and the one every cache runs on each step
    it computes.

    Args:
        module (`torch.nn.Module`): a diffusers transformer.

    Returns:
        `torch.nn.Module`: the first block of [`find_block_stack`].

    Raises:
        `ValueError`: when `module` has no block list.

    Example:
        ```python
        >>> first_block(pipe.transformer) is pipe.transformer.transformer_blocks[0]
        True
        ```
    """
    return _require_block_stack(module)[0][1]


def last_block(module: torch.nn.Module) -> torch.nn.Module:
    r"""
    The last block of the block stack, whose output (for the image tokens) FreqCa's CRF forecast caches
    (`forecast_target="crf"`).

    Args:
        module (`torch.nn.Module`): a diffusers transformer.

    Returns:
        `torch.nn.Module`: the last block of [`find_block_stack`]; it computes once per full evaluation of the stack.

    Raises:
        `ValueError`: when `module` has no block list.

    Example:
        ```python
        >>> last_block(pipe.transformer) is pipe.transformer.single_transformer_blocks[-1]
        True
        ```
    """
    return _require_block_stack(module)[-1][1]


class CallCounter:
    r"""
    Counts the forward calls of a module while the context is open (a forward pre-hook, removed on exit).

    Args:
        module (`torch.nn.Module`): the module to watch, e.g. the transformer or a layer of one of its blocks.

    Example:
        ```python
        >>> with CallCounter(pipe.transformer) as calls:
        ...     pipe(prompt, num_inference_steps=50)
        >>> calls.count
        50
        ```
    """

    def __init__(self, module: torch.nn.Module):
        self.module = module
        self.count = 0
        self._handle = None

    def _hook(self, module, args, kwargs) -> None:
        self.count += 1

    def __enter__(self) -> "CallCounter":
        self._handle = self.module.register_forward_pre_hook(self._hook, with_kwargs=True)
        return self

    def __exit__(self, *exc_info) -> None:
        self._handle.remove()
        self._handle = None


def _first_linear(block: torch.nn.Module) -> torch.nn.Module:
    for layer in block.modules():
        if isinstance(layer, torch.nn.Linear):
            return layer
    raise ValueError(f"{type(block).__name__} has no Linear layer to count its evaluations on.")


@contextlib.contextmanager
def count_evaluations(module: torch.nn.Module) -> Iterator[dict[str, int]]:
    r"""
    Counts, while the context is open, how often a transformer is called and how often its first and its last block
    really compute.

    Caches (FreqCa included) skip a block by replacing its forward, but the block is still entered through its
    `__call__`; so a block's computations are counted on the first `torch.nn.Linear` inside it, which runs only when
    the block computes. The last block's count is the number of full evaluations of the block stack.

    Args:
        module (`torch.nn.Module`): a diffusers transformer with a block stack.

    Yields:
        `dict[str, int]`: empty inside the context; on exit it holds `calls` (calls of `module`), `first_block` and
        `last_block` (calls in which that block computed).

    Raises:
        `ValueError`: when `module` has no block list or its first or last block has no `Linear` layer.

    Example:
        ```python
        >>> from diffusers_freqca.block_stack import count_evaluations

        >>> pipe.transformer.enable_cache(FreqCaConfig.from_preset("flux.1-dev"))
        >>> with count_evaluations(pipe.transformer) as counts:
        ...     pipe(prompt, num_inference_steps=50)
        >>> counts
        {'calls': 50, 'first_block': 10, 'last_block': 10}
        ```
    """
    counts: dict[str, int] = {}
    first, last = _first_linear(first_block(module)), _first_linear(last_block(module))
    with CallCounter(module) as calls, CallCounter(first) as first_calls, CallCounter(last) as last_calls:
        yield counts
    counts.update(calls=calls.count, first_block=first_calls.count, last_block=last_calls.count)


__all__ = ["BLOCK_LIST_NAMES", "CallCounter", "count_evaluations", "find_block_stack", "first_block", "last_block"]
