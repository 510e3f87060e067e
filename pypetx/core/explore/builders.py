"""Exploration builders: cartesian products, zipped lists, samplers, unique points."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pypetx.base.errors import ExplorationError

from pypetx.core.explore._values import (
    Axes,
    _as_value_list,
    _check_lengths,
    _group_rows,
    _repeat_tile,
    _runs_of_groups,
)

# --------------------------------------------------------------------------- builders


class Product(dict):
    """The result of :func:`cartesian_product`: a ``dict`` name -> list of values per run
    (above :data:`LIST_POINTS` points a read-only :class:`GridColumn` per name).

    It is a plain ``dict`` (pypet code treats it as one) that also remembers how it was built.

    Attributes
    ----------
    axes : tuple of tuple of str
        The grid axes in order, slowest first; each axis holds the names zipped along it.
    axis_values : dict of str to list
        For each name, its values along its axis (the list that was given).

    Notes
    -----
    Exploring a product uses its axes and axis values, not its per-run lists (see
    :meth:`grid`), as long as the lists are the ones it was built with.
    """

    def __init__(self, data: Mapping[str, list], axes: Axes, axis_values: dict[str, list]):
        super().__init__(data)
        self.axes = axes
        self.axis_values = axis_values
        # What grid() hands out: private copies, so that changing the public attributes
        # or the lists cannot make the grid disagree with the lists unnoticed.
        self._grid = (tuple(tuple(axis) for axis in axes),
                      {name: tuple(values) for name, values in axis_values.items()})
        self._lists = dict(data)  # the list objects themselves, to recognise them

    @property
    def shape(self) -> tuple[int, ...]:
        """Grid shape: the number of values along each axis."""
        return tuple(len(self.axis_values[axis[0]]) for axis in self.axes)

    def grid(self) -> tuple[Axes, dict[str, tuple]] | None:
        """``(axes, axis values)`` as built, while this still is that grid, else ``None``.

        The product still is its grid while it holds the very lists it was built with, at
        their lengths (keys added, removed or replaced, or lists grown or shrunk: ``None``).
        Items changed in place inside a list are not detected: treat the lists as read-only,
        or explore ``dict(product)`` (then the runs are read one by one).
        """
        axes, values = self._grid
        lists = self._lists
        if len(self) != len(lists):
            return None
        size = math.prod(len(values[axis[0]]) for axis in axes)
        for name, built in lists.items():
            if dict.get(self, name) is not built or len(built) != size:
                return None
        return axes, values


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
    data: dict[str, Sequence] = {}
    for k, axis in enumerate(axes):
        inner = math.prod(sizes[k + 1:])
        for name in axis:
            if total <= LIST_POINTS:
                data[name] = _repeat_tile(values[name], inner, total // (inner * sizes[k]))
            else:  # the grid is its axes: no per-run list of 10^9 entries
                data[name] = GridColumn(values[name], inner, total)
    return Product(data, axes, {name: list(values[name]) for axis in axes for name in axis})


#: Products up to this many points hold plain per-run lists (pypet code may change them);
#: larger ones hold read-only :class:`GridColumn` views that compute a run's value.
LIST_POINTS = 10**6


class GridColumn(Sequence):
    """One parameter's per-run values of a large cartesian product, computed on access.

    Run ``i`` holds ``values[(i // inner) % len(values)]``: the column of a C-order grid
    without a list of one entry per run (a 10^9-point product costs its axes, not 8 GB
    per parameter). Read-only; ``list(column)`` gives a plain list.
    """

    def __init__(self, values: Sequence, inner: int, total: int) -> None:
        self.values, self.inner, self.total = tuple(values), int(inner), int(total)

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.total))]
        i = index.__index__()
        if i < 0:
            i += self.total
        if not 0 <= i < self.total:
            raise IndexError(f"run {index} out of range for {self.total:,} runs")
        return self.values[(i // self.inner) % len(self.values)]

    def __iter__(self):
        import itertools

        block = [v for v in self.values for _ in range(self.inner)] if self.inner < 4096 \
            else None
        for _ in range(self.total // (len(self.values) * self.inner)):
            if block is not None:
                yield from block
            else:
                for v in self.values:
                    yield from itertools.repeat(v, self.inner)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, GridColumn):
            return (self.values, self.inner, self.total) == (other.values, other.inner,
                                                              other.total)
        if isinstance(other, (list, tuple)):
            return len(other) == self.total and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        head = ", ".join(repr(self[i]) for i in range(min(3, self.total)))
        return f"[{head}, ..., {self[-1]!r}] ({self.total:,} runs)"


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


