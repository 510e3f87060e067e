"""run_batches on real backends: LocalCluster, synchronous, thread and process pools."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import dask
import distributed
import numpy as np
import pytest

from pypetx.engine import (
    DistributedBackend,
    ExecutorBackend,
    SweepInterrupted,
    SynchronousBackend,
    resolve_backend,
    run_batches,
)
from pypetx.store.batch import BatchResult

REPO = Path(__file__).resolve().parents[1]


# -- tasks (top level: pickled by reference into workers) -----------------------------------
def make_batch(indices, z, failed=None, errors=None):
    n = len(indices)
    failed = np.zeros(n, bool) if failed is None else failed
    return BatchResult(
        indices=np.asarray(indices, dtype=np.int64),
        results={"z": z},
        present={"z": ~failed},
        completed=~failed,
        failed=failed,
        duration=np.zeros(n),
        worker=str(os.getpid()),
        error=errors or [""] * n,
        traceback=[""] * n,
    )


def xy_task(shared, indices):
    """z = x * y for the runs of ``indices`` (x, y looked up in the shared table)."""
    x, y = shared["x"][indices], shared["y"][indices]
    return make_batch(indices, x * y)


def slow_task(seconds, indices):
    time.sleep(seconds * len(indices))
    return make_batch(indices, indices * 2.0)


def dying_task(marker, indices):
    """Kill the worker process the first time it runs while ``marker`` exists."""
    if marker.exists():
        marker.unlink()
        os._exit(1)
    return make_batch(indices, indices * 2.0)


def always_dying_task(poison, indices):
    if poison in indices.tolist():
        os._exit(1)
    return make_batch(indices, indices * 2.0)


def raising_task(poison, indices):
    if poison in indices.tolist():
        raise MemoryError(f"cannot allocate for run {poison}")
    return make_batch(indices, indices * 2.0)


def not_a_batch(shared, indices):
    return {"z": indices}


N = 1000
SHARED = {"x": np.arange(N, dtype=float), "y": np.arange(N, dtype=float) + 0.5}
PENDING = np.setdiff1d(np.arange(N), [3, 4, 5, 500, 999])  # a resumed sweep: holes


class Collect:
    """A sink that checks every run arrives once and assembles z."""

    def __init__(self, n=N):
        self.z = np.full(n, np.nan)
        self.seen = np.zeros(n, dtype=int)
        self.batches = []

    def __call__(self, batch):
        self.seen[batch.indices] += 1
        if "z" in batch.results:
            self.z[batch.indices[batch.completed]] = batch.results["z"][batch.completed]
        self.batches.append(batch)


@pytest.fixture(scope="module")
def cluster_backend():
    # keep fork while the cluster lives: a nanny restarting a killed worker reads it then
    with (
        dask.config.set({"distributed.worker.multiprocessing-method": "fork"}),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=":0", host="127.0.0.1"
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield DistributedBackend(client)


def expected_z(pending=PENDING):
    return SHARED["x"][pending] * SHARED["y"][pending]


@pytest.mark.parametrize("kind", ["cluster", "synchronous", "threads", "processes"])
def test_results_equal_on_every_backend(kind, cluster_backend):
    sink = Collect()
    if kind == "cluster":
        summary = run_batches(
            xy_task, SHARED, PENDING, cluster_backend, sink, progress=False
        )
    elif kind == "synchronous":
        summary = run_batches(
            xy_task, SHARED, PENDING, SynchronousBackend(), sink, progress=False
        )
    else:
        pool = ThreadPoolExecutor(2) if kind == "threads" else ProcessPoolExecutor(2)
        with pool, ExecutorBackend(pool) as be:
            summary = run_batches(xy_task, SHARED, PENDING, be, sink, progress=False)
    assert np.array_equal(sink.z[PENDING], expected_z())
    assert sink.seen[PENDING].tolist() == [1] * len(PENDING)
    assert sink.seen.sum() == len(PENDING)
    assert summary.n_completed == len(PENDING) and summary.n_failed == 0
    assert summary.n_tasks == len(sink.batches) == len(summary.batch_sizes)
    assert sum(summary.batch_sizes) == len(PENDING) and not summary.interrupted
    for b in sink.batches:  # contiguous slices of the sorted pending runs
        assert np.array_equal(b.indices, np.sort(b.indices))


def test_auto_batching_few_tasks_for_many_trivial_runs(cluster_backend):
    n = 10**5
    shared = {"x": np.arange(n, dtype=float), "y": np.ones(n)}
    sink = Collect(n)
    summary = run_batches(
        xy_task, shared, np.arange(n), cluster_backend, sink, progress=False
    )
    assert np.array_equal(sink.z, shared["x"])
    assert summary.n_tasks < 40, summary.batch_sizes
    assert summary.batch_sizes[:2] == [1, 1]  # warm-up: one run per worker


def test_auto_batching_one_run_per_task_for_expensive_runs(cluster_backend):
    sink = Collect(12)
    with dask.config.set({"pypetx.batching.target_task_seconds": 0.05}):
        summary = run_batches(
            slow_task, 0.05, np.arange(12), cluster_backend, sink, progress=False
        )
    assert summary.batch_sizes == [1] * 12
    assert np.array_equal(sink.z, np.arange(12) * 2.0)


def test_fixed_batch_size(cluster_backend):
    sink = Collect()
    summary = run_batches(
        xy_task,
        SHARED,
        PENDING,
        cluster_backend,
        sink,
        batch_size=100,
        progress=False,
        max_in_flight=3,
    )
    assert summary.batch_sizes == [100] * 9 + [len(PENDING) - 900]
    assert np.array_equal(sink.z[PENDING], expected_z())


def test_killed_worker_is_retried_and_the_sweep_completes(cluster_backend, tmp_path):
    marker = tmp_path / "kill-once"
    marker.touch()
    sink = Collect(40)
    summary = run_batches(
        dying_task,
        marker,
        np.arange(40),
        cluster_backend,
        sink,
        batch_size=5,
        progress=False,
    )
    assert not marker.exists()  # a worker really died
    assert np.array_equal(sink.z, np.arange(40) * 2.0)
    assert (
        summary.n_completed == 40
        and summary.n_failed == 0
        and summary.n_task_errors == 0
    )


def test_task_that_keeps_killing_workers_fails_its_runs_only():
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        backend = DistributedBackend.local(n_workers=1, dashboard_address=":0")
        with backend:
            assert backend.n_workers == 1  # starts the cluster under this config
            sink = Collect(6)
            # one task at a time: with allowed-failures=0 a task merely queued on the
            # dying worker would be blamed too
            summary = run_batches(
                always_dying_task,
                3,
                np.arange(6),
                backend,
                sink,
                batch_size=1,
                progress=False,
                retries=0,
                max_in_flight=1,
            )
    # two task errors: run 3 is failed after its second chance, run alone (see run_batches)
    assert (
        summary.n_task_errors == 2
        and summary.n_failed == 1
        and summary.n_completed == 5
    )
    (bad,) = [b for b in sink.batches if b.failed.any()]
    assert bad.indices.tolist() == [3] and "KilledWorker" in bad.error[0]
    assert np.array_equal(np.delete(sink.z, 3), np.delete(np.arange(6) * 2.0, 3))


def test_task_exception_fails_its_runs_after_retries(cluster_backend):
    sink = Collect(20)
    summary = run_batches(
        raising_task,
        7,
        np.arange(20),
        cluster_backend,
        sink,
        batch_size=4,
        progress=False,
        retries=1,
    )
    assert (
        summary.n_failed == 4
        and summary.n_completed == 16
        and summary.n_task_errors == 1
    )
    (bad,) = [b for b in sink.batches if b.failed.any()]
    assert bad.indices.tolist() == [4, 5, 6, 7]
    assert bad.error[0] == "MemoryError: cannot allocate for run 7"
    assert "MemoryError" in bad.traceback[0]
    assert np.isnan(bad.duration).all() and not bad.completed.any()


def test_sink_error_stops_the_sweep(cluster_backend):
    def sink(batch):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        run_batches(xy_task, SHARED, PENDING, cluster_backend, sink, progress=False)


def test_task_must_return_a_batch_result():
    with pytest.raises(TypeError, match="BatchResult"):
        run_batches(
            not_a_batch,
            None,
            np.arange(3),
            SynchronousBackend(),
            Collect(3),
            progress=False,
        )


def test_synchronous_errors_propagate_for_pdb():
    def task(shared, indices):
        raise ZeroDivisionError("in user code")

    with pytest.raises(ZeroDivisionError, match="in user code"):
        run_batches(
            task, None, np.arange(3), SynchronousBackend(), Collect(3), progress=False
        )


def test_on_batch_and_nothing_pending():
    seen = []
    run_batches(
        xy_task,
        SHARED,
        PENDING[:10],
        SynchronousBackend(),
        Collect(),
        on_batch=lambda b: seen.extend(b.indices.tolist()),
        progress=False,
    )
    assert seen == PENDING[:10].tolist()
    backend = DistributedBackend.local(n_workers=1)
    summary = run_batches(xy_task, SHARED, np.array([], dtype=int), backend, Collect())
    assert summary.n_runs == 0 and summary.n_tasks == 0
    assert backend._client is None  # no cluster started for nothing


def test_embedded_client_is_not_left_as_default():
    with pytest.raises(ValueError):
        distributed.default_client()
    scheduler_before = dask.config.get("scheduler", None)
    with resolve_backend(
        cluster="local", n_workers=1, dashboard_address=":0"
    ) as backend:
        run_batches(xy_task, SHARED, PENDING, backend, Collect(), progress=False)
        with pytest.raises(ValueError):
            distributed.default_client()
        client = backend.client
    assert client.status == "closed"
    assert dask.config.get("scheduler", None) == scheduler_before


def test_progress_bar_on_stderr(cluster_backend, capsys):
    run_batches(
        raising_task,
        7,
        np.arange(20),
        cluster_backend,
        Collect(20),
        batch_size=4,
        progress=True,
        retries=0,
    )
    err = capsys.readouterr().err
    assert "20/20" in err and "failed=4" in err
    assert "Dask dashboard: http://127.0.0.1:" in err
    run_batches(
        xy_task, SHARED, PENDING, SynchronousBackend(), Collect(), progress="auto"
    )
    assert capsys.readouterr().err == ""  # not a terminal: no bar


def test_ctrl_c_during_sink_is_deferred_then_drains(cluster_backend):
    """SIGINT arriving while the sink writes waits for it, then in-flight tasks finish."""
    sink = Collect(40)

    def interrupting_sink(batch):
        sink(batch)
        if len(sink.batches) == 2:
            signal.raise_signal(signal.SIGINT)
            sink.batches[-1].note = "sink finished after the signal"

    with pytest.raises(SweepInterrupted, match="To finish them, resume") as info:
        run_batches(
            slow_task,
            0.05,
            np.arange(40),
            cluster_backend,
            interrupting_sink,
            batch_size=2,
            progress=False,
            resume_hint="resume",
        )
    s = info.value.summary
    assert isinstance(info.value, KeyboardInterrupt) and s.interrupted
    assert sink.batches[1].note  # the sink was not cut short
    assert (
        s.n_received == int(sink.seen.sum()) >= 2 * 2
        and s.n_not_run == 40 - s.n_received
    )
    assert s.n_received < 40
    got = np.flatnonzero(sink.seen)
    assert np.array_equal(sink.z[got], got * 2.0)


def test_ctrl_c_in_synchronous_task():
    calls = []

    def task(shared, indices):
        calls.append(indices.tolist())
        if len(calls) == 3:
            signal.raise_signal(signal.SIGINT)
        return make_batch(indices, indices * 2.0)

    sink = Collect(10)
    with pytest.raises(SweepInterrupted) as info:
        run_batches(
            task,
            None,
            np.arange(10),
            SynchronousBackend(),
            sink,
            batch_size=1,
            progress=False,
        )
    assert info.value.summary.n_received == 2 and len(calls) == 3  # nothing ran after


def _run_script(tmp_path, body, env_extra=None, timeout=180, **popen):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    env = dict(
        os.environ,
        PYTHONPATH=f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        DASK_PYPETX__LOCAL__DASHBOARD_ADDRESS=":0",
        DASK_PYPETX__LOCAL__N_WORKERS="2",
        **(env_extra or {}),
    )
    return subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


SCRIPT_HEAD = """
import numpy as np
from pypetx.engine import resolve_backend, run_batches
from pypetx.store.batch import BatchResult

def task(shared, indices):
    import time
    time.sleep(shared * len(indices))
    n = len(indices)
    return BatchResult(indices=indices, results={"z": indices * 3}, present={},
                       completed=np.ones(n, bool), failed=np.zeros(n, bool),
                       duration=np.zeros(n))
"""


def test_script_without_main_guard_runs_on_local_cluster(tmp_path):
    # pypet's examples have no `if __name__ == "__main__":`; spawn would re-run them
    proc = _run_script(
        tmp_path,
        SCRIPT_HEAD
        + """
out = {}
def sink(b):
    out.update(zip(b.indices.tolist(), b.results["z"].tolist()))
with resolve_backend(local_first=False) as backend:  # every run on a forked worker
    summary = run_batches(task, 0.0, np.arange(50), backend, sink, progress=False)
    print("workers", backend.n_workers)
print("ok", summary.n_completed, sorted(out.items()) == [(i, 3 * i) for i in range(50)])
""",
    )
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert "workers 2" in out and "ok 50 True" in out


def test_sigint_to_the_process_group_keeps_finished_batches(tmp_path):
    """Ctrl-C in a terminal: SIGINT to the driver *and* its worker processes."""
    sunk = tmp_path / "sunk.txt"
    proc = _run_script(
        tmp_path,
        SCRIPT_HEAD
        + f"""
from pypetx.engine import SweepInterrupted
def sink(b):
    with open({str(sunk)!r}, "a") as f:
        for i, z in zip(b.indices.tolist(), b.results["z"].tolist()):
            f.write(f"{{i}} {{z}}\\n")
with resolve_backend() as backend:
    try:
        run_batches(task, 0.3, np.arange(200), backend, sink, batch_size=1, progress=False)
    except SweepInterrupted as exc:
        s = exc.summary
        with open({str(sunk)!r}, "a") as f:
            f.write(f"# {{s.n_received}} {{s.n_failed}} {{s.interrupted}}\\n")
        raise
""",
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not (sunk.exists() and len(sunk.read_text().splitlines()) >= 2):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "sweep did not start"
        time.sleep(0.1)
    n_before = len(sunk.read_text().splitlines())
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    # a plain script stops as on Ctrl-C (CPython exits 1, not -SIGINT, for a subclass)
    assert proc.returncode in (1, -signal.SIGINT), err
    assert "SweepInterrupted" in err and "To finish them" in err and "resume" in err
    lines = sunk.read_text().splitlines()
    assert lines[-1].startswith("# ")
    n_received, n_failed, interrupted = lines[-1].split()[1:]
    rows = [tuple(map(int, line.split())) for line in lines[:-1]]
    assert (
        int(n_received) == len(rows) >= n_before
        and n_failed == "0"
        and interrupted == "True"
    )
    assert len(rows) < 200
    assert all(z == 3 * i for i, z in rows) and len({i for i, _ in rows}) == len(rows)


# -- time-boxed batches: a task stops at its budget and the rest runs later -----------------
def _costly_from(start):
    def fn(x):
        if x >= start:
            time.sleep(0.005)
        return x
    return fn


@pytest.mark.parametrize("backend", ["synchronous", "local"])
def test_budgeted_batches_give_back_what_they_did_not_run(backend):
    from pypetx.core.trajectory import Trajectory
    from pypetx.engine.task import RunSpec, pack_spec, run_batch

    traj = Trajectory("t")
    traj.add_parameter("x", 0)
    traj.explore({"x": list(range(3000))})
    spec = RunSpec(token="budget", skeleton=traj, fn=_costly_from(2000), plain=True)
    got = []
    kw = {"n_workers": 2, "dashboard_address": ":0"} if backend == "local" else {}
    with resolve_backend(cluster=backend, **kw) as be:
        summary = run_batches(run_batch, pack_spec(spec), np.arange(3000), be, got.append)
    runs = np.concatenate([b.indices for b in got])
    assert sorted(runs.tolist()) == list(range(3000))  # each run once, none lost
    values = np.concatenate([b.results["fn"] for b in got])
    assert (values == runs).all()
    # cheap runs went out in a probe-sized task, stopped at its budget; once a task is
    # stopped, sizes follow the costly runs at once: ~0.5 s tasks of 5 ms runs
    assert summary.n_completed == 3000 and summary.n_tasks < 60
    assert max(len(b) for b in got if b.indices[0] >= 2100) <= 150


def test_consecutive_batches_travel_as_two_integers():
    import pickle

    from pypetx.engine.runner import _call_timed, _compact

    span = _compact(np.arange(1_000, 101_000))
    assert len(pickle.dumps(span)) < 100  # the index array itself: 800 kB
    got, _ = _call_timed(lambda shared, idx: idx, None, span)
    np.testing.assert_array_equal(got, np.arange(1_000, 101_000))
    assert got.dtype == np.int64
    holes = np.array([1, 2, 4])
    assert _compact(holes) is holes and _compact(np.array([7])).tolist() == [7]
