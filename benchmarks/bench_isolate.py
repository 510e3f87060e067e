"""Cost of the forked driver lane (local-first isolate) on cheap sweeps: run with
``.venv/bin/python benchmarks/bench_isolate.py``; no store involved (run_batches only)."""
import time, numpy as np, sys
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "tests"))
from pypetx.engine import run_batches
from pypetx.engine.localfirst import LocalFirstBackend, LocalFirstOptions
from test_faults import crashing_task  # points >= 40 are cheap
for n in (10, 1000, 200_000):
    for iso in (False, True):
        best = 1e9
        for _ in range(5):
            with LocalFirstBackend(lambda: 1/0, LocalFirstOptions(min_remaining=1e9, isolate=iso)) as b:
                t = time.perf_counter()
                s = run_batches(crashing_task, None, np.arange(100, 100 + n), b, lambda x: None, progress=False)
                best = min(best, time.perf_counter() - t)
        print(f"n={n:>7} isolate={iso!s:5} {best*1e3:8.2f} ms  tasks={s.n_tasks}")
