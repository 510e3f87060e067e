"""The batch-system records (pypetx.engine.schedulers): they agree with dask-jobqueue, every
name reaches the places that list batch systems, and SLURM's queue is read right."""

from __future__ import annotations

import subprocess

import pytest
from test_hpc_common import wait_for

from pypetx.commands.submit import driver_script, submit
from pypetx.engine import CLUSTER_NAMES, jobqueue
from pypetx.engine.schedulers import SCHEDULERS, Scheduler, Slurm, scheduler


@pytest.mark.parametrize("kind", sorted(SCHEDULERS))
def test_record_agrees_with_dask_jobqueue(kind):
    pytest.importorskip("dask_jobqueue")
    record = scheduler(kind)
    job_cls = jobqueue.cluster_class(kind).job_cls
    assert job_cls.config_name == record.name == kind
    assert job_cls.submit_command == record.submit_command
    header = job_cls("tcp://unused:0", cores=1, memory="1GB", processes=1,
                     walltime="01:00:00").job_header
    assert all(line.startswith(record.directive + " ")
               for line in header.splitlines() if line.startswith("#"))


def test_every_record_is_a_cluster_name_and_a_submit_choice():
    assert CLUSTER_NAMES == ("local", "synchronous", *SCHEDULERS)
    choices = next(p for p in submit.params if p.name == "kind").type.choices
    assert list(choices) == list(SCHEDULERS) == ["slurm", "pbs", "sge"]
    assert jobqueue.KINDS == {"slurm": "SLURMCluster", "pbs": "PBSCluster",
                              "sge": "SGECluster"}
    with pytest.raises(ValueError, match="unknown batch system 'lsf'; known: slurm, pbs"):
        scheduler("lsf")


def test_a_record_without_a_parser_shows_the_listing_as_it_is(monkeypatch):
    class Echo(Scheduler):  # not registered: a record is only a class until @register
        name = "echo"
        cluster_class = "EchoCluster"
        submit_command = "true"
        directive = "#ECHO"

        def queue_command(self, job_ids):
            return ["echo", "queue of", *job_ids]

    assert "echo" not in SCHEDULERS
    assert Echo().describe(["7", "8"]) == "2 worker jobs (7, 8); echo says:\nqueue of 7 8"
    assert Echo().describe([]) == "no worker job was submitted"
    assert Echo().ended_jobs(["7"]) == set()  # cannot tell: nothing is forgotten
    monkeypatch.setenv("PATH", "/nonexistent")
    assert Echo().describe(["7"]) == "1 worker jobs (7)"


def test_squeue_listing_is_grouped_by_state_and_reason():
    listing = "41 PENDING JobHeld\n42 PENDING JobHeld\n43 RUNNING None\n"
    pairs = Slurm().parse_queue(listing)
    assert pairs == [("41", "pending (JobHeld)"), ("42", "pending (JobHeld)"),
                     ("43", "running")]


@pytest.mark.parametrize("kind, line", [("pbs", "#PBS -o drv.out"), ("sge", "#$ -o drv.out")])
def test_driver_script_output_directive(kind, line, tmp_path):
    pytest.importorskip("dask_jobqueue")
    script = tmp_path / "sweep.py"
    script.write_text("")
    text = driver_script(script, kind, walltime="01:00:00", output="drv.out")
    assert line in text.splitlines()
    assert "--signal" not in text  # only SLURM signals the driver before its walltime
    # no output given: the batch system's default (no directive)
    assert " -o " not in driver_script(script, kind, walltime="01:00:00")


def test_slurm_driver_script_defaults_its_output_and_signal(tmp_path):
    pytest.importorskip("dask_jobqueue")
    script = tmp_path / "sweep.py"
    script.write_text("")
    lines = driver_script(script, "slurm", walltime="00:10:00").splitlines()
    assert "#SBATCH -o pypetx-sweep-%j.out" in lines
    assert "#SBATCH --signal=B:INT@60" in lines  # 10 % of 10 min


@pytest.mark.slurm
def test_slurm_record_reads_the_real_queue(tmp_path):
    res = subprocess.run(["sbatch", "--parsable", "--hold", "-o", str(tmp_path / "o"),
                          "--wrap", "true"], capture_output=True, text=True, timeout=30,
                         check=True)
    job = res.stdout.strip().split(";")[0]
    slurm = scheduler("slurm")
    try:
        assert slurm.ended_jobs([job]) == set()  # held: still queued
        assert slurm.describe([job]).startswith("1 worker jobs: 1 pending (JobHeld")
        assert slurm.ended_jobs([job, "999999"]) == {"999999"}  # unknown to SLURM: gone
    finally:
        subprocess.run(["scancel", job], check=True, timeout=30)
    wait_for(lambda: slurm.ended_jobs([job]) == {job}, timeout=30)
