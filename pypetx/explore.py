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

import itertools
import math
import numbers
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from pypetx.errors import ExplorationError

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
        "store the exploration with pypetx.kinds.encode instead"
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


def _repeat_tile(values: Sequence, inner: int, outer: int) -> list:
    """``values`` each repeated ``inner`` times, the whole ``outer`` times (the objects
    themselves, not copies): one column of a C-order grid."""
    if inner == 1:
        block = list(values)
    else:
        block = list(itertools.chain.from_iterable(
            map(itertools.repeat, values, itertools.repeat(inner))))
    return block * outer


def _json_column(name: str, values: Sequence) -> list:
    """A column as plain JSON values; whole columns of one number type at numpy speed."""
    types = set(map(type, values))
    if types <= {float, int, bool, str, type(None)}:
        return list(values)
    if len(types) == 1 and issubclass(next(iter(types)), (np.bool_, np.integer, np.floating)):
        return np.asarray(values).tolist()
    return [_to_json(name, v) for v in values]



# --------------------------------------------------------------------------- builders


class Product(dict):
    """The result of :func:`cartesian_product`: a ``dict`` name -> list of values per run.

    It is a plain ``dict`` (pypet code treats it as one) that also remembers how it was built.

    Attributes
    ----------
    axes : tuple of tuple of str
        The grid axes in order, slowest first; each axis holds the names zipped along it.
    axis_values : dict of str to list
        For each name, its values along its axis (the list that was given).
    """

    def __init__(self, data: Mapping[str, list], axes: Axes, axis_values: dict[str, list]):
        super().__init__(data)
        self.axes = axes
        self.axis_values = axis_values

    @property
    def shape(self) -> tuple[int, ...]:
        """Grid shape: the number of values along each axis."""
        return tuple(len(self.axis_values[axis[0]]) for axis in self.axes)


def _parse_axes(names: Sequence[str], combined: Sequence[str | tuple[str, ...]]) -> Axes:
    """Validate ``combined_parameters`` against ``names`` and return it as axes."""
    if not combined:
        return tuple((name,) for name in names)
    axes: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for item in combined:
        axis = (item,) if isinstance(item, str) else tuple(item)
        if not axis or not all(isinstance(n, str) for n in axis):
            raise TypeError(
                f"combined_parameters items must be names or tuples of names, got {item!r}"
            )
        for name in axis:
            if name not in names:
                raise ExplorationError(
                    f"combined_parameters names {name!r}, which is not in parameter_dict "
                    f"(keys: {', '.join(names)})"
                )
            if name in seen:
                raise ExplorationError(
                    f"{name!r} appears more than once in combined_parameters; "
                    "list each parameter exactly once"
                )
            seen.add(name)
        axes.append(axis)
    missing = [n for n in names if n not in seen]
    if missing:
        raise ExplorationError(
            f"parameter_dict has {', '.join(map(repr, missing))} but combined_parameters does "
            "not list it; add each parameter to combined_parameters (alone or in a tuple)"
        )
    return tuple(axes)


def cartesian_product(
    parameter_dict: Mapping[str, Sequence],
    combined_parameters: Sequence[str | tuple[str, ...]] = (),
) -> Product:
    """All combinations of the given values, the last axis varying fastest.

    Parameters
    ----------
    parameter_dict : mapping of str to sequence
        Parameter name -> the values to explore. Values can be any objects (numbers,
        strings, arrays, lists); they are not converted.
    combined_parameters : sequence of str or tuple of str, optional
        The axes in order, slowest first. A tuple of names zips those parameters into one
        axis (their lists must have equal lengths). When given, every key of
        ``parameter_dict`` must appear exactly once. Default: one axis per key, in the
        order of ``parameter_dict``.

    Returns
    -------
    Product
        A ``dict`` name -> list with one value per run (``itertools.product`` order over the
        axes), keys in axis order, with the extra attributes ``axes`` and ``axis_values``.

    Examples
    --------
    >>> cartesian_product({"x": [1, 2, 3], "y": [6, 7, 8]})
    {'x': [1, 1, 1, 2, 2, 2, 3, 3, 3], 'y': [6, 7, 8, 6, 7, 8, 6, 7, 8]}
    >>> cartesian_product({"a": [1, 2], "b": [3, 4], "c": [5, 6]}, (("a", "b"), "c"))
    {'a': [1, 1, 2, 2], 'b': [3, 3, 4, 4], 'c': [5, 6, 5, 6]}
    """
    if not parameter_dict:
        raise ExplorationError("parameter_dict is empty; give at least one parameter to explore")
    values = {name: _as_value_list(name, v) for name, v in parameter_dict.items()}
    axes = _parse_axes(list(values), combined_parameters)
    for axis in axes:
        _check_lengths({n: values[n] for n in axis}, what="zipped parameters " + " and ".join(axis))
    sizes = [len(values[axis[0]]) for axis in axes]
    total = math.prod(sizes)
    data: dict[str, list] = {}
    for k, axis in enumerate(axes):
        inner = math.prod(sizes[k + 1:])
        for name in axis:
            data[name] = _repeat_tile(values[name], inner, total // (inner * sizes[k]))
    return Product(data, axes, {name: list(values[name]) for axis in axes for name in axis})


def zip_product(mapping: Mapping[str, Sequence] | None = None, /, **lists: Sequence) -> dict:
    """Equal-length lists taken side by side: run ``i`` uses the ``i``-th value of each.

    Parameters
    ----------
    mapping : mapping of str to sequence, optional
        Parameter name -> values; may be combined with keyword arguments.
    **lists : sequence
        More parameter name -> values.

    Returns
    -------
    dict
        Name -> list of values (a run layout, not a grid).

    Examples
    --------
    >>> zip_product(x=[1, 2, 3], y=[10, 20, 30])
    {'x': [1, 2, 3], 'y': [10, 20, 30]}
    """
    merged: dict[str, Any] = dict(mapping or {})
    for name in lists:
        if name in merged:
            raise ExplorationError(f"{name} is given twice (in the mapping and as a keyword)")
    merged.update(lists)
    if not merged:
        raise ExplorationError("nothing to zip; give at least one parameter")
    columns = {name: _as_value_list(name, v) for name, v in merged.items()}
    _check_lengths(columns, what="zipped parameters")
    return columns


#: Alias of :func:`zip_product`.
zip_params = zip_product


# --------------------------------------------------------------------------- samplers


def _check_bounds(
    bounds: Mapping[str, tuple[float, float]], n: int
) -> list[tuple[str, Any, Any, bool]]:
    if not bounds:
        raise ExplorationError("bounds is empty; give name -> (low, high) for each parameter")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ExplorationError(f"n must be a positive integer number of points, got {n!r}")
    checked = []
    for name, pair in bounds.items():
        try:
            low, high = pair
        except (TypeError, ValueError):
            raise ExplorationError(
                f"bounds of {name} must be a (low, high) pair, got {pair!r}"
            ) from None
        for bound in (low, high):
            if (
                isinstance(bound, bool)
                or not isinstance(bound, numbers.Real)
                or not math.isfinite(bound)
            ):
                raise ExplorationError(f"bounds of {name} must be finite numbers, got {pair!r}")
        if not low < high:
            raise ExplorationError(f"bounds of {name} must have low < high, got {pair!r}")
        integer = isinstance(low, numbers.Integral) and isinstance(high, numbers.Integral)
        checked.append((name, low, high, integer))
    return checked


def _scale(unit: np.ndarray, checked: list[tuple[str, Any, Any, bool]]) -> dict[str, list]:
    """Map points of the unit cube ``[0, 1)^d`` onto the bounds.

    Integer bounds cover ``low..high`` inclusive: the unit interval is cut into
    ``high - low + 1`` equal cells, so each integer is equally likely.
    """
    out: dict[str, list] = {}
    for j, (name, low, high, integer) in enumerate(checked):
        u = unit[:, j]
        if integer:
            ints = np.floor(low + u * (high - low + 1)).astype(np.int64)
            out[name] = np.clip(ints, low, high).tolist()
        else:
            out[name] = (low + u * (high - low)).tolist()
    return out


def _qmc_engine(cls: type, d: int, seed: Any, **options: Any) -> Any:
    """A ``scipy.stats.qmc`` engine; scipy >= 1.15 names the seed ``rng``, older ``seed``."""
    try:
        return cls(d=d, rng=seed, **options)
    except TypeError:
        return cls(d=d, seed=seed, **options)


def random_sample(
    bounds: Mapping[str, tuple[float, float]],
    n: int,
    seed: int | np.random.Generator | None = None,
) -> dict[str, list]:
    """``n`` independent uniform points inside ``bounds``.

    Parameters
    ----------
    bounds : mapping of str to (low, high)
        Parameter name -> interval. Floats give floats in ``[low, high)``; when both bounds
        are ints the values are ints in ``low..high`` (inclusive), uniformly.
    n : int
        Number of points (runs).
    seed : int or numpy.random.Generator, optional
        Makes the sample reproducible.

    Returns
    -------
    dict
        Name -> list of ``n`` values (a run layout).
    """
    checked = _check_bounds(bounds, n)
    rng = np.random.default_rng(seed)
    return _scale(rng.random((n, len(checked))), checked)


def latin_hypercube(
    bounds: Mapping[str, tuple[float, float]],
    n: int,
    seed: int | np.random.Generator | None = None,
) -> dict[str, list]:
    """``n`` points of a Latin hypercube inside ``bounds`` (``scipy.stats.qmc``).

    Cutting each interval into ``n`` equal strata, every stratum of every parameter holds
    exactly one point (for float bounds). Integer bounds behave as in :func:`random_sample`.

    Parameters
    ----------
    bounds : mapping of str to (low, high)
        Parameter name -> interval.
    n : int
        Number of points (runs).
    seed : int or numpy.random.Generator, optional
        Makes the sample reproducible.

    Returns
    -------
    dict
        Name -> list of ``n`` values (a run layout).
    """
    from scipy.stats import qmc

    checked = _check_bounds(bounds, n)
    engine = _qmc_engine(qmc.LatinHypercube, len(checked), seed)
    return _scale(engine.random(n), checked)


def sobol(
    bounds: Mapping[str, tuple[float, float]],
    n: int,
    seed: int | np.random.Generator | None = None,
    scramble: bool = True,
) -> dict[str, list]:
    """``n`` points of a Sobol' sequence inside ``bounds`` (``scipy.stats.qmc``).

    The balance properties of a Sobol' sequence need ``n`` to be a power of 2; scipy warns
    (``UserWarning``) otherwise. Integer bounds behave as in :func:`random_sample`.

    Parameters
    ----------
    bounds : mapping of str to (low, high)
        Parameter name -> interval.
    n : int
        Number of points (runs), ideally a power of 2.
    seed : int or numpy.random.Generator, optional
        Seeds the scrambling; makes the sample reproducible.
    scramble : bool, default True
        Scramble the sequence (Owen scrambling). Unscrambled, the first point is the origin.

    Returns
    -------
    dict
        Name -> list of ``n`` values (a run layout).
    """
    from scipy.stats import qmc

    checked = _check_bounds(bounds, n)
    engine = _qmc_engine(qmc.Sobol, len(checked), seed, scramble=scramble)
    return _scale(engine.random(n), checked)


# --------------------------------------------------------------------------- unique points


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


def find_unique_points(explored: Mapping[str, Sequence]) -> list[tuple[tuple, list[int]]]:
    """The distinct parameter combinations and the runs where each occurs.

    Parameters
    ----------
    explored : mapping of str to sequence
        Name -> one value per run (e.g. the result of a builder).

    Returns
    -------
    list of (tuple, list of int)
        For each distinct point, in order of first appearance: its values (in the order of
        ``explored``'s keys) and the run indices holding it. Arrays compare by dtype, shape
        and content; NaN equals NaN.

    Examples
    --------
    >>> find_unique_points({"x": [1, 2, 1], "y": [5, 6, 5]})
    [((1, 5), [0, 2]), ((2, 6), [1])]
    """
    columns = {name: list(values) for name, values in explored.items()}
    if not columns:
        return []
    n = _check_lengths(columns)
    names = list(columns)
    groups, firsts = _group_rows([columns[name] for name in names], n)
    runs = _runs_of_groups(groups, len(firsts))
    return [
        (tuple(columns[name][first] for name in names), runs[g])
        for g, first in enumerate(firsts.tolist())
    ]


# --------------------------------------------------------------------------- Exploration


class _NotAGrid(ExplorationError):
    """The columns are not a complete grid over the requested axes."""


class Exploration:
    """The immutable table of explored points, in run order, with grid axes if any.

    Parameters
    ----------
    columns : mapping of str to sequence
        Full parameter name (``"parameters.x"``) -> one value per run; all equally long.
    axes : tuple of tuple of str, optional
        Grid axes, slowest first, each a tuple of the names zipped along it; every name
        appears in exactly one axis. The columns must then hold every combination of the
        axes' distinct values exactly once (any run order; :func:`cartesian_product` gives
        C order). ``None`` means a run layout (no grid).

    Attributes
    ----------
    names : tuple of str
        Parameter names in exploration order.
    axes : tuple of tuple of str or None
        Grid axes, or ``None`` for a run layout.
    positions : numpy.ndarray
        Read-only int array ``(n_runs, len(shape))``: the index of each run along each axis
        (the grid cell of the run). For a run layout it is the single column ``0..n_runs-1``.

    Notes
    -----
    Each axis' values are its distinct points in order of first appearance among the runs.
    An axis whose values repeat cannot be a grid axis (the cells would be ambiguous); such
    points are explored with ``axes=None``.
    """

    __slots__ = ("_names", "_columns", "_axes", "_positions", "_axis_runs", "_c_order",
                 "_frozen")

    def __init__(self, columns: Mapping[str, Sequence], axes: Axes | None = None):
        data = {name: tuple(_as_value_list(name, values)) for name, values in columns.items()}
        if not data:
            raise ExplorationError("nothing to explore; give at least one parameter with values")
        n = _check_lengths(data)
        self._names = tuple(data)
        self._columns = data
        if axes is None:
            self._axes = None
            self._positions = np.arange(n, dtype=np.int64)[:, None]
            self._axis_runs: tuple[list[int], ...] = (list(range(n)),)
            self._c_order = True
        else:
            self._axes = self._check_axes(axes)
            grid = self._c_order_grid()
            self._c_order = grid is not None
            self._positions, self._axis_runs = grid or self._grid_positions()
        self._positions.setflags(write=False)
        self._frozen = True

    # -- construction helpers ---------------------------------------------------------

    def _check_axes(self, axes: Axes) -> Axes:
        norm = tuple((axis,) if isinstance(axis, str) else tuple(axis) for axis in axes)
        flat = [name for axis in norm for name in axis]
        unknown = [name for name in flat if name not in self._columns]
        if unknown:
            raise ExplorationError(
                f"axes name {', '.join(unknown)}, which is not explored "
                f"(explored: {', '.join(self._names)})"
            )
        repeated = sorted({name for name in flat if flat.count(name) > 1})
        if repeated:
            raise ExplorationError(f"{', '.join(repeated)} appears in more than one axis")
        missing = [name for name in self._names if name not in flat]
        if missing:
            raise ExplorationError(
                f"{', '.join(missing)} is explored but in no axis; put every explored "
                "parameter in exactly one axis, or use axes=None for a run layout"
            )
        if any(not axis for axis in norm):
            raise ExplorationError("an axis is empty; every axis needs at least one name")
        return norm

    def _c_order_grid(self) -> tuple[np.ndarray, tuple[list[int], ...]] | None:
        """Positions and axis runs when the columns are numeric and a C-order grid of
        distinct axis values (what :func:`cartesian_product` gives), checked with numpy;
        ``None`` otherwise (the general path decides)."""
        n = self.n_runs
        arrays = {}
        for name in self._names:
            arr = _numeric_array(self._columns[name])
            if arr is None:
                return None
            arrays[name] = arr
        # In C order the first value of axis k repeats for inner_k runs (unless the axis
        # has one value): that gives the candidate shape, which is then checked in full.
        lengths = []
        for axis in self._axes:
            arr = arrays[axis[0]]
            change = np.flatnonzero(arr != arr[0])
            lengths.append(int(change[0]) if change.size else None)
        shape = [1] * len(self._axes)
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
        for k, axis in enumerate(self._axes):
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
        positions = np.stack(np.unravel_index(np.arange(n, dtype=np.int64), tuple(shape)),
                             axis=1).astype(np.int64, copy=False)
        return positions, tuple(firsts)

    def _grid_positions(self) -> tuple[np.ndarray, tuple[list[int], ...]]:
        """Per-run axis indices, and for each axis the first run of each of its values."""
        n = self.n_runs
        positions = np.empty((n, len(self._axes)), dtype=np.int64)
        axis_runs = []
        for k, axis in enumerate(self._axes):
            groups, firsts = _group_rows([self._columns[name] for name in axis], n)
            positions[:, k] = groups
            axis_runs.append(firsts.tolist())
        shape = tuple(len(firsts) for firsts in axis_runs)
        if math.prod(shape) != n:
            raise _NotAGrid(self._grid_problem(positions, shape))
        if n:
            cells = np.ravel_multi_index(positions.T, shape)
            if np.bincount(cells, minlength=n).max() > 1:
                raise _NotAGrid(self._grid_problem(positions, shape))
        return positions, tuple(axis_runs)

    def _grid_problem(self, positions: np.ndarray, shape: tuple[int, ...]) -> str:
        """Explain why the columns are not a grid over the axes."""
        axes_text = ", ".join("(" + ", ".join(axis) + ")" for axis in self._axes)
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
            reason = f"{size - self.n_runs} of the {size} grid points are missing"
        return (
            f"explored values are not a grid over the axes {axes_text}: {reason}; "
            "explore them without axes (a run layout) or complete the grid"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError("Exploration is immutable; use expand() to add points")
        object.__setattr__(self, name, value)

    # -- table ------------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names in exploration order."""
        return self._names

    @property
    def columns(self) -> dict[str, list]:
        """Name -> list of one value per run (a fresh copy; the values are not copied)."""
        return {name: list(values) for name, values in self._columns.items()}

    def column(self, name: str) -> tuple:
        """The values of ``name`` per run, as the stored tuple (no copy)."""
        try:
            return self._columns[name]
        except KeyError:
            raise KeyError(f"{name} is not explored (explored: {', '.join(self._names)})") from None

    @property
    def axes(self) -> Axes | None:
        """Grid axes (slowest first), or ``None`` for a run layout."""
        return self._axes

    @property
    def n_runs(self) -> int:
        """Number of points (runs)."""
        return len(self._columns[self._names[0]])

    def __len__(self) -> int:
        return self.n_runs

    @property
    def is_grid(self) -> bool:
        """Whether the points form a grid over :attr:`axes`."""
        return self._axes is not None

    @property
    def shape(self) -> tuple[int, ...]:
        """Grid shape (values per axis), or ``(n_runs,)`` for a run layout."""
        return tuple(len(runs) for runs in self._axis_runs)

    @property
    def positions(self) -> np.ndarray:
        """Read-only ``(n_runs, len(shape))`` int array: each run's index along each axis."""
        return self._positions

    @property
    def is_c_order(self) -> bool:
        """Whether run ``i`` is grid cell ``i`` in C order (last axis fastest)."""
        if self._c_order:
            return True
        expected = np.stack(np.unravel_index(np.arange(self.n_runs), self.shape), axis=1)
        return bool(np.array_equal(self._positions, expected))

    def axis_values(self, axis_index: int) -> dict[str, list]:
        """The values along one grid axis: name -> list, one value per grid index.

        Raises
        ------
        ExplorationError
            For a run layout (it has no axes).
        """
        if self._axes is None:
            raise ExplorationError("this exploration is a run layout; it has no grid axes")
        axis = self._axes[axis_index]
        firsts = self._axis_runs[axis_index]
        return {name: [self._columns[name][i] for i in firsts] for name in axis}

    def _run(self, i: int) -> int:
        if isinstance(i, bool) or not isinstance(i, numbers.Integral):
            raise TypeError(f"run index must be an int, got {type(i).__name__}")
        n = self.n_runs
        if not -n <= i < n:
            raise IndexError(f"run index {i} is out of range for {n} runs")
        return int(i) % n

    def point(self, i: int) -> dict[str, Any]:
        """The parameter values of run ``i``: name -> value."""
        i = self._run(i)
        return {name: values[i] for name, values in self._columns.items()}

    def grid_index(self, i: int) -> tuple[int, ...]:
        """The grid cell of run ``i`` (``(i,)`` for a run layout)."""
        return tuple(int(p) for p in self._positions[self._run(i)])

    def duplicates(self) -> list[list[int]]:
        """Groups of run indices that explore the same point (only groups of two or more)."""
        if self._axes is not None:
            return []  # a grid's cells are distinct combinations of distinct axis values
        columns = [self._columns[name] for name in self._names]
        coded = _row_codes(columns)
        if coded is not None and coded[1] == self.n_runs:
            return []  # as many distinct points as runs
        groups, firsts = _group_rows(columns, self.n_runs)
        counts = np.bincount(groups, minlength=len(firsts))
        if not len(counts) or counts.max() < 2:
            return []
        runs = _runs_of_groups(groups, len(firsts))
        return [runs[g] for g in np.flatnonzero(counts > 1).tolist()]

    # -- growing ----------------------------------------------------------------------

    def expand(self, new_columns: Mapping[str, Sequence], axes: Axes | None = None) -> Exploration:
        """Append points, keeping the existing runs at their indices (pypet's ``f_expand``).

        Parameters
        ----------
        new_columns : mapping of str to sequence
            The new points: the same names as :attr:`names`, one value per new run.
        axes : tuple of tuple of str, optional
            Axes of the new points when they are a grid; default the ``axes`` attribute of
            ``new_columns`` if it has one (a :class:`Product` with the same names).

        Returns
        -------
        Exploration
            Old runs first, new runs after. When this exploration is a grid and old plus
            new points together are a complete grid over the same axes (typically: new
            values along one axis crossed with the existing values of the others), the
            result is that grid, with new values appended to their axes; its runs are then
            no longer in C order (see :attr:`positions`). Otherwise a run layout.
        """
        given = list(new_columns)
        if set(given) != set(self._names) or len(given) != len(self._names):
            missing = [n for n in self._names if n not in new_columns]
            extra = [n for n in given if n not in self._columns]
            parts = []
            if missing:
                parts.append(f"missing {', '.join(missing)}")
            if extra:
                parts.append(f"not explored before: {', '.join(extra)}")
            raise ExplorationError(
                "expand needs new values for exactly the explored parameters "
                f"({', '.join(self._names)}); " + "; ".join(parts)
            )
        if axes is None:
            axes = getattr(new_columns, "axes", None)
        new = Exploration({name: new_columns[name] for name in self._names}, axes)
        merged = {name: self._columns[name] + new._columns[name] for name in self._names}
        if self.is_grid:
            try:
                return Exploration(merged, self._axes)
            except _NotAGrid:
                pass
        return Exploration(merged)

    # -- serialisation ----------------------------------------------------------------

    def to_dict(self, *, compact: bool = False) -> dict[str, Any]:
        """A JSON-able description: ``{"names", "columns", "axes"}``.

        Values become plain JSON types: numpy scalars Python numbers, numpy arrays and
        tuples (nested) lists. Objects without a JSON form raise ``TypeError``; store such
        explorations value by value with :func:`pypetx.kinds.encode`.

        With ``compact=True`` a grid is described by its axes instead of its runs:
        ``{"names", "axes", "n_runs", "axis_values": {name: values along its axis},
        "positions"}``, where ``positions`` is ``None`` in C order, else the list of each
        run's cell (C-order flat index). A run layout is described as without ``compact``.
        """
        axes = None if self._axes is None else [list(axis) for axis in self._axes]
        if compact and self._axes is not None:
            values: dict[str, list] = {}
            for k, axis in enumerate(self._axes):
                for name, vals in self.axis_values(k).items():
                    values[name] = _json_column(name, vals)
            return {
                "names": list(self._names),
                "axes": axes,
                "n_runs": self.n_runs,
                "axis_values": values,
                "positions": None if self.is_c_order else self.cells().tolist(),
            }
        return {
            "names": list(self._names),
            "columns": {name: _json_column(name, values)
                        for name, values in self._columns.items()},
            "axes": axes,
        }

    def cells(self) -> np.ndarray:
        """Each run's grid cell as a C-order flat index (``0..n_runs-1`` in C order)."""
        if self._c_order or self.n_runs == 0:
            return np.arange(self.n_runs, dtype=np.int64)
        return np.ravel_multi_index(self._positions.T, self.shape).astype(np.int64)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Exploration:
        """Rebuild an exploration from :meth:`to_dict` output (either form)."""
        if "axis_values" in data:
            return cls.from_grid(data["axes"], data["axis_values"], data.get("positions"),
                                 names=data.get("names"))
        names = data.get("names") or list(data["columns"])
        axes = data.get("axes")
        return cls(
            {name: data["columns"][name] for name in names},
            None if axes is None else tuple(tuple(axis) for axis in axes),
        )

    @classmethod
    def from_grid(cls, axes: Sequence[Sequence[str]], axis_values: Mapping[str, Sequence],
                  cells: Sequence[int] | np.ndarray | None = None, *,
                  names: Sequence[str] | None = None) -> Exploration:
        """The grid over ``axes`` with the given values along each axis.

        Parameters
        ----------
        axes : sequence of sequence of str
            Grid axes, slowest first (names zipped along each).
        axis_values : mapping of str to sequence
            Each name's values along its axis (distinct along the axis).
        cells : sequence of int, optional
            Each run's cell as a C-order flat index (a permutation of ``0..size-1``);
            default C order (run ``i`` is cell ``i``).
        names : sequence of str, optional
            The order of :attr:`names`; default the axes' order.
        """
        axes = tuple((axis,) if isinstance(axis, str) else tuple(axis) for axis in axes)
        sizes = [len(axis_values[axis[0]]) for axis in axes]
        size = math.prod(sizes)
        columns: dict[str, list] = {}
        if cells is None:
            for k, axis in enumerate(axes):
                inner = math.prod(sizes[k + 1:])
                for name in axis:
                    columns[name] = _repeat_tile(axis_values[name], inner,
                                                 size // (inner * sizes[k]))
        else:
            cells = np.asarray(cells, dtype=np.int64).reshape(-1)
            if len(cells) != size:
                raise ExplorationError(f"{len(cells)} cells given for a grid of {size} points")
            positions = np.unravel_index(cells, sizes)
            for k, axis in enumerate(axes):
                pos = positions[k].tolist()
                for name in axis:
                    columns[name] = list(map(list(axis_values[name]).__getitem__, pos))
        if names is None:
            names = [name for axis in axes for name in axis]
        return cls({name: columns[name] for name in names}, axes)

    def __repr__(self) -> str:
        layout = (
            "axes=" + repr(self._axes) + f", shape={self.shape}" if self.is_grid else "run layout"
        )
        return f"<Exploration {self.n_runs} runs of {', '.join(self._names)}; {layout}>"
