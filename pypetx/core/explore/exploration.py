"""The :class:`Exploration`: the validated, immutable table of points of a trajectory.

A grid is kept as its values along each axis (plus each run's cell when its runs are not
in C order); per-run columns and positions are derived on first use and cached, and a
pickled grid leaves the cache behind. Building, pickling and indexing a grid by run
therefore cost O(sum of axis lengths), not O(runs).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from pypetx.base.errors import ExplorationError
import pypetx.core.explore.codec as codec
from pypetx.core.explore._grids import (
    _c_order_grid,
    _check_axes,
    _first_appearance_order,
    _grid_positions,
    _is_permutation,
    _NotAGrid,
)
from pypetx.core.explore._values import (
    Axes,
    _as_value_list,
    _check_lengths,
    _group_rows,
    _object_array,
    _repeat_tile,
    _row_codes,
    _runs_of_groups,
)
from pypetx.core.explore.expand import expand as expand_exploration

# --------------------------------------------------------------------------- Exploration


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
    strict : bool, default True
        With ``False``, columns that are no grid over ``axes`` (a point repeats, or
        combinations are missing) give a run layout instead of an error.

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

    A grid stores only its axis values (and each run's cell when not in C order):
    :meth:`from_grid` builds one without per-run values, :meth:`column`, :attr:`positions`
    and :meth:`point` derive what they need (cached), and :meth:`values_at` gives the values
    of a batch of runs without any per-run column. Pickling a grid drops the cache.

    The stored form is :meth:`encode` / :meth:`decode` (:mod:`pypetx.core.explore.codec`):
    a stored grid comes back from its axis values, never from per-run columns.
    """

    __slots__ = ("_names", "_axes", "_n", "_shape", "_axis_vals", "_axis_of", "_cells",
                 "_columns", "_positions", "_objects", "_frozen")

    def __init__(self, columns: Mapping[str, Sequence], axes: Axes | None = None, *,
                 strict: bool = True):
        data = {name: tuple(_as_value_list(name, values)) for name, values in columns.items()}
        if not data:
            raise ExplorationError("nothing to explore; give at least one parameter with values")
        n = _check_lengths(data)
        self._names = tuple(data)
        self._columns = data
        self._n = n
        if axes is None:
            self._setup(None, (n,), None, None, None)
            return
        self._axes = _check_axes(axes, self._names)
        grid = _c_order_grid(self._columns, self._names, self._axes, n)
        positions = cells = None
        if grid is None:
            try:
                positions, firsts = _grid_positions(self._columns, self._axes, n)
            except _NotAGrid:
                if strict:
                    raise
                self._setup(None, (n,), None, None, None)
                return
            shape = tuple(len(runs) for runs in firsts)
            cells = np.ravel_multi_index(positions.T, shape).astype(np.int64)
            if np.array_equal(cells, np.arange(n)):
                cells = None  # found in C order after all (e.g. non-numeric values)
        else:
            shape, firsts = grid
        axis_vals = {name: tuple(data[name][i] for i in firsts[k])
                     for k, axis in enumerate(self._axes) for name in axis}
        self._setup(self._axes, shape, axis_vals, cells, positions)

    def _setup(self, axes: Axes | None, shape: tuple[int, ...],
               axis_vals: dict[str, tuple] | None, cells: np.ndarray | None,
               positions: np.ndarray | None) -> None:
        """Set the layout and freeze (``_names``, ``_n``, ``_columns`` are set)."""
        self._axes = axes
        self._shape = tuple(int(s) for s in shape)
        self._axis_vals = axis_vals
        self._axis_of = {} if axes is None else {
            name: k for k, axis in enumerate(axes) for name in axis}
        if cells is not None:
            cells.setflags(write=False)
        self._cells = cells
        if positions is not None:
            positions.setflags(write=False)
        self._positions = positions
        self._objects: dict[str, np.ndarray] = {}
        self._frozen = True

    @classmethod
    def _grid(cls, names: Sequence[str], axes: Axes, axis_vals: Mapping[str, tuple],
              cells: np.ndarray | None) -> Exploration:
        """A grid from checked parts (axis values distinct, in first-appearance order;
        ``cells`` a permutation in the runs' order, ``None`` for C order)."""
        self = object.__new__(cls)
        shape = tuple(len(axis_vals[axis[0]]) for axis in axes)
        self._names = tuple(names)
        self._columns = {}
        self._n = math.prod(shape)
        self._setup(axes, shape, dict(axis_vals), cells, None)
        return self

    @classmethod
    def _runs(cls, names: Sequence[str], columns: dict[str, tuple]) -> Exploration:
        """A run layout from checked columns (tuples, equally long)."""
        self = object.__new__(cls)
        self._names = tuple(names)
        self._columns = columns
        self._n = len(columns[self._names[0]])
        self._setup(None, (self._n,), None, None, None)
        return self

    def __reduce__(self) -> tuple:
        # A grid travels as its axis values (and cells): the per-run caches stay behind,
        # so the pickle is O(axis lengths) however many runs the grid has.
        if self._axes is None:
            return (_restore, (self._names, None, self._columns, None))
        return (_restore, (self._names, self._axes, self._axis_vals, self._cells))

    # -- construction helpers ---------------------------------------------------------

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
        return {name: self.column_list(name) for name in self._names}

    def column(self, name: str) -> tuple:
        """The values of ``name`` per run, as the stored tuple (no copy).

        A grid builds it from its axis values on first use and keeps it (not when pickled);
        to read a few runs, :meth:`values_at` needs no per-run column.
        """
        values = self._columns.get(name)
        if values is None:
            self._check_name(name)
            k = self._axis_of[name]
            inner = math.prod(self._shape[k + 1:])
            if self._cells is None:  # C order: tile the repeated block as a tuple
                block = _repeat_tile(self._axis_vals[name], inner, 1)
                values = tuple(block) * (self._n // len(block))
            else:
                values = tuple(self._spread(name, self._axis_vals[name]))
            self._columns[name] = values
        return values

    def column_list(self, name: str, out: list | None = None) -> list:
        """The values of ``name`` per run as a fresh list (``columns[name]`` without
        building the other columns; a grid does not cache it).

        Parameters
        ----------
        name : str
            An explored parameter (full name).
        out : list, optional
            An empty list (e.g. of a list subclass) to fill and return instead of a new
            one: a million-entry column is then not copied once more.
        """
        out = [] if out is None else out
        values = self._columns.get(name)
        if values is not None:
            out += values
            return out
        self._check_name(name)
        return self._spread(name, self._axis_vals[name], out)

    def values_at(self, name: str, indices: np.ndarray) -> list:
        """The values of ``name`` for the runs ``indices``: ``[column(name)[i] for i in
        indices]``, the same objects, without building the column of a grid.

        Parameters
        ----------
        name : str
            An explored parameter (full name).
        indices : numpy.ndarray
            Integer run indices, any order, repeats and negative indices allowed.

        Returns
        -------
        list
            One value per index. A grid picks them from its axis values (an object array
            holding the given objects), O(len(indices)).

        Raises
        ------
        KeyError
            ``name`` is not explored.
        IndexError
            An index is out of range.
        TypeError
            The indices are not integers.
        """
        self._check_name(name)
        idx = np.asarray(indices).reshape(-1)
        if idx.size == 0:
            return []
        if idx.dtype.kind not in "iu":
            raise TypeError(f"run indices must be integers, got dtype {idx.dtype}")
        n = self._n
        low, high = int(idx.min()), int(idx.max())
        if low < -n or high >= n:
            bad = low if low < -n else high
            raise IndexError(f"run index {bad} is out of range for {n} runs")
        values = self._columns.get(name)
        if values is not None or self._axes is None:
            values = self.column(name) if values is None else values
            return list(map(values.__getitem__, idx.tolist()))
        if low < 0:
            idx = np.where(idx < 0, idx + n, idx)
        return self._axis_objects(name)[self._axis_positions(name, idx)].tolist()

    def _check_name(self, name: str) -> None:
        if name not in self._columns and name not in self._axis_of:
            raise KeyError(f"{name} is not explored (explored: {', '.join(self._names)})")

    def _axis_positions(self, name: str, runs: np.ndarray) -> np.ndarray:
        """Index along the axis of grid parameter ``name`` of each of ``runs`` (>= 0)."""
        k = self._axis_of[name]
        inner = math.prod(self._shape[k + 1:])
        cells = runs if self._cells is None else self._cells[runs]
        return (cells // inner) % self._shape[k]

    def _axis_objects(self, name: str) -> np.ndarray:
        """The axis values of grid parameter ``name`` as an object array (cached)."""
        arr = self._objects.get(name)
        if arr is None:
            arr = self._objects[name] = _object_array(self._axis_vals[name])
        return arr

    def _spread(self, name: str, values: Sequence, out: list | None = None) -> list:
        """A per-run list from ``values``, one per index along the axis of grid parameter
        ``name`` (its axis values, or anything aligned with them); filled into ``out``
        (empty) when given."""
        k = self._axis_of[name]
        inner = math.prod(self._shape[k + 1:])
        if self._cells is None:
            return _repeat_tile(values, inner, self._n // (inner * self._shape[k]), out)
        runs = np.arange(self._n, dtype=np.int64)
        spread = _object_array(values)[self._axis_positions(name, runs)].tolist()
        if out is None:
            return spread
        out += spread
        return out

    @property
    def axes(self) -> Axes | None:
        """Grid axes (slowest first), or ``None`` for a run layout."""
        return self._axes

    @property
    def n_runs(self) -> int:
        """Number of points (runs)."""
        return self._n

    def __len__(self) -> int:
        return self._n

    @property
    def is_grid(self) -> bool:
        """Whether the points form a grid over :attr:`axes`."""
        return self._axes is not None

    @property
    def shape(self) -> tuple[int, ...]:
        """Grid shape (values per axis), or ``(n_runs,)`` for a run layout."""
        return self._shape

    @property
    def positions(self) -> np.ndarray:
        """Read-only ``(n_runs, len(shape))`` int array: each run's index along each axis
        (derived on first use for a grid, then cached)."""
        positions = self._positions
        if positions is None:
            if self._axes is None:
                positions = np.arange(self._n, dtype=np.int64)[:, None]
            else:
                positions = np.stack(np.unravel_index(self.cells(), self._shape),
                                     axis=1).astype(np.int64, copy=False)
            positions.setflags(write=False)
            object.__setattr__(self, "_positions", positions)
        return positions

    @property
    def is_c_order(self) -> bool:
        """Whether run ``i`` is grid cell ``i`` in C order (last axis fastest)."""
        return self._cells is None

    def axis_values(self, axis_index: int) -> dict[str, list]:
        """The values along one grid axis: name -> list, one value per grid index.

        Raises
        ------
        ExplorationError
            For a run layout (it has no axes).
        """
        if self._axes is None:
            raise ExplorationError("this exploration is a run layout; it has no grid axes")
        return {name: list(self._axis_vals[name]) for name in self._axes[axis_index]}

    def _run(self, i: int) -> int:
        if isinstance(i, bool) or not isinstance(i, numbers.Integral):
            raise TypeError(f"run index must be an int, got {type(i).__name__}")
        n = self._n
        if not -n <= i < n:
            raise IndexError(f"run index {i} is out of range for {n} runs")
        return int(i) % n

    def _cell_index(self, i: int) -> tuple[int, ...]:
        """The grid cell of (checked, non-negative) run ``i`` by arithmetic."""
        cell = i if self._cells is None else int(self._cells[i])
        index = []
        for size in reversed(self._shape):
            cell, along = divmod(cell, size)
            index.append(along)
        return tuple(reversed(index))

    def point(self, i: int) -> dict[str, Any]:
        """The parameter values of run ``i``: name -> value."""
        i = self._run(i)
        if self._axes is None:
            return {name: values[i] for name, values in self._columns.items()}
        cell = self._cell_index(i)
        return {name: self._axis_vals[name][cell[self._axis_of[name]]] for name in self._names}

    def grid_index(self, i: int) -> tuple[int, ...]:
        """The grid cell of run ``i`` (``(i,)`` for a run layout)."""
        i = self._run(i)
        return (i,) if self._axes is None else self._cell_index(i)

    def duplicates(self) -> list[list[int]]:
        """Groups of run indices that explore the same point (only groups of two or more)."""
        if self._axes is not None:
            return []  # a grid's cells are distinct combinations of distinct axis values
        columns = [self._columns[name] for name in self._names]
        coded = _row_codes(columns)
        if coded is not None and coded[1] == self._n:
            return []  # as many distinct points as runs
        groups, firsts = _group_rows(columns, self._n)
        counts = np.bincount(groups, minlength=len(firsts))
        if not len(counts) or counts.max() < 2:
            return []
        runs = _runs_of_groups(groups, len(firsts))
        return [runs[g] for g in np.flatnonzero(counts > 1).tolist()]

    # -- growing ----------------------------------------------------------------------

    def expand(self, new_columns: Mapping[str, Sequence] | Exploration,
               axes: Axes | None = None) -> Exploration:
        """Append points, keeping the existing runs at their indices (pypet's ``f_expand``).

        Parameters
        ----------
        new_columns : mapping of str to sequence, or Exploration
            The new points: the same names as :attr:`names`, one value per new run; or an
            exploration of them (e.g. :meth:`from_grid` of a new grid).
        axes : tuple of tuple of str, optional
            Axes of the new points when they are a grid; default the ``axes`` attribute of
            ``new_columns`` if it has one (a :class:`Product` with the same names: points
            that are no grid over its axes, e.g. a value repeated along one, are then taken
            run by run). Ignored when ``new_columns`` is an exploration.

        Returns
        -------
        Exploration
            Old runs first, new runs after. When this exploration is a grid and old plus
            new points together are a complete grid over the same axes (typically: new
            values along one axis crossed with the existing values of the others), the
            result is that grid, with new values appended to their axes; its runs are then
            no longer in C order (see :attr:`positions`). Otherwise a run layout.
            Two grids over the same axes are merged from their axis values (no per-run
            walk).
        """
        return expand_exploration(Exploration, self, new_columns, axes)

    # -- serialisation ----------------------------------------------------------------

    def to_dict(self, *, compact: bool = False) -> dict[str, Any]:
        """A plain JSON-able description: ``{"names", "columns", "axes"}``.

        Values become plain JSON types: numpy scalars Python numbers, numpy arrays and
        tuples (nested) lists. Objects without a JSON form raise ``TypeError``; the stored
        form (:meth:`encode`) handles those.

        With ``compact=True`` a grid is described by its axes instead of its runs:
        ``{"names", "axes", "n_runs", "axis_values": {name: values along its axis},
        "positions"}``, where ``positions`` is ``None`` in C order, else the list of each
        run's cell (C-order flat index). A run layout is described as without ``compact``.
        """
        return codec.plain(self, compact=compact)

    def encode(self, *, coord_name: Callable[[str], str] | None = None
               ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The stored description and the arrays it refers to (see
        :func:`pypetx.core.explore.codec.encode`); :meth:`decode` reads it back."""
        return codec.encode(self, coord_name=coord_name)

    @classmethod
    def decode(cls, desc: Mapping[str, Any], arrays: codec.Arrays | None = None, *,
               convert: Callable[[str, list], list] | None = None) -> Exploration:
        """The exploration of a stored description (any form: :meth:`encode`,
        :meth:`to_dict`, either ``compact``).

        A grid is rebuilt from its axis values (:meth:`from_grid`), not from per-run
        values; only a version 1 description, which holds nothing but the runs, is
        recognised as a grid from them.

        Parameters
        ----------
        desc : mapping
            The description.
        arrays : mapping or callable, optional
            The arrays it refers to (see :data:`pypetx.core.explore.codec.Arrays`).
        convert : callable, optional
            ``convert(name, values) -> values``, applied to each value list before the
            exploration is built (to the axis values of a grid): e.g. to give values read
            back as JSON lists their parameter's type again.
        """
        parts = codec.read(desc, arrays)
        values = parts.values
        if convert is not None:
            values = {name: convert(name, vals) for name, vals in values.items()}
        if parts.axes is None or parts.per_run:
            return cls({name: values[name] for name in parts.names}, parts.axes)
        return cls.from_grid(parts.axes, values, parts.cells, names=parts.names)

    def cells(self) -> np.ndarray:
        """Each run's grid cell as a C-order flat index (``0..n_runs-1`` in C order)."""
        if self._cells is None:
            return np.arange(self._n, dtype=np.int64)
        return self._cells.copy()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Exploration:
        """Rebuild an exploration from :meth:`to_dict` output (either form; see
        :meth:`decode`, which reads every stored form)."""
        return cls.decode(data)

    @classmethod
    def from_grid(cls, axes: Sequence[Sequence[str]], axis_values: Mapping[str, Sequence],
                  cells: Sequence[int] | np.ndarray | None = None, *,
                  names: Sequence[str] | None = None, strict: bool = True) -> Exploration:
        """The grid over ``axes`` with the given values along each axis.

        Costs O(sum of axis lengths) in C order (no per-run values are built); with
        ``cells``, O(runs) in numpy.

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
        strict : bool, default True
            With ``False``, values that make no grid (a value repeated along an axis, cells
            that are no permutation) give the run layout of the same runs instead of an
            error (what exploring a :class:`Product` of such values does, as pypet).

        Notes
        -----
        With ``cells``, each axis' values are reordered by first appearance among the runs
        (as when the same runs are given as columns), so that equal points give equal
        explorations.
        """
        axes = tuple((axis,) if isinstance(axis, str) else tuple(axis) for axis in axes)
        flat = [name for axis in axes for name in axis]
        names = tuple(dict.fromkeys(flat if names is None else names))
        axes = _check_axes(axes, names)
        missing = [name for name in flat if name not in axis_values]
        if missing:
            raise ExplorationError(f"axis_values has no values for {', '.join(missing)}")
        vals = {name: tuple(_as_value_list(name, axis_values[name])) for name in flat}
        for axis in axes:
            _check_lengths({name: vals[name] for name in axis},
                           what="values zipped along the axis " + ", ".join(axis))
        sizes = tuple(len(vals[axis[0]]) for axis in axes)
        size = math.prod(sizes)
        distinct = all(len(_group_rows([vals[name] for name in axis], m)[1]) == m
                       for axis, m in zip(axes, sizes))
        if cells is not None:
            cells = np.asarray(cells, dtype=np.int64).reshape(-1)
            if len(cells) != size:
                raise ExplorationError(f"{len(cells)} cells given for a grid of {size} points")
            if not distinct or not _is_permutation(cells):
                return _grid_by_columns(axes, vals, cells, names, strict)  # it explains
            if np.array_equal(cells, np.arange(size)):
                cells = None
        elif not distinct:
            return _grid_by_columns(axes, vals, None, names, strict)  # it explains
        if cells is not None:
            vals, cells = _first_appearance_order(axes, vals, sizes, cells)
        return cls._grid(names, axes, vals, cells)

    def __repr__(self) -> str:
        layout = (
            "axes=" + repr(self._axes) + f", shape={self.shape}" if self.is_grid else "run layout"
        )
        return f"<Exploration {self.n_runs} runs of {', '.join(self._names)}; {layout}>"


def _restore(names: tuple[str, ...], axes: Axes | None, data: Mapping[str, tuple],
             cells: np.ndarray | None) -> Exploration:
    """Unpickle an exploration (see ``Exploration.__reduce__``): ``data`` holds the
    columns of a run layout, or the axis values of a grid."""
    if axes is None:
        return Exploration._runs(names, dict(data))
    return Exploration._grid(names, axes, data, None if cells is None else cells.copy())


def _grid_by_columns(axes: Axes, vals: Mapping[str, tuple], cells: np.ndarray | None,
                     names: Sequence[str], strict: bool) -> Exploration:
    """The grid built from per-run columns: what ``from_grid`` falls back on when the
    axis values repeat or the cells are no permutation, so the per-run checks explain
    (or, not ``strict``, the run layout of those runs)."""
    sizes = [len(vals[axis[0]]) for axis in axes]
    size = math.prod(sizes)
    columns: dict[str, list] = {}
    if cells is None:
        for k, axis in enumerate(axes):
            inner = math.prod(sizes[k + 1:])
            for name in axis:
                columns[name] = _repeat_tile(vals[name], inner, size // (inner * sizes[k]))
    else:
        positions = np.unravel_index(cells, sizes)
        for k, axis in enumerate(axes):
            pos = positions[k].tolist()
            for name in axis:
                columns[name] = list(map(vals[name].__getitem__, pos))
    return Exploration({name: columns[name] for name in names}, axes, strict=strict)
