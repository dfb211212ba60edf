# Copyright 2026 The diffusers-freqca authors. All rights reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""FreqCa: frequency-aware feature caching for diffusion transformers in Hugging Face diffusers.

Importing this package registers `FreqCaConfig` with diffusers' `enable_cache`:

    >>> from diffusers_freqca import FreqCaConfig
    >>> pipe.transformer.enable_cache(FreqCaConfig())
"""

__version__ = "0.1.0"

from .band_split import BandSplitter, GridSegment, TokenLayout
from .config import FreqCaConfig
from .forecast import BandForecaster, predictor_coefficients
from .hooks import (
    FreqCaContextStats,
    FreqCaStats,
    apply_freqca,
    get_freqca_stats,
    remove_freqca,
)
from .integration import is_freqca_registered, register_freqca_with_diffusers
from .schedule import full_steps, is_full_step


register_freqca_with_diffusers()

__all__ = [
    "BandForecaster",
    "BandSplitter",
    "FreqCaConfig",
    "FreqCaContextStats",
    "FreqCaStats",
    "GridSegment",
    "TokenLayout",
    "apply_freqca",
    "full_steps",
    "get_freqca_stats",
    "is_freqca_registered",
    "is_full_step",
    "predictor_coefficients",
    "register_freqca_with_diffusers",
    "remove_freqca",
]
