"""pypet contender (runs in benchmarks/_work/venv-pypet). See _common.py for the protocol.

``serial``: ``multiproc=False``; ``mp``: ``multiproc=True, ncores=2, use_pool=True,
freeze_input=True`` (pypet's fastest multiprocessing setup: a pool of 2 processes that
receive the trajectory once; results go through pypet's default queue to the storing
process). Logging files off (``log_config=None``); the HDF5 file is pypet's own format.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Timer, burn, du, emit, grid, parser, remove  # noqa: E402

CASES = ["trivial_serial", "trivial_mp", "cpu_serial", "cpu_mp"]


def multiply(traj):
    traj.f_add_result("z", traj.x * traj.y)


def cpu_point(traj):
    burn(0.010)
    traj.f_add_result("z", traj.x * traj.y)


def main():
    args = parser(CASES).parse_args()
    import logging

    import pypet
    from pypet import Environment, cartesian_product

    logging.disable(logging.WARNING)
    os.makedirs(args.workdir, exist_ok=True)
    n = args.n
    workload, kind = args.case.split("_")
    path = os.path.join(args.workdir, f"pypet-{args.case}-{n}.hdf5")
    remove(path)
    xs, ys = grid(n)
    opts = dict(multiproc=False)
    if kind == "mp":
        opts = dict(multiproc=True, ncores=2, use_pool=True, freeze_input=True)
    with Timer() as t:
        env = Environment(trajectory="bench", filename=path, overwrite_file=True,
                          log_config=None, report_progress=False, **opts)
        traj = env.trajectory
        traj.f_add_parameter("x", 0.0)
        traj.f_add_parameter("y", 0.0)
        traj.f_explore(cartesian_product({"x": xs, "y": ys}))
        env.run(multiply if workload == "trivial" else cpu_point)
        env.disable_logging()
    out = {"case": args.case, "n": n, "pypet": pypet.__version__, "seconds": t.seconds,
           "file_bytes": du(path)}
    remove(path)
    emit(**out)


if __name__ == "__main__":
    main()
