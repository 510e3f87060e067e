"""``pypetx submit``: run a sweep script as a batch job (the driver inside an allocation).

The driver job script runs the user's script with ``DASK_PYPETX__RESUME=true`` (so
``Environment`` resumes: a re-submitted job continues where the last one stopped) and
``DASK_PYPETX__CLUSTER=<kind>`` (so the workers are jobs of the same batch system). On
SLURM the driver gets SIGINT shortly before its walltime: it stops cleanly, keeps what
finished, and the next submission resumes. With ``--requeue`` the driver job resubmits
itself instead: SLURM's warning signal (walltime near, or preemption) makes the driver
stop the same way, then the job requeues itself (``scontrol requeue``) and its next
start resumes the sweep.

The job header comes from dask-jobqueue's own Job class for the batch system, so the
site's settings (``~/.config/dask/jobqueue.yaml``: account, queue, prologue) apply to the
driver as they do to the workers.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from pypetx.engine.schedulers import SCHEDULERS, scheduler

__all__ = ["REQUEUE", "Requeue", "driver_script", "submit"]


@dataclass(frozen=True)
class Requeue:
    """How a driver job of one batch system catches its warning signal and requeues itself.

    Attributes
    ----------
    signal : str
        The warning signal the job asks for and traps (its name without ``SIG``).
    directive : str
        Header option asking for ``signal`` ``{grace}`` seconds before the walltime, sent
        to the job's shell (which forwards SIGINT to the driver).
    directives : tuple of str
        Further header options: the job may be requeued; its output is appended to, not
        truncated, when it starts again.
    command : str
        The shell command that requeues the running job.
    """

    signal: str
    directive: str
    directives: tuple[str, ...]
    command: str


#: batch systems whose driver job can requeue itself (``pypetx submit --requeue``)
REQUEUE: dict[str, Requeue] = {
    "slurm": Requeue(signal="USR1", directive="--signal=B:USR1@{grace}",
                     directives=("--requeue", "--open-mode=append"),
                     command='scontrol requeue "$SLURM_JOB_ID"'),
}


def driver_script(script: Path, kind: str, *, args: tuple[str, ...] = (),
                  walltime: str | None = None, queue: str | None = None,
                  account: str | None = None, memory: str = "2GB", cores: int = 1,
                  job_name: str | None = None, output: str | None = None,
                  python: str | None = None, workdir: str | None = None,
                  requeue: bool = False) -> str:
    """The text of the driver job script for ``script`` on batch system ``kind``.

    Parameters
    ----------
    script : Path
        The user's sweep script (it creates an ``Environment`` and calls ``run``).
    kind : str
        A batch system of :data:`pypetx.engine.schedulers.SCHEDULERS` (``"slurm"``, ...).
    args : tuple of str
        Arguments for the script.
    walltime, queue, account, memory, cores
        Resources of the driver job (the workers' come from the jobqueue settings).
    requeue : bool
        On the batch system's warning signal (walltime near, preemption), stop the driver
        as on Ctrl-C and requeue the job, which then resumes (:data:`REQUEUE`); without
        it the driver stops on SIGINT and the user submits again.

    Raises
    ------
    ValueError
        ``requeue`` on a batch system that has no :data:`REQUEUE` record.
    """
    import dask.config

    from pypetx.engine.jobqueue import cluster_class, parse_walltime

    system = scheduler(kind)
    again = REQUEUE.get(kind) if requeue else None
    if requeue and again is None:
        raise ValueError(f"a {kind} driver job cannot requeue itself (pypetx knows how on "
                         f"{', '.join(REQUEUE)}); submit it again once it stopped")
    job_cls = cluster_class(kind).job_cls
    name = job_name or f"pypetx-{script.stem}"
    options: dict[str, Any] = {"cores": cores, "memory": memory, "processes": 1,
                               "name": name, "job_name": name}
    for key, value in (("walltime", walltime), ("queue", queue), ("account", account)):
        if value is not None:
            options[key] = value
    job = job_cls("tcp://unused:0", **options)
    # dask-jobqueue's header already names the job and its resources; what pypetx adds:
    lines = [job.shebang, job.job_header.rstrip()]
    out = output or (system.driver_output.format(name=name) if system.driver_output else None)
    if out:
        lines.append(f"{system.directive} {system.output_option} {out}")
    signal = again.directive if again else system.walltime_signal
    if signal:
        seconds = parse_walltime(walltime or dask.config.get(f"jobqueue.{kind}.walltime"))
        if seconds:
            grace = int(min(120, 0.1 * seconds))
            # a signal before the walltime: the driver stores what finished and stops
            lines.append(f"{system.directive} {signal.format(grace=grace)}")
    if again:
        lines += [f"{system.directive} {d}" for d in again.directives]
    command = " ".join(shlex.quote(a) for a in
                       [python or sys.executable, str(script.resolve()), *args])
    lines += [
        "",
        f"# pypetx submit: the driver of {script.name}. Submit this file again to continue",
        "# a sweep that stopped (walltime, preemption): completed runs are kept.",
        "export DASK_PYPETX__RESUME=true",
        f"export DASK_PYPETX__CLUSTER={kind}",
        f"cd {shlex.quote(workdir or os.getcwd())}",
    ]
    lines += _requeue_lines(again, command) if again else [f"exec {command}"]
    lines.append("")
    return "\n".join(lines)


def _requeue_lines(again: Requeue, command: str) -> list[str]:
    """The driver run in the background of a shell that traps the warning signal."""
    return [
        f"# SIG{again.signal} (the walltime is near, or the job is preempted) reaches this",
        "# shell: the driver stops as on Ctrl-C (what finished is journaled; it consolidates",
        "# the file), then the job requeues itself and, started again, resumes.",
        "requeue=0",
        f"trap 'requeue=1; kill -INT \"$driver\" 2>/dev/null' {again.signal}",
        "# a background command ignores SIGINT unless its subshell restores it",
        f"( trap - INT; exec {command} ) &",
        "driver=$!",
        "status=",
        'until [ -n "$status" ]; do',
        '  wait "$driver"; rc=$?',
        "  # a trapped signal ends wait early (rc > 128) while the driver still runs",
        '  kill -0 "$driver" 2>/dev/null || status=$rc',
        "done",
        'if [ "$requeue" = 1 ]; then',
        f'  echo "pypetx submit: the driver stopped on SIG{again.signal} (exit status $status); '
        f'requeueing the job" >&2',
        f"  {again.command}",
        "fi",
        'exit "$status"',
    ]


def worker_script(kind: str) -> str:
    """The worker job script the driver's cluster would submit (from dask.config)."""
    from pypetx.engine import jobqueue

    try:
        return jobqueue.plan(kind, check_submit=False).job_script()
    except ValueError as exc:  # dask-jobqueue: cores/memory not configured
        return (f"# (not shown: {str(exc).splitlines()[0]} -- set them in "
                f"~/.config/dask/jobqueue.yaml ({kind}: cores, memory) or in the script's "
                f"cluster_options)")


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("script", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--cluster", "kind", type=click.Choice(list(SCHEDULERS)),
              default="slurm", show_default=True, help="Batch system.")
@click.option("--dry-run", is_flag=True, help="Print the driver and worker job scripts; "
              "write the driver script but do not submit it.")
@click.option("--time", "walltime", help="Walltime of the driver job, e.g. 12:00:00.")
@click.option("--partition", "--queue", "queue", help="Partition (SLURM) or queue.")
@click.option("--account", help="Account to charge.")
@click.option("--mem", "memory", default="2GB", show_default=True,
              help="Memory of the driver job.")
@click.option("--job-name", help="Name of the driver job (default pypetx-<script>).")
@click.option("--output", help="Output file of the driver job.")
@click.option("--script-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the driver job script (default <script>.<cluster>.sh).")
@click.option("--requeue", is_flag=True, help="On SLURM's warning signal (walltime near, "
              "preemption): stop the driver, requeue the job, resume when it starts again.")
def submit(script: Path, args: tuple[str, ...], kind: str, dry_run: bool,
           walltime: str | None, queue: str | None, account: str | None, memory: str,
           job_name: str | None, output: str | None, script_file: Path | None,
           requeue: bool) -> None:
    """Run SCRIPT as a batch job; its sweep resumes when the job is submitted again.

    The driver job runs SCRIPT (with ARGS) with resume enabled and cluster=<--cluster>;
    the workers are jobs of their own, configured in ~/.config/dask/jobqueue.yaml or by
    the script's cluster_options. Examples:

        pypetx submit sweep.py --time 12:00:00 --partition short --dry-run

        pypetx submit sweep.py --time 12:00:00      # later, again, to continue

        pypetx submit sweep.py --time 12:00:00 --requeue   # continues by itself
    """
    try:
        text = driver_script(script, kind, args=args, walltime=walltime, queue=queue,
                             account=account, memory=memory, job_name=job_name,
                             output=output, requeue=requeue)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    target = script_file or script.with_name(f"{script.stem}.{kind}.sh")
    target.write_text(text, encoding="utf-8")
    if dry_run:
        click.echo(f"# ---- driver job script ({target}) ----")
        click.echo(text)
        click.echo("# ---- worker job script (one per worker job; address filled in at run time) ----")
        click.echo(worker_script(kind))
        return
    command = shlex.split(scheduler(kind).submit_command)
    try:
        res = subprocess.run([*command, str(target)], capture_output=True, text=True,
                             timeout=120, check=False)
    except FileNotFoundError:
        raise click.ClickException(
            f"{command[0]!r} is not on PATH here: submit from a login node of the cluster "
            f"(the driver script is written to {target})") from None
    if res.returncode != 0:
        raise click.ClickException(f"{command[0]} rejected the driver job: "
                                   f"{(res.stderr or res.stdout).strip()}")
    click.echo(res.stdout.strip())
    click.echo(f"driver job script: {target}; submit it again to continue a stopped sweep")
