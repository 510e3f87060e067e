"""Points evaluated to reach a given error on the 2-D ring of examples/adaptive_2d.py:
pypetx.adaptive (Learner2D) against grid sweeps, and the driver's cost per round.

    python benchmarks/bench_adaptive.py [--max-points 3600] [--write benchmarks/ADAPTIVE.md]

The adaptive sweep runs once to ``--max-points``; after every round its samples are
interpolated onto the fine truth grid (``pypetx.to_grid``) and the mean absolute error is
recorded. Grid sweeps of n x n points (``pypetx.sweep``) are interpolated linearly.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import adaptive
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "examples"))

import adaptive_2d as example  # noqa: E402

import pypetx  # noqa: E402

TARGETS = (0.03, 0.02, 0.01, 0.005)


def adaptive_curve(max_points: int, workdir: Path, points_per_round: int) -> tuple[list, float, int]:
    exact = example.truth()
    curve: list[tuple[int, float]] = []
    rounds = 0

    def record(env):
        nonlocal rounds
        rounds += 1
        ds = env.dataset
        curve.append((ds.sizes["run"], example.adaptive_error(ds, exact)))

    learner = adaptive.Learner2D(None, bounds=[(-1, 1), (-1, 1)])
    start = time.perf_counter()
    pypetx.adaptive(example.ring, learner, npoints_goal=max_points,
                    filename=workdir / "adaptive.h5", name="adaptive",
                    points_per_round=points_per_round, callback=record)
    return curve, time.perf_counter() - start, rounds


def time_without_callback(max_points: int, workdir: Path, points_per_round: int) -> float:
    learner = adaptive.Learner2D(None, bounds=[(-1, 1), (-1, 1)])
    start = time.perf_counter()
    pypetx.adaptive(example.ring, learner, npoints_goal=max_points,
                    filename=workdir / "timed.h5", name="adaptive",
                    points_per_round=points_per_round)
    return time.perf_counter() - start


def grid_curve(max_side: int, workdir: Path) -> list[tuple[int, float]]:
    exact = example.truth()
    out = []
    for side in range(6, max_side + 1, 2):
        axis = np.linspace(-1, 1, side)
        ds = pypetx.sweep(example.ring, x=axis, y=axis)
        out.append((side * side, example.grid_error(ds, exact)))
    return out


def points_to_reach(curve: list[tuple[int, float]], target: float) -> int | None:
    return next((n for n, e in curve if e <= target), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-points", type=int, default=3600)
    parser.add_argument("--max-side", type=int, default=120)
    parser.add_argument("--points-per-round", type=int, default=16)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        curve, seconds, rounds = adaptive_curve(args.max_points, workdir, args.points_per_round)
        plain = time_without_callback(args.max_points, workdir, args.points_per_round)
        grids = grid_curve(args.max_side, workdir)
    rows = []
    for target in TARGETS:
        a, g = points_to_reach(curve, target), points_to_reach(grids, target)
        ratio = f"{g / a:.1f}x" if a and g else "-"
        rows.append(f"| {target} | {a or f'> {args.max_points}'} | "
                    f"{g or f'> {args.max_side ** 2}'} | {ratio} |")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=HERE).stdout.strip()
    text = "\n".join([
        "# Adaptive sampling against a grid",
        "",
        f"`python benchmarks/bench_adaptive.py` at {commit} (+ working tree): the ring of "
        "`examples/adaptive_2d.py`, `tanh((x² + y² - 0.5) / 0.02) + 0.3 x` on [-1, 1]², "
        "error = mean absolute error against the function on a 401 x 401 grid (adaptive: "
        "`pypetx.to_grid`, linear on the samples' triangulation; grid: linear "
        "interpolation). Default backend (local-first: the driver runs these cheap points).",
        "",
        "Points evaluated to reach the error:",
        "",
        "| error | adaptive (Learner2D) | grid n x n | grid / adaptive |",
        "|---:|---:|---:|---:|",
        *rows,
        "",
        f"Driver cost: {args.max_points} points in {rounds} rounds of "
        f"{args.points_per_round} took {plain:.1f} s ({plain / rounds * 1000:.0f} ms per "
        f"round, {plain / args.max_points * 1000:.1f} ms per point: the learner's ask/tell, "
        "one journaled and consolidated Environment run per round); with the per-round "
        f"error evaluation {seconds:.1f} s.",
        "",
        "Adaptive error by points: " + ", ".join(
            f"{n}: {e:.4f}" for n, e in curve[:: max(1, len(curve) // 12)]),
        "",
        "Grid error by points: " + ", ".join(
            f"{n}: {e:.4f}" for n, e in grids[:: max(1, len(grids) // 12)]),
        "",
    ])
    print(text)
    if args.write:
        args.write.write_text(text)


if __name__ == "__main__":
    main()
