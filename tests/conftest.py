# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""Shared pytest set-up: GPU-marked tests skip themselves on machines without CUDA; the repository's development
tools (`benchmarks`, `tools`), which are not part of the installed package, are importable."""

import os
import sys
from pathlib import Path

import pytest
import torch


# The tests run from a clone: the benchmark harnesses and the training tool live at the repository's root.
REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


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
