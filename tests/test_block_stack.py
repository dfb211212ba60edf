# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""`diffusers_freqca.block_stack`: the one rule that finds a transformer's block stack, and the evaluation counter."""

import pytest
import torch
from diffusers.hooks._common import _ALL_TRANSFORMER_BLOCK_IDENTIFIERS
from model_utils import TINY_MODELS, run_steps

from diffusers_freqca import FreqCaConfig
from diffusers_freqca.block_stack import (
    BLOCK_LIST_NAMES,
    CallCounter,
    count_evaluations,
    find_block_stack,
    first_block,
    last_block,
)


def test_the_names_are_diffusers_block_list_names():
    assert set(BLOCK_LIST_NAMES) == set(_ALL_TRANSFORMER_BLOCK_IDENTIFIERS)


def test_flux_blocks_in_definition_order():
    model = TINY_MODELS["flux"]().model
    found = find_block_stack(model)
    assert [name for name, _ in found] == [
        "transformer_blocks.0",
        "transformer_blocks.1",
        "single_transformer_blocks.0",
        "single_transformer_blocks.1",
    ]
    modules = dict(model.named_modules())
    assert all(modules[name] is block for name, block in found)
    assert first_block(model) is model.transformer_blocks[0]
    assert last_block(model) is model.single_transformer_blocks[-1]


def test_qwen_blocks():
    model = TINY_MODELS["qwen"]().model
    assert [name for name, _ in find_block_stack(model)] == [f"transformer_blocks.{i}" for i in range(3)]


def test_only_module_lists_with_block_list_names_count():
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList([torch.nn.Linear(2, 2)])  # a diffusers block-list name
            self.blocks = torch.nn.Sequential(torch.nn.Linear(2, 2))  # the right name, not a ModuleList
            self.heads = torch.nn.ModuleList([torch.nn.Linear(2, 2)])  # a ModuleList, not a block-list name

    assert [name for name, _ in find_block_stack(Model())] == ["layers.0"]
    with pytest.raises(ValueError, match="no transformer block list"):
        first_block(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="torch.nn.Module"):
        find_block_stack("transformer")


def test_call_counter_removes_its_hook():
    layer = torch.nn.Linear(2, 2)
    with CallCounter(layer) as calls:
        layer(torch.zeros(1, 2))
        layer(torch.zeros(1, 2))
    layer(torch.zeros(1, 2))
    assert calls.count == 2 and not layer._forward_pre_hooks


@pytest.mark.parametrize("name", ["flux", "qwen"])
def test_count_evaluations_sees_freqca_skip_the_stack(name):
    tiny = TINY_MODELS[name]()
    with count_evaluations(tiny.model) as counts:
        run_steps(tiny, num_steps=12)
    assert counts == {"calls": 12, "first_block": 12, "last_block": 12}
    tiny.model.enable_cache(FreqCaConfig(warmup_stride=1, cache_interval=4))
    try:
        with count_evaluations(tiny.model) as counts:
            run_steps(tiny, num_steps=12)
    finally:
        tiny.model.disable_cache()
    # Full steps 0, 1, 2, 6, 10: the blocks are entered on every call, but compute only on those.
    assert counts == {"calls": 12, "first_block": 5, "last_block": 5}
