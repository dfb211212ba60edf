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
"""FLUX.1-Kontext-dev image editing with FreqCa (tutorial: docs/tutorials/flux_kontext_edit.md).

Edits one image without and with FreqCa from the same seed (interleaved timed runs, `--repeats`) and prints the
transformer evaluations, the median wall times, the measured speed-up next to the ideal one, what FreqCa did
(`get_freqca_stats`) and the PSNR of the FreqCa edit against the full computation.

FluxKontextPipeline enters no `cache_context` (diffusers 0.42), so FreqCa names its contexts itself
(`freqca_auto_0`, and `freqca_auto_1` for the negative prompt of true CFG). The transformer sees the target tokens
followed by the reference image's tokens; the default forecast covers the model output for both, and a band split
(the "paper" preset) splits each image's grid separately.

    python examples/flux_kontext_edit.py                        # FLUX.1-Kontext-dev on a GPU, 50 steps, N=6
    python examples/flux_kontext_edit.py --image my_photo.png --prompt "Make it a watercolor" --interval 9
    python examples/flux_kontext_edit.py --tiny                 # CPU, offline, plumbing check
"""

import argparse
import sys

from _common import (
    NOTE_TRAINED_EDIT,
    TINY_SIZE,
    add_common_arguments,
    check_common_arguments,
    compare,
    load_tiny_flux,
    place,
    resolve_device,
    save_images,
    tiny_reference_image,
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
        >>> build_parser().parse_args(["--tiny"]).interval
        6
        ```
    """
    parser = argparse.ArgumentParser(
        prog="flux_kontext_edit.py",
        description="FLUX.1-Kontext-dev image editing with and without FreqCa: wall time, speed-up, statistics.",
    )
    add_common_arguments(parser, "black-forest-labs/FLUX.1-Kontext-dev", "outputs/flux_kontext_edit.png")
    parser.add_argument("--image", default=DEFAULT_IMAGE, help="Image to edit: path or URL (ignored with --tiny).")
    parser.add_argument(
        "--prompt",
        default="Make Pikachu hold a sign that says 'FreqCa', yarn art style, detailed, vibrant colors",
        help="Edit instruction (ignored with --tiny).",
    )
    parser.add_argument("--guidance-scale", type=float, default=2.5, help="Kontext's distilled guidance.")
    parser.add_argument(
        "--true-cfg-scale",
        type=float,
        default=1.0,
        help="> 1 with --negative-prompt runs true CFG: two transformer calls per step, two FreqCa contexts.",
    )
    parser.add_argument("--negative-prompt", default=None, help="Negative prompt for --true-cfg-scale > 1.")
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
    if args.true_cfg_scale > 1 and args.negative_prompt is None and not args.tiny:
        parser.error("--true-cfg-scale > 1 needs --negative-prompt.")

    from diffusers import FluxKontextPipeline

    from diffusers_freqca import FreqCaConfig

    device = resolve_device(args)
    if args.tiny:
        print(NOTE_TRAINED_EDIT.format(pipeline="FluxKontextPipeline"))
        flux, inputs = load_tiny_flux()
        # The same trained transformer and VAE in the editing pipeline: the transformer sees 16x16 target tokens
        # followed by the 16x16 tokens of a 64x64 reference image.
        pipe = FluxKontextPipeline(**flux.components)
        inputs.update(
            image=tiny_reference_image(),
            # Keep the tiny sizes: the pipeline would otherwise resize to Kontext's ~1-megapixel resolutions.
            _auto_resize=False,
            max_area=TINY_SIZE * TINY_SIZE,
        )
        if args.true_cfg_scale > 1:
            inputs.update(
                negative_prompt_embeds=inputs["prompt_embeds"] * 0,
                negative_pooled_prompt_embeds=inputs["pooled_prompt_embeds"] * 0,
                true_cfg_scale=args.true_cfg_scale,
            )
    else:
        from diffusers.utils import load_image

        pipe = FluxKontextPipeline.from_pretrained(args.model, torch_dtype=torch_dtype(args))
        inputs = {
            "image": load_image(args.image).convert("RGB"),
            "prompt": args.prompt,
            "guidance_scale": args.guidance_scale,
        }
        if args.true_cfg_scale > 1:
            inputs.update(negative_prompt=args.negative_prompt, true_cfg_scale=args.true_cfg_scale)
    place(pipe, args, device)

    # The recommended FLUX.1-Kontext-dev settings (the defaults: a first-order forecast of the model output, target and
    # reference tokens alike, in the noise form; warm-up full steps 0 and 3, the first full step half an interval later), with
    # the interval from the command line. The "paper" preset would split bands over each image's token grid instead.
    config = with_interval(FreqCaConfig.from_preset("flux.1-kontext-dev", "balanced"), args.interval)
    result = compare(pipe, inputs, config, args)
    save_images(result, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
