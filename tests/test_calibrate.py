# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""`diffusers-freqca calibrate`: the candidates, the choice at the default's compute, and the files it writes."""

import json

import pytest
import torch
from tiny_pipelines import build_tiny_pipeline

from diffusers_freqca import FreqCaConfig, get_freqca_stats
from diffusers_freqca.calibrate import calibrate, candidate_configs, main
from diffusers_freqca.metrics import psnr


def test_candidates_start_with_the_default_and_are_distinct():
    for interval in (3, 6, 9):
        candidates = candidate_configs(interval)
        assert candidates[0] == FreqCaConfig(cache_interval=interval)
        assert all(c.cache_interval == interval for c in candidates)
        assert len({json.dumps(c.to_dict(), sort_keys=True) for c in candidates}) == len(candidates)
        assert {c.spacing for c in candidates} == {"log_snr", "sigma", "step"}
        assert any(c.splits_bands for c in candidates)


def _pipeline():
    pipe, inputs = build_tiny_pipeline("flux")
    kwargs = inputs()
    kwargs.pop("generator")
    return pipe, kwargs


def test_choice_is_the_best_candidate_at_no_more_compute_than_the_default():
    pipe, kwargs = _pipeline()
    seeds = (0, 1)
    result = calibrate(pipe, kwargs, cache_interval=3, seeds=seeds)

    default = FreqCaConfig(cache_interval=3)
    assert result.default.config == default
    admissible = [r for r in result.candidates if r.computed_steps <= result.default.computed_steps]
    assert result.best.config == result.config and result.best.psnr == max(r.psnr for r in admissible)
    assert result.best.psnr >= result.default.psnr
    assert result.num_inference_steps == kwargs["num_inference_steps"]

    # The default's number, computed independently: the mean over images of each image's PSNR.
    references = [pipe(**kwargs, generator=torch.Generator().manual_seed(s)).images for s in seeds]
    pipe.transformer.enable_cache(default)
    per_image = []
    for seed, reference in zip(seeds, references):
        images = pipe(**kwargs, generator=torch.Generator().manual_seed(seed)).images
        per_image += [psnr(images[i], reference[i]) for i in range(images.shape[0])]
        computed = get_freqca_stats(pipe.transformer).contexts["cond"].computed_steps
    pipe.transformer.disable_cache()
    assert result.default.psnr == pytest.approx(sum(per_image) / len(per_image), abs=1e-9)
    assert result.default.computed_steps == computed


def test_refuses_an_enabled_cache():
    pipe, kwargs = _pipeline()
    pipe.transformer.enable_cache(FreqCaConfig())
    with pytest.raises(ValueError, match="Disable the transformer's cache"):
        calibrate(pipe, kwargs)
    with pytest.raises(ValueError, match="seeds"):
        pipe.transformer.disable_cache()
        calibrate(pipe, kwargs, seeds=())


def test_command_writes_the_chosen_config_and_a_card(tmp_path, capsys):
    out = tmp_path / "calibration"
    assert main(["--tiny", "--steps", "8", "--interval", "3", "--seeds", "0", "--output-dir", str(out)]) == 0
    chosen = json.loads((out / "calibration.json").read_text())["chosen"]
    assert FreqCaConfig.from_pretrained(str(out)).to_dict() == chosen
    card = (out / "README.md").read_text()
    assert "diffusers-freqca" in card and "PSNR vs full computation" in card
    assert "chosen:" in capsys.readouterr().out
    # The card's example runs offline as written: the tiny model from the package, the config just written.
    example = card.split("```python\n")[1].split("```")[0]
    assert "load_tiny_flux_pipeline" in example and "DiffusionPipeline" not in example
    namespace = {}
    exec(compile(example, "card example", "exec"), namespace)
    assert namespace["image"].size == (64, 64)
    assert not namespace["pipe"].transformer.is_cache_enabled
