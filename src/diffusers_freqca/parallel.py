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
"""FreqCa under diffusers' context parallelism: the ranks that share one token sequence, and what they exchange.

diffusers' context parallelism (`transformer.enable_parallelism(config=ContextParallelConfig(...))`, diffusers 0.42,
`src/diffusers/hooks/context_parallel.py`) cuts the token sequence into one contiguous shard per rank of its
flattened ring x Ulysses mesh, in the order of the ranks in that mesh's process group: equal shards (`torch.chunk`;
diffusers requires the length to divide by the degree), or, with `ulysses_anything` / `ring_anything`, the shards of
`torch.tensor_split` (the first `length % degree` ranks hold one token more). A shard may end in the middle of an
image row. Every diffusers 0.42.1 plan but Helios' gathers the output along the tokens after the output projection
(`proj_out`), so each rank's head input is its contiguous shard of the whole head input; Helios' plan gathers inside
every block, so there every rank holds the whole head input.

FreqCa's part:

- the compute-or-forecast decision of every call is put to a vote over the group ([`ContextParallelGroup.agree`]):
  when any rank wants to compute, all compute, so no rank ever waits in an attention collective that another rank
  skipped;
- with `forecast_target="crf"` the forecast runs on each rank's own shard of the head input, so each rank caches only
  its shard; the default model-output forecast records and replaces the transformer's output after diffusers has
  gathered it (and reads the latents before diffusers splits them), so every rank caches and forecasts the whole
  output, as a single process does;
- the band split needs each image's whole token grid: on full steps only, the shards are gathered
  ([`ContextParallelGroup.gather_sequence`]), low-pass filtered whole, and each rank keeps its own slice
  ([`low_pass_shard`]).
"""

from dataclasses import dataclass, field
from typing import Protocol

import torch
import torch.distributed as dist
from diffusers.hooks.context_parallel import ContextParallelGatherHook

from .band_split import TokenLayout
from .block_stack import find_block_stack


class LowPass(Protocol):
    """Anything with the band split's `low_pass(x, layout)`: a `BandSplitter` or a `token_grid.HeadBandSplitter`."""

    def low_pass(self, x: torch.Tensor, layout: TokenLayout | None) -> torch.Tensor: ...


@dataclass(frozen=True)
class ContextParallelGroup:
    r"""
    The ranks that share one token sequence under diffusers' context parallelism, seen from one of them.

    Args:
        group (`torch.distributed.ProcessGroup`):
            The process group of the flattened ring x Ulysses mesh (`ContextParallelConfig._flattened_mesh`): the
            group diffusers shards the sequence over and gathers the output on.
        rank (`int`):
            This rank's index in `group`, which is the index of its shard in the sequence (not the global rank when
            the mesh has other dimensions).
        degree (`int`):
            The number of ranks in `group`: `ring_degree * ulysses_degree`.
        uneven (`bool`):
            Whether shards may differ in length (`ulysses_anything` or `ring_anything`): `torch.tensor_split` shards
            instead of equal ones.
        vote_device (`torch.device`):
            Where the one-element tensors of [`agree`] live: the CPU for groups with a CPU backend (gloo), the rank's
            accelerator otherwise (NCCL).
        head_sharded (`bool`, defaults to `True`):
            Whether each rank's output-head input is its shard of the whole head input (the output is gathered after
            the head), rather than the whole of it (the plan gathers inside the block stack, as Helios' does).

    Example:
        ```python
        >>> group = ContextParallelGroup.from_module(pipe.transformer)  # after `enable_parallelism`
        >>> group.degree, group.shard_range(4096)  # on rank 1 of 2
        (2, (2048, 4096))
        ```
    """

    # Groups are compared by the other fields: a mesh may hand out a new handle of the same group at each call.
    group: "dist.ProcessGroup" = field(compare=False)
    rank: int
    degree: int
    uneven: bool
    vote_device: torch.device
    head_sharded: bool = True

    @classmethod
    def from_module(cls, module: torch.nn.Module) -> "ContextParallelGroup | None":
        r"""
        The context-parallel group of a transformer, read from the `_parallel_config` that diffusers'
        `enable_parallelism` records on it.

        Args:
            module (`torch.nn.Module`): the transformer.

        Returns:
            [`ContextParallelGroup`] or `None`: `None` when the module runs without parallelism.

        Raises:
            `ValueError`: when the module runs tensor parallelism (FreqCa supports context parallelism only), or its
                `_parallel_config` is not one of diffusers' parallel configs, or its context-parallel config was never
                set up (`enable_parallelism` sets it up).

        Example:
            ```python
            >>> transformer.enable_parallelism(config=ContextParallelConfig(ulysses_degree=2))
            >>> ContextParallelGroup.from_module(transformer).degree
            2
            ```
        """
        parallel_config = getattr(module, "_parallel_config", None)
        if parallel_config is None:
            return None
        # FreqCa asks at every call; the answer changes only with the config (`enable_parallelism` runs once).
        cached = module.__dict__.get("_freqca_context_parallel")
        if cached is not None and cached[0] is parallel_config:
            return cached[1]
        if getattr(parallel_config, "tensor_parallel_config", None) is not None:
            raise ValueError(
                f"FreqCa supports diffusers' context parallelism, but {type(module).__name__} runs tensor parallelism "
                "(`TensorParallelConfig`); use `ContextParallelConfig(ulysses_degree=..., ring_degree=...)` instead."
            )
        # diffusers wraps a ContextParallelConfig into a ParallelConfig; accept the bare config too.
        config = getattr(parallel_config, "context_parallel_config", parallel_config)
        if config is None:
            return None
        if not hasattr(config, "_flattened_mesh"):
            raise ValueError(
                f"FreqCa cannot read {type(module).__name__}'s `_parallel_config` ({type(parallel_config).__name__}): "
                "it expects diffusers' `ParallelConfig` or `ContextParallelConfig`, as set by "
                "`enable_parallelism(config=ContextParallelConfig(...))`."
            )
        mesh = config._flattened_mesh
        if mesh is None:
            raise ValueError(
                f"{type(module).__name__}'s context-parallel config has no device mesh yet; enable context parallelism "
                "with `transformer.enable_parallelism(config=...)`, which sets it up."
            )
        group = mesh.get_group()
        backend = str(dist.get_backend(group))
        if "gloo" in backend or "cpu" in backend:
            vote_device = torch.device("cpu")
        elif getattr(config, "_device", None) is not None:
            vote_device = torch.device(config._device)
        else:
            vote_device = torch.device("cuda", torch.cuda.current_device())
        parallel = cls(
            group=group,
            rank=dist.get_rank(group),
            degree=dist.get_world_size(group),
            uneven=bool(getattr(config, "ulysses_anything", False) or getattr(config, "ring_anything", False)),
            vote_device=vote_device,
            head_sharded=not _gathers_inside_blocks(module),
        )
        module.__dict__["_freqca_context_parallel"] = (parallel_config, parallel)
        return parallel

    def shard_sizes(self, length: int) -> list[int]:
        r"""
        The length of every rank's shard of a sequence, in rank order, as diffusers cuts it.

        Args:
            length (`int`): the whole sequence's length (tokens).

        Returns:
            `list[int]`: `degree` lengths that add up to `length`.

        Raises:
            `ValueError`: when `length` does not divide by the degree and shards must be equal (diffusers refuses such
                sequences too, unless `ulysses_anything` or `ring_anything` is set).

        Example:
            ```python
            >>> group.shard_sizes(63)  # degree 2, ulysses_anything=True
            [32, 31]
            ```
        """
        base, extra = divmod(length, self.degree)
        if extra and not self.uneven:
            raise ValueError(
                f"A sequence of {length} tokens cannot be cut into {self.degree} equal context-parallel shards; use "
                f"a length divisible by {self.degree}, or `ulysses_anything=True` / `ring_anything=True`."
            )
        return [base + (1 if index < extra else 0) for index in range(self.degree)]

    def shard_range(self, length: int) -> tuple[int, int]:
        r"""
        Where this rank's shard lies in a sequence.

        Args:
            length (`int`): the whole sequence's length (tokens).

        Returns:
            `tuple[int, int]`: `(start, end)`, the shard is `sequence[start:end]`.

        Example:
            ```python
            >>> group.shard_range(50)  # rank 1 of 2: the shard starts in the middle of row 2 of a 5x10 grid
            (25, 50)
            ```
        """
        sizes = self.shard_sizes(length)
        start = sum(sizes[: self.rank])
        return start, start + sizes[self.rank]

    def shard_lengths(self, local_length: int) -> list[int]:
        r"""
        The length of every rank's shard, from this rank's. A collective with uneven shards (one all-gather of one
        integer); without them every shard has this rank's length.

        Args:
            local_length (`int`): the length of this rank's shard (tokens).

        Returns:
            `list[int]`: the shards' lengths, in rank order.

        Example:
            ```python
            >>> group.shard_lengths(32)  # degree 2, ulysses_anything=True, 63 tokens
            [32, 31]
            ```
        """
        if not self.uneven:
            return [local_length] * self.degree
        lengths = [torch.zeros(1, dtype=torch.int64, device=self.vote_device) for _ in range(self.degree)]
        dist.all_gather(lengths, torch.tensor([local_length], dtype=torch.int64, device=self.vote_device), self.group)
        return [int(length.item()) for length in lengths]

    def gather_sequence(self, shard: torch.Tensor, lengths: list[int] | None = None) -> torch.Tensor:
        r"""
        The whole sequence from every rank's shard, concatenated in rank order along the tokens. A collective: every
        rank of the group must call it, with its own shard of the same sequence.

        Uneven shards are padded to the longest one for the exchange (gloo needs equal sizes) and trimmed after.

        Args:
            shard (`torch.Tensor`):
                This rank's shard, of shape `(batch, shard_length, channels)`, any dtype, on the device the group's
                backend uses (the CPU for gloo, the rank's GPU for NCCL).
            lengths (`list[int]`, *optional*): every rank's shard length, from [`shard_lengths`] (asked when `None`).

        Returns:
            `torch.Tensor`: `(batch, total_length, channels)`, the dtype and device of `shard`.

        Raises:
            `ValueError`: when `shard` is not 3-D.

        Example:
            ```python
            >>> whole = group.gather_sequence(shard)  # shard: (1, 2048, 3072) on each of 2 ranks
            >>> whole.shape
            torch.Size([1, 4096, 3072])
            ```
        """
        if shard.ndim != 3:
            raise ValueError(
                f"Context-parallel shards are gathered as (batch, tokens, channels), got a shard of shape "
                f"{tuple(shard.shape)} on rank {self.rank} of {self.degree}."
            )
        if lengths is None:
            lengths = self.shard_lengths(shard.shape[1])
        longest = max(lengths)
        padded = shard
        if shard.shape[1] < longest:
            padded = torch.nn.functional.pad(shard, (0, 0, 0, longest - shard.shape[1]))
        padded = padded.contiguous()
        parts = [torch.empty_like(padded) for _ in range(self.degree)]
        dist.all_gather(parts, padded, group=self.group)
        return torch.cat([part[:, :length] for part, length in zip(parts, lengths)], dim=1)

    def agree(self, should_compute: bool) -> bool:
        r"""
        The decision of the whole group: compute when any rank wants to. A collective: every rank of the group must
        call it once per transformer call. It costs one all-reduce of one integer (and, on GPUs, one synchronisation,
        as the decision is needed on the host).

        Args:
            should_compute (`bool`): whether this rank wants to run the block stack.

        Returns:
            `bool`: `True` when at least one rank of the group wants to compute.

        Example:
            ```python
            >>> group.agree(rank == 0)  # rank 0 wants to compute, rank 1 does not
            True
            ```
        """
        flag = torch.tensor([int(bool(should_compute))], dtype=torch.int32, device=self.vote_device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=self.group)
        return bool(flag.item())


def low_pass_shard(
    splitter: LowPass, shard: torch.Tensor, layout: TokenLayout | None, group: ContextParallelGroup
) -> tuple[torch.Tensor, int]:
    r"""
    The low band of this rank's shard of the output head's input, computed over each image's whole token grid: the
    shards are gathered, the whole head input is low-pass filtered, and this rank's slice is kept. A collective:
    every rank of `group` must call it with its shard of the same feature. When the head input is not sharded
    (`group.head_sharded` is `False`), it is filtered as it is, without exchange.

    Args:
        splitter (`BandSplitter` or `HeadBandSplitter`): the band split (anything with `low_pass(x, layout)`).
        shard (`torch.Tensor`):
            This rank's shard of the feature, of shape `(batch, shard_length, channels)` (float32 or float64).
        layout (`TokenLayout`, *optional*): where the image grids lie in the whole head input.
        group (`ContextParallelGroup`): the ranks that share the sequence.

    Returns:
        `tuple[torch.Tensor, int]`: the low band of `shard`, float32 (float64 for float64 inputs), of the shape of
        `shard`; and the bytes this rank received from the others.

    Raises:
        `ValueError`: when `shard` is not 3-D.

    Example:
        ```python
        >>> low, received = low_pass_shard(BandSplitter("dct", 0.1), shard, layout, group)
        >>> high = shard - low
        ```
    """
    if not group.head_sharded:
        return splitter.low_pass(shard, layout), 0
    lengths = group.shard_lengths(shard.shape[1])
    whole = group.gather_sequence(shard, lengths)
    start = sum(lengths[: group.rank])
    received = shard.element_size() * shard.shape[0] * shard.shape[2] * (whole.shape[1] - shard.shape[1])
    return splitter.low_pass(whole, layout)[:, start : start + shard.shape[1]], received


def _gathers_inside_blocks(module: torch.nn.Module) -> bool:
    # Whether a diffusers gather hook sits on a module inside the block stack (Helios' plan): the stack's output, and
    # so the head's input, is then whole on every rank.
    blocks = [name for name, _ in find_block_stack(module)]
    for name, submodule in module.named_modules():
        registry = getattr(submodule, "_diffusers_hook", None)
        if registry is None or not any(
            isinstance(hook, ContextParallelGatherHook) for hook in registry.hooks.values()
        ):
            continue
        if any(name == block or name.startswith(block + ".") for block in blocks):
            return True
    return False
