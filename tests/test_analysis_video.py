# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The frequency analysis on video features: a tiny Wan pipeline's CRF is recorded with its 3-D token grid and split
in 3-D, with its own temporal cut-off."""

import math

import pytest
import torch
from test_video_pipelines import _wan_i2v, _wan_t2v

from diffusers_freqca.analysis import analyze_trace, record_crf, scheme_errors


def _trace(build):
    video = build()
    video.pipe.set_progress_bar_config(disable=True)
    kwargs = {**video.kwargs, "num_inference_steps": 8, "output_type": "latent"}
    with torch.no_grad():
        trace, _ = record_crf(video.pipe, {**kwargs, "generator": torch.Generator().manual_seed(0)})
    return trace


def test_analysis_records_and_splits_video_grids_in_3d():
    trace = _trace(_wan_t2v)
    # Classifier-free guidance: a cond and an uncond call per step, one stream each.
    assert trace.num_calls == 16 and len(trace.calls(0)) == 8
    layout = trace.layouts[0]
    assert layout.kind == "3-D" and layout.segments[0].frames == 3 and layout.seq_len == trace.outputs[0].shape[1]
    rows = analyze_trace(trace, interval=2, cutoff_ratio=0.3, decomposition="dct", temporal_cutoff_ratio=0.5)
    by_step = {}
    for row in rows:
        if row["crf_form"] == "hidden_states" and row["band"] in ("low", "high"):
            by_step.setdefault(row["step"], 0.0)
            by_step[row["step"]] += row["energy_fraction"]
    assert all(math.isclose(total, 1.0, rel_tol=1e-5) for total in by_step.values())  # an orthogonal 3-D split
    # A different temporal cut-off moves energy between the bands.
    wide = analyze_trace(trace, interval=2, cutoff_ratio=0.3, decomposition="dct", temporal_cutoff_ratio=1.0)
    low = [row["energy_fraction"] for row in rows if row["band"] == "low" and row["crf_form"] == "hidden_states"]
    low_wide = [row["energy_fraction"] for row in wide if row["band"] == "low" and row["crf_form"] == "hidden_states"]
    assert all(a <= b + 1e-9 for a, b in zip(low, low_wide)) and low != low_wide
    sweep = scheme_errors(trace, intervals=(2,), cutoff_ratios=(0.3,), temporal_cutoff_ratio=0.5)
    assert all(math.isfinite(row["freqca_error"]) for row in sweep)
    with pytest.raises(ValueError, match="temporal_cutoff_ratio"):
        analyze_trace(trace, temporal_cutoff_ratio=0.0)


def test_analysis_keeps_the_conditioning_frame_apart():
    trace = _trace(_wan_i2v)
    segments = trace.layouts[0].segments
    assert [segment.frames for segment in segments] == [1, 2]  # the clean image frame, then the noisy frames
