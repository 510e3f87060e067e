"""Helpers shared by the contender scripts (stdlib + numpy only: they run in every venv).

Every contender script is called as ``python bench_<x>.py CASE --n N --workdir DIR`` and
prints one line ``BENCHJSON {...}`` with its measurements; ``run.py`` parses that line.
Timings are taken inside the process, after the imports (import time is measured
separately), and cover everything the user waits for: building the points, running,
storing and closing the file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import threading
import time

MARK = "BENCHJSON "


def grid(n: int) -> tuple[list[float], list[float]]:
    """The explored axes of an ``n``-point grid (``n`` a power of ten): x (slow), y (fast)."""
    k = round(math.log10(n))
    if 10 ** k != n:
        raise ValueError(f"n must be a power of ten, not {n}")
    nx, ny = 10 ** (k - k // 2), 10 ** (k // 2)
    return [float(i) for i in range(nx)], [0.5 * j for j in range(ny)]


def burn(seconds: float) -> None:
    """Busy-loop for ``seconds`` of CPU time of the calling thread (not sleep)."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def array_result(x: float, y: float, size: int = 10_000):
    """Workload 3: an incompressible pseudo-random float64 array, reproducible per point."""
    import numpy as np

    seed = int(x) * 100_003 + int(2 * y)
    return np.random.default_rng(seed).random(size)


def driver_peak_rss() -> int:
    """Peak resident set size of this (driver) process in bytes (exact: kernel's maxrss)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class RSSMonitor:
    """Samples this process's RSS every ``interval`` s (psutil) and keeps the peak above
    the RSS at start, so that the baseline of imports is visible separately."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.start_rss = self.peak = 0
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self) -> RSSMonitor:
        try:
            import psutil
        except ImportError:
            return self
        proc = psutil.Process()
        self.start_rss = self.peak = proc.memory_info().rss

        def loop() -> None:
            while not self._stop.wait(self.interval):
                self.peak = max(self.peak, proc.memory_info().rss)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def du(path: str) -> int:
    """Bytes on disk of a file or a directory tree (apparent sizes)."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def remove(path: str) -> None:
    import shutil

    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.exists(path):
        os.remove(path)


def parser(cases: list[str]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("case", choices=cases)
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--workdir", default=".")
    p.add_argument("--keep", action="store_true", help="keep the result file")
    p.add_argument("--file", default=None, help="explicit result file (workloads 4, 5)")
    return p


def preimport(*extra: str) -> None:
    """Import the heavy modules before any timer starts: import time is measured on its
    own (``import pypetx`` in a fresh process), the timed region is the sweep itself."""
    import importlib

    for mod in ("numpy", "xarray", "h5netcdf", "h5py", "distributed", *extra):
        try:
            importlib.import_module(mod)
        except ImportError:
            pass


def emit(**values) -> None:
    values.setdefault("python", sys.version.split()[0])
    print(MARK + json.dumps(values), flush=True)


class Timer:
    def __enter__(self) -> Timer:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.t0
