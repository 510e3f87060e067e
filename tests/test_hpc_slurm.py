"""Sweeps on the real CI SLURM (ci/slurm/start.sh) through dask-jobqueue's SLURMCluster.

The machine has 2 cores: jobs are 1 core / 1 GB, at most 2 run at a time.
"""

from __future__ import annotations

import subprocess
import threading

import numpy as np
import pytest
from test_hpc_common import (
    JOB,
    expected_z,
    make_env,
    multiply,
    slow_multiply,
    slow_multiply2,
    slower_multiply,  # noqa: F401
    squeue,
    wait_for,
)

from pypetx.engine import ClusterError, resolve_backend, run_batches

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

OPTIONS = dict(JOB, scheduler_options={"dashboard_address": "127.0.0.1:0"})


@pytest.fixture(autouse=True)
def _job_outputs_in_tmp(tmp_path, monkeypatch):
    # sbatch/qsub write the jobs' output files into the submitting directory
    monkeypatch.chdir(tmp_path)


def worker_jobs():
    return [row for row in squeue("%i %j %T") if row[1] == "dask-worker"]


@pytest.fixture(autouse=True)
def no_worker_jobs_left():
    yield
    # every test's cluster is closed: its jobs must be gone (scancel'd on close)
    wait_for(lambda: not worker_jobs(), timeout=30)


class JobWatcher(threading.Thread):
    """Record the worker jobs squeue shows while a sweep runs."""

    def __init__(self):
        super().__init__(daemon=True)
        self.seen: dict[str, set[str]] = {}
        self.max_running = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            rows = worker_jobs()
            for job, _, state in rows:
                self.seen.setdefault(job, set()).add(state)
            self.max_running = max(self.max_running,
                                   sum(1 for r in rows if r[2] == "RUNNING"))
            self.stop.wait(0.2)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.join(5)


def test_sweep_on_two_slurm_jobs_equals_synchronous(tmp_path):
    local = make_env(tmp_path / "sync.h5", cluster="synchronous")
    local.run(multiply)
    env = make_env(tmp_path / "slurm.h5", cluster="slurm", n_jobs=2, cluster_options=OPTIONS)
    with JobWatcher() as jobs:
        env.run(slow_multiply)  # 200 runs x 50 ms: both jobs get work
    assert len(jobs.seen) >= 2 and jobs.max_running == 2
    ds, ref = env.dataset, local.dataset
    assert bool(ds.completed.all()) and not bool(ds.failed.any())
    np.testing.assert_array_equal(np.asarray(ds.z), np.asarray(ref.z))
    np.testing.assert_array_equal(np.asarray(ds.z), expected_z())
    assert len(np.unique(np.asarray(ds.worker))) == 2  # both jobs ran points


def test_scancel_of_a_job_mid_sweep_is_survived(tmp_path):
    path = tmp_path / "scancel.h5"
    env = make_env(path, cluster="slurm", n_jobs=2, batch_size=5, cluster_options=OPTIONS)
    journal = path.with_name(path.name + ".pypetx")
    cancelled = []

    def cancel_one_job():
        # once both jobs run and results are being stored, kill one job
        wait_for(lambda: sum(1 for r in worker_jobs() if r[2] == "RUNNING") == 2
                 and journal.exists() and any(journal.rglob("*")), timeout=60)
        job = worker_jobs()[0][0]
        subprocess.run(["scancel", job], check=True, timeout=30)
        cancelled.append(job)

    killer = threading.Thread(target=cancel_one_job, daemon=True)
    with JobWatcher() as jobs:
        killer.start()
        env.run(slow_multiply2)  # 200 runs x 0.15 s / 2 workers
    killer.join(5)
    assert cancelled, "no job was cancelled"
    ds = env.dataset
    assert bool(ds.completed.all()) and not bool(ds.failed.any())
    np.testing.assert_array_equal(np.asarray(ds.z), expected_z())
    # the lost job was replaced by a new one
    assert len(jobs.seen) >= 3, jobs.seen


def test_adaptive_scaling_seen_in_squeue(tmp_path):
    from pypetx.engine.task import pack_spec, run_batch  # noqa: F401 - engine-level sweep

    assert not worker_jobs()
    results = []
    with resolve_backend(cluster="slurm", adapt=(0, 2), **OPTIONS) as backend, \
            JobWatcher() as jobs:
        summary = run_batches(_sleepy_task, 0.3, np.arange(60), backend, results.append,
                              batch_size=1, progress=False)
        assert summary.n_completed == 60
        assert jobs.max_running == 2  # grew from 0 to the maximum with the work queued
        # idle: the adaptive cluster gives its jobs back
        wait_for(lambda: not worker_jobs(), timeout=45)
    assert len(jobs.seen) >= 2


def _sleepy_task(seconds, indices):
    import time

    from pypetx.store.batch import BatchResult

    time.sleep(seconds * len(indices))
    n = len(indices)
    return BatchResult(indices=np.asarray(indices, dtype=np.int64), results={}, present={},
                       completed=np.ones(n, bool), failed=np.zeros(n, bool),
                       duration=np.full(n, seconds), worker="", error=[""] * n,
                       traceback=[""] * n)


def test_rejected_job_shows_slurms_message(tmp_path):
    env = make_env(tmp_path / "rejected.h5", cluster="slurm",
                   cluster_options=dict(OPTIONS, queue="no-such-partition"))
    with pytest.raises(ClusterError, match=r"rejected the worker job \(sbatch\).*"
                                           r"(?i:invalid partition)"):
        env.run(multiply)


def test_workers_not_arriving_say_why(tmp_path):
    env = make_env(tmp_path / "held.h5", cluster="slurm", cluster_options=dict(
        OPTIONS, job_extra_directives=["--hold"], worker_timeout=3))
    with pytest.raises(ClusterError, match=r"no Dask worker connected for 3 s; "
                                           r"1 worker jobs: 1 pending \(JobHeld"):
        env.run(multiply)


def test_missing_sbatch_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch here
    with pytest.raises(ClusterError, match="'sbatch', which is not on PATH"):
        resolve_backend(cluster="slurm", **OPTIONS)
