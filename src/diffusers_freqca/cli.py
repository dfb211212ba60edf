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
"""The `diffusers-freqca` command: one entry point whose subcommands forward to the modules' own `main(argv)`.

Each subcommand's module is imported only when that subcommand runs, so a missing optional module or dependency
affects only its own subcommand, with a clear message. Every subcommand works from an installed wheel; the
development tools (benchmarks, training the tiny model) run from a clone of the repository instead
(`make benchmark`, `python -m benchmarks.<name>`, `python -m tools.train_tiny_flux`).
"""

import argparse
import difflib
import importlib
import sys
import textwrap
from dataclasses import dataclass

from .presets import PAPER_URL


PROG = "diffusers-freqca"


@dataclass(frozen=True)
class Subcommand:
    r"""
    A subcommand of `diffusers-freqca`.

    Args:
        name (`str`): what the user types.
        module (`str`): the module whose `main(argv)` runs it.
        summary (`str`): one or two plain sentences for `diffusers-freqca --help`.
        prefix (`tuple[str, ...]`): arguments put before the user's (e.g. the module's own subcommand).
    """

    name: str
    module: str
    summary: str
    prefix: tuple[str, ...] = ()


SUBCOMMANDS: dict[str, Subcommand] = {
    command.name: command
    for command in (
        Subcommand(
            "demo",
            "diffusers_freqca.demo",
            "See FreqCa work: generate images with the project's small trained model with and without FreqCa and "
            "compare them and the transformer evaluations saved. Runs offline, a CPU is enough.",
        ),
        Subcommand(
            "analyze",
            "diffusers_freqca.analysis",
            "Look at what FreqCa relies on: how the low- and high-frequency parts of a transformer's features change "
            "from step to step during one generation.",
        ),
        Subcommand(
            "calibrate",
            "diffusers_freqca.calibrate",
            "Choose the FreqCa configuration for your own pipeline at a compute budget from one full-compute run of it, "
            "and write freqca_config.json and a model-card section.",
        ),
        Subcommand(
            "card",
            "diffusers_freqca.card",
            "Write the FreqCa section of a model card (recommended config, code to use it, measured effect) into a "
            "local README.md and/or a Hub repository.",
        ),
        Subcommand(
            "presets",
            "diffusers_freqca.presets",
            "List the recommended FreqCa settings for each supported model and where the values come from.",
        ),
    )
}


def _commands_help() -> str:
    width = max(len(name) for name in SUBCOMMANDS) + 2
    lines = ["commands:"]
    for command in SUBCOMMANDS.values():
        wrapped = textwrap.wrap(command.summary, width=100 - width - 2)
        lines.append(f"  {command.name.ljust(width)}{wrapped[0]}")
        lines.extend(" " * (width + 2) + line for line in wrapped[1:])
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    r"""
    The top-level parser; it only formats `--help` and handles `--version`, subcommands parse their own arguments.

    Returns:
        `argparse.ArgumentParser`: the parser.

    Example:
        ```python
        >>> build_parser().prog
        'diffusers-freqca'
        ```
    """
    from . import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        usage=f"{PROG} [-h] [--version] <command> [<args>...]",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill(
            "FreqCa makes diffusion transformers in Hugging Face diffusers (FLUX, Qwen-Image, ...) faster: on most "
            "denoising steps the transformer is skipped and its output is forecast from the steps that were computed "
            f"(frequency-aware feature caching, {PAPER_URL}). This command runs the project's demo and its helpers "
            "for choosing, sharing and documenting FreqCa settings.",
            width=100,
        ),
        epilog=_commands_help() + f"\n\nRun `{PROG} <command> --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return parser


def _exit_code(error: SystemExit) -> int:
    # argparse exits with 0 (help) or 2 (bad arguments); `sys.exit("message")` carries a str.
    if error.code is None:
        return 0
    if isinstance(error.code, int):
        return error.code
    print(error.code, file=sys.stderr)
    return 1


def run_subcommand(command: str, module_name: str, argv: list[str]) -> int:
    r"""
    Imports `module_name` and runs its `main(argv)`, turning a missing module or dependency into a clear message.

    Args:
        command (`str`): the subcommand's name, for messages.
        module_name (`str`): the module to run.
        argv (`list[str]`): the arguments for its `main`.

    Returns:
        `int`: the exit status of the module's `main` (`SystemExit` is caught and turned into its status), or 1 when
        the module cannot be imported or has no `main`.

    Example:
        ```python
        >>> run_subcommand("presets", "diffusers_freqca.presets", ["--json"])
        0
        ```
    """
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is not None and (module_name == error.name or module_name.startswith(error.name + ".")):
            print(
                f"{PROG} {command}: this command is not available in this installation (the module {module_name} "
                "does not exist). Update diffusers-freqca.",
                file=sys.stderr,
            )
        else:
            print(
                f"{PROG} {command}: needs the Python package {error.name!r}, which is not installed. Install it "
                f"(e.g. `pip install {(error.name or '').split('.')[0]}`) and try again.",
                file=sys.stderr,
            )
        return 1
    entry = getattr(module, "main", None)
    if not callable(entry):
        print(f"{PROG} {command}: {module_name} has no `main(argv)` function.", file=sys.stderr)
        return 1
    try:
        status = entry(list(argv))
    except SystemExit as error:
        return _exit_code(error)
    return 0 if status is None else int(status)


def main(argv: list[str] | None = None) -> int:
    r"""
    The `diffusers-freqca` entry point.

    Args:
        argv (`list[str]`, *optional*): the arguments after the program name; `None` reads `sys.argv[1:]`.

    Returns:
        `int`: the exit status: the subcommand's, 0 for `--help` / `--version`, 2 for a missing or unknown command.

    Example:
        ```bash
        diffusers-freqca --help
        diffusers-freqca presets --model flux.1-dev
        ```
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv:
        parser.print_help(sys.stderr)
        return 2
    first = argv[0]
    if first.startswith("-"):
        # Only -h / --version exist at this level; argparse prints help or the error and exits.
        try:
            parser.parse_args(argv[:1])
        except SystemExit as error:
            return _exit_code(error)
        return 0
    command = SUBCOMMANDS.get(first)
    if command is None:
        close = difflib.get_close_matches(first, list(SUBCOMMANDS), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        print(
            f"{PROG}: error: unknown command {first!r}; the commands are {', '.join(SUBCOMMANDS)}.{hint}\n"
            f"Run `{PROG} --help` to see what each one does.",
            file=sys.stderr,
        )
        return 2
    return run_subcommand(command.name, command.module, [*command.prefix, *argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
