# Copyright 2026 The diffusers-freqca authors. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""The compute counter of the benchmarks (`benchmarks/compute.py`, run from a clone) against an independent count."""

import torch

from benchmarks import compute


def test_mac_counter_counts_every_linear_call():
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    with compute.MacCounter(model) as macs:
        model(torch.zeros(5, 3, 8))
        model(torch.zeros(2, 8))
    assert macs.total == (15 + 2) * (8 * 16 + 16 * 4)
    model(torch.zeros(1, 8))  # hooks are gone after the context
    assert macs.total == 17 * (8 * 16 + 16 * 4)
