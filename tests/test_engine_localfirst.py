"""LocalFirstBackend: the driver runs cheap sweeps itself; the real LocalCluster joins
when the measured work is worth it."""

from __future__ import annotations

import os
import time

import dask
import numpy as np
import pytest

from pypetx.engine import DistributedBackend, resolve_backend, run_batches
from pypetx.engine.executors import ClusterError
from pypetx.engine.localfirst import LocalFirstBackend, LocalFirstOptions
from pypetx.store.batch import BatchResult


def pid_batch(indices, z):
    n = len(indices)
    return BatchResult(
        indices=np.asarray(indices, dtype=np.int64),
        results={"z": z},
        present={"z": np.ones(n, bool)},
        completed=np.ones(n, bool),
        failed=np.zeros(n, bool),
        duration=np.zeros(n),
        worker=str(os.getpid()),  # which process ran the batch
        error=[""] * n,
        traceback=[""] * n,
    )


def cheap_task(shared, indices):
    return pid_batch(indices, indices * shared)


def sleepy_task(seconds, indices):
    time.sleep(seconds * len(indices))
    return pid_batch(indices, indices * 2.0)


class Factory:
    """A real embedded LocalCluster, counting how often it was asked for."""

    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    def __call__(self):
        self.calls += 1
        if self.fail:
            raise OSError("no ports left (test)")
        return DistributedBackend.local(n_workers=2, dashboard_address=":0")


def _run(backend, task, shared, n, **kw):
    got: dict[int, float] = {}
    pids: list[str] = []

    def sink(batch):
        got.update(zip(batch.indices.tolist(), batch.results["z"].tolist()))
        pids.append(batch.worker)

    summary = run_batches(task, shared, np.arange(n), backend, sink, progress=False, **kw)
    return summary, got, pids


def test_cheap_sweep_never_starts_the_cluster():
    factory = Factory()
    with LocalFirstBackend(factory, LocalFirstOptions(start_after=0.1, min_remaining=0.5)) as b:
        summary, got, pids = _run(b, cheap_task, 3.0, 20_000)
        assert not b.started and factory.calls == 0
    assert summary.n_completed == 20_000
    assert got == {i: 3.0 * i for i in range(20_000)}
    assert set(pids) == {str(os.getpid())}  # every batch ran in the driver


def test_expensive_sweep_moves_to_the_real_cluster():
    factory = Factory()
    options = LocalFirstOptions(start_after=0.05, min_remaining=0.2)
    with LocalFirstBackend(factory, options) as b:
        summary, got, pids = _run(b, sleepy_task, 0.01, 120)
        assert b.started and factory.calls == 1
        assert b.n_workers == 2
    assert summary.n_completed == 120
    assert got == {i: 2.0 * i for i in range(120)}
    # The first batches ran in the driver, later ones in the two worker processes.
    assert pids[0] == str(os.getpid())
    workers = set(pids) - {str(os.getpid())}
    assert len(workers) == 2


def test_expensive_first_run_starts_the_cluster_after_it():
    factory = Factory()
    options = LocalFirstOptions(start_after=0.05, min_remaining=0.5)
    with LocalFirstBackend(factory, options) as b:
        summary, got, pids = _run(b, sleepy_task, 0.3, 4, batch_size=1)
        assert b.started and "work left" in b.reason
    assert summary.n_completed == 4 and got == {i: 2.0 * i for i in range(4)}
    # Only the first run was in the driver: the cluster starts between batches, and the
    # batch queued meanwhile went to a worker instead of waiting for the driver.
    assert pids[0] == str(os.getpid())
    assert str(os.getpid()) not in pids[1:]


def test_estimate_below_min_remaining_keeps_the_driver():
    factory = Factory()
    options = LocalFirstOptions(start_after=0.05, min_remaining=60.0)
    with LocalFirstBackend(factory, options) as b:
        # ~0.3 s of work: far below a minute, even though every batch outlasts start_after
        summary, _, pids = _run(b, sleepy_task, 0.002, 150)
        assert not b.started
    assert summary.n_completed == 150 and set(pids) == {str(os.getpid())}


def test_cluster_that_cannot_start_is_a_cluster_error():
    factory = Factory(fail=True)
    options = LocalFirstOptions(start_after=0.0, min_remaining=0.0)
    got: list[int] = []
    backend = LocalFirstBackend(factory, options)
    with pytest.raises(ClusterError, match="could not start the cluster: no ports left"):
        with backend:
            run_batches(sleepy_task, 0.01, np.arange(100), backend,
                        lambda b: got.extend(b.indices.tolist()), progress=False)
    assert got and got == sorted(got)  # what ran in the driver before reached the sink


def test_resolve_backend_local_first_switch():
    with resolve_backend() as b:
        assert isinstance(b, LocalFirstBackend)
    with resolve_backend(cluster="local", local_first=False) as b:
        assert isinstance(b, DistributedBackend)
    with dask.config.set({"pypetx.local_first.enabled": False}):
        with resolve_backend() as b:
            assert isinstance(b, DistributedBackend)
    with resolve_backend(local_first={"min_remaining": 3.0}) as b:
        assert b.options.min_remaining == 3.0 and b.options.enabled


def test_options_are_checked():
    with pytest.raises(ValueError, match="must be >= 0"):
        LocalFirstOptions(start_after=-1)
