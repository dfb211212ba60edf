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
"""Qwen-Image-Edit image editing with FreqCa (tutorial: docs/tutorials/qwen_image_edit.md).

Edits one image without and with FreqCa from the same seed (interleaved timed runs, `--repeats`) and prints the
transformer evaluations, the median wall times, the measured speed-up next to the ideal one, what FreqCa did
(`get_freqca_stats`) and the PSNR of the FreqCa edit against the full computation. The transformer sees the target
tokens followed by the reference image's tokens (`img_shapes` lists both grids); the default forecast covers the
model output for both, and a band split (the "paper" preset) splits each grid separately.

    python examples/qwen_image_edit.py                          # Qwen-Image-Edit on a GPU, 50 steps, N=6
    python examples/qwen_image_edit.py --image my_photo.png --prompt "Turn it into a pencil sketch"
    python examples/qwen_image_edit.py --model Qwen/Qwen-Image-Edit-2509   # uses QwenImageEditPlusPipeline
    python examples/qwen_image_edit.py --tiny                   # CPU, offline, plumbing check (random weights)
"""

import argparse
import sys

from _common import (
    NOTE_RANDOM,
    add_common_arguments,
    build_tiny_qwen_image_edit,
    check_common_arguments,
    compare,
    place,
    resolve_device,
    save_images,
    torch_dtype,
    with_interval,
)


DEFAULT_IMAGE = (
    "https://huggingface.co/datasets/huggingface/documentation-images/resolve/main/diffusers/yarn-art-pikachu.png"
)


def build_parser() -> argparse.ArgumentParser:
    r"""
    The command-line parser of this example.

    Example:
        ```python
        >>> build_parser().parse_args(["--tiny"]).model
        'Qwen/Qwen-Image-Edit'
        ```
    """
    parser = argparse.ArgumentParser(
        prog="qwen_image_edit.py",
        description="Qwen-Image-Edit image editing with and without FreqCa: wall time, speed-up, FreqCa statistics.",
    )
    add_common_arguments(parser, "Qwen/Qwen-Image-Edit", "outputs/qwen_image_edit.png")
    parser.add_argument("--image", default=DEFAULT_IMAGE, help="Image to edit: path or URL (ignored with --tiny).")
    parser.add_argument(
        "--prompt",
        default="Make Pikachu hold a sign that says 'FreqCa', yarn art style, detailed, vibrant colors",
        help="Edit instruction (ignored with --tiny).",
    )
    parser.add_argument("--negative-prompt", default=" ", help="Negative prompt of true CFG (ignored with --tiny).")
    parser.add_argument("--true-cfg-scale", type=float, default=4.0, help="True CFG scale (ignored with --tiny).")
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

    from diffusers_freqca import FreqCaConfig

    device = resolve_device(args)
    if args.tiny:
        print(NOTE_RANDOM.format(pipeline="QwenImageEditPipeline"))
        pipe, inputs = build_tiny_qwen_image_edit(seed=args.seed)
        preset = "qwen-image-edit"
    else:
        from diffusers import QwenImageEditPipeline, QwenImageEditPlusPipeline
        from diffusers.utils import load_image

        # Qwen-Image-Edit-2509 and later take several reference images and have their own pipeline class.
        plus = "2509" in args.model or "2511" in args.model
        pipeline_class = QwenImageEditPlusPipeline if plus else QwenImageEditPipeline
        pipe = pipeline_class.from_pretrained(args.model, torch_dtype=torch_dtype(args))
        inputs = {
            "image": load_image(args.image).convert("RGB"),
            "prompt": args.prompt,
            "negative_prompt": args.negative_prompt,
            "true_cfg_scale": args.true_cfg_scale,
        }
        preset = "qwen-image-edit-2509" if plus else "qwen-image-edit"
    place(pipe, args, device)

    # The recommended Qwen-Image-Edit settings (the defaults: a first-order forecast of the model output, target and
    # reference tokens alike, in the noise form; warm-up full steps 0 and 3, the first full step half an interval later), with
    # the interval from the command line. The "paper" preset would split bands over each image's token grid instead.
    config = with_interval(FreqCaConfig.from_preset(preset, "balanced"), args.interval)
    result = compare(pipe, inputs, config, args)
    save_images(result, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
