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
