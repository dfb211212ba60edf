# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""Random sequences of pipeline calls against a fresh cache, with hypothesis' stateful testing (issue 9).

Four tiny pipelines (FLUX, FLUX-Kontext, FLUX img2img and Qwen-Image, the latter three with optional true CFG) are
called in random order with random step counts, resolutions, batch sizes, img2img strengths, `no_grad` or
`inference_mode`, calls aborted by an exception from `callback_on_step_end`, and FreqCa enabled and disabled (with a
config that splits bands or one that does not) in between. Whatever came before:

- a call that completes gives, bit for bit, the output of a twin pipeline (same weights) whose cache was just
  enabled (or that has none, when FreqCa is disabled);
- every cache context computed `len(full_steps(n, config))` steps, `n` being its calls in this pipeline call (also for
  an aborted call), and the statistics name exactly the contexts of this call.

The examples are derandomised (the same sequences on every run) and sized to run in well under two minutes on a
2-core CPU.
"""

import functools

import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule
from tiny_pipelines import build_tiny_pipeline

from diffusers_freqca import FreqCaConfig, full_steps, get_freqca_stats


PIPELINES = ("flux", "flux_kontext", "flux_img2img", "qwenimage")
# The cache contexts of one step, without and with true CFG (diffusers 0.42.1: Kontext and img2img enter none).
CONTEXTS = {
    "flux": ("cond", "uncond"),
    "flux_kontext": ("freqca_auto_0", "freqca_auto_1"),
    "flux_img2img": ("freqca_auto_0", "freqca_auto_1"),
    "qwenimage": ("cond", "uncond"),
}
RESOLUTIONS = ((32, 48), (32, 32), (48, 32))


def _config(name: str, index: int) -> FreqCaConfig:
    if index == 0:
        return FreqCaConfig(cache_interval=3)
    split = "fft" if name.startswith("qwen") else "dct"
    return FreqCaConfig(cache_interval=2, decomposition=split, low_freq_order=0, high_freq_order=1)


@functools.cache
def _pipelines(name: str):
    """The pipeline under test and its twin (the same seed, so the same weights and inputs)."""
    pipe, inputs = build_tiny_pipeline(name)
    twin, _ = build_tiny_pipeline(name)
    calls = []
    pipe.transformer.register_forward_pre_hook(lambda *_: calls.append(1))
    return pipe, twin, inputs, calls


class _Abort(Exception):
    pass


class FreqCaLifecycle(RuleBasedStateMachine):
    @initialize()
    def start(self):
        # The pipelines are shared between examples; every example starts from FreqCa freshly enabled.
        self.configs: dict[str, FreqCaConfig | None] = {}
        for name in PIPELINES:
            pipe, twin, _, _ = _pipelines(name)
            for transformer in (pipe.transformer, twin.transformer):
                if transformer.is_cache_enabled:
                    transformer.disable_cache()
            self.configs[name] = _config(name, 0)
            pipe.transformer.enable_cache(self.configs[name])

    @rule(name=st.sampled_from(PIPELINES), config_index=st.integers(0, 1))
    def toggle(self, name, config_index):
        pipe = _pipelines(name)[0]
        if self.configs[name] is None:
            self.configs[name] = _config(name, config_index)
            pipe.transformer.enable_cache(self.configs[name])
        else:
            pipe.transformer.disable_cache()
            self.configs[name] = None

    @rule(
        name=st.sampled_from(PIPELINES),
        steps=st.integers(4, 9),
        resolution=st.sampled_from(RESOLUTIONS),
        batch=st.integers(1, 2),
        cfg=st.booleans(),
        inference_mode=st.booleans(),
        strength=st.sampled_from((1.0, 0.75, 0.5)),
        abort_at=st.one_of(st.none(), st.none(), st.integers(0, 8)),
    )
    def call(self, name, steps, resolution, batch, cfg, inference_mode, strength, abort_at):
        pipe, twin, inputs, calls = _pipelines(name)
        config = self.configs[name]
        kwargs = {
            **(inputs.negative_kwargs if cfg else {}),
            **inputs.resolution(*resolution),
            "num_inference_steps": steps,
            "num_images_per_prompt": batch,
        }
        length = steps
        if name == "flux_img2img":
            kwargs["strength"] = strength
            # FluxImg2ImgPipeline skips the first int(steps - steps * strength) timesteps.
            length = steps - int(steps - steps * strength)
        contexts = CONTEXTS[name][: 2 if cfg else 1]
        aborted = abort_at is not None and abort_at < length

        def abort(pipe, step, timestep, callback_kwargs):
            if step == abort_at:
                raise _Abort
            return callback_kwargs

        calls.clear()
        with torch.inference_mode() if inference_mode else torch.no_grad():
            try:
                output = pipe(**inputs(**kwargs, callback_on_step_end=abort if aborted else None)).images
            except _Abort:
                output = None
        assert (output is None) == aborted
        run = abort_at + 1 if aborted else length
        assert len(calls) == run * len(contexts)

        if config is not None:
            stats = get_freqca_stats(pipe.transformer)
            expected = full_steps(run, config)
            assert sorted(stats.contexts) == sorted(contexts)
            for context in stats.contexts.values():
                assert context.full_steps == expected and context.predicted_steps == run - len(expected)
                assert context.restarts == 0
        if aborted:
            return

        # The twin, with a cache enabled just now (or none): the same output, bit for bit.
        if twin.transformer.is_cache_enabled:
            twin.transformer.disable_cache()
        if config is not None:
            twin.transformer.enable_cache(config)
        fresh = twin(**inputs(**kwargs)).images
        assert torch.equal(output, fresh)


FreqCaLifecycle.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=20,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow],
)
TestFreqCaLifecycle = FreqCaLifecycle.TestCase
