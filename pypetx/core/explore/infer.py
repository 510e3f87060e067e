"""Finding the grid in per-run columns whose axes nobody recorded: pypet stores the points
of a ``cartesian_product`` run by run, not the product that made them.

Only for such runs (a pypet file being imported); an exploration pypetx stored keeps its
axes and is rebuilt from them (:meth:`Exploration.decode
<pypetx.core.explore.Exploration.decode>`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pypetx.base.errors import ExplorationError
from pypetx.core.explore._values import Axes, _group_rows
from pypetx.core.explore.exploration import Exploration

__all__ = ["infer_axes", "infer_exploration"]


def infer_axes(columns: Mapping[str, Sequence[Any]]) -> Axes | None:
    """Axes (slowest first) over which ``columns`` are a complete grid, else ``None``.

    Parameters whose values determine each other share an axis (pypet's
    ``cartesian_product`` with combined parameters). The points must hold every
    combination of the axes' values exactly once; in pypet's order (last axis fastest)
    the run index is then the C-order cell index.

    Examples
    --------
    >>> infer_axes({"x": [1, 1, 2, 2], "y": [6, 7, 6, 7]})
    (('x',), ('y',))
    >>> infer_axes({"x": [1, 2, 5], "y": [3, 1, 1]}) is None
    True
    """
    if not _has_runs(columns):
        return None
    try:
        return infer_exploration(columns).axes
    except ExplorationError:  # e.g. lengths differ: no grid either
        return None


def infer_exploration(columns: Mapping[str, Sequence[Any]]) -> Exploration:
    """The exploration of per-run ``columns``: a grid over the axes :func:`infer_axes`
    finds when there is one, else a run layout."""
    names = list(columns)
    if not _has_runs(columns):
        return Exploration(columns)  # it explains what is missing
    n = len(columns[names[0]])
    groups = {}
    for name in names:
        codes, firsts = _group_rows([columns[name]], n)
        groups[name] = (codes, len(firsts))
    axes: list[list[str]] = []
    for name in names:
        for axis in axes:
            if _same_axis(groups[axis[0]], groups[name]):
                axis.append(name)
                break
        else:
            axes.append([name])
    axes.sort(key=lambda axis: -_first_change(groups[axis[0]][0]))
    return Exploration(columns, tuple(tuple(axis) for axis in axes), strict=False)


def _has_runs(columns: Mapping[str, Sequence[Any]]) -> bool:
    return bool(columns) and all(len(values) for values in columns.values())


def _same_axis(a: tuple[np.ndarray, int], b: tuple[np.ndarray, int]) -> bool:
    """Whether two columns (as group codes) determine each other: zipped on one axis."""
    (codes_a, n_a), (codes_b, n_b) = a, b
    if n_a != n_b or len(codes_a) != len(codes_b):
        return False
    pairs = len(np.unique(codes_a * n_b + codes_b))
    return pairs == n_a


def _first_change(codes: np.ndarray) -> int:
    """How many runs the first value lasts: long for slow axes, 1 for the fastest."""
    change = np.flatnonzero(codes != codes[0])
    return int(change[0]) if change.size else len(codes)
