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
"""Benchmarks of FreqCa. They are development tools, not part of the installed package: run them from the root of a
clone of the repository, with the package installed (`make install`), as modules:

    make benchmark                              # = python -m benchmarks.zoo --report
    python -m benchmarks.zoo                    # image quality at matched compute, on every model of the zoo
    python -m benchmarks.speed                  # wall-clock speed-up against the uncached loop, hook overhead
    python -m benchmarks.memory                 # cache memory at FLUX.1-dev / Qwen-Image shapes (meta device)
    python -m benchmarks.gpu_timing             # full-size transformer timings on a CUDA GPU (random bf16 weights)

Each module's `--help` lists its options. `benchmarks.models` holds the model configs and inputs they share and
`benchmarks.compute` counts a transformer's multiply-accumulates for matched-compute comparisons; the other
measuring tools they use (`diffusers_freqca.metrics`, `diffusers_freqca.block_stack.count_evaluations`) are the
package's own.
"""
