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
"""The FreqCa configuration: one dataclass, validated on construction, serialisable to a plain dict."""

import dataclasses
import math
import warnings
from dataclasses import dataclass
from typing import Any

import torch


DECOMPOSITIONS = ("none", "dct", "fft")
PREDICTORS = ("taylor", "hermite")
CRF_FORMS = ("hidden_states", "residual")
FORECAST_TARGETS = ("crf", "model_output")
OUTPUT_FORMS = ("auto", "velocity", "noise")
SPACINGS = ("sigma", "log_snr", "step")
GRID_FALLBACKS = ("sequence", "error")
MAX_FORECAST_ORDER = 2

# dtypes a config may name when it is serialised; everything else is rejected with the list below.
DTYPES_BY_NAME = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float64": torch.float64,
}


# Fields of version 0.1 configs, with what replaced them.
_REMOVED_FIELDS = {
    "schedule_power": "was removed: full steps no longer need a step count; `first_interval` places the first one.",
    "num_inference_steps": "was removed: no schedule needs a step count any more; drop the field.",
}


def _allowed(values) -> str:
    return ", ".join(repr(v) for v in values)


def _check_int(name: str, value: Any, minimum: int, maximum: int | None = None) -> None:
    # bool is an int subclass; `True` as an interval is almost certainly a mistake.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"`{name}` must be an int, got {value!r} of type {type(value).__name__}.")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"`{name}` must be {bound}, got {value!r}.")


def _check_float(name: str, value: Any, allowed: str, valid) -> float:
    # Every float field goes through here: no bools, no strings, no NaN or infinity (they turn images into NaN).
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"`{name}` must be a finite float {allowed}, got {value!r}.")
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float is as unusable as infinity (and must not escape as one)
        number = math.inf
    if not math.isfinite(number) or not valid(number):
        raise ValueError(f"`{name}` must be a finite float {allowed}, got {value!r}.")
    return number


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"`{name}` must be one of {_allowed(allowed)}, got {value!r}.")


@dataclass
class FreqCaConfig:
    r"""
    Configuration for [FreqCa: frequency-aware feature caching](https://huggingface.co/papers/2510.08669).

    FreqCa runs the transformer's block stack only on some denoising steps ("full steps"). On the other steps
    ("predicted steps") no transformer block runs: what the last full steps cached is forecast instead. What is cached
    and forecast is `forecast_target`:

    - `"crf"` (the paper): the Cumulative Residual Feature, the block stack's output for the image tokens where it
      enters the model's output head. The forecast goes through the model's own output head with the current step's
      conditioning, and it can split the CRF into frequency bands over each image's token grid and forecast each band
      with its own order (the paper reuses the low band and extrapolates the high band).
    - `"model_output"` (the default): the transformer's output, forecast as a whole (no band split); for
      flow-matching models in the noise form (`output_form`). The cache is the size of the latents.

    The defaults are the configuration with the best worst-case margin over diffusers' built-in caches on the tune half
    of the project's model zoo (the held-out half's worst case is lower; docs/benchmarks.md): a first-order forecast of
    the model output (in the noise form where the model's family allows it) along the noise level sigma, two warm-up
    full steps three steps apart (0 and 3), a first full step after half an interval, then one every `cache_interval`
    steps. They need no step count. The paper's recipe (a band-split CRF forecast with the Hermite predictor, three
    warm-up steps, an even schedule) is `FreqCaConfig.from_preset(model, "paper")`; `forecast_target="crf"` with a
    `decomposition` and different band orders gives the frequency-aware CRF forecast with any other settings.

    Args:
        cache_interval (`int`, defaults to `6`):
            About one full step every `cache_interval` steps (`N` in the paper; 6 is its balanced and 9 its aggressive
            setting). After the warm-up, the first full step comes `first_interval` steps after the last warm-up step,
            and then one every `cache_interval` steps. `1` computes every step.
        disable_cache_before_step (`int`, defaults to `2`):
            How many warm-up full steps start every generation. At least `1`, because nothing can be forecast before
            the first full step. They are `warmup_stride` steps apart.
        warmup_stride (`int`, defaults to `3`):
            Steps between consecutive warm-up full steps: the warm-up computes steps `0, warmup_stride, ...,
            (disable_cache_before_step - 1) * warmup_stride`, and the steps between them are forecast from the full
            steps before them (between the first two, from the first alone). `1` computes the first
            `disable_cache_before_step` steps (the paper's warm-up); a stride above `cache_interval` is taken as
            `cache_interval` (so `cache_interval=1` still computes every step). Near pure noise the model's noise
            prediction barely moves from one step to the next, so a second full step right after the first adds little,
            and a slope taken over one step extrapolates poorly: on the tune half of the model zoo, the warm-up at
            steps 0 and 3 beat 0 and 1 in all 10 cells at N = 6 and 9 where both make as many full steps (by 0.1 to 1.6
            dB; over the whole zoo and N = 3 to 12, in 35 of 44 such cells; docs/benchmarks.md).
        first_interval (`int`, *optional*, defaults to `None`):
            Steps from the last warm-up step to the first full step after it. `None` uses `ceil(cache_interval / 2)`:
            the features change fastest early in the trajectory, so the first forecast reaches less far. The paper
            uses `cache_interval` (an even schedule).
        disable_cache_after_step (`int`, *optional*, defaults to `None`):
            If set, every step with index `>= disable_cache_after_step` is a full step.
        full_compute_steps (`tuple[int, ...]`, *optional*, defaults to `None`):
            Extra step indices that are always full steps, e.g. `(47,)` to compute one step near the end of a
            50-step trajectory. The interval counts from the most recent full step, whichever rule made it.
        spacing (`str`, defaults to `"sigma"`):
            The time axis the forecast extrapolates along: `"sigma"` (the flow-matching noise level the transformer
            receives; chosen on the tune half of the model zoo, where it beat the log-SNR by 0.9 to 1.8 dB in every
            cell, docs/benchmarks.md), `"log_snr"` (its log signal-to-noise ratio,
            `log((1 - sigma + 0.05) / (sigma + 0.05))`; the 0.05 keeps the last steps, where the plain log-SNR
            diverges, from being over-extrapolated) or `"step"` (step indices, the paper). The noise level comes from
            the `timestep` the transformer receives; without one, steps are used.
        decomposition (`str`, defaults to `"none"`):
            How the CRF is split into bands over the token grid: `"none"` (no split: the whole cached feature is
            forecast with `high_freq_order`), `"dct"` (orthonormal 2-D DCT-II, the paper's choice for FLUX) or
            `"fft"` (2-D FFT, the paper's choice for Qwen-Image). A split needs the two band orders to differ (a
            split with equal orders would change nothing and is refused) and the CRF (`forecast_target="crf"`, which
            `forecast_target=None` then picks).
        cutoff_ratio (`float`, defaults to `0.1`):
            Radius of the low band as a fraction of the largest radial frequency of the grid, in `(0, 1]`. Frequencies
            are normalised per axis, so the cut is the same fraction along height and width of non-square grids;
            on a square grid this is exactly the paper's mask. On video token grids (frames x rows x columns) this is
            the cut-off in space, over rows and columns.
        temporal_cutoff_ratio (`float`, *optional*, defaults to `None`):
            The low band's cut-off along the frames of a video token grid, as a fraction of the largest temporal
            frequency, in `(0, 1]`: a frequency is low when it is low in space (`cutoff_ratio`) and in time (this
            one). `None` uses `cutoff_ratio`; `1.0` keeps every temporal frequency, i.e. splits each frame in 2-D.
            Image grids have no time axis and ignore it.
        low_freq_order (`int`, defaults to `1`):
            Order of the low-band forecast, `0..2`. The paper reuses the low band (`0`).
        high_freq_order (`int`, defaults to `1`):
            Order of the high-band forecast (of the whole cached feature without a split: the CRF or the model
            output), `0..2`. The paper uses `2`.
        predictor (`str`, defaults to `"taylor"`):
            `"taylor"`: a Taylor expansion from Newton divided differences, exact for polynomial trajectories up to
            the forecast order; `"hermite"`: the paper's scaled Hermite expansion.
        hermite_scale (`float`, defaults to `0.71`):
            The scale `s` of the Hermite expansion (the paper's value), in `(0, 10]`.
        forecast_target (`str`, *optional*, defaults to `None`):
            What is cached and forecast: `"crf"` (the Cumulative Residual Feature, the block stack's output where it
            enters the output head; the head then runs on the forecast with the current step's conditioning; the
            paper) or `"model_output"` (the transformer's output after the head, in the form `output_form` says; the
            cache is as small as the latents). A band split needs the CRF's token grid: `"model_output"` takes no
            split. `None` becomes `"crf"` when the config splits bands and `"model_output"` otherwise (the zoo's
            best generaliser, docs/benchmarks.md).
        crf_form (`str`, defaults to `"hidden_states"`):
            With `forecast_target="crf"`, what is cached: `"hidden_states"` (the block stack's output, as in the
            authors' code) or `"residual"` (the stack's output minus its input; on a predicted step the forecast
            residual is added to the current step's stack input, which carries the current noise level). With
            `forecast_target="model_output"` leave it at `"hidden_states"`.
        output_form (`str`, defaults to `"auto"`):
            How `forecast_target="model_output"` extrapolates the transformer's output `v`:

            - `"velocity"`: `v` itself (what TaylorSeer-lite does).
            - `"noise"`: for a flow-matching model (latents `x = (1 - sigma) * x_0 + sigma * noise`, output the
              velocity `noise - x_0`), the noise prediction `x + (1 - sigma) * v`, converted back with the predicted
              step's own input `x` and noise level: `v = (noise - x) / (1 - sigma)`. Needs an output shaped like the
              input and a noise level that goes down along the generation; raises otherwise.
            - `"auto"`: `"noise"` for models whose family table row says their output is a flow-matching velocity
              (FLUX.1, Chroma, FLUX.2, Qwen-Image, SD3, CogView4, Wan, HunyuanVideo, LTX-Video:
              `families.TransformerFamily.flow_velocity`), where the call allows it; `"velocity"` otherwise. A full
              step whose call does not allow the noise form (no noise level, an output shaped unlike the input)
              switches the context to the velocity form, without an error, until its next restart or generation.

            With `forecast_target="crf"` leave it at `"auto"`.
        cache_dtype (`torch.dtype`, *optional*, defaults to `None`):
            dtype in which the cached feature (CRF or model output) and its differences are stored. `None` stores
            them in the model's dtype, except the noise form of the output forecast, which `None` stores in float32.
            The band split itself always runs in float32.
        grid_fallback (`str`, defaults to `"sequence"`):
            What to do when an image token grid cannot be determined from the model's inputs: `"sequence"` warns once
            and splits bands with a 1-D transform over the token sequence (the authors' FFT variant), `"error"`
            raises.

    Raises:
        `ValueError`: for any value outside what each field allows (the message names the field, the value and what
            is allowed), including NaN and infinity in float fields.

    Example:
        ```python
        >>> import torch
        >>> from diffusers import FluxPipeline
        >>> from diffusers_freqca import FreqCaConfig

        >>> pipe = FluxPipeline.from_pretrained("black-forest-labs/FLUX.1-dev", torch_dtype=torch.bfloat16).to("cuda")
        >>> pipe.transformer.enable_cache(FreqCaConfig(cache_interval=6))
        >>> image = pipe("A cat holding a sign that says hello world", num_inference_steps=50).images[0]
        ```
    """

    cache_interval: int = 6
    disable_cache_before_step: int = 2
    warmup_stride: int = 3
    first_interval: int | None = None
    disable_cache_after_step: int | None = None
    full_compute_steps: tuple[int, ...] | None = None
    spacing: str = "sigma"
    decomposition: str = "none"
    cutoff_ratio: float = 0.1
    temporal_cutoff_ratio: float | None = None
    low_freq_order: int = 1
    high_freq_order: int = 1
    predictor: str = "taylor"
    hermite_scale: float = 0.71
    forecast_target: str | None = None
    crf_form: str = "hidden_states"
    output_form: str = "auto"
    cache_dtype: torch.dtype | None = None
    grid_fallback: str = "sequence"

    def __post_init__(self):
        _check_int("cache_interval", self.cache_interval, 1)
        _check_int("disable_cache_before_step", self.disable_cache_before_step, 1)
        _check_int("warmup_stride", self.warmup_stride, 1)
        if self.first_interval is not None:
            _check_int("first_interval", self.first_interval, 1)
        if self.disable_cache_after_step is not None:
            _check_int("disable_cache_after_step", self.disable_cache_after_step, 0)
        if self.full_compute_steps is not None:
            if isinstance(self.full_compute_steps, (str, bytes)) or not hasattr(self.full_compute_steps, "__iter__"):
                raise ValueError(
                    f"`full_compute_steps` must be a sequence of step indices or None, got {self.full_compute_steps!r}."
                )
            steps = tuple(self.full_compute_steps)
            if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in steps):
                raise ValueError(
                    f"`full_compute_steps` must hold step indices (ints >= 0), got {self.full_compute_steps!r}."
                )
            self.full_compute_steps = tuple(sorted(set(steps)))
        _check_choice("spacing", self.spacing, SPACINGS)
        _check_choice("decomposition", self.decomposition, DECOMPOSITIONS)
        self.cutoff_ratio = _check_float("cutoff_ratio", self.cutoff_ratio, "in (0, 1]", lambda v: 0.0 < v <= 1.0)
        if self.temporal_cutoff_ratio is not None:
            self.temporal_cutoff_ratio = _check_float(
                "temporal_cutoff_ratio", self.temporal_cutoff_ratio, "in (0, 1] or None", lambda v: 0.0 < v <= 1.0
            )
        _check_int("low_freq_order", self.low_freq_order, 0, MAX_FORECAST_ORDER)
        _check_int("high_freq_order", self.high_freq_order, 0, MAX_FORECAST_ORDER)
        _check_choice("predictor", self.predictor, PREDICTORS)
        self.hermite_scale = _check_float("hermite_scale", self.hermite_scale, "in (0, 10]", lambda v: 0.0 < v <= 10.0)
        if self.decomposition != "none" and self.low_freq_order == self.high_freq_order:
            # A split with equal orders forecasts both bands alike, i.e. it would change nothing: refuse it rather
            # than accept a setting that is silently without effect.
            raise ValueError(
                f"`decomposition={self.decomposition!r}` splits the CRF into bands only when `low_freq_order` and "
                f"`high_freq_order` differ, but both are {self.low_freq_order}: it would change nothing. Give the "
                "bands different orders (the paper: `low_freq_order=0, high_freq_order=2`, or "
                "`FreqCaConfig.from_preset(model, 'paper')`) or use `decomposition='none'`."
            )
        if self.forecast_target is None:
            self.forecast_target = "crf" if self.splits_bands else "model_output"
        _check_choice("forecast_target", self.forecast_target, FORECAST_TARGETS)
        _check_choice("crf_form", self.crf_form, CRF_FORMS)
        _check_choice("output_form", self.output_form, OUTPUT_FORMS)
        if self.forecast_target != "model_output" and self.output_form != "auto":
            raise ValueError(
                f"`output_form={self.output_form!r}` describes how the model's output is forecast, but "
                f"`forecast_target={self.forecast_target!r}` forecasts the CRF: use `forecast_target='model_output'` "
                "or leave `output_form='auto'`."
            )
        if self.forecast_target == "model_output" and self.splits_bands:
            raise ValueError(
                f"`forecast_target='model_output'` forecasts the transformer's output, which has no band split: got "
                f"`decomposition={self.decomposition!r}` with different band orders. Use `forecast_target='crf'` for a "
                "split, or `decomposition='none'`."
            )
        if self.forecast_target == "model_output" and self.crf_form != "hidden_states":
            raise ValueError(
                f"`crf_form={self.crf_form!r}` describes the CRF, but `forecast_target='model_output'` forecasts the "
                "model's output: leave `crf_form='hidden_states'`."
            )
        if self.cache_dtype is not None and self.cache_dtype not in DTYPES_BY_NAME.values():
            raise ValueError(
                f"`cache_dtype` must be None or one of {_allowed(list(DTYPES_BY_NAME.values()))}, "
                f"got {self.cache_dtype!r}."
            )
        _check_choice("grid_fallback", self.grid_fallback, GRID_FALLBACKS)

    @property
    def resolved_warmup_stride(self) -> int:
        """`warmup_stride`, but never more than `cache_interval` (so that `cache_interval=1` computes every step)."""
        return min(self.warmup_stride, self.cache_interval)

    @property
    def last_warmup_step(self) -> int:
        """The index of the last warm-up full step: `(disable_cache_before_step - 1) * resolved_warmup_stride`."""
        return (self.disable_cache_before_step - 1) * self.resolved_warmup_stride

    @property
    def resolved_first_interval(self) -> int:
        """`first_interval`, or its default `ceil(cache_interval / 2)`."""
        return self.first_interval if self.first_interval is not None else math.ceil(self.cache_interval / 2)

    @property
    def forecast_order(self) -> int:
        """The highest forecast order of either band: how many full steps of history the forecast uses, minus one."""
        return max(self.low_freq_order, self.high_freq_order)

    @property
    def splits_bands(self) -> bool:
        """Whether a band split is needed at all: with equal orders both bands are forecast alike."""
        return self.decomposition != "none" and self.low_freq_order != self.high_freq_order

    def to_dict(self) -> dict[str, Any]:
        """
        Returns the config as a JSON-serialisable dict (dtypes become their names, tuples become lists).

        Example:
            ```python
            >>> FreqCaConfig(cache_interval=9).to_dict()["cache_interval"]
            9
            ```
        """
        data = dataclasses.asdict(self)
        if self.cache_dtype is not None:
            data["cache_dtype"] = str(self.cache_dtype).replace("torch.", "")
        if self.full_compute_steps is not None:
            data["full_compute_steps"] = list(self.full_compute_steps)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FreqCaConfig":
        """
        Builds a config from a dict such as the one `to_dict` returns. Unknown keys raise a `ValueError` that lists
        them and the known ones.

        Args:
            data (`dict[str, Any]`): field names mapped to values; `cache_dtype` may be a dtype name.

        Example:
            ```python
            >>> FreqCaConfig.from_dict({"cache_interval": 9, "cache_dtype": "bfloat16"}).cache_dtype
            torch.bfloat16
            ```
        """
        if not isinstance(data, dict):
            raise ValueError(f"A FreqCa config must be a dict of field names to values, got {type(data).__name__}.")
        removed = sorted(set(data) & set(_REMOVED_FIELDS))
        if removed:
            raise ValueError(
                "This FreqCa config was written for diffusers-freqca 0.1: "
                + " ".join(f"`{name}` {_REMOVED_FIELDS[name]}" for name in removed)
            )
        if data.get("spacing") == "timestep":
            raise ValueError(
                "This FreqCa config was written for diffusers-freqca 0.1: `spacing='timestep'` is now called "
                "`spacing='sigma'` (which is now the default)."
            )
        # The metadata `save_pretrained` writes beside the fields (diffusers_freqca.hub) describes the file.
        data = {
            k: v for k, v in data.items() if k not in ("_class_name", "format_version", "_diffusers_freqca_version")
        }
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Unknown FreqCaConfig field(s) {unknown}; known fields are {sorted(known)}.")
        values = dict(data)
        dtype = values.get("cache_dtype")
        if isinstance(dtype, str):
            name = dtype.replace("torch.", "")
            if name not in DTYPES_BY_NAME:
                raise ValueError(
                    f"`cache_dtype` must be None or one of {_allowed(list(DTYPES_BY_NAME))}, got {dtype!r}."
                )
            values["cache_dtype"] = DTYPES_BY_NAME[name]
        if isinstance(values.get("full_compute_steps"), list):
            values["full_compute_steps"] = tuple(values["full_compute_steps"])
        return cls(**values)

    # The file, Hub and preset methods below delegate to `hub.py` / `presets.py`; the imports are local because both
    # modules import this one.

    def save_pretrained(self, save_directory, push_to_hub: bool = False, **kwargs) -> str:
        """
        Writes the config to `save_directory/freqca_config.json` (format described in `diffusers_freqca.hub`).

        Args:
            save_directory (`str` or `os.PathLike`): the folder to write to; created if needed.
            push_to_hub (`bool`, *optional*, defaults to `False`): also upload the file to the Hub.
            kwargs: with `push_to_hub=True`, the arguments of `push_to_hub` (`repo_id` defaults to the folder name).

        Returns:
            `str`: the path of the written file.

        Example:
            ```python
            >>> FreqCaConfig(cache_interval=9).save_pretrained("my-freqca-config")
            'my-freqca-config/freqca_config.json'
            ```
        """
        from .hub import save_config

        return save_config(self, save_directory, push_to_hub=push_to_hub, **kwargs)

    @classmethod
    def from_pretrained(
        cls,
        repo_id_or_path,
        subfolder: str | None = None,
        revision: str | None = None,
        token: str | bool | None = None,
        cache_dir=None,
        local_files_only: bool = False,
        force_download: bool = False,
    ) -> "FreqCaConfig":
        """
        Loads a config saved with `save_pretrained` / `push_to_hub` from a folder, a JSON file or a Hub repository.
        Hub files are cached; `HF_HUB_OFFLINE=1` or `local_files_only=True` read only the cache.

        Args:
            repo_id_or_path (`str` or `os.PathLike`): a folder, a `freqca_config.json` path, or a Hub repo id.
            subfolder (`str`, *optional*): folder inside the folder or repository that holds the file.
            revision (`str`, *optional*): branch, tag or commit of the Hub repository.
            token (`str` or `bool`, *optional*): Hub token for private or gated repositories.
            cache_dir (`str` or `os.PathLike`, *optional*): the Hub cache folder.
            local_files_only (`bool`, *optional*, defaults to `False`): never use the network.
            force_download (`bool`, *optional*, defaults to `False`): download even if cached.

        Example:
            ```python
            >>> pipe.transformer.enable_cache(FreqCaConfig.from_pretrained("my-user/my-freqca-config"))
            ```
        """
        from .hub import load_config

        return load_config(
            repo_id_or_path,
            subfolder=subfolder,
            revision=revision,
            token=token,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            force_download=force_download,
        )

    def push_to_hub(
        self,
        repo_id: str,
        commit_message: str | None = None,
        private: bool | None = None,
        token: str | None = None,
        revision: str | None = None,
        create_pr: bool = False,
        subfolder: str | None = None,
    ):
        """
        Uploads the config as `freqca_config.json` to a Hub model repository (created if needed).

        Args:
            repo_id (`str`): `"user/name"`, or `"name"` in the token user's namespace.
            commit_message (`str`, *optional*, defaults to `"Upload FreqCa config"`): the commit message.
            private (`bool`, *optional*): visibility of a newly created repository.
            token (`str`, *optional*): Hub token with write access; `None` uses the stored one.
            revision (`str`, *optional*): an existing branch to commit to.
            create_pr (`bool`, *optional*, defaults to `False`): open a pull request instead of committing.
            subfolder (`str`, *optional*): folder of the repository to upload into.

        Returns:
            `huggingface_hub.CommitInfo`: the commit.

        Example:
            ```python
            >>> FreqCaConfig.from_preset("flux.1-dev").push_to_hub("my-user/my-flux-finetune", create_pr=True)
            ```
        """
        from .hub import push_config_to_hub

        return push_config_to_hub(
            self,
            repo_id,
            commit_message=commit_message,
            private=private,
            token=token,
            revision=revision,
            create_pr=create_pr,
            subfolder=subfolder,
        )

    @classmethod
    def from_preset(
        cls, model: str, setting: str = "balanced", num_inference_steps: int | None = None
    ) -> "FreqCaConfig":
        """
        The recommended config for a model, from the table in `diffusers_freqca.presets` (`diffusers-freqca presets`
        prints it, with where each value comes from).

        Args:
            model (`str`): a model name such as `"flux.1-dev"` or `"qwen-image"`, or its Hub repo id.
            setting (`str`, *optional*, defaults to `"balanced"`): `"balanced"`, `"fast"`, `"paper"` or
                `"paper-fast"`.
            num_inference_steps (`int`, *optional*): deprecated and unused. Presets of version 0.1 planned their full
                steps for a step count; every schedule now adapts to the trajectory it sees. Passing it warns.

        Returns:
            `FreqCaConfig`: a new config.

        Raises:
            `ValueError`: for an unknown model or setting, or a model FreqCa should not be used with.

        Example:
            ```python
            >>> FreqCaConfig.from_preset("qwen-image", "fast").cache_interval
            9
            ```
        """
        from .presets import get_preset

        if num_inference_steps is not None:
            _check_int("num_inference_steps", num_inference_steps, 1)
            warnings.warn(
                "`num_inference_steps` in `FreqCaConfig.from_preset` is no longer needed and has no effect: the "
                "full steps adapt to the trajectory the model sees. Remove the argument.",
                FutureWarning,
                stacklevel=2,
            )
        return get_preset(model, setting).config
