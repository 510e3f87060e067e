"""``pypetx submit``: driver job scripts, and a driver job run to completion on SLURM."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import dask
import pytest
from click.testing import CliRunner
from test_hpc_common import TESTS, squeue, wait_for

from pypetx.cli import cli

SWEEP = textwrap.dedent("""
    import sys
    from pypetx import Environment, cartesian_product

    def multiply(traj):
        traj.f_add_result("z", traj.x * traj.y)

    env = Environment("sweep", filename=sys.argv[1], progress=False, n_jobs=1,
                      cluster_options=dict(cores=1, memory="1GB", processes=1,
                                           walltime="00:05:00", interface="lo",
                                           scheduler_options={"dashboard_address":
                                                              "127.0.0.1:0"}))
    env.traj.f_add_parameter("x", 1)
    env.traj.f_add_parameter("y", 1)
    env.traj.f_explore(cartesian_product({"x": list(range(10)), "y": list(range(5))}))
    env.run(multiply)
    s = env.summary
    print(f"RESULT ran={s.n_runs} completed={int(env.dataset.completed.sum())} "
          f"resume={env.resume}")
""")


def test_dry_run_prints_driver_and_worker_scripts(tmp_path):
    pytest.importorskip("dask_jobqueue")
    script = tmp_path / "sweep.py"
    script.write_text(SWEEP)
    # the site's jobqueue.yaml, as a test can set it
    with dask.config.set({"jobqueue.slurm.cores": 1, "jobqueue.slurm.memory": "1GB"}):
        res = CliRunner().invoke(cli, ["submit", str(script), "out.h5", "--dry-run",
                                       "--time", "01:00:00", "--partition", "short"])
    assert res.exit_code == 0, res.output
    driver = (tmp_path / "sweep.slurm.sh").read_text()
    assert driver in res.output
    for line in ("#!/usr/bin/env bash", "#SBATCH -J pypetx-sweep", "#SBATCH -p short",
                 "#SBATCH -t 01:00:00", "#SBATCH --signal=B:INT@120",
                 "export DASK_PYPETX__RESUME=true", "export DASK_PYPETX__CLUSTER=slurm"):
        assert line in driver.splitlines(), line
    assert driver.rstrip().endswith(f"{script} out.h5")
    # the worker script: TLS and a lifetime before the (default 30 min) walltime
    worker = res.output.split("worker job script")[1]
    assert "#SBATCH -J dask-worker" in worker and "--protocol tls://" in worker
    assert "--lifetime 1530s --lifetime-stagger 90s" in worker


def test_requeue_driver_script_traps_the_warning_signal_and_requeues(tmp_path):
    pytest.importorskip("dask_jobqueue")
    from pypetx.commands.submit import driver_script

    script = tmp_path / "sweep.py"
    script.write_text(SWEEP)
    text = driver_script(script, "slurm", args=("out.h5",), walltime="01:00:00", requeue=True)
    lines = text.splitlines()
    for line in ("#SBATCH --signal=B:USR1@120", "#SBATCH --requeue",
                 "#SBATCH --open-mode=append", "export DASK_PYPETX__RESUME=true"):
        assert line in lines, line
    assert "#SBATCH --signal=B:INT@120" not in lines  # USR1 replaces the plain SIGINT
    assert any(line.startswith("trap ") and "USR1" in line for line in lines)
    assert 'scontrol requeue "$SLURM_JOB_ID"' in text
    with pytest.raises(ValueError, match="cannot requeue itself"):
        driver_script(script, "pbs", walltime="01:00:00", requeue=True)


@pytest.mark.slurm
@pytest.mark.slow
def test_submitted_driver_job_runs_to_completion_and_resubmission_resumes(tmp_path):
    script = tmp_path / "sweep.py"
    script.write_text(SWEEP)
    results = tmp_path / "out.h5"
    outputs = []
    for attempt in range(2):
        out = tmp_path / f"driver-{attempt}.out"
        res = subprocess.run(
            [sys.executable, "-m", "pypetx.cli", "submit", str(script), str(results),
             "--time", "00:05:00", "--mem", "1GB", "--output", str(out)],
            capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False)
        assert res.returncode == 0, res.stderr
        job = res.stdout.split()[3]  # "Submitted batch job 42"
        wait_for(lambda job=job: not any(row[0] == job for row in squeue("%i")), timeout=90,
                 interval=0.5)
        outputs.append(out.read_text())
    assert "RESULT ran=50 completed=50 resume=True" in outputs[0], outputs[0]
    # the second submission found everything stored: nothing ran again
    assert "RESULT ran=0 completed=50 resume=True" in outputs[1], outputs[1]
    assert TESTS  # (the sweep script needs nothing from tests/: it is self-contained)
