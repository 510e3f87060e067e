"""The fault battery: crashing and hanging points, killed processes, bad inputs.

Everything here is real: real signals (a segfault through ctypes, ``os._exit``), real
forked driver lanes, real LocalCluster worker processes. docs/failures.md states the
guarantees these tests hold.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import pypetx
from pypetx.base.errors import SweepFailed
from pypetx.core.batch import BatchResult
from pypetx.core.explore import cartesian_product
from pypetx.engine import DistributedBackend, run_batches
from pypetx.engine.isolate import DriverLane, ProcessDied, Shared, TaskTimedOut
from pypetx.engine.localfirst import LocalFirstBackend, LocalFirstOptions

SEGFAULT, EXIT, HANG = 7, 13, 21


def crashing_task(shared, indices):
    """A batch whose point 7 segfaults, 13 calls os._exit(3) and 21 hangs."""
    for i in indices.tolist():
        if i == SEGFAULT:
            ctypes.string_at(0)
        if i == EXIT:
            os._exit(3)
        if i == HANG:
            time.sleep(600)
    n = len(indices)
    return BatchResult(
        indices=np.asarray(indices, dtype=np.int64), results={"z": indices * 2.0},
        present={"z": np.ones(n, bool)}, completed=np.ones(n, bool),
        failed=np.zeros(n, bool), duration=np.zeros(n), worker=str(os.getpid()),
        error=[""] * n, traceback=[""] * n)


def _run(backend, n=40, **kw):
    got: dict[int, tuple[bool, str, float]] = {}

    def sink(batch):
        z = batch.results.get("z", np.full(len(batch), np.nan))
        for i, ok, err, v in zip(batch.indices.tolist(), batch.completed.tolist(),
                                 batch.error, np.asarray(z).tolist()):
            got[i] = (ok, err, v)

    summary = run_batches(crashing_task, None, np.arange(n), backend, sink,
                          progress=False, **kw)
    return summary, got


def _check_isolated(got, n=40, timeout=True):
    bad = {i: err for i, (ok, err, _) in got.items() if not ok}
    expect = {SEGFAULT, EXIT} | ({HANG} if timeout else set())
    assert set(bad) == expect  # exactly the culprits; their batch-mates are kept
    assert len(got) == n
    assert all(got[i][2] == 2.0 * i for i in range(n) if i not in expect)
    return bad


# ------------------------------------------------------------------------ driver lane
def test_lane_survives_segfault_and_exit_and_names_the_cause():
    lane = DriverLane()
    try:
        with pytest.raises(ProcessDied, match=r"signal 11 \(SIGSEGV\)"):
            lane.call(crashing_task, (None, np.array([SEGFAULT])))
        with pytest.raises(ProcessDied, match="exited with code 3"):
            lane.call(crashing_task, (None, np.array([EXIT])))
        with pytest.raises(TaskTimedOut, match="timed out after 0.3 s"):
            lane.call(crashing_task, (None, np.array([HANG])), timeout=0.3)
        batch = lane.call(crashing_task, (None, np.array([1, 2])))
        assert batch.worker != str(os.getpid())  # ran in the child
        with pytest.raises(ZeroDivisionError):  # a task's own exception comes back
            lane.call(divmod, (1, 0))
    finally:
        lane.close()


def test_lane_reuses_one_child_and_inherits_shared_objects():
    lane = DriverLane()
    big = Shared(np.arange(10))
    try:
        for _ in range(5):
            assert lane.call(np.sum, (big,)) == 45
        assert lane.forks == 1
        assert lane.call(lambda s: int(s[3]), (big,)) == 3  # unpicklable: a fresh fork
    finally:
        lane.close()


def test_local_first_records_crashing_points_and_finishes():
    options = LocalFirstOptions(min_remaining=1e9, isolate=True)  # never start the cluster
    with LocalFirstBackend(lambda: 1 / 0, options) as backend:
        summary, got = _run(backend, batch_size=8, timeout=1.0)
    bad = _check_isolated(got)
    assert "SIGSEGV" in bad[SEGFAULT] and "exited with code 3" in bad[EXIT]
    assert bad[HANG] == "TaskTimedOut: timed out after 1 s"
    assert summary.n_completed == 37 and summary.n_failed == 3


def test_local_first_isolates_by_default():
    assert LocalFirstOptions.from_config().isolate is True


# ------------------------------------------------------------------- real LocalCluster
@pytest.mark.slow
def test_killed_worker_batch_is_split_down_to_the_crashing_points():
    with DistributedBackend.local(n_workers=2, dashboard_address=":0") as backend:
        summary, got = _run(backend, batch_size=8, timeout=2.0)
    bad = _check_isolated(got)
    assert "worker processes running the point died" in bad[SEGFAULT]
    assert bad[HANG] == "TaskTimedOut: timed out after 2 s"
    assert summary.n_completed == 37


# ------------------------------------------------------------------ the user's script
SCRIPT = textwrap.dedent("""
    import ctypes, os, sys
    import pypetx

    def f(x):
        if x == 3:
            ctypes.string_at(0)
        if x == 5:
            os._exit(3)
        return x * 2

    if __name__ == "__main__":
        ds = pypetx.sweep(f, x=list(range(10)), on_error="continue", filename=sys.argv[1])
        print("ok", int(ds.run_completed.sum()) if "run_completed" in ds else -1)
""")


@pytest.mark.slow
def test_segfaulting_point_does_not_kill_the_users_script(tmp_path):
    script = tmp_path / "crash.py"
    script.write_text(SCRIPT)
    out = subprocess.run([sys.executable, str(script), str(tmp_path / "res.h5")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "ok" in out.stdout
    failed = pypetx.failures(pypetx.open_results(tmp_path / "res.h5"))
    assert len(failed) == 2


def _boom(x):
    if x == 2:
        raise ValueError("two")
    return x


def test_sweep_failed_without_filename_carries_the_dataset():
    with pytest.raises(SweepFailed) as info:
        pypetx.sweep(_boom, x=[1, 2, 3])
    err = info.value
    assert "env.rerun_failed" not in str(err) and "exc.dataset" in str(err)
    ds = err.dataset
    assert ds is not None and int(ds.boom.sel(x=3)) == 3  # named after _boom


# ----------------------------------------------------------------------- bad inputs
def test_dotted_names_with_one_leaf_are_refused():
    with pytest.raises(ValueError, match=r"'left.k' and 'right.k'.*k="):
        pypetx.sweep(lambda k: k, **{"left.k": [1, 2], "right.k": [10, 20]})


@pytest.mark.parametrize("given", [5, "fast", 2.5, None])
def test_a_scalar_where_a_list_is_expected_names_the_keyword(given):
    with pytest.raises(TypeError, match=r"mode=.*constants="):
        pypetx.sweep(lambda alpha, mode: alpha, alpha=[1, 2], mode=given)


def test_a_huge_grid_is_its_axes_and_an_impossible_sweep_is_refused_up_front(tmp_path):
    import resource

    axis = range(10_000)
    t0 = time.perf_counter()
    product = cartesian_product({"a": axis, "b": axis, "c": axis})  # 10^12 points
    assert len(product["c"]) == 10**12 and product["c"][10**12 - 1] == 9999
    assert product["a"][123_456_789_012] == 1234
    traj = pypetx.Trajectory("huge")
    for name in "abc":
        traj.f_add_parameter(name, 0)
    traj.f_explore(product)
    assert len(traj) == 10**12 and traj.exploration.point(10**12 - 1) == {
        "parameters.a": 9999, "parameters.b": 9999, "parameters.c": 9999}
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 4 * 2**20  # KiB: < 4 GiB
    with pytest.raises(pypetx.ExplorationError, match=r"1,000,000,000,000 points.*GiB"):
        pypetx.sweep(lambda a, b, c: a, a=axis, b=axis, c=axis, filename=tmp_path / "h.h5")
    assert time.perf_counter() - t0 < 10  # refused, not attempted
