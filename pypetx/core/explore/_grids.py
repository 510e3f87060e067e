"""Recognising a grid in per-run columns (the axes checked, the C-order fast path, the
general grouping, and why columns are not a grid), for :mod:`pypetx.core.explore.exploration`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from pypetx.base.errors import ExplorationError
from pypetx.core.explore._values import Axes, _group_rows, _numeric_array


class _NotAGrid(ExplorationError):
    """The columns are not a complete grid over the requested axes."""


def _check_axes(axes: Axes, names: Sequence[str]) -> Axes:
    """``axes`` normalised to tuples of names; each of ``names`` in exactly one axis."""
    norm = tuple((axis,) if isinstance(axis, str) else tuple(axis) for axis in axes)
    flat = [name for axis in norm for name in axis]
    unknown = [name for name in flat if name not in names]
    if unknown:
        raise ExplorationError(
            f"axes name {', '.join(unknown)}, which is not explored "
            f"(explored: {', '.join(names)})"
        )
    repeated = sorted({name for name in flat if flat.count(name) > 1})
    if repeated:
        raise ExplorationError(f"{', '.join(repeated)} appears in more than one axis")
    missing = [name for name in names if name not in flat]
    if missing:
        raise ExplorationError(
            f"{', '.join(missing)} is explored but in no axis; put every explored "
            "parameter in exactly one axis, or use axes=None for a run layout"
        )
    if any(not axis for axis in norm):
        raise ExplorationError("an axis is empty; every axis needs at least one name")
    return norm


def _c_order_grid(columns: Mapping[str, Sequence], names: Sequence[str], axes: Axes,
                  n: int) -> tuple[tuple[int, ...], tuple[list[int], ...]] | None:
    """Shape and the first run of each axis value when the columns are numeric and a
    C-order grid of distinct axis values (what :func:`cartesian_product` gives), checked
    with numpy; ``None`` otherwise (the general path decides)."""
    arrays = {}
    for name in names:
        arr = _numeric_array(columns[name])
        if arr is None:
            return None
        arrays[name] = arr
    # In C order the first value of axis k repeats for inner_k runs (unless the axis
    # has one value): that gives the candidate shape, which is then checked in full.
    lengths = []
    for axis in axes:
        arr = arrays[axis[0]]
        change = np.flatnonzero(arr != arr[0])
        lengths.append(int(change[0]) if change.size else None)
    shape = [1] * len(axes)
    outer = n
    for k, length in enumerate(lengths):
        if length is None:
            continue
        if length == 0 or outer % length:  # NaN first (never equal), or no C order
            return None
        shape[k], outer = outer // length, length
    if outer != 1:
        return None
    firsts: list[list[int]] = []
    inner = n
    for k, axis in enumerate(axes):
        size = shape[k]
        inner //= size
        distinct = False
        for name in axis:
            arr = arrays[name]
            values = arr[: size * inner : inner]
            expected = np.tile(np.repeat(values, inner), n // (size * inner))
            if not np.array_equal(arr, expected):
                return None
            distinct = distinct or len(np.unique(values)) == size
        if not distinct:
            return None  # repeated axis values: the general path explains
        firsts.append(list(range(0, size * inner, inner)))
    return tuple(shape), tuple(firsts)


def _grid_positions(columns: Mapping[str, Sequence], axes: Axes,
                   n: int) -> tuple[np.ndarray, tuple[list[int], ...]]:
    """Per-run axis indices, and for each axis the first run of each of its values."""
    positions = np.empty((n, len(axes)), dtype=np.int64)
    axis_runs = []
    for k, axis in enumerate(axes):
        groups, firsts = _group_rows([columns[name] for name in axis], n)
        positions[:, k] = groups
        axis_runs.append(firsts.tolist())
    shape = tuple(len(firsts) for firsts in axis_runs)
    if math.prod(shape) != n:
        raise _NotAGrid(_grid_problem(axes, positions, shape, n))
    if n:
        cells = np.ravel_multi_index(positions.T, shape)
        if np.bincount(cells, minlength=n).max() > 1:
            raise _NotAGrid(_grid_problem(axes, positions, shape, n))
    return positions, tuple(axis_runs)


def _grid_problem(axes: Axes, positions: np.ndarray, shape: tuple[int, ...], n: int) -> str:
    """Explain why the columns are not a grid over the axes."""
    axes_text = ", ".join("(" + ", ".join(axis) + ")" for axis in axes)
    cells = np.ravel_multi_index(positions.T, shape)
    values, counts = np.unique(cells, return_counts=True)
    if (counts > 1).any():
        run = int(np.flatnonzero(cells == values[counts > 1][0])[0])
        reason = (
            f"the point of run {run} occurs {int(counts.max())} times "
            "(repeated values along an axis cannot be grid cells)"
        )
    else:
        size = math.prod(shape)
        reason = f"{size - n} of the {size} grid points are missing"
    return (
        f"explored values are not a grid over the axes {axes_text}: {reason}; "
        "explore them without axes (a run layout) or complete the grid"
    )


def _is_permutation(cells: np.ndarray) -> bool:
    """Whether ``cells`` holds each of ``0..len(cells)-1`` once."""
    n = len(cells)
    if not n or cells.min() < 0 or cells.max() >= n:
        return False
    return bool((np.bincount(cells, minlength=n) == 1).all())


def _first_appearance_order(axes: Axes, vals: Mapping[str, tuple], sizes: tuple[int, ...],
                            cells: np.ndarray) -> tuple[dict[str, tuple], np.ndarray | None]:
    """Axis values reordered by first appearance among the runs, and the cells in that
    order (``None`` when that is C order)."""
    positions = list(np.unravel_index(cells, sizes))
    out = dict(vals)
    for k, axis in enumerate(axes):
        _, first = np.unique(positions[k], return_index=True)
        order = np.argsort(first, kind="stable")
        if np.array_equal(order, np.arange(sizes[k])):
            continue
        rank = np.empty(sizes[k], dtype=np.int64)
        rank[order] = np.arange(sizes[k], dtype=np.int64)
        positions[k] = rank[positions[k]]
        keep = order.tolist()
        for name in axis:
            out[name] = tuple(vals[name][i] for i in keep)
    cells = np.ravel_multi_index(positions, sizes).astype(np.int64)
    return out, None if np.array_equal(cells, np.arange(len(cells))) else cells
