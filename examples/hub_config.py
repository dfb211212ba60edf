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
"""FreqCa configs as files and on the Hugging Face Hub (tutorial: docs/tutorials/hub_configs.md).

1. Takes a preset (`FreqCaConfig.from_preset`) or a config from the Hub (`--from-hub user/repo`);
2. saves it as `freqca_config.json` (`save_pretrained`) and loads it back (`from_pretrained`), checking that nothing
   changed; with `--push-to-hub user/repo` also uploads it (`push_to_hub`, a pull request with `--create-pr`);
3. compares FLUX with the loaded config and without FreqCa: transformer evaluations, median wall times of interleaved
   runs, the measured speed-up next to the ideal one, PSNR and `get_freqca_stats`.

    python examples/hub_config.py                               # preset -> file -> FLUX.1-dev on a GPU
    python examples/hub_config.py --setting fast --push-to-hub my-user/flux-freqca --create-pr
    python examples/hub_config.py --from-hub my-user/flux-freqca
    python examples/hub_config.py --tiny                        # the tiny trained model, CPU, offline
"""

import argparse
import sys
from pathlib import Path

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

from diffusers_freqca.presets import SETTINGS


def build_parser() -> argparse.ArgumentParser:
    r"""
    The command-line parser of this example.

    Example:
        ```python
        >>> build_parser().parse_args(["--setting", "fast"]).setting
        'fast'
        ```
    """
    parser = argparse.ArgumentParser(
        prog="hub_config.py",
        description=(
            "Save a FreqCa config as freqca_config.json, load it back, optionally push it to the Hub, and use it on "
            "FLUX with and without FreqCa."
        ),
    )
    add_common_arguments(parser, "black-forest-labs/FLUX.1-dev", "outputs/hub_config.png")
    parser.set_defaults(interval=None)
    parser.add_argument("--preset", default="flux.1-dev", help="Preset model name (default: %(default)s).")
    parser.add_argument(
        "--setting",
        default="balanced",
        choices=SETTINGS,
        help="Preset setting (default: %(default)s).",
    )
    parser.add_argument("--from-hub", default=None, help="Start from the config of this Hub repo (or folder).")
    parser.add_argument(
        "--save-dir", default="outputs/freqca-config", help="Where to write freqca_config.json (default: %(default)s)."
    )
    parser.add_argument("--push-to-hub", default=None, metavar="REPO_ID", help="Also upload the config to this repo.")
    parser.add_argument("--create-pr", action="store_true", help="With --push-to-hub: open a pull request.")
    parser.add_argument(
        "--prompt", default="A cat holding a sign that says hello world", help="Prompt (ignored with --tiny)."
    )
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
        >>> main(["--tiny", "--setting", "fast"])
        0
        ```
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    check_common_arguments(parser, args)
    if args.create_pr and args.push_to_hub is None:
        parser.error("--create-pr needs --push-to-hub.")

    from diffusers import FluxPipeline

    from diffusers_freqca import FreqCaConfig

    # 1. A config: the preset (the interval may be overridden) or one from the Hub.
    if args.from_hub is not None:
        config = FreqCaConfig.from_pretrained(args.from_hub)
        print(f"loaded the FreqCa config of {args.from_hub}")
    else:
        config = FreqCaConfig.from_preset(args.preset, args.setting)
        print(f"preset {args.preset!r} / {args.setting!r}")
    config = with_interval(config, args.interval)

    # 2. To a file and back. The file holds every field, so a reader with other defaults gets the same config.
    path = config.save_pretrained(args.save_dir)
    print(f"wrote {path}:")
    print(Path(path).read_text(encoding="utf-8"))
    loaded = FreqCaConfig.from_pretrained(args.save_dir)
    if loaded != config:
        raise SystemExit(f"the config read back differs from the one written: {loaded} != {config}")
    print("read it back with FreqCaConfig.from_pretrained: identical")
    if args.push_to_hub is not None:
        commit = config.push_to_hub(args.push_to_hub, create_pr=args.create_pr)
        print(f"pushed to {args.push_to_hub}: {getattr(commit, 'pr_url', None) or commit}")

    # 3. Use it.
    device = resolve_device(args)
    if args.tiny:
        print(NOTE_TRAINED.format(model=args.model))
        pipe, inputs = load_tiny_flux()
    else:
        pipe = FluxPipeline.from_pretrained(args.model, torch_dtype=torch_dtype(args))
        inputs = {"prompt": args.prompt, "height": 1024, "width": 1024, "guidance_scale": 3.5}
    place(pipe, args, device)
    result = compare(pipe, inputs, loaded, args)
    save_images(result, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
