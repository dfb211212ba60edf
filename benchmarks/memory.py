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
"""Cache memory per cache context: FreqCa against diffusers' TaylorSeerCache and FirstBlockCache and a layer-wise cache.

The real FLUX.1-dev and Qwen-Image transformers are built on the `meta` device from their configs (no weights are
allocated), every cache is enabled in turn and the transformer is called on `meta` tensors of the real input shapes
until the cache holds its full state. Meta tensors carry shape and dtype, so the bytes a cache holds are the sum of
`numel * element_size` over the tensors its state keeps after the calls.

    python -m benchmarks.memory                 # from the root of a clone; a few seconds
    python -m benchmarks.memory --output-json memory.json
"""

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from diffusers.hooks._helpers import TransformerBlockRegistry

from diffusers_freqca import get_freqca_stats
from diffusers_freqca.band_split import TokenLayout
from diffusers_freqca.block_stack import find_block_stack, first_block, last_block
from diffusers_freqca.config import DECOMPOSITIONS, FreqCaConfig
from diffusers_freqca.schedule import full_steps
from diffusers_freqca.token_grid import CallInputs

from .models import (
    DTYPES,
    MODELS,
    QUICK_MODELS,
    ModelShape,
    build_transformer,
    image_layout,
    make_inputs,
    paper_config,
)
from .models import torch_dtype as _dtype


# -------------------------------------------------------------------------------------------------- accounting


def tensor_bytes(tensors: Iterable[torch.Tensor]) -> tuple[int, int]:
    r"""
    `(count, bytes)` of distinct tensors (by identity); works for `meta` tensors, which have shape and dtype only.

    Example:
        ```python
        >>> tensor_bytes([torch.zeros(4, dtype=torch.bfloat16), torch.zeros(2)])
        (2, 16)
        ```
    """
    seen: dict[int, torch.Tensor] = {}
    for tensor in tensors:
        if isinstance(tensor, torch.Tensor):
            seen[id(tensor)] = tensor
    return len(seen), sum(t.numel() * t.element_size() for t in seen.values())


def _flatten_tensors(value: Any) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _flatten_tensors(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _flatten_tensors(item)


@dataclass
class CacheMemory:
    r"""
    The memory one cache holds for one cache context.

    Args:
        method (`str`): the cache, as printed in the table.
        tensors (`int`): how many tensors its state holds.
        bytes (`int`): their total size.
        expected_bytes (`int`, *optional*): the size counted independently from the shapes of the cached module
            outputs (forward hooks), for a check.
        note (`str`): what is cached.
    """

    method: str
    tensors: int
    bytes: int
    expected_bytes: int | None = None
    note: str = ""

    @property
    def mib(self) -> float:
        """`bytes` in MiB."""
        return self.bytes / 2**20


@dataclass
class MemoryReport:
    r"""
    The result of [`measure_cache_memory`] for one model.

    Args:
        model (`str`): the model's name.
        height (`int`), width (`int`): the image size.
        batch_size (`int`): images per call.
        image_tokens (`int`), text_tokens (`int`): the sequence lengths.
        dtype (`str`): the model's dtype.
        caches (`list[CacheMemory]`): one entry per cache; the first is FreqCa.
        freqca_shared_bytes (`int`): what FreqCa's band split keeps once for all contexts (masks, DCT matrices).
    """

    model: str
    height: int
    width: int
    batch_size: int
    image_tokens: int
    text_tokens: int
    dtype: str
    caches: list[CacheMemory] = field(default_factory=list)
    freqca_shared_bytes: int = 0

    def ratios(self) -> dict[str, float]:
        """FreqCa's bytes divided by each other cache's bytes."""
        freqca = self.caches[0].bytes
        return {cache.method: freqca / cache.bytes for cache in self.caches[1:] if cache.bytes}

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-serialisable dict, with the `ratios` added."""
        data = asdict(self)
        data["ratios"] = self.ratios()
        return data


class _FixedInputReader:
    # FreqCa reads the timestep (one host read) and the token grid from each call. Meta tensors hold no values, so
    # here the layout that `img_ids` / `img_shapes` describe is supplied directly and the steps are counted instead
    # of read from the timestep (which FreqCa does by itself when a model gets no timestep).
    def __init__(self, layout: TokenLayout):
        self.layout = layout
        self.class_name = "meta transformer"

    def read(self, args: tuple, kwargs: dict) -> CallInputs:
        # The model input still goes along: FreqCa keys a call's restart checks and band split on its shape.
        return CallInputs(layout=self.layout, time=None, hidden_states=kwargs.get("hidden_states"))


@contextlib.contextmanager
def _recording_outputs(modules: list[torch.nn.Module]) -> Iterator[list[list[torch.Tensor]]]:
    # One list per call of each module: the tensors it returned.
    records: list[list[torch.Tensor]] = []

    def record(module, args, output):
        records.append(list(_flatten_tensors(output)))

    handles = [module.register_forward_hook(record) for module in modules]
    try:
        yield records
    finally:
        for handle in handles:
            handle.remove()


def _call(transformer: torch.nn.Module, inputs: dict[str, Any], calls: int, context: str = "cond") -> None:
    with torch.no_grad():
        for step in range(calls):
            step_inputs = dict(inputs)
            if inputs["timestep"].device.type != "meta":
                step_inputs["timestep"] = torch.full_like(inputs["timestep"], 1.0 - step / max(calls, 1))
            with transformer.cache_context(context):
                transformer(**step_inputs)


def freqca_tensors_per_context(config: FreqCaConfig) -> int:
    r"""
    How many CRF-sized tensors a FreqCa context holds once its history is full: the last value, plus one divided
    difference per order of each band that is forecast with order >= 1 (bands are stored separately only when they
    are split).

    Example:
        ```python
        >>> freqca_tensors_per_context(FreqCaConfig())  # no band split, order 1
        2
        >>> freqca_tensors_per_context(FreqCaConfig(decomposition="dct", low_freq_order=0, high_freq_order=2))
        3
        ```
    """
    if config.splits_bands:
        return 1 + config.low_freq_order + config.high_freq_order
    return 1 + config.high_freq_order


def measure_freqca(
    transformer: torch.nn.Module,
    inputs: dict[str, Any],
    layout: TokenLayout,
    config: FreqCaConfig,
    context: str = "cond",
) -> tuple[CacheMemory, int]:
    r"""
    Enables FreqCa, calls the transformer until the forecast history is full (and once more, a predicted step), and
    counts the tensors its forecaster holds for `context`.

    The count is checked three ways: the tensors held by the context's forecaster, `get_freqca_stats(...)
    .contexts[context].cache_bytes`, and `freqca_tensors_per_context(config)` times the size of the block stack's
    output as recorded by a forward hook on the last block (the expected size).

    Args:
        transformer (`torch.nn.Module`): the model, without a cache.
        inputs (`dict[str, Any]`): one call's inputs, see [`make_inputs`].
        layout (`TokenLayout`): the image token layout of the inputs.
        config (`FreqCaConfig`): the FreqCa settings.
        context (`str`, defaults to `"cond"`): the cache context.

    Returns:
        `tuple[CacheMemory, int]`: the context's cache, and the bytes FreqCa's band split keeps for all contexts.

    Raises:
        `RuntimeError`: when the statistics disagree with the tensors held.

    Example:
        ```python
        >>> model = MODELS["flux.1-dev"]
        >>> cache, shared = measure_freqca(build_transformer(model), make_inputs(model, 1024, 1024),
        ...                                image_layout(model, 1024, 1024), paper_config("flux.1-dev", 6))
        >>> cache.mib
        72.0
        ```
    """
    history = config.forecast_order + 1
    schedule = full_steps(10 * (history + config.disable_cache_before_step + config.cache_interval), config)
    calls = schedule[min(history, len(schedule)) - 1] + 2  # up to the last needed full step, then one predicted
    tail = last_block(transformer)
    transformer.enable_cache(config)
    try:
        runtime = transformer._freqca_runtime
        if inputs["hidden_states"].device.type == "meta":
            runtime.reader = _FixedInputReader(layout)
        with _recording_outputs([tail]) as records:
            _call(transformer, inputs, calls, context)
        state = runtime.state_manager.get_state_for(context)
        count, held = tensor_bytes(state.forecaster.tensors)
        stats_bytes = get_freqca_stats(transformer).contexts[context].cache_bytes
        splitter = state.splitter
        shared = 0
        if splitter is not None:
            shared = tensor_bytes([*splitter._matrices.values(), *splitter._masks.values()])[1]
    finally:
        transformer.disable_cache()
    if stats_bytes != held:
        raise RuntimeError(f"FreqCa's statistics report {stats_bytes} cache bytes but its forecaster holds {held}.")
    # The CRF is the last block's image-token output; diffusers' block registry says where it is in the output.
    crf = records[0][TransformerBlockRegistry.get(type(tail)).return_hidden_states_index]
    storage = config.cache_dtype or crf.dtype
    crf_bytes = crf.numel() * torch.empty((), dtype=storage).element_size()
    expected = freqca_tensors_per_context(config) * crf_bytes
    note = (
        f"block-stack output {tuple(crf.shape)}: last value + {count - 1} divided difference(s) "
        f"({config.decomposition}, low order {config.low_freq_order}, high order {config.high_freq_order})"
    )
    return CacheMemory("FreqCa", count, held, expected, note), shared


def taylorseer_modules(transformer: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    r"""
    The modules diffusers' `TaylorSeerCacheConfig` hooks by default, found by our own rule: the attention module
    `attn` of every block of the block stack ([`find_block_stack`]). Each caches every tensor its forward returns.

    Args:
        transformer (`torch.nn.Module`): the model.

    Returns:
        `list[tuple[str, torch.nn.Module]]`: `(name, attention module)` pairs, e.g. `"transformer_blocks.0.attn"`.

    Example:
        ```python
        >>> len(taylorseer_modules(build_transformer(MODELS["flux.1-dev"])))
        57
        ```
    """
    return [(f"{name}.attn", block.attn) for name, block in find_block_stack(transformer) if hasattr(block, "attn")]


def measure_taylorseer(
    transformer: torch.nn.Module, inputs: dict[str, Any], max_order: int, context: str = "cond"
) -> CacheMemory:
    r"""
    Enables `TaylorSeerCacheConfig(max_order=max_order)` (diffusers' defaults otherwise: its hooks on the attention
    modules, factors stored in bfloat16), runs its warm-up of full steps until every module holds factors of orders
    `0..max_order`, and counts the factors held for `context`.

    The expected size is counted from the output shapes of the modules in [`taylorseer_modules`] (forward hooks),
    times `max_order + 1`, in bfloat16.

    Args:
        transformer (`torch.nn.Module`): the model, without a cache.
        inputs (`dict[str, Any]`): one call's inputs.
        max_order (`int`): the Taylor order (diffusers' default is 1).
        context (`str`, defaults to `"cond"`): the cache context.

    Returns:
        `CacheMemory`: the context's cache.

    Example:
        ```python
        >>> model = MODELS["flux.1-dev"]
        >>> measure_taylorseer(build_transformer(model), make_inputs(model, 1024, 1024), max_order=1).mib
        ```
    """
    from diffusers import TaylorSeerCacheConfig

    config = TaylorSeerCacheConfig(max_order=max_order)
    # Factors of order k exist after k + 1 full steps; diffusers' warm-up computes the first
    # `disable_cache_before_step` steps in full.
    calls = max(config.disable_cache_before_step, max_order + 1)
    modules = taylorseer_modules(transformer)
    transformer.enable_cache(config)
    try:
        with _recording_outputs([module for _, module in modules]) as records:
            _call(transformer, inputs, calls, context)
        factors, hooked = [], 0
        for module in transformer.modules():
            registry = getattr(module, "_diffusers_hook", None)
            hook = registry.get_hook("taylorseer_cache") if registry is not None else None
            if hook is None:
                continue
            hooked += 1
            state = hook.state_manager._state_cache.get(context)
            if state is not None:
                factors.extend(_flatten_tensors(state.taylor_factors))
    finally:
        transformer.disable_cache()
    if hooked != len(modules):
        raise RuntimeError(f"TaylorSeerCache hooked {hooked} modules, but {len(modules)} attention modules exist.")
    count, held = tensor_bytes(factors)
    element = torch.empty((), dtype=config.taylor_factors_dtype).element_size()
    last_call = records[-len(modules) :]
    outputs = [tensor for record in last_call for tensor in record]
    expected = (max_order + 1) * sum(t.numel() for t in outputs) * element
    default = " (diffusers' default)" if max_order == TaylorSeerCacheConfig().max_order else ""
    note = (
        f"{len(modules)} attention modules, {len(outputs)} outputs, {max_order + 1} factors each{default}, "
        f"{str(config.taylor_factors_dtype).replace('torch.', '')}"
    )
    return CacheMemory(f"TaylorSeerCache, max_order={max_order}", count, held, expected, note)


def measure_first_block_cache(
    transformer: torch.nn.Module, inputs: dict[str, Any], context: str = "cond"
) -> CacheMemory:
    r"""
    Enables `FirstBlockCacheConfig()` and counts what its shared state holds after one (full) step: the first
    block's output (image and text stream) and residual, and the residuals of the whole stack (image and text). Its
    state is complete after the first step (later full steps overwrite the same fields); on `meta` it cannot run a
    second step because its skip decision reads a value from the device.

    The expected size is counted from the first and last blocks' output shapes (forward hooks): two image-sized
    tensors and the text stream from the first block, and both streams of the last block.

    Args:
        transformer (`torch.nn.Module`): the model, without a cache.
        inputs (`dict[str, Any]`): one call's inputs.
        context (`str`, defaults to `"cond"`): the cache context.

    Returns:
        `CacheMemory`: the context's cache.

    Example:
        ```python
        >>> model = MODELS["flux.1-dev"]
        >>> measure_first_block_cache(build_transformer(model), make_inputs(model, 1024, 1024)).mib
        ```
    """
    from diffusers import FirstBlockCacheConfig

    head, tail = first_block(transformer), last_block(transformer)
    transformer.enable_cache(FirstBlockCacheConfig(threshold=0.12))
    try:
        with _recording_outputs([head, tail]) as records:
            _call(transformer, inputs, 1, context)
        state = head._diffusers_hook.get_hook("fbc_leader_block_hook").state_manager._state_cache[context]
        held_tensors = [
            *_flatten_tensors(state.head_block_output),
            *_flatten_tensors(state.head_block_residual),
            *_flatten_tensors(state.tail_block_residuals),
        ]
    finally:
        transformer.disable_cache()
    count, held = tensor_bytes(held_tensors)
    head_out, tail_out = records
    image = max(head_out, key=lambda t: t.shape[1])
    # first block: output streams + image residual; last block: residual of each stream it returns
    expected = sum(t.numel() * t.element_size() for t in [*head_out, image, *tail_out])
    note = "first block's output (both streams) and image residual, the stack's residuals (both streams)"
    return CacheMemory("FirstBlockCache", count, held, expected, note)


# Per block class: the submodules whose outputs a layer-wise cache keeps, as in TaylorSeer's reference code for FLUX
# (the FreqCa paper's layer-wise comparison): the attention and MLP outputs of both streams of a double-stream block,
# and the fused attention+MLP output projection of a single-stream block (attention and MLP share one projection).
LAYERWISE_FEATURES: dict[str, tuple[str, ...]] = {
    "FluxTransformerBlock": ("attn", "ff", "ff_context"),
    "FluxSingleTransformerBlock": ("proj_out",),
    "QwenImageTransformerBlock": ("attn", "img_mlp", "txt_mlp"),
}


def measure_layerwise(
    transformer: torch.nn.Module, inputs: dict[str, Any], tensors_per_feature: int, label: str
) -> CacheMemory:
    r"""
    The memory of a layer-wise cache: every block's attention and MLP outputs (see `LAYERWISE_FEATURES`), each kept
    as `tensors_per_feature` tensors in the model dtype (3 for a second-order TaylorSeer-style forecast: the value
    and two finite differences; 1 for plain reuse). The output shapes come from forward hooks during one call.

    Args:
        transformer (`torch.nn.Module`): the model, without a cache.
        inputs (`dict[str, Any]`): one call's inputs.
        tensors_per_feature (`int`): tensors kept per cached feature.
        label (`str`): the row's name.

    Returns:
        `CacheMemory`: the cache of one context (`expected_bytes` is not set: this cache is only counted).

    Example:
        ```python
        >>> model = MODELS["flux.1-dev"]
        >>> measure_layerwise(build_transformer(model), make_inputs(model, 1024, 1024), 3, "layer-wise").mib
        ```
    """
    modules = []
    for block_name, block in find_block_stack(transformer):
        names = LAYERWISE_FEATURES.get(type(block).__name__)
        if names is None:
            raise ValueError(f"No layer-wise features are defined for {type(block).__name__} ('{block_name}').")
        modules.extend(getattr(block, name) for name in names)
    with _recording_outputs(modules) as records:
        _call(transformer, inputs, 1)
    features = [tensor for record in records for tensor in record]
    count = tensors_per_feature * len(features)
    held = tensors_per_feature * sum(t.numel() * t.element_size() for t in features)
    note = f"{len(features)} features (attention and MLP outputs of every block) x {tensors_per_feature}"
    return CacheMemory(label, count, held, None, note)


def measure_cache_memory(
    model: ModelShape,
    height: int = 1024,
    width: int = 1024,
    batch_size: int = 1,
    dtype: torch.dtype = torch.bfloat16,
    text_tokens: int | None = None,
    freqca_config: FreqCaConfig | None = None,
    taylorseer_orders: Iterable[int] = (1, 2),
    layerwise_order: int = 2,
) -> MemoryReport:
    r"""
    Builds `model` on `meta` and measures the cache memory of one cache context for FreqCa, TaylorSeerCache (each
    order in `taylorseer_orders`), FirstBlockCache and a layer-wise cache (of order `layerwise_order`, and with one
    copy per feature).

    Args:
        model (`ModelShape`): the model and its shapes.
        height (`int`, defaults to `1024`), width (`int`, defaults to `1024`): the image size in pixels.
        batch_size (`int`, defaults to `1`): images per call.
        dtype (`torch.dtype`, defaults to `torch.bfloat16`): the model's dtype.
        text_tokens (`int`, *optional*): prompt tokens, defaults to `model.text_tokens`.
        freqca_config (`FreqCaConfig`, *optional*): defaults to the paper's recipe at N=6 (the model's `"paper"`
            preset).
        taylorseer_orders (`Iterable[int]`, defaults to `(1, 2)`): the `max_order`s of TaylorSeerCache to measure.
        layerwise_order (`int`, defaults to `2`): forecast order of the layer-wise cache.

    Returns:
        [`MemoryReport`]: the measurements.

    Example:
        ```python
        >>> report = measure_cache_memory(MODELS["flux.1-dev"])
        >>> report.caches[0].mib
        72.0
        ```
    """
    if isinstance(layerwise_order, bool) or not isinstance(layerwise_order, int) or layerwise_order < 0:
        raise ValueError(f"`layerwise_order` must be an int >= 0, got {layerwise_order!r}.")
    orders = list(taylorseer_orders)
    if any(isinstance(o, bool) or not isinstance(o, int) or o < 1 for o in orders):
        raise ValueError(f"`taylorseer_orders` must hold ints >= 1, got {orders!r}.")
    freqca_config = freqca_config or paper_config(model.name, 6)
    transformer = build_transformer(model, "meta", dtype)
    inputs = make_inputs(model, height, width, batch_size, "meta", dtype, text_tokens)
    layout = image_layout(model, height, width)
    report = MemoryReport(
        model=model.name,
        height=height,
        width=width,
        batch_size=batch_size,
        image_tokens=layout.seq_len,
        text_tokens=inputs["encoder_hidden_states"].shape[1],
        dtype=str(dtype).replace("torch.", ""),
    )
    freqca, report.freqca_shared_bytes = measure_freqca(transformer, inputs, layout, freqca_config)
    report.caches.append(freqca)
    for order in orders:
        report.caches.append(measure_taylorseer(transformer, inputs, order))
    report.caches.append(measure_first_block_cache(transformer, inputs))
    report.caches.append(
        measure_layerwise(transformer, inputs, layerwise_order + 1, f"layer-wise, order {layerwise_order}")
    )
    if layerwise_order != 0:
        report.caches.append(measure_layerwise(transformer, inputs, 1, "layer-wise, one copy per feature"))
    return report


def _format_bytes(num: int) -> str:
    mib = num / 2**20
    return f"{mib:,.2f}" if mib < 100 else f"{mib:,.1f}"


def format_report(report: MemoryReport) -> str:
    r"""
    The Markdown table of one [`MemoryReport`], with a line about the setting above it.

    Args:
        report (`MemoryReport`): from [`measure_cache_memory`].

    Returns:
        `str`: the Markdown text.

    Example:
        ```python
        >>> print(format_report(measure_cache_memory(MODELS["flux.1-dev"])))
        ```
    """
    lines = [
        f"**{report.model}**, {report.height}x{report.width}, batch {report.batch_size}, {report.dtype}: "
        f"{report.image_tokens} image tokens, {report.text_tokens} text tokens; memory of one cache context.",
        "",
        "| cache | tensors | MiB | FreqCa / this | counted from shapes | what is held |",
        "|---|---:|---:|---:|---|---|",
    ]
    ratios = report.ratios()
    for cache in report.caches:
        ratio = "" if cache is report.caches[0] else f"{100 * ratios.get(cache.method, math.nan):.2f}%"
        if cache.expected_bytes is None:
            check = "(counted from shapes)"
        elif cache.expected_bytes == cache.bytes:
            check = "equal"
        else:
            check = f"differs: {_format_bytes(cache.expected_bytes)} MiB"
        lines.append(
            f"| {cache.method} | {cache.tensors} | {_format_bytes(cache.bytes)} | {ratio} | {check} | {cache.note} |"
        )
    if report.freqca_shared_bytes:
        lines.append("")
        lines.append(
            f"FreqCa's band split also keeps {report.freqca_shared_bytes / 2**10:.1f} KiB of tables (frequency masks, "
            "and DCT matrices with `dct`), once for all contexts."
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    r"""
    The command-line parser of `python -m benchmarks.memory`.

    Returns:
        `argparse.ArgumentParser`: the parser.

    Example:
        ```python
        >>> build_parser().parse_args(["--quick"]).quick
        True
        ```
    """
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.memory",
        description=(
            "Cache memory of one cache context (e.g. 'cond') at FLUX.1-dev and Qwen-Image shapes: FreqCa against "
            "diffusers' TaylorSeerCache and FirstBlockCache and a layer-wise cache of every block's attention and MLP "
            "outputs. The real transformers are built on the meta device (no weights, no memory, a few seconds on a "
            "CPU) and each cache is run until it holds its full state; the bytes are counted from its tensors."
        ),
    )
    parser.add_argument(
        "--models", nargs="+", choices=sorted(MODELS), default=sorted(MODELS), help="models to measure (default: both)"
    )
    parser.add_argument("--height", type=int, default=1024, help="image height in pixels (default: 1024)")
    parser.add_argument("--width", type=int, default=1024, help="image width in pixels (default: 1024)")
    parser.add_argument("--batch-size", type=int, default=1, help="images per transformer call (default: 1)")
    parser.add_argument(
        "--text-tokens",
        type=int,
        default=None,
        help="prompt tokens (default: 512 for FLUX.1-dev, its padded T5 length; 256 for Qwen-Image)",
    )
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bfloat16", help="model dtype (default: bfloat16)")
    parser.add_argument(
        "--cache-interval",
        type=int,
        default=6,
        help="FreqCa's cache_interval, the paper's recipe otherwise (default: 6)",
    )
    parser.add_argument(
        "--decomposition",
        choices=DECOMPOSITIONS,
        default=None,
        help="FreqCa's band split (default: the paper's, dct for FLUX.1-dev and fft for Qwen-Image)",
    )
    parser.add_argument(
        "--taylorseer-orders",
        type=int,
        nargs="+",
        default=[1, 2],
        help="TaylorSeerCache max_order values to measure (default: 1 2; 1 is diffusers' default)",
    )
    parser.add_argument(
        "--layerwise-order", type=int, default=2, help="forecast order of the layer-wise cache (default: 2)"
    )
    parser.add_argument("--quick", action="store_true", help="small models of the same architectures at 256x256")
    parser.add_argument("--output-json", type=Path, default=None, help="also write the results to this JSON file")
    return parser


def main(argv: list[str] | None = None) -> int:
    r"""
    Runs the memory benchmark and prints one markdown table per model.

    Args:
        argv (`list[str]`, *optional*): the arguments; `None` reads the command line.

    Returns:
        `int`: 0 on success.

    Example:
        ```bash
        python -m benchmarks.memory --output-json memory.json
        ```
    """
    args = build_parser().parse_args(argv)
    models = QUICK_MODELS if args.quick else MODELS
    height, width = (256, 256) if args.quick else (args.height, args.width)
    reports, configs = [], {}
    for name in args.models:
        changes = {"decomposition": args.decomposition} if args.decomposition else {}
        freqca_config = configs[name] = paper_config(name, args.cache_interval, **changes)
        report = measure_cache_memory(
            models[name],
            height=height,
            width=width,
            batch_size=args.batch_size,
            dtype=_dtype(args.dtype),
            text_tokens=args.text_tokens,
            freqca_config=freqca_config,
            taylorseer_orders=args.taylorseer_orders,
            layerwise_order=args.layerwise_order,
        )
        reports.append(report)
        print(format_report(report))
        print()
    if args.output_json is not None:
        args.output_json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "benchmark": "memory",
            "freqca_configs": {name: config.to_dict() for name, config in configs.items()},
            "reports": [report.to_dict() for report in reports],
        }
        args.output_json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"Wrote {args.output_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
