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
"""A FreqCa section for a model card: the recommended config, how to use it, and its measured effect.

The section sits between `SECTION_START` and `SECTION_END` (HTML comments, invisible on the Hub). Writing it again
replaces the old section and leaves the rest of the card untouched, so updating a card is idempotent. The card's
metadata gets the `diffusers-freqca` tag.

Measurements come from arguments or from a results JSON file with these keys (all optional):

```json
{
  "num_inference_steps": 50,
  "speedup": 3.9,
  "metrics": {"PSNR (dB)": 31.2, "LPIPS": 0.081},
  "measured_on": "1x H100 80GB, bfloat16, 1024x1024, diffusers 0.42.1",
  "command": "diffusers-freqca demo --model black-forest-labs/FLUX.1-dev --repeats 5",
  "baseline": "the same pipeline without FreqCa"
}
```

`speedup` is the end-to-end wall-clock ratio (uncached time / FreqCa time), `metrics` compare FreqCa's images with
the baseline's. Whenever a speed-up or a metric is given, `measured_on` is required: a number without where it was
measured is not quoted.
"""

import argparse
import json
import math
import os
import sys
from typing import Any

from huggingface_hub import CommitOperationAdd, HfApi, ModelCard, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from .config import FreqCaConfig
from .hub import (
    CONFIG_NAME,
    _check_bool,
    _check_optional_str,
    _check_repo_id,
    _check_subfolder,
    _path_in_repo,
    config_to_json_string,
    load_config,
)
from .presets import MODELS, PAPER_URL, get_preset
from .schedule import full_steps


SECTION_START = "<!-- diffusers-freqca:start -->"
SECTION_END = "<!-- diffusers-freqca:end -->"
CARD_TAG = "diffusers-freqca"
CARD_NAME = "README.md"
DEFAULT_CARD_COMMIT_MESSAGE = "Add FreqCa config and model card section"
RESULT_KEYS = ("num_inference_steps", "speedup", "metrics", "measured_on", "command", "baseline")


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def validate_results(results: dict[str, Any] | None) -> dict[str, Any]:
    r"""
    Checks a measurements dict (the results JSON format described in this module's docstring).

    Args:
        results (`dict`, *optional*): the measurements; `None` means none.

    Returns:
        `dict[str, Any]`: a copy with `metrics` as a dict (empty if absent).

    Raises:
        `ValueError`: for unknown keys, values of the wrong type, and numbers without `measured_on`.

    Example:
        ```python
        >>> validate_results({"speedup": 3.9, "measured_on": "1x H100"})["metrics"]
        {}
        ```
    """
    if results is None:
        results = {}
    if not isinstance(results, dict):
        raise ValueError(f"The results must be a JSON object / dict, got {type(results).__name__}.")
    unknown = sorted(set(results) - set(RESULT_KEYS))
    if unknown:
        raise ValueError(f"Unknown result key(s) {unknown}; known keys are {list(RESULT_KEYS)}.")
    checked = dict(results)
    steps = checked.get("num_inference_steps")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ValueError(f"`num_inference_steps` must be an int >= 1, got {steps!r}.")
    speedup = checked.get("speedup")
    if speedup is not None and (not _is_number(speedup) or speedup <= 0):
        raise ValueError(f"`speedup` must be a positive number, got {speedup!r}.")
    metrics = checked.get("metrics") or {}
    if not isinstance(metrics, dict):
        raise ValueError(f"`metrics` must map metric names to numbers, got {metrics!r}.")
    for name, value in metrics.items():
        if not isinstance(name, str) or not name or not _is_number(value):
            raise ValueError(f"`metrics` must map metric names to finite numbers, got {name!r}: {value!r}.")
    checked["metrics"] = dict(metrics)
    for key in ("measured_on", "command", "baseline"):
        value = checked.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"`{key}` must be a non-empty str, got {value!r}.")
    if (speedup is not None or metrics) and not checked.get("measured_on"):
        raise ValueError(
            "A speed-up or quality metric was given without `measured_on`; say where it was measured "
            "(e.g. '1x H100 80GB, bfloat16, 1024x1024')."
        )
    return checked


def load_results(path: str | os.PathLike) -> dict[str, Any]:
    r"""
    Reads and checks a results JSON file (format in this module's docstring).

    Args:
        path (`str` or `os.PathLike`): the file.

    Returns:
        `dict[str, Any]`: the checked results.

    Example:
        ```python
        >>> results = load_results("results.json")
        ```
    """
    with open(path, encoding="utf-8") as file:
        try:
            data = json.load(file)
        except json.JSONDecodeError as error:
            raise ValueError(f"{os.fspath(path)} is not valid JSON: {error}") from error
    try:
        return validate_results(data)
    except ValueError as error:
        raise ValueError(f"{os.fspath(path)}: {error}") from error


def _format_number(value: float) -> str:
    return f"{value:.4g}"


def _format_ratio(value: float) -> str:
    return f"{value:.2f}"


def card_section(
    config: FreqCaConfig,
    repo_id: str,
    model_id: str | None = None,
    num_inference_steps: int | None = None,
    results: dict[str, Any] | None = None,
    subfolder: str | None = None,
    example_code: str | None = None,
) -> str:
    r"""
    The Markdown of the FreqCa model-card section, markers included.

    Args:
        config (`FreqCaConfig`): the recommended config.
        repo_id (`str`): the Hub repository that holds (or will hold) `freqca_config.json`.
        model_id (`str`, *optional*): the pipeline repository used in the code example; defaults to `repo_id`.
        num_inference_steps (`int`, *optional*): the step count the numbers refer to; defaults to the results'
            `num_inference_steps`, else 50.
        results (`dict`, *optional*): measurements, see [`validate_results`].
        subfolder (`str`, *optional*): the folder of the repository that holds `freqca_config.json`.
        example_code (`str`, *optional*): the card's Python example. `None` loads `model_id` (else `repo_id`) with
            `DiffusionPipeline` and the config from `repo_id`, and generates from a text prompt; give your own for a
            pipeline that is not loaded that way (e.g. one that takes prompt embeddings). It must not contain a
            Markdown code fence or the section markers.

    Returns:
        `str`: the section, starting with `SECTION_START` and ending with `SECTION_END`.

    Raises:
        `ValueError`: for a config that is not a `FreqCaConfig`, an invalid repository id or subfolder, invalid
            results, a step count that is not an int `>= 1` or differs from the results', or an `example_code` that is
            empty, not a string or contains a code fence or a section marker.

    Example:
        ```python
        >>> section = card_section(FreqCaConfig.from_preset("flux.1-dev"), "black-forest-labs/FLUX.1-dev")
        >>> "10 of 50" in section
        True
        ```
    """
    if not isinstance(config, FreqCaConfig):
        raise ValueError(f"`config` must be a FreqCaConfig, got {type(config).__name__}.")
    _check_repo_id(repo_id)
    if model_id is not None:
        _check_repo_id(model_id)
    _check_subfolder(subfolder)
    results = validate_results(results)
    result_steps = results.get("num_inference_steps")
    if num_inference_steps is None:
        num_inference_steps = result_steps or 50
    if isinstance(num_inference_steps, bool) or not isinstance(num_inference_steps, int) or num_inference_steps < 1:
        raise ValueError(f"`num_inference_steps` must be an int >= 1, got {num_inference_steps!r}.")
    if result_steps is not None and result_steps != num_inference_steps:
        raise ValueError(
            f"`num_inference_steps` is {num_inference_steps} but the results were measured at {result_steps} steps."
        )

    if example_code is not None and (
        not isinstance(example_code, str)
        or not example_code.strip()
        or any(mark in example_code for mark in ("```", SECTION_START, SECTION_END))
    ):
        raise ValueError(
            "`example_code` must be a non-empty string of Python without a Markdown code fence or the card's section "
            f"markers, got {example_code!r}."
        )

    evaluations = len(full_steps(num_inference_steps, config))
    subfolder_argument = f', subfolder="{subfolder}"' if subfolder else ""
    if example_code is None:
        example_code = f"""import torch
from diffusers import DiffusionPipeline
from diffusers_freqca import FreqCaConfig  # importing diffusers_freqca lets `enable_cache` accept FreqCa configs

pipe = DiffusionPipeline.from_pretrained("{model_id or repo_id}", torch_dtype=torch.bfloat16).to("cuda")
pipe.transformer.enable_cache(FreqCaConfig.from_pretrained("{repo_id}"{subfolder_argument}))
image = pipe(prompt="A cat holding a sign that says hello world", num_inference_steps={num_inference_steps}).images[0]
pipe.transformer.disable_cache()  # back to full computation"""
    rows = [
        ("Denoising steps", str(num_inference_steps)),
        (
            "Transformer evaluations",
            f"{evaluations} of {num_inference_steps} per denoising pass "
            f"({_format_ratio(num_inference_steps / evaluations)}x fewer; from the schedule, not timed)",
        ),
    ]
    if results.get("speedup") is not None:
        rows.append(("End-to-end speed-up", f"{_format_ratio(results['speedup'])}x"))
    for name, value in results["metrics"].items():
        rows.append((name, _format_number(value)))
    if results.get("baseline"):
        rows.append(("Compared with", results["baseline"]))
    if results.get("measured_on"):
        rows.append(("Measured on", results["measured_on"]))
    if results.get("command"):
        rows.append(("Command", f"`{results['command']}`"))
    if results.get("speedup") is None and not results["metrics"]:
        rows.append(("Speed and quality", "not measured yet"))
    table = "\n".join(["| | |", "| --- | --- |", *(f"| {name} | {value} |" for name, value in rows)])

    return f"""{SECTION_START}
## Faster inference with FreqCa

This model can run with [FreqCa]({PAPER_URL}) (frequency-aware feature caching) through the `diffusers-freqca`
package: on most denoising steps no transformer block runs, and the transformer's output is forecast from the
steps that were computed. The recommended configuration is `{_path_in_repo(subfolder)}` in this repository:

```json
{config_to_json_string(config).rstrip()}
```

```python
{example_code.strip()}
```

{table}
{SECTION_END}"""


def merge_card_section(card_text: str | None, section: str) -> ModelCard:
    r"""
    Puts `section` into a model card: replaces an existing FreqCa section, or appends it, and tags the card.

    Args:
        card_text (`str`, *optional*): the current `README.md` (YAML metadata included); `None` starts a new card.
        section (`str`): the section, as [`card_section`] returns it.

    Returns:
        `huggingface_hub.ModelCard`: the updated card; merging the same section again gives the same card.

    Raises:
        `ValueError`: if the card holds a start marker without an end marker (or the reverse) or several sections.

    Example:
        ```python
        >>> card = merge_card_section("# My model\n", section)
        >>> card.text.startswith("# My model")
        True
        ```
    """
    if not isinstance(section, str) or not section.startswith(SECTION_START) or not section.endswith(SECTION_END):
        raise ValueError(f"`section` must start with {SECTION_START!r} and end with {SECTION_END!r}.")
    card_text = (card_text or "").removeprefix("\ufeff")
    if not card_text.startswith("---"):
        # An empty metadata block, so that `ModelCard` does not warn about a card without one.
        card_text = "---\n{}\n---\n" + card_text
    card = ModelCard(card_text)
    text = card.text
    starts, ends = text.count(SECTION_START), text.count(SECTION_END)
    if starts > 1 or ends > 1 or starts != ends:
        raise ValueError(
            f"The card holds {starts} {SECTION_START!r} and {ends} {SECTION_END!r} markers; expected one pair or "
            "none. Fix the card by hand before updating it."
        )
    if starts:
        begin, end = text.index(SECTION_START), text.index(SECTION_END) + len(SECTION_END)
        if begin > end:
            raise ValueError(f"The card's {SECTION_END!r} marker comes before its {SECTION_START!r} marker.")
        text = text[:begin] + section + text[end:]
    else:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + section + "\n"
    tags = list(card.data.tags or [])
    if CARD_TAG not in tags:
        card.data.tags = [*tags, CARD_TAG]
    # Re-parse so that the metadata block and the text are rendered the way `ModelCard` writes them.
    return ModelCard(f"---\n{card.data.to_yaml()}\n---\n{text}")


def write_model_card(
    save_directory: str | os.PathLike,
    config: FreqCaConfig,
    repo_id: str,
    model_id: str | None = None,
    num_inference_steps: int | None = None,
    results: dict[str, Any] | None = None,
    subfolder: str | None = None,
    example_code: str | None = None,
) -> str:
    r"""
    Writes (or updates) `README.md` and `freqca_config.json` in a local folder, e.g. a clone of the model repository.

    Args:
        save_directory (`str` or `os.PathLike`): the folder; created if needed. An existing `README.md` keeps
            everything outside the FreqCa section.
        config (`FreqCaConfig`): the recommended config.
        repo_id (`str`): the Hub repository the folder belongs to (used in the code example).
        model_id (`str`, *optional*): as in [`card_section`].
        num_inference_steps (`int`, *optional*): as in [`card_section`].
        results (`dict`, *optional*): as in [`card_section`].
        subfolder (`str`, *optional*): as in [`card_section`]. The config file is written to `subfolder`.
        example_code (`str`, *optional*): as in [`card_section`].

    Returns:
        `str`: the path of the card.

    Example:
        ```python
        >>> write_model_card("FLUX.1-dev-clone", FreqCaConfig.from_preset("flux.1-dev"), "black-forest-labs/FLUX.1-dev")
        'FLUX.1-dev-clone/README.md'
        ```
    """
    if not isinstance(save_directory, (str, os.PathLike)):
        raise ValueError(f"`save_directory` must be a path, got {save_directory!r}.")
    save_directory = os.fspath(save_directory)
    if os.path.isfile(save_directory):
        raise ValueError(f"`save_directory` must be a folder, but {save_directory!r} is a file.")
    section = card_section(config, repo_id, model_id, num_inference_steps, results, subfolder, example_code)
    card_path = os.path.join(save_directory, CARD_NAME)
    existing = None
    if os.path.isfile(card_path):
        with open(card_path, encoding="utf-8") as file:
            existing = file.read()
    card = merge_card_section(existing, section)
    os.makedirs(save_directory, exist_ok=True)
    config.save_pretrained(os.path.join(save_directory, subfolder) if subfolder else save_directory)
    card.save(card_path)
    return card_path


def push_model_card(
    repo_id: str,
    config: FreqCaConfig,
    model_id: str | None = None,
    num_inference_steps: int | None = None,
    results: dict[str, Any] | None = None,
    subfolder: str | None = None,
    token: str | None = None,
    private: bool | None = None,
    create_pr: bool = False,
    commit_message: str | None = None,
):
    r"""
    Adds the FreqCa section to a Hub repository's model card and uploads `freqca_config.json`, in one commit.

    The repository's current `README.md` is downloaded first, so the rest of the card is kept. The repository is
    created if it does not exist.

    Args:
        repo_id (`str`): the model repository.
        config (`FreqCaConfig`): the recommended config.
        model_id (`str`, *optional*): as in [`card_section`].
        num_inference_steps (`int`, *optional*): as in [`card_section`].
        results (`dict`, *optional*): as in [`card_section`].
        subfolder (`str`, *optional*): as in [`card_section`].
        token (`str`, *optional*): Hub token with write access; `None` uses the stored one.
        private (`bool`, *optional*): visibility if the repository is created.
        create_pr (`bool`, *optional*, defaults to `False`): open a pull request instead of committing to `main`.
        commit_message (`str`, *optional*): defaults to `"Add FreqCa config and model card section"`.

    Returns:
        `huggingface_hub.CommitInfo`: the commit.

    Example:
        ```python
        >>> push_model_card("my-user/my-flux-finetune", FreqCaConfig.from_preset("flux.1-dev"), create_pr=True)
        ```
    """
    _check_repo_id(repo_id)
    _check_optional_str("token", token)
    if private is not None:
        _check_bool("private", private)
    _check_bool("create_pr", create_pr)
    _check_optional_str("commit_message", commit_message)
    section = card_section(config, repo_id, model_id, num_inference_steps, results, subfolder)

    api = HfApi(token=token, library_name="diffusers-freqca")
    repo_id = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model").repo_id
    try:
        with open(hf_hub_download(repo_id, CARD_NAME, token=token), encoding="utf-8") as file:
            existing = file.read()
    # Not reaching the Hub must not read as "no card": the card would be overwritten with the section alone.
    except LocalEntryNotFoundError:
        raise
    # A new or empty repository has no card yet; everything else (auth, network) must surface.
    except (EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError):
        existing = None
    card = merge_card_section(existing, section)
    operations = [
        CommitOperationAdd(path_in_repo=CARD_NAME, path_or_fileobj=str(card).encode("utf-8")),
        CommitOperationAdd(
            path_in_repo=_path_in_repo(subfolder), path_or_fileobj=config_to_json_string(config).encode("utf-8")
        ),
    ]
    return api.create_commit(
        repo_id=repo_id,
        operations=operations,
        commit_message=commit_message or DEFAULT_CARD_COMMIT_MESSAGE,
        create_pr=create_pr,
        repo_type="model",
    )


def _parse_metric(text: str) -> tuple[str, float]:
    name, sep, value = text.rpartition("=")
    try:
        number = float(value)
    except ValueError:
        number = None
    if not sep or not name.strip() or number is None or not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER, e.g. 'PSNR (dB)=31.2', got {text!r}")
    return name.strip(), number


def _preview_repo_id(args: argparse.Namespace) -> str | None:
    if args.preset:
        try:
            return MODELS[get_preset(args.preset, args.setting).model].repo_id
        except ValueError:
            return None  # an unknown or refused model: reported with its reason below
    if args.config and not os.path.exists(args.config):
        try:
            _check_repo_id(args.config)
        except ValueError:
            return None
        return args.config
    return None


def build_parser() -> argparse.ArgumentParser:
    r"""
    The argument parser of `diffusers-freqca card`.

    Returns:
        `argparse.ArgumentParser`: the parser.

    Example:
        ```python
        >>> build_parser().parse_args(["--print", "--preset", "flux.1-dev"]).print_only
        True
        ```
    """
    parser = argparse.ArgumentParser(
        prog="diffusers-freqca card",
        description=(
            "Write the FreqCa section of a model card: the recommended config as JSON, the code to use it, the "
            "transformer evaluations it saves and, when you give them, measured speed-up and quality numbers with "
            "where they were measured. The section goes into DIRECTORY/README.md (an existing card keeps "
            "everything outside the section; running again replaces it) next to DIRECTORY/" + CONFIG_NAME + ", "
            "and/or, with --push, into the card of a Hub repository in one commit."
        ),
        epilog=(
            "Example: diffusers-freqca card ./my-model --repo-id my-user/my-model --preset flux.1-dev "
            "--results results.json"
        ),
    )
    parser.add_argument("directory", nargs="?", help="local folder to write README.md and the config file into")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", metavar="MODEL", help="use the preset of MODEL (see `diffusers-freqca presets`)")
    source.add_argument("--config", metavar="PATH_OR_REPO", help="use a saved config: folder, JSON file or repo id")
    parser.add_argument("--setting", default="balanced", help="preset setting (default: balanced)")
    parser.add_argument(
        "--repo-id",
        help="the Hub repository the card is for (defaults to the --push repository; with --print, to the --preset "
        "model's or the --config repository)",
    )
    parser.add_argument("--model-id", help="pipeline repository in the code example (defaults to the repo id)")
    parser.add_argument("--subfolder", help="folder of the repository that holds the config file")
    parser.add_argument("--steps", type=int, help="denoising steps the numbers refer to (default: preset's, or 50)")
    parser.add_argument("--results", metavar="FILE", help="results JSON file (format: see the module docstring)")
    parser.add_argument("--speedup", type=float, help="measured end-to-end speed-up (uncached time / FreqCa time)")
    parser.add_argument(
        "--metric", type=_parse_metric, action="append", default=[], metavar="NAME=VALUE", help="quality metric"
    )
    parser.add_argument("--measured-on", help="where the numbers were measured, e.g. '1x H100 80GB, bf16, 1024px'")
    parser.add_argument("--command", dest="measure_command", metavar="COMMAND", help="command that measured them")
    parser.add_argument("--baseline", help="what the numbers compare against (default: not stated)")
    parser.add_argument("--print", action="store_true", dest="print_only", help="print the section and write nothing")
    parser.add_argument("--push", metavar="REPO_ID", help="also add the section and config to this Hub repository")
    parser.add_argument("--token", help="Hub token for --push (default: the stored one)")
    parser.add_argument("--private", action="store_true", default=None, help="create the --push repository private")
    parser.add_argument("--create-pr", action="store_true", help="with --push, open a pull request")
    parser.add_argument("--commit-message", help="with --push, the commit message")
    return parser


def main(argv: list[str] | None = None) -> int:
    r"""
    `diffusers-freqca card`: writes the FreqCa model-card section locally and/or to a Hub repository.

    Args:
        argv (`list[str]`, *optional*): the arguments; `None` reads `sys.argv[1:]`.

    Returns:
        `int`: the exit status (2 for bad arguments).

    Example:
        ```bash
        diffusers-freqca card ./FLUX.1-dev --repo-id black-forest-labs/FLUX.1-dev --preset flux.1-dev \
            --speedup 3.9 --metric "PSNR (dB)=31.2" --measured-on "1x H100 80GB, bf16, 1024x1024"
        ```
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    repo_id = args.repo_id or args.push
    if repo_id is None and args.print_only:
        # A preview needs a repository only for its code example: the preset's model, or the repository read from.
        repo_id = _preview_repo_id(args)
        if repo_id is not None:
            print(f"(the code example uses {repo_id}; give --repo-id for your repository)", file=sys.stderr)
    if repo_id is None:
        parser.error("give the repository the card is for with --repo-id (or --push)")
    if args.push and args.repo_id and args.push != args.repo_id:
        parser.error(f"--repo-id {args.repo_id!r} and --push {args.push!r} differ; the card is for one repository")
    if not (args.directory or args.push or args.print_only):
        parser.error("say where the section goes: a DIRECTORY, --push REPO_ID, or --print")
    if args.print_only and (args.directory or args.push):
        parser.error("--print writes nothing; leave out DIRECTORY and --push")
    try:
        if args.preset:
            preset = get_preset(args.preset, args.setting)
            config, default_steps = preset.config, preset.num_inference_steps
        else:
            config, default_steps = load_config(args.config), None
        results = load_results(args.results) if args.results else {}
        overrides = {
            "speedup": args.speedup,
            "measured_on": args.measured_on,
            "command": args.measure_command,
            "baseline": args.baseline,
        }
        results.update({key: value for key, value in overrides.items() if value is not None})
        if args.metric:
            results["metrics"] = {**results.get("metrics", {}), **dict(args.metric)}
        steps = args.steps or results.get("num_inference_steps") or default_steps
        kwargs = {
            "model_id": args.model_id,
            "num_inference_steps": steps,
            "results": results,
            "subfolder": args.subfolder,
        }
        if args.print_only:
            print(card_section(config, repo_id, **kwargs))
            return 0
        if args.directory:
            path = write_model_card(args.directory, config, repo_id, **kwargs)
            print(f"Wrote {path} and {os.path.join(args.directory, _path_in_repo(args.subfolder))}")
        if args.push:
            commit = push_model_card(
                args.push,
                config,
                token=args.token,
                private=args.private,
                create_pr=args.create_pr,
                commit_message=args.commit_message,
                **kwargs,
            )
            print(f"Pushed to {args.push}: {commit.pr_url or commit.commit_url}")
    except (ValueError, OSError) as error:
        print(f"diffusers-freqca card: error: {error}", file=sys.stderr)
        return 2 if isinstance(error, ValueError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
