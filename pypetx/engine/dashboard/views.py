"""The map's columns: a grid's points as cells over two chosen axes, a run layout's as a
scatter over two chosen parameters. Pure numpy (vectorised over runs and cells).

A grid map shows two of the explored axes; the other axes are summarised (a cell then
holds every point that shares its two values, and is coloured by the most telling state
among them: failed, else running, else pending, else done). An axis with more values than
:data:`MAX_BINS` is binned, and a single-axis sweep is folded into rows, so a map never
has more than ``MAX_BINS ** 2`` cells whatever the sweep's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pypetx.engine.dashboard.state import (
    DONE,
    FAILED,
    PENDING,
    RUNNING,
    SweepState,
    format_value,
)

__all__ = ["MAX_BINS", "MAX_POINTS", "MapData", "grid_map", "scatter_map", "value_column"]

#: Cells per map axis at most (an axis with more values is binned).
MAX_BINS = 100
#: Points of a run-layout scatter at most (beyond: every k-th point).
MAX_POINTS = 100_000
#: Columns that depend only on the choice of axes, not on the sweep's progress.
STATIC = frozenset({"x", "y", "width", "height", "label", "n_points"})


def value_column(name: str) -> str:
    """The column holding the per-cell mean of ``name`` (``duration`` or a result)."""
    return f"v_{name}"


@dataclass
class MapData:
    """What one view of the map draws: its columns and how to label its axes.

    ``key`` names the rows: two MapData with the same key have the same rows and static
    columns, so a live page only sends the columns that changed.
    """

    key: tuple
    columns: dict[str, Any]
    x_title: str
    y_title: str
    x_ticks: dict[int, str] = field(default_factory=dict)
    y_ticks: dict[int, str] = field(default_factory=dict)
    note: str = ""


def _bin_labels(labels: list[str], n_bins: int) -> list[str]:
    """The label of each bin when ``len(labels)`` values fall into ``n_bins`` bins."""
    n = len(labels)
    if n_bins >= n:
        return list(labels)
    out = []
    for j in range(n_bins):
        lo, hi = -(-j * n // n_bins), -(-(j + 1) * n // n_bins) - 1
        out.append(labels[lo] if lo == hi else f"{labels[lo]} .. {labels[hi]}")
    return out


def _ticks(labels: list[str], most: int = 12) -> dict[int, str]:
    step = max(1, math.ceil(len(labels) / most))
    return {i: labels[i] for i in range(0, len(labels), step)}


def _dynamic(state: SweepState, codes: np.ndarray, workers: np.ndarray, cid: np.ndarray,
             n_cells: int, rows: np.ndarray) -> dict[str, Any]:
    """Per-cell columns that change as runs finish, for the cells ``rows``.

    ``codes``/``workers`` are per run, ``cid`` each run's cell (-1: not shown).
    """
    shown = cid >= 0
    c, k, w = cid[shown], codes[shown], workers[shown]
    counts = np.bincount(c * 4 + k, minlength=n_cells * 4).reshape(n_cells, 4)[rows]
    cell_code = np.select([counts[:, FAILED] > 0, counts[:, RUNNING] > 0,
                           counts[:, PENDING] > 0], [FAILED, RUNNING, PENDING], DONE)
    cols: dict[str, Any] = {  # numbers only (sent as binary): names are looked up in JS
        "code": cell_code.astype(np.int8),
        "n_pending": counts[:, PENDING], "n_running": counts[:, RUNNING],
        "n_done": counts[:, DONE], "n_failed": counts[:, FAILED],
    }
    finished = (k == DONE) | (k == FAILED)
    for name in state.value_names():
        values = state.values(name)[shown]
        # a failed run's duration says what it cost; its results say nothing
        ok = np.isfinite(values) & (finished if name == "duration" else k == DONE)
        total = np.bincount(c[ok], weights=values[ok], minlength=n_cells)[rows]
        n = np.bincount(c[ok], minlength=n_cells)[rows]
        cols[value_column(name)] = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    # the worker of the cell's last run that has one (one run per cell: its own), as a
    # code into ``state.workers``
    rep = np.full(n_cells, -1, np.int32)
    has = w >= 0
    rep[c[has]] = w[has]
    cols["worker"] = rep[rows]
    error = np.full(n_cells, "", dtype=object)
    if state.errors:  # each cell shows the error of its first failed run
        runs = np.sort(np.fromiter(state.errors, np.int64, len(state.errors)))
        runs = runs[runs < len(cid)]
        where = cid[runs]
        keep = (where >= 0) & (codes[runs] == FAILED)
        runs, where = runs[keep], where[keep]
        cells, first = np.unique(where, return_index=True)
        for cell, r in zip(cells.tolist(), runs[first].tolist()):
            error[cell] = state.errors[r]
    cols["error"] = error[rows]
    return cols


def grid_map(state: SweepState, codes: np.ndarray, workers: np.ndarray, x_axis: int = 0,
             y_axis: int | None = None, *, max_bins: int = MAX_BINS) -> MapData:
    """A grid's cells over axes ``x_axis`` and ``y_axis`` (the others summarised).

    Parameters
    ----------
    state : SweepState
        A grid sweep.
    codes, workers : numpy.ndarray
        Every run's state code and worker code (:meth:`SweepState.running`).
    x_axis, y_axis : int
        Grid axes (slowest first) along the map's x and y; ``y_axis`` ``None`` (a
        single-axis grid) folds the axis into rows.
    """
    d = state.definition
    assert d.axes is not None
    shape = d.shape
    pos = state.cache.get("positions")
    if pos is None:
        cells = np.arange(d.n_runs, dtype=np.int64) if d.cells is None else d.cells
        pos = state.cache["positions"] = np.unravel_index(cells, shape)
    if y_axis is None or len(shape) == 1:
        return _folded(state, codes, workers, pos[x_axis], d.axes[x_axis], max_bins)
    (xt, xl), (yt, yl) = d.axes[x_axis], d.axes[y_axis]
    nbx, nby = min(len(xl), max_bins), min(len(yl), max_bins)
    bx = pos[x_axis] * nbx // len(xl)
    by = pos[y_axis] * nby // len(yl)
    cid = by * nbx + bx
    n_cells = nbx * nby
    total = np.bincount(cid, minlength=n_cells)
    rows = np.flatnonzero(total)
    xb, yb = _bin_labels(xl, nbx), _bin_labels(yl, nby)
    cx, cy = rows % nbx, rows // nbx
    others = [t for k, (t, _) in enumerate(d.axes) if k not in (x_axis, y_axis)]
    label = state.cache.get(("grid", x_axis, y_axis, max_bins))
    if label is None:  # the same for every redraw of these axes
        label = state.cache[("grid", x_axis, y_axis, max_bins)] = [
            f"{xt}={xb[i]}, {yt}={yb[j]}" for i, j in zip(cx.tolist(), cy.tolist())]
    cols = {"x": cx.astype(np.float64), "y": cy.astype(np.float64),
            "width": np.ones(len(rows)), "height": np.ones(len(rows)),
            "label": label, "n_points": total[rows]}
    cols.update(_dynamic(state, codes, workers, cid, n_cells, rows))
    notes = []
    if others:
        notes.append(f"{', '.join(others)} summarised: a cell holds every point with its "
                     f"{xt} and {yt}")
    for t, labels, nb in ((xt, xl, nbx), (yt, yl, nby)):
        if nb < len(labels):
            notes.append(f"{len(labels)} values of {t} in {nb} bins")
    return MapData(("grid", x_axis, y_axis, max_bins), cols, xt, yt,
                   _ticks(xb), _ticks(yb), "; ".join(notes))


def _folded(state: SweepState, codes: np.ndarray, workers: np.ndarray, pos: np.ndarray,
            axis: tuple[str, list[str]], max_bins: int) -> MapData:
    """A single axis as rows of ``width`` values (binned further beyond ``max_bins``)."""
    title, labels = axis
    n = len(labels)
    width = n if n <= max_bins else math.ceil(math.sqrt(n))
    n_rows = math.ceil(n / width)
    nbx, nby = min(width, max_bins), min(n_rows, max_bins)
    bx = (pos % width) * nbx // width
    by = (pos // width) * nby // n_rows
    cid = by * nbx + bx
    n_cells = nbx * nby
    total = np.bincount(cid, minlength=n_cells)
    rows = np.flatnonzero(total)
    label = state.cache.get(("folded", max_bins))
    if label is None:
        lo = np.full(n_cells, n, np.int64)
        hi = np.full(n_cells, -1, np.int64)
        np.minimum.at(lo, cid, pos)
        np.maximum.at(hi, cid, pos)
        label = state.cache[("folded", max_bins)] = [
            f"{title}={labels[a]}" if a == b else f"{title}={labels[a]} .. {labels[b]}"
            for a, b in zip(lo[rows].tolist(), hi[rows].tolist())]
    cols = {"x": (rows % nbx).astype(np.float64), "y": (rows // nbx).astype(np.float64),
            "width": np.ones(len(rows)), "height": np.ones(len(rows)),
            "label": label, "n_points": total[rows]}
    cols.update(_dynamic(state, codes, workers, cid, n_cells, rows))
    if n_rows == 1:
        return MapData(("folded", max_bins), cols, title, "", _ticks(labels), {0: ""})
    note = f"{n} values of {title} in rows of {width}"
    if nbx < width or nby < n_rows:
        note += f", binned into {nbx} x {nby} cells"
    return MapData(("folded", max_bins), cols, f"{title} (along a row)",
                   f"{title} (row of {width})", {}, {}, note)


def scatter_map(state: SweepState, codes: np.ndarray, workers: np.ndarray, *,
                max_points: int = MAX_POINTS) -> MapData:
    """A run layout's points, one per run (every k-th beyond ``max_points``).

    The columns ``p_<name>`` hold every parameter, so the page switches the axes without
    new data; ``x`` and ``y`` are the first two.
    """
    d = state.definition
    assert d.params is not None
    step = max(1, math.ceil(d.n_runs / max_points))
    rows = np.arange(0, d.n_runs, step)
    names = list(d.params)
    cols: dict[str, Any] = {f"p_{k}": d.params[k][rows] for k in names}
    cols["x"] = cols[f"p_{names[0]}"]
    cols["y"] = cols[f"p_{names[1]}"] if len(names) > 1 else np.zeros(len(rows))
    cols["width"] = cols["height"] = np.ones(len(rows))

    def text(k: str, v: float) -> str:
        cats = d.categories.get(k)
        return cats[int(v)] if cats is not None else format_value(float(v))

    label = state.cache.get(("runs", step))
    if label is None:
        per = [[text(k, v) for v in d.params[k][rows].tolist()] for k in names]
        label = state.cache[("runs", step)] = [
            f"run {r}: " + ", ".join(f"{k}={p[i]}" for k, p in zip(names, per))
            for i, r in enumerate(rows.tolist())]
    cols["label"] = label
    cols["n_points"] = np.ones(len(rows), np.int64)
    cid = np.full(d.n_runs, -1, np.int64)
    cid[rows] = np.arange(len(rows))
    cols.update(_dynamic(state, codes, workers, cid, len(rows), np.arange(len(rows))))
    note = f"every {step}th of {d.n_runs} points" if step > 1 else ""
    return MapData(("runs", step), cols, names[0], names[1] if len(names) > 1 else "",
                   note=note)
