"""``pypetx run``: run a user's script with the cluster chosen on the command line.

The script is not changed: the choice is made through pypetx's ``dask.config`` defaults
(``pypetx.cluster``, ``pypetx.local.n_workers``), which every ``Environment`` and
``sweep`` created without ``cluster=`` reads. A script that passes ``cluster=`` itself
keeps its own choice.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import click

from pypetx.engine.resolve import CLUSTER_NAMES as CLUSTERS  # a new scheduler shows here too

__all__ = ["run", "run_script"]


def run_script(script: str | Path, args: tuple[str, ...] = (), *, cluster: str | None = None,
               workers: int | None = None) -> None:
    """Execute ``script`` as ``__main__`` with pypetx's cluster defaults set.

    Parameters
    ----------
    script : path-like
        A Python file.
    args : tuple of str
        Its command line arguments (``sys.argv[1:]`` inside the script).
    cluster : str, optional
        Default cluster name (``pypetx.cluster``).
    workers : int, optional
        Workers of the embedded local cluster (``pypetx.local.n_workers``).
    """
    import dask.config

    import pypetx.base.config  # noqa: F401 - merges pypetx's defaults before overriding them

    settings: dict[str, object] = {}
    if cluster is not None:
        settings["pypetx.cluster"] = cluster
    if workers is not None:
        settings["pypetx.local.n_workers"] = workers
    script = Path(script)
    argv, path0 = sys.argv[:], sys.path[0] if sys.path else None
    # as `python script.py` does: the script's folder first on sys.path, its own argv
    sys.argv = [str(script), *args]
    sys.path.insert(0, str(script.resolve().parent))
    try:
        with dask.config.set(settings):
            runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = argv
        if sys.path and sys.path[0] == str(script.resolve().parent) and path0 != sys.path[0]:
            sys.path.pop(0)


@click.command("run", context_settings={"ignore_unknown_options": True})
@click.argument("script", type=click.Path(dir_okay=False))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--cluster", type=click.Choice(CLUSTERS), metavar="NAME",
              help=f"Where Environments without cluster= run: {', '.join(CLUSTERS)}.")
@click.option("--workers", "-w", type=click.IntRange(min=1), metavar="N",
              help="Worker processes of the local cluster.")
def run(script: str, args: tuple[str, ...], cluster: str | None, workers: int | None) -> None:
    """Run SCRIPT (a Python file using pypetx) on the chosen cluster.

    Arguments after SCRIPT are passed to it. The script's own cluster= arguments win.

    \b
    Example:
      pypetx run examples/multiply.py --cluster local --workers 4
      pypetx run sweep.py --cluster synchronous -- --small
    """
    if not Path(script).is_file():
        raise click.ClickException(f"no script at {script}")
    if workers is not None and cluster not in (None, "local"):
        # dask-jobqueue clusters are sized by their own settings (jobs, cores per job)
        raise click.ClickException(f"--workers applies to the local cluster; size a {cluster} "
                                   "cluster in its dask-jobqueue configuration")
    try:
        run_script(script, args, cluster=cluster, workers=workers)
    except SystemExit as exc:  # the script called sys.exit(): keep its status
        if exc.code not in (None, 0):
            raise
