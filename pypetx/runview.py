"""The light per-run view that the user's function receives as ``traj``.

The per-point path must cost a few attribute operations, not object construction: a
view is built once per batch with every unambiguous parameter name already in its
``__dict__`` (so ``traj.x`` and ``traj.parameters.x`` are plain attribute reads), and each
run only overwrites the explored values. Anything else (``f_get``, deep paths, groups)
falls back to the frozen trajectory skeleton, synchronised to the current run on demand.
"""

from __future__ import annotations

from typing import Any

from pypetx.parameters import Parameter
from pypetx.tree import ABBREVIATIONS, Group

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


class _GroupView:
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

    def f_add_result(self, name: str, *args: Any, **kwargs: Any) -> None:
        prefix = self._group.full_name.partition(".")[2]
        self._run.f_add_result(f"{prefix}.{name}" if prefix else name, *args, **kwargs)

    add_result = f_add_result

    def __repr__(self) -> str:
        return f"<run view of group {self._group.full_name!r}>"


class RunView:
    """What ``fn(traj)`` gets for one run: parameter values by natural naming, the run
    index and name, and ``f_add_result`` / ``add_result`` to record results."""

    def __init__(self, skeleton: Any) -> None:
        self._skeleton = skeleton
        self._i = -1
        self._synced = -2
        self._out: list = []
        self._k = 0  # position of the current run in its batch
        # name -> (positions, values) of results added the simple way (one value and at
        # most a comment): the collector registers them here after their first call, so
        # later runs append directly instead of going through the general path.
        self._fast: dict[str, tuple[list[int], list[Any]]] = {}
        self._views: dict[str, _GroupView] = {}
        self._explored: list[tuple[list, list[tuple[dict, str]]]] = []
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
            if len(leaves) == 1 and name not in self.__class__.__dict__ and \
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
        if exploration is not None:
            self._explored = [(exploration.column(n), targets[n]) for n in exploration.names]

    # -- per run (hot path) ---------------------------------------------------------------
    def _set(self, i: int) -> None:
        # engine/task.py's run_batch inlines these lines in its per-run loop (a method
        # call per run is measurable there); keep the two in step.
        self._i = i
        for column, slots in self._explored:
            value = column[i]
            for d, key in slots:
                d[key] = value

    # -- slow path ---------------------------------------------------------------------------
    def _sync(self) -> None:
        if self._synced != self._i:
            self._skeleton.set_run(self._i) if self._i >= 0 else self._skeleton.restore_default()
            self._synced = self._i

    def _group_view(self, group: Group) -> _GroupView:
        view = self._views.get(group.full_name)
        if view is None:
            view = self._views[group.full_name] = _GroupView(self, group)
        return view

    def _lookup(self, group: Group, path: str) -> Any:
        self._sync()
        value = group[path]
        return self._group_view(value) if isinstance(value, Group) else value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        # Attribute access on the skeleton: natural naming plus its members (v_/f_ names).
        self._sync()
        value = getattr(self._skeleton, name)
        return self._group_view(value) if isinstance(value, Group) else value

    def __getitem__(self, path: str) -> Any:
        return self._lookup(self._skeleton, path)

    def __contains__(self, path: str) -> bool:
        return path in self._skeleton

    def f_get(self, name: str, fast_access: bool = False, **_ignored: Any) -> Any:
        self._sync()
        return self._skeleton.f_get(name, fast_access=fast_access)

    get = f_get

    # -- run identity ---------------------------------------------------------------------------
    @property
    def v_idx(self) -> int:
        return self._i

    idx = v_idx

    @property
    def v_crun(self) -> str:
        return "run_ALL" if self._i < 0 else f"run_{self._i:08d}"

    crun = v_crun

    @property
    def v_name(self) -> str:
        return self._skeleton.name

    name = v_name

    def f_get_explored_parameters(self, fast_access: bool = False, copy: bool = True) -> dict:
        self._sync()
        return self._skeleton.f_get_explored_parameters(fast_access=fast_access)

    def __len__(self) -> int:
        return len(self._skeleton)

    # -- results -------------------------------------------------------------------------------
    def f_add_result(self, name: Any, *args: Any, **kwargs: Any) -> None:
        """Record a result of this run: ``f_add_result("z", value, comment="...")`` or
        ``f_add_result("stats", mean=m, std=s)``."""
        if len(args) == 1 and (not kwargs or (len(kwargs) == 1 and "comment" in kwargs)):
            cols = self._fast.get(name)
            if cols is not None:
                cols[0].append(self._k)
                cols[1].append(args[0])
                return
        if isinstance(name, type):
            # pypet's f_add_result(ResultClass, "name", ...): a class may record itself
            # (e.g. Brian2 monitors become several variables with units).
            record = getattr(name, "record_in_run", None)
            if record is not None:
                return record(self, *args, **kwargs)
            forced = getattr(name, "forced_kind", None)  # PickleResult: pickled on request
            if forced is not None:
                kwargs = {**kwargs, "kind": forced}
            name, args = args[0], args[1:]
        self._out.append((name, args, kwargs))

    add_result = f_add_result

    def f_add_derived_parameter(self, name: Any, *args: Any, **kwargs: Any) -> None:
        """A derived parameter computed inside a run is per run: it is recorded like a
        result, under ``derived_parameters.<name>``."""
        if isinstance(name, type):
            name, args = args[0], args[1:]
        self._out.append(("derived_parameters." + str(name), args, kwargs))

    add_derived_parameter = f_add_derived_parameter

    def __repr__(self) -> str:
        return f"<run {self._i} of trajectory {self._skeleton.name!r}>"

