"""
An interrupted sweep, resumed: only the missing runs run again
==============================================================

The script starts the sweep in a child process and kills it (``SIGKILL``, as a lost node
or a walltime limit would) once a few batches are in the journal. It then runs the very
same sweep again with ``Environment(..., resume=True)``: the completed runs are read from
the journal, only the missing ones are computed, and the result cube is complete.

Run ``python examples/resumed_sweep.py`` (120 runs of 50 ms) or ``--small`` (24 runs).
Writes ``HDF/resumed.h5`` (``pypetx show HDF/resumed.h5`` tells how it went) and
``resumed.png``: which runs the killed attempt stored and which the resume ran.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from pypetx import Environment, cartesian_product


def slow_square(traj):
    """One run: pretend to work for ``traj.delay`` seconds; return the run's pid."""
    time.sleep(traj.delay)
    traj.f_add_result("z", traj.x**2 + traj.y, comment="x^2 + y")
    return os.getpid()


def make_env(filename: str, n: int, resume: bool) -> Environment:
    """The same sweep, every time: a resume must see the same trajectory and function."""
    # batch_size=2: small tasks, so that the journal fills in steps we can watch; the
    # synchronous backend runs them in this process, in order
    env = Environment(trajectory="squares", filename=filename, resume=resume,
                      cluster="synchronous", batch_size=2, progress=False)
    traj = env.trajectory
    traj.f_add_parameter("delay", 0.05, comment="seconds of pretend work per run")
    traj.f_add_parameter("x", 0.0)
    traj.f_add_parameter("y", 0.0)
    traj.f_explore(cartesian_product({"x": np.arange(n // 4, dtype=float).tolist(),
                                      "y": [0.0, 0.1, 0.2, 0.3]}))
    return env


def journal_batches(filename: str) -> int:
    """Batches stored in the journal so far (completed work not yet in the HDF5 file)."""
    journal = Path(f"{filename}.pypetx") / "squares"
    return sum(1 for _ in journal.glob("*.npz")) if journal.is_dir() else 0


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true",
                        default=bool(os.environ.get("PYPETX_EXAMPLES_SMALL")),
                        help="24 runs (what the test suite runs)")
    parser.add_argument("--filename", default="HDF/resumed.h5")
    parser.add_argument("--figure", default="resumed.png")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    n = 24 if args.small else 120

    if args.child:  # the first attempt, doomed to be killed
        make_env(args.filename, n, resume=False).run(slow_square)
        return args.filename

    for leftover in (Path(args.filename), Path(f"{args.filename}.pypetx")):
        if leftover.is_dir():
            import shutil

            shutil.rmtree(leftover)
        elif leftover.exists():
            leftover.unlink()
    # this very script, as the child: sys.argv[0] is its path (also where __file__ is
    # not set, as when sphinx-gallery runs it)
    child = subprocess.Popen([sys.executable, sys.argv[0], "--child", "--filename",
                              args.filename] + (["--small"] if args.small else []))
    deadline = time.monotonic() + 60
    while journal_batches(args.filename) < 3 and child.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    child.kill()  # SIGKILL: no clean-up, no chance to consolidate the journal
    child.wait()
    print(f"first attempt killed after {journal_batches(args.filename)} batches were stored")

    env = make_env(args.filename, n, resume=True)
    ran = env.run(slow_square)
    ds = env.dataset
    print(f"the resume ran {len(ran)} of {n} runs; completed now: "
          f"{int(ds.completed.sum())} of {ds.completed.size}")
    pids = {pid for _, pid in ran}
    assert os.getpid() in pids and len(pids) == 1  # synchronous: all in this process
    assert bool(ds.completed.all()) and len(ran) < n
    expected = ds.x**2 + ds.y
    assert np.allclose(ds.z, expected)

    # run index = position on the (x, y) grid in C order, as in pypet's cartesian_product
    by_resume = np.zeros(ds.completed.shape, dtype=bool)
    by_resume.flat[[idx for idx, _ in ran]] = True
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ds.completed.copy(data=by_resume).astype(int).plot(
        ax=ax, x="y", y="x", cmap="coolwarm", vmin=0, vmax=1, add_colorbar=False)
    ax.set_title("blue: stored before the kill, red: run by the resume", fontsize=9)
    fig.tight_layout()
    fig.savefig(args.figure, dpi=100)
    print(f"wrote {os.path.abspath(args.filename)} and {args.figure}")
    return args.filename


if __name__ == "__main__":
    main()
