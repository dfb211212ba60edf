# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""Reading the token layout and the timestep from real transformer call arguments."""

import torch
from diffusers import FluxPipeline, FluxTransformer2DModel

from diffusers_freqca.band_split import GridSegment
from diffusers_freqca.token_grid import TOKEN_GRID_SOURCES, CallInputReader, _layout_from_ids, _layout_from_shapes


def _flux_ids(h, w, index=0, row_offset=0, col_offset=0):
    ids = FluxPipeline._prepare_latent_image_ids(1, h, w, "cpu", torch.float32)
    ids[:, 0] = index
    ids[:, 1] += row_offset
    ids[:, 2] += col_offset
    return ids


def test_flux_non_square_ids():
    layout = _layout_from_ids(_flux_ids(6, 10), 60)
    assert layout.segments == (GridSegment(0, 6, 10),)


def test_kontext_target_and_reference_are_separate_grids():
    # FluxKontextPipeline marks reference tokens with first id 1 (and may offset their positions).
    ids = torch.cat([_flux_ids(8, 6), _flux_ids(4, 5, index=1, row_offset=8, col_offset=6)])
    layout = _layout_from_ids(ids, 68)
    assert layout.segments == (GridSegment(0, 8, 6), GridSegment(48, 4, 5))


def test_ids_that_are_not_a_raster_grid_are_refused():
    ids = _flux_ids(4, 4)
    assert _layout_from_ids(ids[torch.randperm(16, generator=torch.Generator().manual_seed(0))], 16) is None
    assert _layout_from_ids(ids[:15], 15) is None  # incomplete grid
    assert _layout_from_ids(ids, 20) is None  # sequence length mismatch


def test_qwen_img_shapes_with_reference_image():
    layout = _layout_from_shapes([[(1, 4, 6), (1, 3, 3)], [(1, 4, 6), (1, 3, 3)]], 33)
    assert layout.segments == (GridSegment(0, 4, 6), GridSegment(24, 3, 3))
    assert _layout_from_shapes([[(1, 4, 6)]], 30) is None
    assert _layout_from_shapes([[(1, 4, 6)], [(1, 2, 12)]], 24) is None  # samples disagree


def test_reader_reads_flux_call_and_caches_layout():
    model = FluxTransformer2DModel(
        num_layers=1, num_single_layers=1, attention_head_dim=8, num_attention_heads=2, joint_attention_dim=16,
        pooled_projection_dim=16, in_channels=4, axes_dims_rope=(2, 2, 4),
    )  # fmt: skip
    assert TOKEN_GRID_SOURCES[type(model).__name__] == "img_ids"
    reader = CallInputReader(model)
    ids = _flux_ids(3, 5)
    kwargs = {"hidden_states": torch.randn(2, 15, 4), "timestep": torch.tensor([0.75, 0.75]), "img_ids": ids}
    first = reader.read((), kwargs)
    assert first.time == 0.75 and first.layout.segments == (GridSegment(0, 3, 5),)
    assert reader.read((), kwargs).layout is first.layout  # same ids object: not re-read
    # Positional arguments are understood too.
    positional = reader.read((torch.randn(2, 15, 4), None, None, torch.tensor([0.5]), ids), {})
    assert positional.time == 0.5 and positional.layout.segments == first.layout.segments
    assert reader.read((), {"hidden_states": torch.randn(2, 15, 4)}).layout is None
