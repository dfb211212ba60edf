# Copyright 2026 The diffusers-freqca authors. Licensed under the Apache License, Version 2.0.
"""Counting a transformer's compute, for comparisons at matched compute.

Caches that skip whole steps (FreqCa, FirstBlockCache, MagCache), caches that skip only part of a step (TaylorSeerCache's
default, PyramidAttentionBroadcast) and plain sampling with fewer steps only compare fairly on one axis of compute.
[`MacCounter`] measures it instead of assuming it: it adds up the multiply-accumulates of every `Linear` layer of the
transformer, and a run's MACs over those of one full transformer evaluation give its *equivalent evaluations*. The
evaluations of the block stack themselves are counted by the package's own
`diffusers_freqca.block_stack.count_evaluations`.
"""

import torch


class MacCounter:
    r"""
    Adds up the multiply-accumulates of every `torch.nn.Linear` call inside a module while the context is open.

    Linear layers hold all but a small part of a DiT's compute (attention score products, which scale the same way in
    every method compared, are left out). Hooks are registered on entering the context and removed on leaving it; the
    count is kept.

    Args:
        module (`torch.nn.Module`): the transformer.

    Returns:
        `MacCounter`: entering the context returns the counter itself; its `total` (`int`) is the number of
        multiply-accumulates counted so far.

    Example:
        ```python
        >>> import torch
        >>> from benchmarks.compute import MacCounter

        >>> model = torch.nn.Linear(8, 16)
        >>> with MacCounter(model) as macs:
        ...     _ = model(torch.zeros(5, 8))
        >>> macs.total  # 5 rows x 8 inputs x 16 outputs
        640
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


__all__ = ["MacCounter"]
