"""pypetx contender (runs in the project's .venv). See _common.py for the protocol.

Modes: ``local`` = the defaults, as a user gets them: the driver runs the first batches and
starts the embedded LocalCluster (inside the timed region) only when the work left is worth
it; ``cluster`` = the embedded LocalCluster from the first run (``pypetx.local_first``
off); ``client`` = a LocalCluster(2 workers x 1 thread) started
before the timer and passed as ``client=`` (the marginal cost without cluster start-up);
``sync`` = ``cluster="synchronous"`` (in-process, serial).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    RSSMonitor, Timer, preimport, array_result, burn, driver_peak_rss, du, emit, grid, parser, remove,
)

CASES = ["trivial_traj", "trivial_sweep", "cpu_traj", "cpu_sweep", "array_traj",
         "array_sweep", "slice", "ten", "resume_prepare", "resume", "profile_target"]


# --- user functions (module level in __main__: cloudpickled by value to the workers) -----

def multiply(traj):
    traj.f_add_result("z", traj.x * traj.y)


def z(x, y):
    return x * y


def cpu_point(traj):
    burn(0.010)
    traj.f_add_result("z", traj.x * traj.y)


def cpu_plain(x, y):
    burn(0.010)
    return x * y


def array_point(traj):
    traj.f_add_result("a", array_result(traj.x, traj.y))


def a(x, y):
    return array_result(x, y)


# Workload 5. The same function object is used for the interrupted pass and the resume
# (pypetx refuses to resume with a different function); its behaviour on the first pass
# is switched by environment variables of the victim process.
def resumable(traj):
    if traj.v_idx >= int(os.environ.get("PYPETX_BENCH_CUT", "99000")):
        mode = os.environ.get("PYPETX_BENCH_RESUME", "")
        if mode == "stall":  # the victim: signal that 99 % are done, then hang until killed
            marker = os.environ["PYPETX_BENCH_MARKER"]
            if not os.path.exists(marker):
                open(marker, "w").close()
            time.sleep(3600)
        elif mode == "fail":
            raise RuntimeError("deliberate failure (benchmark: 1 % of the points)")
    traj.f_add_result("z", traj.x * traj.y)


# --- helpers -------------------------------------------------------------------------------

def _backend(mode):
    """(Environment kwargs, cleanup) for a mode; the client is started before the timer."""
    if mode == "sync":
        return {"cluster": "synchronous"}, lambda: None
    if mode == "client":
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)

        def close():
            client.close()
            cluster.close()
        return {"client": client}, close
    if mode == "cluster":
        import dask

        dask.config.set({"pypetx.local_first.enabled": False})  # this process only
    return {}, lambda: None


def _traj_run(fn, n, path, backend, **env_kw):
    from pypetx import Environment, cartesian_product

    xs, ys = grid(n)
    env = Environment(trajectory="bench", filename=path, overwrite_file=True,
                      progress=False, **backend, **env_kw)
    traj = env.trajectory
    traj.f_add_parameter("x", 0.0)
    traj.f_add_parameter("y", 0.0)
    traj.f_explore(cartesian_product({"x": xs, "y": ys}))
    env.run(fn)
    ds = env.dataset
    ds.close()
    return env


def _check_trivial(path, n, var="z"):
    import numpy as np
    import pypetx

    xs, ys = grid(n)
    with pypetx.open_results(path) as ds:
        got = ds[var].values
        ok = bool(ds["completed"].values.all())
    want = np.multiply.outer(np.asarray(xs), np.asarray(ys))
    if not (ok and np.array_equal(got, want)):
        raise SystemExit(f"wrong results in {path}")


def main():
    p = parser(CASES)
    p.add_argument("--mode", choices=["local", "cluster", "client", "sync"], default="local")
    p.add_argument("--how", choices=["kill", "fail"], default="kill")
    args = p.parse_args()
    preimport("pypetx", "pypetx.env.environment", "pypetx.sweep")
    os.makedirs(args.workdir, exist_ok=True)
    n, mode = args.n, args.mode
    path = args.file or os.path.join(args.workdir, f"pypetx-{args.case}-{mode}-{n}.h5")
    out = {"case": args.case, "mode": mode, "n": n}
    if args.case not in ("slice", "resume", "resume_prepare"):
        remove(path + ".pypetx")  # a journal left by an earlier crashed run

    if args.case in ("trivial_traj", "trivial_sweep", "cpu_traj", "cpu_sweep", "ten",
                     "profile_target"):
        backend, close = _backend(mode)
        try:
            remove(path)
            with Timer() as t:
                if args.case in ("trivial_traj", "ten", "profile_target"):
                    env = _traj_run(multiply, n, path, backend)
                    out["tasks"] = env.summary.n_tasks if env.summary else None
                elif args.case == "cpu_traj":
                    env = _traj_run(cpu_point, n, path, backend)
                    out["tasks"] = env.summary.n_tasks if env.summary else None
                else:
                    import pypetx

                    xs, ys = grid(n)
                    fn = z if args.case == "trivial_sweep" else cpu_plain
                    pypetx.sweep(fn, filename=path, x=xs, y=ys, **backend).close()
        finally:
            close()
        out["seconds"] = t.seconds
        out["file_bytes"] = du(path)
        if args.case != "cpu_traj" and args.case != "cpu_sweep":
            _check_trivial(path, n)
        if args.case == "profile_target":
            out["peak_rss"] = driver_peak_rss()

    elif args.case in ("array_traj", "array_sweep"):
        backend, close = _backend(mode)
        try:
            remove(path)
            with RSSMonitor() as mon, Timer() as t:
                if args.case == "array_traj":
                    _traj_run(array_point, n, path, backend)
                else:
                    import pypetx

                    xs, ys = grid(n)
                    pypetx.sweep(a, filename=path, x=xs, y=ys, **backend).close()
        finally:
            close()
        out.update(seconds=t.seconds, file_bytes=du(path), peak_rss=driver_peak_rss(),
                   rss_at_start=mon.start_rss, peak_rss_sampled=mon.peak,
                   payload_bytes=n * 10_000 * 8)
        import numpy as np
        import pypetx

        with pypetx.open_results(path) as ds:
            var = "a" if "a" in ds else [v for v in ds.data_vars if ds[v].ndim == 3][0]
            xs, ys = grid(n)
            got = ds[var].isel(x=len(xs) - 1, y=len(ys) - 1).values
        if not np.array_equal(got, array_result(xs[-1], ys[-1])):
            raise SystemExit("wrong array results")
        if not args.keep:
            remove(path)

    elif args.case == "slice":
        out.update(_slice(args.file))

    elif args.case == "resume_prepare":
        out.update(_resume_prepare(path, n, args.how))

    elif args.case == "resume":
        os.environ["PYPETX_BENCH_CUT"] = str(n * 99 // 100)
        from pypetx import Environment, cartesian_product

        xs, ys = grid(n)
        with Timer() as t:
            env = Environment(trajectory="bench", filename=path, resume=True, progress=False)
            traj = env.trajectory
            traj.f_add_parameter("x", 0.0)
            traj.f_add_parameter("y", 0.0)
            traj.f_explore(cartesian_product({"x": xs, "y": ys}))
            if args.how == "fail":
                env.rerun_failed(resumable)
            else:
                env.run(resumable)
            env.dataset.close()
        s = env.summary
        out.update(seconds=t.seconds, runs_executed=getattr(s, "n_runs", None),
                   tasks=getattr(s, "n_tasks", None), file_bytes=du(path))
        _check_trivial(path, n)
    emit(**out)


def _slice(path):
    """Workload 4: one explored point / one row, lazily, vs loading the whole cube."""
    import xarray as xr
    import pypetx

    res = {}

    def timed(label, opener, select):
        t0 = time.perf_counter()
        ds = opener()
        var = "a" if "a" in ds else [v for v in ds.data_vars if ds[v].ndim == 3][0]
        arr = select(ds[var]).values
        res[label] = time.perf_counter() - t0
        res[label + "_bytes"] = int(arr.nbytes)
        ds.close()

    def px():
        return pypetx.open_results(path)

    def plain():  # what a colleague without pypetx does
        return xr.open_dataset(path, engine="h5netcdf", group="bench", chunks={})

    # full loads first, so that every read below finds the file in the page cache
    timed("full_pypetx", px, lambda v: v)
    timed("point_pypetx", px, lambda v: v.isel(x=3, y=7))
    timed("row_pypetx", px, lambda v: v.isel(x=3))
    timed("full_xarray", plain, lambda v: v)
    timed("point_xarray", plain, lambda v: v.isel(x=3, y=7))
    timed("row_xarray", plain, lambda v: v.isel(x=3))
    return res


def _resume_prepare(path, n, how):
    os.environ["PYPETX_BENCH_CUT"] = str(n * 99 // 100)
    """Produce a 99 %-done sweep of ``n`` points in ``path``.

    ``kill``: a victim process runs the sweep with a function that hangs from run 99,000
    on; once a point hangs (a marker file appears) and the completed batches have been
    journaled, the victim's whole process group (driver + LocalCluster workers) gets
    SIGKILL, exactly like a crash. ``fail``: the whole sweep runs with 1 % of the points
    raising (``on_error="continue"``); the resume is then ``env.rerun_failed(fn)``.
    """
    remove(path)
    remove(path + ".pypetx")
    if how == "fail":
        os.environ["PYPETX_BENCH_RESUME"] = "fail"
        with Timer() as t:
            _traj_run(resumable, n, path, {}, on_error="continue")
        return {"prepare_seconds": t.seconds}
    marker = path + ".marker"
    remove(marker)
    env = dict(os.environ, PYPETX_BENCH_RESUME="stall", PYPETX_BENCH_MARKER=marker)
    # The function must be the same for the victim and the resume: both run it as
    # __main__.resumable, i.e. through this very script.
    victim = subprocess.Popen([sys.executable, os.path.abspath(__file__), "victim",
                               "--n", str(n), "--file", path],
                              env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t0 = time.perf_counter()
    while not os.path.exists(marker):
        if victim.poll() is not None:
            raise SystemExit("victim ended early: " + victim.stderr.read().decode()[-2000:])
        if time.perf_counter() - t0 > 600:
            os.killpg(victim.pid, signal.SIGKILL)
            raise SystemExit("victim never reached 99 %")
        time.sleep(0.05)
    time.sleep(2.0)  # let the completed batches reach the journal
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    jdir = os.path.join(path + ".pypetx", "bench")
    n_files = len(os.listdir(jdir)) if os.path.isdir(jdir) else 0
    return {"prepare_seconds": time.perf_counter() - t0, "journal_files": n_files}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "victim":
        p = parser(["victim"])
        a_ = p.parse_args()
        # small batches, so that the crash loses little beyond the stalled points
        _traj_run(resumable, a_.n, a_.file, {}, batch_size=100)
    else:
        main()
