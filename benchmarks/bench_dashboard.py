"""What the sweep map costs a sweep: the 10^5-point trivial sweep with and without it.

    .venv/bin/python benchmarks/bench_dashboard.py [--n 100000] [--repeat 9]

One LocalCluster (2 workers x 1 thread, started before the timer, passed as ``client=``:
the case where the map is on) runs the same ``z = x * y`` grid sweep in three modes,
interleaved so that drifts of a shared machine hit them alike:

- ``off``:  no sweep map (the environment's monitor replaced by ``None``);
- ``on``:   the map is fed (per-batch messages to the scheduler), no page open;
- ``page``: the map is fed and its page is open in headless Chromium (it redraws every
  second in the scheduler, which runs in this process, and the browser shares the cores).

Prints the median wall time of each mode and the overhead of ``on`` and ``page`` over
``off``; the target is <= 2 %. Needs Chromium and playwright for ``page`` (skipped
otherwise).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path


def multiply(traj):
    traj.f_add_result("z", traj.x * traj.y)


def costly(traj):
    """z = x * y after COST seconds of CPU (module global, set by --cost)."""
    end = time.thread_time() + COST
    while time.thread_time() < end:
        pass
    traj.f_add_result("z", traj.x * traj.y)


COST = 0.0


def sweep(client, path: Path, n: int) -> float:
    import pypetx
    from pypetx import Environment

    nx = 10 ** ((len(str(n)) - 1) - (len(str(n)) - 1) // 2)
    env = Environment("bench", filename=str(path), client=client, progress=False)
    env.traj.f_add_parameter("x", 1.0)
    env.traj.f_add_parameter("y", 1.0)
    env.traj.f_explore(pypetx.cartesian_product(
        {"x": [float(i) for i in range(nx)], "y": [0.5 * j for j in range(n // nx)]}))
    t0 = time.perf_counter()
    env.run(costly if COST else multiply)
    return time.perf_counter() - t0


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by this process (driver + scheduler) and by Chromium."""
    import psutil

    browser = 0.0
    for proc in psutil.process_iter(["name"]):
        if "chrom" in (proc.info["name"] or ""):
            try:
                times = proc.cpu_times()
                browser += times.user + times.system
            except psutil.Error:
                pass
    me = psutil.Process().cpu_times()
    return me.user + me.system, browser


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--cost", type=float, default=0.0,
                    help="seconds of CPU per point (0: the trivial sweep)")
    args = ap.parse_args()
    global COST
    COST = args.cost

    from distributed import Client, LocalCluster

    import pypetx.engine.dashboard as dashboard
    from pypetx.engine.dashboard.messages import TOPIC

    real_monitor = dashboard.SweepMonitor
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    modes = ["off", "on"] + (["page"] if chromium and sync_playwright else [])
    times: dict[str, list[float]] = {m: [] for m in modes}
    cpu: dict[str, list[tuple[float, float]]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp, LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address="127.0.0.1:0") as cluster, \
            Client(cluster, set_as_default=False) as client:
        port = cluster.scheduler.http_server.port
        sweep(client, Path(tmp) / "warm.h5", args.n)  # imports, worker caches, the plugin
        browser = None
        pw = sync_playwright().start() if "page" in modes else None
        if pw is not None:
            browser = pw.chromium.launch(executable_path=chromium, args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync"])
        try:
            for k in range(args.repeat):
                for mode in modes[k % len(modes):] + modes[:k % len(modes)]:
                    dashboard.SweepMonitor = real_monitor if mode != "off" else (
                        lambda *a, **kw: None)
                    page = None
                    if mode == "page":
                        page = browser.new_page()
                        page.goto(f"http://127.0.0.1:{port}/pypetx/sweep")
                        page.wait_for_function(
                            "() => window.Bokeh && Bokeh.documents.length && "
                            "Bokeh.documents[0].get_model_by_name('pypetx-sweep')",
                            timeout=60_000)
                    before = cpu_seconds()
                    seconds = sweep(client, Path(tmp) / f"{mode}-{k}.h5", args.n)
                    after = cpu_seconds()
                    cpu[mode].append((after[0] - before[0], after[1] - before[1]))
                    if page is not None:
                        page.wait_for_timeout(1500)  # the page catches up, then goes
                        page.close()
                    times[mode].append(seconds)
                    print(f"  {mode:>4} #{k}: {seconds:.3f} s", file=sys.stderr)
        finally:
            dashboard.SweepMonitor = real_monitor
            if browser is not None:
                browser.close()
            if pw is not None:
                pw.stop()
        n_events = len(client.get_events(TOPIC))
    base = statistics.median(times["off"])
    print(f"\n{args.n} points ({args.cost * 1e6:g} us of CPU each), {args.repeat} repeats per mode; median wall time, and CPU "
          "seconds of the driver process (with the scheduler) and of Chromium during the sweep:")
    for mode in modes:
        med = statistics.median(times[mode])
        over = "" if mode == "off" else f" ({100 * (med / base - 1):+.1f} % vs off)"
        driver = statistics.median(c[0] for c in cpu[mode])
        browser = statistics.median(c[1] for c in cpu[mode])
        print(f"  {mode:>4}: {med:.3f} s (min {min(times[mode]):.3f}){over}; "
              f"cpu driver {driver:.3f} s, chromium {browser:.3f} s")
    n_sweeps = sum(len(v) for k, v in times.items() if k != "off") + 1
    print(f"  messages to the scheduler: {n_events} for {n_sweeps} sweeps with the map "
          "(scheduler keeps the last 1000)")


if __name__ == "__main__":
    main()
