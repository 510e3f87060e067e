"""Worker side of a lazy sweep: one block of the grid is one task that runs its points.

A block task returns every variable of its block at once (results and per-run status, a
dict of numpy arrays); the lazy Dataset's variables are one ``getitem`` per variable per
block on it, the multi-output idiom of ``xarray.map_blocks``. The points run through the
engine's :func:`~pypetx.engine.task.run_batch`, exactly as a stored sweep's batches do.

Kept free of xarray and the store: a worker imports only this, the engine and numpy.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pypetx.base.errors import PypetxError, SweepFailed
from pypetx.engine.task import run_batch

__all__ = ["STATUS", "VLEN_STR", "Output", "SweepBlocks", "TemplateError", "run_block"]

#: Variable-length strings. numpy 2's StringDType: xarray writes it to netCDF4 and Zarr as
#: it is, while an object array (numpy 1: marked as str, h5py's idiom) makes xarray compute
#: its first element (a whole block of the sweep) only to look at its type.
VLEN_STR = (np.dtypes.StringDType() if hasattr(np.dtypes, "StringDType")
            else np.dtype("O", metadata={"element_type": str}))
#: Per-run status variables of a lazy sweep: name -> dtype. ``worker``, ``error`` and
#: ``traceback`` are strings per cell (as format 1 files held them: ``pypetx.failures``
#: and ``pypetx.workers`` read them).
STATUS: dict[str, np.dtype] = {
    "completed": np.dtype(bool),
    "failed": np.dtype(bool),
    "duration": np.dtype("float64"),
    "worker": VLEN_STR,
    "error": VLEN_STR,
    "traceback": VLEN_STR,
}
_STATUS_FILL = {"completed": False, "failed": False, "duration": np.nan,
                "worker": "", "error": "", "traceback": ""}


class TemplateError(PypetxError, ValueError):
    """A run's outputs do not fit the lazy sweep's template: a result the template lacks,
    or a shape or dtype it cannot hold."""


@dataclass(frozen=True)
class Output:
    """One result variable of a lazy sweep, as the probe point or the template gave it."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]  # the result's own (trailing) shape per run
    fill: Any  # what a run without this result holds (NaN, the netCDF int fill, ...)


@dataclass
class SweepBlocks:
    """What every block task of one lazy sweep shares (one key of the graph).

    Attributes
    ----------
    payload : (str, bytes)
        The packed :class:`~pypetx.engine.task.RunSpec` (see ``pack_spec``).
    name : str
        Trajectory name, for messages.
    shape : tuple of int
        Shape of the explored dims (the grid, or ``(n_runs,)``).
    outputs : tuple of Output
        The result variables.
    on_error : {"raise", "continue"}
        A failed run raises at compute time, or is NaN/fill and flagged in ``failed``.
    origin : str
        Where the outputs were learned (``"run 0"`` or ``"the template"``), for messages.
    run_of_cell : numpy.ndarray or None
        Run index of each C-order cell (``-1``: no run) when the runs are not the cells
        in C order (an expanded grid); ``None``: run ``i`` is cell ``i``.
    labels : dict
        Explored dim -> coordinate values along it (grids), to name runs in messages.
    options : dict
        Environment settings ``pypetx.save`` stores the sweep with.
    """

    payload: tuple[str, bytes]
    name: str
    shape: tuple[int, ...]
    outputs: tuple[Output, ...]
    on_error: str = "raise"
    origin: str = "run 0"
    run_of_cell: np.ndarray | None = None
    labels: Mapping[str, list] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    def describe(self, run: int) -> str:
        """``run 7 (x=2, y=20)``: a run and, on a grid, its coordinates."""
        if not self.labels:
            return f"run {run}"
        if self.run_of_cell is None:
            cell = run
        else:
            cell = int(np.flatnonzero(self.run_of_cell == run)[0])
        index = np.unravel_index(cell, self.shape)
        where = ", ".join(f"{dim}={values[int(k)]!r}"
                          for (dim, values), k in zip(self.labels.items(), index))
        return f"run {run} ({where})"


def run_block(sweep: SweepBlocks, where: tuple[tuple[int, int], ...]) -> dict[str, np.ndarray]:
    """Run the points of one block and return all its variables.

    Parameters
    ----------
    sweep : SweepBlocks
        The sweep's shared description.
    where : tuple of (start, stop)
        The block's range along each explored dim.

    Returns
    -------
    dict
        Variable name -> array of the block's shape (plus the result's own shape).

    Raises
    ------
    SweepFailed
        A run failed and ``on_error="raise"``; names the runs and shows the first traceback.
    TemplateError
        A run gave a result the outputs do not hold.
    """
    block = tuple(stop - start for start, stop in where)
    grid = np.indices(block).reshape(len(block), -1)
    cells = np.ravel_multi_index(
        tuple(g + start for g, (start, _) in zip(grid, where)), sweep.shape)
    runs = cells if sweep.run_of_cell is None else sweep.run_of_cell[cells]
    has = np.flatnonzero(runs >= 0)  # cells of an expanded grid may hold no run
    n = len(cells)
    out = {name: np.full(n, _STATUS_FILL[name], dtype) for name, dtype in STATUS.items()}
    for o in sweep.outputs:
        out[o.name] = np.full((n, *o.shape), o.fill, o.dtype)
    if len(has):
        batch = run_batch(sweep.payload, runs[has].astype(np.int64))
        _check_failures(sweep, batch)
        _fill_status(out, batch, has)
        _fill_results(sweep, out, batch, has)
    shapes = {o.name: o.shape for o in sweep.outputs}
    return {name: arr.reshape(block + shapes.get(name, ())) for name, arr in out.items()}


def _check_failures(sweep: SweepBlocks, batch: Any) -> None:
    if sweep.on_error != "raise" or not batch.failed.any():
        return
    rows = np.flatnonzero(batch.failed)
    runs = batch.indices[rows].tolist()
    first = int(rows[0])
    named = ", ".join(sweep.describe(r) for r in runs[:5]) + (", ..." if len(runs) > 5 else "")
    raise SweepFailed(
        f"{len(runs)} run(s) of the lazy sweep {sweep.name!r} failed: {named}; the first "
        f"with {batch.error[first]}\n{batch.traceback[first]}"
        f"(pass on_error='continue' to get NaN/fill there and the runs flagged in 'failed')",
        failed=runs)


def _fill_status(out: dict[str, np.ndarray], batch: Any, at: np.ndarray) -> None:
    out["completed"][at] = batch.completed
    out["failed"][at] = batch.failed
    out["duration"][at] = batch.duration
    out["worker"][at] = batch.worker
    failed = np.flatnonzero(batch.failed)
    if len(failed):
        out["error"][at[failed]] = [batch.error[k] for k in failed]
        out["traceback"][at[failed]] = [batch.traceback[k] for k in failed]


def _fill_results(sweep: SweepBlocks, out: dict[str, np.ndarray], batch: Any,
                  at: np.ndarray) -> None:
    outputs = {o.name: o for o in sweep.outputs}
    for name, values in batch.results.items():
        rows = np.flatnonzero(batch.present[name])
        if not len(rows):
            continue
        o = outputs.get(name)
        if o is None:
            raise TemplateError(
                f"{sweep.describe(int(batch.indices[rows[0]]))} of the lazy sweep "
                f"{sweep.name!r} gave the result {name!r}, which {sweep.origin} did not "
                f"(outputs: {sorted(outputs)}); pass template= with every result")
        target = out[name]
        if isinstance(values, np.ndarray):
            _check(sweep, o, values[rows], batch.indices[rows])
            target[at[rows]] = values[rows]
            continue
        for k in rows.tolist():
            value = values[k]
            if hasattr(value, "dims") and hasattr(value, "values"):  # an xarray.DataArray
                value = value.values
            _check(sweep, o, np.asarray(value)[None], batch.indices[k:k + 1])
            target[at[k]] = value


def _check(sweep: SweepBlocks, o: Output, values: np.ndarray, runs: np.ndarray) -> None:
    """Raise unless the output holds ``values`` (one row per run of ``runs``): their
    shape, and their dtype or at least every value (0.0 and 1.0 in an int output)."""
    if values.shape[1:] != o.shape:
        _mismatch(sweep, o, runs[0], f"shape {values.shape[1:]} {values.dtype}")
    if o.dtype == VLEN_STR:  # strings of any length
        if values.dtype.kind not in "UST":
            _mismatch(sweep, o, runs[0], f"{values.dtype}")
        return
    if np.can_cast(values.dtype, o.dtype, casting="same_kind"):
        return
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            held = values.astype(o.dtype).astype(values.dtype) == values
        except (TypeError, ValueError):  # e.g. strings in a numeric output
            held = np.zeros(values.shape, bool)
    bad = np.flatnonzero(~held.reshape(len(values), -1).all(axis=1))
    if len(bad):
        value = values[bad[0]]
        _mismatch(sweep, o, runs[bad[0]], f"{value.item() if value.ndim == 0 else 'values'}"
                                          f" ({values.dtype})")


def _mismatch(sweep: SweepBlocks, o: Output, run: Any, got: str) -> None:
    raise TemplateError(
        f"{sweep.describe(int(run))} of the lazy sweep {sweep.name!r} gave {o.name!r} as "
        f"{got}; the output, learned from {sweep.origin}, is shape {o.shape} "
        f"{'str' if o.dtype == VLEN_STR else o.dtype} and cannot hold it: pass template= with a "
        f"value that holds every run's (e.g. a float for numbers, a fixed shape), or run "
        f"it eagerly (without lazy=True), where results may be ragged")
