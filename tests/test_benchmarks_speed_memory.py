# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The memory, speed and GPU-timing benchmarks (`benchmarks/`, run from a clone): cache sizes against counts from the
shapes, the speed-up run, the GPU benchmark's refusal without CUDA and its CPU dry run, and their command lines."""

import dataclasses
import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from parameterized import parameterized

from benchmarks import gpu_timing, memory, models, speed
from diffusers_freqca import FreqCaConfig, full_steps
from diffusers_freqca.presets import get_preset


BF16 = 2  # bytes per element
REPO_ROOT = Path(__file__).resolve().parents[1]


def _shape_counts(model: models.ModelShape, height: int, width: int, batch: int) -> dict[str, int]:
    # Elements of one image-token and one text-token feature map of the block stack, from the config alone.
    rows, cols = height // 16, width // 16
    hidden = model.config["num_attention_heads"] * model.config["attention_head_dim"]
    return {
        "image": batch * rows * cols * hidden,
        "text": batch * model.text_tokens * hidden,
        "double": model.config["num_layers"] if model.class_name == "FluxTransformer2DModel" else 0,
        "single": model.config.get("num_single_layers", 0),
        "qwen": model.config["num_layers"] if model.class_name == "QwenImageTransformer2DModel" else 0,
    }


@parameterized.expand(
    [
        ("flux", "flux.1-dev", 256, 256, 1),
        ("flux_batch2_wide", "flux.1-dev", 128, 256, 2),
        ("qwen", "qwen-image", 256, 256, 1),
        ("qwen_tall", "qwen-image", 256, 192, 1),
    ]
)
def test_cache_memory_matches_counts_from_shapes(_, name, height, width, batch):
    model = models.QUICK_MODELS[name]
    report = memory.measure_cache_memory(
        model, height=height, width=width, batch_size=batch, taylorseer_orders=(1, 2), layerwise_order=2
    )
    n = _shape_counts(model, height, width, batch)
    caches = {cache.method: cache for cache in report.caches}
    assert report.image_tokens == (height // 16) * (width // 16)

    # FreqCa (low band order 0, high band order 2): the last block-stack output and two divided differences.
    assert caches["FreqCa"].tensors == 3
    assert caches["FreqCa"].bytes == 3 * n["image"] * BF16

    # TaylorSeerCache hooks every block's attention: FLUX double-stream attention returns image and text outputs,
    # single-stream attention one output over the joint sequence, Qwen-Image attention image and text outputs.
    attention_elements = (n["double"] + n["single"] + n["qwen"]) * (n["image"] + n["text"])
    for order in (1, 2):
        cache = caches[f"TaylorSeerCache, max_order={order}"]
        assert cache.bytes == (order + 1) * attention_elements * BF16
        assert cache.expected_bytes == cache.bytes

    # FirstBlockCache: first block's image and text outputs and image residual, the stack's image and text residuals.
    assert caches["FirstBlockCache"].bytes == (3 * n["image"] + 2 * n["text"]) * BF16

    # Layer-wise: image and text attention and MLP outputs per dual-stream block, one fused output per single block.
    features = (2 * (n["double"] + n["qwen"]) + n["single"]) * (n["image"] + n["text"])
    assert caches["layer-wise, order 2"].bytes == 3 * features * BF16
    assert caches["layer-wise, one copy per feature"].bytes == features * BF16

    ratios = report.ratios()
    assert ratios["layer-wise, order 2"] == pytest.approx(caches["FreqCa"].bytes / caches["layer-wise, order 2"].bytes)


PAPER_ORDERS = {"decomposition": "dct", "low_freq_order": 0, "high_freq_order": 2}
CRF = {"forecast_target": "crf"}  # `measure_freqca` counts CRF-sized tensors: the block stack's output


@parameterized.expand(
    [
        # The last value, plus one divided difference per order of each forecast band.
        ("default_orders", FreqCaConfig(**CRF), 2),
        ("paper", FreqCaConfig(**PAPER_ORDERS), 3),
        ("low_order_1", FreqCaConfig(**{**PAPER_ORDERS, "low_freq_order": 1}), 4),
        ("no_split", FreqCaConfig(**{**PAPER_ORDERS, "decomposition": "none"}, **CRF), 3),
        ("first_order", FreqCaConfig(decomposition="none", high_freq_order=1, **CRF), 2),
        ("float32_cache", FreqCaConfig(**PAPER_ORDERS, cache_dtype=torch.float32), 3),
    ]
)
def test_freqca_bytes_follow_its_config(_, config, tensors):
    assert config.forecast_target == "crf"
    model = models.QUICK_MODELS["flux.1-dev"]
    transformer = models.build_transformer(model)
    inputs = models.make_inputs(model, 128, 128)
    cache, _ = memory.measure_freqca(transformer, inputs, models.image_layout(model, 128, 128), config)
    element = 4 if config.cache_dtype == torch.float32 else BF16
    assert memory.freqca_tensors_per_context(config) == tensors
    assert cache.tensors == tensors
    assert cache.bytes == cache.expected_bytes == tensors * 8 * 8 * 32 * element
    assert not transformer.is_cache_enabled


def test_freqca_bytes_of_the_default_model_output_forecast():
    # The default caches the transformer's output: the last value and one divided difference, each the size of the
    # output (8 x 8 tokens x in_channels). These meta-device calls give no noise level, so `output_form="auto"` falls
    # back to the velocity form, stored in the model's dtype (the noise form would store float32).
    model = models.QUICK_MODELS["flux.1-dev"]
    transformer = models.build_transformer(model)
    inputs = models.make_inputs(model, 128, 128)
    config = FreqCaConfig()
    assert config.forecast_target == "model_output"
    cache, _ = memory.measure_freqca(transformer, inputs, models.image_layout(model, 128, 128), config)
    channels = model.config.get("out_channels") or model.config["in_channels"]
    assert tuple(inputs["hidden_states"].shape) == (1, 8 * 8, channels)
    assert cache.tensors == 2
    assert cache.bytes == 2 * 8 * 8 * channels * BF16
    assert not transformer.is_cache_enabled


def test_taylorseer_hooks_the_attention_modules():
    transformer = models.build_transformer(models.QUICK_MODELS["flux.1-dev"])
    names = [name for name, _ in memory.taylorseer_modules(transformer)]
    assert names == [f"transformer_blocks.{i}.attn" for i in range(2)] + [
        f"single_transformer_blocks.{i}.attn" for i in range(3)
    ]


def test_real_model_shapes():
    flux, qwen = models.MODELS["flux.1-dev"], models.MODELS["qwen-image"]
    assert flux.grid(1024, 1024) == (64, 64) and flux.hidden_size == 3072 and flux.num_blocks == 57
    assert qwen.grid(1024, 1024) == (64, 64) and qwen.hidden_size == 3072 and qwen.num_blocks == 60
    inputs = models.make_inputs(flux, 1024, 1024)
    assert inputs["hidden_states"].shape == (1, 4096, 64) and inputs["encoder_hidden_states"].shape == (1, 512, 4096)
    assert inputs["img_ids"].shape == (4096, 3) and inputs["guidance"].shape == (1,)
    with pytest.raises(ValueError, match="height"):
        flux.grid(1000, 1024)
    with pytest.raises(ValueError, match="batch_size"):
        models.make_inputs(flux, 1024, 1024, batch_size=0)


def test_memory_cli_writes_json(tmp_path, capsys):
    path = tmp_path / "memory.json"
    status = memory.main(
        [
            "--quick",
            "--models",
            "qwen-image",
            "--taylorseer-orders",
            "1",
            "--output-json",
            str(path),
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "| FreqCa | 3 |" in out and "TaylorSeerCache, max_order=1" in out
    data = json.loads(path.read_text())
    (report,) = data["reports"]
    assert report["model"] == "qwen-image" and data["freqca_configs"]["qwen-image"]["decomposition"] == "fft"
    assert report["caches"][0]["bytes"] == 3 * 256 * 32 * BF16


@pytest.mark.parametrize("name", ["zoo", "speed", "memory", "gpu_timing"])
def test_benchmark_runs_as_a_module_from_the_clone(name):
    # The documented way: `python -m benchmarks.<name>` from the repository's root.
    result = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert f"usage: python -m benchmarks.{name}" in result.stdout


def test_speed_quick(tmp_path, capsys):
    path = tmp_path / "speed.json"
    assert speed.main(["--quick", "--output-json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| N=6 | 12 | 4 |" in out
    data = json.loads(path.read_text())
    assert [r["cache_interval"] for r in data["results"]] == [6, 9]
    for result in data["results"]:
        expected = len(full_steps(12, models.paper_config("flux.1-dev", result["cache_interval"])))
        assert result["full_steps"] == result["expected_full_steps"] == expected
        assert result["ideal_speedup"] == pytest.approx(12 / expected)
        assert result["speedup_cpu"] > 1.0
        # A predicted step runs no block: far cheaper than a full one.
        assert result["predicted_step_cpu"] < 0.5 * result["full_step_cpu"]


def test_speed_loop_follows_flux_schedule():
    # The loop's timesteps are FluxPipeline's: shifted sigmas from 1 to 1/N, times 1000.
    model = speed.QUICK_MODEL
    transformer = models.build_transformer(model, "meta")
    inputs = models.make_inputs(model, 256, 256, device="cpu", dtype=torch.float32)
    loop = speed.DenoisingLoop(transformer, inputs, 10)
    loop.scheduler.set_timesteps(sigmas=loop.sigmas, mu=loop.mu)
    mu = models.flux_shift(256)
    sigmas = torch.linspace(1.0, 0.1, 10, dtype=torch.float64)
    shifted = torch.exp(torch.tensor(mu)) / (torch.exp(torch.tensor(mu)) + (1 / sigmas - 1))
    assert torch.allclose(loop.scheduler.timesteps.double(), 1000 * shifted, atol=1e-3)
    assert models.flux_shift(256) == pytest.approx(0.5) and models.flux_shift(4096) == pytest.approx(1.15)


def test_gpu_benchmark_refuses_without_cuda(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_timing.main([]) == 2
    err = capsys.readouterr().err
    assert "needs a CUDA GPU" in err and "--dry-run" in err


def test_gpu_benchmark_dry_run(tmp_path, capsys):
    path = tmp_path / "gpu.json"
    assert gpu_timing.main(["--dry-run", "--output-json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| uncached | no cache | 3 | 3 |" in out
    data = json.loads(path.read_text())
    assert data["dry_run"] and [m["model"] for m in data["models"]] == ["flux.1-dev", "qwen-image"]
    assert data["environment"]["torch"] == torch.__version__ and data["environment"]["device"] == "CPU"
    assert data["command"].endswith("--dry-run --output-json " + str(path))
    for timing in data["models"]:
        methods = {m["method"]: m for m in timing["methods"]}
        assert list(methods) == list(gpu_timing.METHODS)
        assert methods["uncached"]["evaluations"] == 3
        # Three steps are the paper recipe's warm-up: all computed.
        assert methods["freqca-paper-n6"]["evaluations"] == methods["freqca-paper-n9"]["evaluations"] == 3
        # The default computes step 0 and forecasts steps 1 and 2 (its second warm-up step is step 3).
        assert methods["freqca-n6"]["evaluations"] == methods["freqca-n9"]["evaluations"] == 1
        # TaylorSeerCache lite computes its three warm-up steps, the blocks included.
        assert methods["taylorseer-lite-n6"]["evaluations"] == methods["taylorseer-lite-n9"]["evaluations"] == 3
        # TaylorSeerCache runs every block; its warm-up computes the attention too.
        assert methods["taylorseer"]["evaluations"] == methods["taylorseer"]["attention_evaluations"] == 3
        for name, method in methods.items():
            if name == "magcache" and timing["model"] == "qwen-image":
                assert method["seconds"] == [] and "skipped" in method["description"]
            else:
                assert len(method["seconds"]) == 1 and method["seconds"][0] > 0


def test_gpu_cache_configs():
    config, description = gpu_timing.cache_config("freqca-paper-n9", "qwen-image", 50)
    # The paper's recipe (the model's "paper" preset), at N=9.
    assert config == dataclasses.replace(get_preset("qwen-image", "paper").config, cache_interval=9)
    assert config.decomposition == "fft" and "N=9" in description
    # What a user gets from `FreqCaConfig(cache_interval=N)`.
    config, description = gpu_timing.cache_config("freqca-n6", "flux.1-dev", 50)
    assert config == FreqCaConfig(cache_interval=6) and "default" in description
    config, _ = gpu_timing.cache_config("taylorseer-lite-n9", "flux.1-dev", 50)
    assert (config.cache_interval, config.max_order, config.use_lite_mode) == (9, 1, True)
    config, _ = gpu_timing.cache_config("magcache", "flux.1-dev", 50)
    assert len(config.mag_ratios) == 50
    assert gpu_timing.cache_config("magcache", "qwen-image", 50)[0] is None
    with pytest.raises(ValueError, match="method"):
        gpu_timing.cache_config("teacache", "flux.1-dev", 50)


def test_gpu_benchmark_peaks_exclude_earlier_caches(monkeypatch):
    # Caches (FreqCa's before `remove_freqca` freed them, diffusers' still) can outlive `disable_cache` in reference
    # cycles: the tensors alive when a method's timed run starts must not depend on the methods timed before it, or
    # its peak memory would count their caches. Automatic collection is off, as it may not run between methods.
    alive = []

    def tensor_bytes() -> int:
        return sum(o.numel() * o.element_size() for o in gc.get_objects() if type(o) is torch.Tensor)

    def timed_run(loop, device, original=gpu_timing.timed_run):
        alive.append(tensor_bytes())
        return original(loop, device)

    monkeypatch.setattr(gpu_timing, "timed_run", timed_run)
    methods = ("uncached", "freqca-n6", "freqca-paper-n6", "taylorseer-lite-n6", "taylorseer", "freqca-n9")
    gc.disable()
    try:
        gpu_timing.time_model(
            gpu_timing.DRY_RUN_MODELS["flux.1-dev"],
            torch.device("cpu"),
            height=256,
            width=256,
            num_inference_steps=12,
            methods=methods,
            dtype=torch.float32,
            log=lambda _: None,
        )
    finally:
        gc.enable()
    # The first timed run still sees the scheduler's 1000-step training tables, which `set_timesteps` then replaces.
    assert len(alive) == len(methods) and len(set(alive[1:])) == 1, alive


@pytest.mark.gpu
def test_gpu_benchmark_runs_on_cuda():
    timing = gpu_timing.time_model(
        gpu_timing.DRY_RUN_MODELS["flux.1-dev"],
        torch.device("cuda"),
        height=256,
        width=256,
        num_inference_steps=12,
        methods=("uncached", "freqca-n6", "freqca-paper-n6"),
        log=lambda _: None,
    )
    methods = {m.method: m for m in timing.methods}
    assert methods["freqca-paper-n6"].evaluations == len(full_steps(12, models.paper_config("flux.1-dev", 6)))
    assert methods["freqca-n6"].evaluations == len(full_steps(12, FreqCaConfig(cache_interval=6)))
    assert methods["uncached"].peak_memory_gib > 0
