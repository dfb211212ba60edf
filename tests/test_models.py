# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""Model-level behaviour of FreqCa on FluxTransformer2DModel and QwenImageTransformer2DModel: the checks diffusers
runs for its own caches, plus FreqCa's skipping, forecasting, restarts and statistics."""

import math

import pytest
import torch
from diffusers.hooks import FirstBlockCacheConfig, HookRegistry, TaylorSeerCacheConfig
from diffusers.models.cache_utils import CacheMixin
from model_utils import TINY_MODELS, BlockComputeCounter, blocks, run_steps, timesteps
from parameterized import parameterized

import diffusers_freqca
from diffusers_freqca import FreqCaConfig, apply_freqca, full_steps, get_freqca_stats, remove_freqca
from diffusers_freqca.hooks import _FREQCA_BLOCK_HOOK, _FREQCA_HOOK_NAMES, _FREQCA_LEADER_BLOCK_HOOK


MODELS = [("flux",), ("qwen",)]


def _hook_names(model):
    names = []
    for _, module in model.named_modules():
        registry = getattr(module, "_diffusers_hook", None)
        if registry is not None:
            names.extend(registry._hook_order)
    return names


@parameterized.expand(MODELS)
def test_enable_disable_state_and_double_enable(name):
    model = TINY_MODELS[name]().model
    assert not model.is_cache_enabled
    config = FreqCaConfig(warmup_stride=1)
    model.enable_cache(config)
    assert model.is_cache_enabled and model._cache_config is config
    with pytest.raises(ValueError, match="Caching has already been enabled"):
        model.enable_cache(FreqCaConfig(warmup_stride=1))
    with pytest.raises(ValueError, match="Caching has already been enabled"):
        model.enable_cache(FirstBlockCacheConfig(threshold=0.1))
    model.disable_cache()
    assert not model.is_cache_enabled


@parameterized.expand(MODELS)
def test_hooks_registered_on_every_block_and_all_removed(name):
    model = TINY_MODELS[name]().model
    model.enable_cache(FreqCaConfig(warmup_stride=1))
    model_blocks = blocks(model)
    for index, block in enumerate(model_blocks):
        expected = _FREQCA_LEADER_BLOCK_HOOK if index == 0 else _FREQCA_BLOCK_HOOK
        assert block._diffusers_hook._hook_order == [expected]
    assert len(model._forward_pre_hooks) == 1
    model.disable_cache()
    assert not set(_hook_names(model)) & set(_FREQCA_HOOK_NAMES)
    assert len(model._forward_pre_hooks) == 0 and model._freqca_runtime is None


@parameterized.expand(MODELS)
def test_predicted_steps_differ_are_finite_and_full_steps_match(name):
    tiny = TINY_MODELS[name]()
    reference = run_steps(tiny, num_steps=12)
    config = FreqCaConfig(warmup_stride=1, cache_interval=3)
    tiny.model.enable_cache(config)
    cached = run_steps(tiny, num_steps=12)
    full = set(full_steps(12, config))
    for step, (ref, out) in enumerate(zip(reference, cached)):
        assert torch.isfinite(out).all()
        if step in full:
            torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
        else:
            assert not torch.allclose(out, ref, atol=1e-6), f"step {step} was not predicted"
    stats = get_freqca_stats(tiny.model).contexts["cond"]
    assert stats.full_steps == sorted(full) and stats.predicted_steps == 12 - len(full)


@parameterized.expand(MODELS)
def test_no_block_computes_on_predicted_steps(name):
    tiny = TINY_MODELS[name]()
    config = FreqCaConfig(warmup_stride=1, cache_interval=4, disable_cache_before_step=2)
    tiny.model.enable_cache(config)
    counter = BlockComputeCounter(tiny.model)
    run_steps(tiny, num_steps=14)
    num_blocks = len(blocks(tiny.model))
    full = set(full_steps(14, config))
    assert counter.per_call == [num_blocks if step in full else 0 for step in range(14)]


@parameterized.expand(MODELS)
def test_disable_restores_bit_identical_outputs(name):
    tiny = TINY_MODELS[name]()
    reference = run_steps(tiny)
    tiny.model.enable_cache(FreqCaConfig(warmup_stride=1, cache_interval=3))
    run_steps(tiny)
    tiny.model.disable_cache()
    assert all(torch.equal(a, b) for a, b in zip(reference, run_steps(tiny)))


@parameterized.expand(MODELS)
def test_first_pass_equal_across_contexts_and_contexts_are_separate(name):
    tiny = TINY_MODELS[name]()
    reference = run_steps(tiny, num_steps=8)
    tiny.model.enable_cache(FreqCaConfig(warmup_stride=1, cache_interval=3))
    outputs = {"cond": [], "uncond": []}
    with torch.no_grad():
        for t in timesteps(8):
            for context in outputs:
                with tiny.model.cache_context(context):
                    outputs[context].append(tiny.model(**tiny.make_inputs(1, 6, 8, t))[0])
    torch.testing.assert_close(outputs["cond"][0], reference[0])
    # Same inputs in both contexts: interleaving them must not mix their states.
    for a, b in zip(outputs["cond"], outputs["uncond"]):
        torch.testing.assert_close(a, b)
    stats = get_freqca_stats(tiny.model)
    assert set(stats.contexts) == {"cond", "uncond"}
    assert (
        stats.contexts["cond"].full_steps
        == stats.contexts["uncond"].full_steps
        == full_steps(8, FreqCaConfig(3, warmup_stride=1))
    )


@parameterized.expand(MODELS)
def test_reset_restarts_cleanly(name):
    tiny = TINY_MODELS[name]()
    tiny.model.enable_cache(FreqCaConfig(warmup_stride=1, cache_interval=3))
    first = run_steps(tiny)
    tiny.model._reset_stateful_cache()
    second = run_steps(tiny)
    assert all(torch.equal(a, b) for a, b in zip(first, second))


@parameterized.expand(MODELS)
def test_new_generation_without_reset_is_detected(name):
    # An interrupted run (an exception mid-loop) leaves state behind; the timestep jumping back up marks a new run.
    tiny = TINY_MODELS[name]()
    reference = run_steps(tiny, num_steps=10)
    tiny.model.enable_cache(FreqCaConfig(warmup_stride=1, cache_interval=3))
    run_steps(tiny, times=timesteps(10)[:6])
    again = run_steps(tiny, num_steps=10)
    tiny.model._reset_stateful_cache()
    clean = run_steps(tiny, num_steps=10)
    assert all(torch.equal(a, b) for a, b in zip(again, clean))
    torch.testing.assert_close(again[0], reference[0])


@parameterized.expand(
    [
        ("flux_resolution", "flux", {"height": 8, "width": 8}),
        ("flux_batch", "flux", {"batch": 2}),
        ("qwen_resolution", "qwen", {"height": 4, "width": 10}),
        ("qwen_batch", "qwen", {"batch": 2}),
    ]
)
def test_shape_change_mid_run_restarts_with_full_computation(_, name, change):
    tiny = TINY_MODELS[name]()
    times = timesteps(12)
    config = FreqCaConfig(warmup_stride=1, cache_interval=3)
    tiny.model.enable_cache(config)
    run_steps(tiny, times=times[:5])
    counter = BlockComputeCounter(tiny.model)
    changed = run_steps(tiny, times=times[5:7], **change)
    counter.remove()
    tiny.model.disable_cache()
    reference = run_steps(tiny, times=times[5:7], **change)
    # The first call after the change is a full computation (never a mix of stale and new features).
    torch.testing.assert_close(changed[0], reference[0])
    assert counter.per_call[0] == len(blocks(tiny.model))


def test_dtype_change_restarts():
    tiny = TINY_MODELS["flux"]()
    tiny.model.enable_cache(FreqCaConfig(warmup_stride=1, cache_interval=3))
    times = timesteps(10)
    run_steps(tiny, times=times[:5])
    tiny.model.to(torch.float64)
    with torch.no_grad(), tiny.model.cache_context("cond"):
        inputs = {k: v.double() if torch.is_tensor(v) and v.is_floating_point() else v for k, v in
                  tiny.make_inputs(1, 6, 8, times[5]).items()}  # fmt: skip
        out = tiny.model(**inputs)[0]
    assert out.dtype == torch.float64
    assert get_freqca_stats(tiny.model).contexts["cond"].restarts == 1


@parameterized.expand(MODELS)
def test_without_cache_context_uses_automatic_contexts(name):
    tiny = TINY_MODELS[name]()
    reference = run_steps(tiny, num_steps=9)
    config = FreqCaConfig(warmup_stride=1, cache_interval=3)
    tiny.model.enable_cache(config)
    with torch.no_grad():
        outputs = []
        for t in timesteps(9):
            # Two calls per timestep on the same model input and no cache_context, like FluxKontextPipeline with true
            # CFG: the second call is the other branch of the same step.
            inputs = tiny.make_inputs(1, 6, 8, t)
            outputs.append(tiny.model(**inputs)[0])
            tiny.model(**inputs)
    stats = get_freqca_stats(tiny.model).contexts
    assert set(stats) == {"freqca_auto_0", "freqca_auto_1"}
    assert stats["freqca_auto_0"].full_steps == stats["freqca_auto_1"].full_steps == full_steps(9, config)
    for step in full_steps(9, config):
        torch.testing.assert_close(outputs[step], reference[step])


def _crf_reuse_config(crf_form: str) -> FreqCaConfig:
    # The CRF reused as it is (order 0), with the paper's three warm-up steps: full steps 0, 1, 2, 5 of 6.
    return FreqCaConfig(
        warmup_stride=1,
        cache_interval=5,
        disable_cache_before_step=3,
        low_freq_order=0,
        high_freq_order=0,
        forecast_target="crf",
        crf_form=crf_form,
    )


def test_forecast_goes_through_output_head_with_current_conditioning():
    # Orders 0 and the authors' CRF form: the forecast CRF is the last full step's block-stack output, and the
    # model output of a predicted step is proj_out(norm_out(crf, temb of the *current* step)). The paper's three
    # warm-up steps, so that two steps are predicted from the last warm-up step.
    tiny = TINY_MODELS["flux"]()
    model = tiny.model
    captured, head_inputs = [], []
    handle = blocks(model)[-1].register_forward_hook(lambda m, a, out: captured.append(out[1].clone()))
    # The head's layer norm sees what FreqCa hands the head: the recorded CRF, or the forecast one.
    head = model.norm_out.norm.register_forward_pre_hook(lambda m, a: head_inputs.append(a[0].clone()))
    model.enable_cache(_crf_reuse_config("hidden_states"))
    times = timesteps(6)
    outputs = run_steps(tiny, times=times)
    handle.remove(), head.remove()
    # Full steps 0, 1, 2, then 2 + ceil(5 / 2) = 5: steps 3 and 4 are predicted from step 2, the last warm-up step.
    assert get_freqca_stats(model).contexts["cond"].full_steps == [0, 1, 2, 5]
    last_full_crf = captured[2]
    with torch.no_grad():
        inputs = tiny.make_inputs(1, 6, 8, times[4])
        temb = model.time_text_embed(inputs["timestep"] * 1000, inputs["pooled_projections"])
        expected = model.proj_out(model.norm_out(last_full_crf, temb))
    torch.testing.assert_close(outputs[4], expected, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(head_inputs[4], last_full_crf)
    torch.testing.assert_close(head_inputs[3], last_full_crf)
    # On the predicted steps the blocks passed their inputs through: the stack's output is not the CRF.
    assert not torch.allclose(captured[4], last_full_crf)


def test_residual_form_adds_the_current_stack_input():
    tiny = TINY_MODELS["flux"]()
    model = tiny.model
    stack_inputs, head_inputs = [], []
    h1 = blocks(model)[0].register_forward_pre_hook(lambda m, a, k: stack_inputs.append(k["hidden_states"].clone()),
                                                    with_kwargs=True)  # fmt: skip
    h2 = model.norm_out.norm.register_forward_pre_hook(lambda m, a: head_inputs.append(a[0].clone()))
    model.enable_cache(_crf_reuse_config("residual"))
    run_steps(tiny, times=timesteps(6))
    h1.remove(), h2.remove()
    # Step 4 is predicted from step 2 (full steps 0, 1, 2, 5): step 2's residual on top of step 4's stack input.
    torch.testing.assert_close(head_inputs[4], head_inputs[2] - stack_inputs[2] + stack_inputs[4])
    assert not torch.allclose(head_inputs[4], head_inputs[2])


def test_other_configs_still_go_to_diffusers():
    tiny = TINY_MODELS["flux"]()
    model = tiny.model
    model.enable_cache(FirstBlockCacheConfig(threshold=0.05))
    assert "fbc_leader_block_hook" in _hook_names(model)
    model.disable_cache()
    model.enable_cache(TaylorSeerCacheConfig())
    model.disable_cache()
    assert not _hook_names(model)

    class NotAConfig:
        pass

    with pytest.raises(ValueError, match="not supported"):
        model.enable_cache(NotAConfig())


def test_registration_is_idempotent_and_keeps_the_diffusers_docstring():
    enable = CacheMixin.enable_cache
    diffusers_freqca.register_freqca_with_diffusers()
    assert CacheMixin.enable_cache is enable and diffusers_freqca.is_freqca_registered()
    assert "Enable caching techniques" in CacheMixin.enable_cache.__doc__


def test_apply_freqca_errors():
    with pytest.raises(ValueError, match="no transformer block list"):
        apply_freqca(torch.nn.Linear(2, 2), FreqCaConfig(warmup_stride=1))
    with pytest.raises(ValueError, match="must be a FreqCaConfig"):
        apply_freqca(TINY_MODELS["flux"]().model, {"cache_interval": 6})
    model = TINY_MODELS["flux"]().model
    apply_freqca(model, FreqCaConfig(warmup_stride=1))
    with pytest.raises(ValueError, match="already applied"):
        apply_freqca(model, FreqCaConfig(warmup_stride=1))
    remove_freqca(model)
    with pytest.raises(ValueError, match="not applied"):
        remove_freqca(model)
    with pytest.raises(ValueError, match="not applied"):
        get_freqca_stats(model)

    class Block(torch.nn.Module):
        def forward(self, hidden_states):
            return hidden_states

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = torch.nn.ModuleList([Block()])

    with pytest.raises(ValueError, match="nor diffusers' TransformerBlockRegistry has it"):
        apply_freqca(Model(), FreqCaConfig(warmup_stride=1))


def test_unknown_grid_warns_once_and_falls_back_or_raises(caplog):
    tiny = TINY_MODELS["flux"]()
    inputs = tiny.make_inputs(1, 6, 8, 1.0)
    inputs["img_ids"] = inputs["img_ids"][torch.randperm(48, generator=torch.Generator().manual_seed(0))]
    split = {"decomposition": "dct", "low_freq_order": 0, "high_freq_order": 2}  # a band split needs the grid
    tiny.model.enable_cache(FreqCaConfig(warmup_stride=1, cache_interval=2, **split))
    with torch.no_grad(), tiny.model.cache_context("cond"):
        for t in timesteps(5):
            tiny.model(**{**inputs, "timestep": torch.tensor([t])})
    runtime = tiny.model._freqca_runtime
    assert runtime.state_manager.get_state_for("cond").layout.segments[0].height == 1
    assert len(runtime._warned) == 1
    tiny.model.disable_cache()
    tiny.model.enable_cache(FreqCaConfig(warmup_stride=1, grid_fallback="error", **split))
    with torch.no_grad(), tiny.model.cache_context("cond"), pytest.raises(ValueError, match="grid_fallback='error'"):
        tiny.model(**inputs)


def _log_snr(sigma: float) -> float:
    return math.log((1.0 - sigma + 0.05) / (sigma + 0.05))


@parameterized.expand([(spacing, target) for spacing in ("log_snr", "sigma", "step") for target in ("default", "crf")])
def test_spacing_modes_run_and_track_positions(spacing, target):
    tiny = TINY_MODELS["qwen"]()
    # Order 2, so that the forecaster keeps three points. The default (the model output, two warm-up steps): full
    # steps 0, 1, 3, 6 of 8. The CRF with the paper's three warm-up steps: full steps 0, 1, 2, 4, 7.
    overrides = {} if target == "default" else {"forecast_target": "crf", "disable_cache_before_step": 3}
    tiny.model.enable_cache(
        FreqCaConfig(warmup_stride=1, cache_interval=3, spacing=spacing, high_freq_order=2, **overrides)
    )
    times = timesteps(8)
    runtime = tiny.model._freqca_runtime
    forecaster = []

    def record(*_):
        # After each call (a hook registered after FreqCa's): where the stored points of a predicted step lie.
        if not runtime.current.should_compute:
            forecaster.append(list(runtime.current.forecaster.times))

    handle = tiny.model.register_forward_hook(record)
    outputs = run_steps(tiny, times=times)
    handle.remove()
    assert all(torch.isfinite(o).all() for o in outputs)
    # The tiny Qwen model gets sigma itself as its timestep (as QwenImagePipeline passes t / 1000).
    position = {"log_snr": _log_snr, "sigma": lambda sigma: -sigma, "step": None}[spacing]
    expected = list(range(8)) if position is None else [position(t) for t in times]
    # Forecast from the stored full steps (most recent first, at most three).
    if target == "default":
        # Predicted steps 2; 4, 5; 7.
        stored = ((1, 0), (3, 1, 0), (3, 1, 0), (6, 3, 1))
    else:
        # Predicted steps 3; 5, 6.
        stored = ((2, 1, 0), (4, 2, 1), (4, 2, 1))
    assert forecaster == [[expected[s] for s in full] for full in stored]


def test_registry_order_keeps_freqca_outermost():
    # A hook registered after FreqCa (as group offloading or LoRA re-application do) is moved inside at the next call.
    from diffusers.hooks import ModelHook

    tiny = TINY_MODELS["flux"]()
    tiny.model.enable_cache(FreqCaConfig(warmup_stride=1, cache_interval=3))
    calls = []

    class Recorder(ModelHook):
        def pre_forward(self, module, *args, **kwargs):
            calls.append(module)
            return args, kwargs

    for block in blocks(tiny.model):
        HookRegistry.check_if_exists_or_initialize(block).register_hook(Recorder(), "recorder")
    run_steps(tiny, num_steps=8)
    for block in blocks(tiny.model):
        assert block._diffusers_hook._hook_order[-1] in _FREQCA_HOOK_NAMES
    num_blocks = len(blocks(tiny.model))
    # The recorder (now inner) only sees blocks that compute: 5 full steps out of 8 with interval 3.
    assert len(calls) == num_blocks * len(full_steps(8, FreqCaConfig(warmup_stride=1, cache_interval=3)))


@parameterized.expand([("regional",), ("whole_model",)])
def test_torch_compile_gives_the_eager_results(mode):
    # Only FreqCa's bookkeeping is excluded from compilation; block computations still compile.
    tiny = TINY_MODELS["flux"]()
    tiny.model.enable_cache(FreqCaConfig(warmup_stride=1, cache_interval=3))
    eager = run_steps(tiny, num_steps=8)
    tiny.model._reset_stateful_cache()
    if mode == "regional":
        for block in blocks(tiny.model):
            block.compile(backend="aot_eager")
        compiled = run_steps(tiny, num_steps=8)
    else:
        compiled_model = torch.compile(tiny.model, backend="aot_eager")
        compiled = []
        with torch.no_grad():
            for t in timesteps(8):
                with tiny.model.cache_context("cond"):
                    compiled.append(compiled_model(**tiny.make_inputs(1, 6, 8, t))[0])
    for a, b in zip(eager, compiled):
        torch.testing.assert_close(a, b)
    assert get_freqca_stats(tiny.model).contexts["cond"].full_steps == full_steps(
        8, FreqCaConfig(warmup_stride=1, cache_interval=3)
    )
