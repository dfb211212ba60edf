# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The 3-D band split against scipy, the token grids read from each kind of model input, how a grid is lined up
with the output head's input, and the family and block tables."""

import math

import numpy as np
import pytest
import scipy.fft
import torch
from diffusers import Flux2Transformer2DModel

from diffusers_freqca import FreqCaConfig, apply_freqca, get_freqca_stats
from diffusers_freqca.band_split import BandSplitter, GridSegment, TokenLayout, low_band_mask
from diffusers_freqca.families import (
    BLOCKS,
    FAMILIES,
    TransformerFamily,
    block_metadata,
    check_supported,
    family_for,
    head_module,
)
from diffusers_freqca.token_grid import CallInputReader, HeadBandSplitter, patch_sizes


# ------------------------------------------------------------------------------------------------- 3-D band split


def _reference_video_low(video: np.ndarray, spatial: float, temporal: float, kind: str) -> np.ndarray:
    """Low band of a (frames, h, w, c) grid with scipy/numpy and the mask from its definition."""
    f, h, w, _ = video.shape
    axes = max(1, int(h > 1) + int(w > 1))

    def normalised(n):
        if kind == "dct":
            return np.arange(n) / max(n - 1, 1)
        freq = np.abs(np.fft.fftfreq(n))
        return freq / freq.max() if freq.max() > 0 else freq

    ft, fh, fw = normalised(f), normalised(h), normalised(w)
    radius = np.sqrt((fh[:, None] ** 2 + fw[None, :] ** 2) / axes)
    mask = (ft[:, None, None] <= temporal + 1e-9) & (radius[None] <= spatial + 1e-9)
    if kind == "dct":
        coeffs = scipy.fft.dctn(video, type=2, norm="ortho", axes=(0, 1, 2))
        return scipy.fft.idctn(coeffs * mask[..., None], type=2, norm="ortho", axes=(0, 1, 2))
    spectrum = np.fft.fftn(video, axes=(0, 1, 2))
    return np.real(np.fft.ifftn(spectrum * mask[..., None], axes=(0, 1, 2)))


@pytest.mark.parametrize(
    "kind, frames, height, width, spatial, temporal",
    [
        ("dct", 5, 6, 8, 0.2, 0.25),
        ("dct", 4, 7, 5, 0.35, 1.0),
        ("fft", 5, 6, 8, 0.2, 0.5),
        ("fft", 6, 9, 7, 0.3, 0.2),
    ],
)
def test_video_low_band_matches_independent_reference(kind, frames, height, width, spatial, temporal):
    video = np.random.default_rng(0).standard_normal((frames, height, width, 3))
    x = torch.from_numpy(video.reshape(1, -1, 3))
    layout = TokenLayout(x.shape[1], (GridSegment(0, height, width, frames),))
    low = BandSplitter(kind, spatial, temporal).low_pass(x, layout)
    expected = _reference_video_low(video, spatial, temporal, kind).reshape(1, -1, 3)
    np.testing.assert_allclose(low.numpy(), expected, atol=1e-6)  # the DCT matrices are float32


def test_temporal_cutoff_one_splits_each_frame_in_2d():
    x = torch.randn(2, 4 * 6 * 5, 3, dtype=torch.float64)
    video = TokenLayout(120, (GridSegment(0, 6, 5, frames=4),))
    frames = TokenLayout(120, tuple(GridSegment(i * 30, 6, 5) for i in range(4)))
    for kind in ("dct", "fft"):
        per_frame = BandSplitter(kind, 0.3).low_pass(x, frames)
        torch.testing.assert_close(BandSplitter(kind, 0.3, 1.0).low_pass(x, video), per_frame)


def test_video_mask_counts_and_default_temporal_cutoff():
    mask = low_band_mask(16, 16, 0.1, "dct", frames=5, temporal_cutoff_ratio=0.25)
    assert mask.shape == (5, 16, 16) and mask.sum() == 12  # 6 spatial x 2 temporal frequencies
    assert low_band_mask(16, 16, 0.1, "fft", frames=3).shape == (3, 16, 9)
    # No temporal cut-off: the spatial one.
    torch.testing.assert_close(
        low_band_mask(8, 8, 0.5, "dct", frames=5), low_band_mask(8, 8, 0.5, "dct", frames=5, temporal_cutoff_ratio=0.5)
    )
    assert low_band_mask(8, 8, 0.5, "dct", frames=1).shape == (8, 8)


def test_low_plus_high_is_the_feature_on_mixed_layouts():
    # Text tokens, a 2-D reference, a 3-D video: each grid split on its own, other tokens high band.
    layout = TokenLayout(3 + 12 + 2 * 12, (GridSegment(3, 3, 4), GridSegment(15, 3, 4, frames=2)))
    x = torch.randn(2, layout.seq_len, 5)
    low, high = BandSplitter("dct", 0.3, 0.5).split(x, layout)
    torch.testing.assert_close(low + high, x)
    assert low[:, :3].abs().max() == 0


def test_segment_and_layout_kinds():
    assert GridSegment(0, 4, 4, frames=3).kind == "3-D" and GridSegment(0, 4, 4).kind == "2-D"
    assert GridSegment(0, 1, 9).kind == "sequence" and GridSegment(0, 4, 4, frames=3).length == 48
    assert TokenLayout(64, (GridSegment(0, 4, 4), GridSegment(16, 4, 4, frames=3))).kind == "3-D"
    assert TokenLayout.sequence(7).kind == "sequence"
    with pytest.raises(ValueError, match="frame count"):
        TokenLayout(16, (GridSegment(0, 4, 4, frames=0),))


def test_aligned_layouts():
    layout = TokenLayout(24, (GridSegment(0, 2, 4), GridSegment(8, 4, 4)))
    assert layout.aligned_to(16).segments == (GridSegment(0, 4, 4),)  # leading reference dropped
    assert layout.aligned_to(30).segments == (GridSegment(6, 2, 4), GridSegment(14, 4, 4))  # history before
    assert layout.aligned_to(30, at="start").segments == layout.segments  # padding after
    assert layout.aligned_to(12) is None and layout.aligned_to(20, at="start") is None  # a grid would be cut
    with pytest.raises(ValueError, match="'start' or 'end'"):
        layout.aligned_to(30, at="middle")


# ------------------------------------------------------------------------------------------------ configuration


@pytest.mark.parametrize("value", [0.0, 1.5, -0.1, float("nan"), float("inf"), "0.1", True])
def test_temporal_cutoff_ratio_is_validated(value):
    with pytest.raises(ValueError, match="temporal_cutoff_ratio"):
        FreqCaConfig(warmup_stride=1, temporal_cutoff_ratio=value)


def test_temporal_cutoff_ratio_round_trips():
    config = FreqCaConfig(warmup_stride=1, decomposition="dct", low_freq_order=0, temporal_cutoff_ratio=0.25)
    assert FreqCaConfig.from_dict(config.to_dict()) == config
    assert FreqCaConfig(warmup_stride=1).temporal_cutoff_ratio is None


# ------------------------------------------------------------------------------------------------- token grids


class _Model(torch.nn.Module):
    # A stand-in transformer whose class name picks a family row and whose forward names the arguments.
    def __init__(self, name: str, config: dict):
        super().__init__()
        self.__class__ = type(name, (_Model,), {})
        self.config = config

    def forward(self, hidden_states=None, timestep=None, num_frames=None, height=None, width=None, img_ids=None):
        return hidden_states


def _read(name, config=None, **kwargs):
    return CallInputReader(_Model(name, config or {})).read((), kwargs)


def test_latent_grids_of_images_and_videos():
    wan = _read("WanTransformer3DModel", {"patch_size": (1, 2, 2)}, hidden_states=torch.zeros(1, 4, 5, 8, 12))
    assert wan.layout.segments == (GridSegment(0, 4, 6, frames=5),)
    cog = _read("CogVideoXTransformer3DModel", {"patch_size": 2, "patch_size_t": 2},
                hidden_states=torch.zeros(1, 4, 3, 8, 8))  # fmt: skip
    assert cog.layout.segments == (GridSegment(0, 4, 4, frames=2),)  # (B, F, C, H, W), 4 frames / 2
    kandinsky = _read(
        "Kandinsky5Transformer3DModel", {"patch_size": (1, 2, 2)}, hidden_states=torch.zeros(1, 3, 8, 8, 4)
    )
    assert kandinsky.layout.segments == (GridSegment(0, 4, 4, frames=3),)  # channels last
    sd3 = _read("SD3Transformer2DModel", {"patch_size": 2}, hidden_states=torch.zeros(2, 16, 8, 12))
    assert sd3.layout.segments == (GridSegment(0, 4, 6),) and sd3.layout.kind == "2-D"
    assert patch_sizes({"patch_size": [1, 1]}) == (1, 1, 1) and patch_sizes({}) == (1, 1, 1)


def test_clean_conditioning_frames_are_a_grid_of_their_own():
    hidden = torch.zeros(1, 4, 4, 4, 4)  # 4 latent frames of 2x2 tokens
    per_token = torch.full((1, 16), 700.0)
    per_token[:, :4] = 0.0  # Wan 2.2 image-to-video: the first frame's tokens at timestep 0
    wan = _read("WanTransformer3DModel", {"patch_size": (1, 2, 2)}, hidden_states=hidden, timestep=per_token)
    assert wan.layout.segments == (GridSegment(0, 2, 2, frames=1), GridSegment(4, 2, 2, frames=3))
    assert wan.time == 700.0
    per_frame = torch.tensor([[0.0, 0.0, 0.5, 0.5]])
    two = _read("WanTransformer3DModel", {"patch_size": (1, 2, 2)}, hidden_states=hidden, timestep=per_frame)
    assert two.layout.segments == (GridSegment(0, 2, 2, frames=2), GridSegment(8, 2, 2, frames=2))
    uniform = _read("WanTransformer3DModel", {"patch_size": (1, 2, 2)}, hidden_states=hidden, timestep=torch.ones(1))
    assert len(uniform.layout.segments) == 1


def test_ltx_frame_arguments():
    call = _read(
        "LTXVideoTransformer3DModel", hidden_states=torch.zeros(2, 3 * 4 * 5, 8), num_frames=3, height=4, width=5
    )
    assert call.layout.segments == (GridSegment(0, 4, 5, frames=3),)
    # Arguments that do not describe the sequence (LTXConditionPipeline's extra tokens) give no grid.
    assert (
        _read(
            "LTXVideoTransformer3DModel", hidden_states=torch.zeros(2, 70, 8), num_frames=3, height=4, width=5
        ).layout
        is None
    )


# ----------------------------------------------------------------------------------- lining up with the head


def test_head_splitter_lines_grids_up_with_the_head_input():
    video = TokenLayout(2 * 12, (GridSegment(0, 3, 4, frames=2),))
    latte = HeadBandSplitter("dct", 0.3, family=TransformerFamily("latent", head_layout="frames_in_batch"))
    assert latte.resolve(video, 12).segments == (GridSegment(0, 3, 4),)
    padded = HeadBandSplitter("dct", 0.3, family=TransformerFamily("latent", grid_position="first"))
    assert padded.resolve(video, 30).segments == video.segments
    history = HeadBandSplitter("dct", 0.3, family=TransformerFamily("latent", grid_position="last"))
    assert history.resolve(video, 30).segments == (GridSegment(6, 3, 4, frames=2),)
    strict = HeadBandSplitter("dct", 0.3, family=TransformerFamily("latent"), grid_fallback="error")
    with pytest.raises(ValueError, match="covers 24 tokens"):
        strict.resolve(video, 30)
    assert HeadBandSplitter("dct", 0.3).resolve(video, 30).kind == "sequence"  # with a warning
    assert HeadBandSplitter("dct", 0.3).resolve(None, 9) == TokenLayout.sequence(9)


def test_head_splitter_handles_grid_shaped_and_sequence_first_inputs():
    x = torch.randn(2, 3, 4, 5, 6)  # (B, F, H, W, C), Kandinsky 5's head input
    layout = TokenLayout(60, (GridSegment(0, 4, 5, frames=3),))
    low = HeadBandSplitter("dct", 0.3, family=family_for("Kandinsky5Transformer3DModel")).low_pass(x, layout)
    flat = BandSplitter("dct", 0.3).low_pass(x.reshape(2, 60, 6), layout)
    torch.testing.assert_close(low, flat.reshape(x.shape))
    tokens_first = torch.randn(12 + 4, 2, 6)  # (tokens, B, C), ERNIE-Image: image then text
    image = TokenLayout(12, (GridSegment(0, 3, 4),))
    low = HeadBandSplitter("dct", 0.3, family=family_for("ErnieImageTransformer2DModel")).low_pass(tokens_first, image)
    expected = BandSplitter("dct", 0.3).low_pass(tokens_first.transpose(0, 1), image.aligned_to(16, at="start"))
    torch.testing.assert_close(low, expected.transpose(0, 1))


def test_flux2_kv_extract_step_drops_the_references_before_the_head():
    # FLUX.2-klein-KV: at step 0 the references come first ("extract"), the head sees the target only; later steps
    # pass the target alone ("cached"). The grid is lined up at both, with no fallback.
    torch.manual_seed(0)
    model = Flux2Transformer2DModel(
        patch_size=1, in_channels=4, num_layers=1, num_single_layers=1, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=32, timestep_guidance_channels=256, axes_dims_rope=(4, 4, 4, 4),
    ).eval()  # fmt: skip
    config = FreqCaConfig(
        cache_interval=2, disable_cache_before_step=2, warmup_stride=1, decomposition="dct", low_freq_order=0,
        high_freq_order=1, grid_fallback="error",
    )  # fmt: skip
    model.enable_cache(config)

    def ids(height, width, index):
        grid = torch.zeros(height * width, 4)
        grid[:, 0] = index
        grid[:, 1] = torch.arange(height).repeat_interleave(width).float()
        grid[:, 2] = torch.arange(width).repeat(height).float()
        return grid

    text = {"encoder_hidden_states": torch.randn(1, 5, 32), "txt_ids": torch.zeros(5, 4), "return_dict": False}
    target, reference = ids(4, 6, 0), ids(3, 3, 10)
    with torch.no_grad():
        out = model(hidden_states=torch.randn(1, 33, 4), img_ids=torch.cat([reference, target]), timestep=torch.ones(1),
                    kv_cache_mode="extract", num_ref_tokens=9, **text)  # fmt: skip
        cache = out[-1]
        for sigma in (0.8, 0.6, 0.4, 0.2):
            model(hidden_states=torch.randn(1, 24, 4), img_ids=target, timestep=torch.tensor([sigma]),
                  kv_cache=cache, kv_cache_mode="cached", **text)  # fmt: skip
    stats = get_freqca_stats(model)
    assert stats.predicted_steps > 0 and stats.computed_steps + stats.predicted_steps == 5


# ------------------------------------------------------------------------------------------ family and blocks


def test_refused_class_names_the_reason():
    with pytest.raises(ValueError, match="two output streams"):
        check_supported(_Model("LTX2VideoTransformer3DModel", {}))
    with pytest.raises(ValueError, match="KV-cache fill calls"):
        check_supported(_Model("GlmImageTransformer2DModel", {}))
    assert check_supported(_Model("WanTransformer3DModel", {})) is FAMILIES["WanTransformer3DModel"]
    with pytest.raises(ValueError, match="FreqCa does not support Kandinsky6Transformer3DModel"):
        apply_freqca(_Model("Kandinsky6Transformer3DModel", {}), FreqCaConfig(warmup_stride=1))


def test_block_table_overrides_diffusers_registry():
    from diffusers.models.transformers.transformer_bria import BriaTransformerBlock
    from diffusers.models.transformers.transformer_z_image import ZImageTransformerBlock

    # diffusers registers Bria's double block as returning its hidden states first, and Z-Image's block as taking
    # `hidden_states`; both are wrong.
    bria = block_metadata(BriaTransformerBlock)
    assert (bria.return_hidden_states_index, bria.return_encoder_hidden_states_index) == (1, 0)
    assert block_metadata(ZImageTransformerBlock).hidden_states_argument_name == "x"
    assert block_metadata(BriaTransformerBlock) is bria  # one object per class
    with pytest.raises(ValueError, match="neither FreqCa's block table"):
        block_metadata(torch.nn.Linear)
    assert BLOCKS["HiDreamBlock"].wraps == "block"


def test_wrapper_blocks_take_their_indices_from_the_wrapped_block():
    from diffusers.models.transformers.transformer_hidream_image import (
        HiDreamBlock,
        HiDreamImageSingleTransformerBlock,
        HiDreamImageTransformerBlock,
    )

    double = HiDreamBlock.__new__(HiDreamBlock)
    torch.nn.Module.__init__(double)
    double.block = HiDreamImageTransformerBlock.__new__(HiDreamImageTransformerBlock)
    torch.nn.Module.__init__(double.block)
    single = HiDreamBlock.__new__(HiDreamBlock)
    torch.nn.Module.__init__(single)
    single.block = HiDreamImageSingleTransformerBlock.__new__(HiDreamImageSingleTransformerBlock)
    torch.nn.Module.__init__(single.block)
    assert block_metadata(double).return_encoder_hidden_states_index == 1
    assert block_metadata(single).return_encoder_hidden_states_index is None
    with pytest.raises(ValueError, match="wraps"):
        block_metadata(HiDreamBlock)


def test_head_module_resolves_dotted_paths_and_single_entry_dicts():
    model = torch.nn.Module()
    model.heads = torch.nn.ModuleDict({"2-1": torch.nn.Linear(2, 2)})
    assert head_module(model, TransformerFamily(head="heads")) is model.heads["2-1"]
    model.heads["4-1"] = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="holds 2 heads"):
        head_module(model, TransformerFamily(head="heads"))
    with pytest.raises(ValueError, match="no module called 'norm_out'"):
        head_module(model, TransformerFamily())


def test_family_rows_are_validated():
    with pytest.raises(ValueError, match="grid_source"):
        TransformerFamily("pixels")
    with pytest.raises(ValueError, match="head_layout"):
        TransformerFamily(head_layout="BCL")
    assert math.isclose(family_for("FluxTransformer2DModel").timestep_scale, 1.0)
