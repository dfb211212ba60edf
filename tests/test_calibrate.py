# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""`diffusers-freqca calibrate`: the candidates, the choice at the default's compute, and the files it writes."""

import json
from types import SimpleNamespace

import pytest
import torch
from tiny_pipelines import build_tiny_pipeline

from diffusers_freqca import FreqCaConfig, get_freqca_stats
from diffusers_freqca.calibrate import calibrate, candidate_configs, img2img_executed_steps, main, plain_steps_for
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

    # The no-cache baseline at the chosen compute, computed independently: the same calls with as many steps as the
    # chosen config's full steps, and one more.
    executed = round(result.best.computed_steps)
    assert sorted(result.plain_sampling) == [executed, executed + 1]
    for steps, value in result.plain_sampling.items():
        per_image = []
        for seed, reference in zip(seeds, references):
            call = {**kwargs, "num_inference_steps": steps}
            images = pipe(**call, generator=torch.Generator().manual_seed(seed)).images
            per_image += [psnr(images[i], reference[i]) for i in range(images.shape[0])]
        assert value == pytest.approx(sum(per_image) / len(per_image), abs=1e-9)
    assert not pipe.transformer.is_cache_enabled


@pytest.mark.parametrize("strength", [0.3, 0.5, 0.6, 0.75, 1.0])
def test_img2img_step_counts_follow_diffusers(strength):
    # Against diffusers' own FluxImg2ImgPipeline.get_timesteps on a real scheduler, not our formula.
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxImg2ImgPipeline

    stub = SimpleNamespace(scheduler=FlowMatchEulerDiscreteScheduler())

    def runs(n):
        stub.scheduler.set_timesteps(n)
        return FluxImg2ImgPipeline.get_timesteps(stub, n, strength, "cpu")[1]

    for n in range(1, 40):
        assert img2img_executed_steps(n, strength) == runs(n)
    for executed in range(1, 17):
        steps = plain_steps_for(executed, strength)
        assert runs(steps) == executed or (runs(steps) > executed and runs(steps - 1) < executed)
        assert steps == 1 or runs(steps - 1) < executed


@pytest.mark.parametrize("executed, strength", [(0, 0.5), (3, 0.0), (3, 1.5), (True, 0.5), (3, "0.5")])
def test_img2img_step_counts_refuse_bad_values(executed, strength):
    with pytest.raises(ValueError, match="executed|strength"):
        plain_steps_for(executed, strength)
    with pytest.raises(ValueError, match="num_inference_steps|strength"):
        img2img_executed_steps(executed, strength)


def test_no_plain_baseline_when_every_step_is_computed_and_the_card_still_writes(tmp_path):
    # cache_interval=1 reproduces the reference (infinite PSNR): nothing to compare, and the card leaves it out.
    assert main(["--tiny", "--steps", "4", "--interval", "1", "--seeds", "0", "--output-dir", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "calibration.json").read_text())["plain_sampling"] == {}
    assert "PSNR vs full computation" not in (tmp_path / "README.md").read_text()


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
    # The no-cache baseline is stored and shown: plain sampling with as many steps as the chosen config computes.
    plain = json.loads((out / "calibration.json").read_text())["plain_sampling"]
    assert plain and all(f"| PSNR of {steps} plain denoising steps, no cache (dB) |" in card for steps in plain)
    # The card's example runs offline as written: the tiny model from the package, the config just written.
    example = card.split("```python\n")[1].split("```")[0]
    assert "load_tiny_flux_pipeline" in example and "DiffusionPipeline" not in example
    namespace = {}
    exec(compile(example, "card example", "exec"), namespace)
    assert namespace["image"].size == (64, 64)
    assert not namespace["pipe"].transformer.is_cache_enabled


def test_command_says_when_plain_sampling_is_as_good(tmp_path, capsys, monkeypatch):
    import diffusers_freqca.calibrate as module

    config = FreqCaConfig(cache_interval=3)
    best = module.CandidateResult(config, psnr=30.0, psnr_min=29.0, computed_steps=4.0, seconds=1.0)
    found = module.CalibrationResult(config, best, [best], num_inference_steps=8, plain_sampling={4: 29.5, 5: 31.25})
    monkeypatch.setattr(module, "calibrate", lambda *args, **kwargs: found)
    assert main(["--tiny", "--steps", "8", "--interval", "3", "--output-dir", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "note: 5 plain denoising steps without a cache score 31.25 dB" in out and "30.00 dB" in out
    # Within 0.5 dB below FreqCa still counts as no real lead; 0.5 dB or more below does not.
    found.plain_sampling = {4: 29.55, 5: 29.0}
    assert main(["--tiny", "--steps", "8", "--interval", "3", "--output-dir", str(tmp_path / "out1")]) == 0
    assert "note: 4 plain denoising steps without a cache score 29.55 dB, within 0.5 dB" in capsys.readouterr().out
    found.plain_sampling = {4: 29.5, 5: 29.4}
    assert main(["--tiny", "--steps", "8", "--interval", "3", "--output-dir", str(tmp_path / "out2")]) == 0
    assert "note:" not in capsys.readouterr().out
