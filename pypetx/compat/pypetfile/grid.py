"""Recover grid axes from explored columns: pypet stores the points of a
``cartesian_product`` run by run, not the product that made them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pypetx.core.explore import infer_axes

__all__ = ["grid_axes"]


def grid_axes(columns: Mapping[str, Sequence[Any]]) -> tuple[tuple[str, ...], ...] | None:
    """Axes (slowest first) over which ``columns`` are a complete grid, else ``None``
    (:func:`pypetx.core.explore.infer_axes`).

    Examples
    --------
    >>> grid_axes({"x": [1, 1, 2, 2], "y": [6, 7, 6, 7]})
    (('x',), ('y',))
    >>> grid_axes({"x": [1, 2, 5], "y": [3, 1, 1]}) is None
    True
    """
    return infer_axes(columns)
