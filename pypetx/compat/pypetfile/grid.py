"""Recover grid axes from explored columns: pypet stores the points of a
``cartesian_product`` run by run, not the product that made them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["grid_axes"]


def _same_axis(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Whether two columns (as hashable keys) determine each other: zipped on one axis."""
    return len(set(a)) == len(set(zip(a, b))) == len(set(b))


def _first_change(keys: Sequence[Any]) -> int:
    """How many runs the first value lasts: long for slow axes, 1 for the fastest."""
    for i, key in enumerate(keys):
        if key != keys[0]:
            return i
    return len(keys)


def grid_axes(columns: Mapping[str, Sequence[Any]]) -> tuple[tuple[str, ...], ...] | None:
    """Axes (slowest first) over which ``columns`` are a complete grid, else ``None``.

    Parameters whose values determine each other share an axis (pypet's
    ``cartesian_product`` with combined parameters). The points must hold every
    combination of the axes' values exactly once; in pypet's order (last axis fastest)
    the run index is then the C-order cell index.

    Examples
    --------
    >>> grid_axes({"x": [1, 1, 2, 2], "y": [6, 7, 6, 7]})
    (('x',), ('y',))
    >>> grid_axes({"x": [1, 2, 5], "y": [3, 1, 1]}) is None
    True
    """
    from pypetx.base.errors import ExplorationError
    from pypetx.core.explore import Exploration
    from pypetx.core.explore._values import _value_key

    names = list(columns)
    if not names or not len(columns[names[0]]):
        return None
    keys = {name: [_value_key(v) for v in columns[name]] for name in names}
    axes: list[list[str]] = []
    for name in names:
        for axis in axes:
            if _same_axis(keys[axis[0]], keys[name]):
                axis.append(name)
                break
        else:
            axes.append([name])
    axes.sort(key=lambda axis: -_first_change(keys[axis[0]]))
    candidate = tuple(tuple(axis) for axis in axes)
    try:
        Exploration(columns, candidate)
    except ExplorationError:
        return None
    return candidate
