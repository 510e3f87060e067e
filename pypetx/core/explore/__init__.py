"""Exploration builders and the :class:`Exploration` table of points.

A builder turns lists of values into a mapping ``name -> one value per run``:

* :func:`cartesian_product` -- every combination (a grid, last axis varies fastest);
* :func:`zip_product` -- equal-length lists taken side by side (no grid);
* :func:`random_sample`, :func:`latin_hypercube`, :func:`sobol` -- points drawn in a box.

:class:`Exploration` is the validated, immutable table the trajectory keeps: the points in
run order, plus grid axes when the points are a cartesian product. Its stored form is
:mod:`pypetx.core.explore.codec` (``Exploration.encode`` / ``Exploration.decode``), the one
codec every writer and reader of explorations uses. This package knows nothing about the
tree; it works on names only.

:func:`numeric_array` is the exactness gate of the vectorised paths, for code that compares
explored values the way explorations do (the store's resume check).
"""

from __future__ import annotations

from pypetx.core.explore._values import Axes
from pypetx.core.explore._values import _numeric_array as numeric_array
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
from pypetx.core.explore.infer import infer_axes, infer_exploration

__all__ = [
    "Axes",
    "Exploration",
    "Product",
    "cartesian_product",
    "find_unique_points",
    "infer_axes",
    "infer_exploration",
    "latin_hypercube",
    "numeric_array",
    "random_sample",
    "sobol",
    "zip_params",
    "zip_product",
]
