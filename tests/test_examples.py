# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""Every tutorial example runs as written, in tiny mode (the project's trained checkpoint, or tiny random Qwen-Image
components), offline on the CPU: so that the examples the docs point to never rot."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from parameterized import parameterized


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TUTORIAL_EXAMPLES = [
    "flux_text_to_image.py",
    "flux_kontext_edit.py",
    "qwen_image.py",
    "qwen_image_edit.py",
    "hub_config.py",
    "choose_interval_cutoff.py",
    "offloading_multi_gpu.py",
    "context_parallel.py",  # its torchrun runs are in test_context_parallel.py
]


def _run(script: str, *args: str, env_tiny: bool = False, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    if env_tiny:
        env["DIFFUSERS_FREQCA_TINY"] = "1"
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def test_every_example_is_tested():
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
    assert scripts == sorted(TUTORIAL_EXAMPLES)


@parameterized.expand([(name,) for name in TUTORIAL_EXAMPLES])
def test_help(script):
    result = _run(script, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and "--tiny" in result.stdout


@parameterized.expand(
    [
        ("flux_text_to_image.py", ["--steps", "8", "--interval", "3"]),
        ("flux_kontext_edit.py", ["--steps", "8", "--interval", "3"]),
        ("qwen_image.py", ["--steps", "8", "--interval", "3"]),
        ("qwen_image_edit.py", ["--steps", "8", "--interval", "3"]),
    ]
)
def test_text_to_image_and_edit_examples_run_tiny(script, args):
    with tempfile.TemporaryDirectory() as directory:
        with_flag = _run(script, "--tiny", *args, "--repeats", "1", "--output", str(Path(directory) / "out.png"))
        assert (Path(directory) / "out.png").is_file()
    assert with_flag.returncode == 0, with_flag.stderr[-3000:]
    out = with_flag.stdout
    # 8 steps, N=3: warm-up 0, 3, then 3 + ceil(3 / 2) = 5 (the next, 8, is past the end) -> 3 computed, 5 predicted; the
    # measured speed-up is printed next to the ideal one (8 / 4 evaluations per cache context).
    assert "x measured, 2.67x ideal" in out and "PSNR" in out, out
    assert "3 computed + 5 predicted steps, full steps [0, 3, 5]" in out, out


def test_environment_variable_selects_tiny_mode(tmp_path):
    result = _run("flux_text_to_image.py", "--steps", "6", "--interval", "3", "--repeats", "1", "--output",
                  str(tmp_path / "a.png"), env_tiny=True)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("tiny mode:"), result.stdout
    # 6 steps, N=3: full steps 0, 3 (warm-up), then 3 + ceil(3 / 2) = 5.
    assert "3 computed + 3 predicted steps, full steps [0, 3, 5]" in result.stdout
    assert (tmp_path / "a.png").is_file()


def test_hub_config_example_round_trips_the_file(tmp_path):
    from diffusers_freqca import FreqCaConfig

    result = _run("hub_config.py", "--tiny", "--steps", "6", "--repeats", "1", "--save-dir", str(tmp_path / "cfg"),
                  "--output", str(tmp_path / "h.png"))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    # The balanced FLUX.1-dev preset, written and read back unchanged.
    expected = FreqCaConfig.from_preset("flux.1-dev", "balanced")
    assert FreqCaConfig.from_pretrained(str(tmp_path / "cfg")) == expected
    assert json.loads((tmp_path / "cfg" / "freqca_config.json").read_text())["format_version"] == 2
    # 6 steps, N=6: full steps 0, 3 (warm-up); the next, 3 + ceil(6 / 2) = 6, is past the end.
    assert "2 computed + 4 predicted steps, full steps [0, 3]" in result.stdout
    assert "FutureWarning" not in result.stderr


def test_choose_interval_cutoff_example_writes_one_row_per_combination(tmp_path):
    output = tmp_path / "sweep.json"
    result = _run("choose_interval_cutoff.py", "--tiny", "--steps", "10", "--interval", "3", "4", "--cutoff", "0.05",
                  "0.5", "--classes", "0", "--repeats", "1", "--output", str(output))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.loads(output.read_text())["rows"]
    assert [(r["cache_interval"], r["cutoff_ratio"]) for r in rows] == [(3, 0.05), (3, 0.5), (4, 0.05), (4, 0.5)]
    for row in rows:
        assert row["ideal_speedup"] == pytest.approx(10 / row["transformer_evaluations"])
    # The default starting point splits bands, so the cut-off changes the images (and their PSNR).
    assert rows[0]["psnr_db"] != rows[1]["psnr_db"] and rows[2]["psnr_db"] != rows[3]["psnr_db"]
    assert output.with_suffix(".png").is_file()


@pytest.mark.parametrize("mode", ["model_offload", "group_block"])
def test_offloading_example_runs_tiny(mode, tmp_path):
    result = _run("offloading_multi_gpu.py", "--tiny", "--mode", mode, "--steps", "6", "--output",
                  str(tmp_path / "o.png"))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"mode={mode}" in result.stdout
    # The balanced preset (N=6) over 6 steps: full steps 0, 3 (warm-up).
    assert "2 computed + 4 predicted steps, full steps [0, 3]" in result.stdout, result.stdout
    assert (tmp_path / "o.png").is_file()
