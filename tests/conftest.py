# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""Shared pytest set-up: GPU-marked tests skip themselves on machines without CUDA."""

import os

import pytest
import torch


# Tests run offline: never let a library try the Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# The models under test are tiny: with several threads on a small shared machine their calls are slower and their
# timings erratic, so the whole suite runs single-threaded.
torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    num_gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    skip_multi = pytest.mark.skip(reason="needs at least two CUDA GPUs")
    for item in items:
        if "multi_gpu" in item.keywords and num_gpus < 2:
            item.add_marker(skip_multi)
        elif "gpu" in item.keywords and num_gpus < 1:
            item.add_marker(skip_gpu)
