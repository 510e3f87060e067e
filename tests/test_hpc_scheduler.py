"""A Dask scheduler that dies mid-sweep: a clear error, nothing lost, resume completes.

Also: TLS on the clusters pypetx creates (a plain client is refused). Real processes
(``dask scheduler`` / ``dask worker``), no SLURM needed.
"""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest
from test_hpc_common import expected_z, make_env, slow_multiply, wait_for, worker_env

import pypetx
from pypetx.engine import ClusterError, SchedulerLost


@pytest.fixture
def dask_processes(tmp_path):
    """A real ``dask scheduler`` and one ``dask worker``; yields (scheduler file, procs)."""
    sfile = tmp_path / "scheduler.json"
    sched = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(sfile)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs = [sched]
    try:
        wait_for(lambda: sfile.exists() and sfile.stat().st_size > 0, timeout=30)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
             str(sfile), "--nthreads", "1", "--nworkers", "1", "--no-dashboard"],
            env=worker_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield sfile, procs
    finally:
        for p in procs:  # only the processes this fixture started
            if p.poll() is None:
                p.kill()
            p.wait(timeout=30)


def _stored(path):
    ds = pypetx.open_results(str(path))
    return int(ds.completed.sum()), int(ds.failed.sum())


@pytest.mark.slow
def test_lost_scheduler_stops_clearly_then_resume_loses_nothing(tmp_path, dask_processes):
    sfile, (sched, _worker) = dask_processes
    path = tmp_path / "lost.h5"
    env = make_env(path, scheduler=str(sfile), batch_size=4)  # 200 runs of 50 ms
    journal = path.with_name(path.name + ".pypetx")

    def kill_when_some_stored():
        # kill -9 the scheduler once the driver has journaled a few batches
        wait_for(lambda: journal.exists() and sum(1 for _ in journal.rglob("*")) > 6,
                 timeout=60, interval=0.05)
        sched.kill()

    killer = threading.Thread(target=kill_when_some_stored, daemon=True)
    killer.start()
    with pytest.raises(SchedulerLost) as info:
        env.run(slow_multiply)
    killer.join(5)
    message = str(info.value)
    assert "lost the Dask scheduler at tcp://127.0.0.1:" in message
    assert "resume" in message and "runs of this sweep were stored" in message
    assert isinstance(info.value, ClusterError)
    done, failed = _stored(path)
    assert 0 < done < 200, done
    assert failed == 0  # a lost scheduler is not a failure of the runs
    assert env.summary is None or env.summary.n_failed == 0

    # resume on a fresh cluster: only the missing runs run, nothing is lost
    env2 = make_env(path, cluster="local", n_workers=1, resume=True,
                    cluster_options={"dashboard_address": "127.0.0.1:0"})
    env2.run(slow_multiply)
    assert env2.summary.n_runs == 200 - done
    ds = env2.dataset
    assert bool(ds.completed.all()) and not bool(ds.failed.any())
    np.testing.assert_array_equal(
        np.asarray(ds.z).reshape(20, 10) if ds.z.ndim == 1 else np.asarray(ds.z),
        expected_z())
