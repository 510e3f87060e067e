#!/usr/bin/env python
"""Before/after of the layered restructuring (issue #16), side by side in one run.

    python benchmarks/bench_architecture.py                 # before = b57fcce, after = this tree
    python benchmarks/bench_architecture.py --before REV --repeats 7

Two numbers per checkout, each measured in a fresh subprocess, the checkouts interleaved
(before, after, before, after, ...) so that load on the machine hits both alike:

- the per-run cost of pypet's ``multiply(traj)`` (``traj.f_add_result("z", traj.x *
  traj.y)``) in the worker-side batch loop, ``engine.task.run_batch`` over 2*10^5 runs in
  one process (the run view and result collection, nothing else);
- how many times ``pypetx.load`` of a stored 6-run file constructs ``h5py.File``, and how
  long it takes.

The "before" checkout is a git worktree under benchmarks/_work/ (gitignored). Writes
benchmarks/ARCHITECTURE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MARK = "BENCHJSON "

# Runs in the checkout under test (PYTHONPATH points at it): only names both have.
PROBE = r"""
import json, sys, time, tempfile, os
import numpy as np
import h5py
import pypetx
from pypetx import Environment, Trajectory, cartesian_product
from pypetx.engine.task import RunSpec, run_batch

def multiply(traj):
    traj.f_add_result("z", traj.x * traj.y, comment="product")

n_side = 400  # 160,000 runs
traj = Trajectory("bench")
traj.f_add_parameter("x", 1.0)
traj.f_add_parameter("y", 1.0)
traj.f_explore(cartesian_product({"x": np.arange(n_side, dtype=float).tolist(),
                                  "y": np.arange(n_side, dtype=float).tolist()}))
spec = RunSpec(token="bench", skeleton=traj, fn=multiply)
indices = np.arange(n_side * n_side, dtype=np.int64)
run_batch(spec, indices[:1000])  # warm: imports, caches
best = float("inf")
for _ in range(3):
    t0 = time.perf_counter()
    batch = run_batch(spec, indices)
    best = min(best, time.perf_counter() - t0)
assert batch.results["z"][-1] == (n_side - 1) ** 2
per_run_us = best / len(indices) * 1e6

d = tempfile.mkdtemp()
path = os.path.join(d, "six.h5")
env = Environment(trajectory="six", filename=path, cluster="synchronous", progress=False)
t6 = env.trajectory
t6.f_add_parameter("x", 1.0); t6.f_add_parameter("y", 1.0)
t6.f_explore(cartesian_product({"x": [1.0, 2.0, 3.0], "y": [6.0, 7.0]}))
env.run(multiply)
if env.dataset is not None:
    env.dataset.close()
opens = [0]
original = h5py.File.__init__
def counting(self, *a, **k):
    opens[0] += 1
    return original(self, *a, **k)
h5py.File.__init__ = counting
t0 = time.perf_counter()
loaded = pypetx.load(path)
seconds = time.perf_counter() - t0
h5py.File.__init__ = original
assert loaded.dataset is not None and float(loaded.dataset.z.sel(x=2.0, y=7.0)) == 14.0
print("BENCHJSON " + json.dumps({"per_run_us": per_run_us, "load_opens": opens[0],
                                  "load_seconds": seconds}))
"""


def checkout(rev: str) -> Path:
    work = HERE / "_work" / f"tree-{rev}"
    if not work.exists():
        work.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(work), rev],
                       check=True, capture_output=True)
    return work


def probe(tree: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    with tempfile.TemporaryDirectory() as cwd:
        out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=cwd,
                             capture_output=True, text=True, timeout=600)
    line = next((l for l in out.stdout.splitlines() if l.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(f"probe failed in {tree}:\n{out.stderr[-3000:]}")
    return json.loads(line[len(MARK):])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", default="b57fcce", help="git revision before the change")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    trees = {"before": checkout(args.before), "after": ROOT}
    runs: dict[str, list[dict]] = {k: [] for k in trees}
    for _ in range(args.repeats):
        for label, tree in trees.items():
            runs[label].append(probe(tree))
    med = {label: {key: statistics.median(r[key] for r in rs) for key in rs[0]}
           for label, rs in runs.items()}
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    rows = [
        ("per-run cost of `multiply(traj)` in `run_batch` (µs)", "per_run_us", "{:.3f}"),
        ("`h5py.File` constructions in `pypetx.load` of a 6-run file", "load_opens", "{:.0f}"),
        ("`pypetx.load` of that file (ms)", "load_seconds", "{:.1f}"),
    ]
    lines = [
        "# Architecture restructuring (issue #16): before and after",
        "",
        f"`python benchmarks/bench_architecture.py --before {args.before} --repeats "
        f"{args.repeats}`; after = `{commit}` plus the working tree when it was run. Medians of "
        f"{args.repeats} fresh processes per checkout, interleaved.",
        "",
        f"| what | before ({args.before}) | after | after / before |",
        "|---|---|---|---|",
    ]
    for title, key, fmt in rows:
        scale = 1000.0 if key == "load_seconds" else 1.0
        b, a = med["before"][key] * scale, med["after"][key] * scale
        lines.append(f"| {title} | {fmt.format(b)} | {fmt.format(a)} | {a / b:.2f} |")
    text = "\n".join(lines) + "\n"
    (HERE / "ARCHITECTURE.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
