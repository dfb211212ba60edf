# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The demo (the README's main job) on the packaged trained checkpoint, shortened."""

from PIL import Image

from diffusers_freqca import demo


def test_demo_counts_evaluations_and_writes_the_comparison(tmp_path, capsys):
    output = tmp_path / "demo.png"
    assert demo.main(["--steps", "14", "--cache-interval", "4", "--output", str(output), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    # The balanced preset re-planned for 14 steps at N=4: as many full steps as the even schedule (0, 1, 2, 6, 10),
    # placed earlier by schedule_power 1.5 -> 5 evaluations of the block stack, 14 without FreqCa.
    assert "block-stack evaluations                 14           5" in printed
    assert "ideal 2.80x" in printed
    assert "steps [0, 1, 2, 5, 10]" in printed
    image = Image.open(output)
    # Three rows (full, FreqCa, difference) of eight 64x64 images, enlarged by the same integer factor.
    assert image.width * 3 == image.height * 8 and image.height % (3 * 64) == 0


def test_demo_run_reports_quality_against_the_full_computation(tmp_path):
    args = demo.build_parser().parse_args(
        ["--steps", "10", "--cache-interval", "3", "--output", str(tmp_path / "d.png")]
    )
    result = demo.run_demo(args)
    assert result["evaluations_full"] == 10 and result["evaluations_freqca"] == 5  # full steps 0, 1, 2, 4, 8
    assert 15.0 < result["psnr"] < 80.0 and 0.5 < result["ssim"] <= 1.0
