#!/usr/bin/env python
"""Reopening a stored grid: from its axes (the codec) vs per-run columns + recognition.

    python benchmarks/bench_explore_codec.py [--side 1000] [--repeats 5]

Before the single exploration codec, ``pypetx.load`` and resume turned a stored grid into
every run's values (``decode_exploration``) and recognised the grid in them again
(``Exploration(columns, axes)``); now ``Exploration.decode`` rebuilds it from its axis
values (``from_grid``). Both paths still exist, so one run measures both on the same
description (in memory: no file I/O, which both paths share). Writes
benchmarks/EXPLORE_CODEC.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from pypetx.core.explore import Exploration, cartesian_product
from pypetx.store.layout import decode_exploration, describe_exploration

HERE = Path(__file__).resolve().parent


def grids(side: int):
    xs = np.arange(side, dtype=float).tolist()
    ys = np.arange(side, dtype=float).tolist()
    p = cartesian_product({"parameters.x": xs, "parameters.y": ys})
    grid = Exploration.from_grid(p.axes, p.axis_values)
    yield f"{side}x{side} float grid, C order", grid
    more = Exploration.from_grid(p.axes, {"parameters.x": xs, "parameters.y": [-1.0]})
    yield f"{side}x{side} grid expanded along y (not C order)", grid.expand(more)
    names = [f"n{i}" for i in range(side)]
    s = cartesian_product({"parameters.s": names, "parameters.y": ys})
    yield f"{side}x{side} grid of strings x floats", Exploration.from_grid(s.axes, s.axis_values)


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for what, e in grids(args.side):
        desc, arrays = describe_exploration(e)
        desc = json.loads(json.dumps(desc))

        def old():
            v1 = decode_exploration(desc, arrays)
            axes = tuple(map(tuple, v1["axes"]))
            return Exploration(v1["columns"], axes)

        def new():
            return Exploration.decode(desc, arrays)

        a, b = old(), new()
        assert a.positions.tolist() == b.positions.tolist() and a.shape == b.shape
        t_old, t_new = best(old, args.repeats), best(new, args.repeats)
        rows.append((what, e.n_runs, t_old * 1e3, t_new * 1e3))
        print(f"{what}: per-run + recognition {t_old * 1e3:.1f} ms, from axes "
              f"{t_new * 1e3:.2f} ms ({t_old / t_new:.0f}x)")
    lines = [
        "# Reopening a stored grid: from its axes vs per-run columns + recognition",
        "",
        f"`python benchmarks/bench_explore_codec.py --side {args.side} --repeats "
        f"{args.repeats}` (best of {args.repeats}; description decoded in memory).",
        "",
        "| grid | runs | per-run columns + recognition (ms) | `Exploration.decode` (ms) | speed-up |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {w} | {n:,} | {o:.1f} | {d:.2f} | {o / d:.0f}x |" for w, n, o, d in rows]
    (HERE / "EXPLORE_CODEC.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
