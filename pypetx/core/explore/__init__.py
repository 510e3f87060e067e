"""Exploration builders and the :class:`Exploration` table of points.

A builder turns lists of values into a mapping ``name -> one value per run``:

* :func:`cartesian_product` -- every combination (a grid, last axis varies fastest);
* :func:`zip_product` -- equal-length lists taken side by side (no grid);
* :func:`random_sample`, :func:`latin_hypercube`, :func:`sobol` -- points drawn in a box.

:class:`Exploration` is the validated, immutable table the trajectory keeps: the points in
run order, plus grid axes when the points are a cartesian product. This module knows
nothing about the tree; it works on names only.
"""

from __future__ import annotations

from pypetx.core.explore._values import Axes, _json_column, _numeric_array  # noqa: F401 (store)
from pypetx.core.explore.builders import (
    Product,
    cartesian_product,
    find_unique_points,
    latin_hypercube,
    random_sample,
    sobol,
    zip_params,
    zip_product,
)
from pypetx.core.explore.exploration import Exploration

__all__ = [
    "Exploration",
    "Product",
    "cartesian_product",
    "find_unique_points",
    "latin_hypercube",
    "random_sample",
    "sobol",
    "zip_params",
    "zip_product",
]
