# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""Several processes for the context-parallel tests, and the runs they compare.

`WorkerPool(world_size)` starts `world_size` processes once (process start-up and imports take 5-25 s on a small
machine, so a test module keeps one pool for all its tests), joins them in one `torch.distributed` process group
(gloo on the CPU, NCCL on GPUs) and runs picklable functions on every rank at once: `pool.run(fn, *args)` returns the
list of the ranks' results, or raises with every rank's traceback.

`run_case(case)` is one scenario of a tiny Flux or Qwen-Image transformer with FreqCa: in the test process (no
parallelism, the reference) or on every worker (under `case.ulysses` x `case.ring` context parallelism). It returns the
model's output at every step, FreqCa's statistics and how many blocks computed at every call, so a test compares the
two runs step by step. `run_pipeline_case(case)` does the same for a whole `FluxPipeline` with true CFG.

Shims for diffusers 0.42.1 on the CPU, all test-only and installed in the workers only:

- `torch.accelerator.device_count` returns 0 on CPU-only torch, and `enable_parallelism` takes the rank modulo it:
  it is made to return 1.
- Ring attention needs an attention backend that returns the log-sum-exp of each query's scores; in 0.42.1 every
  such backend needs CUDA, and the native one raises `Native attention does not support return_lse=True`.
  `enable_ring_attention_on_cpu` swaps the native backend's context-parallel forward op for a float32 math version
  that returns it (`(batch, seq, heads)`, the layout ring attention merges). Not used with padded attention masks.
- With `ulysses_anything` / `ring_anything`, diffusers gathers the transformer's output from shards of different
  lengths with one `all_gather` of unequal tensors, which gloo refuses (`ProcessGroupGloo::allgather: invalid tensor
  size`; NCCL accepts it). `enable_uneven_output_gather_on_gloo` pads the shards to the longest one and trims after.

Run as a script it prints, for the docs, the per-step difference of FreqCa under context parallelism to the
single-process run (`python tests/cp_workers.py --help`).
"""

import argparse
import contextlib
import datetime
import os
import queue
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


# ---------------------------------------------------------------------------------------------------- process pool


def patch_cpu_accelerator_count() -> None:
    """Test-only: lets diffusers' `enable_parallelism` run on CPU-only torch (it takes `rank % device_count()`)."""
    if torch.accelerator.device_count() == 0:
        torch.accelerator.device_count = lambda: 1


def _worker(rank, world_size, backend, init_file, tasks, results, timeout_s):
    torch.set_num_threads(1)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if backend == "gloo":
        patch_cpu_accelerator_count()
    else:
        torch.cuda.set_device(rank)
    dist.init_process_group(
        backend,
        init_method=f"file://{init_file}",
        rank=rank,
        world_size=world_size,
        timeout=datetime.timedelta(seconds=timeout_s),
    )
    # Import the heavy modules once, before the first task; keep the workers' logs to errors.
    import warnings

    import diffusers

    import diffusers_freqca  # noqa: F401

    diffusers.utils.logging.set_verbosity_error()
    warnings.filterwarnings("ignore", category=FutureWarning)

    results.put((rank, "ready", None))
    while True:
        task = tasks.get()
        if task is None:
            break
        fn, args, kwargs = task
        try:
            results.put((rank, "ok", fn(*args, **kwargs)))
        except BaseException:  # noqa: B036 - report everything, the parent decides
            results.put((rank, "error", traceback.format_exc()))
    dist.destroy_process_group()
    # Skip the interpreter's slow teardown of torch and diffusers (seconds on a small machine); nothing is left.
    results.close()
    results.join_thread()
    os._exit(0)


class WorkerPool:
    r"""
    `world_size` processes in one `torch.distributed` process group, started once and reused for many tasks.

    Args:
        world_size (`int`): the number of processes (ranks).
        backend (`str`, defaults to `"gloo"`): `"gloo"` (CPU; CUDA is hidden from the workers) or `"nccl"` (one GPU
            per rank).
        timeout_s (`float`, defaults to `120`): how long a task may take; also the process group's collective
            timeout, so a rank stuck in a collective fails instead of hanging.

    Example:
        ```python
        >>> with WorkerPool(2) as pool:
        ...     pool.run(dist.get_rank)
        [0, 1]
        ```
    """

    def __init__(self, world_size: int, backend: str = "gloo", timeout_s: float = 120.0):
        self.world_size = world_size
        self.backend = backend
        self.timeout_s = timeout_s
        self.startup_s = None
        self._processes = []
        self._start()

    def _start(self):
        started = time.perf_counter()
        context = mp.get_context("spawn")
        self._directory = tempfile.TemporaryDirectory(prefix="freqca-cp-")
        init_file = os.path.join(self._directory.name, "rendezvous")
        self._tasks = [context.Queue() for _ in range(self.world_size)]
        self._results = context.Queue()
        hide_cuda = {"CUDA_VISIBLE_DEVICES": ""} if self.backend == "gloo" else {}
        with _environment(OMP_NUM_THREADS="1", **hide_cuda):
            self._processes = [
                context.Process(
                    target=_worker,
                    args=(
                        rank,
                        self.world_size,
                        self.backend,
                        init_file,
                        self._tasks[rank],
                        self._results,
                        self.timeout_s,
                    ),
                    daemon=True,
                )
                for rank in range(self.world_size)
            ]
            for process in self._processes:
                process.start()
        self._collect("start-up")
        self.startup_s = time.perf_counter() - started

    def _collect(self, what: str) -> list:
        values, errors = [None] * self.world_size, {}
        deadline = time.monotonic() + self.timeout_s + 30
        for _ in range(self.world_size):
            try:
                rank, status, value = self._results.get(timeout=max(1.0, deadline - time.monotonic()))
            except queue.Empty:
                self.close()
                raise RuntimeError(f"Worker pool: no answer to {what} within {self.timeout_s + 30:.0f} s.") from None
            if status == "error":
                errors[rank] = value
            values[rank] = value
        if errors:
            self.close()
            details = "\n".join(f"--- rank {rank}:\n{text}" for rank, text in sorted(errors.items()))
            raise RuntimeError(f"Worker pool: {what} failed on ranks {sorted(errors)}:\n{details}")
        return values

    def run(self, fn, *args, **kwargs) -> list:
        r"""
        Runs `fn(*args, **kwargs)` on every rank at once.

        Args:
            fn (`Callable`): a module-level (picklable) function.

        Returns:
            `list`: the ranks' return values, in rank order.

        Raises:
            `RuntimeError`: when a rank raised or the ranks did not answer in time; the pool is then closed and
                restarted by the next `run`.
        """
        if not self._processes:
            self._start()
        for tasks in self._tasks:
            tasks.put((fn, args, kwargs))
        return self._collect(getattr(fn, "__name__", repr(fn)))

    def close(self) -> None:
        r"""Stops the workers (the pool restarts on the next `run`)."""
        for process, tasks in zip(self._processes, self._tasks):
            if process.is_alive():
                with contextlib.suppress(Exception):
                    tasks.put(None)
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=10)
        self._processes = []
        self._directory.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@contextlib.contextmanager
def _environment(**values):
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# ---------------------------------------------------------------------------------------------------- CPU shims


def enable_ring_attention_on_cpu() -> None:
    """Test-only: diffusers' native attention backend returns the log-sum-exp that ring attention merges with."""
    import diffusers.models.attention_dispatch as dispatch

    if getattr(dispatch._native_attention_forward_op, "_freqca_test_shim", False):
        return
    original = dispatch._native_attention_forward_op

    def forward_op(ctx, query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                   enable_gqa=False, return_lse=False, _save_ctx=True, _parallel_config=None):  # fmt: skip
        if not return_lse:
            return original(ctx, query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa, return_lse,
                            _save_ctx=_save_ctx, _parallel_config=_parallel_config)  # fmt: skip
        if attn_mask is not None or dropout_p or is_causal or enable_gqa:
            raise NotImplementedError("The test's ring-attention shim computes plain attention only.")
        # (batch, seq, heads, dim) -> (batch, heads, seq, dim), in float32
        q, k, v = (x.transpose(1, 2).float() for x in (query, key, value))
        scores = (q @ k.transpose(-1, -2)) * (scale if scale is not None else q.shape[-1] ** -0.5)
        lse = torch.logsumexp(scores, dim=-1)
        out = torch.softmax(scores, dim=-1) @ v
        return out.transpose(1, 2).to(query.dtype), lse.transpose(1, 2).contiguous()

    forward_op._freqca_test_shim = True
    dispatch._native_attention_forward_op = forward_op


def enable_uneven_output_gather_on_gloo() -> None:
    """Test-only: diffusers' gather of uneven shards, padded to equal sizes for gloo."""
    import diffusers.hooks.context_parallel as context_parallel
    from diffusers.models._modeling_parallel import gather_size_by_comm

    def gather(tensor, dim, group):
        sizes = gather_size_by_comm(tensor.shape[dim], group)
        padding = [0, 0] * (tensor.ndim - 1 - dim) + [0, max(sizes) - tensor.shape[dim]]
        padded = torch.nn.functional.pad(tensor, padding).contiguous()
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded, group=group)
        return torch.cat([part.narrow(dim, 0, size) for part, size in zip(parts, sizes)], dim=dim)

    context_parallel._all_gather_anything = gather


# ---------------------------------------------------------------------------------------------------- tiny models

TEXT_TOKENS = 8  # divisible by every degree the tests use


def tiny_transformer(name: str) -> torch.nn.Module:
    r"""A seeded tiny `FluxTransformer2DModel` (2 + 2 blocks) or `QwenImageTransformer2DModel` (3 blocks), 4 heads."""
    from diffusers import FluxTransformer2DModel, QwenImageTransformer2DModel

    torch.manual_seed(0)
    if name == "flux":
        model = FluxTransformer2DModel(
            patch_size=1, in_channels=16, num_layers=2, num_single_layers=2, attention_head_dim=16,
            num_attention_heads=4, joint_attention_dim=32, pooled_projection_dim=32, axes_dims_rope=(4, 6, 6),
        )  # fmt: skip
    elif name == "qwen":
        model = QwenImageTransformer2DModel(
            patch_size=2, in_channels=16, out_channels=4, num_layers=3, attention_head_dim=16, num_attention_heads=4,
            joint_attention_dim=16, guidance_embeds=False, axes_dims_rope=(8, 4, 4),
        )  # fmt: skip
    else:
        raise ValueError(f"Unknown tiny model {name!r}; use 'flux' or 'qwen'.")
    return model.eval()


def model_inputs(name: str, latents: torch.Tensor, grid: tuple[int, int], timestep: float, branch: int = 0) -> dict:
    r"""The transformer's call arguments for `latents` of shape `(batch, height * width, 16)` on a `grid`."""
    height, width = grid
    batch, device = latents.shape[0], latents.device
    generator = torch.Generator().manual_seed(100 + branch)
    text_dim = 32 if name == "flux" else 16
    text = torch.randn(batch, TEXT_TOKENS, text_dim, generator=generator).to(device)
    kwargs = {"hidden_states": latents, "encoder_hidden_states": text, "return_dict": False}
    kwargs["timestep"] = torch.full((batch,), float(timestep), device=device)
    if name == "flux":
        rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
        ids = torch.stack([torch.zeros_like(rows), rows, cols], dim=-1).reshape(-1, 3).float()
        kwargs["img_ids"] = ids.to(device)
        kwargs["txt_ids"] = torch.zeros(TEXT_TOKENS, 3, device=device)
        kwargs["pooled_projections"] = torch.randn(batch, 32, generator=generator).to(device)
    else:
        kwargs["img_shapes"] = [[(1, height, width)]] * batch
    return kwargs


def noise(grid: tuple[int, int], batch: int = 1, seed: int = 0, device="cpu") -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, grid[0] * grid[1], 16, generator=generator).to(device)


# ---------------------------------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Case:
    r"""
    One comparison: a tiny transformer with FreqCa, run in one process and under context parallelism.

    Args:
        model (`str`): `"flux"` or `"qwen"`.
        ulysses (`int`), ring (`int`): the context-parallel degrees (ignored for the single-process run).
        anything (`bool`): `ulysses_anything` / `ring_anything` (uneven shards).
        decomposition (`str`): FreqCa's band split, `"none"`, `"dct"` or `"fft"`.
        scenario (`str`): `"denoise"` (one context, Euler steps), `"cfg"` (cond and uncond contexts), `"resolution"`
            (the grid changes half-way through a generation), `"abort"` (a call raises mid-forward, then a new
            generation) or `"vote"` (rank `vote_rank` alone wants a full step at step `vote_step`).
        grid (`tuple[int, int]`): the image token grid.
        order (`str`): `"parallel_first"` (`enable_parallelism`, then FreqCa) or `"cache_first"`.
        steps (`int`): denoising steps per generation.
        freqca (`bool`): `False` runs without FreqCa (the baseline: what context parallelism alone changes).
    """

    model: str = "flux"
    ulysses: int = 2
    ring: int = 1
    anything: bool = False
    decomposition: str = "dct"
    scenario: str = "denoise"
    grid: tuple[int, int] = (8, 8)
    order: str = "parallel_first"
    steps: int = 14
    vote_step: int = 5
    vote_rank: int = 1
    freqca: bool = True
    config_overrides: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def degree(self) -> int:
        return self.ulysses * self.ring

    def config(self):
        from diffusers_freqca import FreqCaConfig

        values = {
            "cache_interval": 3,
            "disable_cache_before_step": 3,
            "warmup_stride": 1,
            "low_freq_order": 1,
            "high_freq_order": 2,
        }
        values["decomposition"] = self.decomposition
        values.update(self.config_overrides)
        return FreqCaConfig(**values)

    def label(self) -> str:
        parallel = "x".join(
            ([f"U{self.ulysses}"] if self.ulysses > 1 else []) + ([f"R{self.ring}"] if self.ring > 1 else [])
        )
        extras = [self.scenario, f"{self.grid[0]}x{self.grid[1]}"] + (["anything"] if self.anything else [])
        extras += [f"{key}={value}" for key, value in sorted(self.config_overrides.items())]
        return "-".join([self.model, parallel, self.decomposition, *extras, self.order])


def _enable_parallelism(model, case: Case) -> None:
    from diffusers import ContextParallelConfig

    if case.ring > 1:
        # Also on GPUs: the tiny models run in float32, which diffusers' LSE-returning GPU backends do not take.
        enable_ring_attention_on_cpu()
    if case.anything and dist.get_backend() == "gloo":
        enable_uneven_output_gather_on_gloo()
    anything = {"ring_anything": True} if case.ring > 1 else {"ulysses_anything": True}
    config = ContextParallelConfig(
        ulysses_degree=case.ulysses, ring_degree=case.ring, **(anything if case.anything else {})
    )
    model.enable_parallelism(config=config)


def _prepare(model, case: Case, parallel: bool) -> None:
    if parallel and case.order == "parallel_first":
        _enable_parallelism(model, case)
    if case.freqca:
        model.enable_cache(case.config())
    if parallel and case.order == "cache_first":
        _enable_parallelism(model, case)


class _BlockCounter:
    # How many blocks really computed at each transformer call (their attention module ran).
    def __init__(self, model):
        from diffusers_freqca.block_stack import find_block_stack

        self.per_call: list[int] = []
        model.register_forward_pre_hook(lambda *_: self.per_call.append(0))
        for _, block in find_block_stack(model):
            block.attn.register_forward_pre_hook(self._count)

    def _count(self, *_):
        self.per_call[-1] += 1


@contextlib.contextmanager
def _forced_full_step(step: int | None):
    # Makes FreqCa's schedule ask for a full step at `step` (in this process only).
    import diffusers_freqca.hooks as hooks

    if step is None:
        yield
        return
    original = hooks.is_full_step
    hooks.is_full_step = lambda s, last, config: s == step or original(s, last, config)
    try:
        yield
    finally:
        hooks.is_full_step = original


class _Abort(Exception):
    pass


def _euler(model, case, latents, times, grid, outputs, branches=1, first=0):
    # Denoising steps from `times[first]`; with `branches == 2`, a cond and an uncond context per step (true CFG).
    for index in range(first, len(times)):
        t, t_next = times[index], (times[index + 1] if index + 1 < len(times) else 0.0)
        predictions = []
        for branch in range(branches):
            kwargs = model_inputs(case.model, latents, grid, t, branch)
            if branches == 1:
                prediction = model(**kwargs)[0]
            else:
                with model.cache_context(("cond", "uncond")[branch]):
                    prediction = model(**kwargs)[0]
            outputs.append(prediction.float().cpu())
            predictions.append(prediction)
        velocity = predictions[0] if branches == 1 else predictions[1] + 2.0 * (predictions[0] - predictions[1])
        latents = latents + (t_next - t) * velocity
    return latents


@torch.no_grad()
def run_case(case: Case, parallel: bool = True, device: str | None = None) -> dict:
    r"""
    Runs `case` in this process: under context parallelism on every worker (`parallel=True`, inside a
    `WorkerPool`), or alone (`parallel=False`, the reference).

    Returns:
        `dict`: `outputs` (the model output of every call, float32 on the CPU), `stats` (`FreqCaStats` at the end),
        `blocks_per_call`, `hook_order` (of the first block), `rank` and `degree`.
    """
    from diffusers_freqca import get_freqca_stats
    from diffusers_freqca.block_stack import find_block_stack

    if device is None:
        device = (
            f"cuda:{torch.cuda.current_device()}" if dist.is_initialized() and dist.get_backend() == "nccl" else "cpu"
        )
    model = tiny_transformer(case.model).to(device)
    counter = _BlockCounter(model)
    _prepare(model, case, parallel)
    rank = dist.get_rank() if parallel else 0
    forced = case.vote_step if case.scenario == "vote" and (not parallel or rank == case.vote_rank) else None
    times = torch.linspace(1.0, 1.0 / case.steps, case.steps).tolist()
    outputs: list[torch.Tensor] = []
    stats = []
    with _forced_full_step(forced):
        if case.scenario in ("denoise", "vote"):
            _euler(model, case, noise(case.grid, device=device), times, case.grid, outputs)
        elif case.scenario == "cfg":
            _euler(model, case, noise(case.grid, device=device), times, case.grid, outputs, branches=2)
        elif case.scenario == "resolution":
            half = case.steps // 2
            wider = (case.grid[0], case.grid[1] + 4)
            latents = _euler(model, case, noise(case.grid, device=device), times[:half], case.grid, outputs)
            assert latents.shape[1] == case.grid[0] * case.grid[1]
            _euler(model, case, noise(wider, seed=1, device=device), times, wider, outputs, first=half)
        elif case.scenario == "abort":
            # A call raises after the block stack (on every rank, before diffusers gathers the output); the next
            # calls start a new generation from the first timestep.
            calls = {"n": 0}

            def fail_fifth_call(*_):
                calls["n"] += 1
                if calls["n"] == 5:
                    raise _Abort

            handle = model.proj_out.register_forward_pre_hook(fail_fifth_call)
            try:
                _euler(model, case, noise(case.grid, device=device), times, case.grid, outputs)
            except _Abort:
                pass
            else:
                raise AssertionError("the fifth call did not abort")
            handle.remove()
            stats.append(get_freqca_stats(model))
            _euler(model, case, noise(case.grid, seed=2, device=device), times, case.grid, outputs)
        else:
            raise ValueError(f"Unknown scenario {case.scenario!r}.")
    if case.freqca:
        stats.append(get_freqca_stats(model))
    first_block = find_block_stack(model)[0][1]
    return {
        "outputs": outputs,
        "stats": stats,
        "blocks_per_call": counter.per_call,
        "num_blocks": len(find_block_stack(model)),
        "hook_order": list(first_block._diffusers_hook._hook_order) if hasattr(first_block, "_diffusers_hook") else [],
        "rank": rank,
        "degree": case.degree if parallel else 1,
    }


# ---------------------------------------------------------------------------------------------------- a pipeline


def tiny_flux_pipeline(device: str = "cpu"):
    r"""A `FluxPipeline` with the tiny transformer, a tiny 2x VAE, no text encoders, and its call arguments."""
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline

    torch.manual_seed(0)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(4, 8), layers_per_block=1, latent_channels=4,
        norm_num_groups=2, sample_size=32, use_quant_conv=False, use_post_quant_conv=False,
        mid_block_add_attention=False,
    ).eval()  # fmt: skip
    pipe = FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True),
        vae=vae,
        text_encoder=None,
        tokenizer=None,
        text_encoder_2=None,
        tokenizer_2=None,
        transformer=tiny_transformer("flux"),
    ).to(device)
    pipe.set_progress_bar_config(disable=True)
    generator = torch.Generator().manual_seed(7)
    embeddings = {
        name: torch.randn(*shape, generator=generator).to(device)
        for name, shape in (
            ("prompt_embeds", (1, TEXT_TOKENS, 32)),
            ("pooled_prompt_embeds", (1, 32)),
            ("negative_prompt_embeds", (1, TEXT_TOKENS, 32)),
            ("negative_pooled_prompt_embeds", (1, 32)),
        )
    }
    return pipe, {**embeddings, "true_cfg_scale": 2.0, "output_type": "latent"}


@torch.no_grad()
def run_pipeline_case(case: Case, parallel: bool = True) -> dict:
    r"""
    Three calls of a tiny `FluxPipeline` with true CFG (`cond` and `uncond` cache contexts): one aborted by its step
    callback after 4 steps, one at 32x48 pixels (an 8x12 token grid) and one at 32x32 (8x8).

    Returns:
        `dict`: `latents` (per completed call, the latents after every step), `stats` (per completed call) and
        `blocks_per_call`.
    """
    from diffusers_freqca import get_freqca_stats

    device = f"cuda:{torch.cuda.current_device()}" if parallel and dist.get_backend() == "nccl" else "cpu"
    pipe, kwargs = tiny_flux_pipeline(device)
    counter = _BlockCounter(pipe.transformer)
    _prepare(pipe.transformer, case, parallel)
    result = {"latents": [], "stats": [], "blocks_per_call": counter.per_call}

    def stop_after_four(pipeline, step, timestep, callback_kwargs):
        if step == 3:
            raise _Abort
        return {}

    with contextlib.suppress(_Abort):
        pipe(**kwargs, height=32, width=48, num_inference_steps=case.steps, callback_on_step_end=stop_after_four,
             generator=torch.Generator().manual_seed(0))  # fmt: skip
    for height, width in ((32, 48), (32, 32)):
        latents = []

        def record(pipeline, step, timestep, callback_kwargs, latents=latents):
            latents.append(callback_kwargs["latents"].float().cpu())
            return {}

        pipe(**kwargs, height=height, width=width, num_inference_steps=case.steps, callback_on_step_end=record,
             generator=torch.Generator().manual_seed(0))  # fmt: skip
        result["latents"].append(latents)
        result["stats"].append(get_freqca_stats(pipe.transformer))
    return result


# ---------------------------------------------------------------------------------------------------- comparisons


def step_differences(reference: list[torch.Tensor], other: list[torch.Tensor]) -> list[float]:
    r"""The largest absolute difference at every step of two runs (which must have the same shapes)."""
    if len(reference) != len(other):
        raise AssertionError(f"{len(other)} steps against {len(reference)} in the reference")
    return [float((a - b).abs().max()) for a, b in zip(reference, other)]


def _table(cases: list[Case], pool: WorkerPool) -> list[str]:
    rows = []
    for case in cases:
        reference = run_case(case, parallel=False)
        started = time.perf_counter()
        ranks = pool.run(run_case, case)
        elapsed = time.perf_counter() - started
        worst = max(max(step_differences(reference["outputs"], rank["outputs"])) for rank in ranks)
        parallelism = case.label().split("-")[1]
        if not case.freqca:
            rows.append(f"| {case.model} | {parallelism} | no FreqCa | {worst:.1e} | - | - | {elapsed:.2f} s |")
            continue
        context = next(iter(ranks[0]["stats"][-1].contexts.values()))
        single = next(iter(reference["stats"][-1].contexts.values()))
        rows.append(
            f"| {case.model} | {parallelism} | {case.decomposition} | {worst:.1e} | "
            f"{context.cache_bytes} / {single.cache_bytes} | {context.gathered_bytes} | {elapsed:.2f} s |"
        )
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description="Per-step difference of FreqCa under context parallelism (gloo, CPU) to the single-process run."
    )
    parser.add_argument("--world-size", type=int, nargs="+", default=[2, 4], help="Process counts (default: 2 4).")
    parser.add_argument("--steps", type=int, default=14)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print("| model | parallelism | decomposition | max per-step difference | cache bytes per rank / 1 process | "
          "gathered bytes per rank | CP run time |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for world_size in args.world_size:
        if world_size == 2:
            layouts = [(2, 1), (1, 2)]
        elif world_size == 4:
            layouts = [(2, 2)]
        else:
            layouts = [(world_size, 1)]
        cases = [
            Case(model=model, ulysses=ulysses, ring=ring, decomposition=decomposition, steps=args.steps, freqca=freqca)
            for ulysses, ring in layouts
            for model in ("flux", "qwen")
            for decomposition, freqca in (("none", False), ("none", True), ("dct", True), ("fft", True))
        ]
        with WorkerPool(world_size) as pool:
            print(f"<!-- {world_size} processes started in {pool.startup_s:.1f} s -->")
            for row in _table(cases, pool):
                print(row, flush=True)


if __name__ == "__main__":
    # Run the module's functions under its own name, so that the workers can unpickle them.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import cp_workers

    cp_workers.main()
