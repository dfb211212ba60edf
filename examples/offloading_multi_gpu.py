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
"""FreqCa with model CPU offload, sequential CPU offload, group offloading and device maps.

Loads a FLUX pipeline, places it with one of diffusers' memory-saving or multi-GPU set-ups, enables FreqCa and
generates an image, printing the time and what FreqCa did. `--compare` runs the package's comparison on the same
placement instead (interleaved runs without and with FreqCa, `--repeats` times: the median speed-up next to the ideal
one, and PSNR). `--tiny` uses the project's small checkpoint on the CPU instead, which takes seconds and needs no
download.

    python examples/offloading_multi_gpu.py --mode group_block --use-stream --compare
    python examples/offloading_multi_gpu.py --mode device_map   # the transformer's blocks spread over all GPUs
    python examples/offloading_multi_gpu.py --tiny --mode group_leaf
"""

import argparse
import contextlib
import os
import sys
import tempfile
import time

from _common import DTYPES


MODES = ("model_offload", "sequential", "group_block", "group_leaf", "device_map")
_MODE_HELP = """modes:
  model_offload  pipe.enable_model_cpu_offload(): one whole model on the GPU at a time
  sequential     pipe.enable_sequential_cpu_offload(): every layer's weights are streamed in when it runs
                 (needs a CUDA GPU, also with --tiny)
  group_block    transformer.enable_group_offload(offload_type="block_level"): groups of
                 --blocks-per-group transformer blocks are onloaded when the group runs
  group_leaf     transformer.enable_group_offload(offload_type="leaf_level"): every leaf layer is onloaded
                 when it runs
  device_map     the transformer is loaded with device_map="balanced": its blocks are spread over all visible GPUs
                 (with --tiny: over the CPU and a disk folder)

On predicted steps FreqCa runs no transformer block, so none of their weights is moved, whatever the order in which
FreqCa and the placement are set up (see docs/offloading.md)."""


def build_parser() -> argparse.ArgumentParser:
    r"""
    The command-line parser of this example.

    Returns:
        `argparse.ArgumentParser`: the parser.

    Example:
        ```python
        >>> args = build_parser().parse_args(["--tiny", "--mode", "group_leaf"])
        >>> args.mode
        'group_leaf'
        ```
    """
    parser = argparse.ArgumentParser(
        prog="offloading_multi_gpu.py",
        description="Run FreqCa on a FLUX pipeline under CPU offload, group offloading or a multi-GPU device map.",
        epilog=_MODE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model",
        default="black-forest-labs/FLUX.1-dev",
        help="Hub id or folder of a FLUX pipeline (default: %(default)s).",
    )
    parser.add_argument(
        "--mode", default="group_block", choices=MODES, help="Placement, see below (default: %(default)s)."
    )
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="Use the project's small checkpoint (diffusers_freqca.tiny_flux) on the CPU instead of --model.",
    )
    parser.add_argument(
        "--prompt", default="A cat holding a sign that says hello world", help="Prompt (ignored with --tiny)."
    )
    parser.add_argument("--class-name", default=None, help="With --tiny: the class to generate (default: the first).")
    parser.add_argument("--steps", type=int, default=None, help="Denoising steps (default: 50, with --tiny 20).")
    parser.add_argument("--height", type=int, default=1024, help="Image height in pixels (--tiny always uses 64).")
    parser.add_argument("--width", type=int, default=1024, help="Image width in pixels (--tiny always uses 64).")
    parser.add_argument("--seed", type=int, default=0, help="Generator seed.")
    parser.add_argument(
        "--cache-interval", type=int, default=6, help="FreqCa computes one full step every N steps (6 or 9)."
    )
    parser.add_argument("--no-freqca", action="store_true", help="Run without FreqCa (the baseline).")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="Compare without and with FreqCa on the same placement: interleaved runs, median speed-up, PSNR.",
    )
    parser.add_argument("--repeats", type=int, default=3, help="--compare: timed runs of each kind (default: 3).")
    parser.add_argument(
        "--cache-first",
        action="store_true",
        help="Enable FreqCa before setting up the placement instead of after it (the result is the same).",
    )
    parser.add_argument("--blocks-per-group", type=int, default=1, help="group_block: blocks per offloaded group.")
    parser.add_argument(
        "--use-stream", action="store_true", help="group_*: overlap transfers with compute (needs CUDA)."
    )
    parser.add_argument("--record-stream", action="store_true", help="group_* with --use-stream: record_stream=True.")
    parser.add_argument(
        "--max-memory",
        type=float,
        default=None,
        help="device_map: GiB the transformer may use per GPU; what does not fit is offloaded to the CPU.",
    )
    parser.add_argument(
        "--offload-dir", default=None, help="device_map with --tiny: folder for disk-offloaded weights."
    )
    parser.add_argument(
        "--dtype",
        default="bfloat16",
        choices=DTYPES,
        help="Weights dtype (--tiny uses float32).",
    )
    parser.add_argument("--output", default=None, help="Where to save the image (PNG).")
    return parser


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace, has_cuda: bool) -> None:
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}.")
    if args.cache_interval < 1:
        parser.error(f"--cache-interval must be >= 1, got {args.cache_interval}.")
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}.")
    if args.blocks_per_group < 1:
        parser.error(f"--blocks-per-group must be >= 1, got {args.blocks_per_group}.")
    if args.max_memory is not None and args.max_memory <= 0:
        parser.error(f"--max-memory must be > 0 GiB, got {args.max_memory}.")
    if args.compare and (args.no_freqca or args.cache_first):
        parser.error("--compare enables FreqCa after its baseline run: it excludes --no-freqca and --cache-first.")
    if args.record_stream and not args.use_stream:
        parser.error("--record-stream needs --use-stream.")
    if args.use_stream and args.mode not in ("group_block", "group_leaf"):
        parser.error(f"--use-stream only applies to --mode group_block or group_leaf, got --mode {args.mode}.")
    needs_cuda = args.use_stream or args.mode == "sequential" or not args.tiny
    if needs_cuda and not has_cuda:
        what = "--use-stream" if args.use_stream else f"--mode {args.mode}" if args.tiny else f"--model {args.model}"
        parser.error(f"{what} needs a CUDA GPU and none is available; try --tiny with another --mode.")


def _load_tiny(args: argparse.Namespace):
    import torch

    try:
        from diffusers_freqca import tiny_flux
    except ImportError as error:
        raise SystemExit(
            f"--tiny needs diffusers_freqca.tiny_flux, which this installation lacks ({error})."
        ) from None
    if args.class_name is not None and args.class_name not in tiny_flux.CLASS_NAMES:
        raise SystemExit(f"--class-name must be one of {', '.join(tiny_flux.CLASS_NAMES)}, got {args.class_name!r}.")
    pipe = tiny_flux.load_tiny_flux_pipeline(torch_dtype=torch.float32)
    inputs = tiny_flux.pipeline_inputs(pipe, [args.class_name if args.class_name is not None else 0])
    return pipe, inputs


def _load_full(args: argparse.Namespace):
    import torch
    from diffusers import FluxPipeline, FluxTransformer2DModel

    dtype = getattr(torch, args.dtype)
    inputs = {"prompt": args.prompt, "height": args.height, "width": args.width}
    if args.mode != "device_map":
        return FluxPipeline.from_pretrained(args.model, torch_dtype=dtype), inputs
    # Spread the transformer's blocks over the GPUs (accelerate hooks move the hidden states between them) and keep
    # the small components on the first GPU.
    max_memory = None
    if args.max_memory is not None:
        max_memory = dict.fromkeys(range(torch.cuda.device_count()), f"{args.max_memory}GiB")
        max_memory["cpu"] = "1000GiB"
    transformer = FluxTransformer2DModel.from_pretrained(
        args.model, subfolder="transformer", torch_dtype=dtype, device_map="balanced", max_memory=max_memory
    )
    pipe = FluxPipeline.from_pretrained(args.model, transformer=transformer, torch_dtype=dtype)
    for name in ("text_encoder", "text_encoder_2", "vae"):
        getattr(pipe, name).to("cuda:0")
    return pipe, inputs


def _tiny_device_map(transformer) -> dict[str, str]:
    # The embedders, the output head and the first block stay on the CPU; every other block is read from disk when it
    # runs, as accelerate does for weights that fit nowhere else.
    from diffusers_freqca.block_stack import find_block_stack

    blocks = [name for name, _ in find_block_stack(transformer)]
    block_lists = {name.rsplit(".", 1)[0] for name in blocks}
    device_map = {name: "cpu" for name, _ in transformer.named_children() if name not in block_lists}
    device_map.update({name: "cpu" if index == 0 else "disk" for index, name in enumerate(blocks)})
    return device_map


def _place(pipe, args: argparse.Namespace, device, offload_dir: str) -> None:
    import accelerate
    import torch
    from diffusers.hooks import apply_group_offloading
    from diffusers.models import ModelMixin

    if args.mode == "model_offload":
        pipe.enable_model_cpu_offload(device=device)
    elif args.mode == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    elif args.mode in ("group_block", "group_leaf"):
        options = {
            "onload_device": device,
            "offload_device": torch.device("cpu"),
            "use_stream": args.use_stream,
            "record_stream": args.record_stream,
        }
        if args.mode == "group_block":
            options.update(offload_type="block_level", num_blocks_per_group=args.blocks_per_group)
        else:
            options.update(offload_type="leaf_level")
        pipe.transformer.enable_group_offload(**options)
        # The text encoders and the VAE are offloaded layer by layer.
        leaf = {**options, "offload_type": "leaf_level", "num_blocks_per_group": None}
        for name, component in pipe.components.items():
            if name == "transformer" or not isinstance(component, torch.nn.Module):
                continue
            if isinstance(component, ModelMixin):
                component.enable_group_offload(**leaf)
            else:
                apply_group_offloading(component, **leaf)
    elif args.mode == "device_map" and args.tiny:
        accelerate.dispatch_model(
            pipe.transformer, device_map=_tiny_device_map(pipe.transformer), offload_dir=offload_dir
        )
    # device_map without --tiny was placed when the transformer was loaded.


def _run(pipe, inputs: dict, seed: int, device):
    import torch

    generator = torch.Generator("cpu").manual_seed(seed)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    image = pipe(**inputs, generator=generator).images[0]
    if device.type == "cuda":
        torch.cuda.synchronize()
    return image, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    r"""
    Runs the example.

    Args:
        argv (`list[str]`, *optional*): the command-line arguments; `None` reads `sys.argv`.

    Returns:
        `int`: the exit status, `0` on success.

    Example:
        ```python
        >>> main(["--tiny", "--mode", "group_block", "--steps", "12"])
        0
        ```
    """
    parser = build_parser()
    args = parser.parse_args(argv)

    import torch

    import diffusers_freqca
    from diffusers_freqca import FreqCaConfig, get_freqca_stats
    from diffusers_freqca.compare import compare_with_and_without, format_comparison, format_stats

    has_cuda = torch.cuda.is_available()
    _check_args(parser, args, has_cuda)
    # Everything --tiny does runs on the CPU, except the modes that need CUDA.
    device = (
        torch.device("cuda") if has_cuda and (not args.tiny or args.mode == "sequential" or args.use_stream) else None
    )
    device = device or torch.device("cpu")

    pipe, inputs = _load_tiny(args) if args.tiny else _load_full(args)
    pipe.set_progress_bar_config(disable=True)
    steps = args.steps or (20 if args.tiny else 50)
    inputs = {**inputs, "num_inference_steps": steps}
    config = FreqCaConfig.from_preset("flux.1-dev", "balanced")
    config = FreqCaConfig.from_dict({**config.to_dict(), "cache_interval": args.cache_interval})
    use_freqca = not args.no_freqca and not args.compare

    with contextlib.ExitStack() as stack:
        offload_dir = args.offload_dir or stack.enter_context(tempfile.TemporaryDirectory(prefix="freqca-offload-"))
        os.makedirs(offload_dir, exist_ok=True)
        if use_freqca and args.cache_first:
            pipe.transformer.enable_cache(config)
        _place(pipe, args, device, offload_dir)
        if use_freqca and not args.cache_first:
            pipe.transformer.enable_cache(config)
        placement = getattr(pipe.transformer, "hf_device_map", None)
        print(f"diffusers-freqca {diffusers_freqca.__version__}: mode={args.mode} device={device}")
        if placement is not None:
            print(f"transformer device map: {placement}")

        if args.compare:
            # The package's comparison, on this placement: FreqCa is enabled after the placement for its runs.
            del inputs["num_inference_steps"]
            result = compare_with_and_without(pipe, inputs, config, steps, seed=args.seed, repeats=args.repeats)
            print(format_comparison(result))
            image = result.images_freqca[0]
        else:
            image, seconds = _run(pipe, inputs, args.seed, device)
            print(f"{'without FreqCa' if args.no_freqca else 'with FreqCa'}: {seconds:.2f} s")
            if not args.no_freqca:
                for line in format_stats(get_freqca_stats(pipe.transformer)):
                    print(line)
    if args.output:
        image.save(args.output)
        print(f"saved {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
