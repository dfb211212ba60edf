# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""FreqCa under diffusers' context parallelism equals FreqCa in one process, step by step.

Two (and four) processes on the CPU with the gloo backend run tiny Flux and Qwen-Image transformers under Ulysses,
ring and combined context parallelism, with and without a band split; the test process runs the same scenario alone.
Every rank must produce the single-process outputs at every step, compute exactly the reference's full steps (no
block runs on a predicted step, on any rank), cache its share of the image tokens and keep diffusers' split hooks
outside FreqCa's. The workers start once per module (`cp_workers.WorkerPool`); see that module for the test-only
shims that let diffusers 0.42.1 run ring attention and uneven shards on the CPU.

The `multi_gpu` tests run the same comparisons with NCCL, one GPU per rank.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from cp_workers import Case, WorkerPool, run_case, run_pipeline_case, step_differences, tiny_transformer
from diffusers.models._modeling_parallel import ParallelConfig, TensorParallelConfig

from diffusers_freqca import FreqCaConfig
from diffusers_freqca.parallel import ContextParallelGroup


# Outputs are of order 1; plain context parallelism without FreqCa already differs from one process by ~5e-7.
ATOL = 1e-5

CASES = [
    Case("flux", ulysses=2, decomposition="dct"),
    # Without a split the default forecasts the model output (whole on every rank), in both orders; the CRF without a
    # split is forecast per shard.
    Case("flux", ulysses=2, decomposition="none"),
    Case("flux", ulysses=2, decomposition="none", order="cache_first"),
    Case("flux", ulysses=2, decomposition="none", config_overrides={"forecast_target": "crf"}),
    Case("flux", ulysses=1, ring=2, decomposition="fft"),
    Case("qwen", ulysses=2, decomposition="fft"),
    Case("qwen", ulysses=1, ring=2, decomposition="dct"),
    # FreqCa enabled before `enable_parallelism`: diffusers' split hooks land above FreqCa's and must stay there.
    Case("qwen", ulysses=2, decomposition="dct", order="cache_first"),
    # Shards that end in the middle of an image row (25 + 25 and 15 + 15 tokens).
    Case("flux", ulysses=2, decomposition="dct", grid=(5, 10)),
    Case("qwen", ulysses=1, ring=2, decomposition="fft", grid=(5, 6)),
    # Uneven shards (32 + 31 tokens) with `ulysses_anything` / `ring_anything`.
    Case("flux", ulysses=2, decomposition="dct", grid=(7, 9), anything=True),
    Case("qwen", ulysses=1, ring=2, decomposition="fft", grid=(7, 9), anything=True),
]

LIFECYCLE_CASES = [
    Case("flux", ulysses=2, decomposition="dct", scenario="cfg"),
    Case("qwen", ulysses=1, ring=2, decomposition="fft", scenario="resolution"),
    Case("flux", ulysses=1, ring=2, decomposition="dct", scenario="abort"),
    Case("qwen", ulysses=2, decomposition="dct", scenario="abort"),
    # Rank 1 alone asks for a full step at step 5: the vote makes every rank compute it (without it, the ranks
    # would wait for each other in mismatched collectives until the process group times out).
    Case("flux", ulysses=2, decomposition="fft", scenario="vote"),
    Case("qwen", ulysses=1, ring=2, decomposition="none", scenario="vote", vote_rank=0),
]

CASES_2X2 = [
    Case("flux", ulysses=2, ring=2, decomposition="dct"),
    Case("qwen", ulysses=2, ring=2, decomposition="fft", scenario="cfg"),
]


@pytest.fixture(scope="module")
def pool():
    with WorkerPool(2) as workers:
        yield workers


@pytest.fixture(scope="module")
def pool4():
    with WorkerPool(4) as workers:
        yield workers


def _shard_lengths(case: Case, length: int) -> list[int]:
    base, extra = divmod(length, case.degree)
    return [base + (1 if rank < extra else 0) for rank in range(case.degree)]


def assert_same_as_single_process(case: Case, reference: dict, ranks: list[dict]) -> None:
    assert [result["rank"] for result in ranks] == list(range(case.degree))
    for result in ranks:
        rank = result["rank"]
        differences = step_differences(reference["outputs"], result["outputs"])
        assert max(differences) < ATOL, f"rank {rank}: per-step differences {differences}"
        # The reference's full steps, on every rank: blocks run on exactly the same calls, none on predicted steps.
        assert result["blocks_per_call"] == reference["blocks_per_call"], f"rank {rank}"
        assert 0 in result["blocks_per_call"], "nothing was skipped"
        assert set(result["blocks_per_call"]) == {0, result["num_blocks"]}
        for stats, expected in zip(result["stats"], reference["stats"], strict=True):
            assert stats.context_parallel_degree == case.degree and stats.context_parallel_rank == rank
            assert expected.context_parallel_degree == 1
            assert stats.contexts.keys() == expected.contexts.keys()
            for name, context in stats.contexts.items():
                single = expected.contexts[name]
                assert context.full_steps == single.full_steps, f"rank {rank}, context {name}"
                assert (context.computed_steps, context.predicted_steps, context.restarts) == (
                    single.computed_steps,
                    single.predicted_steps,
                    single.restarts,
                )
                # With the CRF each rank caches its shard of the image tokens: its share of the single-process cache.
                # The model output is gathered by diffusers before FreqCa records it (and the latents are read
                # before diffusers splits them): every rank caches all of it, as one process does.
                length = case.grid[0] * (case.grid[1] + (4 if case.scenario == "resolution" else 0))
                whole = case.config().forecast_target == "model_output"
                share = length if whole else _shard_lengths(case, length)[rank]
                assert context.cache_bytes * length == single.cache_bytes * share, f"rank {rank}, context {name}"
                # Every rank forecasts the output in the same form as one process: the noise form for these models.
                assert context.output_forms == single.output_forms, f"rank {rank}, context {name}"
                assert set(single.output_forms) == ({"noise"} if whole else set())
                # The shards are gathered for the band split only, and never in one process.
                assert single.gathered_bytes == 0
                assert (context.gathered_bytes > 0) == (case.decomposition != "none")
    if case.model == "qwen":
        # QwenImage splits the sequence on its first block: diffusers' split hooks stay outside FreqCa's.
        for result in ranks:
            assert result["hook_order"] == [
                "freqca_leader_block_hook",
                "cp_input---transformer_blocks.0",
                "cp_input---transformer_blocks.*",
            ]


@pytest.mark.parametrize("case", CASES, ids=Case.label)
def test_every_step_equals_the_single_process_run(pool, case):
    reference = run_case(case, parallel=False)
    assert_same_as_single_process(case, reference, pool.run(run_case, case))


@pytest.mark.parametrize("case", LIFECYCLE_CASES, ids=Case.label)
def test_contexts_restarts_aborts_and_votes_behave_as_in_one_process(pool, case):
    reference = run_case(case, parallel=False)
    ranks = pool.run(run_case, case)
    assert_same_as_single_process(case, reference, ranks)
    final = reference["stats"][-1]
    if case.scenario == "cfg":
        assert set(final.contexts) == {"cond", "uncond"}
    if case.scenario == "resolution":
        assert next(iter(final.contexts.values())).restarts == 1
    if case.scenario == "abort":
        # The aborted generation's statistics, then a fresh generation with the whole warm-up.
        assert [stats.computed_steps for stats in reference["stats"]] == [4, 7]
        assert next(iter(final.contexts.values())).full_steps[:3] == [0, 1, 2]
    if case.scenario == "vote":
        for result in ranks:
            assert case.vote_step in next(iter(result["stats"][-1].contexts.values())).full_steps


def test_pipeline_with_true_cfg_an_aborted_call_and_two_resolutions(pool):
    case = Case("flux", ulysses=2, decomposition="dct", steps=10)
    reference = run_pipeline_case(case, parallel=False)
    ranks = pool.run(run_pipeline_case, case)
    for result in ranks:
        assert result["blocks_per_call"] == reference["blocks_per_call"]
        for latents, expected in zip(result["latents"], reference["latents"], strict=True):
            differences = step_differences(expected, latents)
            assert max(differences) < ATOL, differences
        for stats, expected in zip(result["stats"], reference["stats"], strict=True):
            assert set(stats.contexts) == set(expected.contexts) == {"cond", "uncond"}
            for name, context in stats.contexts.items():
                assert context.full_steps == expected.contexts[name].full_steps
                assert context.predicted_steps > 0
                assert context.cache_bytes * 2 == expected.contexts[name].cache_bytes


@pytest.mark.parametrize("case", CASES_2X2, ids=Case.label)
def test_ulysses_and_ring_combined_on_four_processes(pool4, case):
    reference = run_case(case, parallel=False)
    assert_same_as_single_process(case, reference, pool4.run(run_case, case))


# ---------------------------------------------------------------------------------------------------- in one process


def _group(rank: int, degree: int, uneven: bool) -> ContextParallelGroup:
    # Without a process group: only the arithmetic of shard lengths.
    return ContextParallelGroup(group=None, rank=rank, degree=degree, uneven=uneven, vote_device=torch.device("cpu"))


def test_shards_are_cut_as_diffusers_cuts_them():
    sequence = torch.arange(63)
    for degree in (2, 3, 4):
        pieces = sequence.tensor_split(degree)
        for rank in range(degree):
            start, end = _group(rank, degree, uneven=True).shard_range(63)
            assert torch.equal(sequence[start:end], pieces[rank])
    for rank, piece in enumerate(torch.arange(64).chunk(4)):
        start, end = _group(rank, 4, uneven=False).shard_range(64)
        assert torch.equal(torch.arange(64)[start:end], piece)
    with pytest.raises(ValueError, match="cannot be cut into 2 equal context-parallel shards"):
        _group(0, 2, uneven=False).shard_range(63)


def test_a_plan_that_gathers_inside_the_blocks_leaves_the_head_input_whole():
    # Helios' plan gathers after every attention and feed-forward: every rank then holds the whole head input, and the
    # band split runs on it as in one process, without exchange.
    from diffusers.hooks import HookRegistry
    from diffusers.hooks.context_parallel import ContextParallelGatherHook
    from diffusers.models._modeling_parallel import ContextParallelOutput

    from diffusers_freqca import BandSplitter, GridSegment, TokenLayout
    from diffusers_freqca.parallel import _gathers_inside_blocks, low_pass_shard

    model = tiny_transformer("flux")
    output = ContextParallelOutput(gather_dim=1, expected_dims=3)
    HookRegistry.check_if_exists_or_initialize(model.proj_out).register_hook(
        ContextParallelGatherHook([output], None), "cp_output---proj_out"
    )
    assert not _gathers_inside_blocks(model)
    HookRegistry.check_if_exists_or_initialize(model.transformer_blocks[0].attn).register_hook(
        ContextParallelGatherHook([output], None), "cp_output---transformer_blocks.0.attn"
    )
    assert _gathers_inside_blocks(model)

    group = ContextParallelGroup(None, 1, 2, False, torch.device("cpu"), head_sharded=False)
    x = torch.randn(1, 48, 8)
    layout = TokenLayout(48, (GridSegment(0, 6, 8),))
    low, received = low_pass_shard(BandSplitter("dct", 0.3), x, layout, group)
    assert received == 0 and torch.equal(low, BandSplitter("dct", 0.3).low_pass(x, layout))


def test_tensor_parallelism_and_unknown_parallel_configs_are_refused():
    model = tiny_transformer("flux")
    model._parallel_config = ParallelConfig(tensor_parallel_config=TensorParallelConfig(tp_degree=2))
    with pytest.raises(ValueError, match="runs tensor parallelism"):
        model.enable_cache(FreqCaConfig(warmup_stride=1))
    model._parallel_config = object()
    with pytest.raises(ValueError, match="cannot read FluxTransformer2DModel's `_parallel_config`"):
        model.enable_cache(FreqCaConfig(warmup_stride=1))
    assert not model.is_cache_enabled


# ---------------------------------------------------------------------------------------------------- the example

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "context_parallel.py"


# What a process prints when gloo's C++ worker threads outlive the interpreter at exit (a teardown race in
# PyTorch's gloo backend, seen once in many runs on a loaded 2-core machine after the example had finished its work;
# discussed in pytorch/pytorch#179291). Only this signature is retried, once: any other failure fails the test.
GLOO_TEARDOWN_ABORT = "terminate called without an active exception"


def _torchrun(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(EXAMPLE)]
    result = subprocess.run([*command, *args], capture_output=True, text=True, env=env, timeout=300)
    if result.returncode != 0 and GLOO_TEARDOWN_ABORT in result.stderr:
        result = subprocess.run([*command, *args], capture_output=True, text=True, env=env, timeout=300)
    return result


def test_example_runs_under_torchrun_on_two_cpu_processes(tmp_path):
    output = tmp_path / "image.png"
    result = _torchrun("--tiny", "--steps", "10", "--interval", "3", "--output", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("context parallelism: ulysses 2 x ring 1 over 2 processes (gloo, cpu)"), lines
    summaries = [line for line in lines if "most recent call" in line]
    assert [line.split("]")[0] for line in summaries] == ["[rank 0", "[rank 1"]
    for rank, line in enumerate(summaries):
        assert line.endswith(f"on rank {rank} of 2 (context parallel)"), line
    full_steps = [line.split("full steps ")[1] for line in lines if "full steps" in line]
    assert len(full_steps) == 2 and full_steps[0] == full_steps[1], full_steps
    computed, predicted = map(int, re.search(r"(\d+) computed \+ (\d+) predicted", summaries[0]).groups())
    assert computed + predicted == 10 and predicted > 0
    gathered = float(re.search(r"rank 0 gathered ([\d.]+) MiB", result.stdout).group(1))
    assert gathered > 0
    difference = float(re.search(r"single-process run over 10 steps: (\S+)", result.stdout).group(1))
    assert difference < 1e-4
    assert output.is_file() and f"saved {output}" in lines[-1]


@pytest.mark.slow
def test_example_measures_the_gather():
    result = _torchrun("--tiny", "--measure-gather", "--tokens", "256", "--channels", "64", "--repeats", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("2 ranks (gloo, cpu), one image of 256 tokens x 64 channels"), lines
    assert "each rank receives 0.0 MiB per full step" in lines[0]
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["gather", "gather + dct low-pass", "vote"]


# ---------------------------------------------------------------------------------------------------- NCCL


@pytest.fixture(scope="module")
def nccl_pool():
    with WorkerPool(2, backend="nccl") as workers:
        yield workers


@pytest.mark.multi_gpu
@pytest.mark.parametrize("case", CASES + LIFECYCLE_CASES, ids=Case.label)
def test_every_step_equals_the_single_process_run_multi_gpu(nccl_pool, case):
    reference = run_case(case, parallel=False, device="cuda:0")
    assert_same_as_single_process(case, reference, nccl_pool.run(run_case, case))


@pytest.mark.multi_gpu
def test_pipeline_multi_gpu(nccl_pool):
    case = Case("flux", ulysses=2, decomposition="dct", steps=10)
    reference = run_pipeline_case(case, parallel=False)
    for result in nccl_pool.run(run_pipeline_case, case):
        assert result["blocks_per_call"] == reference["blocks_per_call"]
        for latents, expected in zip(result["latents"], reference["latents"], strict=True):
            assert max(step_differences(expected, latents)) < 1e-4
