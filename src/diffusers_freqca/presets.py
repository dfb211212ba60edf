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
"""Recommended FreqCa configs per model: `FreqCaConfig.from_preset(model, setting)` and `diffusers-freqca presets`.

Settings:

- `"paper"` / `"paper-fast"`: the authors' recipe exactly (the CRF, the block stack's output cached as is and
  forecast through the output head; 3 warm-up steps, then one full step every N steps; cut-off 0.1, low band reused,
  high band forecast with the second-order Hermite predictor in step units), with `N = 6` / `N = 9`; DCT for
  FLUX-family and FFT for Qwen-family models. One difference remains by design: our FFT split is 2-D over each image's
  token grid, where the authors' code uses a 1-D FFT over the token sequence.
- `"balanced"` / `"fast"`: what we recommend: `FreqCaConfig()`'s defaults (the configuration with the best worst-case
  margin over diffusers' built-in caches on the tune half of the project's model zoo, docs/benchmarks.md: a first-order
  forecast of the model output along sigma, in the noise form for these flow-matching models; warm-up full steps 0 and
  3, the first full step half an interval later) with `N = 6` / `N = 9`. Measured on the zoo (`python -m
  benchmarks.zoo`, then `--summary`; 2-core CPU): at 50 and 28 steps the default leads every peer with at most one more
  step by at least 0.5 dB in 25 of 32 cells; worst case -0.28 dB on the tune half (a true-CFG Qwen-Image model, 28
  steps, N=9, against 6 plain steps) and -9.13 dB on the held-out half (a true-CFG FLUX-architecture model with a fixed
  sigma shift of 3, 28 steps, N=9, against 6 plain steps; it trails there at 28 steps and at 50 steps, N=9, too, and
  a second such model, measured later, trails at 28 steps, N=9 by 3.91 dB). At
  50 steps `"balanced"` runs the transformer on as many steps as
  `"paper"` (10), `"fast"` on one fewer than `"paper-fast"` (7 against 8). The zoo holds small trained models, not
  these checkpoints: each row says so. `diffusers-freqca calibrate` chooses a configuration for your own model from one
  full run of it.

Models without a preset are listed in `_REFUSED` and raise a `ValueError` that says why: step-distilled models that
run a handful of steps (nothing to gain), and models whose transformer FreqCa's hooks do not support yet.
"""

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .config import FreqCaConfig
from .schedule import full_steps


SETTINGS = ("balanced", "fast", "paper", "paper-fast")
PAPER_URL = "https://huggingface.co/papers/2510.08669"

# The authors' recipe: only `cache_interval` (also the first interval: an even schedule) and `decomposition` vary.
PAPER_RECIPE = MappingProxyType(
    {
        "disable_cache_before_step": 3,
        "warmup_stride": 1,
        "cutoff_ratio": 0.1,
        "low_freq_order": 0,
        "high_freq_order": 2,
        "predictor": "hermite",
        "hermite_scale": 0.71,
        "spacing": "step",
        "crf_form": "hidden_states",
    }
)


@dataclass(frozen=True)
class ModelInfo:
    r"""
    A model that has presets.

    Args:
        name (`str`): the preset name, e.g. `"flux.1-dev"`.
        title (`str`): the model's usual spelling, e.g. `"FLUX.1-dev"`.
        repo_id (`str`): the Hub repository of the reference checkpoint.
        pipeline (`str`): the diffusers pipeline class that runs it.
        transformer (`str`): its transformer class (the one FreqCa hooks into).
        decomposition (`str`): the band split of its presets (`"dct"` for the FLUX family, `"fft"` for Qwen-Image).
        num_inference_steps (`int`): the step count the presets are meant for (the paper's 50 for the models it
            evaluates, the pipeline's default otherwise).
        in_paper (`bool`): whether the paper evaluates this model.
        analogue (`str`, *optional*): for models the paper does not evaluate, the evaluated model whose values the
            presets borrow.
    """

    name: str
    title: str
    repo_id: str
    pipeline: str
    transformer: str
    decomposition: str
    num_inference_steps: int
    in_paper: bool
    analogue: str | None = None


_FLUX, _QWEN = "FluxTransformer2DModel", "QwenImageTransformer2DModel"

MODELS: dict[str, ModelInfo] = {
    info.name: info
    for info in (
        # name, title, repo id, pipeline, transformer, decomposition, steps, in the paper, borrows from
        ModelInfo("flux.1-dev", "FLUX.1-dev", "black-forest-labs/FLUX.1-dev", "FluxPipeline", _FLUX, "dct", 50, True),
        ModelInfo("flux.1-kontext-dev", "FLUX.1-Kontext-dev", "black-forest-labs/FLUX.1-Kontext-dev",
                  "FluxKontextPipeline", _FLUX, "dct", 50, True),
        ModelInfo("qwen-image", "Qwen-Image", "Qwen/Qwen-Image", "QwenImagePipeline", _QWEN, "fft", 50, True),
        ModelInfo("qwen-image-edit", "Qwen-Image-Edit", "Qwen/Qwen-Image-Edit", "QwenImageEditPipeline", _QWEN, "fft",
                  50, True),
        # Not in the paper: models with the same transformer classes as evaluated ones. Their presets borrow the values
        # of the related evaluated model; the step counts are the diffusers pipelines' defaults.
        ModelInfo("flux.1-krea-dev", "FLUX.1-Krea-dev", "black-forest-labs/FLUX.1-Krea-dev", "FluxPipeline", _FLUX,
                  "dct", 28, False, "flux.1-dev"),
        ModelInfo("qwen-image-edit-2509", "Qwen-Image-Edit-2509", "Qwen/Qwen-Image-Edit-2509",
                  "QwenImageEditPlusPipeline", _QWEN, "fft", 50, False, "qwen-image-edit"),
    )
}  # fmt: skip

# Models without a preset, with the reason shown to the user: refused by design, or not tuned yet.
_REFUSED: dict[str, str] = {
    "flux.1-schnell": (
        "FLUX.1-schnell is step-distilled to run in about 4 steps. FreqCa's 2 warm-up steps (3 in the paper's recipe) "
        "would leave one or two steps to forecast, and with so few, large steps the features change too much between steps for a forecast "
        "from earlier steps to be reliable: there is nothing to gain. Run it without a cache, or build a "
        "FreqCaConfig by hand if you want to experiment."
    ),
    "chroma": (
        "no preset yet: FreqCa supports ChromaTransformer2DModel (docs/supported_models.md), but no configuration was "
        "tuned or evaluated on Chroma. Use `FreqCaConfig()`, the defaults."
    ),
    "flux.2-dev": (
        "no preset yet: FreqCa supports Flux2Transformer2DModel (docs/supported_models.md), but no configuration was "
        "tuned or evaluated on FLUX.2. Use `FreqCaConfig()`, the defaults."
    ),
}
_REFUSED_REPO_IDS = {
    "black-forest-labs/flux.1-schnell": "flux.1-schnell",
    "lodestones/chroma1-hd": "chroma",
    "black-forest-labs/flux.2-dev": "flux.2-dev",
}

_PAPER_N6 = "paper: N=6 on {} at 50 steps"
_PAPER_N9 = "paper: N=9 on {} at 50 steps"
_DEFAULT_SOURCE = (
    "FreqCaConfig() defaults with N={}: best worst-case margin over diffusers' caches on the tune half of the "
    "project's model zoo (make benchmark, docs/benchmarks.md); not evaluated on {}"
)

# One row per (model, setting): the `FreqCaConfig` fields it sets and where the values come from.
_RECOMMENDED: dict[tuple[str, str], tuple[dict[str, Any], str]] = {
    (name, setting): ({"cache_interval": interval}, _DEFAULT_SOURCE.format(interval, info.title))
    for name, info in MODELS.items()
    for setting, interval in (("balanced", 6), ("fast", 9))
}


@dataclass(frozen=True)
class FreqCaPreset:
    r"""
    One row of the preset table.

    Args:
        model (`str`): the model's preset name.
        setting (`str`): one of `SETTINGS`.
        fields (`Mapping[str, Any]`): every `FreqCaConfig` field the preset sets.
        num_inference_steps (`int`): the step count the preset is meant for.
        source (`str`): where the values come from.

    Example:
        ```python
        >>> preset = get_preset("flux.1-dev", "fast")
        >>> preset.config.cache_interval, preset.transformer_evaluations
        (9, 7)
        ```
    """

    model: str
    setting: str
    fields: Mapping[str, Any] = field(repr=False)
    num_inference_steps: int
    source: str

    @property
    def config(self) -> FreqCaConfig:
        """A new `FreqCaConfig` with the preset's values."""
        return FreqCaConfig(**self.fields)

    @property
    def transformer_evaluations(self) -> int:
        """Full steps (transformer evaluations per denoising context) at `num_inference_steps`."""
        return len(full_steps(self.num_inference_steps, self.config))

    def to_row(self) -> dict[str, Any]:
        """The preset as a flat, JSON-serialisable dict (one row of `list_presets()`)."""
        evaluations = self.transformer_evaluations
        info = MODELS[self.model]
        return {
            "model": self.model,
            "setting": self.setting,
            "repo_id": info.repo_id,
            "pipeline": info.pipeline,
            "num_inference_steps": self.num_inference_steps,
            "transformer_evaluations": evaluations,
            "evaluation_speedup": round(self.num_inference_steps / evaluations, 4),
            "source": self.source,
            "config": self.config.to_dict(),
        }


def _build_presets() -> dict[tuple[str, str], FreqCaPreset]:
    presets = {}
    for name, info in MODELS.items():
        paper_name = info.title if info.in_paper else MODELS[info.analogue].title
        suffix = "" if info.in_paper else f"; the paper evaluates {paper_name}, not this model"
        paper_rows = {
            "paper": ({"cache_interval": 6}, _PAPER_N6.format(paper_name) + suffix),
            "paper-fast": ({"cache_interval": 9}, _PAPER_N9.format(paper_name) + suffix),
        }
        for setting in SETTINGS:
            if setting in paper_rows:
                overrides, source = paper_rows[setting]
                interval = overrides["cache_interval"]
                fields = {**PAPER_RECIPE, "decomposition": info.decomposition, "first_interval": interval, **overrides}
            else:
                fields, source = _RECOMMENDED[(name, setting)]
            presets[(name, setting)] = FreqCaPreset(
                name, setting, MappingProxyType(fields), info.num_inference_steps, source
            )
    return presets


_PRESETS = _build_presets()


def _resolve_model(model: Any) -> str:
    if not isinstance(model, str) or not model:
        raise ValueError(f"`model` must be a model name such as 'flux.1-dev', got {model!r}.")
    key = model.strip().lower()
    by_repo = {info.repo_id.lower(): name for name, info in MODELS.items()}
    key = by_repo.get(key, _REFUSED_REPO_IDS.get(key, key))
    if key in _REFUSED:
        raise ValueError(f"No FreqCa preset for {model!r}: {_REFUSED[key]}")
    if key not in MODELS:
        raise ValueError(
            f"Unknown model {model!r}; presets exist for {sorted(MODELS)} (or their Hub repo ids). Run "
            "`diffusers-freqca presets` to see them."
        )
    return key


def get_preset(model: str, setting: str = "balanced") -> FreqCaPreset:
    r"""
    The preset for a model and setting.

    Args:
        model (`str`): a preset name (`"flux.1-dev"`, `"flux.1-kontext-dev"`, `"qwen-image"`, ...), case-insensitive,
            or the model's Hub repo id (`"black-forest-labs/FLUX.1-dev"`).
        setting (`str`, *optional*, defaults to `"balanced"`): `"balanced"`, `"fast"`, `"paper"` or `"paper-fast"`.

    Returns:
        [`FreqCaPreset`]: the preset; `.config` is a new `FreqCaConfig`.

    Raises:
        `ValueError`: for an unknown model or setting (the message lists the known ones), and for models FreqCa should
        not be used with (the message says why).

    Example:
        ```python
        >>> get_preset("qwen-image", "paper").config.decomposition
        'fft'
        ```
    """
    name = _resolve_model(model)
    if setting not in SETTINGS:
        raise ValueError(f"Unknown setting {setting!r}; known settings are {list(SETTINGS)}.")
    return _PRESETS[(name, setting)]


def list_presets(model: str | None = None) -> list[dict[str, Any]]:
    r"""
    The preset table, one dict per (model, setting), in table order.

    Args:
        model (`str`, *optional*): only this model's presets.

    Returns:
        `list[dict]`: rows with `model`, `setting`, `repo_id`, `pipeline`, `num_inference_steps`,
        `transformer_evaluations` (full steps per denoising context at that step count), `evaluation_speedup`
        (`num_inference_steps / transformer_evaluations`), `source` and `config` (the `FreqCaConfig.to_dict()`).

    Example:
        ```python
        >>> [row["transformer_evaluations"] for row in list_presets("flux.1-dev")]
        [10, 7, 10, 8]
        ```
    """
    names = list(MODELS) if model is None else [_resolve_model(model)]
    return [_PRESETS[(name, setting)].to_row() for name in names for setting in SETTINGS]


def refused_models() -> dict[str, str]:
    r"""
    Models without a preset, mapped to the reason (refused by design, or no configuration tuned on them yet).

    Example:
        ```python
        >>> "flux.1-schnell" in refused_models()
        True
        ```
    """
    return dict(_REFUSED)


def _format_table(rows: list[dict[str, Any]]) -> str:
    header = ("model", "setting", "N", "split", "cached", "steps", "evaluations", "source")
    lines = [header]
    for row in rows:
        config = row["config"]
        lines.append(
            (
                row["model"],
                row["setting"],
                str(config["cache_interval"]),
                config["decomposition"],
                config["crf_form"] if config["forecast_target"] == "crf" else config["forecast_target"],
                str(row["num_inference_steps"]),
                f"{row['transformer_evaluations']} ({row['evaluation_speedup']:.2f}x fewer)",
                row["source"],
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line[:-1], widths)) + "  " + line[-1] for line in lines
    )


def main(argv: list[str] | None = None) -> int:
    r"""
    `diffusers-freqca presets`: prints the preset table, or one preset's config.

    Args:
        argv (`list[str]`, *optional*): the arguments; `None` reads `sys.argv[1:]`.

    Returns:
        `int`: the exit status.

    Example:
        ```bash
        diffusers-freqca presets
        diffusers-freqca presets --model flux.1-dev --setting fast --json
        ```
    """
    parser = argparse.ArgumentParser(
        prog="diffusers-freqca presets",
        description=(
            "Show the recommended FreqCa settings per model. 'N' is the cache interval (one full transformer "
            "evaluation every N steps after the warm-up: 2 steps, 3 in the paper's recipe), 'split' the frequency transform, 'cached' what is "
            "cached, 'evaluations' the transformer evaluations per denoising pass at the step count shown, and "
            "'source' where the values come from. Use a preset in Python with "
            "FreqCaConfig.from_preset(MODEL, SETTING)."
        ),
    )
    parser.add_argument("--model", help="only this model (a preset name or its Hub repo id)")
    parser.add_argument("--setting", choices=SETTINGS, help="only this setting")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    args = parser.parse_args(argv)
    try:
        rows = list_presets(args.model)
    except ValueError as error:
        print(f"diffusers-freqca presets: error: {error}", file=sys.stderr)
        return 2
    if args.setting is not None:
        rows = [row for row in rows if row["setting"] == args.setting]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(_format_table(rows))
        if args.model is None:
            print("\nNo preset:")
            for name, reason in _REFUSED.items():
                print(f"  {name}: {reason}")
        print(f"\nPaper: {PAPER_URL}. In Python: FreqCaConfig.from_preset('flux.1-dev', 'balanced').")
    return 0


if __name__ == "__main__":
    sys.exit(main())
