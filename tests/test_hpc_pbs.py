"""PBS through dask-jobqueue's PBSCluster, and the security of the clusters pypetx makes.

The CI machine has no PBS server: Debian's ``slurm-wlm-torque`` provides Torque-style
``qsub``/``qstat``/``qdel`` over the CI SLURM, which runs PBSCluster's jobs end to end.
That is SLURM imitating Torque, so the generated PBS job script is checked exactly too.
"""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import pytest
from test_hpc_common import JOB, expected_z, make_env, multiply

from pypetx.engine import jobqueue, resolve_backend

OPTIONS = dict(JOB, scheduler_options={"dashboard_address": "127.0.0.1:0"})


@pytest.fixture(autouse=True)
def _job_outputs_in_tmp(tmp_path, monkeypatch):
    # sbatch/qsub write the jobs' output files into the submitting directory
    monkeypatch.chdir(tmp_path)


def test_pbs_job_script_exactly():
    pytest.importorskip("dask_jobqueue")
    plan = jobqueue.plan("pbs", check_submit=False, cores=2, memory="4GB", processes=1,
                         queue="short", account="proj1", walltime="01:00:00",
                         interface="ib0", security=False)
    assert plan.job_script() == "\n".join([
        "#!/usr/bin/env bash",
        "",
        "#PBS -N dask-worker",
        "#PBS -q short",
        "#PBS -A proj1",
        "#PBS -l select=1:ncpus=2:mem=3815MB",
        "#PBS -l walltime=01:00:00",
        "",
        f"{sys.executable} -m distributed.cli.dask_worker "
        "tcp://<scheduler-address>:<port> --name <worker-name> --nthreads 2 "
        "--memory-limit 3.73GiB --nanny --death-timeout 60 "
        "--lifetime 3180s --lifetime-stagger 120s --interface ib0",
        "",
    ])


@pytest.mark.slurm
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("qsub") is None, reason="no qsub (slurm-wlm-torque)")
def test_pbs_sweep_end_to_end(tmp_path):
    env = make_env(tmp_path / "pbs.h5", nx=10, ny=5, cluster="pbs", n_jobs=2,
                   cluster_options=OPTIONS)
    env.run(multiply)
    ds = env.dataset
    assert bool(ds.completed.all()) and not bool(ds.failed.any())
    np.testing.assert_array_equal(np.asarray(ds.z), expected_z(10, 5))


@pytest.mark.slurm
def test_plain_client_cannot_connect_to_a_pypetx_jobqueue_scheduler():
    import distributed

    psutil = pytest.importorskip("psutil")
    before = _listening()
    # no interface: the scheduler binds the host's address (never 0.0.0.0)
    options = {k: v for k, v in JOB.items() if k != "interface"}
    with resolve_backend(cluster="slurm", n_jobs=0, **options) as backend:
        address = backend.client.scheduler.address
        assert address.startswith("tls://")
        assert backend.dashboard_link.startswith("http://127.0.0.1:")
        new = _listening() - before
        assert new and not any(host in ("0.0.0.0", "::") for host, _ in new), new
        # plain TCP to the TLS port, and TLS without the cluster's certificates: refused
        host_port = address.removeprefix("tls://")
        with pytest.raises((OSError, TimeoutError)):
            distributed.Client(f"tcp://{host_port}", timeout="3s", set_as_default=False)
        with pytest.raises((OSError, TimeoutError, TypeError, ValueError)):
            distributed.Client(address, timeout="3s", set_as_default=False)
    del psutil


def _listening():
    import psutil

    proc = psutil.Process(os.getpid())
    return {(c.laddr.ip, c.laddr.port) for c in proc.net_connections("inet")
            if c.status == psutil.CONN_LISTEN}
