# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The demo (the README's main job) on the packaged trained checkpoint, shortened."""

import numpy as np
from PIL import Image

from diffusers_freqca import demo


def test_demo_counts_evaluations_and_writes_the_labelled_comparison(tmp_path, capsys):
    output = tmp_path / "demo.png"
    argv = ["--steps", "14", "--cache-interval", "4", "--repeats", "2", "--output", str(output), "--no-progress"]
    assert demo.main(argv) == 0
    printed = capsys.readouterr().out
    words = " ".join(printed.split())
    # The balanced preset at N=4 over 14 steps: warm-up 0, 3, the first full step 3 + ceil(4 / 2) = 5, then 9 and
    # 13 -> 5 evaluations of the block stack, 14 without FreqCa.
    assert "block-stack evaluations 14 5" in words
    assert "wall time (s, median of 2)" in printed
    # The measured speed-up is printed next to the ideal one.
    assert "x measured, 2.80x ideal (14 / 5 block-stack evaluations)" in printed
    assert "full steps [0, 3, 5, 9, 13]" in printed and "PSNR" in printed and "SSIM" in printed
    image = Image.open(output).convert("RGB")
    # Eight 64x64 images per row, enlarged by an integer factor, under a label bar: three rows and three bars.
    factor = image.width // (8 * 64)
    assert image.width == 8 * 64 * factor and factor >= 2
    bar = (image.height - 3 * 64 * factor) // 3
    assert image.height == 3 * (bar + 64 * factor) and bar > 10
    # Each bar is white paper with dark text on it.
    pixels = np.asarray(image)
    for row in range(3):
        strip = pixels[row * (bar + 64 * factor) : row * (bar + 64 * factor) + bar]
        assert (strip == 255).all(axis=-1).mean() > 0.5 and (strip < 100).all(axis=-1).any()


def test_demo_run_reports_quality_against_the_full_computation(tmp_path):
    args = demo.build_parser().parse_args(
        ["--steps", "10", "--cache-interval", "3", "--repeats", "1", "--output", str(tmp_path / "d.png")]
    )
    result = demo.run_demo(args)
    assert result.evaluations_full == 10 and result.evaluations_freqca == 4  # full steps 0, 3, 5, 8
    assert result.ideal_speedup == 2.5 and len(result.seconds_full) == len(result.seconds_freqca) == 1
    assert 15.0 < result.psnr < 80.0 and 0.5 < result.ssim <= 1.0
