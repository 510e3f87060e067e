"""Shared pieces of the HPC tests (no tests here): sweep functions workers can import,
small clusters on the CI SLURM, and SLURM queries.

Worker processes started by SLURM or ``dask worker`` import the sweep functions by name,
so they live in this importable module and ``tests/`` goes on the workers' PYTHONPATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

TESTS = str(Path(__file__).resolve().parent)

#: SLURMCluster / PBSCluster options for the 2-core CI machine
JOB = dict(cores=1, memory="1GB", processes=1, walltime="00:05:00", interface="lo",
           job_script_prologue=[f"export PYTHONPATH={TESTS}:$PYTHONPATH"])


def multiply(traj):
    """The sweep of the HPC tests: z = x * y (and where it ran)."""
    traj.f_add_result("z", traj.x * traj.y)
    return traj.x * traj.y


def slow_multiply(traj):
    time.sleep(0.05)
    return multiply(traj)


def slower_multiply(traj):
    time.sleep(0.4)
    return multiply(traj)


def make_env(path, nx=20, ny=10, **kw):
    from pypetx import Environment, cartesian_product

    kw.setdefault("progress", False)
    env = Environment("sweep", filename=str(path), **kw)
    env.traj.f_add_parameter("x", 1)
    env.traj.f_add_parameter("y", 1)
    env.traj.f_explore(cartesian_product({"x": list(range(nx)), "y": list(range(ny))}))
    return env


def expected_z(nx=20, ny=10):
    return np.multiply.outer(np.arange(nx), np.arange(ny))


# Resolved once: a test that empties PATH (to hide sbatch) must not hide squeue from the
# fixtures that check for leftover jobs after it.
SQUEUE = shutil.which("squeue") or "squeue"


def squeue(fmt="%i %j %T"):
    out = subprocess.run([SQUEUE, "-h", "-o", fmt], capture_output=True, text=True,
                         timeout=30, check=False).stdout
    return [line.split() for line in out.splitlines() if line.strip()]


def wait_for(predicate, timeout=60.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout} s")


def worker_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = TESTS + os.pathsep + env.get("PYTHONPATH", "")
    return env


def slow_multiply2(traj):
    time.sleep(0.15)
    return multiply(traj)


# ------------------------------------------------------------ many jobs (test_hpc_slurm_scale)
#: a node-sized worker job of the CI machine: 2 cores, 2 worker processes of 1 thread
#: (ci/slurm/start.sh declares enough CPUs for 8 of them at once)
NODE_JOB = dict(JOB, cores=2, processes=2, memory="2GB")

#: squeue states of a job that holds (or waits for) an allocation
ACTIVE_STATES = frozenset({"PENDING", "CONFIGURING", "RUNNING", "SUSPENDED", "REQUEUED",
                           "RESIZING"})


def dask_worker_jobs(all_states=False):
    """``[job id, name, state]`` of the dask-worker jobs in squeue (``all_states``: also
    those that ended less than MinJobAge ago, with their end state)."""
    fmt = ["-o", "%i %j %T"] + (["-t", "all"] if all_states else [])
    out = subprocess.run([SQUEUE, "-h", *fmt], capture_output=True, text=True,
                         timeout=30, check=False).stdout
    rows = [line.split() for line in out.splitlines() if line.strip()]
    return [row for row in rows if len(row) == 3 and row[1] == "dask-worker"]


class JobLog:
    """Poll squeue while a sweep runs: every worker job's states, in the order seen, and
    the most jobs active (pending or running) and running at once.

    A context manager; ``stop()`` (or leaving the block) ends the polling.
    """

    def __init__(self, interval=0.2):
        import threading

        self.interval = interval
        self.states: dict[str, list[str]] = {}
        self.max_active = 0
        self.max_running = 0
        self.samples = 0
        self._before: set[str] = set()  # jobs that ended before (squeue -t all lists them)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.interval)

    def poll(self):
        rows = [r for r in dask_worker_jobs(all_states=True) if r[0] not in self._before]
        for job, _, state in rows:
            seen = self.states.setdefault(job, [])
            if not seen or seen[-1] != state:
                seen.append(state)
        self.max_active = max(self.max_active,
                              sum(1 for r in rows if r[2] in ACTIVE_STATES))
        self.max_running = max(self.max_running, sum(1 for r in rows if r[2] == "RUNNING"))
        self.samples += 1

    def running(self):
        """Ids of the jobs whose last state seen is RUNNING."""
        return [job for job, states in self.states.items() if states[-1] == "RUNNING"]

    def ended(self, state=None):
        """Ids of the jobs seen ending (in ``state`` if given)."""
        return [job for job, states in self.states.items()
                if states[-1] not in ACTIVE_STATES and (state is None or states[-1] == state)]

    def stop(self):
        self._stop.set()
        self._thread.join(10)
        return self

    def __enter__(self):
        self._before = {r[0] for r in dask_worker_jobs(all_states=True)
                        if r[2] not in ACTIVE_STATES}
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()
