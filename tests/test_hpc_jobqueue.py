"""pypetx's delta over dask-jobqueue, without a batch system: walltimes, lifetimes,
security and binding defaults, scaling options, error messages."""

from __future__ import annotations

import dask
import pytest

from pypetx.engine import ClusterError, SchedulerLost, jobqueue, resolve_backend

pytest.importorskip("dask_jobqueue")


@pytest.mark.parametrize("text, seconds", [
    ("30", 1800), ("05:00", 300), ("00:05:00", 300), ("12:00:00", 43200),
    ("1-00", 86400), ("1-02:30", 95400), ("2-00:00:10", 172810), (90, 90), (None, None),
])
def test_parse_walltime(text, seconds):
    assert jobqueue.parse_walltime(text) == seconds


def test_lifetime_leaves_before_the_walltime():
    assert jobqueue.lifetime_args("12:00:00") == [
        "--lifetime", "42780s", "--lifetime-stagger", "120s"]  # 12 h - 5 min - 2 min
    # short walltimes: the margin is at most 10 %, the stagger 5 %
    assert jobqueue.lifetime_args("00:05:00") == [
        "--lifetime", "255s", "--lifetime-stagger", "15s"]
    assert jobqueue.lifetime_args(None) == []


def test_explicit_lifetime_is_the_latest_leave_and_must_beat_the_walltime():
    # dask leaves at --lifetime +- --lifetime-stagger: the latest leave is the lifetime
    assert jobqueue.lifetime_args("01:00:00", "30m") == [
        "--lifetime", "1680s", "--lifetime-stagger", "120s"]
    assert jobqueue.lifetime_args("00:01:00", 25) == [  # stagger at most 20 % of it
        "--lifetime", "20s", "--lifetime-stagger", "5s"]
    with pytest.raises(ValueError, match="not shorter than the walltime"):
        jobqueue.lifetime_args("00:10:00", "10m")
    kw = jobqueue.cluster_kwargs("slurm", lifetime="30m", cores=1, memory="1GB",
                                 walltime="01:00:00")
    assert kw["worker_extra_args"][-4:] == ["--lifetime", "1680s", "--lifetime-stagger", "120s"]
    kw = jobqueue.cluster_kwargs("slurm", lifetime=False, cores=1, memory="1GB",
                                 walltime="01:00:00")
    assert "--lifetime" not in (kw.get("worker_extra_args") or [])


def test_adaptive_targets_are_whole_jobs():
    import asyncio

    from distributed.deploy.adaptive import Adaptive

    assert jobqueue._whole_jobs(1) is Adaptive
    whole = jobqueue._whole_jobs(4)

    class Fixed(whole):
        def __init__(self, n):  # no cluster: only target() is exercised
            self.n = n

    async def base_target(self):
        return self.n

    orig = Adaptive.target
    Adaptive.target = base_target
    try:
        got = [asyncio.run(Fixed(n).target()) for n in (0, 1, 4, 5, 8)]
    finally:
        Adaptive.target = orig
    assert got == [0, 4, 4, 8, 8]  # 1 worker wanted, jobs of 4: one whole job


def test_defaults_tls_localhost_dashboard_one_address(tmp_path):
    pytest.importorskip("cryptography")
    with dask.config.set({"pypetx.jobqueue.tls_directory": str(tmp_path / "tls")}):
        kw = jobqueue.cluster_kwargs("slurm", cores=1, memory="1GB", walltime="01:00:00")
    assert kw["security"].require_encryption
    assert kw["shared_temp_directory"] == str(tmp_path / "tls")
    assert (tmp_path / "tls").stat().st_mode & 0o777 == 0o700
    so = kw["scheduler_options"]
    assert so["dashboard_address"].startswith("127.0.0.1:")
    assert so["host"] not in ("", "0.0.0.0", "::")
    assert kw["worker_extra_args"][-4:] == ["--lifetime", "3180s", "--lifetime-stagger", "120s"]


def test_user_options_win_over_the_delta():
    kw = jobqueue.cluster_kwargs(
        "slurm", security=False, interface="ib0", worker_extra_args=["--lifetime", "1h"],
        scheduler_options={"dashboard_address": ":9999"})
    assert kw["security"] is None
    assert "host" not in kw["scheduler_options"]  # the interface decides
    assert kw["scheduler_options"]["dashboard_address"] == ":9999"
    assert kw["worker_extra_args"] == ["--lifetime", "1h"]
    with dask.config.set({"pypetx.jobqueue.lifetime": None, "pypetx.jobqueue.security": False}):
        kw = jobqueue.cluster_kwargs("pbs", walltime="01:00:00")
        assert kw["security"] is None and "worker_extra_args" not in kw


def test_scaling_options(monkeypatch):
    monkeypatch.setattr(jobqueue.shutil, "which", lambda cmd: f"/usr/bin/{cmd}")
    opts = dict(cores=1, memory="1GB", security=False)
    assert jobqueue.plan("slurm", **opts).n_jobs == 1
    plan = jobqueue.plan("slurm", adapt=(0, 4), cores=2, memory="1GB", security=False)
    assert plan.adapt == (0, 4) and plan.scaling_text() == "adaptive, 0-4 jobs"
    assert jobqueue.JobMonitor(plan).capacity() == 8  # 4 jobs x 2 cores
    with dask.config.set({"pypetx.jobqueue.n_jobs": 3}):
        assert jobqueue.plan("sge", **opts).n_jobs == 3
    with pytest.raises(TypeError, match="not both"):
        jobqueue.plan("slurm", n_jobs=2, adapt=(1, 2), **opts)
    with pytest.raises(ValueError, match="min <= max"):
        jobqueue.plan("slurm", adapt=(3, 1), **opts)


def test_missing_submit_command(monkeypatch):
    monkeypatch.setattr(jobqueue.shutil, "which", lambda cmd: None)
    with pytest.raises(ClusterError, match="'qsub', which is not on PATH.*pypetx submit"):
        resolve_backend(cluster="pbs", cores=1, memory="1GB")


def test_rejected_message_keeps_the_batch_systems_words(monkeypatch):
    monkeypatch.setattr(jobqueue.shutil, "which", lambda cmd: f"/usr/bin/{cmd}")
    plan = jobqueue.plan("slurm", cores=1, memory="1GB", security=False)
    exc = RuntimeError("Command exited with non-zero exit code.\nExit code: 1\nCommand:\n"
                       "sbatch /tmp/x.sh\nstdout:\n\nstderr:\nsbatch: error: invalid "
                       "account or account/partition combination specified\n")
    msg = jobqueue._rejected_message(plan, exc)
    assert msg.startswith("the batch system rejected the worker job (sbatch): sbatch: "
                          "error: invalid account")


def test_scheduler_lost_message():
    exc = SchedulerLost("tls://10.0.0.1:8786", "scheduler-connection-lost")
    assert str(exc) == "lost the Dask scheduler at tls://10.0.0.1:8786 (scheduler-connection-lost)"
    full = exc.with_detail("12 of 40 runs of this sweep were stored before; resume with X")
    assert str(full).endswith("; 12 of 40 runs of this sweep were stored before; resume with X")
    assert isinstance(full, ClusterError) and isinstance(full, ConnectionError)


def test_distributed_backend_still_importable_from_executors():
    from pypetx.engine.clusters import DistributedBackend
    from pypetx.engine.executors import DistributedBackend as Old

    assert Old is DistributedBackend
