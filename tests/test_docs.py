# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The docs and the README say what the code does: the schedules they print, the config file they show, and the
commands, modules, scripts and make targets they name exist."""

import importlib.util
import json
import re
from pathlib import Path

import pytest

from diffusers_freqca import FreqCaConfig, full_steps
from diffusers_freqca.cli import SUBCOMMANDS
from diffusers_freqca.hub import config_to_json_dict


REPO_ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((REPO_ROOT / "docs").rglob("*.md")) + [REPO_ROOT / "README.md"]


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _all_text() -> str:
    return "\n".join(_text(page) for page in PAGES)


def test_printed_schedules_are_the_codes():
    # Lines such as `print(full_steps(50, FreqCaConfig(cache_interval=6)))  # [0, 1, 2, 8, ...]`.
    pattern = re.compile(r"print\(full_steps\((\d+), (FreqCaConfig[^#]*)\)\)\s*#\s*(\[[\d, ]+\])")
    found = 0
    for page in PAGES:
        for steps, expression, printed in pattern.findall(_text(page)):
            config = eval(expression, {"FreqCaConfig": FreqCaConfig})  # noqa: S307 - our own docs
            assert full_steps(int(steps), config) == json.loads(printed), f"{page.name}: {expression}"
            found += 1
    assert found >= 4


def test_quickstart_stats_show_the_presets_schedule():
    text = _text(REPO_ROOT / "docs" / "quickstart.md")
    expected = full_steps(50, FreqCaConfig.from_preset("flux.1-dev", "balanced"))
    # As `print(get_freqca_stats(...))` writes it.
    assert f"{len(expected)} computed + {50 - len(expected)} predicted steps" in text
    assert f"cond: {len(expected)} computed + {50 - len(expected)} predicted, full steps {expected}" in text


def test_the_hub_tutorials_config_file_is_what_save_pretrained_writes():
    text = _text(REPO_ROOT / "docs" / "tutorials" / "hub_configs.md")
    shown = json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))
    written = config_to_json_dict(FreqCaConfig.from_preset("flux.1-dev", "fast"))
    assert shown == written


def test_every_diffusers_freqca_command_exists():
    # Notes on how a result was produced before the benchmarks left the package ("The command was then `...`") name
    # commands that no longer exist, on purpose.
    text = re.sub(r"was then `[^`]*`", "", _all_text())
    named = set(re.findall(r"diffusers-freqca ([a-z][a-z-]+)", text))
    # Words that follow the package's name in prose rather than a command.
    named -= {"package", "section", "start", "end", "tag"}
    assert named and named <= set(SUBCOMMANDS), named - set(SUBCOMMANDS)


@pytest.mark.parametrize("package", ["benchmarks", "tools"])
def test_every_development_module_named_exists(package):
    named = set(re.findall(rf"python -m {package}\.([a-z_]+)", _all_text()))
    assert named
    for module in named:
        assert importlib.util.find_spec(f"{package}.{module}") is not None, module


def test_every_example_script_named_exists():
    named = set(re.findall(r"examples/([a-z_]+\.py)", _all_text()))
    assert named and all((REPO_ROOT / "examples" / name).is_file() for name in named), named


def test_every_make_target_named_exists():
    targets = set(re.findall(r"^([a-z-]+):", _text(REPO_ROOT / "Makefile"), re.M))
    named = set(re.findall(r"`make ([a-z-]+)", _all_text()))
    assert named and named <= targets, named - targets
