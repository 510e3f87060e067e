#!/usr/bin/env python
"""Growth curves (issue #21): how every per-sweep cost grows with the number of points.

    python benchmarks/bench_scale.py                  # N = 10^4 .. 10^7, HDF5 and Zarr,
                                                      # + 10^6 points x 10^3 floats (8 GB)
    python benchmarks/bench_scale.py --max 6 --array-n 10000   # a few minutes
    python benchmarks/bench_scale.py --report         # SCALE.md + plot from the last data

Rows measured by an earlier invocation and not by this one are kept in the raw data.

Each measurement is a fresh process running ``pypetx.sweep(z, x=..., y=..., filename=...)``
with the defaults a user gets (local-first, then the embedded LocalCluster), and a second
fresh process that reopens the file and reads one point. Measured per N: µs per point end
to end, the driver's peak RSS (the kernel's maxrss of the driver process; the workers and
the driver's forked run lane are other processes), the Dask tasks (batches), the journal's
peak bytes on disk (sampled every 50 ms), the file's bytes per point, the time to reopen
lazily and to read one point. Raw data: benchmarks/_work/scale.json; table and log-log plot:
benchmarks/SCALE.md, benchmarks/scale.png.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import MARK, RSSMonitor, du, emit, grid, remove  # noqa: E402

WORK = HERE / "_work" / "scale"
RAW = HERE / "_work" / "scale.json"


def z(x, y):
    return x * y


def trace(x, y):
    """10^3 incompressible float64 per point (8 kB: 10^6 points are 8 GB); [0] = x * y."""
    import numpy as np

    out = np.random.default_rng(int(x) * 100_003 + int(2 * y)).random(1000)
    out[0] = x * y
    return out


class JournalMonitor(threading.Thread):
    """Peak bytes (and files) of the sweep's journal directory, sampled every 50 ms."""

    def __init__(self, path: str) -> None:
        super().__init__(daemon=True)
        self.dir = path + ".pypetx"
        self.peak = self.files = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            total = n = 0
            for root, _dirs, files in os.walk(self.dir):
                for f in files:
                    try:
                        total += os.path.getsize(os.path.join(root, f))
                        n += 1
                    except OSError:
                        pass  # consolidated away meanwhile
            self.peak, self.files = max(self.peak, total), max(self.files, n)

    def __enter__(self) -> JournalMonitor:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.join(2)


def run_one(n: int, storage: str, kind: str, workdir: str, mode: str = "default") -> None:
    """Child process: one sweep of ``n`` points; prints one BENCHJSON line. ``mode``
    "cluster": the embedded LocalCluster from the first run (local-first off)."""
    import resource

    import dask

    if mode == "cluster":
        dask.config.set({"pypetx.local_first.enabled": False})

    import numpy as np
    import xarray  # noqa: F401  imported before the timer, as in run.py

    import pypetx
    import pypetx.engine.runner as runner

    tasks = []
    real = runner.run_batches

    def counting(*args, **kwargs):  # the summary is not returned by sweep(): catch it
        summary = real(*args, **kwargs)
        tasks.append(summary.n_tasks)
        return summary

    runner.run_batches = counting
    suffix = ".zarr" if storage == "zarr" else ".h5"
    path = os.path.join(workdir, f"scale-{kind}-{n}{suffix}")
    remove(path)
    remove(path + ".pypetx")
    xs, ys = grid(n)
    fn = z if kind == "trivial" else trace
    with RSSMonitor() as rss, JournalMonitor(path) as jm:
        t0 = time.perf_counter()
        ds = pypetx.sweep(fn, filename=path, x=xs, y=ys)
        seconds = time.perf_counter() - t0
    var = "z" if kind == "trivial" else "trace"
    ok = bool(ds["completed"].all()) and float(ds[var].isel(x=-1, y=-1).values.ravel()[0]) == (
        xs[-1] * ys[-1])
    ds.close()
    if not ok:
        raise SystemExit(f"wrong results in {path}")
    emit(n=n, storage=storage, kind=kind, mode=mode, seconds=seconds, tasks=sum(tasks),
         peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
         rss_at_start=rss.start_rss, journal_peak=jm.peak, journal_files=jm.files,
         file_bytes=du(path), n_files=sum(len(f) for _r, _d, f in os.walk(path))
         if os.path.isdir(path) else 1, path=path,
         payload_bytes=n * (8 if kind == "trivial" else 8000), numpy=np.__version__)


def reopen_one(path: str, n: int) -> None:
    """Child process: reopen lazily (plain xarray, no pypetx) and read one point."""
    import dask.array  # noqa: F401  imports are not the file's cost: before the timers
    import distributed  # noqa: F401  dask's first compute imports it (0.3-0.7 s) if installed
    import h5netcdf  # noqa: F401
    import xarray as xr
    import zarr  # noqa: F401

    group = "z" if "-trivial-" in Path(path).name else "trace"  # sweep(): the fn's name
    t0 = time.perf_counter()
    if path.endswith(".zarr"):
        ds = xr.open_zarr(path, group=group)
    else:
        ds = xr.open_dataset(path, engine="h5netcdf", group=group, chunks={})
    t_open = time.perf_counter() - t0
    var = "z" if "z" in ds else "trace"
    xs, ys = grid(n)
    t0 = time.perf_counter()
    value = ds[var].isel(x=len(xs) // 2, y=len(ys) // 2).values
    t_read = time.perf_counter() - t0
    want = xs[len(xs) // 2] * ys[len(ys) // 2]
    if float(value.ravel()[0]) != want:
        raise SystemExit(f"wrong point read from {path}")
    ds.close()
    emit(reopen_seconds=t_open, read_point_seconds=t_read)


def _child(args: list[str], timeout: float) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         timeout=timeout)
    for line in out.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    raise RuntimeError(f"{args}: no result\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def measure(ns: list[int], storages: list[str], array_n: int | None, keep: bool,
            modes: list[str]) -> list[dict]:
    WORK.mkdir(parents=True, exist_ok=True)
    rows = []
    plan = [(n, s, "trivial", m) for m in modes for n in ns for s in storages]
    if array_n:
        plan.append((array_n, "h5", "array", "default"))
    for n, storage, kind, mode in plan:
        row = _child(["run", "--n", str(n), "--storage", storage, "--kind", kind,
                      "--mode", mode, "--workdir", str(WORK)], timeout=7200)
        row.update(_child(["reopen", "--n", str(n), "--file", row["path"]], timeout=600))
        if not keep:
            remove(row["path"])
        rows.append(row)
        print(f"{kind:8s} {mode:8s} {storage:4s} N={n:>9,d}  {1e6 * row['seconds'] / n:8.2f} us/pt  "
              f"rss {row['peak_rss'] / 2**20:6.0f} MiB  tasks {row['tasks']:5d}  "
              f"journal {row['journal_peak'] / 2**20:8.1f} MiB  "
              f"file {row['file_bytes'] / n:6.2f} B/pt  open {row['reopen_seconds']:.3f} s  "
              f"read {1e3 * row['read_point_seconds']:.1f} ms", flush=True)
    return rows


def report(rows: list[dict]) -> str:
    lines = [
        "# Growth curves (issue #21)",
        "",
        "`python benchmarks/bench_scale.py` on this 2-core machine (shared, noisy), the",
        "defaults a user gets: `pypetx.sweep(z, x=..., y=..., filename=...)` with "
        "z = x * y (trivial) or a 10^3-float array per point (array). Every row is a fresh "
        "process; reopen/read are a second fresh process with plain xarray.",
        "",
        "| kind | path | store | N | µs/point | driver peak RSS | tasks | points/task | journal peak "
        "| journal files | file B/point | files | reopen | read 1 point |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        n = r["n"]
        lines.append(
            f"| {r['kind']} | {r.get('mode', 'default')} | {r['storage']} | {n:,} | {1e6 * r['seconds'] / n:.2f} | "
            f"{r['peak_rss'] / 2**20:.0f} MiB | {r['tasks']} | {n / max(r['tasks'], 1):,.0f} | "
            f"{r['journal_peak'] / 2**20:.1f} MiB | {r['journal_files']} | "
            f"{r['file_bytes'] / n:.2f} | {r['n_files']} | {r['reopen_seconds'] * 1e3:.0f} ms | "
            f"{r['read_point_seconds'] * 1e3:.1f} ms |")
    lines += ["", "What is flat, what is not and why: docs/scaling.md, section *Growth curves "
              "(measured)*. Log-log plot: benchmarks/scale.png."]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for storage, mode in sorted({(r["storage"], r.get("mode", "default")) for r in rows
                                 if r["kind"] == "trivial"}):
        sel = sorted((r for r in rows if r["kind"] == "trivial" and r["storage"] == storage
                      and r.get("mode", "default") == mode), key=lambda r: r["n"])
        storage = f"{storage} {mode}"
        ns = [r["n"] for r in sel]
        axes[0].loglog(ns, [1e6 * r["seconds"] / r["n"] for r in sel], "o-", label=storage)
        axes[1].loglog(ns, [r["peak_rss"] / 2**20 for r in sel], "o-", label=storage)
        axes[2].loglog(ns, [r["file_bytes"] / r["n"] for r in sel], "o-", label=f"{storage} file")
        axes[2].loglog(ns, [max(r["journal_peak"], 1) / r["n"] for r in sel], "s--",
                       label=f"{storage} journal peak")
    for ax, title in zip(axes, ["µs per point (end to end)", "driver peak RSS (MiB)",
                                "bytes per point"]):
        ax.set_title(title)
        ax.set_xlabel("points N")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd")
    r = sub.add_parser("run")
    r.add_argument("--n", type=int, required=True)
    r.add_argument("--storage", choices=["h5", "zarr"], default="h5")
    r.add_argument("--kind", choices=["trivial", "array"], default="trivial")
    r.add_argument("--workdir", default=str(WORK))
    r.add_argument("--mode", choices=["default", "cluster"], default="default")
    o = sub.add_parser("reopen")
    o.add_argument("--n", type=int, required=True)
    o.add_argument("--file", required=True)
    p.add_argument("--min", type=int, default=4, help="smallest N = 10^min")
    p.add_argument("--max", type=int, default=7, help="largest N = 10^max")
    p.add_argument("--storages", default="h5,zarr")
    p.add_argument("--modes", default="default,cluster",
                   help="default: local-first as users get it; cluster: LocalCluster only")
    p.add_argument("--array-n", type=int, default=10**6,
                   help="points of the 10^3-float array sweep (0: none)")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--report", action="store_true")
    a = p.parse_args()
    if a.cmd == "run":
        return run_one(a.n, a.storage, a.kind, a.workdir, a.mode)
    if a.cmd == "reopen":
        return reopen_one(a.file, a.n)
    if a.report:
        rows = json.loads(RAW.read_text())
    else:
        rows = measure([10**k for k in range(a.min, a.max + 1)], a.storages.split(","),
                       a.array_n or None, a.keep, a.modes.split(","))
        # rows of earlier runs that this one did not measure again are kept
        key = lambda r: (r["kind"] != "trivial", r.get("mode", "default"), r["storage"],  # noqa: E731
                         r["n"])
        new = {key(r) for r in rows}
        old = json.loads(RAW.read_text()) if RAW.exists() else []
        rows = sorted([r for r in old if key(r) not in new] + rows, key=key)
        RAW.parent.mkdir(parents=True, exist_ok=True)
        RAW.write_text(json.dumps(rows, indent=1))
    (HERE / "SCALE.md").write_text(report(rows))
    plot(rows, HERE / "scale.png")
    print(f"wrote {HERE / 'SCALE.md'} and {HERE / 'scale.png'}")


if __name__ == "__main__":
    main()
