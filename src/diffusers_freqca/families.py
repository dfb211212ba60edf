# Copyright 2026 The diffusers-freqca authors. All rights reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""What differs between diffusion-transformer families, in one table. Nothing else in FreqCa is model-specific.

Two tables:

- `FAMILIES`: per transformer class (diffusers 0.42.1), where its token grid comes from, its timestep argument and
  scale, the output-head module whose input FreqCa's CRF forecast caches (the Cumulative Residual Feature,
  `forecast_target="crf"`), how the head's input lines up with the grid, whether the model's output is a
  flow-matching velocity (`flow_velocity`: the model-output forecast then uses the noise form), extra block lists
  that are not among diffusers' block-list names, or why FreqCa refuses the class. Classes without a row use
  `DEFAULT_FAMILY`.
- `BLOCKS`: per block class, how it takes and returns its hidden states, for blocks diffusers'
  `TransformerBlockRegistry` does not know or describes wrongly. It takes precedence over the registry.
"""

from dataclasses import dataclass

import torch
from diffusers.hooks._helpers import TransformerBlockMetadata, TransformerBlockRegistry


GRID_SOURCES = ("img_ids", "img_shapes", "position_ids", "latent", "frame_kwargs", "latent_list", "sequence")
HEAD_LAYOUTS = ("BLC", "LBC", "frames_in_batch")
GRID_POSITIONS = ("first", "last")


@dataclass(frozen=True)
class TransformerFamily:
    r"""
    One row of the family table.

    Args:
        grid_source (`str`, *optional*):
            How the token grid of the head's input is read from the transformer's call:

            - `"img_ids"`: FLUX-style position ids `(seq, >=3)` in the `img_ids` argument: image index (target 0,
              references another value), row, column; runs of one index are separate grids.
            - `"img_shapes"`: Qwen-Image-style per-sample lists of `(frames, rows, columns)`.
            - `"position_ids"`: ids like `"img_ids"` in `position_ids`, whose last rows are the image tokens.
            - `"latent"`: the shape of `hidden_states` and the patch sizes of the model config: `(B, C, H, W)` gives
              an image grid `(H / p_h, W / p_w)`, a 5-D latent a video grid `(F / p_t, H / p_h, W / p_w)` with its axes
              in the order of `latent_axes`.
            - `"frame_kwargs"`: the `num_frames`, `height` and `width` arguments (token counts, LTX-Video).
            - `"latent_list"`: a list of per-sample `(C, F, H, W)` latents and the `patch_size` / `f_patch_size`
              arguments (Z-Image).
            - `"sequence"`: the tokens are a 1-D signal by nature (audio): a one-row grid, not a fallback.
            - `None`: try `img_ids`, then `img_shapes`; without either, the split falls back to 1-D
              (`FreqCaConfig.grid_fallback`).
        latent_axes (`str`, defaults to `"CFHW"`):
            The order of the non-batch axes of a 5-D `hidden_states` for `grid_source="latent"`: `"CFHW"` (most video
            models), `"FCHW"` (CogVideoX) or `"FHWC"` (Kandinsky 5, channels last).
        timestep_arg (`str`, defaults to `"timestep"`):
            The forward argument that holds the timestep (`"timesteps"` for HiDream, `"t"` for Z-Image).
        timestep_scale (`float`, *optional*):
            `sigma = timestep * timestep_scale`: `1.0` for pipelines that pass `t / 1000` (FLUX, Qwen-Image), `0.001`
            for pipelines that pass `t` in `[0, 1000]`. `None` infers it from the first call. Pipelines whose
            timesteps increase (Mochi, Lumina, Z-Image) need nothing here: the runtime reads the direction.
        head (`str`, defaults to `"norm_out"`):
            The output-head module whose input FreqCa records on full steps and replaces by the forecast on predicted
            steps: a dotted path below the transformer; a `ModuleDict` with a single entry means that entry.
        head_layout (`str`, defaults to `"BLC"`):
            How the head's input holds the tokens: `"BLC"` (batch, tokens, channels; a grid-shaped input such as
            Kandinsky 5's `(B, F, H, W, C)` also counts), `"LBC"` (sequence first, ERNIE-Image) or
            `"frames_in_batch"` (`(B * F, H * W, C)`: each frame is a batch row, Latte).
        grid_position (`str`, *optional*):
            Where the grid's tokens sit in the head's input when it holds more or fewer tokens than the grid:
            `"first"` (padding or text after them), `"last"` (history tokens before them, or leading reference tokens
            that the model drops before the head), or `None` when the head sees exactly the grid's tokens.
        block_lists (`tuple[str, ...]`, defaults to `()`):
            Block lists (`ModuleList` children, or dotted paths to lists inside a child) to hook besides those named
            like diffusers' block lists.
        text_mask_arg (`str`, *optional*):
            For heads that see each sample's valid text tokens, then its grid (Lumina 2): the argument whose per-sample
            sum is the number of those text tokens. Samples of one call must agree, else the split falls back to 1-D.
        flow_velocity (`bool`, defaults to `False`):
            Whether the transformer's output is the velocity `noise - x_0` of a flow-matching sampler whose latents
            are `x = (1 - sigma) * x_0 + sigma * noise` with `sigma` going down along the generation, as its
            pipelines and their schedulers use it (`FlowMatchEulerDiscreteScheduler`, or UniPC / DPM-Solver with
            `prediction_type="flow_prediction"`). `FreqCaConfig(output_form="auto")` forecasts the output of these
            models in the noise form and of all others as it is. Set only where the pipelines were checked: a
            pipeline that negates the output (HiDream, Lumina, Z-Image) or passes `1000 - t` (Mochi) does not count.
        refused (`str`, *optional*):
            Why FreqCa cannot be applied to this class; `apply_freqca` raises a `ValueError` with it.

    Example:
        ```python
        >>> family_for("WanTransformer3DModel").grid_source
        'latent'
        ```
    """

    grid_source: str | None = None
    latent_axes: str = "CFHW"
    timestep_arg: str = "timestep"
    timestep_scale: float | None = None
    head: str = "norm_out"
    head_layout: str = "BLC"
    grid_position: str | None = None
    block_lists: tuple[str, ...] = ()
    text_mask_arg: str | None = None
    flow_velocity: bool = False
    refused: str | None = None

    def __post_init__(self):
        if self.grid_source is not None and self.grid_source not in GRID_SOURCES:
            raise ValueError(f"`grid_source` must be None or one of {GRID_SOURCES}, got {self.grid_source!r}.")
        if self.latent_axes not in ("CFHW", "FCHW", "FHWC"):
            raise ValueError(f"`latent_axes` must be 'CFHW', 'FCHW' or 'FHWC', got {self.latent_axes!r}.")
        if self.head_layout not in HEAD_LAYOUTS:
            raise ValueError(f"`head_layout` must be one of {HEAD_LAYOUTS}, got {self.head_layout!r}.")
        if self.grid_position is not None and self.grid_position not in GRID_POSITIONS:
            raise ValueError(f"`grid_position` must be None or one of {GRID_POSITIONS}, got {self.grid_position!r}.")


DEFAULT_FAMILY = TransformerFamily()

_SIGMA, _RAW = 1.0, 1e-3  # pipelines pass t / 1000, or t in [0, 1000]
_TWO_STREAMS = (
    "two output streams ({}): FreqCa forecasts the input of one output head, and forecasting only the video stream "
    "would leave the {} wrong on predicted steps."
)
_KV_FILL = (
    "KV-cache fill calls ({}): the transformer is also called to fill key/value caches, and FreqCa cannot tell those "
    "calls from denoising steps."
)
_NO_GRID_MODEL = "{}: it has no image or video token grid for FreqCa to forecast."

# transformer class name -> its row. Classes that share a row share a comment.
FAMILIES: dict[str, TransformerFamily] = {
    # FLUX-style position ids (image index, row, column[, layer]); the single-stream text tokens are sliced off before
    # `norm_out`, which sees the image tokens only (target, then references).
    "FluxTransformer2DModel": TransformerFamily("img_ids", timestep_scale=_SIGMA, flow_velocity=True),
    "ChromaTransformer2DModel": TransformerFamily("img_ids", timestep_scale=_SIGMA, flow_velocity=True),
    "OvisImageTransformer2DModel": TransformerFamily("img_ids", timestep_scale=_SIGMA),
    "LongCatImageTransformer2DModel": TransformerFamily("img_ids", timestep_scale=_SIGMA),
    "BriaTransformer2DModel": TransformerFamily("img_ids", timestep_scale=_RAW),
    "BriaFiboTransformer2DModel": TransformerFamily("img_ids", timestep_scale=_RAW),
    # FLUX.2's KV-cache pipeline puts reference tokens first at step 0 and drops them before `norm_out`.
    "Flux2Transformer2DModel": TransformerFamily(
        "img_ids", timestep_scale=_SIGMA, grid_position="last", flow_velocity=True
    ),
    # FLUX.3: per-modality early blocks (text, image, image condition), then [image; image condition] single blocks.
    "Flux3Transformer2DModel": TransformerFamily(
        "img_ids",
        timestep_scale=_SIGMA,
        block_lists=("txt_mode_blocks", "mode_blocks.image", "mode_blocks.image_cond"),
    ),
    # Per-sample (frames, rows, columns) lists: target first, then edit references.
    "QwenImageTransformer2DModel": TransformerFamily("img_shapes", timestep_scale=_SIGMA, flow_velocity=True),
    "NucleusMoEImageTransformer2DModel": TransformerFamily("img_shapes", timestep_scale=_SIGMA),
    # Image latents (B, C, H, W) patchified by the model.
    "SD3Transformer2DModel": TransformerFamily("latent", timestep_scale=_RAW, flow_velocity=True),
    "PixArtTransformer2DModel": TransformerFamily("latent", timestep_scale=_RAW),
    "DiTTransformer2DModel": TransformerFamily("latent", timestep_scale=_RAW),
    "SanaTransformer2DModel": TransformerFamily("latent"),
    "CogView3PlusTransformer2DModel": TransformerFamily("latent", timestep_scale=_RAW),
    "CogView4Transformer2DModel": TransformerFamily("latent", timestep_scale=_RAW, flow_velocity=True),
    "HunyuanImageTransformer2DModel": TransformerFamily("latent", timestep_scale=_RAW),
    "HunyuanDiT2DModel": TransformerFamily("latent", timestep_scale=_RAW),
    "LuminaNextDiT2DModel": TransformerFamily("latent"),
    "OmniGenTransformer2DModel": TransformerFamily("latent"),
    "PRXTransformer2DModel": TransformerFamily("latent", timestep_scale=_SIGMA, head="final_layer"),
    # The single stream holds gist tokens, the image and context references; the head sees the image slice.
    "BriaFibo2Transformer2DModel": TransformerFamily("latent", timestep_scale=_SIGMA, head="final_layer"),
    # Its joint blocks are not in a list diffusers names; the single blocks run on [text; image].
    "AuraFlowTransformer2DModel": TransformerFamily(
        "latent", timestep_scale=_SIGMA, block_lists=("joint_transformer_blocks",)
    ),
    # Non-square images are padded to `max_seq` tokens after the grid.
    "HiDreamImageTransformer2DModel": TransformerFamily(
        "latent",
        timestep_arg="timesteps",
        timestep_scale=_RAW,
        head="final_layer",
        grid_position="first",
        block_lists=("double_stream_blocks", "single_stream_blocks"),
    ),
    # The head sees each sample's valid caption tokens, then its image tokens (then padding).
    "Lumina2Transformer2DModel": TransformerFamily(
        "latent", grid_position="first", text_mask_arg="encoder_attention_mask"
    ),
    # Sequence first, (tokens, B, C), image tokens then text tokens.
    "ErnieImageTransformer2DModel": TransformerFamily(
        "latent", timestep_scale=_RAW, head="final_norm", head_layout="LBC", grid_position="first"
    ),
    # Packed image tokens; `position_ids` rows of the text first, then of the image.
    "Krea2Transformer2DModel": TransformerFamily("position_ids", timestep_scale=_SIGMA, head="final_layer"),
    # Per-sample latents (C, F, H, W) in a list; the head sees [image; caption] per sample.
    "ZImageTransformer2DModel": TransformerFamily(
        "latent_list", timestep_arg="t", timestep_scale=_SIGMA, head="all_final_layer", grid_position="first"
    ),
    # Video latents (B, C, F, H, W).
    "WanTransformer3DModel": TransformerFamily("latent", timestep_scale=_RAW, flow_velocity=True),
    "WanVACETransformer3DModel": TransformerFamily("latent", timestep_scale=_RAW, flow_velocity=True),
    "WanAnimateTransformer3DModel": TransformerFamily("latent", timestep_scale=_RAW),
    "ChronoEditTransformer3DModel": TransformerFamily("latent", timestep_scale=_RAW),
    "SkyReelsV2Transformer3DModel": TransformerFamily("latent", timestep_scale=_RAW),
    "AnyFlowTransformer3DModel": TransformerFamily("latent", latent_axes="FCHW", timestep_scale=_RAW),
    "HunyuanVideoTransformer3DModel": TransformerFamily("latent", timestep_scale=_RAW, flow_velocity=True),
    "HunyuanVideo15Transformer3DModel": TransformerFamily("latent", timestep_scale=_RAW),
    "HunyuanVideoFramepackTransformer3DModel": TransformerFamily("latent", timestep_scale=_RAW),
    "MochiTransformer3DModel": TransformerFamily("latent", timestep_scale=_RAW),
    "AllegroTransformer3DModel": TransformerFamily("latent", timestep_scale=_RAW),
    "CosmosTransformer3DModel": TransformerFamily("latent"),
    "EasyAnimateTransformer3DModel": TransformerFamily("latent", timestep_scale=_RAW, head="norm_final"),
    "SanaVideoTransformer3DModel": TransformerFamily("latent", timestep_scale=_RAW),
    "MotifVideoTransformer3DModel": TransformerFamily("latent", timestep_scale=_RAW),
    # Helios' `norm_out` receives the history tokens before the current chunk.
    "HeliosTransformer3DModel": TransformerFamily("latent", timestep_scale=_RAW, grid_position="last"),
    # Frames before channels: (B, F, C, H, W).
    "CogVideoXTransformer3DModel": TransformerFamily(
        "latent", latent_axes="FCHW", timestep_scale=_RAW, head="norm_final"
    ),
    "ConsisIDTransformer3DModel": TransformerFamily("latent", latent_axes="FCHW", timestep_scale=_RAW),
    # Channels last: (B, F, H, W, C); the head receives the (B, F', H', W', D) grid.
    "Kandinsky5Transformer3DModel": TransformerFamily(
        "latent", latent_axes="FHWC", timestep_scale=_RAW, head="out_layer"
    ),
    # Spatial and temporal blocks alternate; the head sees each frame as a batch row.
    "LatteTransformer3DModel": TransformerFamily("latent", timestep_scale=_RAW, head_layout="frames_in_batch"),
    # Packed tokens with the token grid in `num_frames`, `height`, `width`.
    "LTXVideoTransformer3DModel": TransformerFamily("frame_kwargs", timestep_scale=_RAW, flow_velocity=True),
    # Audio: the tokens are a time sequence.
    "AceStepTransformer1DModel": TransformerFamily("sequence"),
    "StableAudioDiTModel": TransformerFamily("sequence", head="proj_out"),
    "StableAudio3DiTModel": TransformerFamily("sequence", head="proj_out"),
    "LongCatAudioDiTTransformer": TransformerFamily("sequence"),
    "MiniMaxMusic3Transformer1DModel": TransformerFamily("sequence", head="proj_out"),
    # Refused, with the reason.
    "LTX2VideoTransformer3DModel": TransformerFamily(refused=_TWO_STREAMS.format("video and audio", "audio")),
    "Kandinsky6Transformer3DModel": TransformerFamily(refused=_TWO_STREAMS.format("video and audio", "audio")),
    "MiniMaxH3Transformer3DModel": TransformerFamily(
        refused=_TWO_STREAMS.format("video and audio heads over one joint text/audio/video sequence", "audio")
    ),
    "Cosmos3OmniTransformer": TransformerFamily(
        refused=_TWO_STREAMS.format("vision, sound and action tokens in unbatched packed sequences", "sound")
    ),
    "GlmImageTransformer2DModel": TransformerFamily(
        refused=_KV_FILL.format("GLM-Image writes reference-image caches with extra timestep-0 calls before its loop")
    ),
    "QwenImage21Transformer2DModel": TransformerFamily(
        refused=_KV_FILL.format("Qwen-Image 2.1 extracts the text and condition tokens' cache at step 0")
    ),
    "WanAnimate2Transformer3DModel": TransformerFamily(
        refused=_KV_FILL.format("Wan-Animate 2 switches between `kv_cache_mode` 'extract' and 'cached'")
    ),
    "SanaWMLTX2RefinerTransformer3DModel": TransformerFamily(
        refused=_KV_FILL.format("the Sana-WM refiner switches between KV-cache modes")
    ),
    "AnyFlowFARTransformer3DModel": TransformerFamily(
        refused="chunk-wise autoregressive generation with KV caches and clean history chunks: each call denoises a "
        "different chunk, so consecutive calls are not steps of one trajectory."
    ),
    "SanaWMTransformer3DModel": TransformerFamily(
        refused="chunk-causal world-model generation with per-token timesteps: the chunks of one call sit at "
        "different noise levels, so there is no single trajectory to forecast along."
    ),
    "Ideogram4Transformer2DModel": TransformerFamily(
        refused="its output head runs on one packed sequence that mixes language-model and image tokens of several "
        "samples (`segment_ids`, `indicator`), whose image positions FreqCa cannot read from its inputs."
    ),
    "JoyImageEditTransformer3DModel": TransformerFamily(
        refused="its edit items are rolled and packed into one sequence whose per-item grids FreqCa does not read."
    ),
    "JoyImageEditPlusTransformer3DModel": TransformerFamily(
        refused="its pre-patchified, padded edit items come with per-item grids FreqCa does not read."
    ),
    "Kandinsky6SRTransformer3DModel": TransformerFamily(
        refused="a super-resolution model that orders its tokens in 8x8 local tiles, which FreqCa's band split does "
        "not read."
    ),
    "PriorTransformer": TransformerFamily(
        refused=_NO_GRID_MODEL.format("an unCLIP prior that denoises one embedding")
    ),
    "TransformerTemporalModel": TransformerFamily(
        refused="a sub-module of UNet video models whose tokens are the frames of one pixel: cache the UNet instead."
    ),
    "Transformer2DModel": TransformerFamily(
        refused="the legacy class inside UNets and old checkpoints; load PixArt and DiT checkpoints as "
        "PixArtTransformer2DModel / DiTTransformer2DModel, which FreqCa supports."
    ),
    "DreamLiteTransformer2DModel": TransformerFamily(
        refused="no diffusers pipeline calls it: its inputs and timestep convention are unknown."
    ),
    "T5FilmDecoder": TransformerFamily(refused=_NO_GRID_MODEL.format("a spectrogram decoder of note sequences")),
    "RFD4ProteinaTransformer": TransformerFamily(refused=_NO_GRID_MODEL.format("a protein-structure model")),
    "MiniMaxMusic3RVQDepthDecoder": TransformerFamily(
        refused=_NO_GRID_MODEL.format("an autoregressive depth decoder of audio codes (no denoising steps)")
    ),
}


@dataclass(frozen=True)
class BlockSpec:
    r"""
    How a transformer block takes and returns its hidden states.

    Args:
        hidden_index (`int`): index of the image hidden states in the block's returned tuple; `0` for a block that
            returns a single tensor.
        encoder_index (`int`, *optional*): index of the text hidden states in the returned tuple; `None` when the
            block returns a single tensor.
        hidden_arg (`str`, defaults to `"hidden_states"`): the argument that receives the image hidden states.
        encoder_arg (`str`, defaults to `"encoder_hidden_states"`): the argument that receives the text hidden
            states (read only when `encoder_index` is set).
        wraps (`str`, *optional*): for a wrapper block that returns what its child module of this name returns
            (HiDream's `HiDreamBlock`): the indices come from the child's entry, the argument names from this one.

    Example:
        ```python
        >>> spec = BLOCKS["BriaTransformerBlock"]  # returns (encoder_hidden_states, hidden_states)
        >>> spec.hidden_index, spec.encoder_index
        (1, 0)
        ```
    """

    hidden_index: int = 0
    encoder_index: int | None = None
    hidden_arg: str = "hidden_states"
    encoder_arg: str = "encoder_hidden_states"
    wraps: str | None = None


_HIDDEN = BlockSpec(0)  # returns the hidden states only
_ENCODER_FIRST = BlockSpec(1, 0)  # returns (encoder_hidden_states, hidden_states)
_HIDDEN_FIRST = BlockSpec(0, 1)  # returns (hidden_states, encoder_hidden_states)

# block class name -> how it takes and returns hidden states; takes precedence over diffusers' registry
BLOCKS: dict[str, BlockSpec] = {
    # diffusers registers these two wrongly: Bria's double block returns (encoder, hidden), Z-Image's takes `x`.
    "BriaTransformerBlock": _ENCODER_FIRST,
    "ZImageTransformerBlock": BlockSpec(0, hidden_arg="x"),
    # (encoder_hidden_states, hidden_states)
    "BriaSingleTransformerBlock": _ENCODER_FIRST,
    "BriaFiboTransformerBlock": _ENCODER_FIRST,
    "ChromaTransformerBlock": _ENCODER_FIRST,
    "OvisImageTransformerBlock": _ENCODER_FIRST,
    "OvisImageSingleTransformerBlock": _ENCODER_FIRST,
    "LongCatImageTransformerBlock": _ENCODER_FIRST,
    "LongCatImageSingleTransformerBlock": _ENCODER_FIRST,
    "AuraFlowJointTransformerBlock": _ENCODER_FIRST,
    # (hidden_states, encoder_hidden_states)
    "CogView3PlusTransformerBlock": _HIDDEN_FIRST,
    "ConsisIDBlock": _HIDDEN_FIRST,
    "EasyAnimateTransformerBlock": _HIDDEN_FIRST,
    "HunyuanVideo15TransformerBlock": _HIDDEN_FIRST,
    "HiDreamImageTransformerBlock": _HIDDEN_FIRST,
    # hidden states only
    "AceStepTransformerBlock": _HIDDEN,
    "AllegroTransformerBlock": _HIDDEN,
    "AnyFlowTransformerBlock": _HIDDEN,
    "AudioDiTBlock": _HIDDEN,
    "AuraFlowSingleTransformerBlock": _HIDDEN,
    "BriaFiboSingleTransformerBlock": _HIDDEN,
    "ChromaSingleTransformerBlock": _HIDDEN,
    "HeliosTransformerBlock": _HIDDEN,
    "HiDreamImageSingleTransformerBlock": _HIDDEN,
    "HunyuanDiTBlock": _HIDDEN,
    "Krea2TransformerBlock": _HIDDEN,
    "Lumina2TransformerBlock": _HIDDEN,
    "LuminaNextDiTBlock": _HIDDEN,
    "MiniMaxMusic3TransformerBlock": _HIDDEN,
    "NucleusMoEImageTransformerBlock": _HIDDEN,
    "OmniGenBlock": _HIDDEN,
    "PRXBlock": _HIDDEN,
    "SanaTransformerBlock": _HIDDEN,
    "SanaVideoTransformerBlock": _HIDDEN,
    "SkyReelsV2TransformerBlock": _HIDDEN,
    "StableAudioDiTBlock": _HIDDEN,
    "WanTransformerBlock": _HIDDEN,  # also the unregistered copies in Wan-Animate and ChronoEdit
    "CosmosTransformerBlock": _HIDDEN,
    "BriaFibo2TransformerBlock": BlockSpec(0, hidden_arg="x"),
    "ErnieImageSharedAdaLNBlock": BlockSpec(0, hidden_arg="x"),
    "StableAudio3DiTBlock": _HIDDEN,
    # HiDream wraps its double- and single-stream blocks in one class that returns what the wrapped block returns.
    "HiDreamBlock": BlockSpec(wraps="block"),
    "Flux3ModeTransformerBlock": _HIDDEN,
    "Flux3SingleTransformerBlock": _ENCODER_FIRST,
}


def family_for(class_name: str) -> TransformerFamily:
    r"""
    The family row of a transformer class, `DEFAULT_FAMILY` for classes without one.

    Args:
        class_name (`str`): the transformer's class name, e.g. `"QwenImageTransformer2DModel"`.

    Returns:
        [`TransformerFamily`]: the row.

    Example:
        ```python
        >>> family_for("CogVideoXTransformer3DModel").head
        'norm_final'
        ```
    """
    return FAMILIES.get(class_name, DEFAULT_FAMILY)


def check_supported(module: torch.nn.Module) -> TransformerFamily:
    r"""
    The family row of `module`, after checking that FreqCa can be applied to its class.

    Args:
        module (`torch.nn.Module`): the transformer.

    Returns:
        [`TransformerFamily`]: the row.

    Raises:
        `ValueError`: with the reason, when the family table refuses the class.

    Example:
        ```python
        >>> check_supported(pipe.transformer).grid_source
        'img_ids'
        ```
    """
    name = type(module).__name__
    family = family_for(name)
    if family.refused is not None:
        raise ValueError(f"FreqCa does not support {name}: {family.refused}")
    return family


_METADATA: dict[tuple[type, type | None], TransformerBlockMetadata] = {}


def _spec(block_class: type) -> BlockSpec | None:
    spec = BLOCKS.get(block_class.__name__)
    if spec is not None:
        return spec
    try:
        registered = TransformerBlockRegistry.get(block_class)
    except ValueError:
        return None
    return BlockSpec(
        registered.return_hidden_states_index,
        registered.return_encoder_hidden_states_index,
        registered.hidden_states_argument_name,
        registered.encoder_hidden_states_argument_name,
    )


def block_metadata(block: torch.nn.Module | type) -> TransformerBlockMetadata:
    r"""
    How a block takes and returns its hidden states: its class's `BLOCKS` entry if it has one, else diffusers'
    `TransformerBlockRegistry` entry. One metadata object per class (diffusers caches argument positions in it).

    Args:
        block (`torch.nn.Module` or `type`): the block (unwrapped from any compile wrapper), or its class. A wrapper
            block (a `BLOCKS` entry with `wraps`) needs the instance, whose child decides what it returns.

    Returns:
        `TransformerBlockMetadata`: the metadata, with `_cls` set to the block's class.

    Raises:
        `ValueError`: when neither table knows the class.

    Example:
        ```python
        >>> block_metadata(transformer.transformer_blocks[0]).return_hidden_states_index
        1
        ```
    """
    block_class = block if isinstance(block, type) else type(block)
    spec = _spec(block_class)
    inner_class = None
    if spec is not None and spec.wraps is not None:
        inner = getattr(block, spec.wraps, None) if not isinstance(block, type) else None
        inner_class = type(inner) if isinstance(inner, torch.nn.Module) else None
        inner_spec = _spec(inner_class) if inner_class is not None else None
        if inner_spec is None:
            raise ValueError(
                f"FreqCa needs the `{spec.wraps}` block that {block_class.__name__} wraps to know what it returns, "
                "and a block table entry for its class."
            )
        spec = BlockSpec(inner_spec.hidden_index, inner_spec.encoder_index, spec.hidden_arg, spec.encoder_arg)
    if spec is None:
        raise ValueError(
            f"FreqCa needs to know how {block_class.__name__} takes and returns its hidden states, but neither "
            "FreqCa's block table (`diffusers_freqca.families.BLOCKS`) nor diffusers' TransformerBlockRegistry has it."
        )
    key = (block_class, inner_class)
    if key not in _METADATA:
        metadata = TransformerBlockMetadata(
            return_hidden_states_index=spec.hidden_index,
            return_encoder_hidden_states_index=spec.encoder_index,
            hidden_states_argument_name=spec.hidden_arg,
            encoder_hidden_states_argument_name=spec.encoder_arg,
        )
        metadata._cls = block_class
        _METADATA[key] = metadata
    return _METADATA[key]


def head_module(module: torch.nn.Module, family: TransformerFamily | None = None) -> torch.nn.Module:
    r"""
    The output-head module of a transformer: the family's `head` (a dotted path below `module`); a `ModuleDict`
    with a single entry stands for that entry.

    Args:
        module (`torch.nn.Module`): the transformer.
        family (`TransformerFamily`, *optional*): its row; looked up by class name when omitted.

    Returns:
        `torch.nn.Module`: the head.

    Raises:
        `ValueError`: when `module` has no such module, or a `ModuleDict` head with several entries (FreqCa could
            not tell which one a call uses).

    Example:
        ```python
        >>> head_module(pipe.transformer) is pipe.transformer.norm_out
        True
        ```
    """
    family = family or family_for(type(module).__name__)
    name = type(module).__name__
    try:
        head = module.get_submodule(family.head)
    except AttributeError:
        raise ValueError(
            f"FreqCa caches the input of the output head, but {name} has no module called {family.head!r}."
        ) from None
    if isinstance(head, torch.nn.ModuleDict):
        if len(head) != 1:
            raise ValueError(
                f"FreqCa caches the input of {name}'s output head {family.head!r}, but it holds {len(head)} heads "
                f"({', '.join(head.keys())}) and the call chooses one; FreqCa supports one."
            )
        head = next(iter(head.values()))
    return head
