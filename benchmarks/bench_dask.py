"""Baselines without a sweep library: the plain Python loop and plain Dask (distributed).

Every case stores what it computed, so that it is comparable end to end with the sweep
libraries: scalar grids as an xarray Dataset written with ``to_netcdf(engine="h5netcdf")``
(what xyzpy does too), the arrays of workload 3 streamed row by row into an uncompressed
chunked h5py dataset. ``compute_seconds`` is the time without storing (and, for Dask,
without the LocalCluster start-up, reported as ``startup_seconds``).

Dask cases start ``LocalCluster(n_workers=2, threads_per_worker=1)`` inside the timed
region (as pypetx's default does). ``naive``: one task per point (``client.map``);
``batched``: the points cut by hand into 2 tasks per worker, each task looping in Python.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    RSSMonitor, Timer, preimport, array_result, burn, driver_peak_rss, du, emit, grid, parser, remove,
)

CASES = [f"{w}_{k}" for w in ("trivial", "cpu", "array") for k in ("loop", "naive", "batched")]


def z(x, y):
    return x * y


def cpu_plain(x, y):
    burn(0.010)
    return x * y


def run_chunk(fn, xs, ys, lo, hi):
    """One hand-made batch: points lo..hi of the C-ordered grid, as a float64 array."""
    import numpy as np

    ny = len(ys)
    return np.array([fn(xs[k // ny], ys[k % ny]) for k in range(lo, hi)], dtype=float)


def run_chunk_arrays(xs, ys, lo, hi):
    import numpy as np

    ny = len(ys)
    return lo, np.stack([array_result(xs[k // ny], ys[k % ny]) for k in range(lo, hi)])


def save_grid(values, xs, ys, path):
    import numpy as np
    import xarray as xr

    ds = xr.Dataset({"z": (("x", "y"), np.asarray(values, dtype=float).reshape(len(xs), len(ys)))},
                    coords={"x": xs, "y": ys})
    ds.to_netcdf(path, engine="h5netcdf")


def start_cluster():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    return cluster, Client(cluster)


def main():
    args = parser(CASES).parse_args()
    preimport()
    os.makedirs(args.workdir, exist_ok=True)
    n = args.n
    workload, kind = args.case.split("_")
    path = os.path.join(args.workdir, f"dask-{args.case}-{n}.h5")
    remove(path)
    xs, ys = grid(n)
    out = {"case": args.case, "n": n}
    fn = z if workload == "trivial" else cpu_plain
    if workload == "array":
        out.update(_arrays(kind, xs, ys, n, path))
        emit(**out)
        return

    with Timer() as t:
        if kind == "loop":
            t1 = time.perf_counter()
            values = [fn(x, y) for x in xs for y in ys]
            out["compute_seconds"] = time.perf_counter() - t1
        else:
            t1 = time.perf_counter()
            cluster, client = start_cluster()
            t2 = time.perf_counter()
            out["startup_seconds"] = t2 - t1
            import numpy as np

            if kind == "naive":
                flat_x = [x for x in xs for _y in ys]
                flat_y = [y for _x in xs for y in ys]
                futures = client.map(fn, flat_x, flat_y, pure=False)
                values = client.gather(futures)
            else:
                n_tasks = 2 * len(client.scheduler_info()["workers"])
                bounds = np.linspace(0, n, n_tasks + 1).astype(int)
                futures = [client.submit(run_chunk, fn, xs, ys, int(lo), int(hi), pure=False)
                           for lo, hi in zip(bounds[:-1], bounds[1:])]
                values = np.concatenate(client.gather(futures))
            out["compute_seconds"] = time.perf_counter() - t2
            client.close()
            cluster.close()
        save_grid(values, xs, ys, path)
    out.update(seconds=t.seconds, file_bytes=du(path))
    remove(path)
    emit(**out)


def _arrays(kind, xs, ys, n, path):
    import h5py
    import numpy as np

    size = 10_000
    res = {"payload_bytes": n * size * 8}
    with RSSMonitor() as mon, Timer() as t:
        with h5py.File(path, "w") as f:
            dset = f.create_dataset("a", shape=(n, size), dtype="f8", chunks=(1, size))
            f.create_dataset("x", data=np.repeat(xs, len(ys)))
            f.create_dataset("y", data=np.tile(ys, len(xs)))
            if kind == "loop":
                ny = len(ys)
                for k in range(n):
                    dset[k] = array_result(xs[k // ny], ys[k % ny])
            elif kind == "batched":
                from distributed import as_completed

                cluster, client = start_cluster()
                # batches of 100 points (8 MB): as many tasks as needed to stream, bounded
                bounds = list(range(0, n, 100)) + [n]
                futures = [client.submit(run_chunk_arrays, xs, ys, lo, hi, pure=False)
                           for lo, hi in zip(bounds[:-1], bounds[1:])]
                for fut in as_completed(futures):
                    lo, block = fut.result()
                    dset[lo:lo + len(block)] = block
                    fut.release()
                client.close()
                cluster.close()
            else:
                raise SystemExit("array_naive is not a case")
    res.update(seconds=t.seconds, file_bytes=du(path), peak_rss=driver_peak_rss(),
               rss_at_start=mon.start_rss, peak_rss_sampled=mon.peak)
    remove(path)
    return res


if __name__ == "__main__":
    main()
