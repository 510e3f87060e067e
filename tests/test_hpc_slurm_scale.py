"""Many SLURM jobs on the real CI SLURM (ci/slurm/start.sh): 8 node-sized jobs of several
worker processes, a cap on queued jobs, walltimes, preemption of the driver job, jobs
that die.

The machine has 2 cores; ci/slurm/start.sh declares more CPUs to SLURM so that 8 jobs of
2 cores (2 worker processes of 1 thread each) run at once. The sweep functions sleep,
so the oversubscribed cores are not the bottleneck.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections import Counter

import dask
import numpy as np
import pytest
from test_hpc_common import (
    NODE_JOB,
    JobLog,
    dask_worker_jobs,
    expected_z,
    make_env,
    multiply,
    slow_multiply,
    slow_multiply2,
    slower_multiply,
    squeue,
    wait_for,
)

from pypetx.engine.jobqueue import lifetime_args
from pypetx.store.status import workers

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

OPTIONS = dict(NODE_JOB, scheduler_options={"dashboard_address": "127.0.0.1:0"})


@pytest.fixture(autouse=True)
def _job_outputs_in_tmp(tmp_path, monkeypatch):
    # sbatch writes the jobs' output files into the submitting directory
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def no_worker_jobs_left():
    yield
    # every test's cluster is closed: its jobs must be gone (scancel'd on close)
    wait_for(lambda: not dask_worker_jobs(), timeout=60)


def assert_complete(ds, nx, ny):
    assert bool(ds.completed.all()) and not bool(ds.failed.any())
    np.testing.assert_array_equal(np.asarray(ds.z), expected_z(nx, ny))


def test_sweep_over_8_node_sized_jobs_equals_a_local_run(tmp_path):
    local = make_env(tmp_path / "local.h5", nx=40, ny=20, cluster="local", n_workers=2,
                     cluster_options={"dashboard_address": ":0", "local_first": False})
    local.run(multiply)
    env = make_env(tmp_path / "slurm.h5", nx=40, ny=20, cluster="slurm", n_jobs=8,
                   cluster_options=OPTIONS)
    with JobLog() as jobs:
        env.run(slow_multiply)  # 800 runs x 50 ms over 16 worker processes
    assert len(jobs.states) == 8 and jobs.max_running == 8, jobs.states
    ds, ref = env.dataset, local.dataset
    assert_complete(ds, 40, 20)
    for name in ("z", "completed", "failed"):
        np.testing.assert_array_equal(np.asarray(ds[name]), np.asarray(ref[name]))
    assert env.summary.n_failed == 0 and env.summary.n_completed == 800
    # the points ran in the worker processes of all 8 jobs (2 each)
    assert len(set(np.asarray(workers(ds)).ravel())) == 16


def test_maximum_jobs_caps_the_jobs_in_the_queue(tmp_path):
    # the site's cap, set once in the configuration: adaptive scaling up to 3 jobs
    env = make_env(tmp_path / "capped.h5", nx=20, ny=20, cluster="slurm", batch_size=10,
                   cluster_options=OPTIONS)
    # 400 runs x 0.15 s in tasks of 1.5 s: dask's adaptive target (the queued tasks'
    # duration over adapt_target_duration, 1 s) soon asks for more than 3 jobs
    with dask.config.set({"pypetx.jobqueue.adapt": [0, 3]}), JobLog(interval=0.1) as jobs:
        env.run(slow_multiply2)
    assert jobs.max_active == 3, jobs.states  # reached, never exceeded
    assert jobs.max_running == 3
    # whole jobs: none cancelled and resubmitted while it started (dask-jobqueue #498)
    assert len(jobs.states) <= 5, jobs.states
    assert_complete(env.dataset, 20, 20)


def test_workers_retire_before_the_walltime_and_their_batches_move_on(tmp_path):
    assert lifetime_args("00:01:00", "20s") == ["--lifetime", "16s", "--lifetime-stagger", "4s"]
    with pytest.raises(ValueError, match="not shorter than the walltime"):
        lifetime_args("00:01:00", "1 minute")
    # walltime 1 min; workers leave 12-20 s after they start (lifetime 20 s: --lifetime
    # 16s --lifetime-stagger 4s), so each job ends by itself (COMPLETED, not TIMEOUT) and
    # n_jobs=2 submits the next ones
    env = make_env(tmp_path / "retire.h5", nx=20, ny=12, cluster="slurm", n_jobs=2,
                   batch_size=4, cluster_options=dict(OPTIONS, walltime="00:01:00",
                                                      lifetime="20s"))
    with JobLog(interval=0.3) as jobs:
        env.run(slower_multiply)  # 240 runs x 0.4 s over 4 worker processes: > 24 s
    s = env.summary
    assert s.n_failed == 0 and s.n_completed == 240 and s.n_task_errors == 0
    assert_complete(env.dataset, 20, 12)
    retired = jobs.ended("COMPLETED")  # the worker left, the job script ended
    assert len(retired) >= 2, jobs.states  # the first jobs retired while the sweep ran ...
    assert len(jobs.states) >= 4, jobs.states  # ... and new jobs took over their work
    # none was killed at its walltime; the last ones were cancelled when the sweep ended
    assert set(jobs.ended()) - set(retired) <= set(jobs.ended("CANCELLED"))
    assert len(jobs.ended("CANCELLED")) <= 2, jobs.states
    # points ran on the workers of the later jobs too
    assert len(set(np.asarray(workers(env.dataset)).ravel())) > 4


# The driver of the preemption test: each run appends its index to a log (a shared
# filesystem here), so runs computed twice show up.
PREEMPTED_SWEEP = textwrap.dedent("""
    import os
    import sys
    import time

    from pypetx import Environment, cartesian_product

    LOG = sys.argv[2]

    def multiply(traj):
        time.sleep(0.25)
        with open(LOG, "a") as f:
            f.write(f"{traj.v_idx}\\n")
        traj.f_add_result("z", traj.x * traj.y)

    env = Environment("sweep", filename=sys.argv[1], progress=False, n_jobs=2,
                      batch_size=4, cluster_options=dict(
                          cores=2, processes=2, memory="2GB", walltime="00:05:00",
                          interface="lo",
                          scheduler_options={"dashboard_address": "127.0.0.1:0"}))
    env.traj.f_add_parameter("x", 1)
    env.traj.f_add_parameter("y", 1)
    env.traj.f_explore(cartesian_product({"x": list(range(20)), "y": list(range(10))}))
    print(f"START restart={os.environ.get('SLURM_RESTART_COUNT', '0')}", flush=True)
    env.run(multiply)
    s = env.summary
    print(f"RESULT restart={os.environ.get('SLURM_RESTART_COUNT', '0')} ran={s.n_runs} "
          f"completed={int(env.dataset.completed.sum())}", flush=True)
""")


def test_preempted_driver_job_requeues_itself_and_resumes(tmp_path):
    import pypetx

    script, results, log = tmp_path / "sweep.py", tmp_path / "out.h5", tmp_path / "runs.log"
    out = tmp_path / "driver.out"
    script.write_text(PREEMPTED_SWEEP)
    res = subprocess.run(
        [sys.executable, "-m", "pypetx.cli", "submit", str(script), str(results), str(log),
         "--time", "00:05:00", "--mem", "1GB", "--output", str(out), "--requeue"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False)
    assert res.returncode == 0, res.stderr
    job = res.stdout.split()[3]  # "Submitted batch job 42"
    driver = (tmp_path / "sweep.slurm.sh").read_text().splitlines()
    for line in ("#SBATCH --signal=B:USR1@30", "#SBATCH --requeue",
                 "#SBATCH --open-mode=append", 'scontrol requeue "$SLURM_JOB_ID"'):
        assert line in [ln.strip() for ln in driver], line

    def n_logged():
        return len(log.read_text().split()) if log.exists() else 0

    try:
        wait_for(lambda: n_logged() >= 40, timeout=120, interval=0.5)  # mid-sweep
        # what SLURM sends before the walltime or on preemption (--signal=B:USR1@...)
        subprocess.run(["scancel", "--signal=USR1", "--batch", job], check=True, timeout=30)
        logged_at_signal = n_logged()
        # requeued, the job waits cred_expire seconds (ci/slurm/start.sh: 20) to start
        wait_for(lambda: "RESULT restart=1" in (out.read_text() if out.exists() else ""),
                 timeout=180, interval=0.5)
        wait_for(lambda job=job: not any(row[0] == job for row in squeue("%i")),
                 timeout=60, interval=0.5)
    finally:
        subprocess.run(["scancel", job], timeout=30, check=False)
    text = out.read_text()
    assert "START restart=0" in text and "sweep interrupted" in text, text
    assert "stopped on SIGUSR1" in text and "requeueing the job" in text, text
    # the requeued job resumed: it ran only what the first start had not stored
    first = text.split("START restart=1")[0]
    assert "RESULT" not in first, text
    assert "RESULT restart=1 ran=" in text and " completed=200" in text, text
    ran_again = int(text.split("RESULT restart=1 ran=")[1].split()[0])
    assert 0 < ran_again < 200 - 40 + 1
    ds = pypetx.open_results(str(results))
    assert bool(ds.completed.all()) and not bool(ds.failed.any())
    np.testing.assert_array_equal(np.asarray(ds.z), expected_z(20, 10))
    counts = Counter(int(i) for i in log.read_text().split())
    assert sorted(counts) == list(range(200))
    twice = sum(c - 1 for c in counts.values())
    # only runs in flight when the signal came (at most 2 tasks of 4 runs per worker
    # process, 4 processes) may have been computed again
    assert twice <= 2 * 4 * 4, counts


def test_two_of_8_jobs_cancelled_mid_sweep_are_replaced(tmp_path):
    path = tmp_path / "deaths.h5"
    env = make_env(path, nx=30, ny=20, cluster="slurm", n_jobs=8, batch_size=5,
                   cluster_options=OPTIONS)
    journal = path.with_name(path.name + ".pypetx")
    cancelled, before = [], set()

    with JobLog() as jobs:
        def cancel_two_jobs():
            # once all 8 jobs run and results are being stored, kill two of them
            wait_for(lambda: len(jobs.running()) == 8 and journal.exists()
                     and any(journal.rglob("*")), timeout=90)
            victims = sorted(jobs.running(), key=int)[:2]
            before.update(jobs.states)
            subprocess.run(["scancel", *victims], check=True, timeout=30)
            cancelled.extend(victims)

        killer = threading.Thread(target=cancel_two_jobs, daemon=True)
        killer.start()
        env.run(slower_multiply)  # 600 runs x 0.4 s over 16 worker processes
        killer.join(5)
    assert len(cancelled) == 2, "no job was cancelled"
    s = env.summary
    assert s.n_failed == 0 and s.n_completed == 600
    assert_complete(env.dataset, 30, 20)
    assert all("CANCELLED" in jobs.states[job] for job in cancelled)
    # the two lost jobs were replaced: jobs submitted after the cancel, that ran
    new = [job for job in set(jobs.states) - before if "RUNNING" in jobs.states[job]]
    assert len(before) == 8 and len(new) == 2, jobs.states
