# Copyright 2026 The diffusers-freqca authors. Licensed under the Apache License, Version 2.0.
"""The quality-benchmark model zoo: small diffusion transformers trained here, on data generated here.

See `tools/zoo/README.md`. `specs.py` lists the models, `data.py` draws their data, `train.py` trains them and
`load.py` builds real diffusers pipelines on the checkpoints.
"""
