# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""FreqCa under diffusers' memory-saving and multi-device placements, in real pipelines with tiny components.

Every placement must give the output of the same cached run without it, record the same computed and predicted
steps, keep its hooks over consecutive calls, and not depend on whether `enable_cache` comes before or after the
placement. On predicted steps no transformer-block weight may be moved: the counters below record, per transformer
call, the block weight tensors that group offloading (`ModuleGroup.onload_`) and accelerate's offloading hooks
(`AlignDevicesHook.pre_forward` with `offload=True`) bring to the execution device.

Placements that need CUDA are marked `gpu` (or `multi_gpu`) and skip themselves on CPU-only machines.
"""

import contextlib
import dataclasses
import functools
import importlib.util
import os
import sys
import tempfile
import types
from pathlib import Path
from unittest import mock

import accelerate
import pytest
import torch
from accelerate.hooks import AlignDevicesHook
from diffusers.hooks import HookRegistry
from diffusers.hooks.group_offloading import (
    _LAZY_PREFETCH_GROUP_OFFLOADING,
    LazyPrefetchGroupOffloadingHook,
    ModuleGroup,
)
from parameterized import parameterized
from tiny_pipelines import build_tiny_pipeline, transformer_blocks

import diffusers_freqca
from diffusers_freqca import FreqCaConfig, get_freqca_stats
from diffusers_freqca.hooks import _FREQCA_HOOK_NAMES


# 12 steps with cache_interval=3 and the consecutive warm-up: full steps 0, 1 (warm-up), then 1 + ceil(3 / 2) = 3, 6, 9;
# the other 7 are predicted.
CONFIG = {"cache_interval": 3, "warmup_stride": 1}
FULL_STEPS = [0, 1, 3, 6, 9]
SEEDS = (0, 1)  # two consecutive calls with different noise
ORDERS = ("before", "after")  # enable_cache before / after the placement is set up
CPU = torch.device("cpu")
REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = REPO_ROOT / "examples" / "offloading_multi_gpu.py"
TINY_CHECKPOINT = REPO_ROOT / "src" / "diffusers_freqca" / "assets" / "tiny-flux" / "transformer" / "config.json"

try:
    import peft  # noqa: F401

    HAS_PEFT = True
except ImportError:
    HAS_PEFT = False


@pytest.fixture(autouse=True)
def _single_thread():
    # These models are tiny: several intra-op threads only contend with each other (and with other jobs on a small
    # shared machine), which makes calls up to 100x slower and their timings erratic.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _cpu_disk_device_map(transformer: torch.nn.Module) -> dict[str, str]:
    # Embedders, output head and the first block on the CPU; every other block (the tail included) on disk, so that
    # their parameters sit on `meta` between forwards and are read from the offload folder when a block runs.
    device_map, first = {}, True
    for name, child in transformer.named_children():
        if isinstance(child, torch.nn.ModuleList):
            for index in range(len(child)):
                device_map[f"{name}.{index}"] = "cpu" if first else "disk"
                first = False
        else:
            device_map[name] = "cpu"
    return device_map


def _group_offload(offload_type: str, num_blocks_per_group: int | None = None, to_disk: bool = False):
    def place(pipe, offload_dir):
        pipe.transformer.enable_group_offload(
            onload_device=CPU,
            offload_device=CPU,
            offload_type=offload_type,
            num_blocks_per_group=num_blocks_per_group,
            offload_to_disk_path=offload_dir if to_disk else None,
        )

    return place


def _model_cpu_offload(pipe, offload_dir):
    pipe.enable_model_cpu_offload(device="cpu")


def _dispatch_cpu_disk(pipe, offload_dir):
    accelerate.dispatch_model(
        pipe.transformer, device_map=_cpu_disk_device_map(pipe.transformer), offload_dir=offload_dir
    )


PLACEMENTS = {
    "model_cpu_offload": _model_cpu_offload,
    "group_block_1": _group_offload("block_level", num_blocks_per_group=1),
    "group_block_2": _group_offload("block_level", num_blocks_per_group=2),
    "group_leaf": _group_offload("leaf_level"),
    "group_block_disk": _group_offload("block_level", num_blocks_per_group=1, to_disk=True),
    "device_map_cpu_disk": _dispatch_cpu_disk,
}
GROUP_PLACEMENTS = ("group_block_1", "group_block_2", "group_leaf", "group_block_disk")


def _context_stats(transformer) -> dict[str, tuple[int, int, list[int]]]:
    if getattr(transformer, "_freqca_runtime", None) is None:
        return {}
    return {
        name: (stats.computed_steps, stats.predicted_steps, stats.full_steps)
        for name, stats in get_freqca_stats(transformer).contexts.items()
    }


def _images(result) -> torch.Tensor:
    images = result.images
    return images.detach().cpu() if isinstance(images, torch.Tensor) else torch.from_numpy(images)


def _run_calls(pipe, inputs, after_each=None) -> tuple[list[torch.Tensor], list[dict]]:
    outputs, stats = [], []
    for seed in SEEDS:
        outputs.append(_images(pipe(**inputs(seed=seed))))
        stats.append(_context_stats(pipe.transformer))
        if after_each is not None:
            after_each(pipe)
    return outputs, stats


@functools.cache
def _reference(pipeline_name: str, lora: bool = False):
    """The cached run without any placement (with a LoRA if `lora`): the uncached output of the first seed, then the
    outputs and statistics of the consecutive cached calls."""
    pipe, inputs = build_tiny_pipeline(pipeline_name)
    uncached = _images(pipe(**inputs(seed=SEEDS[0])))
    pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
    if lora:
        pipe.load_lora_weights(_lora_state_dict(pipe.transformer))
    outputs, stats = _run_calls(pipe, inputs)
    return uncached, outputs, stats


def _assert_freqca_intact(transformer) -> None:
    """FreqCa's hooks are still applied, outermost on every block and on the output head, with their own forward in
    place."""
    runtime = transformer._freqca_runtime
    assert runtime is not None and transformer.is_cache_enabled
    assert runtime.pre_hook_handle.id in transformer._forward_pre_hooks
    blocks = transformer_blocks(transformer)
    assert [module for module, _, _ in runtime.hooked] == [*blocks, transformer.norm_out]
    for block, name, hook in runtime.hooked:
        assert name in _FREQCA_HOOK_NAMES and block._diffusers_hook.hooks[name] is hook
        forward = hook.fn_ref.forward
        assert isinstance(forward, functools.partial) and forward.func == hook.new_forward


def _assert_same_as_reference(outputs, stats, reference) -> None:
    _, ref_outputs, ref_stats = reference
    for output, ref_output in zip(outputs, ref_outputs, strict=True):
        torch.testing.assert_close(output, ref_output, atol=1e-5, rtol=1e-5)
    assert stats == ref_stats


class WeightOnloadCounter:
    r"""
    Counts, per call of `transformer`, the transformer-block weight tensors moved to the execution device by group
    offloading (`ModuleGroup.onload_`) and by accelerate's offloading hooks (`AlignDevicesHook.pre_forward` of a hook
    with `offload=True`), and the calls of accelerate's hooks on the blocks themselves, which move the block's inputs
    to its execution device (`block_input_moves`). Use it as a context manager; read the lists afterwards.

    Args:
        transformer (`torch.nn.Module`): the transformer whose calls are counted.
    """

    def __init__(self, transformer: torch.nn.Module):
        self.transformer = transformer
        self.block_tensors: list[int] = []
        self.block_input_moves: list[int] = []
        # Group offloading keeps the parameter objects (it swaps their `.data`); accelerate replaces them on every
        # load, so its hooks are matched by module.
        self._block_parameters = {id(p) for block in transformer_blocks(transformer) for p in block.parameters()}
        self._block_modules = {id(m) for block in transformer_blocks(transformer) for m in block.modules()}
        self._blocks = {id(block) for block in transformer_blocks(transformer)}
        self._stack = contextlib.ExitStack()

    def _new_call(self, *_):
        self.block_tensors.append(0)
        self.block_input_moves.append(0)

    def __enter__(self):
        original_onload, original_pre_forward = ModuleGroup.onload_, AlignDevicesHook.pre_forward
        counter = self

        def onload_(group):
            if counter.block_tensors:
                tensors = [p for m in group.modules for p in m.parameters()] + list(group.parameters)
                counter.block_tensors[-1] += sum(id(p) in counter._block_parameters for p in tensors)
            return original_onload(group)

        def pre_forward(hook, module, *args, **kwargs):
            if counter.block_tensors and hook.offload and id(module) in counter._block_modules:
                counter.block_tensors[-1] += len(list(module.parameters(recurse=hook.place_submodules)))
            if counter.block_tensors and id(module) in counter._blocks:
                counter.block_input_moves[-1] += 1
            return original_pre_forward(hook, module, *args, **kwargs)

        self._stack.enter_context(mock.patch.object(ModuleGroup, "onload_", onload_))
        self._stack.enter_context(mock.patch.object(AlignDevicesHook, "pre_forward", pre_forward))
        handle = self.transformer.register_forward_pre_hook(self._new_call)
        self._stack.callback(handle.remove)
        return self

    def __exit__(self, *exc):
        self._stack.close()


def _expected_onloads(full_steps_per_call: list[list[int]], num_steps: int, tensors_per_full_step: int) -> list[int]:
    expected = []
    for full in full_steps_per_call:
        expected.extend(tensors_per_full_step if step in full else 0 for step in range(num_steps))
    return expected


def _lora_state_dict(transformer: torch.nn.Module, rank: int = 2) -> dict[str, torch.Tensor]:
    # A LoRA on every attention query and value projection, large enough to change the output visibly.
    generator = torch.Generator().manual_seed(7)
    state_dict = {}
    for name, module in transformer.named_modules():
        if name.endswith(("attn.to_q", "attn.to_v")):
            state_dict[f"transformer.{name}.lora_A.weight"] = 0.3 * torch.randn(
                rank, module.in_features, generator=generator
            )
            state_dict[f"transformer.{name}.lora_B.weight"] = 0.3 * torch.randn(
                module.out_features, rank, generator=generator
            )
    return state_dict


# ----------------------------------------------------------------------------------------------------------------------
# Output, statistics and hooks under each placement, in both orders (CPU)
# ----------------------------------------------------------------------------------------------------------------------


@parameterized.expand([("flux",), ("qwenimage",)])
def test_reference_is_really_cached(pipeline_name):
    # Guards the comparisons below: were FreqCa silently dropped by a placement, its output would differ.
    uncached, outputs, stats = _reference(pipeline_name)
    assert (outputs[0] - uncached).abs().max() > 1e-4
    assert stats == [{"cond": (5, 7, FULL_STEPS)}] * 2


@parameterized.expand(
    [("flux", placement, order) for placement in PLACEMENTS for order in ORDERS]
    + [
        ("qwenimage", placement, order)
        for placement in ("model_cpu_offload", "group_block_1", "group_leaf", "device_map_cpu_disk")
        for order in ORDERS
    ]
)
def test_placement_matches_cached_run_without_it(pipeline_name, placement, order):
    pipe, inputs = build_tiny_pipeline(pipeline_name)
    with tempfile.TemporaryDirectory() as offload_dir:
        if order == "before":
            pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
        PLACEMENTS[placement](pipe, offload_dir)
        if order == "after":
            pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
        head_calls = []
        handle = pipe.transformer.proj_out.register_forward_pre_hook(lambda *_: head_calls.append(1))
        outputs, stats = [], []
        for seed in SEEDS:
            head_calls.clear()
            outputs.append(_images(pipe(**inputs(seed=seed))))
            stats.append(_context_stats(pipe.transformer))
            _assert_freqca_intact(pipe.transformer)
            # Predicted steps do not run the transformer's forward (its output head included), in every call: also
            # after model CPU offload re-installed accelerate's hook over the forward at the end of the last call.
            assert len(head_calls) == len(FULL_STEPS), (seed, len(head_calls))
        handle.remove()
        # Removing FreqCa leaves the placement's own forward live: the output is the uncached one again.
        pipe.transformer.disable_cache()
        uncached = _images(pipe(**inputs(seed=SEEDS[0])))
    _assert_same_as_reference(outputs, stats, _reference(pipeline_name))
    if placement == "model_cpu_offload":
        # The pipeline re-applied its offloading at the end of each call; FreqCa's hooks survived it.
        assert pipe.transformer._hf_hook is not None
    torch.testing.assert_close(uncached, _reference(pipeline_name)[0], atol=1e-5, rtol=1e-5)


def test_from_pretrained_device_map_with_max_memory():
    pipe, inputs = build_tiny_pipeline("flux")
    transformer_class = type(pipe.transformer)
    size = sum(p.numel() * p.element_size() for p in pipe.transformer.parameters())
    with tempfile.TemporaryDirectory() as folder:
        pipe.transformer.save_pretrained(os.path.join(folder, "transformer"))
        # 80% of the weights fit on the "CPU device": accelerate puts the rest on disk.
        transformer = transformer_class.from_pretrained(
            os.path.join(folder, "transformer"),
            device_map="auto",
            max_memory={"cpu": int(0.8 * size)},
            offload_folder=os.path.join(folder, "offload"),
        )
        assert set(transformer.hf_device_map.values()) == {"cpu", "disk"}
        transformer.enable_cache(FreqCaConfig(**CONFIG))
        pipe.register_modules(transformer=transformer)
        outputs, stats = _run_calls(pipe, inputs, after_each=lambda pipe: _assert_freqca_intact(pipe.transformer))
    _assert_same_as_reference(outputs, stats, _reference("flux"))


# ----------------------------------------------------------------------------------------------------------------------
# Predicted steps move no transformer-block weights (CPU)
# ----------------------------------------------------------------------------------------------------------------------


@parameterized.expand(
    [(placement, order) for placement in (*GROUP_PLACEMENTS, "device_map_cpu_disk") for order in ("none", *ORDERS)]
)
def test_predicted_steps_onload_no_block_weights(placement, order):
    pipe, inputs = build_tiny_pipeline("flux")
    blocks = transformer_blocks(pipe.transformer)
    if placement == "device_map_cpu_disk":
        # Only the disk-mapped blocks (all but the first) are loaded by accelerate's hooks.
        per_full_step = sum(len(list(block.parameters())) for block in blocks[1:])
    else:
        per_full_step = sum(len(list(block.parameters())) for block in blocks)
    num_steps = inputs.kwargs["num_inference_steps"]
    with tempfile.TemporaryDirectory() as offload_dir:
        if order == "before":
            pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
        PLACEMENTS[placement](pipe, offload_dir)
        if order == "after":
            pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
        with WeightOnloadCounter(pipe.transformer) as counter:
            _, stats = _run_calls(pipe, inputs)
    if order == "none":
        full_steps = [list(range(num_steps))] * len(SEEDS)  # without FreqCa every step loads every block
    else:
        full_steps = [call_stats["cond"][2] for call_stats in stats]
        assert full_steps == [FULL_STEPS] * len(SEEDS)
    assert counter.block_tensors == _expected_onloads(full_steps, num_steps, per_full_step)
    if placement == "device_map_cpu_disk":
        # accelerate also hooks every block itself, to move its inputs to its device. With the default target (the
        # model output) a predicted step does not run the transformer's forward at all, so no block sees an input,
        # whichever came first (FreqCa enabled before the dispatch is wrapped by accelerate's block hooks).
        expected = [len(blocks) if n else 0 for n in _expected_onloads(full_steps, num_steps, 1)]
        assert counter.block_input_moves == expected


@parameterized.expand([(placement, order) for placement in ("group_block_1", "group_leaf") for order in ORDERS])
@pytest.mark.skipif(not HAS_PEFT, reason="LoRA loading needs `peft` (part of the `test` extra)")
def test_lora_load_and_unload_under_group_offloading(placement, order):
    # Loading and unloading a LoRA removes and re-applies group offloading on every block. diffusers' hook removal
    # then rewrites the forward of the hook above the removed one (ours): FreqCa must come out of it intact and
    # outermost, without a stale group offloading hook left in the chain (which would onload every group twice).
    pipe, inputs = build_tiny_pipeline("flux")
    _, base_outputs, _ = _reference("flux")
    reference = _reference("flux", lora=True)
    assert (reference[1][0] - base_outputs[0]).abs().max() > 1e-3  # the LoRA matters
    num_steps = inputs.kwargs["num_inference_steps"]
    with tempfile.TemporaryDirectory() as offload_dir:
        if order == "before":
            pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
        PLACEMENTS[placement](pipe, offload_dir)
        if order == "after":
            pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
        pipe(**inputs(seed=SEEDS[0]))  # a first call, so that FreqCa is already on top when the LoRA arrives
        pipe.load_lora_weights(_lora_state_dict(pipe.transformer))
        with WeightOnloadCounter(pipe.transformer) as counter:
            outputs, stats = _run_calls(pipe, inputs, after_each=lambda pipe: _assert_freqca_intact(pipe.transformer))
        _assert_same_as_reference(outputs, stats, reference)
        per_full_step = sum(len(list(block.parameters())) for block in transformer_blocks(pipe.transformer))
        full_steps = [call_stats["cond"][2] for call_stats in stats]
        assert counter.block_tensors == _expected_onloads(full_steps, num_steps, per_full_step)

        pipe.unload_lora_weights()
        with WeightOnloadCounter(pipe.transformer) as counter:
            outputs, stats = _run_calls(pipe, inputs, after_each=lambda pipe: _assert_freqca_intact(pipe.transformer))
        _assert_same_as_reference(outputs, stats, _reference("flux"))
        per_full_step = sum(len(list(block.parameters())) for block in transformer_blocks(pipe.transformer))
        full_steps = [call_stats["cond"][2] for call_stats in stats]
        assert counter.block_tensors == _expected_onloads(full_steps, num_steps, per_full_step)


@parameterized.expand([(order,) for order in ORDERS])
def test_stream_prefetch_tracing_keeps_freqca(order):
    # With `use_stream=True` (CUDA only), group offloading registers a prefetch hook on the model that traces the block
    # execution order during the first call, through a tracker hook on every block, and then removes the trackers.
    # That removal rewrites the forward of the hook above each tracker: FreqCa's. The same hooks are put in place here
    # without a stream, which runs on the CPU (groups then onload themselves and prefetch the next one).
    pipe, inputs = build_tiny_pipeline("flux")
    if order == "before":
        pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
    PLACEMENTS["group_block_1"](pipe, None)
    registry = HookRegistry.check_if_exists_or_initialize(pipe.transformer)
    registry.register_hook(LazyPrefetchGroupOffloadingHook(), _LAZY_PREFETCH_GROUP_OFFLOADING)
    if order == "after":
        pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
    with WeightOnloadCounter(pipe.transformer) as counter:
        outputs, stats = _run_calls(pipe, inputs, after_each=lambda pipe: _assert_freqca_intact(pipe.transformer))
    _assert_same_as_reference(outputs, stats, _reference("flux"))
    # On a predicted step the model's own group prefetches the first block group of the traced chain when its hook
    # runs before FreqCa's on the transformer (FreqCa enabled first); enabled after, FreqCa returns the forecast first
    # and nothing is moved.
    first_block = len(list(transformer_blocks(pipe.transformer)[0].parameters())) if order == "before" else 0
    full_steps = [call_stats["cond"][2] for call_stats in stats]
    predicted = _expected_onloads(full_steps, inputs.kwargs["num_inference_steps"], 1)
    predicted_calls = len(SEEDS) * (inputs.kwargs["num_inference_steps"] - len(FULL_STEPS))  # 2 x 7
    assert [n for n, full in zip(counter.block_tensors, predicted) if not full] == [first_block] * predicted_calls


# ----------------------------------------------------------------------------------------------------------------------
# Devices: the cache follows the hidden states, never the parameters (CPU)
# ----------------------------------------------------------------------------------------------------------------------


@parameterized.expand([(order,) for order in ORDERS])
def test_cache_lives_on_tail_output_device_with_meta_parameters(order):
    pipe, inputs = build_tiny_pipeline("flux")
    tail = transformer_blocks(pipe.transformer)[-1]
    output_devices, cache_devices, tail_parameter_devices = set(), set(), set()

    def record_output(module, args, output):
        outputs = output if isinstance(output, tuple) else (output,)
        output_devices.update(t.device for t in outputs if isinstance(t, torch.Tensor))

    def record_cache(pipe, step, timestep, callback_kwargs):
        state = pipe.transformer._freqca_runtime.state_manager._state_cache["cond"]
        cache_devices.update(t.device for t in state.forecaster.tensors)
        tail_parameter_devices.update(p.device for p in tail.parameters())
        return callback_kwargs

    with tempfile.TemporaryDirectory() as offload_dir:
        if order == "before":
            pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
        _dispatch_cpu_disk(pipe, offload_dir)
        if order == "after":
            pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
        tail.register_forward_hook(record_output)
        output = _images(pipe(**inputs(seed=SEEDS[0]), callback_on_step_end=record_cache))
    # Between forwards the tail block's weights are on `meta` (a device inferred from them would be wrong); the cache
    # is where the tail's output is.
    assert tail_parameter_devices == {torch.device("meta")}
    assert cache_devices == output_devices == {CPU}
    torch.testing.assert_close(output, _reference("flux")[1][0], atol=1e-5, rtol=1e-5)


# ----------------------------------------------------------------------------------------------------------------------
# The example script
# ----------------------------------------------------------------------------------------------------------------------


def _load_example():
    # The example imports its neighbour `_common`, as it does when run as a script from examples/.
    if str(EXAMPLE.parent) not in sys.path:
        sys.path.insert(0, str(EXAMPLE.parent))
    spec = importlib.util.spec_from_file_location("offloading_multi_gpu", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_help_and_bad_arguments(capsys):
    example = _load_example()
    with pytest.raises(SystemExit) as exit_info:
        example.main(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    # argparse wraps lines at hyphens: compare without whitespace.
    assert "--modelMODELHubidorfolderofaFLUXpipeline(default:black-forest-labs/FLUX.1-dev)" in "".join(
        help_text.split()
    )
    for mode in ("model_offload", "sequential", "group_block", "group_leaf", "device_map"):
        assert mode in help_text
    for argv, message in (
        (["--tiny", "--mode", "bogus"], "invalid choice: 'bogus'"),
        (["--tiny", "--steps", "0"], "--steps must be >= 1, got 0"),
        (["--tiny", "--compare", "--no-freqca"], "--compare enables FreqCa after its baseline run"),
        (["--tiny", "--record-stream"], "--record-stream needs --use-stream"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            example.main(argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


def _stub_tiny_flux() -> types.ModuleType:
    # Stands in for `diffusers_freqca.tiny_flux` with the same API, backed by the randomly initialised tiny pipeline.
    stub = types.ModuleType("diffusers_freqca.tiny_flux")
    stub.CLASS_NAMES = ("stub",)

    def load_tiny_flux_pipeline(path=None, torch_dtype=torch.float32):
        return build_tiny_pipeline("flux")[0]

    def pipeline_inputs(pipe, classes=None, repeats=1):
        generator = torch.Generator().manual_seed(3)
        count = len(list(classes or [0])) * repeats
        return {
            "prompt_embeds": torch.randn(count, 7, 32, generator=generator),
            "pooled_prompt_embeds": torch.randn(count, 32, generator=generator),
            "height": 64,
            "width": 64,
        }

    stub.load_tiny_flux_pipeline = load_tiny_flux_pipeline
    stub.pipeline_inputs = pipeline_inputs
    return stub


@parameterized.expand([("model_offload",), ("group_block",), ("group_leaf",), ("device_map",)])
def test_example_runs_every_cpu_mode_with_a_stub_checkpoint(mode):
    example = _load_example()
    stub = _stub_tiny_flux()
    with (
        mock.patch.dict(sys.modules, {"diffusers_freqca.tiny_flux": stub}),
        mock.patch.object(diffusers_freqca, "tiny_flux", stub, create=True),
        tempfile.TemporaryDirectory() as folder,
    ):
        output = os.path.join(folder, "image.png")
        argv = ["--tiny", "--mode", mode, "--steps", "8", "--cache-interval", "3", "--output", output]
        if mode == "group_block":
            argv += ["--cache-first", "--blocks-per-group", "2"]
        assert example.main(argv) == 0
        assert os.path.getsize(output) > 0


@pytest.mark.skipif(
    not TINY_CHECKPOINT.exists(), reason=f"the tiny checkpoint ({TINY_CHECKPOINT}) has not been produced yet"
)
def test_example_runs_with_the_tiny_checkpoint(capsys):
    example = _load_example()
    with tempfile.TemporaryDirectory() as folder:
        output = os.path.join(folder, "image.png")
        assert example.main(["--tiny", "--mode", "group_block", "--steps", "10", "--compare", "--output", output]) == 0
        assert os.path.getsize(output) > 0
    printed = capsys.readouterr().out
    assert "without FreqCa" in printed and "speed-up" in printed and "ideal" in printed and "PSNR" in printed
    assert "predicted steps" in printed


# ----------------------------------------------------------------------------------------------------------------------
# GPU-only placements (skipped without CUDA)
# ----------------------------------------------------------------------------------------------------------------------


def _tiny_flux_cuda_inputs():
    # The tiny pipelines take precomputed prompt embeddings, which FluxPipeline does not move: on a GPU run they must
    # be where a text encoder on the execution device would have put them.
    pipe, inputs = build_tiny_pipeline("flux")
    kwargs = {k: v.to("cuda") if isinstance(v, torch.Tensor) else v for k, v in inputs.kwargs.items()}
    return pipe, dataclasses.replace(inputs, kwargs=kwargs)


@functools.cache
def _cuda_reference():
    pipe, inputs = _tiny_flux_cuda_inputs()
    pipe.to("cuda")
    pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
    outputs, stats = _run_calls(pipe, inputs)
    return None, outputs, stats


def _assert_close_to_cuda_reference(outputs, stats) -> None:
    _, ref_outputs, ref_stats = _cuda_reference()
    for output, ref_output in zip(outputs, ref_outputs, strict=True):
        torch.testing.assert_close(output, ref_output, atol=1e-4, rtol=1e-4)
    assert stats == ref_stats


@parameterized.expand(
    [
        (offload_type, record_stream, order)
        for offload_type in ("block_level", "leaf_level")
        for record_stream in (False, True)
        for order in ORDERS
    ]
)
@pytest.mark.gpu
def test_group_offload_with_streams_gpu(offload_type, record_stream, order):
    pipe, inputs = _tiny_flux_cuda_inputs()
    pipe.vae.to("cuda")
    if order == "before":
        pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
    pipe.transformer.enable_group_offload(
        onload_device=torch.device("cuda"),
        offload_device=CPU,
        offload_type=offload_type,
        num_blocks_per_group=1 if offload_type == "block_level" else None,
        use_stream=True,
        record_stream=record_stream,
    )
    if order == "after":
        pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
    with WeightOnloadCounter(pipe.transformer) as counter:
        outputs, stats = _run_calls(pipe, inputs, after_each=lambda pipe: _assert_freqca_intact(pipe.transformer))
    _assert_close_to_cuda_reference(outputs, stats)
    blocks = transformer_blocks(pipe.transformer)
    per_full_step = sum(len(list(block.parameters())) for block in blocks)
    first_block = len(list(blocks[0].parameters()))
    full = [call_stats["cond"][2] for call_stats in stats]
    steps = [step in call_full for call_full in full for step in range(inputs.kwargs["num_inference_steps"])]
    for is_full, onloaded in zip(steps[1:], counter.block_tensors[1:], strict=True):
        if is_full:
            # What the previous step prefetched (the first block's group) is not loaded again.
            assert per_full_step - first_block <= onloaded <= per_full_step
        else:
            # The model's top-level hook prefetches the first group of the recorded chain before FreqCa decides to
            # skip; nothing beyond it is moved.
            assert onloaded <= first_block


@parameterized.expand([(order,) for order in ORDERS])
@pytest.mark.gpu
def test_sequential_cpu_offload_gpu(order):
    pipe, inputs = _tiny_flux_cuda_inputs()
    if order == "before":
        pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
    pipe.enable_sequential_cpu_offload(device="cuda")
    if order == "after":
        pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
    with WeightOnloadCounter(pipe.transformer) as counter:
        outputs, stats = _run_calls(pipe, inputs, after_each=lambda pipe: _assert_freqca_intact(pipe.transformer))
    _assert_close_to_cuda_reference(outputs, stats)
    per_full_step = sum(len(list(block.parameters())) for block in transformer_blocks(pipe.transformer))
    full_steps = [call_stats["cond"][2] for call_stats in stats]
    assert counter.block_tensors == _expected_onloads(full_steps, inputs.kwargs["num_inference_steps"], per_full_step)


@parameterized.expand([(order,) for order in ORDERS])
@pytest.mark.gpu
def test_cuda_cpu_device_map_gpu(order):
    pipe, inputs = _tiny_flux_cuda_inputs()
    pipe.vae.to("cuda")
    # Blocks mapped to "cpu" are offloaded: they execute on the GPU with weights streamed in by accelerate.
    device_map = {
        name: 0 if device == "cpu" else "cpu" for name, device in _cpu_disk_device_map(pipe.transformer).items()
    }
    if order == "before":
        pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
    accelerate.dispatch_model(pipe.transformer, device_map=device_map, main_device=0)
    if order == "after":
        pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
    with WeightOnloadCounter(pipe.transformer) as counter:
        outputs, stats = _run_calls(pipe, inputs, after_each=lambda pipe: _assert_freqca_intact(pipe.transformer))
    _assert_close_to_cuda_reference(outputs, stats)
    per_full_step = sum(len(list(block.parameters())) for block in transformer_blocks(pipe.transformer)[1:])
    full_steps = [call_stats["cond"][2] for call_stats in stats]
    assert counter.block_tensors == _expected_onloads(full_steps, inputs.kwargs["num_inference_steps"], per_full_step)


@pytest.mark.gpu
def test_pipeline_device_map_balanced_gpu():
    pipe, inputs = _tiny_flux_cuda_inputs()
    with tempfile.TemporaryDirectory() as folder:
        pipe.save_pretrained(folder)
        # The tiny pipeline has no text encoders or tokenizers; they are passed as None again.
        missing = dict.fromkeys(("text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2"))
        pipe = type(pipe).from_pretrained(folder, device_map="balanced", **missing)
    pipe.set_progress_bar_config(disable=True)
    assert pipe.transformer.device.type == "cuda"
    pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
    outputs, stats = _run_calls(pipe, inputs, after_each=lambda pipe: _assert_freqca_intact(pipe.transformer))
    _assert_close_to_cuda_reference(outputs, stats)


@parameterized.expand([(order,) for order in ORDERS])
@pytest.mark.multi_gpu
def test_blocks_split_over_two_gpus_multi_gpu(order):
    # The first half of the blocks (and the embedders) on cuda:0, the rest (the tail and the output head) on cuda:1:
    # the head block's input and the tail block's output live on different devices.
    pipe, inputs = _tiny_flux_cuda_inputs()
    pipe.vae.to("cuda:0")
    blocks = transformer_blocks(pipe.transformer)
    names = list(_cpu_disk_device_map(pipe.transformer))
    block_names = [name for name in names if name.split(".")[-1].isdigit()]
    device_map = dict.fromkeys(names, 0)
    device_map.update(dict.fromkeys(block_names[len(block_names) // 2 :], 1))
    device_map.update({"norm_out": 1, "proj_out": 1})
    tail_devices, cache_devices = set(), set()
    blocks[-1].register_forward_hook(
        lambda module, args, output: tail_devices.update(
            t.device for t in (output if isinstance(output, tuple) else (output,)) if isinstance(t, torch.Tensor)
        )
    )

    def record_cache(pipe, step, timestep, callback_kwargs):
        state = pipe.transformer._freqca_runtime.state_manager._state_cache["cond"]
        cache_devices.update(t.device for t in state.forecaster.tensors)
        return callback_kwargs

    if order == "before":
        pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
    accelerate.dispatch_model(pipe.transformer, device_map=device_map)
    if order == "after":
        pipe.transformer.enable_cache(FreqCaConfig(**CONFIG))
    outputs, stats = [], []
    for seed in SEEDS:
        outputs.append(_images(pipe(**inputs(seed=seed), callback_on_step_end=record_cache)))
        stats.append(_context_stats(pipe.transformer))
        _assert_freqca_intact(pipe.transformer)
    _assert_close_to_cuda_reference(outputs, stats)
    # The cache is on the tail's device. Enabled after the dispatch, FreqCa skips accelerate's block hooks too: on a
    # predicted step the hidden states stay on cuda:0 and the forecast is moved there. Enabled before, those hooks
    # still move the hidden states of each skipped block to its device.
    assert cache_devices == {torch.device("cuda", 1)}
    expected_tail = (
        {torch.device("cuda", 0), torch.device("cuda", 1)} if order == "after" else {torch.device("cuda", 1)}
    )
    assert tail_devices == expected_tail
