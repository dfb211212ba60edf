# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""Coverage: a tiny model of every transformer class FreqCa supports (tests/supported_models.py) runs a few steps with
FreqCa, and every class the family table refuses is refused when the cache is enabled."""

from pathlib import Path

import diffusers
import pytest
import torch
from diffusers.models.cache_utils import CacheMixin
from supported_models import CASES_BY_CLASS, render_page

from diffusers_freqca import FreqCaConfig, apply_freqca, get_freqca_stats, remove_freqca
from diffusers_freqca.block_stack import find_block_stack
from diffusers_freqca.families import FAMILIES, family_for, head_module
from diffusers_freqca.schedule import full_steps
from diffusers_freqca.token_grid import CallInputReader, HeadBandSplitter


REPO_ROOT = Path(__file__).resolve().parents[1]
NUM_STEPS = 6
SIGMAS = torch.linspace(1.0, 0.5, NUM_STEPS).tolist()
# Randomly initialised models are far less smooth along a trajectory than trained ones; this bounds the forecast's
# relative error on the predicted steps loosely, so that a forecast of the wrong tensor (a mis-aligned grid, a head
# fed another stream) fails while honest forecasts pass.
MAX_FORECAST_ERROR = 0.3
# ... or a forecast may be off by a little more than the output moved since the last full step: tiny models whose
# blocks contribute little (small gates) have head inputs dominated by the step's own input, which no forecast knows.
DRIFT_FACTOR = 1.25
# Full steps 0, 1, 3; steps 2, 4 and 5 are predicted. The band split is on (low band reused, high band extrapolated)
# and must find the grid: `grid_fallback="error"`. The forecast runs along the log-SNR, which near sigma = 1 reaches
# about half a step less far than the default sigma axis: on random weights a full-step extrapolation of the high band
# overshoots (BriaFibo2: 0.53 against a drift of 0.36), and what this test checks is the wiring, not the axis.
CONFIG = FreqCaConfig(
    spacing="log_snr",
    cache_interval=3,
    disable_cache_before_step=2,
    first_interval=2,
    decomposition="dct",
    low_freq_order=0,
    high_freq_order=1,
    grid_fallback="error",
)


def _sample(output) -> torch.Tensor:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        return _sample(output[0])
    return _sample(output.sample)


@torch.no_grad()
def _run(case, model) -> list[torch.Tensor]:
    outputs = []
    for sigma in SIGMAS:
        generator = torch.Generator().manual_seed(0)  # the same inputs at every step, but fresh tensors
        kwargs = case.inputs(generator, sigma, case.timestep(sigma))
        outputs.append(_sample(model(**kwargs, return_dict=False)).clone())
    return outputs


def _enable(model, config):
    if isinstance(model, CacheMixin):
        model.enable_cache(config)
    else:
        apply_freqca(model, config)


def _disable(model):
    if isinstance(model, CacheMixin):
        model.disable_cache()
    else:
        remove_freqca(model)


def _head_layout(case, model):
    # The layout the band split uses at the head on the first step: read from the call like the runtime does, lined
    # up with the head's input.
    seen = {}

    def keep_input(module, args, kwargs):
        seen.setdefault("x", args[0] if args else kwargs["hidden_states"])

    handle = head_module(model).register_forward_pre_hook(keep_input, with_kwargs=True)
    try:
        kwargs = case.inputs(torch.Generator().manual_seed(0), SIGMAS[0], case.timestep(SIGMAS[0]))
        with torch.no_grad():
            model(**kwargs, return_dict=False)
    finally:
        handle.remove()
    call = CallInputReader(model).read((), kwargs)
    splitter = HeadBandSplitter("dct", 0.1, family=family_for(case.class_name), grid_fallback="error")
    x = seen["x"].transpose(0, 1) if splitter.family.head_layout == "LBC" else seen["x"]
    return splitter.resolve(call.layout, x[0].numel() // x.shape[-1])


class _BlockComputations:
    # Counts, per block of the stack, the calls in which it really computed: a skipped block is still entered (its
    # forward hooks fire), but none of its layers runs.
    def __init__(self, model):
        blocks = [block for _, block in find_block_stack(model)]
        self.counts = [0] * len(blocks)
        self.handles = []
        for index, block in enumerate(blocks):
            state = {"inside": False, "ran": False}

            def enter(module, args, state=state):
                state.update(inside=True, ran=False)

            def leave(module, args, output, state=state, index=index):
                state["inside"] = False
                self.counts[index] += int(state["ran"])

            def ran(module, args, state=state):
                if state["inside"]:
                    state["ran"] = True

            self.handles += [block.register_forward_pre_hook(enter), block.register_forward_hook(leave)]
            self.handles += [child.register_forward_pre_hook(ran) for child in block.modules() if child is not block]

    def remove(self):
        for handle in self.handles:
            handle.remove()


def check_case(class_name: str) -> dict:
    r"""Runs one case uncached, cached and after `disable_cache`; asserts the invariants and returns the forecast
    errors of the predicted steps (relative to the uncached output)."""
    case = CASES_BY_CLASS[class_name]
    model = case.build()
    blocks = _BlockComputations(model)
    try:
        reference = _run(case, model)
    finally:
        blocks.remove()
    # Blocks the call does not use (an optional modality's list) run on no step.
    runs = [NUM_STEPS if count else 0 for count in blocks.counts]
    assert blocks.counts == runs and any(runs)
    assert all(torch.isfinite(x).all() for x in reference)

    layout = _head_layout(case, model)
    assert layout.kind == case.split, f"{class_name}: the head's band split is {layout.kind}, expected {case.split}"

    _enable(model, CONFIG)
    blocks = _BlockComputations(model)
    try:
        cached = _run(case, model)
    finally:
        blocks.remove()
    stats = get_freqca_stats(model)
    expected_full = full_steps(NUM_STEPS, CONFIG)
    assert stats.computed_steps == len(expected_full) and stats.predicted_steps == NUM_STEPS - len(expected_full)
    # Every block of the stack computed on full steps only.
    assert blocks.counts == [len(expected_full) if run else 0 for run in runs], blocks.counts
    for step in expected_full:
        torch.testing.assert_close(cached[step], reference[step], rtol=0, atol=0)
    errors = {}
    for step in sorted(set(range(NUM_STEPS)) - set(expected_full)):
        assert torch.isfinite(cached[step]).all()
        last_full = max(s for s in expected_full if s < step)
        scale = reference[step].norm()
        # The forecast error, and how far the uncached output moved since the last full step.
        errors[step] = (
            float((cached[step] - reference[step]).norm() / scale),
            float((reference[last_full] - reference[step]).norm() / scale),
        )

    _disable(model)
    restored = _run(case, model)
    for before, after in zip(reference, restored):
        torch.testing.assert_close(after, before, rtol=0, atol=0)
    return errors


@pytest.mark.parametrize("class_name", sorted(CASES_BY_CLASS))
def test_supported_class_runs_with_freqca(class_name):
    errors = check_case(class_name)
    for step, (error, drift) in errors.items():
        assert error < max(MAX_FORECAST_ERROR, DRIFT_FACTOR * drift), (
            f"{class_name}: step {step}'s output is off by {error:.3f} (relative) while the uncached output moved "
            f"{drift:.3f} since the last full step: {errors}"
        )


def _refused_names():
    return sorted(name for name, family in FAMILIES.items() if family.refused is not None)


@pytest.mark.parametrize("class_name", [n for n in _refused_names() if hasattr(diffusers, n)])
def test_refused_class_is_refused_with_its_reason(class_name):
    # No model needs to be built: the refusal depends on the class alone.
    model_class = getattr(diffusers, class_name)
    model = model_class.__new__(model_class)
    torch.nn.Module.__init__(model)
    with pytest.raises(ValueError, match="FreqCa does not support " + class_name):
        apply_freqca(model, FreqCaConfig())


def test_every_transformer_class_is_supported_or_refused():
    # Every ModelMixin class of diffusers' transformers package with a block list has a tiny case or a refusal.
    from diffusers.models import transformers as package

    names = {
        name
        for name in dir(package)
        if isinstance(getattr(package, name), type) and issubclass(getattr(package, name), diffusers.ModelMixin)
    }
    missing = sorted(names - set(CASES_BY_CLASS) - set(_refused_names()))
    assert not missing, f"classes neither tested nor refused: {missing}"
    assert not set(CASES_BY_CLASS) & set(_refused_names())


def test_supported_models_page_matches_the_table():
    page = (REPO_ROOT / "docs" / "supported_models.md").read_text()
    assert page == render_page(), "regenerate with `python tests/supported_models.py > docs/supported_models.md`"


def test_block_stack_includes_the_family_tables_extra_lists():
    model = CASES_BY_CLASS["AuraFlowTransformer2DModel"].build()
    names = [name for name, _ in find_block_stack(model)]
    assert names[0].startswith("joint_transformer_blocks.") and names[-1].startswith("single_transformer_blocks.")
