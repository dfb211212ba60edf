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
"""Recording the output head's input (the CRF) and the block stack's input at every transformer call of one uncached
generation."""

from dataclasses import dataclass, field
from typing import Any

import torch
from diffusers.utils import get_logger
from diffusers.utils.torch_utils import unwrap_module

from ..band_split import TokenLayout
from ..block_stack import find_block_stack
from ..config import CRF_FORMS
from ..families import block_metadata, family_for, head_module
from ..token_grid import CallInputReader, HeadBandSplitter
from ..trajectory import Trajectory


logger = get_logger(__name__)  # pylint: disable=invalid-name


@dataclass
class CRFTrace:
    r"""
    What [`CRFRecorder`] recorded: per transformer call, the output head's input (the CRF FreqCa caches) and the block
    stack's input, as `(batch, tokens, channels)` (a sequence-first or grid-shaped head input is brought to that form;
    Latte's frames are batch rows).

    Calls at the same timestep (e.g. the conditional and unconditional passes of true classifier-free guidance) are
    one denoising step; their order within the step is their `stream`.

    Args:
        outputs (`list[torch.Tensor]`): per call, the output head's input `(batch, tokens, channels)`.
        inputs (`list[torch.Tensor]`): per call, the block stack's input (the same shape for the models whose head
            sees the tokens the stack starts with).
        layouts (`list[TokenLayout]`): per call, where the image grids (2-D) or video grids (3-D) are in the token
            sequence of `outputs`.
        timesteps (`list[float | None]`): per call, the timestep the transformer received.
        steps (`list[int]`): per call, its denoising step, from 0.
        streams (`list[int]`): per call, its index among the calls of its step.
        model_class (`str`): the transformer's class name.

    Example:
        ```python
        >>> trace, _ = record_crf(pipe, {"prompt": "a red fox", "num_inference_steps": 50, "output_type": "latent"})
        >>> features = trace.features("hidden_states")  # one tensor per step, conditional pass
        >>> trace.layouts[0].segments
        (GridSegment(start=0, height=64, width=64),)
        ```
    """

    outputs: list[torch.Tensor] = field(default_factory=list)
    inputs: list[torch.Tensor] = field(default_factory=list)
    layouts: list[TokenLayout] = field(default_factory=list)
    timesteps: list[float | None] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    streams: list[int] = field(default_factory=list)
    model_class: str = ""

    @property
    def num_calls(self) -> int:
        """How many transformer calls were recorded."""
        return len(self.outputs)

    def calls(self, stream: int = 0) -> list[int]:
        r"""
        The indices of the calls of one stream, one per step, in step order.

        Args:
            stream (`int`, defaults to `0`): which call of each step (with true CFG: 0 conditional, 1 unconditional).

        Example:
            ```python
            >>> unconditional = [trace.outputs[i] for i in trace.calls(stream=1)]
            ```
        """
        indices = [i for i, s in enumerate(self.streams) if s == stream]
        if not indices:
            raise ValueError(f"`stream` must be one of {sorted(set(self.streams))} for this trace, got {stream!r}.")
        return indices

    def features(self, crf_form: str, stream: int = 0) -> list[torch.Tensor]:
        r"""
        The cached feature of every step of a stream.

        Args:
            crf_form (`str`): `"hidden_states"` (the block stack's output) or `"residual"` (output minus input).
            stream (`int`, defaults to `0`): which call of each step.

        Returns:
            `list[torch.Tensor]`: one `(batch, tokens, channels)` tensor per step.

        Example:
            ```python
            >>> residuals = trace.features("residual")
            ```
        """
        if crf_form not in CRF_FORMS:
            raise ValueError(f"`crf_form` must be one of {', '.join(map(repr, CRF_FORMS))}, got {crf_form!r}.")
        indices = self.calls(stream)
        if crf_form == "hidden_states":
            return [self.outputs[i] for i in indices]
        return [self.outputs[i] - self.inputs[i] for i in indices]


class CRFRecorder:
    r"""
    Records the CRF and the block stack's input of every call of a transformer, as a context manager.

    The CRF is the input of the model's output head (the family table's `head`, `norm_out` for most models): the
    tensor FreqCa caches, for the image tokens only in models that run text tokens through their blocks. The input is
    the hidden states given to the first block. Forward hooks do the recording, so the model runs unchanged; the token
    layout of each call comes from the same family table the cache uses (`diffusers_freqca.token_grid`), lined up
    with the head's input as the cache does, and falls back to one 1-D sequence (with a warning) when the call does
    not describe its grid.

    A call whose timestep moves against the direction of the trajectory so far (up, for almost every pipeline) starts
    a new generation: the recorder then keeps only the new one.

    Args:
        transformer (`torch.nn.Module`): the transformer, without any cache enabled.
        storage_device (`torch.device` or `str`, defaults to `"cpu"`): where recorded tensors are kept. They keep the
            model's dtype; FLUX.1-dev at 1024x1024 in bfloat16 takes about 50 MB per call (output and input).

    Example:
        ```python
        >>> with CRFRecorder(pipe.transformer) as recorder:
        ...     pipe(prompt, num_inference_steps=50)
        >>> trace = recorder.trace
        >>> len(trace.outputs), trace.outputs[0].shape
        (50, torch.Size([1, 4096, 3072]))
        ```
    """

    def __init__(self, transformer: torch.nn.Module, storage_device: torch.device | str = "cpu"):
        if getattr(transformer, "_freqca_runtime", None) is not None or getattr(
            transformer, "is_cache_enabled", False
        ):
            raise ValueError(
                "The frequency analysis needs the uncached trajectory, but a cache is enabled on this transformer; "
                "call `transformer.disable_cache()` first."
            )
        blocks = find_block_stack(transformer)
        if not blocks:
            raise ValueError(
                f"Found no transformer block list in {type(transformer).__name__}: the analysis records the output of "
                "the block stack, which it finds like FreqCa does (`ModuleList` children named like diffusers' block "
                "lists, e.g. `transformer_blocks`)."
            )
        self.transformer = transformer
        self.storage_device = torch.device(storage_device)
        self._first = blocks[0][1]
        try:
            self._first_metadata = block_metadata(unwrap_module(self._first))
        except ValueError as error:
            raise ValueError(f"The analysis cannot record {type(transformer).__name__}: {error}") from None
        family = family_for(type(transformer).__name__)
        self._head = head_module(transformer, family)
        self._sequence_first = family.head_layout == "LBC"
        self._splitter = HeadBandSplitter("dct", 0.1, family=family, class_name=type(transformer).__name__)
        self._reader = CallInputReader(transformer)
        self._handles: list[Any] = []
        self.trace = CRFTrace(model_class=type(transformer).__name__)
        self._reset_call_state()

    def _reset_call_state(self) -> None:
        self._call = None
        self._input: torch.Tensor | None = None
        self._last_time: float | None = None
        self._trajectory = Trajectory()
        self._step = -1
        self._stream = 0
        self._warned = False

    def __enter__(self) -> "CRFRecorder":
        self.trace = CRFTrace(model_class=type(self.transformer).__name__)
        self._reset_call_state()
        self._handles = [
            self.transformer.register_forward_pre_hook(self._on_call, with_kwargs=True),
            self._first.register_forward_pre_hook(self._on_first_block, with_kwargs=True),
            self._head.register_forward_pre_hook(self._on_head, with_kwargs=True),
        ]
        return self

    def __exit__(self, *exc_info) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _store(self, tensor: torch.Tensor) -> torch.Tensor:
        # A copy, so that an in-place operation of the model later in the call cannot change what was recorded.
        return tensor.detach().to(self.storage_device, copy=True)

    def _on_call(self, module, args, kwargs) -> None:
        call = self._reader.read(args, kwargs)
        time, last = call.time, self._last_time
        if self._step >= 0 and self._trajectory.starts_new_generation(time, None):
            # Timesteps move one way along a trajectory (down for most pipelines, up for Mochi's or Lumina's): a
            # call that moves back is a new generation, as in FreqCa's lifecycle rules.
            self.trace = CRFTrace(model_class=self.trace.model_class)
            self._trajectory = Trajectory()
            self._step = -1
        self._trajectory.advance(time, None)
        if time is not None and time == last and self._step >= 0:
            self._stream += 1
        else:
            self._step += 1
            self._stream = 0
        self._last_time = time
        self._call = call

    def _on_first_block(self, module, args, kwargs) -> None:
        metadata = self._first_metadata
        self._input = self._store(
            metadata._get_parameter_from_args_kwargs(metadata.hidden_states_argument_name, args, kwargs)
        )

    def _on_head(self, module, args, kwargs) -> None:
        hidden_states = args[0] if args else kwargs.get("hidden_states")
        if self._call is None or self._input is None or not isinstance(hidden_states, torch.Tensor):
            # The head ran outside a call of the transformer itself: nothing to attribute it to.
            return
        if self._sequence_first:
            hidden_states = hidden_states.transpose(0, 1)
        if hidden_states.ndim > 3:  # a grid-shaped head input (batch, frames, rows, columns, channels)
            hidden_states = hidden_states.reshape(hidden_states.shape[0], -1, hidden_states.shape[-1])
        seq_len = hidden_states.shape[1]
        layout = self._call.layout
        if layout is None and not self._warned:
            logger.warning(
                f"{self.trace.model_class}'s call does not describe a token grid of {seq_len} tokens; the analysis "
                "splits bands over the token sequence in 1-D, as FreqCa's `grid_fallback='sequence'` does."
            )
            self._warned = True
        layout = self._splitter.resolve(layout, seq_len)
        self.trace.outputs.append(self._store(hidden_states))
        self.trace.inputs.append(self._input)
        self.trace.layouts.append(layout)
        self.trace.timesteps.append(self._call.time)
        self.trace.steps.append(self._step)
        self.trace.streams.append(self._stream)
        self._input = None


def record_crf(
    pipe, pipeline_kwargs: dict[str, Any], storage_device: torch.device | str = "cpu"
) -> tuple[CRFTrace, Any]:
    r"""
    Runs a diffusers pipeline once, without a cache, and records the CRF of every transformer call.

    Args:
        pipe (`DiffusionPipeline`): a pipeline with a `transformer` (FLUX, FLUX.1-Kontext, Qwen-Image, ...).
        pipeline_kwargs (`dict[str, Any]`): the arguments of the pipeline call (prompt, size, steps, generator...).
        storage_device (`torch.device` or `str`, defaults to `"cpu"`): where the recorded tensors are kept.

    Returns:
        `tuple[CRFTrace, Any]`: the trace and the pipeline's output.

    Example:
        ```python
        >>> from diffusers_freqca.tiny_flux import load_tiny_flux_pipeline, pipeline_inputs

        >>> pipe = load_tiny_flux_pipeline()
        >>> inputs = pipeline_inputs(pipe, classes=[0])
        >>> trace, _ = record_crf(pipe, {**inputs, "num_inference_steps": 50, "output_type": "latent"})
        >>> len(trace.outputs)
        50
        ```
    """
    transformer = getattr(pipe, "transformer", None)
    if not isinstance(transformer, torch.nn.Module):
        raise ValueError(f"`pipe` must have a `transformer` module, got {type(pipe).__name__} without one.")
    with CRFRecorder(transformer, storage_device) as recorder:
        output = pipe(**pipeline_kwargs)
    if recorder.trace.num_calls == 0:
        raise ValueError("The pipeline call ran no transformer block; there is nothing to analyze.")
    return recorder.trace, output


__all__ = ["CRFRecorder", "CRFTrace", "record_crf"]
