"""The light per-run view that the user's function receives as ``traj``.

The per-point path must cost a few attribute operations, not object construction: a
view is built once per batch with every unambiguous parameter name already in its
``__dict__`` (so ``traj.x`` and ``traj.parameters.x`` are plain attribute reads), and each
run only overwrites the explored values. Anything else (``f_get``, deep paths, groups)
falls back to the frozen trajectory skeleton, synchronised to the current run on demand.

Plain names only; pypet's names (``f_add_result``, ``v_idx``, ...) are added by the
subclass in :mod:`pypetx.compat.runview`, which the trajectory's ``node_classes`` table
names (the engine builds ``node_classes.run_view``, or this class).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pypetx.core.parameters import Parameter
from pypetx.core.tree import ABBREVIATIONS, Group

# Path components that pypet puts in run-dependent result names; in pypetx every result
# is already per run (a dimension of the cube), so they are dropped from the name.
_RUN_COMPONENTS = {"$", "$set", "crun", "crunset", "runs", "run_set"}


def result_variable(name: str) -> str:
    """Variable name of a result added as ``name`` inside a run.

    ``"z"``, ``"results.z"``, ``"$set.$.z"`` and ``"runs.$.z"`` all give ``"z"``;
    ``"stats.mean"`` stays ``"stats.mean"``.
    """
    parts = [p for p in name.split(".") if p not in _RUN_COMPONENTS
             and not p.startswith(("run_0", "run_set_"))]
    if parts and parts[0] in ("results", "res"):
        parts = parts[1:]
    if not parts:
        raise ValueError(f"result name {name!r} has no name left once run wildcards are removed")
    return ".".join(parts)


class GroupView:
    """A group of the skeleton seen from inside a run (``traj.parameters``)."""

    def __init__(self, run: RunView, group: Group) -> None:
        self._run = run
        self._group = group

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        self._run._sync()
        value = getattr(self._group, name)
        if isinstance(value, Group):
            return self._run._group_view(value)
        return value

    def __getitem__(self, path: str) -> Any:
        return self.__getattr__(path) if "." not in path else self._run._lookup(self._group, path)

    def __contains__(self, path: str) -> bool:
        return path in self._group

    def add_result(self, name: str, *args: Any, **kwargs: Any) -> None:
        prefix = self._group.full_name.partition(".")[2]
        self._run.add_result(f"{prefix}.{name}" if prefix else name, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<run view of group {self._group.full_name!r}>"


class RunResultsView:
    """``traj.results`` inside a run: what this run has added so far (a run may read its
    own results back, as pypet's network analysers do), then what was stored outside runs.

    Run wildcards in the path (``runs``, ``crun``, ``run_00000003``, ...) name the current
    run: ``traj.res.runs.crun.z`` is this run's ``z``.
    """

    def __init__(self, run: RunView, prefix: str = "") -> None:
        self._run = run
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(str(exc)) from None

    def __getitem__(self, path: str) -> Any:
        view: Any = self
        for part in path.split("."):
            view = view._child(part)
        return view

    def _child(self, name: str) -> Any:
        if name in _RUN_COMPONENTS or name.startswith(("run_0", "run_set_")):
            return self
        full = self._prefix + name
        added = self._run._added()
        if full in added:
            return added[full]
        if any(key.startswith(full + ".") for key in added):
            return type(self)(self._run, full + ".")
        return self._run._lookup(self._run._skeleton._children["results"], full)

    def add_result(self, name: str, *args: Any, **kwargs: Any) -> None:
        self._run.add_result(self._prefix + name, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<results of run {self._run._i}{' under ' + self._prefix if self._prefix else ''}>"


class RunView:
    """What ``fn(traj)`` gets for one run: parameter values by natural naming, the run
    index and name, and ``add_result`` to record results."""

    #: the classes of ``traj.parameters`` (and other groups) and of ``traj.results``
    group_view_class: type = GroupView
    results_view_class: type = RunResultsView

    def __init__(self, skeleton: Any) -> None:
        self._skeleton = skeleton
        self._i = -1
        self._synced = -2
        self._out: list = []
        self._k = 0  # position of the current run in its batch
        # name -> the append methods of (positions, values) of results added the simple way
        # (one value and at most a comment): the collector registers them after their
        # first call, so later runs append directly instead of taking the general path.
        self._fast: dict[str, tuple[Callable, Callable]] = {}
        self._views: dict[str, GroupView] = {}
        # Set by the batch loop so a run can read back its own results (RunResultsView):
        # result variable -> (positions, values), and a callable that files the pending
        # ``_out`` entries into it.
        self._collected: dict[str, tuple[list[int], list[Any]]] = {}
        self._flush: Callable[[RunView], None] | None = None
        self._standard_result: type | None = None  # v_standard_result set inside a run
        self._recording = False  # inside a result class's record_in_run
        exploration = skeleton.exploration
        explored_names = set(exploration.names) if exploration is not None else set()
        by_name: dict[str, list[Parameter]] = {}
        for top in ("parameters", "derived_parameters", "config"):
            for leaf in skeleton._children[top].iter_leaves():
                if isinstance(leaf, Parameter):
                    by_name.setdefault(leaf.name, []).append(leaf)
        targets: dict[str, list[tuple[dict, str]]] = {n: [] for n in explored_names}
        # Root shortcuts: unambiguous short names, as traj.x resolves in the skeleton.
        for name, leaves in by_name.items():
            if len(leaves) == 1 and not hasattr(type(self), name) and \
                    len(skeleton._name_index.get(name, ())) == 1:
                self.__dict__[name] = leaves[0].default
                if leaves[0].full_name in targets:
                    targets[leaves[0].full_name].append((self.__dict__, name))
        # Top groups: traj.parameters.x / traj.par.x.
        for top in ("parameters", "derived_parameters", "config"):
            view = self._group_view(skeleton._children[top])
            for leaf in skeleton._children[top].iter_leaves():
                rel = leaf.full_name.partition(".")[2]
                if "." not in rel and isinstance(leaf, Parameter):
                    view.__dict__[rel] = leaf.default
                    if leaf.full_name in targets:
                        targets[leaf.full_name].append((view.__dict__, rel))
        for abbr, top in ABBREVIATIONS.items():
            if top in self._views:
                self.__dict__[abbr] = self._views[top]
        for top, view in self._views.items():
            self.__dict__[top] = view
        # Explored name -> the places its value goes (view and group-view __dict__ slots).
        self._targets = targets

    # -- per batch / per run (hot path) -------------------------------------------------------
    def explored_slots(self, indices: Any) -> list[tuple[list, list[tuple[dict, str]]]]:
        """For each explored parameter: its values for the runs ``indices`` (in order) and
        the slots they go to. The batch loop sets ``d[key] = values[k]`` for run ``k`` of
        the batch: per run, a list index and a dict store per name (see :meth:`_set`)."""
        exploration = self._skeleton.exploration
        if exploration is None:
            return []
        return [(exploration.values_at(name, indices), self._targets[name])
                for name in exploration.names]

    def _set(self, i: int) -> None:
        """Make the view show run ``i`` (outside the batch loop: tests, manual runs).
        engine/task.py's run_batch inlines the per-run part of this in its loop."""
        self._i, self._k = i, 0
        for values, slots in self.explored_slots(np.array([i], dtype=np.int64)):
            for d, key in slots:
                d[key] = values[0]

    # -- slow path ---------------------------------------------------------------------------
    def _sync(self) -> None:
        if self._synced != self._i:
            self._skeleton.set_run(self._i) if self._i >= 0 else self._skeleton.restore_default()
            self._synced = self._i

    def _group_view(self, group: Group) -> GroupView:
        view = self._views.get(group.full_name)
        if view is None:
            view = self._views[group.full_name] = self.group_view_class(self, group)
        return view

    def _lookup(self, group: Group, path: str) -> Any:
        self._sync()
        value = group[path]
        return self._group_view(value) if isinstance(value, Group) else value

    def _added(self) -> dict[str, Any]:
        """Result variable -> value of what the current run has added so far."""
        if self._flush is not None:
            self._flush(self)
        k = self._k
        return {name: values[-1] for name, (positions, values) in self._collected.items()
                if positions and positions[-1] == k}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in ("results", "res"):
            return self.results_view_class(self)
        # Attribute access on the skeleton: natural naming plus its members.
        self._sync()
        value = getattr(self._skeleton, name)
        return self._group_view(value) if isinstance(value, Group) else value

    def __getitem__(self, path: str) -> Any:
        return self._lookup(self._skeleton, path)

    def __contains__(self, path: str) -> bool:
        return path in self._skeleton

    def get(self, name: str, fast_access: bool = False) -> Any:
        """The node at ``name`` (its value with ``fast_access``), as the run sees it."""
        self._sync()
        node = self._skeleton.get(name)
        return node._fast_value() if fast_access and node.is_leaf else node

    # -- run identity ---------------------------------------------------------------------------
    @property
    def idx(self) -> int:
        return self._i

    @property
    def crun(self) -> str:
        return "run_ALL" if self._i < 0 else f"run_{self._i:08d}"

    @property
    def name(self) -> str:
        return self._skeleton.name

    @property
    def explored_parameters(self) -> dict:
        """The explored parameters, set to this run's values."""
        self._sync()
        return self._skeleton.explored_parameters

    def __len__(self) -> int:
        return len(self._skeleton)

    # -- results -------------------------------------------------------------------------------
    def add_result(self, name: Any, *args: Any, **kwargs: Any) -> Any:
        """Record a result of this run: ``add_result("z", value, comment="...")`` or
        ``add_result("stats", mean=m, std=s)``. Returns the result's name (pypet code
        links to what ``f_add_result`` returned)."""
        if len(args) == 1 and (not kwargs or (len(kwargs) == 1 and "comment" in kwargs)):
            add = self._fast.get(name)
            if add is not None:
                add[0](self._k)
                add[1](args[0])
                return name
        if self._standard_result is not None and isinstance(name, str) and not self._recording:
            name, args = self._standard_result, (name, *args)
        if isinstance(name, type):
            # pypet's f_add_result(ResultClass, "name", ...): a class may record itself
            # (e.g. Brian2 monitors become several variables with units).
            record = getattr(name, "record_in_run", None)
            if record is not None:
                self._recording = True  # its own add_result calls add plain items
                try:
                    return record(self, *args, **kwargs)
                finally:
                    self._recording = False
            forced = getattr(name, "forced_kind", None)  # PickleResult: pickled on request
            if forced is not None:
                kwargs = {**kwargs, "kind": forced}
            name, args = args[0], args[1:]
        self._out.append((name, args, kwargs))
        return name

    @property
    def standard_result(self) -> Any:
        """The class of results added by name alone; set inside a run, it applies to the
        rest of the batch's runs (e.g. ``Brian2MonitorResult``)."""
        return self._standard_result or self._skeleton.standard_result

    @standard_result.setter
    def standard_result(self, cls: Any) -> None:
        # Only a class that records itself or forces a kind changes how a result is
        # stored; plain Result (pypet's default) is what a name alone means anyway.
        special = getattr(cls, "record_in_run", None) or getattr(cls, "forced_kind", None)
        self._standard_result = cls if special else None
        self._fast.clear()  # names already on the fast path must now take this class

    def add_derived_parameter(self, name: Any, *args: Any, **kwargs: Any) -> None:
        """A derived parameter computed inside a run is per run: it is recorded like a
        result, under ``derived_parameters.<name>``."""
        if isinstance(name, type):
            name, args = args[0], args[1:]
        self._out.append(("derived_parameters." + str(name), args, kwargs))

    def __repr__(self) -> str:
        return f"<run {self._i} of trajectory {self._skeleton.name!r}>"

