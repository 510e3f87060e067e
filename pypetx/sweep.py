"""Functions first: ``sweep(fn, x=[...], y=[...])`` -> an xarray Dataset.

The trajectory machinery without writing a trajectory: every keyword list becomes an
explored parameter (their cartesian product is run), ``fn`` is called as ``fn(**point,
**constants)``, and what it returns (a scalar, a dict of named values, an xarray
DataArray) becomes variables with one dimension per keyword. With ``lazy=True`` nothing
runs: the Dataset is a Dask graph with one task per block of the grid
(:mod:`pypetx.env.lazy`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pypetx.base.errors import SweepFailed
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


def _check_lists(lists: Mapping[str, Any]) -> None:
    """Refuse keywords that would explore the wrong thing, naming them."""
    for key, values in lists.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable) or (
                getattr(values, "ndim", 1) == 0):
            raise TypeError(
                f"sweep(): {key}={values!r} is not a list of values to explore; give "
                f"{key}=[{values!r}] to explore one value, or pass a fixed value as "
                f"constants={{{key!r}: {values!r}}}")
    leaves: dict[str, str] = {}
    for key in lists:  # fn(**point) is called with the last part of a dotted name
        leaf = key.rpartition(".")[2]
        if leaf in leaves:
            raise ValueError(
                f"sweep(): {leaves[leaf]!r} and {key!r} would both be passed to the "
                f"function as {leaf}=; rename one of them")
        leaves[leaf] = key


def _failed(exc: SweepFailed, env: Any, filename: Any) -> SweepFailed:
    """``SweepFailed`` for ``sweep()``: it carries the Dataset (in memory without a
    filename, whose temporary file is removed), with hints that fit this API."""
    ds = env.dataset
    where = f"stored in {filename}" if filename is not None else "in exc.dataset"
    if filename is None and ds is not None:
        ds = ds.load()
        ds.close()
    failed = sorted(exc.failed or [])
    err = SweepFailed(
        f"{len(failed)} points of {env.trajectory.name!r} failed (runs {failed[:10]}"
        f"{'...' if len(failed) > 10 else ''}); the completed results are {where}: "
        f"pypetx.failures(exc.dataset) lists the errors; on_error='continue' returns the "
        f"Dataset instead of raising", summary=exc.summary, failed=exc.failed)
    err.dataset = ds
    return err


def sweep(fn: Callable[..., Any], *, filename: str | Path | None = None,
          name: str | None = None, constants: Mapping[str, Any] | None = None,
          cluster: Any = None, client: Any = None, executor: Any = None,
          batch_size: int | str = "auto", progress: bool | str = False,
          on_error: str = "raise", overwrite: bool = False, resume: bool = False,
          lazy: bool = False, chunks: Any = None, template: Any = None,
          timeout: float | None = None, **lists: Sequence[Any]):
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
    lazy : bool
        Run nothing: return a Dataset whose result and status variables are dask arrays,
        one task per block of the grid, computed where and when Dask computes them
        (``.compute()``, ``dask.compute``, ``.to_zarr()``, a Client...). Store it with
        :func:`pypetx.save` (crash-safe, resumable). See docs/lazy.md.
    chunks : int, tuple, dict or "auto", optional
        Lazy: points per block along each keyword, in xarray's spelling (``{"x": 10}``;
        keywords left out are one block). Default: the auto batching's size of a task,
        from the time of the probe run.
    template : optional
        Lazy: what one point returns (e.g. ``{"z": 0.0, "trace": np.zeros(100)}``, a
        scalar, or an :class:`xarray.Dataset` of one point's outputs), so that nothing
        runs before compute. Default: point 0 runs once, in the driver, to learn it.
    timeout : float, optional
        Seconds one point may run before it is stopped and recorded as failed
        (default ``pypetx.timeout``: no limit). See docs/failures.md.
    **lists
        Explored values, one keyword per parameter: a list, tuple, range or 1-d array
        (a fixed value goes into ``constants``).

    Returns
    -------
    xarray.Dataset
        One dimension per keyword, plus the per-run status variables.

    Raises
    ------
    SweepFailed
        Some points failed (``on_error="raise"``); its ``dataset`` holds every point,
        the completed ones with their results (``pypetx.failures(exc.dataset)``).

    Examples
    --------
    >>> import pypetx
    >>> ds = pypetx.sweep(lambda x, y: x * y, x=[1, 2, 3], y=[10, 20],
    ...                   cluster="synchronous")
    >>> int(ds.result.sel(x=2, y=20))
    40
    >>> lazy = pypetx.sweep(lambda x, y: x * y, x=[1, 2, 3], y=[10, 20], lazy=True,
    ...                     template=0)
    >>> int(lazy.result.sum().compute())
    180
    """
    if not lists:
        raise ValueError("sweep() needs at least one keyword list to explore, e.g. x=[1, 2]")
    _check_lists(lists)
    # a trajectory name may not start with "_": a private function "_f" gives "f"
    traj = Trajectory(name or getattr(fn, "__name__", "sweep").strip("<>").lstrip("_") or "sweep")
    for key, values in lists.items():
        values = list(values)
        if not values:
            raise ValueError(f"sweep(): {key}= has no values")
        traj.add_parameter(key, _default(values))
    traj.explore(cartesian_product({k: list(v) for k, v in lists.items()}))
    if lazy:
        from pypetx.env.lazy import lazy_dataset  # imports xarray: only when asked

        given = [k for k, v in {"filename": filename, "cluster": cluster, "client": client,
                                "executor": executor, "resume": resume or None,
                                "overwrite": overwrite or None, "timeout": timeout,
                                }.items() if v is not None]
        if given:
            raise ValueError(
                f"sweep(lazy=True) builds a graph that runs where Dask computes it, so "
                f"{', '.join(given)} do not apply: store it with pypetx.save(ds, filename) "
                f"(crash-safe, resumable) and compute it on a Client of your own")
        env = Environment(traj, batch_size=batch_size, on_error=on_error)
        return lazy_dataset(env, fn, (), dict(constants or {}), plain=True, chunks=chunks,
                            template=template)
    with results_file(filename, "sweep") as (path, scratch):
        env = Environment(traj, filename=str(path), cluster=cluster, client=client,
                          executor=executor, batch_size=batch_size, progress=progress,
                          on_error=on_error, overwrite_file=overwrite, resume=resume,
                          timeout=timeout)
        try:
            env._run(fn, (), dict(constants or {}), plain=True)
        except SweepFailed as exc:
            raise _failed(exc, env, None if scratch else filename) from None
        return in_memory(env.dataset) if scratch else env.dataset


@contextmanager
def results_file(filename: str | Path | None, stem: str) -> Iterator[tuple[Path, bool]]:
    """``(path, scratch)``: where a face function stores its results, ``filename``, or
    without one a temporary file (``scratch``), deleted when the block ends: hand back
    :func:`in_memory` of what was stored there."""
    if filename is not None:
        yield Path(filename), False
        return
    tmp = tempfile.mkdtemp(prefix=f"pypetx-{stem}-")
    try:
        yield Path(tmp) / f"{stem}.h5", True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def in_memory(ds: Any) -> Any:
    """``ds`` loaded into memory, its file closed (it may be deleted afterwards)."""
    ds = ds.load()
    ds.close()
    return ds
