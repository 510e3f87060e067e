"""Growing an exploration (pypet's ``f_expand``): old runs keep their indices, new ones
follow; two grids over the same axes merge from their axis values (no per-run walk).

Functions of explorations (their class passed in), for
:meth:`Exploration.expand <pypetx.core.explore.Exploration.expand>`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pypetx.base.errors import ExplorationError
from pypetx.core.explore._values import Axes, _group_rows

__all__ = ["expand", "from_mapping"]

#: ``_merge_grids`` could not decide from the axes alone.
_UNDECIDED = object()


def expand(cls: type, old: Any, new_columns: Mapping[str, Sequence] | Any,
           axes: Axes | None = None) -> Any:
    """``old`` with the points of ``new_columns`` appended (see ``Exploration.expand``).

    Parameters
    ----------
    cls : type
        The exploration class (``new_columns`` of this class is an exploration).
    old : Exploration
    new_columns : mapping of str to sequence, or Exploration
    axes : tuple of tuple of str, optional
        Axes of the new points when ``new_columns`` is a mapping.

    Raises
    ------
    ExplorationError
        ``new_columns`` names other parameters than ``old``.
    """
    names = old.names
    given = list(new_columns.names if isinstance(new_columns, cls) else new_columns)
    if set(given) != set(names) or len(given) != len(names):
        missing = [n for n in names if n not in given]
        extra = [n for n in given if n not in names]
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"not explored before: {', '.join(extra)}")
        raise ExplorationError(
            "expand needs new values for exactly the explored parameters "
            f"({', '.join(names)}); " + "; ".join(parts)
        )
    if isinstance(new_columns, cls):
        new = new_columns
    else:
        new = from_mapping(cls, new_columns, names, axes)
    if old.axes is not None and new.axes is not None:
        merged = _merge_grids(cls, old, new)
        if merged is not _UNDECIDED:
            return merged if merged is not None else _append_runs(cls, old, new, None)
    # the old grid's axes when old and new points together are a grid over them
    return _append_runs(cls, old, new, old.axes)


def from_mapping(cls: type, columns: Mapping[str, Sequence], names: Sequence[str],
                 axes: Axes | None) -> Any:
    """The exploration of ``columns`` (in the order ``names``): from the axis values when
    it is an unchanged :class:`~pypetx.core.explore.Product` over ``axes``, else per run.

    Axes that come from a product rather than from ``axes`` need not hold: points that are
    no grid over them (a value repeats along an axis) are a run layout, as pypet, which
    stores runs, explores them.
    """
    grid = getattr(columns, "grid", None)
    source = grid() if callable(grid) else None
    strict = axes is not None
    if axes is None:
        axes = getattr(columns, "axes", None)
    if source is not None and (axes is None or tuple(map(tuple, axes)) == source[0]):
        return cls.from_grid(source[0], source[1], names=names, strict=strict)
    return cls({name: columns[name] for name in names}, axes, strict=strict)


def _append_runs(cls: type, old: Any, new: Any, axes: Axes | None) -> Any:
    """Old runs then new runs, checked from their per-run values: a grid over ``axes``
    when they are one, else a run layout."""
    merged = {name: old.column(name) + new.column(name) for name in old.names}
    return cls(merged, axes, strict=False)


def _merge_grids(cls: type, old: Any, new: Any) -> Any:
    """Old then new grid as one grid over the old grid's axes, from the axis values;
    ``None`` when together they are not a complete grid; ``_UNDECIDED`` when the axes
    differ (the per-run path decides)."""
    by_names = {frozenset(axis): j for j, axis in enumerate(new.axes)}
    matched = [by_names.get(frozenset(axis)) for axis in old.axes]
    if len(new.axes) != len(old.axes) or None in matched:
        return _UNDECIDED
    old_positions = np.unravel_index(old.cells(), old.shape)
    new_positions = np.unravel_index(new.cells(), new.shape)
    shape: list[int] = []
    axis_vals: dict[str, tuple] = {}
    old_pos, new_pos = [], []
    disjoint = False
    for k, axis in enumerate(old.axes):
        m_old = old.shape[k]
        old_vals, new_vals = old.axis_values(k), new.axis_values(matched[k])
        rows = [old_vals[name] + new_vals[name] for name in axis]
        groups, firsts = _group_rows(rows, len(rows[0]))
        if not np.array_equal(groups[:m_old], np.arange(m_old)):
            return _UNDECIDED  # old axis values not distinct by this equality
        to_union = groups[m_old:]
        # Two boxes of cells are disjoint when they are on one axis.
        disjoint = disjoint or bool((to_union >= m_old).all())
        shape.append(len(firsts))
        keep = firsts.tolist()
        for name, row in zip(axis, rows):
            axis_vals[name] = tuple(row[i] for i in keep)
        old_pos.append(old_positions[k])
        new_pos.append(to_union[new_positions[matched[k]]])
    if not disjoint or old.n_runs + new.n_runs != math.prod(shape):
        return None  # overlapping or incomplete: the union is no grid
    cells = np.concatenate([np.ravel_multi_index(old_pos, shape),
                            np.ravel_multi_index(new_pos, shape)]).astype(np.int64)
    if np.array_equal(cells, np.arange(len(cells))):
        cells = None  # grown along the slowest axis: still C order
    return cls._grid(old.names, old.axes, axis_vals, cells)
