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
"""Qwen-Image text-to-image with FreqCa (tutorial: docs/tutorials/qwen_image.md).

Generates one image without and one with FreqCa from the same seed (interleaved timed runs, `--repeats`) and prints
the transformer evaluations, the median wall times, the measured speed-up next to the ideal one, what FreqCa did
(`get_freqca_stats`: a "cond" and an "uncond" context, because Qwen-Image runs true CFG) and the PSNR of the FreqCa
image against the full computation.

    python examples/qwen_image.py                               # Qwen-Image on a GPU, 50 steps, N=6
    python examples/qwen_image.py --interval 9 --width 1664 --height 928
    python examples/qwen_image.py --tiny                        # CPU, offline, plumbing check (random weights)
"""

import argparse
import sys

from _common import (
    NOTE_RANDOM,
    add_common_arguments,
    build_tiny_qwen_image,
    check_common_arguments,
    compare,
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
        >>> build_parser().parse_args(["--tiny", "--interval", "9"]).interval
        9
        ```
    """
    parser = argparse.ArgumentParser(
        prog="qwen_image.py",
        description="Qwen-Image text-to-image with and without FreqCa: wall time, speed-up, FreqCa statistics.",
    )
    add_common_arguments(parser, "Qwen/Qwen-Image", "outputs/qwen_image.png")
    parser.add_argument(
        "--prompt",
        default="A coffee shop entrance with a chalkboard sign reading 'FreqCa Coffee 2 dollars', photorealistic",
        help="Prompt (ignored with --tiny).",
    )
    parser.add_argument("--negative-prompt", default=" ", help="Negative prompt of true CFG (ignored with --tiny).")
    parser.add_argument("--true-cfg-scale", type=float, default=4.0, help="True CFG scale (ignored with --tiny).")
    parser.add_argument("--height", type=int, default=1328, help="Image height (--tiny: 64).")
    parser.add_argument("--width", type=int, default=1328, help="Image width (--tiny: 64).")
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

    from diffusers import QwenImagePipeline

    from diffusers_freqca import FreqCaConfig

    device = resolve_device(args)
    if args.tiny:
        print(NOTE_RANDOM.format(pipeline="QwenImagePipeline"))
        pipe, inputs = build_tiny_qwen_image(seed=args.seed)
    else:
        pipe = QwenImagePipeline.from_pretrained(args.model, torch_dtype=torch_dtype(args))
        inputs = {
            "prompt": args.prompt,
            "negative_prompt": args.negative_prompt,
            "true_cfg_scale": args.true_cfg_scale,
            "height": args.height,
            "width": args.width,
        }
    place(pipe, args, device)

    # The recommended Qwen-Image settings (the defaults: a first-order forecast of the model output in the noise form,
    # warm-up full steps 0 and 3, the first full step half an interval later), with the interval from the command line.
    config = with_interval(FreqCaConfig.from_preset("qwen-image", "balanced"), args.interval)
    result = compare(pipe, inputs, config, args)
    save_images(result, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
