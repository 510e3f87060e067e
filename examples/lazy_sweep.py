"""
A lazy sweep inside a larger Dask graph: where is the Lorenz system chaotic?
============================================================================

Each point integrates the Lorenz equations for one ``(rho, sigma)`` and estimates the
largest Lyapunov exponent (positive: chaos) from two trajectories started 1e-8 apart.
``pypetx.sweep(..., lazy=True)`` builds a sweep as a Dask graph (one task per block of
the grid) without running it. The script builds two, a coarse ``(rho, sigma)`` grid and a
fine line through the onset of chaos at ``sigma = 10``, and asks in ONE ``dask.compute``
for

* the fraction of chaotic points per ``rho`` (a reduction over ``sigma``),
* the largest exponent in the classic region ``rho`` in [24, 30] (a selection),
* the onset of chaos on the fine line (the other sweep),
* the mean ``z`` against the fixed points' ``z = rho - 1`` (a dask array of our own),

so Dask schedules the blocks of both sweeps and the reductions together on a
LocalCluster. The task stream of that compute (what the dashboard shows live) is drawn
to ``lazy_sweep.png``; the coarse sweep is then stored crash-safely with ``pypetx.save``.

Run ``python examples/lazy_sweep.py`` (24 x 8 + 16 points) or ``--small`` (6 x 4 + 4,
short runs: what the test suite runs). Writes ``HDF/lazy_sweep.h5`` and
``lazy_sweep.png``.
"""

from __future__ import annotations

import argparse
import math
import os

import dask
import dask.array as da
import numpy as np
import xarray as xr

import pypetx


def lyapunov(rho: float, sigma: float, steps: int = 3000, dt: float = 0.01) -> dict:
    """Largest Lyapunov exponent of the Lorenz system (beta = 8/3), RK4 in plain floats."""
    beta = 8.0 / 3.0

    def rk4(x, y, z):
        def f(x, y, z):
            return sigma * (y - x), x * (rho - z) - y, x * y - beta * z

        k1 = f(x, y, z)
        k2 = f(x + dt / 2 * k1[0], y + dt / 2 * k1[1], z + dt / 2 * k1[2])
        k3 = f(x + dt / 2 * k2[0], y + dt / 2 * k2[1], z + dt / 2 * k2[2])
        k4 = f(x + dt * k3[0], y + dt * k3[1], z + dt * k3[2])
        return tuple(v + dt / 6 * (a + 2 * b + 2 * c + d)
                     for v, a, b, c, d in zip((x, y, z), k1, k2, k3, k4))

    a, b, d0 = (1.0, 1.0, 1.0), (1.0 + 1e-8, 1.0, 1.0), 1e-8
    growth, z_sum = 0.0, 0.0
    for _ in range(steps):
        a, b = rk4(*a), rk4(*b)
        dist = math.dist(a, b)
        growth += math.log(dist / d0)
        b = tuple(u + (v - u) * d0 / dist for u, v in zip(a, b))  # renormalise
        z_sum += a[2]
    return {"lyapunov": growth / (steps * dt), "z_mean": z_sum / steps}


def draw_task_stream(tasks: list[dict], path: str) -> None:
    """The task stream as the dashboard shows it: one row per worker thread, one bar per
    task, blue where the task ran points of a sweep (a block, possibly fused by Dask
    with the getitem and reduction steps that follow it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = min(s["start"] for t in tasks for s in t["startstops"] if s["action"] == "compute")
    threads = sorted({(t["worker"], t.get("thread", 0)) for t in tasks})
    workers = sorted({w for w, _ in threads})
    fig, ax = plt.subplots(figsize=(9, 3.4))
    for t in tasks:
        block = "pypetx-block" in str(t["key"])
        for s in t["startstops"]:
            if s["action"] == "compute":
                ax.barh(threads.index((t["worker"], t.get("thread", 0))),
                        max(s["stop"] - s["start"], 0.005), left=s["start"] - t0,
                        height=0.8, color="tab:blue" if block else "tab:orange",
                        edgecolor="white" if block else "none", linewidth=0.5)
    ax.barh(0, 0, color="tab:blue", label="block of a sweep: runs its points")
    ax.barh(0, 0, color="tab:orange", label="reductions, the user's array, finalize")
    ax.set_yticks(range(len(threads)),
                  [f"worker {workers.index(w) + 1}, thread "
                   f"{[t for v, t in threads if v == w].index(k) + 1}" for w, k in threads])
    ax.set_xlabel("seconds since dask.compute started")
    ax.set_title("one dask.compute: two lazy pypetx sweeps and their reductions")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2, fontsize=8,
              frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true",
                        default=bool(os.environ.get("PYPETX_EXAMPLES_SMALL")),
                        help="6 x 4 points of short runs (what the test suite runs)")
    parser.add_argument("--filename", default="HDF/lazy_sweep.h5")
    parser.add_argument("--figure", default="lazy_sweep.png")
    args = parser.parse_args(argv)
    n_rho, n_sigma, n_fine, steps = (6, 4, 4, 300) if args.small else (24, 8, 16, 3000)

    from distributed import Client, LocalCluster, get_task_stream

    rho = np.linspace(10.0, 32.0, n_rho).round(3).tolist()
    sigma = np.linspace(6.0, 14.0, n_sigma).round(3).tolist()
    with LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        print(f"dashboard: {client.dashboard_link}")
        # Nothing runs here but run 0 of the first sweep, the probe that tells the
        # outputs' names and dtypes (and how long a point takes: the blocks are sized
        # for this client's threads). The second gives a template: nothing runs at all.
        coarse = pypetx.sweep(lyapunov, rho=rho, sigma=sigma, constants={"steps": steps},
                              lazy=True)
        fine = pypetx.sweep(lyapunov, rho=np.linspace(23, 27, n_fine).round(3).tolist(),
                            sigma=[10.0], constants={"steps": steps}, lazy=True,
                            template={"lyapunov": 0.0, "z_mean": 0.0}, chunks=2)
        print(f"coarse sweep: {dict(coarse.sizes)} in {coarse.lyapunov.data.npartitions} "
              f"blocks, fine sweep: {fine.lyapunov.data.npartitions} blocks; nothing "
              f"computed yet")

        chaotic = (coarse.lyapunov > 0.1).mean("sigma")              # every block
        classic = coarse.lyapunov.sel(rho=slice(24, 30)).max()       # only its blocks
        onset = (fine.lyapunov.isel(sigma=0) > 0.1).idxmax("rho")    # the other sweep
        # with an array of our own: the mean z against the fixed points' z = rho - 1
        fixed_z = xr.DataArray(da.from_array(np.asarray(rho), chunks=2) - 1.0, dims="rho")
        offset = coarse.z_mean.mean("sigma") - fixed_z
        with get_task_stream(client) as stream:
            chaotic, classic, onset, offset = dask.compute(chaotic, classic, onset, offset)
        draw_task_stream(stream.data, args.figure)
        # stored through the journal: a killed save resumes where it stopped
        stored = pypetx.save(coarse, args.filename, overwrite=True)

    print(f"chaotic fraction per rho: {np.round(chaotic.values, 2).tolist()}")
    print(f"chaos at sigma = 10 from rho = {float(onset):.2f} (Lorenz: 24.74); largest "
          f"exponent for rho in [24, 30]: {float(classic):.2f}")
    print(f"mean z - (rho - 1): {np.round(offset.values, 1).tolist()}")
    print(f"stored {int(stored.completed.sum())} runs in {os.path.abspath(args.filename)}; "
          f"task stream in {args.figure}")
    stored.close()


if __name__ == "__main__":
    main()
