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
"""FreqCa with diffusers' context parallelism: every image's tokens split over several processes (docs/multi_gpu.md).

Launch one process per GPU with torchrun. Every process loads the pipeline and calls it with the same inputs and
seed; the transformer splits each image's token sequence over the processes (Ulysses and/or ring attention) and
FreqCa, enabled on it as usual, skips the same steps on every process. The script first runs FreqCa in each process
alone (the reference; `--no-reference` skips it), then under context parallelism, and prints what FreqCa did on every
rank and the largest difference of the latents to the reference after every step. Rank 0 saves the image.

    torchrun --nproc-per-node 2 examples/context_parallel.py --tiny            # CPU, gloo, the tiny checkpoint
    torchrun --nproc-per-node 2 examples/context_parallel.py                   # 2 GPUs, NCCL, FLUX.1-dev, Ulysses 2
    torchrun --nproc-per-node 4 examples/context_parallel.py --ulysses 2 --ring 2 --attention-backend _native_cudnn
    torchrun --nproc-per-node 2 examples/context_parallel.py --tiny --measure-gather --tokens 4096 --channels 3072

`--measure-gather` times what FreqCa's band split adds under context parallelism on each full step instead: gathering
the head input's shards of one image (`--tokens` x `--channels`, float32) and low-pass filtering the whole grid.
"""

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    r"""
    The command-line parser of this example.

    Returns:
        `argparse.ArgumentParser`: the parser.

    Example:
        ```python
        >>> build_parser().parse_args(["--tiny", "--ulysses", "2"]).ulysses
        2
        ```
    """
    parser = argparse.ArgumentParser(
        prog="context_parallel.py",
        description=(
            "Run FreqCa on a FLUX pipeline under diffusers' context parallelism (launch with torchrun, one process "
            "per GPU) and compare every step with FreqCa in one process."
        ),
    )
    parser.add_argument(
        "--model", default="black-forest-labs/FLUX.1-dev", help="Hub id or folder of a FLUX pipeline (%(default)s)."
    )
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="The project's tiny trained checkpoint on the CPU with gloo instead of --model on GPUs with NCCL.",
    )
    parser.add_argument(
        "--ulysses", type=int, default=None, help="Ulysses degree (default: the number of processes / --ring)."
    )
    parser.add_argument(
        "--ring",
        type=int,
        default=1,
        help="Ring degree (default: %(default)s). Ring attention needs a GPU attention backend, see --attention-backend.",
    )
    parser.add_argument(
        "--attention-backend",
        default=None,
        help=(
            "diffusers attention backend, e.g. 'flash' or '_native_cudnn' (bfloat16/float16): ring attention needs "
            "one that returns the log-sum-exp, which diffusers' default ('native') does not."
        ),
    )
    parser.add_argument("--steps", type=int, default=None, help="Denoising steps (default: 28; 20 with --tiny).")
    parser.add_argument("--interval", type=int, default=6, help="FreqCa's cache interval N (default: %(default)s).")
    parser.add_argument(
        "--decomposition",
        default="dct",
        choices=("none", "dct", "fft"),
        help=(
            "FreqCa's band split (default: %(default)s). 'dct' and 'fft' gather each image's shards on full steps; "
            "'none' (or equal orders) exchanges nothing but one vote per step."
        ),
    )
    parser.add_argument(
        "--low-order", type=int, default=0, help="Forecast order of the low band (default: %(default)s)."
    )
    parser.add_argument(
        "--high-order",
        type=int,
        default=1,
        help="Forecast order of the high band (default: %(default)s). Equal orders need no band split.",
    )
    parser.add_argument("--prompt", default="A lighthouse on a cliff at dawn", help="Prompt (ignored with --tiny).")
    parser.add_argument("--height", type=int, default=1024, help="Image height (--tiny: 64).")
    parser.add_argument("--width", type=int, default=1024, help="Image width (--tiny: 64).")
    parser.add_argument(
        "--dtype", default="bfloat16", choices=("bfloat16", "float16", "float32"), help="Weights dtype (not --tiny)."
    )
    parser.add_argument("--seed", type=int, default=0, help="Generator seed, the same on every rank (%(default)s).")
    parser.add_argument(
        "--output", default="outputs/context_parallel.png", help="Where rank 0 saves the image (%(default)s)."
    )
    parser.add_argument(
        "--no-reference", action="store_true", help="Skip the single-process FreqCa run and the comparison."
    )
    parser.add_argument(
        "--measure-gather",
        action="store_true",
        help="Only time the gather (and the whole-grid low-pass) of one image's head input; no pipeline.",
    )
    parser.add_argument(
        "--tokens", type=int, default=4096, help="--measure-gather: image tokens (4096: 1024x1024 FLUX)."
    )
    parser.add_argument(
        "--channels", type=int, default=3072, help="--measure-gather: channels of the head input (3072: FLUX)."
    )
    parser.add_argument("--repeats", type=int, default=10, help="--measure-gather: timed repeats (%(default)s).")
    return parser


def setup_distributed(tiny: bool):
    r"""
    Joins the process group torchrun describes: gloo on the CPU (`--tiny`), NCCL with one GPU per process otherwise.

    Args:
        tiny (`bool`): whether to run on the CPU.

    Returns:
        `tuple[int, int, torch.device]`: the rank, the number of processes and this process's device.

    Raises:
        `SystemExit`: when not launched by torchrun, or with too few GPUs.
    """
    import torch
    import torch.distributed as dist

    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        sys.exit("Launch this script with torchrun, e.g. `torchrun --nproc-per-node 2 examples/context_parallel.py`.")
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if tiny:
        device, backend = torch.device("cpu"), "gloo"
        if torch.accelerator.device_count() == 0:
            # diffusers 0.42.1's `enable_parallelism` places each rank on device `rank % device_count()`, which is a
            # division by zero with CPU-only torch; one "device" (the CPU) is what it should see.
            torch.accelerator.device_count = lambda: 1
    else:
        if torch.cuda.device_count() <= local_rank:
            sys.exit(f"Process {local_rank} has no GPU ({torch.cuda.device_count()} visible); use --tiny on CPUs.")
        device, backend = torch.device("cuda", local_rank), "nccl"
        torch.cuda.set_device(device)
    dist.init_process_group(backend, rank=rank, world_size=world_size)
    return rank, world_size, device


def load_pipeline(args, device):
    r"""
    The FLUX pipeline and its call arguments.

    Args:
        args (`argparse.Namespace`): the parsed arguments.
        device (`torch.device`): this process's device.

    Returns:
        `tuple[FluxPipeline, dict]`: the pipeline on `device` and the keyword arguments of its call (without the
        generator and callbacks).
    """
    import torch
    from diffusers import FluxPipeline

    from diffusers_freqca.tiny_flux import load_tiny_flux_pipeline, pipeline_inputs

    if args.tiny:
        pipe = load_tiny_flux_pipeline()
        kwargs = pipeline_inputs(pipe, classes=["concentric yellow rings"])
        steps = args.steps or 20
    else:
        pipe = FluxPipeline.from_pretrained(args.model, torch_dtype=getattr(torch, args.dtype)).to(device)
        kwargs = {"prompt": args.prompt, "height": args.height, "width": args.width}
        steps = args.steps or 28
    if args.attention_backend:
        pipe.transformer.set_attention_backend(args.attention_backend)
    return pipe, {**kwargs, "num_inference_steps": steps}


def generate(pipe, kwargs, seed: int):
    r"""
    One pipeline call with a fresh generator; returns the image and the latents after every step (float32, CPU).
    """
    import torch

    latents = []

    def record(pipeline, step, timestep, callback_kwargs):
        latents.append(callback_kwargs["latents"].float().cpu())
        return {}

    generator = torch.Generator("cpu").manual_seed(seed)
    started = time.perf_counter()
    image = pipe(**kwargs, generator=generator, callback_on_step_end=record).images[0]
    return image, latents, time.perf_counter() - started


def measure_gather(args, rank: int, world_size: int, device) -> None:
    r"""
    Times, on every rank, the gather of one image's head input from its shards and the whole-grid low-pass that
    FreqCa's band split runs on each full step under context parallelism; rank 0 prints the medians.
    """
    import torch
    import torch.distributed as dist

    from diffusers_freqca import BandSplitter, GridSegment, TokenLayout
    from diffusers_freqca.parallel import ContextParallelGroup, low_pass_shard

    # All processes share the image, as they do under `ContextParallelConfig(ulysses_degree=world_size)`.
    group = ContextParallelGroup(
        group=dist.group.WORLD,
        rank=rank,
        degree=world_size,
        uneven=False,
        vote_device=torch.device("cpu") if dist.get_backend() == "gloo" else device,
    )
    side = math.isqrt(args.tokens)
    height = side if side * side == args.tokens else 1
    layout = TokenLayout(args.tokens, (GridSegment(0, height, args.tokens // height),))
    start, end = group.shard_range(args.tokens)
    shard = torch.randn(1, end - start, args.channels, device=device)
    splitter = BandSplitter("dct" if args.decomposition == "none" else args.decomposition, 0.1)

    def timed(fn):
        times = []
        for repeat in range(args.repeats + 2):
            dist.barrier()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            started = time.perf_counter()
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if repeat >= 2:  # two warm-up rounds
                times.append(time.perf_counter() - started)
        return statistics.median(times)

    gather_s = timed(lambda: group.gather_sequence(shard))
    low_pass_s = timed(lambda: low_pass_shard(splitter, shard, layout, group))  # what FreqCa runs on a full step
    vote_s = timed(lambda: group.agree(rank == 0))
    received = shard.element_size() * args.channels * (args.tokens - shard.shape[1])
    results = [None] * world_size
    dist.all_gather_object(results, (gather_s, low_pass_s, vote_s))
    if rank == 0:
        print(
            f"{world_size} ranks ({dist.get_backend()}, {device.type}), one image of {args.tokens} tokens x "
            f"{args.channels} channels (float32, {args.tokens * args.channels * 4 / 2**20:.1f} MiB): each rank "
            f"receives {received / 2**20:.1f} MiB per full step"
        )
        for name, index in (("gather", 0), (f"gather + {splitter.decomposition} low-pass", 1), ("vote", 2)):
            per_rank = ", ".join(f"{result[index] * 1e3:.2f}" for result in results)
            print(f"  {name}: median ms per rank [{per_rank}]")


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    rank, world_size, device = setup_distributed(args.tiny)
    if args.ulysses is None:
        args.ulysses = world_size // args.ring
    if args.ulysses * args.ring != world_size:
        sys.exit(f"--ulysses {args.ulysses} x --ring {args.ring} must equal the number of processes ({world_size}).")
    if args.tiny and args.ring > 1 and not args.measure_gather:
        sys.exit(
            "Ring attention needs an attention backend that returns the log-sum-exp of the scores; in diffusers "
            "0.42.1 all of them need CUDA. On the CPU use --ulysses only."
        )

    import torch
    import torch.distributed as dist
    from diffusers import ContextParallelConfig
    from diffusers.utils import logging

    from diffusers_freqca import FreqCaConfig, get_freqca_stats

    logging.set_verbosity_error()
    torch.set_grad_enabled(False)
    try:
        if args.measure_gather:
            measure_gather(args, rank, world_size, device)
            dist.barrier()
            return
        pipe, kwargs = load_pipeline(args, device)
        pipe.set_progress_bar_config(disable=True)
        config = FreqCaConfig(
            cache_interval=args.interval,
            # Equal orders split nothing (and a config refuses a split then): no split, nothing to gather.
            decomposition="none" if args.low_order == args.high_order else args.decomposition,
            low_freq_order=args.low_order,
            high_freq_order=args.high_order,
        )

        reference = None
        if not args.no_reference:
            # FreqCa in this process alone, before the transformer is split: the reference of every step.
            pipe.transformer.enable_cache(config)
            _, reference, single_s = generate(pipe, kwargs, args.seed)
            pipe.transformer.disable_cache()

        pipe.transformer.enable_parallelism(
            config=ContextParallelConfig(ulysses_degree=args.ulysses, ring_degree=args.ring)
        )
        pipe.transformer.enable_cache(config)
        image, latents, parallel_s = generate(pipe, kwargs, args.seed)
        stats = get_freqca_stats(pipe.transformer)

        reports = [None] * world_size
        dist.all_gather_object(reports, str(stats))
        if rank == 0:
            print(
                f"context parallelism: ulysses {args.ulysses} x ring {args.ring} over {world_size} processes "
                f"({dist.get_backend()}, {device.type}); FreqCa cache_interval={args.interval}, "
                f"decomposition={args.decomposition!r}, orders low {args.low_order} / high {args.high_order}"
            )
            for index, report in enumerate(reports):
                print(f"[rank {index}] " + report.replace("\n", f"\n[rank {index}] "))
            gathered = sum(context.gathered_bytes for context in stats.contexts.values())
            print(f"rank 0 gathered {gathered / 2**20:.2f} MiB for the band split")
            print(f"time: {parallel_s:.2f} s under context parallelism", end="")
            if reference is not None:
                differences = [float((a - b).abs().max()) for a, b in zip(reference, latents)]
                print(f", {single_s:.2f} s in one process")
                print(
                    f"largest difference of the latents to the single-process run over {len(differences)} steps: "
                    f"{max(differences):.2e}"
                )
                print("per step: " + " ".join(f"{d:.1e}" for d in differences))
            else:
                print()
            Path(args.output).parent.mkdir(parents=True, exist_ok=True)
            image.save(args.output)
            print(f"saved {args.output}")
        # Leave together: a rank that tears its process group down while another still uses it aborts with gloo.
        dist.barrier()
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
