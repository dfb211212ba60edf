# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The `diffusers-freqca` command and its `presets` and `card` subcommands, and the model-card functions."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
from parameterized import parameterized
from test_hub import running_fake_hub

from diffusers_freqca import FreqCaConfig, full_steps
from diffusers_freqca.card import (
    SECTION_END,
    SECTION_START,
    card_section,
    merge_card_section,
    validate_results,
    write_model_card,
)
from diffusers_freqca.cli import SUBCOMMANDS, main, run_subcommand
from diffusers_freqca.hub import CONFIG_NAME
from diffusers_freqca.presets import MODELS, SETTINGS


def run_cli(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# ---------------------------------------------------------------------------------------------------- the dispatcher


def test_help_explains_every_subcommand(capsys):
    status, out, _ = run_cli(["--help"], capsys)
    assert status == 0
    assert "usage: diffusers-freqca" in out and "faster" in out
    for command in SUBCOMMANDS.values():
        assert f"  {command.name}  " in out
        # The summary is there, word for word (line breaks aside).
        assert " ".join(command.summary.split()) in " ".join(out.split())


def test_no_arguments_prints_help_and_fails(capsys):
    status, _, err = run_cli([], capsys)
    assert status == 2 and "commands:" in err


def test_version(capsys):
    import diffusers_freqca

    status, out, _ = run_cli(["--version"], capsys)
    assert status == 0 and out.strip() == f"diffusers-freqca {diffusers_freqca.__version__}"


def test_unknown_subcommand(capsys):
    status, out, err = run_cli(["presest", "--json"], capsys)
    assert status == 2 and out == ""
    assert "unknown command 'presest'" in err and "Did you mean 'presets'?" in err
    for name in SUBCOMMANDS:
        assert name in err


def test_unknown_top_level_option(capsys):
    status, _, err = run_cli(["--verbose", "presets"], capsys)
    assert status == 2 and "--verbose" in err


EXISTING = [name for name, command in SUBCOMMANDS.items() if importlib.util.find_spec(command.module)]


# pytest.mark.parametrize rather than parameterized: the test needs the capsys fixture.
@pytest.mark.parametrize("name", EXISTING)
def test_subcommand_help(name, capsys):
    # Forwarded to the module's own parser: `--help` exits 0 with a usage line that names the full command.
    status, out, _ = run_cli([name, "--help"], capsys)
    assert status == 0
    assert f"usage: diffusers-freqca {name}" in out


def test_entry_point_in_a_fresh_interpreter():
    # The way a user runs it: the module's `__main__` path turns `main`'s status into the process exit code.
    command = [sys.executable, "-m", "diffusers_freqca.cli", "presets", "--json", "--model", "flux.1-dev"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert [row["setting"] for row in json.loads(result.stdout)] == list(SETTINGS)
    result = subprocess.run([sys.executable, "-m", "diffusers_freqca.cli", "nope"], capture_output=True, text=True)
    assert result.returncode == 2 and "unknown command 'nope'" in result.stderr


def test_missing_subcommand_module_is_a_clear_error(capsys):
    status = run_subcommand("future", "diffusers_freqca._no_such_module", ["--help"])
    err = capsys.readouterr().err
    assert status == 1
    assert "diffusers-freqca future: this command is not available" in err
    assert "diffusers_freqca._no_such_module" in err


def test_missing_dependency_is_named(tmp_path, monkeypatch, capsys):
    (tmp_path / "freqca_cli_needs_dep.py").write_text(
        "import freqca_package_that_is_not_installed\n\ndef main(argv):\n    return 0\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    status = run_subcommand("needs-dep", "freqca_cli_needs_dep", [])
    err = capsys.readouterr().err
    assert status == 1 and "needs the Python package 'freqca_package_that_is_not_installed'" in err


def test_forwarding_arguments_and_exit_codes(tmp_path, monkeypatch, capsys):
    (tmp_path / "freqca_cli_echo.py").write_text(
        "import sys\n\n"
        "def main(argv):\n"
        "    print(repr(argv))\n"
        "    if argv and argv[0] == 'exit':\n"
        "        sys.exit(int(argv[1]))\n"
        "    if argv and argv[0] == 'none':\n"
        "        return None\n"
        "    return len(argv)\n"
    )
    (tmp_path / "freqca_cli_no_main.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert run_subcommand("echo", "freqca_cli_echo", ["a", "--b", "c"]) == 3
    assert capsys.readouterr().out.strip() == "['a', '--b', 'c']"
    assert run_subcommand("echo", "freqca_cli_echo", ["exit", "4"]) == 4
    assert run_subcommand("echo", "freqca_cli_echo", ["none"]) == 0
    capsys.readouterr()
    assert run_subcommand("nomain", "freqca_cli_no_main", []) == 1
    assert "has no `main(argv)`" in capsys.readouterr().err


def test_every_subcommand_works_from_the_installed_package():
    # Development tools (benchmarks, training) are run from a clone, not through the installed command.
    assert list(SUBCOMMANDS) == ["demo", "analyze", "calibrate", "card", "presets"]
    for command in SUBCOMMANDS.values():
        assert command.module.startswith("diffusers_freqca.")
        assert importlib.util.find_spec(command.module) is not None


def test_console_script_is_declared():
    setup_cfg = os.path.join(os.path.dirname(__file__), os.pardir, "setup.cfg")
    with open(setup_cfg, encoding="utf-8") as file:
        assert "diffusers-freqca = diffusers_freqca.cli:main" in file.read()


# ------------------------------------------------------------------------------------------------------------ presets


def test_presets_table(capsys):
    status, out, _ = run_cli(["presets"], capsys)
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split()[:7] == ["model", "setting", "N", "split", "cached", "steps", "evaluations"]
    flux_fast = next(line for line in lines if line.split()[:2] == ["flux.1-dev", "fast"])
    # FreqCaConfig(cache_interval=9): no band split, the model output cached; full steps 0, 1 (warm-up), then
    # 1 + ceil(9 / 2) = 6, 15, 24, 33, 42 of 50.
    assert flux_fast.split()[2:7] == ["9", "none", "model_output", "50", "7"]
    assert "(7.14x fewer)" in flux_fast
    flux_paper = next(line for line in lines if line.split()[:2] == ["flux.1-dev", "paper"])
    # The authors' recipe: DCT split, full steps 0, 1, 2, 8, 14, ..., 44 of 50.
    assert flux_paper.split()[2:7] == ["6", "dct", "hidden_states", "50", "10"]
    assert len([line for line in lines if line.split()[:1] and line.split()[0] in MODELS]) == len(MODELS) * 4
    assert "flux.1-schnell" in out  # the refused model is explained


def test_presets_json(capsys):
    status, out, _ = run_cli(["presets", "--json", "--model", "qwen-image", "--setting", "fast"], capsys)
    assert status == 0
    (row,) = json.loads(out)
    assert row["model"] == "qwen-image" and row["setting"] == "fast"
    assert FreqCaConfig.from_dict(row["config"]) == FreqCaConfig.from_preset("qwen-image", "fast")
    assert row["transformer_evaluations"] == len(full_steps(50, FreqCaConfig(cache_interval=9)))


def test_presets_errors(capsys):
    status, _, err = run_cli(["presets", "--model", "flux.1-schnell"], capsys)
    assert status == 2 and "step-distilled" in err


def test_presets_bad_setting_returns_2(capsys):
    # `main` turns the module's argparse exit into a status, so the entry point never raises.
    assert main(["presets", "--setting", "turbo"]) == 2
    assert "invalid choice: 'turbo'" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------- model cards


def test_card_section_content():
    config = FreqCaConfig.from_preset("flux.1-dev", "balanced")
    results = {
        "speedup": 3.91,
        "metrics": {"PSNR (dB)": 31.234, "LPIPS": 0.0812},
        "measured_on": "1x H100 80GB, bf16",
        "command": "diffusers-freqca benchmark speed",
        "num_inference_steps": 50,
    }
    section = card_section(config, "me/model", model_id="black-forest-labs/FLUX.1-dev", results=results)
    assert section.startswith(SECTION_START) and section.endswith(SECTION_END)
    # The config as JSON, exactly the file's content.
    json_block = section.split("```json\n", 1)[1].split("```", 1)[0]
    assert (
        FreqCaConfig.from_dict(
            {k: v for k, v in json.loads(json_block).items() if not k.startswith("_") and k != "format_version"}
        )
        == config
    )
    assert 'DiffusionPipeline.from_pretrained("black-forest-labs/FLUX.1-dev"' in section
    assert 'FreqCaConfig.from_pretrained("me/model")' in section
    # The balanced preset at 50 steps: full steps 0, 1, 4, 10, 16, 22, 28, 34, 40, 46.
    assert "| Transformer evaluations | 10 of 50 per denoising pass (5.00x fewer" in section
    assert "| End-to-end speed-up | 3.91x |" in section
    assert "| PSNR (dB) | 31.23 |" in section and "| LPIPS | 0.0812 |" in section
    assert "| Measured on | 1x H100 80GB, bf16 |" in section
    assert "| Command | `diffusers-freqca benchmark speed` |" in section


def test_card_section_without_measurements_says_so():
    section = card_section(FreqCaConfig(cache_interval=9), "me/model", num_inference_steps=28)
    # N=9 at 28 steps: full steps 0, 3, 8, 17, 26.
    assert "| Transformer evaluations | 5 of 28 per denoising pass (5.60x fewer" in section
    assert "| Speed and quality | not measured yet |" in section
    assert "Measured on" not in section


@parameterized.expand(
    [
        ("unknown_key", {"speed_up": 2.0}, "speed_up"),
        ("speedup_without_where", {"speedup": 2.0}, "measured_on"),
        ("metric_without_where", {"metrics": {"PSNR": 30.0}}, "measured_on"),
        ("negative_speedup", {"speedup": -1.0, "measured_on": "x"}, "speedup"),
        ("speedup_as_str", {"speedup": "2x", "measured_on": "x"}, "speedup"),
        ("metric_not_number", {"metrics": {"PSNR": "high"}, "measured_on": "x"}, "PSNR"),
        ("nan_metric", {"metrics": {"PSNR": float("nan")}, "measured_on": "x"}, "PSNR"),
        ("steps", {"num_inference_steps": 0}, "num_inference_steps"),
        ("empty_where", {"measured_on": " "}, "measured_on"),
    ]
)
def test_results_validation(_, results, pattern):
    with pytest.raises(ValueError, match=pattern):
        validate_results(results)


def test_card_section_shows_a_given_example_in_place_of_the_default_one():
    code = 'pipe = load_my_pipeline()\npipe.transformer.enable_cache(FreqCaConfig.from_pretrained("me/model"))'
    section = card_section(FreqCaConfig(), "me/model", example_code=code + "\n")
    assert f"```python\n{code}\n```" in section
    assert "DiffusionPipeline" not in section


@parameterized.expand(
    [
        ("empty", "  \n"),
        ("not_str", b"pipe()"),
        ("fence", "x = 1\n```\ny = 2"),
        ("start_marker", "x = 1  # <!-- diffusers-freqca:start -->"),
        ("end_marker", "x = 1  # <!-- diffusers-freqca:end -->"),
    ]
)
def test_card_section_refuses_a_bad_example(_, code):
    with pytest.raises(ValueError, match="example_code"):
        card_section(FreqCaConfig(), "me/model", example_code=code)


def test_results_steps_must_agree():
    with pytest.raises(ValueError, match="measured at 28 steps"):
        card_section(FreqCaConfig(), "me/model", num_inference_steps=50, results={"num_inference_steps": 28})


EXISTING_CARD = """---
license: apache-2.0
tags:
- text-to-image
---
# My model

Some text the owner wrote.
"""


def test_merge_keeps_the_card_and_is_idempotent():
    section = card_section(FreqCaConfig(), "me/model")
    merged = merge_card_section(EXISTING_CARD, section)
    assert merged.data.license == "apache-2.0"
    assert merged.data.tags == ["text-to-image", "diffusers-freqca"]
    assert merged.text.startswith("# My model\n\nSome text the owner wrote.\n\n" + SECTION_START)
    assert str(merge_card_section(str(merged), section)) == str(merged)
    # A new section replaces the old one in place; the text after it stays.
    with_footer = str(merged) + "\n## License\n\nApache.\n"
    updated = merge_card_section(with_footer, card_section(FreqCaConfig(cache_interval=9), "me/model"))
    assert updated.text.count(SECTION_START) == 1 and '"cache_interval": 9' in updated.text
    assert updated.text.endswith("## License\n\nApache.\n")
    assert updated.text.startswith("# My model")


def test_merge_into_a_new_or_bare_card():
    section = card_section(FreqCaConfig(), "me/model")
    new = merge_card_section(None, section)
    assert new.data.tags == ["diffusers-freqca"] and new.text == section + "\n"
    bare = merge_card_section("# Title only\n", section)
    assert bare.text == "# Title only\n\n" + section + "\n"


@parameterized.expand(
    [
        ("start_only", f"# x\n{SECTION_START}\n"),
        ("end_only", f"# x\n{SECTION_END}\n"),
        ("reversed", f"# x\n{SECTION_END}\n{SECTION_START}\n"),
        ("two_sections", f"{SECTION_START}\n{SECTION_END}\n{SECTION_START}\n{SECTION_END}\n"),
    ]
)
def test_merge_refuses_broken_markers(_, card):
    with pytest.raises(ValueError, match="marker"):
        merge_card_section(card, card_section(FreqCaConfig(), "me/model"))


def test_write_model_card_folder(tmp_path):
    (tmp_path / "README.md").write_text(EXISTING_CARD, encoding="utf-8")
    config = FreqCaConfig.from_preset("qwen-image", "fast")
    path = write_model_card(tmp_path, config, "me/model", subfolder="freqca")
    first = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert path == os.path.join(tmp_path, "README.md")
    assert "Some text the owner wrote." in first and 'subfolder="freqca"' in first
    assert FreqCaConfig.from_pretrained(tmp_path, subfolder="freqca") == config
    write_model_card(tmp_path, config, "me/model", subfolder="freqca")
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == first


def test_card_command_writes_and_is_idempotent(tmp_path, capsys):
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"speedup": 4.2, "measured_on": "2-core CPU", "metrics": {"PSNR (dB)": 28.5}}))
    argv = [
        "card",
        str(tmp_path / "repo"),
        "--repo-id",
        "me/model",
        "--preset",
        "flux.1-dev",
        "--setting",
        "fast",
        "--results",
        str(results),
        "--metric",
        "LPIPS=0.1",
        "--command",
        "diffusers-freqca benchmark speed",
    ]
    status, out, err = run_cli(argv, capsys)
    assert status == 0, err
    card = (tmp_path / "repo" / "README.md").read_text(encoding="utf-8")
    # The fast preset at 50 steps: full steps 0, 1, 6, 15, 24, 33, 42.
    assert "| Transformer evaluations | 7 of 50 per denoising pass (7.14x fewer" in card
    assert "| End-to-end speed-up | 4.20x |" in card
    assert "| PSNR (dB) | 28.5 |" in card and "| LPIPS | 0.1 |" in card
    assert "| Measured on | 2-core CPU |" in card
    assert FreqCaConfig.from_pretrained(tmp_path / "repo") == FreqCaConfig.from_preset("flux.1-dev", "fast")
    assert run_cli(argv, capsys)[0] == 0
    assert (tmp_path / "repo" / "README.md").read_text(encoding="utf-8") == card


def test_card_command_from_a_saved_config_and_print(tmp_path, capsys):
    FreqCaConfig(cache_interval=4).save_pretrained(tmp_path)
    status, out, _ = run_cli(
        ["card", "--print", "--repo-id", "me/m", "--config", str(tmp_path), "--steps", "20"], capsys
    )
    assert status == 0 and out.startswith(SECTION_START)
    assert f"| Transformer evaluations | {len(full_steps(20, FreqCaConfig(cache_interval=4)))} of 20" in out
    assert os.listdir(tmp_path) == [CONFIG_NAME]  # --print writes nothing


def test_card_print_without_a_repo_id_uses_the_presets_model(capsys):
    status, out, err = run_cli(["card", "--print", "--preset", "flux.1-dev", "--setting", "fast"], capsys)
    assert status == 0 and out.startswith(SECTION_START)
    assert 'FreqCaConfig.from_pretrained("black-forest-labs/FLUX.1-dev")' in out
    assert "give --repo-id" in err


@parameterized.expand(
    [
        ("no_repo", ["out", "--preset", "flux.1-dev"], "--repo-id"),
        ("no_repo_to_preview", ["--print", "--config", "./no-such-folder/"], "--repo-id"),
        ("no_target", ["--repo-id", "me/m", "--preset", "flux.1-dev"], "DIRECTORY"),
        ("no_config", ["out", "--repo-id", "me/m"], "--preset"),
        (
            "speedup_without_where",
            ["--print", "--repo-id", "me/m", "--preset", "flux.1-dev", "--speedup", "2"],
            "measured_on",
        ),
        ("bad_metric", ["--print", "--repo-id", "me/m", "--preset", "flux.1-dev", "--metric", "PSNR"], "NAME=NUMBER"),
        ("refused_model", ["--print", "--repo-id", "me/m", "--preset", "flux.1-schnell"], "step-distilled"),
        ("different_repos", ["--repo-id", "me/a", "--push", "me/b", "--preset", "flux.1-dev"], "differ"),
    ]
)
def test_card_command_errors(_, argv, pattern):
    # Bad arguments exit with status 2 and say what is wrong; nothing is written.
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(["card", *argv])
    assert status == 2
    assert pattern in err.getvalue()
    assert not os.path.exists("out")


def test_card_push_to_fake_hub_keeps_the_remote_card(tmp_path, monkeypatch, capsys):
    with running_fake_hub(monkeypatch, tmp_path / "cache") as hub:
        hub.repos["me/model"] = {
            "files": {"README.md": EXISTING_CARD.encode()},
            "commit": "c" * 40,
            "visibility": None,
        }
        argv = ["card", "--push", "me/model", "--preset", "flux.1-krea-dev", "--setting", "balanced"]
        status, out, err = run_cli(argv, capsys)
        assert status == 0, err
        files = hub.repos["me/model"]["files"]
        card = files["README.md"].decode()
        assert card.startswith("---\nlicense: apache-2.0\n") and "Some text the owner wrote." in card
        # The balanced preset at FLUX.1-Krea-dev's 28 steps: full steps 0, 1, 4, 10, 16, 22.
        assert "| Transformer evaluations | 6 of 28 per denoising pass (4.67x fewer" in card
        assert json.loads(files[CONFIG_NAME])["cache_interval"] == 6
        assert hub.repos["me/model"]["summary"] == "Add FreqCa config and model card section"
        # Pushing again changes nothing in the card.
        assert run_cli(argv, capsys)[0] == 0
        assert hub.repos["me/model"]["files"]["README.md"].decode() == card
        # A pull request leaves main untouched.
        assert run_cli([*argv[:-1], "fast", "--create-pr"], capsys)[0] == 0
        assert json.loads(hub.repos["me/model"]["files"][CONFIG_NAME])["cache_interval"] == 6
        assert json.loads(hub.pull_requests[-1]["files"][CONFIG_NAME])["cache_interval"] == 9


def test_card_push_to_a_new_repo(tmp_path, monkeypatch, capsys):
    with running_fake_hub(monkeypatch, tmp_path / "cache") as hub:
        status, _, err = run_cli(["card", "--push", "me/new", "--preset", "qwen-image", "--private"], capsys)
        assert status == 0, err
        assert hub.repos["me/new"]["visibility"] == "private"
        card = hub.repos["me/new"]["files"]["README.md"].decode()
        assert card.startswith("---\ntags:\n- diffusers-freqca\n---\n" + SECTION_START)


def test_every_setting_has_a_card():
    for model in MODELS:
        for setting in SETTINGS:
            section = card_section(FreqCaConfig.from_preset(model, setting), "me/model")
            assert section.count(SECTION_START) == 1
