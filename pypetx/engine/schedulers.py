"""The batch systems pypetx submits to: one small record per scheduler kind.

dask-jobqueue describes a batch system by a ``Job`` subclass whose class attributes say
what differs (``submit_command``, ``config_name``, the header directives); pypetx needs a
little more of each system (its queue listing and how to read it, which jobs ended, the
driver job's header lines for ``pypetx submit``) and keeps it the same way: a
:class:`Scheduler` subclass per kind, registered by name. Adding a batch system that
dask-jobqueue supports means adding one decorated class here; ``cluster=<name>``,
``pypetx submit --cluster <name>`` and the job monitor pick it up.

Nothing here imports dask-jobqueue or distributed: the CLI reads the names at startup.
"""

from __future__ import annotations

import shutil
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

__all__ = ["SCHEDULERS", "PBS", "SGE", "Scheduler", "Slurm", "register", "scheduler"]

#: name (``cluster="slurm"``) -> its record, in registration order
SCHEDULERS: dict[str, Scheduler] = {}


def register(cls: type[Scheduler]) -> type[Scheduler]:
    """Class decorator: make ``cls`` the record of the batch system ``cls.name``."""
    SCHEDULERS[cls.name] = cls()
    return cls


def scheduler(kind: str) -> Scheduler:
    """The record of batch system ``kind`` (``"slurm"``, ``"pbs"``, ``"sge"``, ...)."""
    try:
        return SCHEDULERS[kind]
    except KeyError:
        raise ValueError(f"unknown batch system {kind!r}; known: "
                         f"{', '.join(SCHEDULERS)}") from None


class Scheduler(ABC):
    """What pypetx needs to know about one batch system besides dask-jobqueue's Job class.

    Attributes
    ----------
    name : str
        The ``cluster=`` name; also dask-jobqueue's ``config_name`` (``jobqueue.<name>.*``).
    cluster_class : str
        dask-jobqueue's cluster class for it (``SLURMCluster``, ...).
    submit_command : str
        The command that submits a job script (dask-jobqueue's ``Job.submit_command``).
    directive : str
        The prefix of job-script header lines (``#SBATCH``).
    output_option : str
        The header option naming the job's output file.
    driver_output : str or None
        Default output file of the driver job (``{name}``: the job name; the batch system
        fills in its own patterns), or None for the batch system's default.
    walltime_signal : str or None
        Header option asking for SIGINT ``{grace}`` seconds before the walltime, so the
        driver stops cleanly and keeps what finished; None if the system has none.
    history_command : str or None
        How a user looks up jobs that left the queue (``{ids}``: comma-separated ids).
    """

    name: ClassVar[str]
    cluster_class: ClassVar[str]
    submit_command: ClassVar[str]
    directive: ClassVar[str]
    output_option: ClassVar[str] = "-o"
    driver_output: ClassVar[str | None] = None
    walltime_signal: ClassVar[str | None] = None
    history_command: ClassVar[str | None] = None

    @abstractmethod
    def queue_command(self, job_ids: Sequence[str]) -> list[str]:
        """The command that lists ``job_ids`` in the queue (states and reasons)."""

    def parse_queue(self, listing: str) -> list[tuple[str, str]] | None:
        """``(job id, state)`` pairs read from :meth:`queue_command`'s output, the state
        with its reason (``"pending (JobHeld)"``); None: show the listing as it is."""
        return None

    def ended_jobs(self, job_ids: Sequence[str]) -> set[str]:
        """Those of ``job_ids`` that have ended or the batch system no longer knows
        (empty when it cannot tell, or cannot be asked now)."""
        return set()

    def describe(self, job_ids: Sequence[str]) -> str:
        """One line on the jobs' states and reasons, from the batch system's queue."""
        if not job_ids:
            return "no worker job was submitted"
        job_ids = list(job_ids)
        listed = f"{len(job_ids)} worker jobs ({', '.join(job_ids)})"
        command = self.queue_command(job_ids)
        if not shutil.which(command[0]):
            return listed
        listing = _run(command)
        pairs = self.parse_queue(listing)
        if pairs is None:
            return f"{listed}; {command[0]} says:\n{listing.strip()}"
        states: dict[str, list[str]] = {}
        for job, state in pairs:
            states.setdefault(state, []).append(job)
        gone = len(job_ids) - len(pairs)
        bits = [f"{len(v)} {k}" for k, v in sorted(states.items())]
        if gone:
            where = "see their output files"
            if self.history_command:
                where += f"; '{self.history_command.format(ids=','.join(job_ids))}'"
            bits.append(f"{gone} no longer queued ({where})")
        return f"{len(job_ids)} worker jobs: " + ", ".join(bits)


@register
class Slurm(Scheduler):
    """SLURM: ``sbatch``, ``squeue``; SIGINT to the driver before its walltime."""

    name = "slurm"
    cluster_class = "SLURMCluster"
    submit_command = "sbatch"
    directive = "#SBATCH"
    driver_output = "{name}-%j.out"
    walltime_signal = "--signal=B:INT@{grace}"
    history_command = "sacct -j {ids}"

    #: job states after which a job never runs again (squeue ``%T``)
    ended_states: ClassVar[frozenset[str]] = frozenset({
        "BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL",
        "OUT_OF_MEMORY", "PREEMPTED", "TIMEOUT", "SPECIAL_EXIT"})

    def queue_command(self, job_ids: Sequence[str]) -> list[str]:
        return ["squeue", "-h", "-j", ",".join(job_ids), "-o", "%i %T %r"]

    def parse_queue(self, listing: str) -> list[tuple[str, str]]:
        pairs = []
        for line in listing.splitlines():
            parts = line.split(None, 2)
            if len(parts) >= 2:
                reason = parts[2] if len(parts) > 2 and parts[2] != "None" else ""
                pairs.append((parts[0], parts[1].lower() + (f" ({reason})" if reason else "")))
        return pairs

    def ended_jobs(self, job_ids: Sequence[str]) -> set[str]:
        # -t all: squeue also lists jobs that ended recently (MinJobAge), with their state
        if not job_ids or not shutil.which("squeue"):
            return set()
        try:
            res = subprocess.run(["squeue", "-h", "-t", "all", "-j", ",".join(job_ids),
                                  "-o", "%i %T"], capture_output=True, text=True,
                                 timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return set()
        if res.returncode != 0 and "Invalid job id" not in res.stderr:
            return set()  # squeue trouble: assume nothing, try again later
        alive = {p[0] for p in (line.split() for line in res.stdout.splitlines())
                 if len(p) == 2 and p[1] not in self.ended_states}
        return set(job_ids) - alive


@register
class PBS(Scheduler):
    """PBS / Torque: ``qsub``; ``qstat <ids>`` is shown as it is."""

    name = "pbs"
    cluster_class = "PBSCluster"
    submit_command = "qsub"
    directive = "#PBS"

    def queue_command(self, job_ids: Sequence[str]) -> list[str]:
        return ["qstat", *job_ids]


@register
class SGE(Scheduler):
    """(Son of) Grid Engine: ``qsub``; ``qstat`` (the user's jobs) is shown as it is."""

    name = "sge"
    cluster_class = "SGECluster"
    submit_command = "qsub"
    directive = "#$"

    def queue_command(self, job_ids: Sequence[str]) -> list[str]:
        return ["qstat"]  # SGE's qstat takes no job ids (-j gives one job's details)


def _run(cmd: list[str]) -> str:
    """stdout and stderr of ``cmd``, or a note saying why it did not run."""
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"({' '.join(cmd)} failed: {exc})"
    return res.stdout + res.stderr
