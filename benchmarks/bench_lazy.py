#!/usr/bin/env python
"""Lazy sweeps (docs/lazy.md) against the eager sweep, on one machine.

    python benchmarks/bench_lazy.py [--repeats 3]

Two sweeps: 90,000 cheap points (``x * y``) and 400 points of ~5 ms (a sleep). For each,
the median of ``--repeats`` runs of

- the eager ``pypetx.sweep`` (default backend: local-first, results in memory);
- ``sweep(..., lazy=True)``: building the graph (the probe run included), computing it
  with dask's threaded scheduler, and computing it on a ``LocalCluster`` of two worker
  processes;
- ``pypetx.save`` of the lazy sweep into an HDF5 file (through the journal);

Writes benchmarks/LAZY.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import dask

import pypetx

HERE = Path(__file__).resolve().parent


def cheap(x, y):
    return x * y


def slow(x, y):
    time.sleep(0.005)
    return x + y


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(fn, lists: dict, repeats: int, client) -> dict[str, float]:
    rows: dict[str, list[float]] = {}

    def add(name: str, seconds: float) -> None:
        rows.setdefault(name, []).append(seconds)

    for _ in range(repeats):
        add("eager sweep", timed(lambda: pypetx.sweep(fn, **lists)))
        t0 = time.perf_counter()
        ds = pypetx.sweep(fn, lazy=True, **lists)
        add("lazy: build (probe + graph)", time.perf_counter() - t0)
        with dask.config.set(scheduler="threads"):
            add("lazy: compute, threads", timed(ds.compute))
        with client.as_current():
            ds = pypetx.sweep(fn, lazy=True, **lists)  # blocks sized for the cluster
            add("lazy: compute, LocalCluster", timed(ds.compute))
        with tempfile.TemporaryDirectory() as tmp:
            add("lazy: pypetx.save to HDF5", timed(
                lambda: pypetx.save(ds, Path(tmp) / "s.h5", cluster="local").close()))
    return {k: statistics.median(v) for k, v in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    cases = {
        "90,000 points of x * y": (cheap, {"x": list(range(300)), "y": list(range(300))}),
        "400 points of 5 ms": (slow, {"x": list(range(20)), "y": list(range(20))}),
    }
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, \
            Client(cluster, set_as_default=False) as client:
        results = {name: measure(fn, lists, args.repeats, client)
                   for name, (fn, lists) in cases.items()}
    lines = ["# Lazy sweeps against the eager sweep", "",
             f"`python benchmarks/bench_lazy.py --repeats {args.repeats}`: median seconds; "
             "LocalCluster: 2 worker processes, 1 thread each. The eager sweep and "
             "`pypetx.save` use pypetx's default backend (local-first).", ""]
    names = list(next(iter(results.values())))
    lines.append("| | " + " | ".join(results) + " |")
    lines.append("|---|" + "---:|" * len(results))
    for row in names:
        lines.append(f"| {row} | " + " | ".join(f"{r[row]:.3f}" for r in results.values())
                     + " |")
    (HERE / "LAZY.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
