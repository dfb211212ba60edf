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
"""FreqCa on stock diffusers: `enable_cache(FreqCaConfig(...))`, and a fresh cache for every denoising loop.

diffusers' `CacheMixin.enable_cache` / `disable_cache` dispatch on a fixed list of config classes and have no
registry. This module wraps both methods once: a `FreqCaConfig` is handled here exactly as diffusers handles its own
configs (the "already enabled" error, hook registration, child-registry invalidation, `_cache_config`, removal of all
hooks on disable); every other config goes to the original methods untouched.

diffusers resets stateful caches only at the end of a successful pipeline call (`maybe_free_model_hooks`). A call that
ends in an exception (Ctrl-C, an error in `callback_on_step_end`, out of memory) would leave its state to the next
call. Every diffusers pipeline opens `DiffusionPipeline.progress_bar` right before its denoising loop, so this module
also wraps that method: it ends the generation of every FreqCa'd component of the pipeline before the loop starts, and
attaches the pipeline's ControlNet, if any, so that it skips the steps the transformer predicts
(`diffusers_freqca.controlnet`).
"""

import functools

from diffusers import DiffusionPipeline
from diffusers.models.cache_utils import CacheMixin

from .config import FreqCaConfig
from .controlnet import attach_pipeline_controlnet
from .hooks import apply_freqca, remove_freqca


_PATCH_MARKER = "_diffusers_freqca_extension"


def _enable_cache_with_freqca(original):
    @functools.wraps(original)
    def enable_cache(self, config) -> None:
        if not isinstance(config, FreqCaConfig):
            return original(self, config)
        if self.is_cache_enabled:
            raise ValueError(
                f"Caching has already been enabled with {type(self._cache_config)}. To apply a new caching technique, "
                "please disable the existing one first."
            )
        apply_freqca(self, config)  # registers the hooks and invalidates diffusers' child-registry cache
        self._cache_config = config

    setattr(enable_cache, _PATCH_MARKER, original)
    return enable_cache


def _disable_cache_with_freqca(original):
    @functools.wraps(original)
    def disable_cache(self) -> None:
        if not isinstance(self._cache_config, FreqCaConfig):
            return original(self)
        remove_freqca(self)
        self._cache_config = None

    setattr(disable_cache, _PATCH_MARKER, original)
    return disable_cache


def _progress_bar_with_freqca(original):
    @functools.wraps(original)
    def progress_bar(self, *args, **kwargs):
        # A denoising loop is about to start: whatever an earlier, possibly aborted, call left behind is stale.
        for component in getattr(self, "components", {}).values():
            runtime = getattr(component, "_freqca_runtime", None)
            if runtime is not None:
                runtime.reset(report=False)
        # The pipeline's ControlNet skips the steps the transformer predicts (re-attached at every loop: model CPU
        # offloading replaces module forwards at the end of each call).
        attach_pipeline_controlnet(self)
        return original(self, *args, **kwargs)

    setattr(progress_bar, _PATCH_MARKER, original)
    return progress_bar


def register_freqca_with_diffusers() -> None:
    r"""
    Teaches `CacheMixin.enable_cache` and `disable_cache` (the methods of every diffusers model with caching support)
    to accept a [`FreqCaConfig`], and makes every diffusers pipeline start its denoising loop with a fresh FreqCa
    state (module docstring). Importing `diffusers_freqca` calls it; calling it again does nothing.

    Example:
        ```python
        >>> import diffusers_freqca  # registers FreqCa
        >>> pipe.transformer.enable_cache(diffusers_freqca.FreqCaConfig())
        >>> pipe.transformer.disable_cache()
        ```
    """
    for owner, name, wrap in (
        (CacheMixin, "enable_cache", _enable_cache_with_freqca),
        (CacheMixin, "disable_cache", _disable_cache_with_freqca),
        (DiffusionPipeline, "progress_bar", _progress_bar_with_freqca),
    ):
        method = getattr(owner, name)
        if not hasattr(method, _PATCH_MARKER):
            setattr(owner, name, wrap(method))


def is_freqca_registered() -> bool:
    r"""
    Whether `CacheMixin.enable_cache` accepts a [`FreqCaConfig`] in this process.

    Example:
        ```python
        >>> import diffusers_freqca
        >>> diffusers_freqca.is_freqca_registered()
        True
        ```
    """
    return all(
        hasattr(method, _PATCH_MARKER)
        for method in (CacheMixin.enable_cache, CacheMixin.disable_cache, DiffusionPipeline.progress_bar)
    )
