"""The Dask path side by side: pypetx on a running Client against hand-batched Dask.

One process, one ``LocalCluster(n_workers=2, threads_per_worker=1)`` and one ``Client``,
started once (not timed). Each contender stores to HDF5 and its values are checked:

- ``hand``: the grid cut into 4 tasks, each a Python loop over its slice
  (``client.submit``), gathered into numpy and saved with ``xarray.to_netcdf``;
- ``sweep``: ``pypetx.sweep(z, x=, y=, client=client, filename=...)``;
- ``traj``: ``Environment(client=client, filename=...)`` + the classic ``multiply(traj)``.

Repeats are interleaved (hand, sweep, traj, hand, ...) so that the machine's drift hits
every contender alike; medians are reported. The marginal cost per point is
``(t(N_hi) - t(N_lo)) / (N_hi - N_lo)``. The clock stops when the file is written and
the contender has handed its result back (the values, or pypetx's lazily opened
Dataset); the values are read and checked after it. The efficiency case runs 1,000 points of 10 ms
of CPU each (ideal: serial time / 2 workers).

    python benchmarks/bench_client.py [--repeats 5] [--lo 10000] [--hi 1000000]

Prints a Markdown table and one ``BENCHJSON`` line (see ``_common.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import MARK, burn, grid  # noqa: E402


def z(x, y):
    return x * y


def cpu(x, y):
    burn(0.010)
    return x * y


def multiply(traj):
    traj.f_add_result("z", traj.x * traj.y, comment="product")


def cpu_traj(traj):
    burn(0.010)
    traj.f_add_result("z", traj.x * traj.y)


def _chunk(fn, xs, ys, lo, hi):
    import numpy as np

    ny = len(ys)
    return np.array([fn(xs[k // ny], ys[k % ny]) for k in range(lo, hi)], dtype=float)


def hand(client, fn, xs, ys, path):
    import numpy as np
    import xarray as xr

    n = len(xs) * len(ys)
    bounds = np.linspace(0, n, 5).astype(int)
    futs = [client.submit(_chunk, fn, xs, ys, int(a), int(b), pure=False)
            for a, b in zip(bounds[:-1], bounds[1:])]
    values = np.concatenate(client.gather(futs)).reshape(len(xs), len(ys))
    xr.Dataset({"z": (("x", "y"), values)}, coords={"x": xs, "y": ys}).to_netcdf(
        path, engine="h5netcdf")
    return lambda: values


def sweep(client, fn, xs, ys, path):
    import pypetx

    ds = pypetx.sweep(fn, x=xs, y=ys, client=client, filename=path)

    def values():
        with ds:
            return ds[fn.__name__].values
    return values


def traj(client, fn, xs, ys, path):
    import xarray as xr

    import pypetx

    env = pypetx.Environment(trajectory="t", filename=path, client=client)
    t = env.trajectory
    t.f_add_parameter("x", 1.0)
    t.f_add_parameter("y", 1.0)
    t.f_explore(pypetx.cartesian_product({"x": xs, "y": ys}))
    env.run(fn)

    def values():
        with xr.open_dataset(path, engine="h5netcdf", group="t") as ds:
            return ds["z"].values
    return values


CONTENDERS = {"hand-batched Dask": (hand, z, cpu),
              "pypetx.sweep(client=)": (sweep, z, cpu),
              "Environment(client=) + multiply(traj)": (traj, multiply, cpu_traj)}


def timed(run, client, fn, xs, ys, workdir):
    import numpy as np

    path = os.path.join(workdir, f"r{time.perf_counter_ns()}.h5")
    t0 = time.perf_counter()
    values = run(client, fn, xs, ys, path)
    seconds = time.perf_counter() - t0
    values = values()  # checked after the clock: each contender hands back its result
    expect = np.multiply.outer(np.asarray(xs), np.asarray(ys))
    if not np.allclose(np.asarray(values, dtype=float).reshape(expect.shape), expect):
        raise AssertionError(f"{run.__name__}: wrong values")
    for p in (path, path + ".pypetx"):
        shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) else (
            os.path.exists(p) and os.remove(p))
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--lo", type=int, default=10_000)
    ap.add_argument("--hi", type=int, default=1_000_000)
    ap.add_argument("--cpu-points", type=int, default=1000)
    ap.add_argument("--only", default="")
    args = ap.parse_args()

    import logging

    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    import pypetx  # noqa: F401  (import time is not what this measures)

    workdir = tempfile.mkdtemp(prefix="bench-client-")
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0")
    client = Client(cluster)
    names = [n for n in CONTENDERS if args.only in n]
    times: dict[tuple[str, str], list[float]] = {}
    try:
        # warm-up: imports on the workers, first-call caches
        for name in names:
            run, fn, _ = CONTENDERS[name]
            timed(run, client, fn, *grid(100), workdir)
        for _ in range(args.repeats):
            for n in (args.lo, args.hi):
                xs, ys = grid(n)
                for name in names:
                    run, fn, _ = CONTENDERS[name]
                    times.setdefault((name, str(n)), []).append(
                        timed(run, client, fn, xs, ys, workdir))
            nx = args.cpu_points // 10
            xs, ys = [float(i) for i in range(nx)], [0.5 * j for j in range(10)]
            for name in names:
                run, _, fn = CONTENDERS[name]
                times.setdefault((name, "cpu"), []).append(
                    timed(run, client, fn, xs, ys, workdir))
    finally:
        client.close()
        cluster.close()
        shutil.rmtree(workdir, ignore_errors=True)

    t0 = time.perf_counter()
    burn(0.010 * 100)
    serial = (time.perf_counter() - t0) * args.cpu_points / 100
    med = {k: statistics.median(v) for k, v in times.items()}
    ref = names[0]
    rows = []
    for name in names:
        lo, hi = med[(name, str(args.lo))], med[(name, str(args.hi))]
        marginal = (hi - lo) / (args.hi - args.lo) * 1e6
        rows.append(dict(contender=name, marginal_us=marginal, lo_seconds=lo, hi_seconds=hi,
                         cpu_seconds=med[(name, "cpu")],
                         efficiency=serial / 2 / med[(name, "cpu")]))
    base = rows[0]
    print(f"| contender | marginal µs/point | ratio | time at {args.lo:,} | ratio | "
          f"time at {args.hi:,} | {args.cpu_points} × 10 ms: s | efficiency |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['contender']} | {r['marginal_us']:.3g} | "
              f"{r['marginal_us'] / base['marginal_us']:.2f}× | {r['lo_seconds']:.3g} s | "
              f"{r['lo_seconds'] / base['lo_seconds']:.2f}× | {r['hi_seconds']:.3g} s | "
              f"{r['cpu_seconds']:.3g} | {100 * r['efficiency']:.0f} % |")
    print(f"(medians of {args.repeats} interleaved repeats; reference: {ref}; "
          f"serial 10 ms × {args.cpu_points} = {serial:.2f} s)")
    print(MARK + json.dumps({"rows": rows, "repeats": args.repeats, "serial": serial,
                             "raw": {f"{a}|{b}": v for (a, b), v in times.items()}}))


if __name__ == "__main__":
    main()
