# Copyright 2026 The diffusers-freqca authors. Licensed under the Apache License, Version 2.0.
"""How good can *any* placement of the full steps be? A local search over schedules at a fixed compute, against plain
sampling with as many and with one more denoising step.

    python -m benchmarks.placement_search --model flux-patterns-16x20 --setting t2i-28 --interval 9 --images 8

The zoo's margin compares the default with every peer that uses at most one more transformer evaluation, plain
sampling with fewer steps among them. Where the default loses to plain sampling, this asks whether a better schedule
could have won: starting from the default's full steps and from an even grid, it moves one full step at a time by
one or two steps (step 0 stays full; the count stays the default's), keeps a move when it raises the PSNR by more than
0.02 dB, and stops when no move does. It does so for three forecasts through FreqCa's own hooks: the default (first
order, sigma axis), first order along the step index, and order 0 (the last full step's output reused, which on a
rectified-flow Euler sampler is plain sampling on the full steps' sigmas). What it finds is a local optimum, not a
proof; it is also chosen on the images that judge it, so it is an optimistic bound for a schedule rule, which cannot
see the reference.
"""

import argparse
import json
from pathlib import Path

from benchmarks.zoo import SETTINGS, ZooBench, images_for
from diffusers_freqca.calibrate import plain_steps_for
from diffusers_freqca.config import FreqCaConfig
from diffusers_freqca.schedule import full_steps


# The forecasts searched: label -> FreqCaConfig fields beside the schedule.
FORECASTS: dict[str, dict] = {
    "default forecast (first order, sigma axis)": {},
    "first order, step axis": {"spacing": "step"},
    "order 0 (reuse)": {"low_freq_order": 0, "high_freq_order": 0},
}

# A move is kept only when it gains more than this (dB): below it, image-set noise decides.
MIN_GAIN = 0.02


def placement_config(steps: tuple[int, ...], **fields) -> FreqCaConfig:
    r"""
    A FreqCa config that runs exactly `steps` in full: step 0 is the only warm-up step and no interval ever elapses.

    Args:
        steps (`tuple[int, ...]`): the full steps, step indices within the generation (0 included).
        **fields: other [`FreqCaConfig`] fields (the forecast).

    Returns:
        [`FreqCaConfig`]
    """
    if not steps or steps[0] != 0 or list(steps) != sorted(set(steps)):
        raise ValueError(f"`steps` must be increasing step indices starting at 0 (always full), got {steps!r}.")
    never = 10**6
    return FreqCaConfig(
        cache_interval=never, first_interval=never, disable_cache_before_step=1, full_compute_steps=steps, **fields
    )


def even_grid(run_steps: int, count: int) -> tuple[int, ...]:
    r"""
    `count` full steps spread evenly over `run_steps` steps, starting at 0 (the step indices closest to `k *
    run_steps / count`).

    Example:
        ```python
        >>> even_grid(28, 5)
        (0, 6, 11, 17, 22)
        ```
    """
    return tuple(sorted({min(run_steps - 1, round(k * run_steps / count)) for k in range(count)}))


def neighbours(steps: tuple[int, ...], run_steps: int) -> list[tuple[int, ...]]:
    r"""
    The placements one move away: one full step other than step 0 moved by -2, -1, +1 or +2 steps, order and count
    kept, all within `[1, run_steps)`.

    Example:
        ```python
        >>> neighbours((0, 2, 4), 6)
        [(0, 1, 4), (0, 3, 4), (0, 2, 3), (0, 2, 5)]
        ```
    """
    found = []
    for index in range(1, len(steps)):
        for delta in (-2, -1, 1, 2):
            moved = steps[index] + delta
            lower = steps[index - 1]
            upper = steps[index + 1] if index + 1 < len(steps) else run_steps
            if lower < moved < upper:
                found.append(steps[:index] + (moved,) + steps[index + 1 :])
    return found


def local_search(score, start: tuple[int, ...], run_steps: int, log=print) -> tuple[tuple[int, ...], float, int]:
    r"""
    Hill-climbs from `start`: takes the first neighbour (see [`neighbours`]) that gains more than `MIN_GAIN`, until
    none does.

    Args:
        score (`Callable[[tuple[int, ...]], float]`): PSNR (dB) of a placement; memoised by the caller.
        start (`tuple[int, ...]`): the first placement.
        run_steps (`int`): steps in the generation.

    Returns:
        `tuple`: the best placement, its PSNR and the number of moves taken.
    """
    best, best_score, moves = start, score(start), 0
    improved = True
    while improved:
        improved = False
        for candidate in neighbours(best, run_steps):
            value = score(candidate)
            if value > best_score + MIN_GAIN:
                best, best_score, moves, improved = candidate, value, moves + 1, True
                log(f"  {list(best)}: {best_score:.2f} dB")
                break
    return best, best_score, moves


def search(name: str, setting: str, interval: int, images: int, log=print) -> dict:
    r"""
    Runs the search for one zoo model, setting and interval.

    Returns:
        `dict`: the default's full steps and PSNR, plain sampling with as many and one more step, and per forecast
        the best placement found, its PSNR and how many placements were measured.
    """
    bench = ZooBench(name, setting, images)
    default_steps = tuple(full_steps(bench.run_steps, FreqCaConfig(cache_interval=interval)))
    count = len(default_steps)
    default = bench.measure("default", "FreqCa", interval, FreqCaConfig(cache_interval=interval))
    result = {
        "model": name, "setting": setting, "interval": interval, "images": images, "run_steps": bench.run_steps,
        "default_full_steps": list(default_steps), "default_psnr": default.psnr, "plain": {}, "forecasts": {},
    }  # fmt: skip
    for extra in (0, 1):
        # Plain sampling's steps are counted like the zoo's: what the pipeline runs for the steps it is given.
        steps = count + extra if bench.strength is None else plain_steps_for(count + extra, bench.strength)
        plain = bench.measure(f"{steps} steps", "fewer steps", 0, None, steps=steps)
        result["plain"][str(count + extra)] = plain.psnr
        log(f"{name} {setting}: plain sampling, {count + extra} evaluations: {plain.psnr:.2f} dB")
    for label, fields in FORECASTS.items():
        cache: dict[tuple[int, ...], float] = {}

        def score(steps: tuple[int, ...], cache=cache, fields=fields) -> float:
            if steps not in cache:
                measured = bench.measure(str(steps), "FreqCa", interval, placement_config(steps, **fields))
                # The hooks may compute a step the schedule did not ask for (e.g. too little history): that would
                # compare placements at different compute.
                if round(measured.evaluations) != len(steps):
                    raise RuntimeError(f"{steps} ran {measured.evaluations:.2f} evaluations, not {len(steps)}.")
                cache[steps] = measured.psnr
            return cache[steps]

        best = None
        for start in (default_steps, even_grid(bench.run_steps, count)):
            log(f"{name} {setting} N={interval} {label}, from {list(start)}: {score(start):.2f} dB")
            found = local_search(score, start, bench.run_steps, log=log)
            if best is None or found[1] > best[1]:
                best = found
        result["forecasts"][label] = {
            "best_full_steps": list(best[0]), "psnr": best[1], "placements_measured": len(cache),
            "from_default_schedule": cache[default_steps],
        }  # fmt: skip
    return result


PAGE_HEADER = """# Placement search: the best schedule found at the default's compute

`python -m benchmarks.placement_search --model <model> --setting <setting> --interval <N> --out
docs/benchmark_results/placement_search.json` (2-core CPU). For the default's number of full steps, a local search
over where they fall (one full step moved by 1 or 2 steps at a time, from the default's schedule and from an even
grid; step 0 stays full), for three forecasts, against plain sampling with as many and with one more denoising step.
The search is scored on the images that judge it, so the best placement is an optimistic bound for any schedule rule.
PSNR in dB against the full computation (mean over the images).

"""


def format_search(results: list[dict]) -> str:
    r"""A markdown table of [`search`]'s results, one row per forecast."""
    lines = [
        "| model | setting | N | full steps | default's full steps | default | plain, as many | plain, one more | forecast | best placement "
        "| its PSNR | margin over plain, one more | placements measured |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        count = len(result["default_full_steps"])
        plain_same, plain_more = result["plain"][str(count)], result["plain"][str(count + 1)]
        for label, found in result["forecasts"].items():
            lines.append(
                f"| {result['model']} | {result['setting']} | {result['interval']} | {count} "
                f"| {result['default_full_steps']} | {result['default_psnr']:.2f} | {plain_same:.2f} | {plain_more:.2f} | {label} "
                f"| {found['best_full_steps']} | {found['psnr']:.2f} | {found['psnr'] - plain_more:+.2f} "
                f"| {found['placements_measured']} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a zoo model (tools/zoo/specs.py)")
    parser.add_argument(
        "--setting", default="t2i-28", choices=sorted(SETTINGS), help="steps and img2img strength (default: t2i-28)"
    )
    parser.add_argument(
        "--interval", type=int, default=9, help="the default's cache_interval N: its full steps set the count (9)"
    )
    parser.add_argument(
        "--images",
        type=int,
        default=None,
        help="images per run (default: as many as the model's zoo page was measured with)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="add the result to this JSON list and write its table beside it (.md)"
    )
    args = parser.parse_args(argv)
    result = search(
        args.model,
        args.setting,
        args.interval,
        images_for(args.model, args.images),
        log=lambda *a: print(*a, flush=True),
    )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        stored = json.loads(args.out.read_text()) if args.out.exists() else []
        stored = [
            r for r in stored if (r["model"], r["setting"], r["interval"]) != (args.model, args.setting, args.interval)
        ]
        args.out.write_text(json.dumps([*stored, result], indent=1) + "\n")
        args.out.with_suffix(".md").write_text(PAGE_HEADER + format_search([*stored, result]) + "\n")
    print(format_search([result]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
