"""What the sweep map costs a sweep: the 10^5-point trivial sweep with and without it.

    .venv/bin/python benchmarks/bench_dashboard.py [--n 100000] [--repeat 15] [--cost 0]

One LocalCluster (2 workers x 1 thread, started before the timer) and a running Client,
passed as ``client=``: the case where the map is on. The same
``pypetx.sweep(lambda x, y: x * y, x=..., y=..., client=client)`` runs in three modes,
interleaved (the order rotates every repeat) so that drifts of a shared machine hit them
alike:

- ``off``:  no sweep map (the environment's ``SweepMonitor`` replaced by ``None``: no
  messages, no plugin work; pypetx has no user switch for it, the map is always on);
- ``on``:   the map is fed (per-flush messages to the scheduler), no page open;
- ``page``: the map is fed and its page (``/pypetx/sweep``, following the newest sweep)
  is open in headless Chromium: the scheduler (in this process) redraws it every second
  and the browser shares the two cores.

Prints per mode the median wall time (and the quartiles), the overhead of ``on`` and
``page`` over ``off``, and the CPU seconds of this process (driver and scheduler) and of
Chromium during the sweeps; the target is <= 2 %. ``page`` needs Chromium and playwright
(left out otherwise). See benchmarks/DASHBOARD.md for the numbers.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import time

#: Chromium without anything that reaches out (as tests/test_dashboard.py starts it).
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync"]

COST = 0.0  # seconds of CPU per point (--cost); 0: the trivial sweep

#: Full (generation 2) garbage collections of this process: count and seconds. In a
#: process holding distributed, xarray and Bokeh one takes ~0.1 s, half a trivial sweep:
#: the outliers of every mode, counted apart.
FULL_GC = {"n": 0, "seconds": 0.0, "start": 0.0}


def _on_gc(phase: str, info: dict) -> None:
    if info["generation"] == 2:
        if phase == "start":
            FULL_GC["start"] = time.perf_counter()
        else:
            FULL_GC["n"] += 1
            FULL_GC["seconds"] += time.perf_counter() - FULL_GC["start"]


def _axes(n: int) -> dict[str, list[float]]:
    nx = 10 ** ((len(str(n)) - 1) - (len(str(n)) - 1) // 2)
    return {"x": [float(i) for i in range(nx)], "y": [0.5 * j for j in range(n // nx)]}


def run_sweep(client, n: int) -> float:
    """One sweep end to end (points built, run, stored, Dataset returned); seconds."""
    import pypetx

    if COST:
        cost = COST

        def fn(x, y):
            end = time.thread_time() + cost
            while time.thread_time() < end:
                pass
            return x * y
    else:
        fn = lambda x, y: x * y  # noqa: E731 - the issue's sweep, as a user writes it
    t0 = time.perf_counter()
    ds = pypetx.sweep(fn, client=client, **_axes(n))
    seconds = time.perf_counter() - t0
    assert int(ds["completed"].sum()) == n
    return seconds


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


def _show_map(page, port: int | None) -> None:
    """Open the map in ``page`` (``None``: leave it for a blank page, which ends its
    session: the scheduler stops redrawing). One page throughout: closing pages and
    opening new ones right after a sweep sometimes hung Playwright here."""
    if port is None:
        page.goto("about:blank", timeout=30_000)
        return
    page.goto(f"http://127.0.0.1:{port}/pypetx/sweep", timeout=30_000)
    page.wait_for_function(
        "() => window.Bokeh && Bokeh.documents.length && "
        "Bokeh.documents[0].get_model_by_name('pypetx-sweep')", timeout=30_000)


def _quartiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return q[0], q[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=15)
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
    gcs: dict[str, list[tuple[int, float]]] = {m: [] for m in modes}
    import gc

    gc.callbacks.append(_on_gc)
    load = os.getloadavg()
    with LocalCluster(n_workers=2, threads_per_worker=1,
                      dashboard_address="127.0.0.1:0") as cluster, \
            Client(cluster, set_as_default=False) as client:
        port = cluster.scheduler.http_server.port
        run_sweep(client, args.n)  # imports, worker caches, the plugin
        pw = sync_playwright().start() if "page" in modes else None
        browser = None if pw is None else pw.chromium.launch(executable_path=chromium,
                                                            args=BROWSER_ARGS)
        page = None if browser is None else browser.new_page()
        try:
            for k in range(args.repeat):
                for mode in modes[k % len(modes):] + modes[:k % len(modes)]:
                    dashboard.SweepMonitor = real_monitor if mode != "off" else (
                        lambda *a, **kw: None)
                    if page is not None:
                        _show_map(page, port if mode == "page" else None)
                    time.sleep(1.0)  # the page has drawn, the last messages are in
                    before, gc0 = cpu_seconds(), dict(FULL_GC)
                    seconds = run_sweep(client, args.n)
                    after = cpu_seconds()
                    cpu[mode].append((after[0] - before[0], after[1] - before[1]))
                    times[mode].append(seconds)
                    gcs[mode].append((FULL_GC["n"] - gc0["n"], FULL_GC["seconds"] - gc0["seconds"]))
                    print(f"  {mode:>4} #{k}: {seconds:.3f} s, full gc {gcs[mode][-1][0]}",
                          file=sys.stderr)
        finally:
            dashboard.SweepMonitor = real_monitor
            if browser is not None:
                browser.close()
            if pw is not None:
                pw.stop()
        n_events = len(client.get_events(TOPIC))
    base = statistics.median(times["off"])
    quiet = {m: [t for t, (n, _) in zip(times[m], gcs[m]) if not n] for m in modes}
    base_quiet = statistics.median(quiet["off"]) if quiet["off"] else float("nan")
    what = "the trivial sweep" if not args.cost else f"{args.cost * 1e3:g} ms of CPU a point"
    print(f"\n{args.n} points ({what}), {args.repeat} interleaved repeats per mode, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {load[0]:.2f} at start; wall time median [quartiles], CPU seconds of this "
          "process (driver + scheduler) and of Chromium per sweep (medians):")
    for mode in modes:
        med = statistics.median(times[mode])
        lo, hi = _quartiles(times[mode])
        over = "" if mode == "off" else f" {100 * (med / base - 1):+.1f} % vs off;"
        driver = statistics.median(c[0] for c in cpu[mode])
        browser_cpu = statistics.median(c[1] for c in cpu[mode])
        print(f"  {mode:>4}: {med:.3f} s [{lo:.3f} .. {hi:.3f}];{over} "
              f"cpu driver {driver:.3f} s, chromium {browser_cpu:.3f} s")
        n_gc = sum(n for n, _ in gcs[mode])
        med_q = statistics.median(quiet[mode]) if quiet[mode] else float("nan")
        over_q = "" if mode == "off" else f" {100 * (med_q / base_quiet - 1):+.1f} % vs off;"
        print(f"        {n_gc} full gc in {len(times[mode])} sweeps "
              f"({sum(t for _, t in gcs[mode]):.3f} s); without them: {med_q:.3f} s;{over_q}")
    n_sweeps = sum(len(v) for k, v in times.items() if k != "off") + 1
    print(f"  messages to the scheduler: {n_events} for {n_sweeps} sweeps with the map "
          "(the scheduler keeps the last 1000)")


if __name__ == "__main__":
    main()
