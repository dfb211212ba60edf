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
"""Benchmarks of FreqCa: `diffusers-freqca benchmark <quality|speed|memory|gpu> [options]`.

Each benchmark is a module with its own `main(argv)`; this package only dispatches to it, importing it when it runs.
"""

import argparse
import importlib


BENCHMARKS: dict[str, tuple[str, str]] = {
    "quality": (
        "diffusers_freqca.benchmarks.quality",
        "image quality (PSNR/SSIM against the full 50-step computation) at matched transformer evaluations, FreqCa "
        "against diffusers' own caches and fewer steps, on the project's trained model",
    ),
    "speed": (
        "diffusers_freqca.benchmarks.speed",
        "pipeline wall-clock speed-up against the uncached run in the same process, and the hook's own overhead",
    ),
    "memory": (
        "diffusers_freqca.benchmarks.memory",
        "cache memory per context at FLUX.1-dev and Qwen-Image shapes, FreqCa against TaylorSeerCache, "
        "FirstBlockCache and a layer-wise cache",
    ),
    "gpu": (
        "diffusers_freqca.benchmarks.gpu_timing",
        "full-size FLUX.1-dev / Qwen-Image transformer timings at 1024x1024 on a CUDA GPU (random bf16 weights)",
    ),
}


def main(argv: list[str] | None = None) -> int:
    r"""
    Runs one benchmark: `argv[0]` names it, the rest are its own arguments.

    Args:
        argv (`list[str]`, *optional*): e.g. `["quality", "--quick"]`; `None` reads the command line.

    Returns:
        `int`: the benchmark's exit status.

    Example:
        ```bash
        diffusers-freqca benchmark quality --help
        diffusers-freqca benchmark memory
        ```
    """
    parser = argparse.ArgumentParser(
        prog="diffusers-freqca benchmark",
        description="Measure FreqCa. Name the benchmark, then its options (see `<benchmark> --help`).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="benchmarks:\n" + "\n".join(f"  {name:<9}{summary}" for name, (_, summary) in BENCHMARKS.items()),
    )
    parser.add_argument("benchmark", choices=sorted(BENCHMARKS), help="which benchmark to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the benchmark's own options")
    args = parser.parse_args(argv)
    module = importlib.import_module(BENCHMARKS[args.benchmark][0])
    status = module.main(list(args.args))
    return 0 if status is None else int(status)
