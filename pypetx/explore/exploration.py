"""The :class:`Exploration`: the validated, immutable table of points of a trajectory."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pypetx.errors import ExplorationError

from pypetx.explore._values import (
    Axes,
    _as_value_list,
    _check_lengths,
    _group_rows,
    _json_column,
    _numeric_array,
    _repeat_tile,
    _row_codes,
    _runs_of_groups,
)

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

