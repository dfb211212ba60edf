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
"""ControlNets skip their forward on the steps the FreqCa'd transformer predicts.

A ControlNet pipeline (`FluxControlNetPipeline`, `StableDiffusion3ControlNetPipeline`, `QwenImageControlNetPipeline`,
...) calls its ControlNet once per step, before the transformer, and hands the residuals to the transformer, which
adds them next to its blocks. On a predicted step FreqCa skips every block and replaces the transformer's output (or,
with `forecast_target="crf"`, the output head's input) by the forecast, so no residual can reach the output,
including those the model adds after its last block: the ControlNet's work is wasted. This module makes the
ControlNet skip it.

The transformer's decision must be known before the ControlNet runs. The ControlNet's call carries what the
transformer's next call will receive (the timestep and the latents), so the ControlNet asks the transformer's FreqCa
runtime what it would decide for them (`FreqCaRuntime.will_compute`: the same rule on the same state, changing
nothing), and skips only if every cache context with a generation in progress would predict: the residuals also feed
the unconditional pass of true classifier-free guidance. A skipped ControlNet returns its usual structure with
`None` for every residual list, which the transformers read as "no ControlNet". Should a transformer call then compute
after all (a context restarted between the two calls), it raises instead of silently running without the
ControlNet.

[`attach_controlnet`] does this for one ControlNet and transformer; the pipeline integration
(`diffusers_freqca.integration`) calls [`attach_pipeline_controlnet`] at the start of every denoising loop, so FreqCa
users get it without doing anything. [`set_controlnet_skipping`] turns it off for a pipeline.
"""

import functools
import inspect
import weakref
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any

import torch
from diffusers.utils import get_logger

from .trajectory import read_time


logger = get_logger(__name__)  # pylint: disable=invalid-name

_SKIPPER_ATTRIBUTE = "_freqca_controlnet_skipper"
_WRAPPED_MARKER = "_freqca_controlnet_forward"
_PIPELINE_FLAG = "_freqca_skip_controlnet"
_UNKNOWN = object()  # no real output seen yet, or one FreqCa cannot mimic


def _skipped_output(output: Any) -> Any:
    # The structure of a ControlNet output with every residual list replaced by None: a tuple of lists (FLUX's
    # double and single residuals) keeps its length; a list or tuple of tensors (one residual per block) and a
    # mapping of residuals are one None each.
    if is_dataclass(output):  # diffusers' output classes (also mappings)
        return type(output)(**{field.name: None for field in fields(output)})
    if output is None or isinstance(output, (torch.Tensor, Mapping)):
        return None  # a residual, or residuals keyed by block index (Z-Image's ControlNet)
    if isinstance(output, (list, tuple)):
        if all(isinstance(item, torch.Tensor) for item in output):
            return None
        return tuple(_skipped_output(item) for item in output)
    raise TypeError(f"FreqCa does not know how to skip a ControlNet that returns {type(output).__name__}.")


class ControlNetSkipper:
    r"""
    Replaces a ControlNet's forward: runs it on the steps the transformer computes and returns `None` residuals on
    the steps it predicts. Create it with [`attach_controlnet`].

    Args:
        controlnet (`torch.nn.Module`): the ControlNet (or multi-ControlNet) the pipeline calls.
        transformer (`torch.nn.Module`): the transformer its residuals feed; FreqCa may be applied and removed at any
            time, the skipper follows.

    Attributes:
        computed_calls (`int`): calls that ran the ControlNet.
        skipped_calls (`int`): calls that skipped it.

    Example:
        ```python
        >>> skipper = attach_controlnet(pipe.controlnet, pipe.transformer)
        >>> image = pipe(prompt, control_image=control, num_inference_steps=28).images[0]
        >>> skipper.computed_calls, skipper.skipped_calls
        (10, 18)
        ```
    """

    def __init__(self, controlnet: torch.nn.Module, transformer: torch.nn.Module):
        self._controlnet = weakref.ref(controlnet)
        self._transformer = weakref.ref(transformer)
        parameters = list(inspect.signature(type(controlnet).forward).parameters)[1:]
        self._positions = {name: index for index, name in enumerate(parameters)}
        self._structure: Any = _UNKNOWN  # the skipped form of the last real output
        self._skipped_time: float | None = None
        self._guard = None
        self.computed_calls = 0
        self.skipped_calls = 0

    def _argument(self, name: str, args: tuple, kwargs: dict) -> Any:
        if name in kwargs:
            return kwargs[name]
        position = self._positions.get(name)
        return args[position] if position is not None and position < len(args) else None

    def _runtime(self):
        transformer = self._transformer()
        return getattr(transformer, "_freqca_runtime", None) if transformer is not None else None

    def forward(self, original_forward, *args, **kwargs):
        r"""
        The ControlNet's forward with skipping: `original_forward(*args, **kwargs)`, or the skipped output.

        Args:
            original_forward (`Callable`): the forward the skipper wraps.
            args, kwargs: the ControlNet's call.
        """
        runtime = self._runtime()
        if runtime is not None and self._structure is not _UNKNOWN:
            latents = self._argument("hidden_states", args, kwargs)
            latents = latents if isinstance(latents, torch.Tensor) else None
            time = read_time(self._argument("timestep", args, kwargs))
            if time is not None and not runtime.will_compute(time, latents):
                self.skipped_calls += 1
                self._skipped_time = time
                return self._structure
        output = original_forward(*args, **kwargs)
        self.computed_calls += 1
        self._skipped_time = None
        try:
            self._structure = _skipped_output(output)
        except TypeError as error:
            logger.warning(f"{error} It runs on every step.")
            self._structure = _UNKNOWN
        return output

    def guard(self, module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        r"""
        A forward pre-hook on the transformer, after FreqCa's: a call that computes at the timestep of a skipped
        ControlNet call would run without the ControlNet's residuals, so it raises.

        Raises:
            `RuntimeError`: when that happens.
        """
        runtime = self._runtime()
        state = runtime.current if runtime is not None else None
        if state is None or self._skipped_time is None or not state.should_compute:
            return
        if state.trajectory.last_time == self._skipped_time:
            raise RuntimeError(
                "FreqCa skipped the ControlNet on this step because the transformer was going to predict it, but the "
                "transformer computes it (a cache context restarted in between). Turn ControlNet skipping off with "
                "`diffusers_freqca.controlnet.set_controlnet_skipping(pipe, False)` for this pipeline."
            )

    def _install_guard(self, transformer: torch.nn.Module) -> None:
        # After FreqCa's own pre-hook, whenever FreqCa was (re-)applied: re-registered at every attachment.
        if self._guard is not None:
            self._guard.remove()
        self._guard = transformer.register_forward_pre_hook(self.guard, with_kwargs=True)

    def remove(self) -> None:
        """Removes the transformer guard; [`detach_controlnet`] also restores the ControlNet's forward."""
        if self._guard is not None:
            self._guard.remove()
            self._guard = None


def attach_controlnet(controlnet: torch.nn.Module, transformer: torch.nn.Module) -> ControlNetSkipper:
    r"""
    Makes `controlnet` skip its forward on the steps FreqCa predicts on `transformer` (see the module docstring).
    Idempotent: attaching again re-installs the wrapper if something (accelerate's model CPU offload re-applied at
    the end of a pipeline call) replaced it, and keeps the counters.

    Args:
        controlnet (`torch.nn.Module`): the ControlNet or multi-ControlNet the pipeline calls before the transformer,
            with `hidden_states` and `timestep` arguments like the transformer's.
        transformer (`torch.nn.Module`): the transformer its residuals feed. Without FreqCa on it the ControlNet runs
            on every step.

    Returns:
        [`ControlNetSkipper`]: the skipper, with its counters.

    Raises:
        `ValueError`: when either argument is not a `torch.nn.Module`.

    Example:
        ```python
        >>> from diffusers_freqca.controlnet import attach_controlnet

        >>> skipper = attach_controlnet(pipe.controlnet, pipe.transformer)  # a custom denoising loop
        ```
    """
    if not isinstance(controlnet, torch.nn.Module) or not isinstance(transformer, torch.nn.Module):
        raise ValueError(
            "`controlnet` and `transformer` must be torch.nn.Module instances, got "
            f"{type(controlnet).__name__} and {type(transformer).__name__}."
        )
    skipper = getattr(controlnet, _SKIPPER_ATTRIBUTE, None)
    if skipper is None or skipper._transformer() is not transformer:
        if skipper is not None:
            skipper.remove()
        skipper = ControlNetSkipper(controlnet, transformer)
        setattr(controlnet, _SKIPPER_ATTRIBUTE, skipper)
    forward = controlnet.forward
    if getattr(forward, _WRAPPED_MARKER, None) is not skipper:
        wrapped = functools.update_wrapper(functools.partial(skipper.forward, forward), forward)
        setattr(wrapped, _WRAPPED_MARKER, skipper)
        controlnet.forward = wrapped
    skipper._install_guard(transformer)
    return skipper


def detach_controlnet(controlnet: torch.nn.Module) -> None:
    r"""
    Undoes [`attach_controlnet`]: the ControlNet runs on every step again.

    Args:
        controlnet (`torch.nn.Module`): a ControlNet, attached or not (then nothing happens).

    Example:
        ```python
        >>> detach_controlnet(pipe.controlnet)
        ```
    """
    skipper = getattr(controlnet, _SKIPPER_ATTRIBUTE, None)
    if skipper is None:
        return
    skipper.remove()
    forward = controlnet.forward
    if getattr(forward, _WRAPPED_MARKER, None) is skipper:
        inner = forward.args[0]
        if getattr(inner, "__func__", None) is type(controlnet).forward and inner.__self__ is controlnet:
            del controlnet.forward  # back to the class's forward
        else:
            controlnet.forward = inner
    delattr(controlnet, _SKIPPER_ATTRIBUTE)


def set_controlnet_skipping(pipe: Any, enabled: bool) -> None:
    r"""
    Turns ControlNet skipping on (the default) or off for a pipeline whose transformer has FreqCa.

    Args:
        pipe (`DiffusionPipeline`): the pipeline.
        enabled (`bool`): whether its ControlNet skips the steps the transformer predicts.

    Raises:
        `ValueError`: when `enabled` is not a bool.

    Example:
        ```python
        >>> set_controlnet_skipping(pipe, False)  # the ControlNet runs on every step
        ```
    """
    if not isinstance(enabled, bool):
        raise ValueError(f"`enabled` must be a bool, got {enabled!r}.")
    setattr(pipe, _PIPELINE_FLAG, enabled)
    controlnet = getattr(pipe, "controlnet", None)
    if not enabled and isinstance(controlnet, torch.nn.Module):
        detach_controlnet(controlnet)


def attach_pipeline_controlnet(pipe: Any) -> ControlNetSkipper | None:
    r"""
    Attaches the pipeline's `controlnet` to its `transformer` when FreqCa is applied to the transformer and skipping
    is on ([`set_controlnet_skipping`]); detaches it otherwise. The pipeline integration calls it before every
    denoising loop.

    Args:
        pipe (`DiffusionPipeline`): any pipeline; one without a `controlnet` and a `transformer` is left alone.

    Returns:
        [`ControlNetSkipper`] or `None`: the skipper, if attached.

    Example:
        ```python
        >>> attach_pipeline_controlnet(pipe)
        ```
    """
    controlnet = getattr(pipe, "controlnet", None)
    transformer = getattr(pipe, "transformer", None)
    if not isinstance(controlnet, torch.nn.Module) or not isinstance(transformer, torch.nn.Module):
        return None
    if getattr(transformer, "_freqca_runtime", None) is None or not getattr(pipe, _PIPELINE_FLAG, True):
        detach_controlnet(controlnet)
        return None
    return attach_controlnet(controlnet, transformer)


__all__ = [
    "ControlNetSkipper",
    "attach_controlnet",
    "attach_pipeline_controlnet",
    "detach_controlnet",
    "set_controlnet_skipping",
]
