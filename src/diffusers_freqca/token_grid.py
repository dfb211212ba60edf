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
"""Reading a transformer call: how its image tokens are laid out, its timestep, and its model input.

Which forward argument describes the image token grid(s) of a model class is a row of the family table
(`diffusers_freqca.families`); the readers below turn that argument into a [`TokenLayout`].
"""

import inspect
from dataclasses import dataclass
from typing import Any

import torch

from .band_split import GridSegment, TokenLayout
from .families import FAMILIES, family_for
from .trajectory import read_time


# model class name -> the forward argument that describes its image token grid(s), from the family table
TOKEN_GRID_SOURCES: dict[str, str] = {name: row.grid_source for name, row in FAMILIES.items() if row.grid_source}


@dataclass(frozen=True)
class CallInputs:
    r"""
    What FreqCa reads from one transformer call before the block stack runs.

    Args:
        layout (`TokenLayout`, *optional*): the image grids, `None` if the call did not describe them.
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


def _layout_from_shapes(shapes: Any, seq_len: int) -> TokenLayout | None:
    # shapes: per sample a list of (frames, rows, columns); all samples of a batch share one layout.
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


_READERS = {"img_ids": _layout_from_ids, "img_shapes": _layout_from_shapes}


class CallInputReader:
    r"""
    Reads the token layout and the timestep from a transformer's forward arguments.

    The layout argument comes from `TOKEN_GRID_SOURCES` for known classes; other classes use the first of
    `img_ids` / `img_shapes` that the call passes. The layout is recomputed only when that argument changes
    (pipelines pass the same object at every step), so there is no per-step host transfer for it.

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
        self.source = family_for(self.class_name).grid_source
        parameters = list(inspect.signature(type(module).forward).parameters)[1:]
        self._positions = {name: i for i, name in enumerate(parameters)}
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

    def _layout(self, args: tuple, kwargs: dict, seq_len: int) -> TokenLayout | None:
        sources = [self.source] if self.source else list(_READERS)
        for source in sources:
            value = self._argument(source, args, kwargs)
            if value is None:
                continue
            # Tensors are compared by identity (and version, in case of in-place edits), other values by equality.
            key = (source, seq_len, *_tensor_key(value)) if isinstance(value, torch.Tensor) else None
            if key is not None and key == self._cached_key and self._cached_value is value:
                return self._cached_layout
            if key is None and self._cached_key == (source, seq_len, "value") and self._cached_value == value:
                return self._cached_layout
            layout = _READERS[source](value, seq_len)
            self._cached_key = key if key is not None else (source, seq_len, "value")
            self._cached_value = value
            self._cached_layout = layout
            return layout
        return None

    def read(self, args: tuple, kwargs: dict) -> CallInputs:
        r"""
        Args:
            args (`tuple`): the positional arguments of the forward call.
            kwargs (`dict`): its keyword arguments.

        Returns:
            [`CallInputs`]: the layout (for the image-token sequence length of the call), the timestep and the model
            input.
        """
        hidden_states = self._argument("hidden_states", args, kwargs)
        if not isinstance(hidden_states, torch.Tensor):
            hidden_states = None
        layout = None
        if hidden_states is not None and hidden_states.ndim == 3:
            layout = self._layout(args, kwargs, hidden_states.shape[1])
        time = read_time(self._argument("timestep", args, kwargs))
        return CallInputs(layout=layout, time=time, hidden_states=hidden_states)
