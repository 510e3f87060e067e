"""Reading the per-run status of a result cube: failures, error messages, workers.

Format 2 and later (see ``docs/storage.md``) store ``worker`` as an integer code over the
explored dims (names in its ``worker_names`` attribute, ``-1``: no worker) and error
messages and tracebacks only for the failed runs, along the ``failure`` dimension
(``failure_run``, ``failure_error``, ``failure_traceback``; the ``failure`` coordinate is
each failure's C-order cell in the explored dims, CF "compression by gathering"). Format 1
files held ``worker``, ``error`` and ``traceback`` as strings per cell; every function here
reads both.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from pypetx.store.layout import FAILURE_DIM, RUN_DIM, WORKER_NAMES

__all__ = ["error_of", "failure_cells", "failures", "run_status", "traceback_of", "worker_names",
           "workers"]


def _dims(ds: xr.Dataset) -> tuple[str, ...]:
    return tuple(str(d) for d in ds["completed"].dims)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _legacy(ds: xr.Dataset) -> bool:
    return "failure_run" not in ds.variables


def worker_names(ds: xr.Dataset) -> list[str]:
    """The worker names ``ds.worker`` indexes (format 1: the distinct worker strings)."""
    if _legacy(ds):
        return sorted({_text(w) for w in np.asarray(ds["worker"].values).ravel()} - {""})
    return [str(n) for n in json.loads(ds["worker"].attrs.get(WORKER_NAMES, "[]"))]


def workers(ds: xr.Dataset) -> xr.DataArray:
    """The worker of every run as strings over the explored dims (``""``: never ran)."""
    var = ds["worker"]
    if _legacy(ds):
        return var.copy(data=np.vectorize(_text, otypes=[object])(np.asarray(var.values)))
    names = np.array([*worker_names(ds), ""], dtype=object)
    codes = np.asarray(var.values).astype(np.int64)
    out = names[np.where((codes < 0) | (codes >= len(names) - 1), len(names) - 1, codes)]
    return xr.DataArray(out, coords=var.coords, dims=var.dims, name="worker")


def failure_cells(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(cells, runs, errors, tracebacks)`` of the failed runs, in run order: each one's
    C-order cell in the explored dims, run index, error message and traceback."""
    dims = _dims(ds)
    shape = tuple(ds.sizes[d] for d in dims)
    if not _legacy(ds):
        runs = np.asarray(ds["failure_run"].values, np.int64)
        if FAILURE_DIM in ds.coords:
            cells = np.asarray(ds[FAILURE_DIM].values, np.int64)
        else:  # the cells are the runs' positions in the stored exploration
            cells = _cells_of_runs(ds, runs, shape)
        errors = [_text(v) for v in np.asarray(ds["failure_error"].values).ravel()]
        tracebacks = [_text(v) for v in np.asarray(ds["failure_traceback"].values).ravel()]
        return cells, runs, np.array(errors, object), np.array(tracebacks, object)
    # one compute for the four: a lazy sweep (pypetx.env.lazy) runs each block once, not 4x
    ds = ds[[v for v in ("failed", "completed", "error", "traceback") if v in ds]].compute()
    failed = np.asarray(ds["failed"].values, bool) & ~np.asarray(ds["completed"].values, bool)
    cells = np.flatnonzero(failed.ravel())
    runs = (np.asarray(ds[RUN_DIM].values, np.int64)[cells] if dims == (RUN_DIM,)
            else _runs_of_cells(ds, cells, shape))
    order = np.argsort(runs, kind="stable")
    cells, runs = cells[order], runs[order]
    texts = [np.array([_text(v) for v in np.asarray(ds[var].values).ravel()[cells]], object)
             for var in ("error", "traceback")]
    return cells, runs, texts[0], texts[1]


def _positions(ds: xr.Dataset) -> np.ndarray | None:
    """Cell of every run from the stored exploration (``None`` if it cannot be read)."""
    try:
        from pypetx.core.explore import Exploration

        # any stored version; a grid from its axes (and cells), referenced values from ds
        desc = json.loads(ds.attrs["pypetx_exploration"])
        return np.asarray(Exploration.decode(desc, ds).positions, np.int64)
    except Exception:  # noqa: BLE001 - a foreign or damaged attribute: fall back
        return None


def _runs_of_cells(ds: xr.Dataset, cells: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    pos = _positions(ds)
    if pos is None or not len(pos):
        return cells.astype(np.int64)  # a grid never expanded: run i is cell i
    run_of_cell = np.full(int(np.prod(shape)), -1, np.int64)
    run_of_cell[np.ravel_multi_index(pos.T, shape)] = np.arange(len(pos))
    return run_of_cell[cells]


def _cells_of_runs(ds: xr.Dataset, runs: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    pos = _positions(ds)
    if pos is None:
        return runs.astype(np.int64)
    return np.ravel_multi_index(pos[runs].T, shape).astype(np.int64)


def failures(ds: xr.Dataset) -> Any:
    """The failed runs of a result cube as a table.

    Parameters
    ----------
    ds : xarray.Dataset
        A pypetx result cube (``pypetx.open_results``, ``env.dataset``, or plain
        ``xr.open_dataset``), of any format version.

    Returns
    -------
    pandas.DataFrame
        One row per run whose last attempt failed, in run order, indexed by ``run`` (the
        run index); columns: the run's explored parameter values (by coordinate name), then
        ``error`` (one line) and ``traceback``. Empty (with these columns) when no run
        failed.

    Examples
    --------
    >>> bad = pypetx.failures(ds)                      # doctest: +SKIP
    >>> bad.loc[bad.x == 2.0, "error"]                 # doctest: +SKIP
    """
    import pandas as pd

    dims = _dims(ds)
    shape = tuple(ds.sizes[d] for d in dims)
    cells, runs, errors, tracebacks = failure_cells(ds)
    pos = dict(zip(dims, np.unravel_index(cells, shape))) if len(shape) else {}
    columns: dict[str, Any] = {}
    for name, coord in ds.coords.items():
        if coord.ndim != 1 or coord.dims[0] not in pos or name in (RUN_DIM, "run_name"):
            continue
        values = np.asarray(coord.values)[pos[coord.dims[0]]]
        columns[str(name)] = [_text(v) for v in values] if values.dtype.kind in "OSU" else values
    columns["error"] = errors
    columns["traceback"] = tracebacks
    return pd.DataFrame(columns, index=pd.Index(runs, name=RUN_DIM))


def _messages(ds: xr.Dataset, which: str) -> xr.DataArray:
    """``which`` ("error"/"traceback") of every run over the explored dims (``""``: none)."""
    dims = _dims(ds)
    shape = tuple(ds.sizes[d] for d in dims)
    cells, _, errors, tracebacks = failure_cells(ds)
    flat = np.full(int(np.prod(shape)), "", dtype=object)
    flat[cells] = errors if which == "error" else tracebacks
    coords = {k: v for k, v in ds.coords.items() if set(v.dims) <= set(dims)}
    return xr.DataArray(flat.reshape(shape), coords=coords, dims=dims, name=which)


def _select(ds: xr.Dataset, which: str, sel: dict[str, Any]) -> str | xr.DataArray:
    arr = _messages(ds, which)
    if sel:
        arr = arr.sel(sel)
    return str(arr.values.item()) if arr.ndim == 0 else arr


def error_of(ds: xr.Dataset, **sel: Any) -> str | xr.DataArray:
    """The error message (``"Type: message"``, ``""`` if none) of the run at ``sel``.

    ``sel`` selects by coordinate label as :meth:`xarray.Dataset.sel` does; a selection
    of one cell gives a ``str``, a larger one a DataArray of strings over what remains.

    >>> pypetx.store.error_of(ds, x=2.0, y=1.0)        # doctest: +SKIP
    'ValueError: x=2.0 is unstable'
    """
    return _select(ds, "error", sel)


def traceback_of(ds: xr.Dataset, **sel: Any) -> str | xr.DataArray:
    """The traceback (``""`` if none) of the run at ``sel``; see :func:`error_of`."""
    return _select(ds, "traceback", sel)



def run_status(ds: xr.Dataset, cell: dict[str, int], run: int) -> dict[str, Any]:
    """``completed``, ``failed`` (0/1), ``runtime`` (s), ``worker`` and ``error`` of one run
    at the positions ``cell`` (explored dim -> index), reading only what it needs."""
    status = ds[["completed", "failed", "duration", "worker"]].isel(cell).compute()
    out = {"completed": int(status["completed"]), "failed": int(status["failed"]),
           "runtime": float(status["duration"])}
    worker = status["worker"].values.item()
    if _legacy(ds):
        out["worker"] = _text(worker)
        out["error"] = _text(ds["error"].isel(cell).values.item())
        return out
    names = worker_names(ds)
    out["worker"] = names[worker] if 0 <= worker < len(names) else ""
    runs = np.asarray(ds["failure_run"].values, np.int64)
    at = np.flatnonzero(runs == run)
    out["error"] = _text(ds["failure_error"][int(at[0])].values.item()) if len(at) else ""
    return out
