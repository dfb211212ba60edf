# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The cache's lifecycle under every way diffusers calls a transformer (issue 9), each item with its exact value.

1. `torch.inference_mode()` behaves exactly like `no_grad`, also switching between them across calls:
   `test_inference_mode_is_bit_identical_to_no_grad`.
2. A call aborted by an exception leaves nothing to the next one: `test_aborted_img2img_call_does_not_poison_the_next`,
   `test_aborted_call_with_step_index_restarts_lower`.
3. Every shape of timestep sequence: `test_read_time_of_every_timestep_shape`, `test_trajectory_rules`,
   `test_heun_sampler_repeats_every_timestep_inside_a_named_context`,
   `test_two_calls_at_one_timestep_are_consecutive_steps` (diffusers' own cache test pattern),
   `test_increasing_timesteps`, `test_per_token_timesteps_with_fixed_entries` (WanImageToVideoPipeline,
   `expand_timesteps=True`), `test_new_generation_detected_by_timestep_direction`.
4. A second transformer for the last part of the trajectory gets its own warm-up in each context:
   `test_two_experts_each_get_their_own_warmup` (a tiny Wan 2.2-style WanPipeline).
5. Statistics describe the most recent call on pipelines with and without cache contexts:
   `test_stats_describe_the_last_call`, `test_stats_print_on_every_pipeline`.
6. Every config field refuses bad values, NaN and infinity included: `test_schedule_config.py`
   (`test_invalid_values_name_the_field_and_value`, `test_non_finite_values_are_refused_from_files_too`).
7. No "planned for num_inference_steps" warning any more: `test_no_planned_steps_warning`.
8. `apply_freqca` invalidates diffusers' child-registry cache: `test_apply_freqca_reaches_cache_contexts`.

And: a run that skips nothing says so, once: `test_a_run_that_skips_nothing_warns_once`.
"""

import dataclasses
import gc
import logging
import weakref

import numpy as np
import PIL.Image
import pytest
import torch
from diffusers import (
    AutoencoderKLWan,
    FlowMatchEulerDiscreteScheduler,
    FlowMatchHeunDiscreteScheduler,
    WanImageToVideoPipeline,
    WanPipeline,
    WanTransformer3DModel,
)
from model_utils import TINY_MODELS, blocks, run_steps, timesteps, written_out_schedule
from parameterized import parameterized
from tiny_pipelines import ALL_PIPELINE_NAMES, build_tiny_pipeline, transformer_blocks

from diffusers_freqca import FreqCaConfig, apply_freqca, full_steps, get_freqca_stats, remove_freqca
from diffusers_freqca.trajectory import Trajectory, read_time


# The paper's band split per family, with different band orders so that the split (and the token-grid reader) runs.
SPLIT = {
    "flux": {"decomposition": "dct", "low_freq_order": 0, "high_freq_order": 2},
    "qwen": {"decomposition": "fft", "low_freq_order": 0, "high_freq_order": 2},
}


# Most tests here pin the paper's consecutive warm-up (`warmup_stride=1`), the default of `written_out_schedule`; the
# default stride is tested in test_schedule_config.py, with real pipelines in test_presets.py, and below.


class CallCounter:
    r"""Counts the transformer's calls and, per call, the blocks that really computed (their attention ran)."""

    def __init__(self, transformer: torch.nn.Module, attention: str = "attn"):
        self.per_call: list[int] = []
        self._handles = [transformer.register_forward_pre_hook(lambda *_: self.per_call.append(0))]
        for block in transformer_blocks(transformer):
            self._handles.append(getattr(block, attention).register_forward_pre_hook(self._count))

    def _count(self, *_):
        self.per_call[-1] += 1

    def __enter__(self):
        return self

    def __exit__(self, *_):
        for handle in self._handles:
            handle.remove()


def _images(pipe, inputs, cfg: bool = False, **overrides) -> torch.Tensor:
    return pipe(**inputs(**(inputs.negative_kwargs if cfg else {}), **overrides)).images


def _family(name: str) -> str:
    return "qwen" if name.startswith("qwen") else "flux"


# ------------------------------------------------------------------------------------------------- 1. inference_mode


@parameterized.expand([(name, cfg) for name in ALL_PIPELINE_NAMES for cfg in (False, True)])
def test_inference_mode_is_bit_identical_to_no_grad(name, cfg):
    if name == "qwenimage_edit" and cfg:
        pytest.skip("covered without CFG; each call of this pipeline encodes a 1024x1024 reference image")
    pipe, inputs = build_tiny_pipeline(name)
    config = FreqCaConfig(warmup_stride=1, cache_interval=3, **SPLIT[_family(name)])
    with torch.inference_mode():  # enabled under inference_mode too, as in the issue
        pipe.transformer.enable_cache(config)
    reference = _images(pipe, inputs, cfg, num_inference_steps=8)  # the pipeline's own no_grad
    reference_stats = get_freqca_stats(pipe.transformer)
    assert reference_stats.predicted_steps > 0
    for mode in (torch.inference_mode, torch.no_grad, torch.inference_mode, torch.no_grad):
        with mode():
            output = _images(pipe, inputs, cfg, num_inference_steps=8)
        assert torch.equal(output, reference), mode.__name__
        assert get_freqca_stats(pipe.transformer).contexts == reference_stats.contexts


def test_inference_mode_inside_one_generation_of_direct_calls():
    # Switching modes between the steps of one generation (direct calls): the stored features come from both.
    tiny = TINY_MODELS["flux"]()
    config = FreqCaConfig(warmup_stride=1, cache_interval=3, **SPLIT["flux"])
    tiny.model.enable_cache(config)
    reference = run_steps(tiny, num_steps=10)
    tiny.model._reset_stateful_cache()
    outputs = []
    for step, t in enumerate(timesteps(10)):
        with (torch.inference_mode if step % 2 else torch.no_grad)(), tiny.model.cache_context("cond"):
            outputs.append(tiny.model(**tiny.make_inputs(1, 6, 8, t))[0])
    assert all(torch.equal(a, b) for a, b in zip(outputs, reference))


# ------------------------------------------------------------------------------------------------ 2. aborted calls


def test_aborted_img2img_call_does_not_poison_the_next():
    # The case: FluxImg2ImgPipeline, 12 steps, cache_interval=3. Call 1 (strength 1.0) is stopped after step 5
    # by a KeyboardInterrupt from callback_on_step_end; call 2 (strength 0.5) starts at a lower timestep.
    pipe, inputs = build_tiny_pipeline("flux_img2img")
    config = FreqCaConfig(warmup_stride=1, cache_interval=3)
    pipe.transformer.enable_cache(config)

    def interrupt(pipe, step, timestep, callback_kwargs):
        if step == 5:
            raise KeyboardInterrupt
        return callback_kwargs

    with pytest.raises(KeyboardInterrupt), CallCounter(pipe.transformer) as first:
        _images(pipe, inputs, strength=1.0, callback_on_step_end=interrupt)
    assert len(first.per_call) == 6
    # The aborted call's own statistics: steps 0..5, full steps 0, 1 (warm-up), 3 (1 + ceil(3 / 2)).
    assert get_freqca_stats(pipe.transformer).contexts["freqca_auto_0"].full_steps == [0, 1, 3]

    with CallCounter(pipe.transformer) as second:
        after = _images(pipe, inputs, strength=0.5)
    # strength 0.5 of 12 steps: int(12 * 0.5) = 6 steps, a trajectory of its own: full steps 0, 1, 3.
    assert len(second.per_call) == 6
    expected = [0, 1, 3]
    assert expected == written_out_schedule(6, 3) == full_steps(6, config)
    num_blocks = len(transformer_blocks(pipe.transformer))
    assert second.per_call == [num_blocks if step in expected else 0 for step in range(6)]
    stats = get_freqca_stats(pipe.transformer)
    assert {name: (s.full_steps, s.predicted_steps, s.restarts) for name, s in stats.contexts.items()} == {
        "freqca_auto_0": (expected, 3, 0)
    }

    # Bit for bit what a fresh cache gives.
    pipe.transformer.disable_cache()
    pipe.transformer.enable_cache(config)
    fresh = _images(pipe, inputs, strength=0.5)
    assert torch.equal(after, fresh)


@parameterized.expand([(False,), (True,)])
def test_aborted_text_to_image_call_with_and_without_contexts(cfg):
    # FluxPipeline enters cache contexts, FluxKontextPipeline none: an exception in the callback on a predicted step
    # leaves state behind; the next call with fewer steps still equals a fresh run.
    for name in ("flux", "flux_kontext"):
        pipe, inputs = build_tiny_pipeline(name)
        config = FreqCaConfig(warmup_stride=1, cache_interval=3)
        pipe.transformer.enable_cache(config)

        def interrupt(pipe, step, timestep, callback_kwargs):
            if step == 6:
                raise RuntimeError("out of memory (simulated)")
            return callback_kwargs

        with pytest.raises(RuntimeError, match="simulated"):
            _images(pipe, inputs, cfg, callback_on_step_end=interrupt)
        after = _images(pipe, inputs, cfg, num_inference_steps=7)
        for context in get_freqca_stats(pipe.transformer).contexts.values():
            # 7 steps: warm-up 0, 1, then 3 and 6.
            assert context.full_steps == [0, 1, 3, 6] and context.predicted_steps == 3
        pipe.transformer.disable_cache()
        pipe.transformer.enable_cache(config)
        assert torch.equal(after, _images(pipe, inputs, cfg, num_inference_steps=7)), name


def test_disable_cache_frees_the_cache_at_once():
    # A call cut short leaves the cache filled; `disable_cache` must free it without waiting for Python's cycle
    # collector (the hooks and the runtime reference each other), or a GPU keeps it until some later collection.
    pipe, inputs = build_tiny_pipeline("flux")
    pipe.transformer.enable_cache(FreqCaConfig(warmup_stride=1, cache_interval=3))

    def interrupt(pipe, step, timestep, callback_kwargs):
        if step == 6:
            raise RuntimeError("stopped")
        return callback_kwargs

    with pytest.raises(RuntimeError, match="stopped"):
        _images(pipe, inputs, callback_on_step_end=interrupt)
    states = pipe.transformer._freqca_runtime.state_manager.states().values()
    cached = [weakref.ref(tensor) for state in states for tensor in state.forecaster.tensors]
    assert cached, "the interrupted call left nothing cached: the test checks nothing"
    gc.collect()
    gc.disable()
    try:
        pipe.transformer.disable_cache()
        assert [ref() for ref in cached] == [None] * len(cached)
    finally:
        gc.enable()


@parameterized.expand([(1,), (2,), (3,)])
def test_default_warmup_survives_an_aborted_call_inside_it(abort_step):
    # The default warm-up computes steps 0 and 3 and forecasts 1 and 2 from step 0 alone: a call stopped at or inside
    # that gap leaves a cache with one stored step; the next call must still equal a fresh cache bit for bit.
    pipe, inputs = build_tiny_pipeline("flux")
    config = FreqCaConfig(cache_interval=3)
    pipe.transformer.enable_cache(config)

    def interrupt(pipe, step, timestep, callback_kwargs):
        if step == abort_step:
            raise RuntimeError("stopped")
        return callback_kwargs

    with pytest.raises(RuntimeError, match="stopped"):
        _images(pipe, inputs, callback_on_step_end=interrupt)
    with CallCounter(pipe.transformer) as counter:
        after = _images(pipe, inputs, num_inference_steps=10)
    # 10 steps, N=3: warm-up 0 and 3, then 3 + ceil(3 / 2) = 5, then 8.
    expected = [0, 3, 5, 8]
    assert expected == written_out_schedule(10, 3, stride=3) == full_steps(10, config)
    assert get_freqca_stats(pipe.transformer).contexts["cond"].full_steps == expected
    num_blocks = len(transformer_blocks(pipe.transformer))
    assert counter.per_call == [num_blocks if step in expected else 0 for step in range(10)]
    pipe.transformer.disable_cache()
    pipe.transformer.enable_cache(config)
    assert torch.equal(after, _images(pipe, inputs, num_inference_steps=10))


def test_aborted_call_with_step_index_restarts_lower():
    # Without a pipeline (direct calls), a context that passes `step_index` (as Wan's pipelines do) restarts when the
    # index does not advance, even if the new trajectory starts below where the aborted one stopped.
    tiny = TINY_MODELS["flux"]()
    config = FreqCaConfig(warmup_stride=1, cache_interval=3)
    tiny.model.enable_cache(config)
    aborted = timesteps(12)[:6]
    lower = [t * 0.5 for t in timesteps(8)]  # starts at 0.5, below the aborted run's last timestep (~0.58)
    assert lower[0] < aborted[-1]

    def run(times):
        outputs = []
        with torch.no_grad():
            for index, t in enumerate(times):
                with tiny.model.cache_context("cond", step_index=index):
                    outputs.append(tiny.model(**tiny.make_inputs(1, 6, 8, t))[0])
        return outputs

    run(aborted)
    after = run(lower)
    assert get_freqca_stats(tiny.model).contexts["cond"].full_steps == [0, 1, 3, 6]
    tiny.model._reset_stateful_cache()
    assert all(torch.equal(a, b) for a, b in zip(after, run(lower)))


# ---------------------------------------------------------------------------------------- 3. every timestep shape


@parameterized.expand(
    [
        ("none", None, None),
        ("empty", torch.zeros(0), None),
        ("python_float", 0.25, 0.25),
        ("python_int", 500, 500.0),
        ("scalar_tensor", torch.tensor(0.75), 0.75),
        ("batched_equal", torch.tensor([0.5, 0.5]), 0.5),
        ("batched_different", torch.tensor([0.25, 0.75]), 0.75),
        ("per_token_fixed_entries", torch.tensor([[0.0, 0.0, 0.625, 0.625], [0.0, 0.0, 0.625, 0.625]]), 0.625),
        ("per_token_bfloat16", torch.tensor([[0.0, 992.0]], dtype=torch.bfloat16), 992.0),
    ]
)
def test_read_time_of_every_timestep_shape(_, timestep, expected):
    assert read_time(timestep) == expected


@parameterized.expand([(float("nan"),), (torch.tensor([0.5, float("inf")]),)])
def test_read_time_refuses_non_finite_timesteps(timestep):
    with pytest.raises(ValueError, match="non-finite"):
        read_time(timestep)


def _steps(times, step_indices=None) -> list[int]:
    # The step each call gets, replaying the lifecycle rules on a sequence of calls of one context.
    trajectory, steps = Trajectory(), []
    for i, time in enumerate(times):
        index = None if step_indices is None else step_indices[i]
        if trajectory.starts_new_generation(time, index):
            trajectory = Trajectory()
        steps.append(trajectory.advance(time, index))
    return steps


@parameterized.expand(
    [
        ("decreasing", [1.0, 0.8, 0.6, 0.4], None, [0, 1, 2, 3]),
        ("heun_repeated", [1.0, 0.8, 0.8, 0.6, 0.6, 0.4, 0.4], None, [0, 1, 2, 3, 4, 5, 6]),
        ("all_equal", [0.5, 0.5, 0.5], None, [0, 1, 2]),
        ("increasing", [0.0, 0.2, 0.4, 0.6], None, [0, 1, 2, 3]),
        ("restart_higher", [1.0, 0.8, 0.6, 1.0, 0.8], None, [0, 1, 2, 0, 1]),
        ("increasing_restart_lower", [0.0, 0.2, 0.4, 0.0, 0.2], None, [0, 1, 2, 0, 1]),
        ("repeat_then_restart_higher", [1.0, 0.8, 0.8, 0.9], None, [0, 1, 2, 0]),
        ("no_timestep", [None, None, None], None, [0, 1, 2]),
        ("step_index", [1.0, 0.8, 0.6], [0, 1, 2], [0, 1, 2]),
        ("step_index_restart_lower", [1.0, 0.8, 0.6, 0.5, 0.4], [0, 1, 2, 0, 1], [0, 1, 2, 0, 1]),
        ("step_index_global_start", [0.4, 0.3, 0.2], [8, 9, 10], [0, 1, 2]),
        ("step_index_repeated", [0.8, 0.8, 0.6], [4, 4, 5], [0, 0, 1]),
        ("step_index_beats_time", [0.6, 0.8, 1.0], [0, 1, 2], [0, 1, 2]),
    ]
)
def test_trajectory_rules(_, times, step_indices, expected):
    assert _steps(times, step_indices) == expected


def test_heun_sampler_repeats_every_timestep_inside_a_named_context():
    # FlowMatchHeunDiscreteScheduler evaluates every timestep but the first twice: 10 steps are 19 calls, all in
    # cache_context("cond") without step_index; each call is the next step of one generation.
    tiny = TINY_MODELS["flux"]()
    scheduler = FlowMatchHeunDiscreteScheduler(num_train_timesteps=1000, shift=3.0)
    scheduler.set_timesteps(10)
    times = scheduler.timesteps.tolist()
    assert len(times) == 19 and times[1] == times[2] and times[3] == times[4]
    initial = tiny.make_inputs(1, 6, 8, 1.0)["hidden_states"]

    def sample():
        latents, outputs = initial.clone(), []
        scheduler.set_timesteps(10)
        with torch.no_grad():
            for t in scheduler.timesteps:
                inputs = {**tiny.make_inputs(1, 6, 8, float(t) / 1000), "hidden_states": latents}
                with tiny.model.cache_context("cond"):
                    output = tiny.model(**inputs)[0]
                outputs.append(output)
                latents = scheduler.step(output, t, latents).prev_sample
        return latents, outputs

    reference, reference_outputs = sample()
    config = FreqCaConfig(warmup_stride=1, cache_interval=3)
    tiny.model.enable_cache(config)
    with CallCounter(tiny.model) as counter:
        cached, outputs = sample()
    expected = [0, 1, 3, 6, 9, 12, 15, 18]
    assert expected == written_out_schedule(19, 3) == full_steps(19, config)
    num_blocks = len(blocks(tiny.model))
    assert counter.per_call == [num_blocks if step in expected else 0 for step in range(19)]
    stats = get_freqca_stats(tiny.model)
    assert (stats.computed_steps, stats.predicted_steps) == (8, 11)
    assert stats.contexts["cond"].full_steps == expected and stats.contexts["cond"].restarts == 0
    for step in range(2):  # the warm-up
        assert torch.equal(outputs[step], reference_outputs[step])
    assert torch.isfinite(cached).all() and not torch.equal(cached, reference)


@parameterized.expand([("named_context", "cache_test"), ("no_context", None)])
def test_two_calls_at_one_timestep_are_consecutive_steps(_, context):
    # diffusers' own cache tests (tests/models/testing_utils/cache.py, `_test_cache_inference`): a first call, then a
    # second at the same timestep with perturbed hidden states, which a cache must approximate. With
    # disable_cache_before_step=1 and cache_interval=3 the first interval is ceil(3 / 2) = 2: step 1 is predicted.
    tiny = TINY_MODELS["flux"]()
    inputs = tiny.make_inputs(1, 6, 8, 0.5)
    second = {**inputs, "hidden_states": inputs["hidden_states"] + torch.randn_like(inputs["hidden_states"])}
    tiny.model.enable_cache(FreqCaConfig(disable_cache_before_step=1, cache_interval=3))
    with torch.no_grad():
        with tiny.model.cache_context(context) if context else torch.no_grad():
            tiny.model(**inputs)
            cached = tiny.model(**second)[0]
        stats = get_freqca_stats(tiny.model)
        tiny.model.disable_cache()
        uncached = tiny.model(**second)[0]
    name = context or "freqca_auto_0"
    assert {n: (s.full_steps, s.predicted_steps) for n, s in stats.contexts.items()} == {name: ([0], 1)}
    assert not torch.isnan(cached).any() and not torch.allclose(cached, uncached, atol=1e-5)


def test_increasing_timesteps():
    # Pipelines that pass 1000 - t (Mochi) or invert sigmas: timesteps increase along the trajectory. One generation,
    # forecast along the noise level 1 - t; a later run starting low again is a new generation.
    tiny = TINY_MODELS["flux"]()
    times = [1.0 - t for t in timesteps(10)]  # 0.0, 0.1, ..., 0.9
    assert times == sorted(times)
    config = FreqCaConfig(warmup_stride=1, cache_interval=3)
    tiny.model.enable_cache(config)
    first = run_steps(tiny, times=times)
    stats = get_freqca_stats(tiny.model).contexts["cond"]
    assert stats.full_steps == [0, 1, 3, 6, 9] == written_out_schedule(10, 3) and stats.predicted_steps == 5
    assert all(torch.isfinite(o).all() for o in first)
    # The forecast axis: positions increase along the run (the noise level 1 - t decreases).
    state = tiny.model._freqca_runtime.state_manager.get_state_for("cond")
    assert state.trajectory.direction == 1 and not state.on_steps
    assert state.forecaster.times[0] > state.forecaster.times[1]
    # A second run without a reset: its first timestep goes back down, so it starts over.
    second = run_steps(tiny, times=times)
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert get_freqca_stats(tiny.model).contexts["cond"].full_steps == [0, 1, 3, 6, 9]


def test_new_generation_detected_by_timestep_direction():
    # Decreasing runs back to back without a reset (direct calls): the jump up starts a new generation.
    tiny = TINY_MODELS["flux"]()
    tiny.model.enable_cache(FreqCaConfig(warmup_stride=1, cache_interval=3))
    first = run_steps(tiny, num_steps=10)
    second = run_steps(tiny, num_steps=10)
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert get_freqca_stats(tiny.model).contexts["cond"].full_steps == [0, 1, 3, 6, 9]


def _tiny_wan_transformer(seed: int) -> WanTransformer3DModel:
    torch.manual_seed(seed)
    return WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
    ).eval()  # fmt: skip


def _tiny_wan_vae() -> AutoencoderKLWan:
    torch.manual_seed(0)
    return AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    ).eval()


def _wan_embeddings() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    return {
        "prompt_embeds": torch.randn(1, 8, 32, generator=generator),
        "negative_prompt_embeds": torch.randn(1, 8, 32, generator=generator),
    }


def test_per_token_timesteps_with_fixed_entries():
    # WanImageToVideoPipeline(expand_timesteps=True) (Wan 2.2 TI2V) gives every token its own timestep: the
    # conditioning frame's tokens stay at 0, the others follow the trajectory. No step_index is passed.
    pipe = WanImageToVideoPipeline(
        tokenizer=None, text_encoder=None, vae=_tiny_wan_vae(), scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        transformer=_tiny_wan_transformer(0), expand_timesteps=True,
    )  # fmt: skip
    pipe.set_progress_bar_config(disable=True)
    image = PIL.Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    kwargs = {**_wan_embeddings(), "image": image, "height": 32, "width": 32, "num_frames": 5, "guidance_scale": 1.0,
              "num_inference_steps": 10, "output_type": "latent"}  # fmt: skip
    received = []
    spy = pipe.transformer.register_forward_pre_hook(
        lambda m, a, k: received.append(k["timestep"].clone()), with_kwargs=True
    )
    reference = pipe(**kwargs, generator=torch.Generator().manual_seed(0)).frames
    spy.remove()
    assert received[0].ndim == 2 and (received[0][0, :4] == 0).all() and (received[0][0, 4:] == 1000).all()
    assert all(r.max() > s.max() for r, s in zip(received, received[1:]))  # the free tokens decrease

    config = FreqCaConfig(warmup_stride=1, cache_interval=3)
    pipe.transformer.enable_cache(config)
    with CallCounter(pipe.transformer, attention="attn1") as counter:
        cached = pipe(**kwargs, generator=torch.Generator().manual_seed(0)).frames
    expected = [0, 1, 3, 6, 9]
    assert expected == written_out_schedule(10, 3) == full_steps(10, config)
    assert counter.per_call == [2 if step in expected else 0 for step in range(10)]
    stats = get_freqca_stats(pipe.transformer).contexts["cond"]
    assert stats.full_steps == expected and stats.predicted_steps == 5 and stats.restarts == 0
    assert torch.isfinite(cached).all() and not torch.equal(cached, reference)
    # Again: the next call equals this one bit for bit.
    assert torch.equal(pipe(**kwargs, generator=torch.Generator().manual_seed(0)).frames, cached)


# ---------------------------------------------------------------------------------------------------- 4. two experts


def test_two_experts_each_get_their_own_warmup():
    # Wan 2.2: `transformer` runs the steps with t >= boundary_ratio * 1000, `transformer_2` the rest; the pipeline
    # passes the global step_index (and sigma) in cache_context("cond") / ("uncond"). Each expert, in each context,
    # starts its own generation with its own warm-up.
    pipe = WanPipeline(
        tokenizer=None, text_encoder=None, vae=_tiny_wan_vae(), scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        transformer=_tiny_wan_transformer(0), transformer_2=_tiny_wan_transformer(1), boundary_ratio=0.75,
    )  # fmt: skip
    pipe.set_progress_bar_config(disable=True)
    kwargs = {**_wan_embeddings(), "height": 32, "width": 32, "num_frames": 5, "guidance_scale": 2.0,
              "num_inference_steps": 16, "output_type": "latent"}  # fmt: skip
    pipe.scheduler.set_timesteps(16)
    high = sum(float(t) >= 750 for t in pipe.scheduler.timesteps)  # steps of expert 1 (the high-noise one)
    low = 16 - high
    assert (high, low) == (8, 8)  # expert 2 takes over at global step 8

    config = FreqCaConfig(warmup_stride=1, cache_interval=3)
    pipe.transformer.enable_cache(config)
    pipe.transformer_2.enable_cache(config)
    with CallCounter(pipe.transformer, "attn1") as one, CallCounter(pipe.transformer_2, "attn1") as two:
        first = pipe(**kwargs, generator=torch.Generator().manual_seed(0)).frames
    for transformer, counter, steps in ((pipe.transformer, one, high), (pipe.transformer_2, two, low)):
        expected = written_out_schedule(steps, 3)
        stats = get_freqca_stats(transformer)
        assert set(stats.contexts) == {"cond", "uncond"}
        for context in stats.contexts.values():
            assert context.full_steps == expected and context.predicted_steps == steps - len(expected)
        # Two calls (cond, uncond) per step; every call of a full step runs both blocks.
        assert counter.per_call == [2 if step in expected else 0 for step in range(steps) for _ in range(2)]
    # Expert 2's first two steps are full (cond and uncond): its forecast never starts from one sample.
    assert two.per_call[:4] == [2] * 4
    second = pipe(**kwargs, generator=torch.Generator().manual_seed(0)).frames
    assert torch.equal(first, second)


# --------------------------------------------------------------------------------------------------------- 5. stats


@parameterized.expand([("flux", ("cond", "uncond")), ("flux_kontext", ("freqca_auto_0", "freqca_auto_1"))])
def test_stats_describe_the_last_call(name, contexts):
    pipe, inputs = build_tiny_pipeline(name)
    config = FreqCaConfig(warmup_stride=1, cache_interval=3)
    pipe.transformer.enable_cache(config)
    outputs = []
    spy = pipe.transformer.register_forward_hook(lambda module, args, output: outputs.append(output[0]))
    _images(pipe, inputs, cfg=True)  # 12 steps, two contexts: full steps 0, 1, 3, 6, 9 in each
    spy.remove()
    stats = get_freqca_stats(pipe.transformer)
    assert set(stats.contexts) == set(contexts)
    assert (stats.computed_steps, stats.predicted_steps) == (10, 14)  # 5 + 7 per context
    # The default forecasts the output in the noise form (FLUX is a flow-matching model): per context, two
    # output-sized float32 tensors (the noise prediction and its first difference).
    output_bytes = outputs[0].numel() * torch.tensor([], dtype=torch.float32).element_size()
    assert all(output.shape == outputs[0].shape for output in outputs)
    assert stats.cache_bytes == 2 * (2 * output_bytes)
    two_context_bytes = stats.cache_bytes

    _images(pipe, inputs, num_inference_steps=8)  # one context, 8 steps: full steps 0, 1, 3, 6
    stats = get_freqca_stats(pipe.transformer)
    assert set(stats.contexts) == {contexts[0]}
    only = stats.contexts[contexts[0]]
    assert (only.computed_steps, only.predicted_steps, only.full_steps) == (4, 4, [0, 1, 3, 6])
    assert only.output_forms == {"noise": 4}
    assert (stats.computed_steps, stats.predicted_steps) == (4, 4)
    assert stats.cache_bytes == two_context_bytes // 2 == 2 * output_bytes  # one context's cache, not the sum
    assert (stats.total_computed_steps, stats.total_predicted_steps) == (10 + 4, 14 + 4)
    assert str(stats).splitlines() == [
        f"FreqCa, most recent call: 4 computed + 4 predicted steps, cache {stats.cache_bytes / 2**20:.2f} MiB",
        f"  {contexts[0]}: 4 computed + 4 predicted, full steps [0, 1, 3, 6], restarts 0, "
        "output forecast in the noise form",
    ]
    # A snapshot: later calls do not change it (6 steps: full steps 0, 1, 3).
    _images(pipe, inputs, num_inference_steps=6)
    assert only.computed_steps == 4 and get_freqca_stats(pipe.transformer).computed_steps == 3


@parameterized.expand([(name,) for name in ALL_PIPELINE_NAMES])
def test_stats_print_on_every_pipeline(name):
    # The README's example, whatever the pipeline names its contexts: 8 steps, full steps 0, 1, 3, 6.
    pipe, inputs = build_tiny_pipeline(name)
    pipe.transformer.enable_cache(FreqCaConfig(warmup_stride=1, cache_interval=3))
    _images(pipe, inputs, num_inference_steps=8)
    stats = get_freqca_stats(pipe.transformer)
    assert str(stats).startswith("FreqCa, most recent call: 4 computed + 4 predicted steps")
    assert stats.computed_steps == 4 and len(stats.contexts) == 1
    # Every pipeline here runs a flow-matching FLUX or Qwen-Image transformer: the noise form.
    assert (
        str(stats).splitlines()[1].endswith("full steps [0, 1, 3, 6], restarts 0, output forecast in the noise form")
    )


# --------------------------------------------------------------------------------- 7. no planned-steps warning


def test_no_planned_steps_warning(caplog):
    # Version 0.1 planned full steps for a step count and warned when a run was shorter or longer. There is no step
    # count any more: runs of any length are silent (they all predict something).
    assert not {"num_inference_steps", "schedule_power"} & {f.name for f in dataclasses.fields(FreqCaConfig)}
    pipe, inputs = build_tiny_pipeline("flux")
    pipe.transformer.enable_cache(FreqCaConfig.from_preset("flux.1-dev", "fast"))
    with caplog.at_level(logging.INFO):
        for steps in (12, 8, 20, 12):
            _images(pipe, inputs, num_inference_steps=steps)
            expected = written_out_schedule(steps, 9, stride=3)
            assert get_freqca_stats(pipe.transformer).contexts["cond"].full_steps == expected
    ours = [r for r in caplog.records if r.name.startswith("diffusers_freqca") and r.levelno >= logging.WARNING]
    assert not ours, caplog.text
    assert "planned" not in caplog.text and pipe.transformer._freqca_runtime._warned == set()


# ------------------------------------------------------------------------- 8. apply_freqca and diffusers' registry


def test_apply_freqca_reaches_cache_contexts():
    # A cache_context entered before FreqCa is applied makes diffusers cache the (empty) list of hooked submodules;
    # apply_freqca, like enable_cache, must invalidate it, or "cond" would never reach FreqCa's state.
    tiny = TINY_MODELS["flux"]()
    with torch.no_grad(), tiny.model.cache_context("before"):
        tiny.model(**tiny.make_inputs(1, 6, 8, 1.0))
    assert tiny.model._diffusers_hook._child_registries_cache == []
    config = FreqCaConfig(warmup_stride=1, cache_interval=3)
    for _ in range(2):  # and again after remove_freqca
        apply_freqca(tiny.model, config)
        run_steps(tiny, num_steps=8, context="cond")
        stats = get_freqca_stats(tiny.model)
        assert {n: s.full_steps for n, s in stats.contexts.items()} == {"cond": [0, 1, 3, 6]}
        remove_freqca(tiny.model)


# ----------------------------------------------------------------------------------- a run that skips nothing


# A run no longer than the warm-up skips nothing, whatever the interval: 2 steps with the consecutive warm-up, 1 with
# the default (its steps 1 and 2 are forecast).
@pytest.mark.parametrize(
    "config, steps",
    [({"cache_interval": 1}, 8), ({"cache_interval": 3, "warmup_stride": 1}, 2), ({"cache_interval": 3}, 1)],
)
def test_a_run_that_skips_nothing_warns_once(config, steps, caplog):
    pipe, inputs = build_tiny_pipeline("flux")
    pipe.transformer.enable_cache(FreqCaConfig(**config))
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            _images(pipe, inputs, cfg=True, num_inference_steps=steps)
    warnings = [r.getMessage() for r in caplog.records if "nothing was skipped" in r.getMessage()]
    assert len(warnings) == 1
    assert f"FreqCa computed all {steps} steps of cache context 'cond'" in warnings[0]


def test_an_aborted_call_inside_the_warmup_does_not_warn(caplog):
    pipe, inputs = build_tiny_pipeline("flux")
    pipe.transformer.enable_cache(FreqCaConfig(warmup_stride=1, cache_interval=3))

    def interrupt(pipe, step, timestep, callback_kwargs):
        raise KeyboardInterrupt

    with caplog.at_level(logging.WARNING):
        with pytest.raises(KeyboardInterrupt):
            _images(pipe, inputs, callback_on_step_end=interrupt)
        _images(pipe, inputs)
    assert "nothing was skipped" not in caplog.text
