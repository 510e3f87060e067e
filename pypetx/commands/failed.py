"""``pypetx failed``: the failed runs of a sweep, their parameters and traceback tails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from pypetx.commands._common import (
    explored_dims,
    group_option,
    open_cube,
    trajectory_names,
)

__all__ = ["failed", "failed_runs"]


def failed_runs(ds: Any) -> list[dict[str, Any]]:
    """One dict per failed run: ``index``, ``params`` (coordinate -> value), ``error``,
    ``traceback``.

    A run counts as failed when its last attempt failed (see :func:`pypetx.failures`).

    Parameters
    ----------
    ds : xarray.Dataset
        A pypetx result cube.

    Returns
    -------
    list of dict
        In run-index order.
    """
    from pypetx.store.status import failures

    table = failures(ds)
    params = [c for c in table.columns if c not in ("error", "traceback")]
    out = []
    for index, row in zip(table.index.tolist(), table.itertuples(index=False, name=None)):
        values = dict(zip(table.columns, row))
        out.append({"index": int(index),
                    "params": {k: _item(values[k]) for k in params},
                    "error": str(values["error"]), "traceback": str(values["traceback"])})
    return out


def _item(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


@click.command("failed")
@click.argument("path", type=click.Path())
@group_option
@click.option("--lines", "-n", default=4, show_default=True, metavar="N",
              help="Last lines of each traceback to show (0: only the error).")
def failed(path: str, group: str | None, lines: int) -> None:
    """List the failed runs: parameter values, error and the end of the traceback.

    Exits with status 0 whether or not runs failed (it is a report, not a check).

    \b
    Example:
      pypetx failed results.h5
      pypetx failed results.h5 --group my_sweep -n 10
    """
    for name in trajectory_names(path, group):
        ds = open_cube(Path(path), name)
        runs = failed_runs(ds)
        total = int(np.prod([ds.sizes[d] for d in explored_dims(ds)]))
        click.echo(f"Trajectory {name}: {len(runs)} of {total} runs failed")
        for run in runs:
            params = ", ".join(f"{k}={_fmt(v)}" for k, v in run["params"].items())
            click.echo(f"\n  run {run['index']} ({params}): {run['error']}")
            tail = [ln for ln in run["traceback"].rstrip().splitlines() if ln.strip()]
            for line in tail[-lines:] if lines > 0 else []:
                click.echo(f"    | {line}")
        if runs:
            click.echo(f"\n  re-run them after a fix with env.rerun_failed(fn) "
                       f"(the file: {path})")


def _fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
