"""dask-jobqueue clusters (SLURM, PBS, SGE) as pypetx starts them: a config delta.

pypetx adds to dask-jobqueue's own defaults (``~/.config/dask/jobqueue.yaml``) only what
a sweep on a shared machine needs, read from ``pypetx.jobqueue`` in ``dask.config``:

- TLS between scheduler, workers and client (temporary certificates unless the site
  configured its own), a dashboard on ``127.0.0.1``, a scheduler bound to one address;
- worker ``--lifetime`` (with stagger) from the walltime, or a lifetime given, so
  workers leave gracefully before the batch system kills them and their tasks move
  elsewhere;
- scaling: ``n_jobs`` fixed jobs (jobs that die are resubmitted) or ``adapt=(min, max)``
  (dask's adaptive scaling in whole jobs, at most ``max`` jobs queued);
- :class:`JobMonitor`: rejected jobs and workers that never arrive become a
  :class:`~pypetx.engine.errors.ClusterError` with the batch system's own words.

What differs between the batch systems (queue listing, which jobs ended, ...) is in their
records in :mod:`pypetx.engine.schedulers`; nothing here branches on the kind.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from typing import Any

import dask.config

from pypetx.base import config
from pypetx.engine.errors import ClusterError
from pypetx.engine.schedulers import SCHEDULERS, Scheduler, scheduler

__all__ = [
    "KINDS",
    "JobMonitor",
    "JobqueuePlan",
    "cluster_class",
    "cluster_kwargs",
    "describe_jobs",
    "lifetime_args",
    "parse_walltime",
    "plan",
]

logger = logging.getLogger(__name__)

#: cluster name -> dask-jobqueue class name (from the records in schedulers.py)
KINDS: dict[str, str] = {name: s.cluster_class for name, s in SCHEDULERS.items()}


def cluster_class(kind: str) -> type:
    """The dask-jobqueue cluster class of ``kind``, with a clear error if it is missing."""
    name = scheduler(kind).cluster_class
    try:
        import dask_jobqueue
    except ImportError:
        raise ImportError(
            f"cluster={kind!r} needs dask-jobqueue: pip install 'pypetx[hpc]'"
        ) from None
    return getattr(dask_jobqueue, name)


# ---------------------------------------------------------------------------- walltime
def parse_walltime(walltime: str | float | None) -> float | None:
    """Seconds of a walltime in the batch systems' notations, or ``None``.

    Accepts SLURM's ``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH``, ``D-HH:MM``,
    ``D-HH:MM:SS`` (PBS and SGE use ``HH:MM:SS``) and plain seconds.
    """
    if walltime is None or walltime == "":
        return None
    if isinstance(walltime, int | float):
        return float(walltime)
    text = str(walltime).strip()
    days = 0
    if "-" in text:
        d, text = text.split("-", 1)
        days = int(d)
        parts = [int(p) for p in text.split(":")]
        parts += [0] * (3 - len(parts))  # D-HH, D-HH:MM
        h, m, s = parts
    else:
        parts = [int(p) for p in text.split(":")]
        if len(parts) == 1:
            h, m, s = 0, parts[0], 0  # SLURM: a bare number is minutes
        elif len(parts) == 2:
            h, (m, s) = 0, parts
        else:
            h, m, s = parts[-3:]
    return float(((days * 24 + h) * 60 + m) * 60 + s)


def lifetime_args(walltime: str | float | None,
                  lifetime: str | float | None = None) -> list[str]:
    """``dask worker`` arguments so workers leave before the walltime kills them.

    Parameters
    ----------
    walltime : str or float or None
        The worker jobs' walltime (see :func:`parse_walltime`).
    lifetime : str or float, optional
        The latest time a worker leaves (a duration: ``"3h 50m"``, ``"25s"``, seconds),
        instead of one derived from the walltime; it must be shorter than the walltime.
        Its stagger is ``pypetx.jobqueue.lifetime_stagger`` but at most 20 % of it.

    Notes
    -----
    Derived from the walltime, the margin (time left for the last tasks to move and the
    worker to close) is ``pypetx.jobqueue.lifetime_margin`` but at most 10 % of the
    walltime; the stagger (so the workers of many jobs do not all leave at once) at most
    5 %. Dask leaves at ``--lifetime`` plus or minus up to ``--lifetime-stagger``, so the
    arguments are chosen for the latest leave to fall on walltime minus margin (or on
    ``lifetime``).

    Raises
    ------
    ValueError
        ``lifetime`` is not shorter than the walltime.
    """
    seconds = parse_walltime(walltime)
    if lifetime is not None:
        latest = _seconds(lifetime)
        if seconds and latest >= seconds:
            raise ValueError(
                f"lifetime {latest:.0f} s is not shorter than the walltime {seconds:.0f} s: "
                f"the batch system would kill the workers before they retire")
        stagger = min(_seconds(config.get("jobqueue.lifetime_stagger")), 0.20 * latest)
    elif not seconds:
        return []
    else:
        margin = min(_seconds(config.get("jobqueue.lifetime_margin")), 0.10 * seconds)
        stagger = min(_seconds(config.get("jobqueue.lifetime_stagger")), 0.05 * seconds)
        latest = seconds - margin
    life = max(latest - stagger, 1.0)
    return ["--lifetime", f"{int(life)}s", "--lifetime-stagger", f"{int(stagger)}s"]


def _seconds(value: Any) -> float:
    from dask.utils import parse_timedelta

    return float(parse_timedelta(value, default="seconds"))


# --------------------------------------------------------------------- cluster keywords
def _jq(kind: str, key: str, default: Any = None) -> Any:
    """dask-jobqueue's own setting (the user's jobqueue.yaml) for ``kind``."""
    return dask.config.get(f"jobqueue.{kind}.{key}", default)


def _security(setting: Any) -> Any:
    """The Security object for a new cluster: the site's TLS, temporary TLS, or none."""
    if setting is False or setting in ("none", "false"):
        return None
    from distributed.security import Security

    if dask.config.get("distributed.comm.tls.ca-file", None):
        return Security()  # the site's certificates, from dask.config
    try:
        return Security.temporary()
    except ImportError:
        raise ClusterError(
            "pypetx secures jobqueue clusters with TLS, and temporary certificates need "
            "the 'cryptography' package: pip install cryptography (or configure the "
            "site's certificates in distributed.comm.tls, or, on a trusted network only, "
            "set pypetx.jobqueue.security: false)"
        ) from None


def cluster_kwargs(kind: str, *, lifetime: Any = None, **options: Any) -> dict[str, Any]:
    """Keywords for dask-jobqueue's cluster class: the user's options over pypetx's delta.

    Parameters
    ----------
    kind : str
        A batch system of :data:`~pypetx.engine.schedulers.SCHEDULERS` (``"slurm"``, ...).
    lifetime : str or float or bool, optional
        When workers retire: ``"auto"`` (from the walltime), a duration (see
        :func:`lifetime_args`), or ``False`` (never); default ``pypetx.jobqueue.lifetime``.
        Ignored when ``worker_extra_args`` already holds ``--lifetime``.
    **options
        The class's own keywords; they win over everything pypetx would set.

    Returns
    -------
    dict
        Ready for ``SLURMCluster(**kwargs)`` (or PBS/SGE).
    """
    settings = config.get("jobqueue")
    kwargs = dict(options)
    if "security" not in kwargs:
        kwargs["security"] = _security(settings.get("security", "auto"))
    elif kwargs["security"] is False:
        kwargs["security"] = None
    security = kwargs["security"]
    if security is not None and security is not False:
        # Temporary certificates are written for the workers to read: into a private
        # directory of the (on clusters: shared) home, not the current directory.
        if kwargs.get("shared_temp_directory") is None and not _jq(kind, "shared-temp-directory"):
            tls_dir = os.path.expanduser(settings.get("tls_directory") or "~/.pypetx/tls")
            os.makedirs(tls_dir, mode=0o700, exist_ok=True)
            kwargs["shared_temp_directory"] = tls_dir
    scheduler_options = dict(_jq(kind, "scheduler-options", {}) or {})
    scheduler_options.update(kwargs.pop("scheduler_options", None) or {})
    scheduler_options.setdefault("dashboard_address", settings.get("dashboard_address"))
    interface = kwargs.get("interface") or _jq(kind, "interface")
    if "host" not in scheduler_options and "interface" not in scheduler_options:
        host = settings.get("host", "auto")
        if host == "auto" and not interface:
            from distributed.utils import get_ip

            # One routable address; dask-jobqueue would otherwise listen on every one.
            scheduler_options["host"] = get_ip()
        elif host not in (None, "auto"):
            scheduler_options["host"] = host
    kwargs["scheduler_options"] = scheduler_options
    if lifetime is None:
        lifetime = settings.get("lifetime", "auto")
    if lifetime not in (None, False, "off", "none", "null"):
        extra = list(kwargs.get("worker_extra_args") or _jq(kind, "worker-extra-args") or [])
        if "--lifetime" not in extra:
            walltime = kwargs.get("walltime") or _jq(kind, "walltime")
            extra += lifetime_args(walltime, None if lifetime == "auto" else lifetime)
        kwargs["worker_extra_args"] = extra
    return kwargs


# ------------------------------------------------------------------------------- plan
@dataclass
class JobqueuePlan:
    """How to start one jobqueue cluster; built (and validated) before anything starts."""

    kind: str
    cls: type
    kwargs: dict[str, Any]
    n_jobs: int | None = 1
    adapt: tuple[int, int] | None = None
    worker_timeout: float | None = None
    start_errors: list[BaseException] = field(default_factory=list)

    def job_script(self) -> str:
        """The worker job script (placeholder scheduler address), for review."""
        job_cls = self.cls.job_cls
        kwargs = {k: v for k, v in self.kwargs.items() if k not in _CLUSTER_ONLY}
        if self.kwargs.get("security") is not None:
            kwargs["protocol"] = "tls://"
            kwargs["security"] = None  # certificates are made when the cluster starts
        tls = self.kwargs.get("security") is not None
        address = f"{'tls' if tls else 'tcp'}://<scheduler-address>:<port>"
        script = job_cls(address, name="<worker-name>", **kwargs).job_script()
        if tls:
            script += ("# (+ --tls-ca-file/--tls-cert/--tls-key: the cluster's certificates, "
                       "made when it starts)\n")
        return script

    def start(self) -> Any:
        """Create the cluster and ask for its jobs (they start in the background)."""
        cluster = self.cls(job_cls=_reporting_job(self.cls.job_cls, self.start_errors),
                           **self.kwargs)
        try:
            if self.adapt is not None:
                lo, hi = self.adapt
                per_job = getattr(getattr(cluster, "_dummy_job", None), "worker_processes", 1)
                cluster.adapt(Adaptive=_whole_jobs(int(per_job or 1)),
                              minimum_jobs=lo, maximum_jobs=hi,
                              target_duration=config.get("jobqueue.adapt_target_duration"))
            else:
                cluster.scale(jobs=self.n_jobs)
        except BaseException:
            cluster.close()
            raise
        return cluster

    @property
    def scheduler(self) -> Scheduler:
        """The record of this plan's batch system."""
        return scheduler(self.kind)

    @property
    def threads_per_job(self) -> int:
        # a job's cores are split among its processes: threads in all = cores
        return int(self.kwargs.get("cores") or _jq(self.kind, "cores") or 1)

    def scaling_text(self) -> str:
        if self.adapt is not None:
            return f"adaptive, {self.adapt[0]}-{self.adapt[1]} jobs"
        return f"{self.n_jobs} job{'s' if self.n_jobs != 1 else ''}"


def _whole_jobs(processes: int) -> type:
    """Dask's ``Adaptive``, its target rounded up to whole jobs of ``processes`` workers.

    Dask counts workers; a job brings ``processes`` of them. A target between two
    multiples (1 worker, jobs of 2) is below the plan of one job, so Adaptive closes that
    job's workers that have not arrived yet, which cancels the whole job, then asks for
    a job again: with ``processes > 1`` jobs were cancelled and resubmitted every few
    seconds while they started (dask-jobqueue issue #498).
    """
    from distributed.deploy.adaptive import Adaptive

    if processes <= 1:
        return Adaptive

    class WholeJobs(Adaptive):
        async def target(self) -> int:
            n = await super().target()
            return -(-int(n) // processes) * processes

    return WholeJobs


# Keywords of JobQueueCluster itself, not of its Job class.
_CLUSTER_ONLY = {"n_workers", "loop", "security", "shared_temp_directory", "silence_logs",
                 "name", "asynchronous", "scheduler_options", "scheduler_cls", "job_cls"}


def plan(kind: str, *, n_jobs: int | None = None, adapt: Any = None,
         worker_timeout: float | str | None = None, lifetime: Any = None,
         check_submit: bool = True, **options: Any) -> JobqueuePlan:
    """Validate the options of a jobqueue cluster and resolve pypetx's defaults.

    ``n_jobs`` (fixed, jobs that end are resubmitted) or ``adapt=(min, max)`` (dask's
    adaptive scaling, ``max`` the most jobs ever queued at once), ``worker_timeout`` and
    ``lifetime`` (see :func:`cluster_kwargs`) default to ``pypetx.jobqueue``; the other
    options are the cluster class's own.

    Raises
    ------
    ClusterError
        The batch system's submit command (``sbatch``, ``qsub``) is not on ``PATH``.
    """
    cls = cluster_class(kind)
    submit = scheduler(kind).submit_command
    if check_submit and shutil.which(submit) is None:
        raise ClusterError(
            f"cluster={kind!r} submits its workers as jobs with {submit!r}, which is not on "
            f"PATH on {os.uname().nodename}: run the driver on a login node of the cluster "
            f"or inside a job (see 'pypetx submit'), load the batch system's module "
            f"(e.g. 'module load slurm'), or choose another cluster"
        )
    settings = config.get("jobqueue")
    if adapt is None and n_jobs is None:
        adapt = settings.get("adapt")
    if adapt is not None:
        if n_jobs is not None:
            raise TypeError("give n_jobs= (fixed) or adapt=(min, max), not both")
        lo, hi = (0, int(adapt)) if isinstance(adapt, int) else (int(adapt[0]), int(adapt[1]))
        if not 0 <= lo <= hi or hi < 1:
            raise ValueError(f"adapt=(min, max) needs 0 <= min <= max, max >= 1; got {adapt!r}")
        adapt = (lo, hi)
    elif n_jobs is None:
        n_jobs = int(settings.get("n_jobs") or 1)
    if worker_timeout is None:
        worker_timeout = settings.get("worker_timeout")
    timeout = None if worker_timeout in (None, False) else _seconds(worker_timeout)
    return JobqueuePlan(kind, cls, cluster_kwargs(kind, lifetime=lifetime, **options),
                        n_jobs=n_jobs, adapt=adapt, worker_timeout=timeout)


def _reporting_job(base: type, errors: list[BaseException]) -> type:
    """``base`` (a dask-jobqueue Job class) recording why a job could not be submitted.

    dask-jobqueue submits jobs in the cluster's event loop and only logs a failure; the
    driver would wait for workers that never come. The monitor reads ``errors`` instead.
    """

    class Job(base):  # type: ignore[misc, valid-type]
        async def start(self) -> None:
            try:
                await super().start()
            except Exception as exc:
                errors.append(exc)
                # SpecCluster.close() insists that its jobs ended one way or another
                from distributed.core import Status

                self.status = Status.failed
                raise

    Job.__name__ = Job.__qualname__ = base.__name__
    return Job


# ---------------------------------------------------------------------------- monitor
class JobMonitor:
    """Watch a jobqueue cluster while the driver waits for results.

    - resubmits jobs whose workers died (``scancel``, node failure, ``--lifetime``), up to
      the requested number (dask-jobqueue itself only does so when rescaled);
    - raises :class:`ClusterError` when the batch system rejected a job (with its
      message) or no worker has been connected for ``worker_timeout`` seconds (with the
      jobs' states and reasons from ``squeue``/``qstat``).
    """

    heal_seconds = 5.0

    def __init__(self, plan: JobqueuePlan) -> None:
        self.plan = plan
        self.cluster: Any = None
        self._last_seen = time.monotonic()
        self._last_heal = time.monotonic()

    def attach(self, cluster: Any) -> None:
        self.cluster = cluster
        self._last_seen = time.monotonic()

    def capacity(self) -> int:
        """Threads once fully scaled (adaptive: the maximum)."""
        jobs = self.plan.adapt[1] if self.plan.adapt is not None else self.plan.n_jobs
        return int(jobs or 0) * self.plan.threads_per_job

    def check(self, n_threads: int) -> None:
        """Called while the driver waits; raises when the jobs cannot bring workers."""
        now = time.monotonic()
        if n_threads > 0:
            self._last_seen = now
        if self.plan.start_errors:
            raise ClusterError(_rejected_message(self.plan, self.plan.start_errors[-1]))
        if self.cluster is not None and now - self._last_heal > self.heal_seconds:
            self._last_heal = now
            self._heal(n_threads)
        timeout = self.plan.worker_timeout
        if n_threads == 0 and timeout is not None and now - self._last_seen > timeout:
            raise ClusterError(
                f"no Dask worker connected for {timeout:.0f} s; "
                f"{describe_jobs(self.plan.kind, self.job_ids())}. Raise "
                f"pypetx.jobqueue.worker_timeout (or Environment(cluster_options="
                f"{{'worker_timeout': ...}})) to wait longer; completed runs are stored, "
                f"resume later"
            )

    def _heal(self, n_threads: int) -> None:
        """Resubmit jobs that ended: the cluster's spec still lists them.

        dask-jobqueue forgets a job only after its worker disconnected (and
        ``distributed.deploy.lost-worker-timeout``); a job that ended before its worker
        ever connected (cancelled, preempted, failed at start) would be waited for
        forever, so the batch system is asked which jobs are gone (where its record
        can tell: :meth:`~pypetx.engine.schedulers.Scheduler.ended_jobs`).
        """
        cluster = self.cluster
        if n_threads < self.capacity():
            gone = self.plan.scheduler.ended_jobs(self.job_ids())
            if gone:
                connected = {str(w.get("name")) for w in
                             cluster.scheduler_info.get("workers", {}).values()}

                def forget() -> None:
                    for name, job in list(cluster.workers.items()):
                        if str(getattr(job, "job_id", "")) in gone and not any(
                                c == str(name) or c.startswith(f"{name}-") for c in connected):
                            del cluster.workers[name]
                    cluster._correct_state()

                cluster.loop.add_callback(forget)
                return
        cluster.loop.add_callback(cluster._correct_state)

    def dashboard_link(self, link: str) -> str:
        """Distributed formats the link with the scheduler's host; the dashboard may be
        bound elsewhere (pypetx: 127.0.0.1, reached through an SSH tunnel)."""
        bind = str(self.plan.kwargs.get("scheduler_options", {}).get("dashboard_address") or "")
        host = bind.rpartition(":")[0]
        if host and host not in ("0.0.0.0", "::", "[::]"):
            from urllib.parse import urlsplit, urlunsplit

            parts = urlsplit(link)
            port = f":{parts.port}" if parts.port else ""
            return urlunsplit(parts._replace(netloc=f"{host}{port}"))
        return link

    def job_ids(self) -> list[str]:
        if self.cluster is None:
            return []
        return [str(j.job_id) for j in list(self.cluster.workers.values())
                if getattr(j, "job_id", None)]

    def close(self) -> None:
        self.cluster = None


def _rejected_message(plan: JobqueuePlan, exc: BaseException) -> str:
    text = str(exc)
    # dask-jobqueue's message holds the command, stdout and stderr: keep stderr, the
    # batch system's own words.
    match = re.search(r"stderr:\n(.*)", text, re.DOTALL)
    detail = (match.group(1) if match else text).strip()
    submit = plan.scheduler.submit_command
    return (
        f"the batch system rejected the worker job ({submit}): {detail}\n"
        f"Check the job options (queue/partition, account, walltime, memory, cores); "
        f"'pypetx submit --dry-run' shows the job script"
    )


def describe_jobs(kind: str, job_ids: list[str]) -> str:
    """One line on the jobs' states and reasons, from the batch system's queue."""
    return scheduler(kind).describe(job_ids)
