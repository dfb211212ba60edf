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
"""FLUX.1-dev text-to-image with FreqCa (tutorial: docs/tutorials/flux_text_to_image.md).

Generates one image without and one with FreqCa from the same seed (interleaved timed runs, `--repeats`) and prints
the transformer evaluations, the median wall times, the measured speed-up next to the ideal one, what FreqCa did
(`get_freqca_stats`) and the PSNR of the FreqCa image against the full computation.

    python examples/flux_text_to_image.py                      # FLUX.1-dev on a GPU, 50 steps, N=6
    python examples/flux_text_to_image.py --interval 9 --steps 50 --output outputs/flux_n9.png
    python examples/flux_text_to_image.py --tiny               # the project's tiny trained model, CPU, offline
"""

import argparse
import sys

from _common import (
    NOTE_TRAINED,
    add_common_arguments,
    check_common_arguments,
    compare,
    load_tiny_flux,
    place,
    resolve_device,
    save_images,
    torch_dtype,
    with_interval,
)


def build_parser() -> argparse.ArgumentParser:
    r"""
    The command-line parser of this example.

    Example:
        ```python
        >>> build_parser().parse_args(["--tiny", "--steps", "8"]).steps
        8
        ```
    """
    parser = argparse.ArgumentParser(
        prog="flux_text_to_image.py",
        description="FLUX.1-dev text-to-image with and without FreqCa: wall time, speed-up, FreqCa statistics.",
    )
    add_common_arguments(parser, "black-forest-labs/FLUX.1-dev", "outputs/flux_text_to_image.png")
    parser.add_argument(
        "--prompt", default="A cat holding a sign that says hello world", help="Prompt (ignored with --tiny)."
    )
    parser.add_argument("--height", type=int, default=1024, help="Image height (--tiny: 64).")
    parser.add_argument("--width", type=int, default=1024, help="Image width (--tiny: 64).")
    parser.add_argument("--guidance-scale", type=float, default=3.5, help="FLUX.1-dev's distilled guidance.")
    parser.add_argument("--class-index", type=int, default=0, help="--tiny: which of the tiny model's 8 classes.")
    return parser


def main(argv: list[str] | None = None) -> int:
    r"""
    Runs the example.

    Args:
        argv (`list[str]`, *optional*): the arguments; `None` reads `sys.argv[1:]`.

    Returns:
        `int`: the exit status.

    Example:
        ```python
        >>> main(["--tiny", "--steps", "8"])
        0
        ```
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    check_common_arguments(parser, args)

    from diffusers import FluxPipeline

    from diffusers_freqca import FreqCaConfig

    device = resolve_device(args)
    if args.tiny:
        print(NOTE_TRAINED.format(model=args.model))
        pipe, inputs = load_tiny_flux([args.class_index])
    else:
        pipe = FluxPipeline.from_pretrained(args.model, torch_dtype=torch_dtype(args))
        inputs = {
            "prompt": args.prompt,
            "height": args.height,
            "width": args.width,
            "guidance_scale": args.guidance_scale,
        }
    place(pipe, args, device)

    # The recommended FLUX.1-dev settings (the defaults: a first-order forecast of the model output in the noise form,
    # warm-up full steps 0 and 3, the first full step half an interval later), with the interval from the command line.
    config = with_interval(FreqCaConfig.from_preset("flux.1-dev", "balanced"), args.interval)
    result = compare(pipe, inputs, config, args)
    save_images(result, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
