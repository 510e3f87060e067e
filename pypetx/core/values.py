"""How the values one result took over the runs of a batch are held: the one place that
classifies them.

A result's per-run values are *fixed* (one array of the same shape per run: stacked into
one ``(n, *shape)`` array), *ragged* (arrays whose shape varies: one array per run),
*pickled* (objects numpy cannot hold: stored as cloudpickle bytes) or *empty* (no run gave
a value). The worker stacks what is fixed before it sends a batch (:func:`stack_results`);
the store classifies what arrives as a list the same way when it journals it
(:func:`classify`), so both always agree. Numpy only: workers import this.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "EMPTY",
    "FIXED",
    "PICKLE",
    "RAGGED",
    "Classified",
    "classify",
    "fill_value",
    "stack",
    "stack_results",
]

#: Storage modes of a result (the ``pypetx_mode`` attribute of its variable).
FIXED, RAGGED, PICKLE = "fixed", "ragged", "pickle"
#: A result no run of a batch produced: it says nothing about shape or dtype.
EMPTY = "empty"

#: Array kinds stored as they are (others, and object arrays, are pickled).
_ARRAY_KINDS = "biufcUSMm"
_SCALARS = (bool, int, float, complex, np.number, np.bool_)

_INT_FILL = {
    ("i", 1): -127, ("i", 2): -32767, ("i", 4): -2147483647, ("i", 8): -9223372036854775806,
    ("u", 1): 255, ("u", 2): 65535, ("u", 4): 4294967295, ("u", 8): 18446744073709551614,
}


def fill_value(dtype: np.dtype) -> Any:
    """What a run without a value holds: NaN for floats, the netCDF default fill for
    integers, ``False`` for booleans, ``""`` for strings."""
    if dtype.kind in "fc":
        return np.nan
    if dtype.kind in "iu":
        # netCDF default fill values (NC_FILL_INT, ...): CF readers mask them.
        return _INT_FILL[dtype.kind, dtype.itemsize]
    if dtype.kind == "b":
        return False
    if dtype.kind in "US" or dtype == object:
        return ""
    if dtype.kind == "M":
        return np.datetime64("NaT")
    if dtype.kind == "m":
        return np.timedelta64("NaT")
    return 0


def stack(values: Sequence[Any]) -> np.ndarray | None:
    """``values`` as one ``(len(values), *shape)`` array when they are numbers of one type
    or arrays of one shape and dtype (DataArrays: their values); else ``None``.

    The cheap test :func:`classify` tries first: one pass over the types, in C.
    """
    if not len(values):
        return None
    first = values[0]
    if isinstance(first, _SCALARS):
        return np.asarray(values) if len(set(map(type, values))) == 1 else None
    if isinstance(first, np.ndarray):
        shape, dtype = first.shape, first.dtype
        if all(isinstance(v, np.ndarray) and v.shape == shape and v.dtype == dtype
               for v in values):
            return np.stack(values)
        return None
    if hasattr(first, "dims") and hasattr(first, "values"):  # xarray.DataArray
        if all(hasattr(v, "dims") and hasattr(v, "values") for v in values):
            return stack([np.asarray(v.values) for v in values])
    return None


@dataclass(frozen=True)
class Classified:
    """How one result's per-run values are stored (see :func:`classify`).

    Attributes
    ----------
    mode : str
        :data:`FIXED`, :data:`RAGGED`, :data:`PICKLE` or :data:`EMPTY`.
    dtype : numpy.dtype
        Common dtype of the values (``float64`` when empty, ``uint8`` for pickle).
    shape : tuple of int or None
        Per-run shape of a fixed result.
    ndim : int
        Largest per-run ``ndim``.
    present : numpy.ndarray
        Bool per run: it gave a value.
    data : numpy.ndarray, list or None
        Fixed: the stacked values, fill values where absent; ragged: one array per run
        (``None`` where absent); pickle and empty: ``None``.
    """

    mode: str
    dtype: np.dtype
    shape: tuple[int, ...] | None
    ndim: int
    present: np.ndarray
    data: Any = None


def _pickled(present: np.ndarray) -> Classified:
    return Classified(PICKLE, np.dtype(np.uint8), None, 0, present)


def classify(values: Sequence[Any], present: np.ndarray | None = None, *,
             pickle: bool = False) -> Classified:
    """How the per-run ``values`` of one result are stored.

    Parameters
    ----------
    values : sequence
        One value per run; ``None``: the run gave none.
    present : numpy.ndarray, optional
        Bool per run; ``False`` marks a run without a value whatever it holds.
    pickle : bool
        The result is stored pickled whatever its values (its kind is ``"pickle"``).

    Returns
    -------
    Classified
        Fixed when every present value is an array (or number, string, ...) of one shape
        and of dtypes numpy can promote to one; ragged when the shapes differ; pickled when
        a value is an object numpy does not hold as such; empty when no run gave a value.
    """
    n = len(values)
    given = None if present is None else np.asarray(present, bool)
    if isinstance(values, np.ndarray) and values.dtype != object and not pickle:
        pres = np.ones(n, bool) if given is None else given
        shape = tuple(values.shape[1:])
        return Classified(FIXED, values.dtype, shape, len(shape), pres, values)
    rows = list(values)
    if not pickle and (given is None or given.all()):
        stacked = stack(rows)
        if stacked is not None and stacked.dtype != object:
            shape = tuple(stacked.shape[1:])
            return Classified(FIXED, stacked.dtype, shape, len(shape), np.ones(n, bool),
                              stacked)
    pres = np.array([v is not None for v in rows], bool)
    if given is not None:
        pres &= given
    if pickle:
        return _pickled(pres)
    arrays: list[np.ndarray | None] = []
    for v, p in zip(rows, pres):
        if not p:
            arrays.append(None)
            continue
        try:
            a = np.asarray(v)
        except (ValueError, TypeError):  # ragged nested lists and the like
            return _pickled(pres)
        if a.dtype == object or a.dtype.kind not in _ARRAY_KINDS:
            return _pickled(pres)
        arrays.append(a)
    got = [a for a in arrays if a is not None]
    if not got:  # nothing present: say nothing about shape or dtype
        return Classified(EMPTY, np.dtype("float64"), (), 0, pres)
    if len({a.dtype.kind in "US" for a in got}) > 1:
        # numbers and strings: numpy would turn the numbers into strings. Kept per run;
        # the driver refuses the mix (pypetx.env.resulttypes) unless pickling was asked.
        return _pickled(pres)
    try:
        dtype = np.result_type(*[a.dtype for a in got])
    except TypeError:  # e.g. strings and numbers: no common array dtype
        return _pickled(pres)
    shapes = {a.shape for a in got}
    if len(shapes) == 1:
        shape = shapes.pop()
        out = np.full((n, *shape), fill_value(dtype), dtype=dtype)
        for i, a in enumerate(arrays):
            if a is not None:
                out[i] = a
        return Classified(FIXED, dtype, shape, len(shape), pres, out)
    return Classified(RAGGED, dtype, None, max(a.ndim for a in got), pres, arrays)


def stack_results(collected: Mapping[str, tuple[Sequence[int], Sequence[Any]]], n: int, *,
                  pickled: Collection[str] = ()
                  ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The ``results`` and ``present`` of a :class:`~pypetx.core.batch.BatchResult`.

    Parameters
    ----------
    collected : mapping
        Result name -> ``(positions, values)``: run ``positions[j]`` of the batch gave
        ``values[j]``.
    n : int
        Runs in the batch.
    pickled : collection of str
        Results stored pickled whatever their values (kind ``"pickle"``).

    Returns
    -------
    results, present
        Per result: a stacked ``(n, *shape)`` array (fill values where a run gave none)
        when it is fixed, else a list of the values (``None`` where a run gave none); and
        its present flags. A result no run gave a value (a run that added it failed
        afterwards) is left out.
    """
    results: dict[str, Any] = {}
    present: dict[str, np.ndarray] = {}
    for name, (positions, values) in collected.items():
        if not len(positions):
            continue
        got = classify(values, pickle=name in pickled)
        pos = np.asarray(positions, dtype=np.int64)
        mask = np.zeros(n, dtype=bool)
        if got.mode == FIXED:
            mask[pos] = got.present
            # every run once, in order (a run that adds a result twice: its last value)
            if len(pos) == n and (n < 2 or bool((np.diff(pos) > 0).all())):
                results[name] = got.data
            else:
                out = np.full((n, *got.data.shape[1:]), fill_value(got.dtype), got.dtype)
                out[pos] = got.data
                results[name] = out
        else:
            mask[pos] = True
            lst: list[Any] = [None] * n
            for p, v in zip(positions, values):
                lst[p] = v
            results[name] = lst
        present[name] = mask
    return results, present
