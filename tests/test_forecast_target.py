# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""`forecast_target`: the CRF at the output head's input, or the model's output; both against independent
computations on tiny models called step by step."""

import pytest
import torch
from model_utils import TINY_MODELS, BlockComputeCounter, run_steps, timesteps
from parameterized import parameterized

from diffusers_freqca import FreqCaConfig, full_steps, get_freqca_stats
from diffusers_freqca.forecast import OutputForecaster


class _InputRecorder:
    """Records the `hidden_states` each transformer call receives."""

    def __init__(self, model: torch.nn.Module):
        self.inputs: list[torch.Tensor] = []
        self.handle = model.register_forward_pre_hook(self._record, with_kwargs=True)

    def _record(self, module, args, kwargs):
        self.inputs.append(kwargs["hidden_states"].clone())


@parameterized.expand([("flux", "velocity"), ("flux", "noise"), ("flux", "auto"), ("qwen", "velocity")])
def test_model_output_target_extrapolates_the_outputs_of_the_last_two_full_steps(name, output_form):
    tiny = TINY_MODELS[name]()
    times = timesteps(14)
    reference = run_steps(tiny, times=times)
    config = FreqCaConfig(warmup_stride=1, cache_interval=4, forecast_target="model_output", output_form=output_form)
    tiny.model.enable_cache(config)
    counter = BlockComputeCounter(tiny.model)
    recorder = _InputRecorder(tiny.model)
    cached = run_steps(tiny, times=times)
    counter.remove()
    recorder.handle.remove()
    full = full_steps(14, config)
    stats = get_freqca_stats(tiny.model).contexts["cond"]
    assert stats.full_steps == full
    tiny.model.disable_cache()
    # FLUX's family row says its output is a flow-matching velocity: `"auto"` means the noise form there.
    form = "noise" if output_form == "auto" else output_form
    assert stats.output_forms == {form: 14 - len(full)}
    blocks_per_call = max(counter.per_call)
    for step, (got, want) in enumerate(zip(cached, reference)):
        if step in full:
            # Full steps run the whole model: bit for bit the uncached output, every block computed.
            assert torch.equal(got, want) and counter.per_call[step] == blocks_per_call
            continue
        assert counter.per_call[step] == 0
        # Predicted steps: the line through the last two full steps, along sigma (the default axis, positions -sigma),
        # computed here from the
        # *cached* run's own full-step outputs and inputs: of the output itself (velocity form), or of the noise
        # prediction x + (1 - sigma) v, converted back with this step's own input (noise form).
        last, before = [s for s in full if s < step][-2:][::-1]
        p0, p1, p = -times[last], -times[before], -times[step]
        if form == "velocity":
            expected = cached[last] + (p - p0) / (p0 - p1) * (cached[last] - cached[before])
        else:
            x = recorder.inputs
            e0 = x[last].double() + (1 - times[last]) * cached[last].double()
            e1 = x[before].double() + (1 - times[before]) * cached[before].double()
            noise = e0 + (p - p0) / (p0 - p1) * (e0 - e1)
            expected = ((noise - x[step].double()) / (1 - times[step])).float()
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@parameterized.expand([("flux", "velocity", 2), ("flux", "noise", 4), ("qwen", "velocity", 2)])
def test_model_output_cache_holds_two_output_sized_tensors(name, output_form, bytes_per_value_relative):
    tiny = TINY_MODELS[name]()
    tiny.model.enable_cache(FreqCaConfig(warmup_stride=1, forecast_target="model_output", output_form=output_form))
    outputs = run_steps(tiny, num_steps=12)
    stats = get_freqca_stats(tiny.model).contexts["cond"]
    tiny.model.disable_cache()
    # The value and the first divided difference: in the model's dtype (velocity form), in float32 (noise form).
    element_size = outputs[0].element_size() if output_form == "velocity" else 4
    assert stats.cache_bytes == 2 * outputs[0].numel() * element_size


def test_noise_form_needs_an_output_shaped_like_the_input_and_a_noise_level():
    x, v = torch.randn(1, 4, 6), torch.randn(1, 4, 3)  # e.g. Wan image-to-video: 36 input channels, 16 output
    strict = OutputForecaster(FreqCaConfig(warmup_stride=1, output_form="noise"), flow_velocity=True)
    with pytest.raises(ValueError, match="output_form='noise'.*shape"):
        strict.update(v, time=0.0, step=0, x=x, sigma=0.9)
    with pytest.raises(ValueError, match="output_form='noise'.*noise level"):
        strict.update(v, time=0.0, step=0, x=torch.randn(1, 4, 3), sigma=None)
    # `"auto"` falls back to the velocity form, and then forecasts the output itself.
    auto = OutputForecaster(FreqCaConfig(warmup_stride=1), flow_velocity=True)
    assert auto.form == "noise"
    auto.update(v, time=0.0, step=0, x=x, sigma=0.9)
    auto.update(2 * v, time=1.0, step=1, x=x, sigma=0.8)
    assert auto.form == "velocity"
    torch.testing.assert_close(auto.predict(3.0, x=x, sigma=0.5), 4 * v)
    # Models whose family row does not say "flow velocity" always use the velocity form under `"auto"`.
    assert OutputForecaster(FreqCaConfig(warmup_stride=1), flow_velocity=False).form == "velocity"


def test_noise_form_is_exact_for_noise_predictions_linear_in_the_position():
    # e(t) = a + b t exactly: the forecast recovers v = (e - x) / (1 - sigma) at any later position and input.
    a, b = torch.randn(2, 5), torch.randn(2, 5)
    forecaster = OutputForecaster(FreqCaConfig(warmup_stride=1, output_form="noise"))
    for time, sigma in ((0.0, 0.9), (1.0, 0.7)):
        x = torch.randn(2, 5)
        forecaster.update((a + b * time - x) / (1 - sigma), time=time, step=int(time), x=x, sigma=sigma)
    x = torch.randn(2, 5)
    torch.testing.assert_close(forecaster.predict(2.5, x=x, sigma=0.3), (a + b * 2.5 - x) / 0.7)


def test_output_form_needs_the_model_output_target():
    with pytest.raises(ValueError, match="output_form='noise'"):
        FreqCaConfig(warmup_stride=1, forecast_target="crf", output_form="noise")
    with pytest.raises(ValueError, match="output_form"):
        FreqCaConfig(warmup_stride=1, output_form="data")
    # The default target: the model's output without a split, the CRF with one.
    assert FreqCaConfig(warmup_stride=1).forecast_target == "model_output"
    assert (
        FreqCaConfig(warmup_stride=1, decomposition="dct", low_freq_order=0, high_freq_order=2).forecast_target
        == "crf"
    )


def test_model_output_refuses_a_band_split_and_the_residual_form():
    with pytest.raises(ValueError, match="forecast_target='model_output'"):
        FreqCaConfig(warmup_stride=1, forecast_target="model_output", decomposition="dct", low_freq_order=0)
    with pytest.raises(ValueError, match="crf_form"):
        FreqCaConfig(warmup_stride=1, forecast_target="model_output", crf_form="residual")
    # Equal band orders would split nothing: the decomposition is refused rather than silently unused.
    with pytest.raises(ValueError, match="would change nothing"):
        FreqCaConfig(warmup_stride=1, forecast_target="model_output", decomposition="dct")
    with pytest.raises(ValueError, match="forecast_target"):
        FreqCaConfig(warmup_stride=1, forecast_target="output")


def test_the_noise_form_says_which_steps_it_cannot_forecast():
    # The hook computes a step `can_predict` refuses (begin_call), so a forecast never runs without its inputs.
    forecaster = OutputForecaster(FreqCaConfig(warmup_stride=1), flow_velocity=True)
    x = torch.randn(1, 4, 2)
    assert not forecaster.can_predict(x, 0.5)  # nothing recorded yet
    forecaster.update(torch.randn(1, 4, 2), time=0.0, step=0, x=x, sigma=0.9)
    assert forecaster.can_predict(x, 0.5)
    assert not forecaster.can_predict(x, None)
    assert not forecaster.can_predict(None, 0.5)
    assert not forecaster.can_predict(torch.randn(1, 5, 2), 0.5)
    with pytest.raises(RuntimeError, match="noise level"):
        forecaster.predict(1.0, x=x, sigma=None)
    velocity = OutputForecaster(FreqCaConfig(warmup_stride=1, output_form="velocity"), flow_velocity=True)
    velocity.update(torch.randn(1, 4, 2), time=0.0, step=0)
    assert velocity.can_predict(None, None)


class _SubmoduleCalls:
    """Counts, per transformer call, the forwards of every submodule (embedders, blocks, output head)."""

    def __init__(self, model: torch.nn.Module):
        self.per_call: list[int] = []
        self.handles = [model.register_forward_pre_hook(lambda *_: self.per_call.append(0))]
        for name, module in model.named_modules():
            if name:
                self.handles.append(module.register_forward_pre_hook(self._count))

    def _count(self, *_):
        self.per_call[-1] += 1

    def remove(self):
        for handle in self.handles:
            handle.remove()


@parameterized.expand([("flux",), ("qwen",)])
def test_predicted_steps_with_the_model_output_target_run_no_submodule(name):
    tiny = TINY_MODELS[name]()
    config = FreqCaConfig(warmup_stride=1, cache_interval=4)
    tiny.model.enable_cache(config)
    calls = _SubmoduleCalls(tiny.model)
    run_steps(tiny, num_steps=14)
    calls.remove()
    full = full_steps(14, config)
    for step, count in enumerate(calls.per_call):
        # A full step runs the whole model; a predicted step runs nothing: no embedding, block or output head.
        assert (count > 0) == (step in full), (step, count)
    tiny.model.disable_cache()


@parameterized.expand([("return_dict_true", True), ("return_dict_false", False)])
def test_a_predicted_step_that_asks_for_another_output_packing_runs_the_forward_without_blocks(_, first):
    # Full steps called with `return_dict=first`, predicted steps with the other: the forecast cannot be packed as the
    # last full step's output was, so the forward runs (blocks skipped) and its output is replaced. Either way the
    # values are those of a run that keeps one packing.
    times = timesteps(10)
    config = FreqCaConfig(warmup_stride=1, cache_interval=4)
    outputs = {}
    for mixed in (False, True):
        tiny = TINY_MODELS["flux"]()
        tiny.model.enable_cache(config)
        full = full_steps(10, config)
        counter, calls = BlockComputeCounter(tiny.model), _SubmoduleCalls(tiny.model)
        results = []
        for step, t in enumerate(times):
            return_dict = first if (step in full or not mixed) else not first
            with tiny.model.cache_context("cond"):
                out = tiny.model(**{**tiny.make_inputs(1, 6, 8, t), "return_dict": return_dict})
            assert isinstance(out, tuple) != return_dict
            results.append(out.sample if return_dict else out[0])
        counter.remove()
        calls.remove()
        assert [n > 0 for n in counter.per_call] == [s in full for s in range(10)]
        # Unmixed, predicted steps run no submodule; mixed, they run the embedders and the head (not the blocks).
        assert [n > 0 for n in calls.per_call] == [mixed or s in full for s in range(10)]
        outputs[mixed] = results
        tiny.model.disable_cache()
    for a, b in zip(outputs[False], outputs[True]):
        assert torch.equal(a, b)


@parameterized.expand([("velocity",), ("noise",)])
def test_changing_a_returned_output_in_place_does_not_change_later_forecasts(output_form):
    config = FreqCaConfig(warmup_stride=1, cache_interval=4, output_form=output_form)
    runs = []
    for scribble in (False, True):
        tiny = TINY_MODELS["flux"]()
        tiny.model.enable_cache(config)
        outputs = []
        for t in timesteps(12):
            with tiny.model.cache_context("cond"):
                out = tiny.model(**tiny.make_inputs(1, 6, 8, t))[0]
            outputs.append(out.clone())
            if scribble:
                out.mul_(-3.0)  # a caller that reuses the buffer
        runs.append(outputs)
        tiny.model.disable_cache()
    for a, b in zip(*runs):
        assert torch.equal(a, b)
