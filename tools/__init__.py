# Copyright 2026 The diffusers-freqca authors. Licensed under the Apache License, Version 2.0.
"""Development tools that are not part of the wheel: training the model zoo and the tiny demo model."""
