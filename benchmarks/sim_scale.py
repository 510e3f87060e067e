"""Simulate what a 10^9-point sweep costs the scheduler, the driver and the file (issue #21).

Nothing here computes 10^9 points. The script measures, on this machine, the costs that
grow with the number of tasks, of batches or of points, at sizes that run in a few
minutes, fits each to a line and extrapolates to 10^9 points with the batch sizes pypetx's
own planner (:func:`pypetx.engine.batching.auto_batch_size`) would pick:

1. **plan**: runs per task and tasks per 10^9 points for a range of run costs and cluster
   sizes, straight from the planner's formula (no measurement).
2. **scheduler**: a real ``LocalCluster(n_workers=2, threads_per_worker=1)`` started in a
   child process (so the scheduler's RSS is its own, not the driver's), driven with no-op
   tasks that take a slice descriptor ``(start, stop)``, submitted in waves with a bounded
   number in flight as :func:`pypetx.engine.runner.run_batches` does: tasks/s, scheduler
   RSS per completed and per queued task, driver RSS. Then the real ``run_batches`` over
   :class:`~pypetx.engine.clusters.DistributedBackend` with a no-op task, which ships the
   run indices themselves (what pypetx does today).
3. **store**: the driver's side of the store, fed batch metadata (``BatchResult`` of a
   scalar result per run) without running anything, in fresh child processes (clean peak
   RSS): ``write_batch`` µs per batch and journal bytes per batch against runs per batch,
   ``open`` cost per point, ``finalize`` seconds, peak RSS, file metadata bytes and file
   count against the number of batches and of points, HDF5 and Zarr.

    .venv/bin/python benchmarks/sim_scale.py            # ~6 min here; writes SIM_SCALE.md
    .venv/bin/python benchmarks/sim_scale.py --full     # adds 3*10^4..10^6 scheduler tasks
    .venv/bin/python benchmarks/sim_scale.py --quick    # smaller sizes, a smoke run
    .venv/bin/python benchmarks/sim_scale.py --parts store --no-write

The output is ``benchmarks/SIM_SCALE.md`` (unless ``--no-write``); ``docs/scaling.md``
quotes it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import MARK, RSSMonitor, emit  # noqa: E402

HERE = Path(__file__).resolve().parent
TARGET = 10**9
MiB = 2**20


# ---------------------------------------------------------------------------------------
# 1. the planner's batch sizes for 10^9 points
# ---------------------------------------------------------------------------------------

def plan_table() -> list[dict[str, Any]]:
    """Runs per task the planner settles on, for 10^9 points, by run cost and workers.

    ``driver_seconds`` (the driver's time per finished task) is taken as 10 ms, what
    the runner measures for a journaled batch with a cluster; the planner then keeps
    tasks at least ``4 * workers * 10 ms`` long so the one driver keeps up.
    """
    from pypetx.engine.batching import BatchingOptions, auto_batch_size

    opts = BatchingOptions()  # the shipped defaults (pypetx.yaml)
    rows = []
    for spr in (1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1.0):
        for workers in (2, 100, 1000, 10_000):
            b = auto_batch_size(spr, TARGET, workers, opts, driver_seconds=0.010)
            tasks = math.ceil(TARGET / b)
            task_s = b * spr
            rows.append({"seconds_per_run": spr, "workers": workers, "batch": b,
                         "tasks": tasks, "task_seconds": task_s,
                         # what the scheduler must sustain once every worker is busy
                         "tasks_per_second": workers / task_s,
                         "wall_hours": tasks * task_s / workers / 3600})
    return rows


# ---------------------------------------------------------------------------------------
# 2. scheduler load
# ---------------------------------------------------------------------------------------

def noop(start: int, stop: int) -> tuple[int, int]:
    """The simulated task: takes a slice descriptor, returns a few bytes."""
    return start, stop


def noop_task(shared: Any, indices: np.ndarray, budget: float | None = None) -> Any:
    """A pypetx task that runs nothing: every run of ``indices`` completed at once."""
    from pypetx.core.batch import BatchResult

    n = len(indices)
    return BatchResult(indices=indices, results={}, present={},
                       completed=np.ones(n, bool), failed=np.zeros(n, bool),
                       duration=np.zeros(n), worker="sim")


def serve_cluster() -> None:
    """Child process: hold a LocalCluster until stdin closes (its scheduler lives here)."""
    import logging

    from distributed import LocalCluster

    # closing the driver's client first makes the scheduler log lost comms: expected here
    logging.getLogger("distributed").setLevel(logging.ERROR)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", host="127.0.0.1") as cluster:
        print("ADDRESS " + cluster.scheduler_address, flush=True)
        sys.stdin.read()


class Sampler:
    """Peak RSS of another process (the scheduler's), sampled every ``interval`` s."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def rss(self) -> int:
        return self.proc.memory_info().rss

    def cpu(self) -> float:
        """CPU seconds (user + system) of the process so far (its threads, not children)."""
        t = self.proc.cpu_times()
        return t.user + t.system

    def __enter__(self) -> Sampler:
        self.start = self.peak = self.rss()
        self.cpu0 = self.cpu()

        def loop() -> None:
            while not self._stop.wait(self.interval):
                self.peak = max(self.peak, self.rss())

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.end = self.rss()
        self.peak = max(self.peak, self.end)
        self.cpu_seconds = self.cpu() - self.cpu0


def _own_rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def run_bounded(client: Any, sched: int, n_tasks: int, window: int, batch: int) -> dict:
    """``n_tasks`` no-op tasks, at most ``window`` in flight, as run_batches keeps them."""
    from distributed import as_completed

    def submit(k: int) -> Any:
        return client.submit(noop, k * batch, (k + 1) * batch, pure=False,
                             key=f"sim-{uuid.uuid4().hex}")

    drv0 = _own_rss()
    drv_peak = drv0
    with Sampler(sched) as s:
        c0 = time.process_time()
        t0 = time.perf_counter()
        ac = as_completed([submit(k) for k in range(min(window, n_tasks))], loop=client.loop)
        nxt, done = min(window, n_tasks), 0
        for fut in ac:
            fut.result()
            fut.release()
            done += 1
            if nxt < n_tasks:
                ac.add(submit(nxt))
                nxt += 1
            if done % 2000 == 0:
                drv_peak = max(drv_peak, _own_rss())
        seconds = time.perf_counter() - t0
        driver_cpu = time.process_time() - c0
    left = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
    return {"kind": "bounded", "n_tasks": n_tasks, "window": window, "batch": batch,
            "seconds": seconds, "tasks_per_s": n_tasks / seconds,
            "us_per_task": seconds / n_tasks * 1e6,
            "sched_cpu_us_per_task": s.cpu_seconds / n_tasks * 1e6,
            "driver_cpu_us_per_task": driver_cpu / n_tasks * 1e6,
            "sched_rss_start": s.start, "sched_rss_peak": s.peak, "sched_rss_end": s.end,
            "sched_growth_per_task": (s.end - s.start) / n_tasks,
            "driver_rss_growth": max(drv_peak, _own_rss()) - drv0,
            "tasks_left_on_scheduler": left}


def run_queued(client: Any, sched: int, n_tasks: int) -> dict:
    """Submit ``n_tasks`` at once (what an unbounded map would do), measure the
    scheduler's memory per queued task, then cancel them."""
    import gc

    gc.collect()
    sampler = Sampler(sched)
    before = sampler.rss()
    t0 = time.perf_counter()
    futures = client.map(noop, range(0, n_tasks), range(1, n_tasks + 1), pure=False,
                         key=[f"simq-{uuid.uuid4().hex}" for _ in range(n_tasks)])
    # the graph reaches the scheduler asynchronously: wait until it knows every task
    while True:
        known = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
        if known >= n_tasks * 0.99 or time.perf_counter() - t0 > 120:
            break
        time.sleep(0.2)
    submit_s = time.perf_counter() - t0
    after = sampler.rss()
    client.cancel(futures)
    del futures
    time.sleep(2)
    return {"kind": "queued", "n_tasks": n_tasks, "submit_seconds": submit_s,
            "sched_bytes_per_queued_task": (after - before) / n_tasks,
            "known_tasks": known}


def run_pypetx(client: Any, sched: int, n_tasks: int, batch: int) -> dict:
    """pypetx's own run_batches (DistributedBackend) with a no-op task and sink."""
    from pypetx.engine.clusters import DistributedBackend
    from pypetx.engine.runner import run_batches

    backend = DistributedBackend(client)
    got = [0]

    def sink(b: Any) -> None:
        got[0] += len(b)

    pending = np.arange(n_tasks * batch, dtype=np.int64)
    drv0 = _own_rss()
    with Sampler(sched) as s, RSSMonitor() as m:
        c0 = time.process_time()
        t0 = time.perf_counter()
        summary = run_batches(noop_task, None, pending, backend, sink, batch_size=batch,
                              progress=False, retries=0)
        seconds = time.perf_counter() - t0
        driver_cpu = time.process_time() - c0
    assert got[0] == len(pending), (got[0], len(pending))
    return {"kind": "pypetx", "n_tasks": summary.n_tasks, "batch": batch,
            "window": 2 * backend.n_workers, "seconds": seconds,
            "tasks_per_s": summary.n_tasks / seconds,
            "us_per_task": seconds / summary.n_tasks * 1e6,
            "us_per_run": seconds / len(pending) * 1e6,
            "sched_cpu_us_per_task": s.cpu_seconds / summary.n_tasks * 1e6,
            "driver_cpu_us_per_task": driver_cpu / summary.n_tasks * 1e6,
            "sched_rss_peak_growth": s.peak - s.start,
            "driver_rss_peak_growth": m.peak - drv0,
            "pending_bytes": pending.nbytes}


def scheduler_part(sizes: list[int], queued: int, pypetx_cases: list[tuple[int, int]],
                   small_window: int) -> list[dict]:
    from distributed import Client

    # the workers inherit the environment: no heartbeat errors logged at teardown
    env = dict(os.environ, DASK_LOGGING__DISTRIBUTED="critical")
    proc = subprocess.Popen([sys.executable, __file__, "--serve-cluster"], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    results: list[dict] = []
    try:
        line = ""
        while not line.startswith("ADDRESS "):
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                raise RuntimeError("the cluster process ended before giving its address")
        address = line.split()[1]
        sampler = proc.pid  # the scheduler's process
        with Client(address, set_as_default=False) as client:
            client.wait_for_workers(2)
            run_bounded(client, sampler, 500, 256, 10**5)  # warm-up: imports, connections
            results.append(run_bounded(client, sampler, min(sizes[0], 2_000), small_window, 10**5))
            print(_fmt(results[-1]), flush=True)
            for n in sizes:
                # batch sizes of a 10^9 sweep with n tasks (the descriptor is 2 ints anyway)
                results.append(run_bounded(client, sampler, n, 256, max(1, TARGET // n)))
                print(_fmt(results[-1]), flush=True)
            for n_tasks, batch in pypetx_cases:
                results.append(run_pypetx(client, sampler, n_tasks, batch))
                print(_fmt(results[-1]), flush=True)
            # last: cancelling this many tasks keeps the scheduler busy for a while
            results.append(run_queued(client, sampler, queued))
            print(_fmt(results[-1]), flush=True)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return results


# ---------------------------------------------------------------------------------------
# 3. the driver's store bookkeeping
# ---------------------------------------------------------------------------------------

def _exploration(n_points: int) -> Any:
    """An ``nx x 1000`` grid of ``n_points`` (C order, as a cartesian product)."""
    from pypetx.core.explore import Exploration

    ny = min(1000, n_points)
    nx = n_points // ny
    assert nx * ny == n_points, n_points
    return Exploration.from_grid((("parameters.x",), ("parameters.y",)),
                                 {"parameters.x": np.arange(nx, dtype=float),
                                  "parameters.y": 0.5 * np.arange(ny)})


def _batch(start: int, n: int) -> Any:
    """A finished batch of ``n`` runs from ``start``, one float64 result per run."""
    from pypetx.core.batch import BatchResult

    idx = np.arange(start, start + n, dtype=np.int64)
    return BatchResult(indices=idx, results={"z": idx * 0.5}, present={},
                       completed=np.ones(n, bool), failed=np.zeros(n, bool),
                       duration=np.full(n, 1e-6), worker="tcp://10.0.0.1:40000")


def _metadata(path: Path, storage: str) -> dict[str, int]:
    """Bytes that are not values, chunk count and file count of a results file."""
    if storage == "hdf5":
        import h5py

        chunks, data = 0, 0

        def visit(name: str, obj: Any) -> None:
            nonlocal chunks, data
            if isinstance(obj, h5py.Dataset):
                data += obj.id.get_storage_size()
                if obj.chunks is not None:
                    chunks += obj.id.get_num_chunks()

        with h5py.File(path, "r") as f:
            f.visititems(visit)
        size = path.stat().st_size
        return {"file_bytes": size, "data_bytes": data, "meta_bytes": size - data,
                "chunks": chunks, "files": 1}
    files, meta, size = 0, 0, 0
    for root, _dirs, names in os.walk(path):
        for n in names:
            s = os.path.getsize(os.path.join(root, n))
            files += 1
            size += s
            if n in ("zarr.json", ".zmetadata", ".zarray", ".zattrs", ".zgroup"):
                meta += s
    return {"file_bytes": size, "data_bytes": size - meta, "meta_bytes": meta,
            "chunks": files - sum(1 for _ in path.rglob("zarr.json")), "files": files}


def store_case(case: dict) -> dict:
    """One store measurement (run in a fresh process, see :func:`_child`)."""
    import h5netcdf  # noqa: F401 - warm imports: a sweep's driver has them loaded
    import xarray  # noqa: F401

    from pypetx.store import open_store

    kind, storage = case["kind"], case.get("storage", "hdf5")
    n, k = int(case.get("n", 1)), int(case.get("k", 1))
    root = Path(tempfile.mkdtemp(dir=case["dir"]))
    path = root / ("r.zarr" if storage == "zarr" else "r.h5")
    out: dict[str, Any] = dict(case)
    try:
        n_points = int(case.get("points", n * k))
        e = _exploration(n_points)
        st = open_store(path, "t", storage=storage)
        out["rss_after_imports"] = _own_rss()
        if kind == "open":
            # numpy reports its buffers to tracemalloc: the bytes open allocates, touched
            # or not (np.zeros pages count in RSS only once written)
            import tracemalloc

            tracemalloc.start()
            t0 = time.perf_counter()
            st.open(e, [], {}, resume=False)
            out["open_seconds"] = time.perf_counter() - t0
            out["open_bytes"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            out["per_run_arrays"] = sorted(
                k for k, v in vars(st).items()
                if isinstance(v, np.ndarray) and len(v) == n_points)
            st.close()
            return out
        t0 = time.perf_counter()
        st.open(e, [], {}, resume=False)
        out["open_seconds"] = time.perf_counter() - t0
        batches = [_batch(b * n, n) for b in range(min(k, 64))]  # built outside the timer
        times = np.empty(k)
        for b in range(k):
            batch = batches[b] if b < len(batches) else _batch(b * n, n)
            t0 = time.perf_counter()
            st.write_batch(batch)
            times[b] = time.perf_counter() - t0
        out["write_us_per_batch"] = float(np.median(times) * 1e6)
        out["write_seconds"] = float(times.sum())
        jfiles = list(st.journal_dir.glob("*.npz"))
        out["journal_bytes_per_batch"] = sum(f.stat().st_size for f in jfiles) / len(jfiles)
        if kind == "write":
            st.close()
            return out
        with RSSMonitor(interval=0.005) as m:
            t0 = time.perf_counter()
            st.finalize().close()
            out["finalize_seconds"] = time.perf_counter() - t0
        out["finalize_rss"] = m.peak - m.start_rss
        st.close()
        out.update(_metadata(path, storage))
        t0 = time.perf_counter()
        from pypetx.store.load import open_results

        ds = open_results(path)
        float(ds["z"][(0,) * ds["z"].ndim].values)
        ds.close()
        out["reopen_read_seconds"] = time.perf_counter() - t0
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _child(case: dict) -> dict:
    """Run :func:`store_case` in a fresh interpreter and return what it emitted."""
    cp = subprocess.run([sys.executable, __file__, "--child", json.dumps(case)],
                        capture_output=True, text=True, timeout=900)
    for line in cp.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    raise RuntimeError(f"store case {case} failed:\n{cp.stdout}\n{cp.stderr}")


def store_part(workdir: str, quick: bool) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {"write": [], "open": [], "finalize_k": [], "finalize_n": []}
    # write_batch cost against runs per batch (fixed + per run)
    for n, k in ([(1, 300), (1000, 100), (100_000, 5)] if quick else
                 [(1, 1000), (100, 1000), (10_000, 200), (100_000, 40)]):
        out["write"].append(_child({"kind": "write", "n": n, "k": k, "dir": workdir}))
        print(_fmt(out["write"][-1]), flush=True)
    # open: the per-run status arrays the store allocates
    for points in ([10**6] if quick else [10**6, 10**7, 10**8]):
        out["open"].append(_child({"kind": "open", "points": points, "dir": workdir}))
        print(_fmt(out["open"][-1]), flush=True)
    # finalize against the number of batches (100 runs each), both formats
    for storage in ("hdf5", "zarr"):
        for k in ([100, 1000] if quick else [100, 1000, 10_000]):
            out["finalize_k"].append(_child({"kind": "finalize", "storage": storage,
                                             "n": 100, "k": k, "dir": workdir}))
            print(_fmt(out["finalize_k"][-1]), flush=True)
    # finalize against the number of points, at the 10^9 sweep's batch size (10^5)
    for storage in ("hdf5", "zarr"):
        for k in ([2, 10] if quick else [10, 100, 200]):
            out["finalize_n"].append(_child({"kind": "finalize", "storage": storage,
                                             "n": 100_000, "k": k, "dir": workdir}))
            print(_fmt(out["finalize_n"][-1]), flush=True)
    return out


# ---------------------------------------------------------------------------------------
# fits, extrapolation, report
# ---------------------------------------------------------------------------------------

def fit(xs: list[list[float]], ys: list[float]) -> np.ndarray:
    """Non-negative least-squares coefficients of ``y = X @ c`` (a cost has no negative
    part). Columns are scaled first so a per-point and a per-batch term weigh alike."""
    from scipy.optimize import nnls

    a = np.asarray(xs, float)
    scale = np.abs(a).max(axis=0)
    scale[scale == 0] = 1
    c, _ = nnls(a / scale, np.asarray(ys, float))
    return c / scale


def extrapolate(sched: list[dict], store: dict[str, list[dict]]) -> dict[str, Any]:
    """The 10^9-point figures, each with the formula it comes from."""
    ex: dict[str, Any] = {}
    k9, n9 = TARGET // 100_000, 100_000  # trivial runs: max_batch-sized tasks
    if store.get("write"):
        w = store["write"]
        a, b = fit([[1, r["n"]] for r in w], [r["write_us_per_batch"] for r in w])
        ja, jb = fit([[1, r["n"]] for r in w], [r["journal_bytes_per_batch"] for r in w])
        ex["write"] = {"us_fixed": a, "us_per_run": b, "bytes_fixed": ja, "bytes_per_run": jb,
                       "seconds_1e9": k9 * (a + b * n9) / 1e6,
                       "journal_bytes_1e9": k9 * (ja + jb * n9)}
    if store.get("open"):
        o = store["open"][-1]
        ex["open"] = {"bytes_per_point": o["open_bytes"] / o["points"],
                      "us_per_point": o["open_seconds"] / o["points"] * 1e6}
    for storage in ("hdf5", "zarr"):
        rows = [r for r in store.get("finalize_k", []) + store.get("finalize_n", [])
                if r["storage"] == storage]
        if len(rows) < 3:
            continue
        x = [[1, r["k"], r["n"] * r["k"]] for r in rows]
        c0, ck, cn = fit(x, [r["finalize_seconds"] for r in rows])
        m0, mk, mn = fit(x, [r["meta_bytes"] for r in rows])
        f0, fk, fn = fit(x, [r["files"] for r in rows])
        # memory: the largest case (past the eager budget: the lazy path a big sweep takes)
        big = max(rows, key=lambda r: r["n"] * r["k"])
        rss_pp = big["finalize_rss"] / (big["n"] * big["k"])
        ex[f"finalize_{storage}"] = {
            "s_fixed": c0, "s_per_batch": ck, "s_per_point": cn,
            "seconds_1e9": c0 + ck * k9 + cn * TARGET,
            "rss_points": big["n"] * big["k"], "rss_per_point": rss_pp,
            "rss_1e9": rss_pp * TARGET,
            "meta": (m0, mk, mn), "meta_1e9": m0 + mk * k9 + mn * TARGET,
            "files": (f0, fk, fn), "files_1e9": f0 + fk * k9 + fn * TARGET}
    bounded = [r for r in sched if r.get("kind") == "bounded" and r["window"] >= 256]
    if bounded:
        rate = min(r["tasks_per_s"] for r in bounded)
        growth = max(r["sched_growth_per_task"] for r in bounded)
        cpu = max(r["sched_cpu_us_per_task"] for r in bounded)
        ex["scheduler"] = {"tasks_per_s": rate, "growth_per_task": growth, "cpu_us": cpu,
                           "tasks_1e9_trivial": k9, "seconds_1e9_trivial": k9 / rate}
    q = [r for r in sched if r.get("kind") == "queued"]
    if q:
        ex.setdefault("scheduler", {})["bytes_per_queued_task"] = q[0]["sched_bytes_per_queued_task"]
    p = [r for r in sched if r.get("kind") == "pypetx"]
    if p:
        ex.setdefault("scheduler", {})["pypetx"] = p
    return ex


def _fmt(r: dict) -> str:
    keep = {k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in r.items()
            if k != "dir"}
    return "  " + json.dumps(keep)


def _b(x: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(x) >= size:
            return f"{x / size:.3g} {unit}"
    return f"{x:.3g} B"


def _g(x: float) -> str:
    """A fitted coefficient (round-off of a zero coefficient shown as 0)."""
    return "0" if abs(x) < 1e-9 else f"{x:.3g}"


def _t(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:.3g} h"
    if s >= 60:
        return f"{s / 60:.3g} min"
    return f"{s:.3g} s"


def report(plan: list[dict], sched: list[dict], store: dict[str, list[dict]],
           ex: dict[str, Any], seconds: float, when: float | None = None) -> str:
    import distributed

    lines = [
        "# Simulated costs of a 10^9-point sweep",
        "",
        f"Generated by `benchmarks/sim_scale.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(when))} "
        f"in {seconds:.0f} s; {os.cpu_count()} cores (shared, noisy), python "
        f"{platform.python_version()}, distributed {distributed.__version__}, numpy "
        f"{np.__version__}. Every number under *measured* was measured by this run; every "
        "number under *extrapolated* is computed from them by the formula given next to it. "
        "`docs/scaling.md` explains what they mean for a real 10^9-point sweep.",
        "",
        "## 1. Batch sizes the planner picks for 10^9 points (formula, not measured)",
        "",
        "`auto_batch_size(seconds_per_run, 10**9, workers, BatchingOptions(), "
        "driver_seconds=0.010)`: the shipped defaults (target 0.5 s per task, "
        "`max_batch` 10^5) and 10 ms of driver time per finished task.",
        "",
        "| s/run | workers | runs/task | tasks | s/task | tasks/s at full load | wall |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in plan:
        lines.append(f"| {r['seconds_per_run']:g} | {r['workers']:,} | {r['batch']:,} | "
                     f"{r['tasks']:,} | {r['task_seconds']:.3g} | {r['tasks_per_second']:,.0f} | "
                     f"{_t(r['wall_hours'] * 3600)} |")
    if sched:
        lines += [
            "",
            "## 2. Scheduler load (measured)",
            "",
            "LocalCluster(n_workers=2, threads_per_worker=1) in a child process; the driver "
            "submits no-op tasks `noop(start, stop)` with unique keys and keeps `window` in "
            "flight (`as_completed`, one new task per finished one). `growth/task`: the "
            "scheduler process's RSS after the run minus before, per task.",
            "",
            "| case | tasks | window | runs/task (10^9 sweep) | tasks/s | µs/task | "
            "scheduler CPU µs/task | driver CPU µs/task | "
            "scheduler RSS start → peak | growth/task | driver RSS growth |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in sched:
            if r["kind"] == "bounded":
                lines.append(
                    f"| bounded | {r['n_tasks']:,} | {r['window']} | {r['batch']:,} | "
                    f"{r['tasks_per_s']:,.0f} | {r['us_per_task']:.0f} | "
                    f"{r['sched_cpu_us_per_task']:.0f} | {r['driver_cpu_us_per_task']:.0f} | "
                    f"{_b(r['sched_rss_start'])} → {_b(r['sched_rss_peak'])} | "
                    f"{_b(r['sched_growth_per_task'])} | {_b(r['driver_rss_growth'])} |")
        for r in sched:
            if r["kind"] == "queued":
                lines += ["", f"All at once: {r['n_tasks']:,} tasks submitted by one "
                          f"`client.map` (no bound) took {r['submit_seconds']:.1f} s to reach the "
                          f"scheduler and cost it **{_b(r['sched_bytes_per_queued_task'])} per "
                          "queued task** (RSS with them known minus before); then cancelled."]
        p = [r for r in sched if r["kind"] == "pypetx"]
        if p:
            lines += [
                "",
                "pypetx's `run_batches` over `DistributedBackend` with a no-op task (returns "
                "a `BatchResult` of all-completed runs) and a no-op sink, fixed `batch_size`, "
                "window 2 per worker: the driver's own loop, the planner and the transport "
                "of the run indices (an int64 array per task, sent through the scheduler).",
                "",
                "| tasks | runs/task | tasks/s | µs/task | µs/run | scheduler CPU µs/task "
                "| driver CPU µs/task | scheduler RSS peak growth "
                "| driver RSS peak growth | pending array |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for r in p:
                lines.append(f"| {r['n_tasks']:,} | {r['batch']:,} | {r['tasks_per_s']:,.0f} | "
                             f"{r['us_per_task']:.0f} | {r['us_per_run']:.3g} | "
                             f"{r['sched_cpu_us_per_task']:.0f} | {r['driver_cpu_us_per_task']:.0f} | "
                             f"{_b(r['sched_rss_peak_growth'])} | "
                             f"{_b(r['driver_rss_peak_growth'])} | {_b(r['pending_bytes'])} |")
    if store:
        lines += [
            "",
            "## 3. Driver bookkeeping in the store (measured)",
            "",
            "Each row a fresh process: a JournaledStore on a temporary directory, an "
            "`nx x 1000` grid, batches of one float64 result per run written with "
            "`write_batch` (fsync'd journal file each), then `finalize`.",
            "",
            "### write_batch",
            "",
            "| runs/batch | batches | µs/batch (median) | journal bytes/batch |",
            "|---:|---:|---:|---:|",
        ]
        for r in store.get("write", []):
            lines.append(f"| {r['n']:,} | {r['k']:,} | {r['write_us_per_batch']:,.0f} | "
                         f"{r['journal_bytes_per_batch']:,.0f} |")
        lines += ["", "### open (before the first batch)", "",
                  "Bytes allocated by `store.open` (tracemalloc peak: numpy buffers, touched or "
                  "not) and the store's attributes that hold one element per run.", "",
                  "| points | seconds | allocated | bytes/point | per-run arrays |",
                  "|---:|---:|---:|---:|---|"]
        for r in store.get("open", []):
            lines.append(f"| {r['points']:,} | {r['open_seconds']:.3g} | {_b(r['open_bytes'])} | "
                         f"{r['open_bytes'] / r['points']:.2f} | "
                         f"{', '.join('`' + a + '`' for a in r['per_run_arrays'])} |")
        lines += ["", "### finalize", "",
                  "`finalize RSS`: peak RSS during `finalize` above the RSS before it (sampled "
                  "every 5 ms; the journal already holds the batches it wrote in memory, up to "
                  "the 256 MiB eager budget, and they are not counted here). HDF5 metadata: "
                  "file size minus the datasets' storage; Zarr: the `zarr.json` files.", "",
                  "| format | runs/batch | batches | points | write µs/batch | finalize s "
                  "| finalize RSS | B/point | file bytes | metadata bytes | chunks "
                  "| files | reopen + read 1 point |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in store.get("finalize_k", []) + store.get("finalize_n", []):
            lines.append(
                f"| {r['storage']} | {r['n']:,} | {r['k']:,} | {r['n'] * r['k']:,} | "
                f"{r['write_us_per_batch']:,.0f} | {r['finalize_seconds']:.3g} | "
                f"{_b(r['finalize_rss'])} | {r['finalize_rss'] / (r['n'] * r['k']):.0f} | "
                f"{_b(r['file_bytes'])} | "
                f"{_b(r['meta_bytes'])} | {r['chunks']:,} | {r['files']:,} | "
                f"{r['reopen_read_seconds']:.3g} s |")
    lines += ["", "## 4. Extrapolated to 10^9 trivial points", "",
              "Trivial runs get `max_batch` = 10^5 runs per task: K = 10^4 batches, "
              "N = 10^9 points. Fits are non-negative least squares over the rows above.", "",
              "| cost | fit (measured) | formula | at 10^9 points |", "|---|---|---|---:|"]
    if "scheduler" in ex and "tasks_per_s" in ex["scheduler"]:
        s = ex["scheduler"]
        lines.append(f"| scheduler time | {s['tasks_per_s']:,.0f} tasks/s (slowest bounded run) | "
                     f"K / rate | {_t(s['seconds_1e9_trivial'])} |")
        lines.append(f"| scheduler CPU | {s['cpu_us']:.0f} µs/task (largest) | K × cpu | "
                     f"{_t(s['cpu_us'] * 1e4 / 1e6)} (10^4 tasks), "
                     f"{_t(s['cpu_us'] * 2e7 / 1e6)} (2·10^7 tasks: 10 ms runs) |")
        lines.append(f"| scheduler memory, bounded window | {_b(s['growth_per_task'])} RSS growth "
                     "per completed task (largest) | K × growth | "
                     f"{_b(s['growth_per_task'] * 1e4)} |")
        if "bytes_per_queued_task" in s:
            lines.append(f"| scheduler memory if all tasks were queued at once | "
                         f"{_b(s['bytes_per_queued_task'])}/task | K × bytes | "
                         f"{_b(s['bytes_per_queued_task'] * 1e4)} (10^4 tasks), "
                         f"{_b(s['bytes_per_queued_task'] * 1e7)} (10^7 tasks) |")
    if "write" in ex:
        w = ex["write"]
        lines.append(f"| write_batch time | {w['us_fixed']:,.0f} µs + {w['us_per_run']:.3g} µs/run "
                     f"| K (a + b·10^5) | {_t(w['seconds_1e9'])} |")
        lines.append(f"| journal bytes | {w['bytes_fixed']:,.0f} B + {w['bytes_per_run']:.3g} B/run "
                     f"| K (a + b·10^5) | {_b(w['journal_bytes_1e9'])} |")
    if "open" in ex:
        o = ex["open"]
        lines.append(f"| driver status arrays (open) | {o['bytes_per_point']:.2f} B/point | "
                     f"N × bytes | {_b(o['bytes_per_point'] * TARGET)} |")
    for storage in ("hdf5", "zarr"):
        f = ex.get(f"finalize_{storage}")
        if not f:
            continue
        lines.append(f"| {storage} finalize time | {_g(f['s_fixed'])} s + {_g(f['s_per_batch'] * 1e3)} "
                     f"ms/batch + {_g(f['s_per_point'] * 1e9)} ns/point | c0 + c1 K + c2 N | "
                     f"{_t(f['seconds_1e9'])} |")
        # the cube Cube.nbytes estimates for one float64 result: 14 B status + 8 B value
        how = "lazy" if f["rss_points"] * 22 > 256 * MiB else "eager"
        lines.append(f"| {storage} finalize peak RSS | {f['rss_per_point']:.0f} B/point (at "
                     f"N = {f['rss_points']:,}, {how} assembly) | N × bytes | {_b(f['rss_1e9'])} |")
        m0, mk, mn = f["meta"]
        lines.append(f"| {storage} metadata bytes | {_b(m0)} + {_g(mk)} B/batch + {_g(mn)} B/point "
                     f"| m0 + m1 K + m2 N | {_b(f['meta_1e9'])} |")
        f0, fk, fn = f["files"]
        lines.append(f"| {storage} files | {_g(f0)} + {_g(fk)}/batch + {_g(fn)}/point "
                     f"| f0 + f1 K + f2 N | {max(1, round(f['files_1e9'])):,} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="plan,scheduler,store")
    ap.add_argument("--full", action="store_true", help="also 3*10^4, 10^5 and 10^6 scheduler tasks (at ~200 tasks/s: over an hour)")
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--sched-sizes", default=None,
                    help="comma-separated task counts of the bounded scheduler runs")
    ap.add_argument("--json", default=None, help="also dump the raw measurements here")
    ap.add_argument("--from-json", default=None,
                    help="render the report from a --json dump instead of measuring")
    ap.add_argument("--workdir", default=None, help="where the store cases write")
    ap.add_argument("--serve-cluster", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_cluster:
        serve_cluster()
        return
    if args.child:
        emit(**store_case(json.loads(args.child)))
        return
    if args.from_json:
        raw = json.loads(Path(args.from_json).read_text())
        text = report(raw["plan"], raw["scheduler"], raw["store"],
                      extrapolate(raw["scheduler"], raw["store"]), raw["seconds"],
                      when=raw.get("when", os.path.getmtime(args.from_json)))
        print(text)
        if not args.no_write:
            (HERE / "SIM_SCALE.md").write_text(text)
        return
    parts = set(args.parts.split(","))
    t0 = time.perf_counter()
    plan = plan_table() if "plan" in parts else []
    for r in plan:
        print(_fmt(r))
    sched: list[dict] = []
    if "scheduler" in parts:
        sizes = ([2_000] if args.quick else [10_000]
                 + ([30_000, 100_000, 1_000_000] if args.full else []))
        if args.sched_sizes:
            sizes = [int(x) for x in args.sched_sizes.split(",")]
        pypetx_cases = ([(500, 100)] if args.quick else
                        [(2_000, 100), (500, 10_000), (100, 100_000)])
        sched = scheduler_part(sizes, 5_000 if args.quick else 50_000, pypetx_cases,
                               small_window=4)
    store: dict[str, list[dict]] = {}
    if "store" in parts:
        workdir = args.workdir or tempfile.mkdtemp(prefix="pypetx-sim-")
        try:
            store = store_part(workdir, args.quick)
        finally:
            if args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
    ex = extrapolate(sched, store)
    text = report(plan, sched, store, ex, time.perf_counter() - t0)
    print(text)
    if not args.no_write:
        (HERE / "SIM_SCALE.md").write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"plan": plan, "scheduler": sched, "store": store, "when": time.time(),
             "seconds": time.perf_counter() - t0}, indent=1, default=float))


if __name__ == "__main__":
    main()
