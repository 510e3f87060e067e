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

    A run counts as failed when its last attempt failed (``failed`` and not ``completed``).

    Parameters
    ----------
    ds : xarray.Dataset
        A pypetx result cube.

    Returns
    -------
    list of dict
        In run-index order.
    """
    dims = explored_dims(ds)
    status = ds[["completed", "failed", "error", "traceback"]].load()
    mask = np.asarray(status["failed"].values, dtype=bool) & ~np.asarray(
        status["completed"].values, dtype=bool)
    shape = tuple(ds.sizes[d] for d in dims)
    out = []
    for pos in np.argwhere(mask):
        cell = status.isel(dict(zip(dims, (int(p) for p in pos))))
        # the cell's coordinates: dimension coords and zipped/run coordinates alike
        params = {str(k): v.values.item() for k, v in cell.coords.items()
                  if v.ndim == 0 and k not in ("run", "run_name")}
        index = int(cell["run"]) if "run" in cell.coords else int(np.ravel_multi_index(pos, shape))
        out.append({"index": index, "params": params, "error": str(cell["error"].values),
                    "traceback": str(cell["traceback"].values)})
    return sorted(out, key=lambda r: r["index"])


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
