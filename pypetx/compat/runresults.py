"""pypet's per-run result names, read from the result cube.

pypet keeps the results of run 3 in the tree under ``results.runs.run_00000003`` (or
``results.run_set_00000.run_00000003`` with ``$set``). pypetx keeps them in the cube, one
cell per run, so these names are *views*: ``traj.res.runs.run_00000003.z``,
``traj.run_00000003.z``, ``traj.res.crunset.crun.z`` and, while a run is selected,
``traj.z`` read that run's cell of variable ``z`` lazily (only that cell is read).

Nothing here is a node of the tree: the views are built on access and hold no data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from pypetx.compat.constants import SET_SIZE
from pypetx.base.errors import AmbiguousNameError, NodeNotFoundError

#: Names that stand for "the runs" (pypet groups holding one subgroup per run).
_RUNS_NAMES = {"runs", "crunset", "$set"}
#: Names that stand for "the current run".
_CURRENT = {"crun", "$"}


def run_index(traj: Any, name: str) -> int | None:
    """The run index a run-dependent name stands for, or None.

    ``run_00000003`` -> 3, ``r_3`` -> 3, ``crun``/``$`` -> the current run.
    """
    if name in _CURRENT:
        if traj.idx < 0:
            if len(traj) == 1:  # an unexplored trajectory has one run
                return 0
            raise NodeNotFoundError(
                f"{name!r} means the current run, but no run is selected; set traj.v_idx "
                f"(or use run_XXXXXXXX)")
        return traj.idx
    head, _, number = name.partition("_")
    if number.isdigit() and (head == "run" and len(number) == 8 or head == "r"):
        return int(number)
    return None


def _is_runs_name(name: str) -> bool:
    head, _, number = name.rpartition("_")
    return name in _RUNS_NAMES or (head in ("run_set", "rts") and number.isdigit())


def _variables(traj: Any) -> list[str]:
    ds = traj._dataset
    if ds is None:
        return []
    return [str(v) for v in ds.data_vars]


def has_results(traj: Any) -> bool:
    return traj._dataset is not None


def resolve(traj: Any, group_path: str, name: str) -> Any:
    """What ``<group>.<name>`` gives when it is not a node: a run view, or a run's value.

    Raises
    ------
    NodeNotFoundError
        ``name`` is no run-dependent name or result variable.
    """
    # results, or a group of pypet's run names made a node by a default-run result
    # (traj.f_add_result("runs.$.z", ...) outside runs adds results.runs.run_ALL.z)
    head, _, rest = group_path.partition(".")
    below_results = group_path == "" or head == "results" and all(
        _is_runs_name(part) for part in rest.split(".") if part)
    if not has_results(traj) or not below_results:
        raise NodeNotFoundError(name)
    if _is_runs_name(name):
        return RunsView(traj)
    idx = run_index(traj, name)
    if idx is not None:
        _check_run(traj, idx)
        return RunResults(traj, idx)
    # A result variable by its own name: the value of the current run.
    view = RunResults(traj, -1)
    if view._has(name):
        if traj.idx < 0 and len(traj) > 1:
            raise AmbiguousNameError(
                f"{name!r} is a result of each of the {len(traj)} runs; select a run "
                f"(traj.v_idx = i) or read them all: traj.f_get_from_runs({name!r}) or "
                f"traj.dataset[{name!r}]")
        view._idx = traj.idx if traj.idx >= 0 else 0
        return view._get(name)
    raise NodeNotFoundError(name)


def _check_run(traj: Any, idx: int) -> None:
    if not 0 <= idx < len(traj):
        raise NodeNotFoundError(f"run {idx} does not exist: trajectory {traj.name!r} has "
                                f"{len(traj)} runs")


def cell_index(traj: Any, idx: int) -> dict[str, int]:
    """``isel`` indexers of run ``idx`` in the cube."""
    from pypetx.store.layout import explored_dims

    exploration = traj.exploration
    if exploration is None:
        return {"run": 0}
    return dict(zip(explored_dims(exploration), exploration.grid_index(idx)))


def _as_python(value: np.ndarray) -> Any:
    # 0-d cells become Python scalars, as the value pypet stored (an int stays an int).
    if value.ndim == 0:
        return value.item() if value.dtype.kind in "biufcUSO" else value[()]
    return value


def cell_value(traj: Any, var: str, idx: int) -> Any:
    """The value of result variable ``var`` in run ``idx`` (reads one cell)."""
    ds = traj._dataset
    where = cell_index(traj, idx)
    if f"{var}_count" in ds.data_vars:
        from pypetx.store.ragged import get_ragged_at

        return get_ragged_at(ds, var, allow_pickle=getattr(traj, "_allow_pickle", False),
                             **where)
    return _as_python(np.asarray(ds[var].isel(where).values))


class RunsView:
    """pypet's ``results.runs`` / ``run_set_XXXXX`` / ``crunset`` group: runs by name."""

    def __init__(self, traj: Any) -> None:
        self._traj = traj

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if _is_runs_name(name):  # results.run_set_00002.run_00002042: sets are transparent
            return self
        idx = run_index(self._traj, name)
        if idx is None:
            raise NodeNotFoundError(f"{name!r} is not a run name (run_XXXXXXXX, crun, r_N)")
        _check_run(self._traj, idx)
        return RunResults(self._traj, idx)

    def __getitem__(self, name: Any) -> Any:
        if isinstance(name, int) and not isinstance(name, bool):  # pypet: runs[3] is run 3
            if not -len(self._traj) <= name < len(self._traj):
                raise IndexError(f"run {name} out of range ({len(self._traj)} runs)")
            name = self._traj.run_names[name]
        return self.__getattr__(name)

    def f_get(self, name: str, fast_access: bool = False, **_ignored: Any) -> Any:
        return walk(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._traj.run_names)

    def f_get_children(self, copy: bool = True) -> dict:
        return {n: RunResults(self._traj, i) for i, n in enumerate(self._traj.run_names)}

    def f_children(self) -> int:
        """pypet's number of run groups: one per run of the trajectory."""
        return len(self._traj)

    def f_has_children(self) -> bool:
        return len(self._traj) > 0

    def __repr__(self) -> str:
        return f"<runs of trajectory {self._traj.name!r} ({len(self._traj)} runs)>"


class RunResults:
    """The results of one run (a pypet ``run_XXXXXXXX`` group), read from the cube.

    A multi-item result (``f_add_result("stats", mean=m, std=s)``) is a sub-view:
    ``view.stats.mean``; ``view.stats.f_to_dict()`` gives all its items.
    """

    def __init__(self, traj: Any, idx: int, prefix: str = "") -> None:
        self._traj = traj
        self._idx = idx
        self._prefix = prefix

    @property
    def v_name(self) -> str:
        return self._prefix.rpartition(".")[2] or self._traj.f_idx_to_run(self._idx)

    def _names(self) -> list[str]:
        p = self._prefix + "." if self._prefix else ""
        return [v[len(p):] for v in _variables(self._traj) if v.startswith(p)
                and not v.endswith(("_count", "_shape")) and v not in _STATUS]

    def _has(self, name: str) -> bool:
        return any(n == name or n.startswith(name + ".") for n in self._names())

    def _get(self, name: str) -> Any:
        full = f"{self._prefix}.{name}" if self._prefix else name
        names = self._names()
        if name in names and not any(n.startswith(name + ".") for n in names):
            value = cell_value(self._traj, full, self._idx)
            if getattr(self._traj, "_fast_access", True):
                return value
            return self._traj.node_classes.result(name, value)
        if any(n.startswith(name + ".") for n in names):
            return RunResults(self._traj, self._idx, full)
        raise NodeNotFoundError(
            f"run {self._idx} of {self._traj.name!r} has no result {full!r}; results: "
            f"{', '.join(sorted({n.split('.')[0] for n in names})) or 'none'}")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if not self._prefix and _is_runs_name(name):
            return self
        return self._get(name)

    def __getitem__(self, path: str) -> Any:
        return walk(self, path)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._has(name)

    def __dir__(self) -> list[str]:
        return sorted({n.split(".")[0] for n in self._names()})

    # pypet Result / group members -------------------------------------------------------
    def f_get(self, *names: str, fast_access: bool = False, **_ignored: Any) -> Any:
        if not names:
            return self.f_to_dict()
        values = tuple(walk(self, n) for n in names)
        return values[0] if len(values) == 1 else values

    def f_to_dict(self, copy: bool = True) -> dict[str, Any]:
        return {n: self._get(n) for n in self._names() if "." not in n}

    def f_is_empty(self) -> bool:
        return not self._names()

    def f_load(self, *args: Any, **kwargs: Any) -> RunResults:
        return self  # read from the cube on access

    def __repr__(self) -> str:
        where = f".{self._prefix}" if self._prefix else ""
        return f"<results of {self._traj.f_idx_to_run(self._idx)}{where} (lazy, from the cube)>"


_STATUS = {"completed", "failed", "duration", "worker", "error", "traceback", "run_name",
           "failure_run", "failure_error", "failure_traceback"}


def walk(start: Any, path: str) -> Any:
    """Follow a dotted path through views (``runs.run_00000001.z``)."""
    node = start
    for part in path.split("."):
        node = getattr(node, part)
    return node


def set_name(idx: int) -> str:
    """pypet's run-set name of run ``idx`` (``run_set_00002`` for runs 2000..2999)."""
    return f"run_set_{idx // SET_SIZE:05d}" if idx >= 0 else "run_set_ALL"


class RunName(str):
    """The current run's name (a ``str``) that also reads that run's results.

    pypet scripts use ``traj.crun`` both as a name (``traj.v_crun``) and as the group
    of the current run's results (``traj.crun.z``); this string serves both. A result
    named like a ``str`` method (``count``, ``index``...) is reached through
    ``traj.res.crun.<name>`` instead.
    """

    __slots__ = ("_traj",)

    def __new__(cls, name: str, traj: Any) -> RunName:
        self = super().__new__(cls, name)
        self._traj = traj
        return self

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        traj = self._traj
        if traj._dataset is None:
            raise AttributeError(f"{str(self)!r} has no attribute {name!r} (the trajectory "
                                 f"{traj.name!r} has no results: run or load it first)")
        idx = run_index(traj, "crun")
        return RunResults(traj, idx)._get(name)

    def __reduce__(self) -> tuple:
        return (str, (str(self),))  # pickles as the plain name
