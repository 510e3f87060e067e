"""pypet's notion of equal parameter values (its ``_equal_values`` and
``_values_of_same_type`` hooks, which custom parameters may override)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["same_type", "values_equal"]


def _is_sparse(value: Any) -> bool:
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover - scipy is a dependency
        return False
    return sp.issparse(value)


def values_equal(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are equal element by element: numpy arrays, sparse
    matrices, pandas objects, and sequences and mappings of them (pypet's
    ``nested_equal``)."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    if _is_sparse(a) or _is_sparse(b):
        if not (_is_sparse(a) and _is_sparse(b)) or a.shape != b.shape:
            return False
        return (a != b).nnz == 0
    if hasattr(a, "equals") and hasattr(b, "equals") and type(a) is type(b):
        return bool(a.equals(b))  # pandas objects
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a_arr, b_arr = np.asarray(a), np.asarray(b)
        if a_arr.shape != b_arr.shape:
            return False
        if a_arr.dtype == object or b_arr.dtype == object:
            return all(values_equal(x, y) for x, y in zip(a_arr.ravel(), b_arr.ravel()))
        return bool(np.array_equal(a_arr, b_arr, equal_nan=a_arr.dtype.kind in "fc"))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def same_type(a: Any, b: Any) -> bool:
    """pypet's ``Parameter._values_of_same_type``: the same Python type, and for numpy
    arrays the same dtype and shape."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape
    return True
