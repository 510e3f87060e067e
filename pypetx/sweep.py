"""Functions first: ``sweep(fn, x=[...], y=[...])`` -> an xarray Dataset.

The trajectory machinery without writing a trajectory: every keyword list becomes an
explored parameter (their cartesian product is run), ``fn`` is called as ``fn(**point,
**constants)``, and what it returns (a scalar, a dict of named values, an xarray
DataArray) becomes variables with one dimension per keyword.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pypetx.compat.environment import Environment
from pypetx.core.explore import cartesian_product
from pypetx.compat.trajectory import Trajectory


def _default(values: Sequence[Any]) -> Any:
    # The first value fixes the parameter's type; a float anywhere makes it a float
    # parameter so that sweep(fn, x=[1, 2.5]) is not refused as a type change.
    first = values[0]
    if type(first) is int and any(type(v) is float for v in values):
        return float(first)
    return first


def sweep(fn: Callable[..., Any], *, filename: str | Path | None = None,
          name: str | None = None, constants: Mapping[str, Any] | None = None,
          cluster: Any = None, client: Any = None, executor: Any = None,
          batch_size: int | str = "auto", progress: bool | str = False,
          on_error: str = "raise", overwrite: bool = False, resume: bool = False,
          **lists: Sequence[Any]):
    """Run ``fn`` on the cartesian product of the keyword lists; return the Dataset.

    Parameters
    ----------
    fn : callable
        Called as ``fn(**point, **constants)``; returns a scalar, a dict of named
        values or an :class:`xarray.DataArray` (its dims are kept). A scalar or array
        becomes the variable named after the function (``result`` for a lambda).
    filename : path, optional
        Store the results there (HDF5, or Zarr with a ``.zarr`` suffix) and return the
        lazily opened Dataset; without it the results are returned in memory.
    name : str, optional
        Trajectory (group) name; defaults to the function's name.
    constants : mapping, optional
        Fixed keyword arguments passed to every call.
    cluster, client, executor, batch_size, progress, on_error
        As for :class:`~pypetx.env.environment.Environment`.
    overwrite, resume : bool
        With ``filename``: replace a stored sweep of the same name, or continue it
        (only the missing points run).
    **lists
        Explored values, one keyword per parameter.

    Returns
    -------
    xarray.Dataset
        One dimension per keyword, plus the per-run status variables.

    Examples
    --------
    >>> import pypetx
    >>> ds = pypetx.sweep(lambda x, y: x * y, x=[1, 2, 3], y=[10, 20],
    ...                   cluster="synchronous")
    >>> int(ds.result.sel(x=2, y=20))
    40
    """
    if not lists:
        raise ValueError("sweep() needs at least one keyword list to explore, e.g. x=[1, 2]")
    traj = Trajectory(name or getattr(fn, "__name__", "sweep").strip("<>") or "sweep")
    for key, values in lists.items():
        values = list(values)
        if not values:
            raise ValueError(f"sweep(): {key}= has no values")
        traj.add_parameter(key, _default(values))
    traj.explore(cartesian_product({k: list(v) for k, v in lists.items()}))
    tmp = None
    if filename is None:
        tmp = tempfile.mkdtemp(prefix="pypetx-sweep-")
        filename = Path(tmp) / "sweep.h5"
    try:
        env = Environment(traj, filename=str(filename), cluster=cluster, client=client,
                          executor=executor, batch_size=batch_size, progress=progress,
                          on_error=on_error, overwrite_file=overwrite, resume=resume)
        env._run(fn, (), dict(constants or {}), plain=True)
        ds = env.dataset
        if tmp is not None:
            ds = ds.load()
            ds.close()
        return ds
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
