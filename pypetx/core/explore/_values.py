"""Value helpers of the exploration code: keys, numeric codes, grouping, JSON columns."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from pypetx.base.errors import ExplorationError


Axes = tuple[tuple[str, ...], ...]

# --------------------------------------------------------------------------- helpers


def _as_value_list(name: str, values: Any) -> list:
    """The values of one parameter as a list, refusing a lone string or scalar."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise TypeError(
            f"{name}: expected a sequence of values to explore, got "
            f"{type(values).__name__} {values!r}; wrap a single value in a list: [{values!r}]"
        )
    return list(values)


def _check_lengths(columns: Mapping[str, list], what: str = "explored parameters") -> int:
    """Return the common length of ``columns``; raise if one is empty or lengths differ."""
    for name, values in columns.items():
        if len(values) == 0:
            raise ExplorationError(f"{name} has no values; give at least one value to explore")
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name} has {n} values" for name, n in lengths.items())
        raise ExplorationError(f"{what} have different lengths: {detail}")
    return next(iter(lengths.values()))


def _value_key(value: Any) -> Hashable:
    """A hashable stand-in for ``value``, so that equal values give equal keys.

    Numpy arrays compare by dtype, shape and bytes; lists, tuples and dicts element-wise;
    NaN equals NaN (two runs at NaN are the same point).
    """
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            return ("ndarray-object", value.shape, _value_key(value.tolist()))
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return ("nan",)
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_value_key(v) for v in value))
    if isinstance(value, Mapping):
        return ("mapping", tuple((_value_key(k), _value_key(v)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        # Unhashable objects (DataFrames, sparse matrices, ...) are only equal to themselves.
        return ("object-id", id(value))
    return value


def _to_json(name: str, value: Any) -> Any:
    """``value`` as plain JSON types (arrays become nested lists, tuples lists)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_to_json(name, v) for v in value]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _to_json(name, v) for k, v in value.items()}
    raise TypeError(
        f"{name}: explored value of type {type(value).__name__} cannot be written as JSON; "
        "store the exploration with pypetx.core.kinds.encode instead"
    )


#: Python types whose values numpy holds exactly in a bool/int/float array.
_PLAIN_NUMBERS = (bool, int, float)
#: The largest integer every float64 holds exactly.
_EXACT_INT = 2**53


def _numeric_array(values: Sequence) -> np.ndarray | None:
    """``values`` as a 1-d bool/int/float numpy array, or ``None`` when that would not be
    exact (other types, huge integers, ...): the gate of the vectorised paths.

    Equal values (``==``, with NaN equal to NaN) give equal array entries, so grouping the
    array groups the values exactly as :func:`_value_key` does.
    """
    if len(values) == 0:
        return None
    types = set(map(type, values))
    has_int = False
    for t in types:
        if t in _PLAIN_NUMBERS:
            has_int = has_int or t is int
        elif issubclass(t, (np.bool_, np.integer, np.floating)):
            has_int = has_int or issubclass(t, np.integer)
        else:
            return None
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError, OverflowError):
        return None
    if arr.ndim != 1 or arr.dtype.kind not in "biuf":
        return None
    if has_int and arr.dtype.kind == "f" and len(types) > 1:
        finite = arr[np.isfinite(arr)]
        if finite.size and np.abs(finite).max() > _EXACT_INT:
            return None  # integers mixed with floats would be rounded
    return arr


def _codes(arr: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense int codes of the values of ``arr`` (equal values, NaNs included, share one)."""
    uniq, inverse = np.unique(arr, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64, copy=False), len(uniq)


def _combine_codes(parts: Sequence[tuple[np.ndarray, int]]) -> tuple[np.ndarray, int]:
    """One code per row for several code columns (equal rows share one)."""
    codes, k = parts[0]
    for more, k_more in parts[1:]:
        if k * k_more >= 2**62:  # re-densify before the product overflows
            codes, k = _codes(codes)
        codes, k = codes * k_more + more, k * k_more
    if len(parts) > 1:
        codes, k = _codes(codes)
    return codes, k


def _first_appearance(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber ``codes`` in order of first appearance: (group of each row, first row of
    each group), as :func:`_unique_keys` gives for hashable keys."""
    _, firsts, inverse = np.unique(codes, return_index=True, return_inverse=True)
    order = np.argsort(firsts, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    return rank[inverse.reshape(-1)], firsts[order].astype(np.int64)


def _row_codes(columns: Sequence[Sequence]) -> tuple[np.ndarray, int] | None:
    """Codes grouping the rows of ``columns`` when every column is numeric, else None."""
    parts = []
    for values in columns:
        arr = _numeric_array(values)
        if arr is None:
            return None
        parts.append(_codes(arr))
    return _combine_codes(parts)


def _group_rows(columns: Sequence[Sequence], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(group of each row, first row of each group) in first-appearance order; rows are
    equal when every column holds equal values (:func:`_value_key` equality)."""
    coded = _row_codes(columns)
    if coded is not None:
        return _first_appearance(coded[0])
    keys = [tuple(_value_key(col[i]) for col in columns) for i in range(n)]
    groups, firsts = _unique_keys(keys)
    return np.asarray(groups, dtype=np.int64), np.asarray(firsts, dtype=np.int64)


def _runs_of_groups(groups: np.ndarray, n_groups: int) -> list[list[int]]:
    """For each group, its rows in increasing order."""
    order = np.argsort(groups, kind="stable")
    bounds = np.cumsum(np.bincount(groups, minlength=n_groups))[:-1]
    return [part.tolist() for part in np.split(order, bounds)]


def _repeat_tile(values: Sequence, inner: int, outer: int, out: list | None = None) -> list:
    """``values`` each repeated ``inner`` times, the whole ``outer`` times (the objects
    themselves, not copies): one column of a C-order grid; filled into ``out`` (an empty
    list) when given.

    Built with slice assignments (a Python step per value or per repeat, whichever is
    fewer) and list repetition: a few ms for a million entries, about half of what
    chaining ``itertools.repeat`` takes; with ``out``, no temporary list of that size.
    """
    values = list(values)
    m = len(values)
    if out is None:
        block = values if inner == 1 else [None] * (m * inner)
    else:
        block = out
        block += values if inner == 1 else [None]
        if inner > 1:
            block *= m * inner
    if inner > 1:
        if m <= inner:  # few values, long runs of each
            for k, value in enumerate(values):
                block[k * inner:(k + 1) * inner] = [value] * inner
        else:  # many values, short runs: fill every inner-th slot at once
            for j in range(inner):
                block[j::inner] = values
    if outer == 1:
        return block
    if out is None:
        return block * outer  # faster than repeating in place (which ``out`` needs)
    block *= outer
    return block


def _object_array(values: Sequence) -> np.ndarray:
    """``values`` as a 1-d object array holding the objects themselves (never unpacked
    into a 2-d array, never converted): indexing it then ``tolist()`` gives them back."""
    return np.fromiter(values, dtype=object, count=len(values))


def _json_column(name: str, values: Sequence) -> list:
    """A column as plain JSON values; whole columns of one number type at numpy speed."""
    types = set(map(type, values))
    if types <= {float, int, bool, str, type(None)}:
        return list(values)
    if len(types) == 1 and issubclass(next(iter(types)), (np.bool_, np.integer, np.floating)):
        return np.asarray(values).tolist()
    return [_to_json(name, v) for v in values]


def _unique_keys(keys: Sequence[Hashable]) -> tuple[list[int], list[int]]:
    """First-appearance order: (index of each key's group, first run of each group)."""
    group_of: dict[Hashable, int] = {}
    groups: list[int] = []
    firsts: list[int] = []
    for i, key in enumerate(keys):
        g = group_of.get(key)
        if g is None:
            g = group_of[key] = len(firsts)
            firsts.append(i)
        groups.append(g)
    return groups, firsts
