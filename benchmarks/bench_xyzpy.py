"""xyzpy contender (runs in benchmarks/_work/venv-xyzpy). See _common.py for the protocol.

``runner``: ``Runner.run_combos`` (serial) then ``xyz.save_ds`` (h5netcdf);
``harvester``: ``Harvester.harvest_combos`` (serial, runs and merges into the file);
``dask``: the same Harvester with ``executor=distributed.Client`` on a LocalCluster
(2 workers x 1 thread) started inside the timed region; xyzpy submits one task per point.
``resume``: the file holds 99 % of the grid (harvested beforehand, untimed); timed is
harvesting the missing 1 % of the combos into it (xyzpy merges into the stored dataset).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    RSSMonitor, Timer, array_result, burn, driver_peak_rss, du, emit, grid, parser, preimport,
    remove,
)

CASES = [f"{w}_{k}" for w in ("trivial", "cpu", "array") for k in ("runner", "harvester", "dask")]
CASES += ["resume"]


def z(x, y):
    return x * y


def cpu_plain(x, y):
    burn(0.010)
    return x * y


def arr(x, y):
    return array_result(x, y)


def main():
    args = parser(CASES).parse_args()
    preimport("xyzpy")
    import numpy as np
    import xyzpy as xyz

    os.makedirs(args.workdir, exist_ok=True)
    n = args.n
    xs, ys = grid(n)
    path = os.path.join(args.workdir, f"xyzpy-{args.case}-{n}.h5")
    remove(path)
    out = {"case": args.case, "n": n, "xyzpy": xyz.__version__}

    if args.case == "resume":
        runner = xyz.Runner(z, var_names="z")
        cut = int(round(len(xs) * 0.99))
        xyz.Harvester(runner, data_name=path).harvest_combos({"x": xs[:cut], "y": ys}, verbosity=0)
        with Timer() as t:
            h = xyz.Harvester(runner, data_name=path)
            h.harvest_combos({"x": xs[cut:], "y": ys}, verbosity=0)
        with xyz.load_ds(path) as ds:
            ok = ds["z"].shape == (len(xs), len(ys)) and np.array_equal(
                ds["z"].values, np.multiply.outer(xs, ys))
        if not ok:
            raise SystemExit("xyzpy resume: wrong merged dataset")
        out.update(seconds=t.seconds, runs_executed=(len(xs) - cut) * len(ys),
                   file_bytes=du(path))
        remove(path)
        emit(**out)
        return

    workload, kind = args.case.split("_")
    if workload == "array":
        runner = xyz.Runner(arr, var_names="a", var_dims={"a": ["i"]},
                            var_coords={"i": np.arange(10_000)})
    else:
        runner = xyz.Runner(z if workload == "trivial" else cpu_plain, var_names="z")
    combos = {"x": xs, "y": ys}
    mon = RSSMonitor()
    with mon, Timer() as t:
        if kind == "runner":
            ds = runner.run_combos(combos, verbosity=0)
            xyz.save_ds(ds, path, engine="h5netcdf")
        elif kind == "harvester":
            xyz.Harvester(runner, data_name=path).harvest_combos(combos, verbosity=0)
        else:
            from distributed import Client, LocalCluster

            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
            xyz.Harvester(runner, data_name=path).harvest_combos(combos, executor=client,
                                                                 verbosity=0)
            client.close()
            cluster.close()
    out.update(seconds=t.seconds, file_bytes=du(path))
    if workload == "array":
        out.update(peak_rss=driver_peak_rss(), rss_at_start=mon.start_rss,
                   peak_rss_sampled=mon.peak, payload_bytes=n * 10_000 * 8)
    else:
        with xyz.load_ds(path) as ds:
            if not np.array_equal(ds["z"].values, np.multiply.outer(xs, ys)):
                raise SystemExit("xyzpy: wrong results")
    if not args.keep:
        remove(path)
    emit(**out)


if __name__ == "__main__":
    main()
