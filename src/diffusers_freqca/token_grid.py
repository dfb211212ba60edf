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
"""Reading a transformer call: how its image or video tokens are laid out, its timestep, and its model input.

Which forward argument describes the token grid(s) of a model class is a row of the family table
(`diffusers_freqca.families`); the readers below turn that argument into a [`TokenLayout`] of the tokens the output
head sees, and [`HeadBandSplitter`] lines that layout up with the head's input when the band split needs it.

Video conditioning frames are a segment of their own: when a call passes one timestep per token (or per latent
frame) and its leading latent frames have timestep 0 (the clean conditioning frame of Wan 2.2's image-to-video with
`expand_timesteps=True`, of LTX-Video's image-to-video), those frames form one grid and the noisy frames another.
"""

import inspect
import math
from dataclasses import dataclass
from typing import Any

import torch
from diffusers.utils import get_logger

from .band_split import BandSplitter, GridSegment, TokenLayout
from .families import FAMILIES, TransformerFamily, family_for
from .trajectory import read_time


logger = get_logger(__name__)  # pylint: disable=invalid-name

# model class name -> the forward argument (or rule) that describes its token grid(s), from the family table
TOKEN_GRID_SOURCES: dict[str, str] = {name: row.grid_source for name, row in FAMILIES.items() if row.grid_source}


@dataclass(frozen=True)
class CallInputs:
    r"""
    What FreqCa reads from one transformer call before the block stack runs.

    Args:
        layout (`TokenLayout`, *optional*): the token grids of the tokens the output head sees, `None` if the call
            did not describe them.
        time (`float`, *optional*): the timestep the transformer received (its largest entry, see
            `trajectory.read_time`), `None` if it received none.
        hidden_states (`torch.Tensor`, *optional*): the model input, as passed (FreqCa compares it by identity to
            tell branches of one step from consecutive steps when no cache context is set).
    """

    layout: TokenLayout | None
    time: float | None
    hidden_states: torch.Tensor | None = None


def _tensor_key(value: torch.Tensor) -> tuple:
    # Tensors are recognised by identity and storage; the version counter also catches in-place edits, but tensors
    # made under `torch.inference_mode()` have none (reading it raises), so they are keyed without it.
    version = None if value.is_inference() else value._version
    return (id(value), value.data_ptr(), tuple(value.shape), version)


def _grid(start: int, frames: int, height: int, width: int) -> GridSegment:
    return GridSegment(start, height, width, frames)


def _layout_from_ids(ids: torch.Tensor, seq_len: int) -> TokenLayout | None:
    # ids: (seq, >=3) on any device. Runs of equal image index are separate images; each run must be a full raster
    # grid (row-major, contiguous), otherwise we refuse to guess and return None.
    if ids.ndim == 3:
        ids = ids[0]
    if ids.ndim != 2 or ids.shape[1] < 3 or ids.shape[0] != seq_len:
        return None
    ids = ids.detach().to("cpu", torch.float64).round().long()
    index, rows, cols = ids[:, 0], ids[:, 1], ids[:, 2]
    boundaries = [0, *((index[1:] != index[:-1]).nonzero().flatten() + 1).tolist(), seq_len]
    segments = []
    for start, end in zip(boundaries[:-1], boundaries[1:]):
        r, c = rows[start:end], cols[start:end]
        height = int(r.max() - r.min() + 1)
        width = int(c.max() - c.min() + 1)
        if height * width != end - start:
            return None
        offsets = torch.arange(end - start)
        if not (torch.equal(r - r.min(), offsets // width) and torch.equal(c - c.min(), offsets % width)):
            return None
        segments.append(GridSegment(start, height, width))
    return TokenLayout(seq_len, tuple(segments))


def _layout_from_position_ids(ids: torch.Tensor, seq_len: int) -> TokenLayout | None:
    # position_ids: (text + image, 3); the image tokens' rows are the last `seq_len`.
    if ids.ndim == 3:
        ids = ids[0]
    if ids.ndim != 2 or ids.shape[0] < seq_len:
        return None
    return _layout_from_ids(ids[ids.shape[0] - seq_len :], seq_len)


def _layout_from_shapes(shapes: Any, seq_len: int) -> TokenLayout | None:
    # shapes: per sample a list of (frames, rows, columns); all samples of a batch share one layout. Frames of one
    # entry are separate images (Qwen-Image's layers), not a video.
    if not isinstance(shapes, (list, tuple)) or not shapes:
        return None
    per_sample = shapes[0]
    if isinstance(per_sample, tuple) and len(per_sample) == 3 and all(isinstance(v, int) for v in per_sample):
        per_sample = [per_sample]
    if any(sample != shapes[0] for sample in shapes[1:]):
        return None
    segments = []
    position = 0
    for entry in per_sample:
        frames, height, width = (int(v) for v in entry)
        for _ in range(frames):
            segments.append(GridSegment(position, height, width))
            position += height * width
    if position != seq_len:
        return None
    return TokenLayout(seq_len, tuple(segments))


def patch_sizes(config: Any) -> tuple[int, int, int]:
    r"""
    The temporal and spatial patch sizes `(p_t, p_h, p_w)` of a model config.

    `patch_size` may be an int (with an optional `patch_size_t`), a pair `(p_h, p_w)` (with an optional
    `patch_size_t`) or a triple `(p_t, p_h, p_w)`; a missing or `None` temporal patch size means 1.

    Args:
        config (`Any`): the model's config (`module.config`), a mapping or an object with attributes.

    Returns:
        `tuple[int, int, int]`: the patch sizes.

    Example:
        ```python
        >>> patch_sizes({"patch_size": (1, 2, 2)}), patch_sizes({"patch_size": 2, "patch_size_t": None})
        ((1, 2, 2), (1, 2, 2))
        ```
    """

    def get(name):
        return config.get(name) if isinstance(config, dict) else getattr(config, name, None)

    size = get("patch_size")
    temporal = get("patch_size_t") or 1
    if isinstance(size, (list, tuple)):
        if len(size) == 3:
            return int(size[0]), int(size[1]), int(size[2])
        if len(size) == 2:
            return int(temporal), int(size[0]), int(size[1])
        size = size[0]
    size = int(size or 1)
    return int(temporal), size, size


def _latent_grid(shape: tuple[int, ...], axes: str, patches: tuple[int, int, int]) -> tuple[int, int, int] | None:
    # (frames, rows, columns) of the token grid of a 4-D (B, C, H, W) or 5-D latent.
    pt, ph, pw = patches
    if len(shape) == 4:
        return 1, shape[2] // ph, shape[3] // pw
    if len(shape) != 5:
        return None
    sizes = dict(zip(axes, shape[1:]))
    return sizes["F"] // pt, sizes["H"] // ph, sizes["W"] // pw


def _conditioning_frames(timestep: Any, batch: int, frames: int, frame_tokens: int) -> int:
    # Leading latent frames whose per-token (or per-frame) timestep is 0 in the first sample: clean conditioning frames.
    if not isinstance(timestep, torch.Tensor) or frames < 2 or timestep.numel() <= batch:
        return 0
    if timestep.numel() == batch * frames * frame_tokens:
        per_frame = timestep.detach().reshape(batch, frames, frame_tokens)[0].abs().amax(dim=1)
    elif timestep.numel() == batch * frames:
        per_frame = timestep.detach().reshape(batch, frames)[0].abs()
    else:
        return 0
    noisy = (per_frame > 0).tolist()
    count = noisy.index(True) if True in noisy else 0
    return count


def _shared_text_length(mask: torch.Tensor, _: int) -> int | None:
    # The number of valid text tokens, when every sample of the batch has the same; else None.
    lengths = mask.detach().reshape(mask.shape[0], -1).to(torch.long).sum(dim=1).unique()
    return int(lengths[0]) if lengths.numel() == 1 else None


def _video_layout(frames: int, height: int, width: int, conditioning: int = 0) -> TokenLayout:
    frame_tokens = height * width
    if 0 < conditioning < frames:
        segments = (
            _grid(0, conditioning, height, width),
            _grid(conditioning * frame_tokens, frames - conditioning, height, width),
        )
    else:
        segments = (_grid(0, frames, height, width),)
    return TokenLayout(frames * frame_tokens, segments)


class CallInputReader:
    r"""
    Reads the token layout, the timestep and the model input from a transformer's forward arguments, as the family
    table (`diffusers_freqca.families`) says for the model's class.

    Layouts read from an argument that does not change between steps (`img_ids`, `img_shapes`, `position_ids`) are
    recomputed only when it changes (pipelines pass the same object at every step), so there is no per-step host
    transfer for them. Shapes need none. Per-token timesteps cost one small transfer per call (the conditioning
    frames).

    Args:
        module (`torch.nn.Module`): the transformer.

    Example:
        ```python
        >>> reader = CallInputReader(transformer)
        >>> inputs = reader.read(args, kwargs)  # inside a forward pre-hook
        ```
    """

    def __init__(self, module: torch.nn.Module):
        self.class_name = type(module).__name__
        self.family: TransformerFamily = family_for(self.class_name)
        self.source = self.family.grid_source
        config = getattr(module, "config", None)
        self._patches = patch_sizes(config) if config is not None else (1, 1, 1)
        parameters = list(inspect.signature(type(module).forward).parameters)[1:]
        self._positions = {name: i for i, name in enumerate(parameters)}
        # The model input: `hidden_states`, or the first argument of models that call it otherwise (Z-Image's `x`).
        self.input_name = "hidden_states" if "hidden_states" in self._positions or not parameters else parameters[0]
        self._cached_key: Any = None
        self._cached_value: Any = None
        self._cached_layout: TokenLayout | None = None

    def _argument(self, name: str, args: tuple, kwargs: dict) -> Any:
        if name in kwargs:
            return kwargs[name]
        position = self._positions.get(name)
        if position is not None and position < len(args):
            return args[position]
        return None

    def _cached(self, source: str, value: Any, seq_len: int, read) -> TokenLayout | None:
        # Tensors are compared by identity (and version, in case of in-place edits), other values by equality.
        key = (source, seq_len, *_tensor_key(value)) if isinstance(value, torch.Tensor) else None
        if key is not None and key == self._cached_key and self._cached_value is value:
            return self._cached_layout
        if key is None and self._cached_key == (source, seq_len, "value") and self._cached_value == value:
            return self._cached_layout
        layout = read(value, seq_len)
        self._cached_key = key if key is not None else (source, seq_len, "value")
        self._cached_value = value
        self._cached_layout = layout
        return layout

    def _layout_from_arguments(self, args, kwargs, hidden_states) -> TokenLayout | None:
        sources = [self.source] if self.source in ("img_ids", "img_shapes", "position_ids") else []
        if self.source is None:
            sources = ["img_ids", "img_shapes"]
        if hidden_states is None or hidden_states.ndim != 3:
            return None
        readers = {
            "img_ids": _layout_from_ids,
            "img_shapes": _layout_from_shapes,
            "position_ids": _layout_from_position_ids,
        }
        for source in sources:
            value = self._argument(source, args, kwargs)
            if value is not None:
                return self._cached(source, value, hidden_states.shape[1], readers[source])
        return None

    def _layout_from_latent(self, args, kwargs, hidden_states: torch.Tensor, timestep: Any) -> TokenLayout | None:
        grid = _latent_grid(tuple(hidden_states.shape), self.family.latent_axes, self._patches)
        if grid is None or min(grid) < 1:
            return None
        frames, height, width = grid
        conditioning = _conditioning_frames(timestep, hidden_states.shape[0], frames, height * width)
        layout = _video_layout(frames, height, width, conditioning)
        if self.family.text_mask_arg is None:
            return layout
        # The head sees each sample's valid text tokens first: shift the grid behind them (one shared offset).
        mask = self._argument(self.family.text_mask_arg, args, kwargs)
        if not isinstance(mask, torch.Tensor):
            return None
        offset = self._cached("text_mask", mask, 0, _shared_text_length)
        if offset is None:
            return None
        segments = tuple(GridSegment(s.start + offset, s.height, s.width, s.frames) for s in layout.segments)
        return TokenLayout(offset + layout.seq_len, segments)

    def _layout_from_frame_kwargs(self, args, kwargs, hidden_states, timestep) -> TokenLayout | None:
        sizes = [self._argument(name, args, kwargs) for name in ("num_frames", "height", "width")]
        if hidden_states is None or hidden_states.ndim != 3 or any(not isinstance(v, int) for v in sizes):
            return None
        frames, height, width = sizes
        if frames * height * width != hidden_states.shape[1]:
            return None
        conditioning = _conditioning_frames(timestep, hidden_states.shape[0], frames, height * width)
        return _video_layout(frames, height, width, conditioning)

    def _layout_from_latent_list(self, args, kwargs, latents) -> TokenLayout | None:
        if not isinstance(latents, (list, tuple)) or not latents or not isinstance(latents[0], torch.Tensor):
            return None
        shapes = {tuple(x.shape) for x in latents}
        if len(shapes) != 1 or latents[0].ndim != 4:
            return None
        _, frames, height, width = latents[0].shape
        patch = self._argument("patch_size", args, kwargs) or 2
        frame_patch = self._argument("f_patch_size", args, kwargs) or 1
        return _video_layout(frames // frame_patch, height // patch, width // patch)

    def read(self, args: tuple, kwargs: dict) -> CallInputs:
        r"""
        Args:
            args (`tuple`): the positional arguments of the forward call.
            kwargs (`dict`): its keyword arguments.

        Returns:
            [`CallInputs`]: the layout of the tokens the output head sees, the timestep and the model input.
        """
        model_input = self._argument(self.input_name, args, kwargs)
        hidden_states = model_input if isinstance(model_input, torch.Tensor) else None
        timestep = self._argument(self.family.timestep_arg, args, kwargs)
        if self.source == "latent" and hidden_states is not None:
            layout = self._layout_from_latent(args, kwargs, hidden_states, timestep)
        elif self.source == "frame_kwargs":
            layout = self._layout_from_frame_kwargs(args, kwargs, hidden_states, timestep)
        elif self.source == "latent_list":
            layout = self._layout_from_latent_list(args, kwargs, model_input)
        elif self.source == "sequence":
            # The head input is one sequence whatever its length: `HeadBandSplitter.resolve` takes it from there.
            layout = TokenLayout.sequence(int(hidden_states.shape[1])) if hidden_states is not None else None
        else:
            layout = self._layout_from_arguments(args, kwargs, hidden_states)
        return CallInputs(layout=layout, time=read_time(timestep), hidden_states=hidden_states)


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        logger.warning(message)


class HeadBandSplitter(BandSplitter):
    r"""
    The band split of an output head's input: a [`BandSplitter`] that first lines the call's [`TokenLayout`] up with
    the tensor the head receives (the family table's `head_layout` and `grid_position`).

    The head's input may be `(batch, tokens, channels)`, sequence first (`head_layout="LBC"`), grid-shaped
    (`(batch, frames, rows, columns, channels)`, flattened to tokens in raster order) or hold one frame per batch row
    (`head_layout="frames_in_batch"`: each frame gets the 2-D grid). Tokens the layout does not cover are high band.
    Without a layout, or when the layout does not fit the head's input, the whole sequence is split in 1-D
    (`grid_fallback="sequence"`, with a warning) or an error is raised (`grid_fallback="error"`).

    Args:
        decomposition (`str`): `"dct"` or `"fft"`.
        cutoff_ratio (`float`): the spatial cut-off.
        temporal_cutoff_ratio (`float`, *optional*): the temporal cut-off of video grids; `None` uses `cutoff_ratio`.
        family (`TransformerFamily`, *optional*): the model's row; `DEFAULT_FAMILY` when omitted.
        grid_fallback (`str`, defaults to `"sequence"`): `"sequence"` or `"error"`, as `FreqCaConfig.grid_fallback`.
        class_name (`str`, defaults to `"the model"`): the transformer's class name, for messages.

    Example:
        ```python
        >>> splitter = HeadBandSplitter("dct", 0.1, family=family_for("WanTransformer3DModel"))
        >>> low = splitter.low_pass(head_input, TokenLayout(4 * 6 * 8, (GridSegment(0, 6, 8, frames=4),)))
        ```
    """

    def __init__(
        self,
        decomposition: str,
        cutoff_ratio: float,
        temporal_cutoff_ratio: float | None = None,
        family: TransformerFamily | None = None,
        grid_fallback: str = "sequence",
        class_name: str = "the model",
    ):
        super().__init__(decomposition, cutoff_ratio, temporal_cutoff_ratio)
        self.family = family or family_for(class_name)
        self.grid_fallback = grid_fallback
        self.class_name = class_name

    @classmethod
    def from_config(cls, config, family: TransformerFamily, class_name: str) -> "HeadBandSplitter":
        r"""
        The head splitter a `FreqCaConfig` describes (decomposition, cut-offs, grid fallback) for a model family.

        Args:
            config (`FreqCaConfig`): the settings.
            family (`TransformerFamily`): the model's row.
            class_name (`str`): the transformer's class name.

        Returns:
            `HeadBandSplitter`: the splitter.
        """
        return cls(
            config.decomposition,
            config.cutoff_ratio,
            config.temporal_cutoff_ratio,
            family=family,
            grid_fallback=config.grid_fallback,
            class_name=class_name,
        )

    def resolve(self, layout: TokenLayout | None, seq_len: int) -> TokenLayout:
        r"""
        The layout of a head input of `seq_len` tokens (per batch row) from the layout the call described.

        Args:
            layout (`TokenLayout`, *optional*): from [`CallInputReader.read`].
            seq_len (`int`): tokens per batch row of the head's input.

        Returns:
            `TokenLayout`: the layout to split with.

        Raises:
            `ValueError`: with `grid_fallback="error"`, when the layout does not fit the head's input.
        """
        family = self.family
        if family.grid_source == "sequence" or layout is None:
            # A true 1-D signal; or no grid, which the runtime already said when the call was read.
            return TokenLayout.sequence(seq_len)
        if layout.seq_len == seq_len:
            return layout
        if family.head_layout == "frames_in_batch" and len(layout.segments) == 1:
            segment = layout.segments[0]
            if segment.height * segment.width == seq_len:
                return TokenLayout(seq_len, (GridSegment(0, segment.height, segment.width),))
        if family.grid_position is not None:
            aligned = layout.aligned_to(seq_len, at="start" if family.grid_position == "first" else "end")
            if aligned is not None:
                return aligned
        message = (
            f"the token grid FreqCa read from {self.class_name}'s inputs covers {layout.seq_len} tokens, but its "
            f"output head receives {seq_len} per sample"
        )
        if self.grid_fallback == "error":
            raise ValueError(f"FreqCa cannot split frequency bands: {message}, and `grid_fallback='error'`.")
        _warn_once(f"FreqCa: {message}; splitting bands over the token sequence in 1-D instead.")
        return TokenLayout.sequence(seq_len)

    def low_pass(self, x: torch.Tensor, layout: TokenLayout | None) -> torch.Tensor:
        r"""
        The low band of a head input, in float32 (float64 stays float64), shaped like `x`.

        Args:
            x (`torch.Tensor`): the head's input: `(batch, tokens, channels)`, `(tokens, batch, channels)` for
                `head_layout="LBC"`, or `(batch, *grid, channels)`.
            layout (`TokenLayout`, *optional*): the call's layout.

        Returns:
            `torch.Tensor`: the low band.
        """
        sequence_first = self.family.head_layout == "LBC"
        features = x.transpose(0, 1) if sequence_first else x
        shape = features.shape
        if features.ndim != 3:
            if features.ndim < 3:
                raise ValueError(
                    f"FreqCa's band split needs the output head's input as (batch, tokens, channels), got "
                    f"{tuple(x.shape)} in {self.class_name}."
                )
            features = features.reshape(shape[0], math.prod(shape[1:-1]), shape[-1])
        low = super().low_pass(features, self.resolve(layout, features.shape[1])).reshape(shape)
        return low.transpose(0, 1) if sequence_first else low
