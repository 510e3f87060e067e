"""The Trajectory: the tree of one experiment, its exploration and its current run.

Plain names only. The class users get (``pypetx.Trajectory``) is a subclass in
:mod:`pypetx.compat.trajectory` that adds pypet's ``f_``/``v_`` names and storage; which
classes a trajectory builds its groups, leaves and run views from is its
:class:`NodeClasses` table, so the layers below never name the user-facing classes.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from pypetx.base.errors import AmbiguousNameError, ExplorationError, NodeNotFoundError
from pypetx.core.explore import Exploration, Product
from pypetx.core.parameters import Parameter, Result
from pypetx.core.tree import ABBREVIATIONS, Group, Leaf, Link, Node, validate_path

#: The standard top-level groups, in pypet's order.
TOP_GROUPS = ("config", "parameters", "derived_parameters", "results")
#: The top-level groups whose parameters may be explored.
_EXPLORABLE = ("parameters", "derived_parameters")


def run_name(idx: int) -> str:
    """pypet's run name of run ``idx`` (``run_00000003``); ``-1`` gives ``run_ALL``."""
    return "run_ALL" if idx < 0 else f"run_{idx:08d}"


class ParameterGroup(Group):
    """A group below ``parameters``/``derived_parameters``/``config``."""

    @classmethod
    def _group_class(cls) -> type[Group]:
        return cls


class ResultGroup(Group):
    """A group below ``results``."""

    @classmethod
    def _group_class(cls) -> type[Group]:
        return cls


@dataclass(frozen=True)
class NodeClasses:
    """The classes a trajectory builds its nodes from.

    A subclass of :class:`Trajectory` sets its own table (``node_classes``): pypetx's
    user-facing trajectory builds the groups and leaves that carry pypet's names, and the
    engine builds the run view the table names.
    """

    parameter_group: type[Group] = ParameterGroup
    result_group: type[Group] = ResultGroup
    parameter: type[Parameter] = Parameter
    result: type[Result] = Result
    #: stored class name -> leaf class, to rebuild a stored tree (unknown names fall back
    #: to ``parameter``/``result``)
    leaves: Mapping[str, type[Leaf]] = field(default_factory=lambda: {
        "Parameter": Parameter, "Result": Result})
    #: the class of the per-run view the user's function receives; None: the engine's own
    run_view: type | None = None


class Trajectory(Group):
    """The tree of one experiment: parameters, derived parameters, config and results.

    Parameters
    ----------
    name : str
        Name of the trajectory (the HDF5 group it is stored in).
    comment : str
        Free description, stored with the results.
    fast_access : bool
        When True (pypet's default), natural naming returns parameter values
        (``traj.x == 1.0``) instead of parameter nodes.
    filename : str, optional
        The file :meth:`load` and :meth:`store` use by default (pypet's
        ``Trajectory(filename=...)``; an Environment sets it too).
    **pypet_options
        pypet's other constructor options (``overwrite_file``, ``add_time``,
        ``dynamic_imports``, ...) are accepted; ``overwrite_file=True`` removes the
        trajectory from ``filename`` when it is stored.

    Examples
    --------
    >>> traj = Trajectory("sim")
    >>> traj.add_parameter("traffic.ncars", 42, comment="cars on the road")
    <Parameter parameters.traffic.ncars=42>
    >>> traj.ncars, traj.parameters.traffic.ncars
    (42, 42)
    """

    node_classes: ClassVar[NodeClasses] = NodeClasses()

    def __init__(self, name: str = "trajectory", comment: str = "", *,
                 fast_access: bool = True, filename: str | None = None,
                 **pypet_options: Any) -> None:
        Group.__init__(self, name, comment)
        self._name_index: dict[str, list[Node]] = {}
        self._fast_access = fast_access
        self._exploration: Exploration | None = None
        self._idx = -1
        self._timestamp = time.time()
        self._dataset = None  # the results Dataset once a sweep ran or was loaded
        self._store_path: str | None = None if filename is None else str(filename)
        if pypet_options.get("overwrite_file") and filename is not None:
            self._overwrite = True  # honoured by the first store()
        self._presets: dict[str, tuple[tuple, dict]] = {}
        self._standard_result: type[Result] | None = None
        # batches run outside an Environment (pypet's manual runs), stored by store()
        self._pending_batches: list = []
        classes = self.node_classes
        for top in TOP_GROUPS:
            cls = classes.result_group if top == "results" else classes.parameter_group
            self._add_child(cls(top))

    # -- adding nodes -----------------------------------------------------------------
    def _add_leaf(self, top: str, leaf: Leaf, path: str) -> Leaf:
        validate_path(path, repr(top))
        parent_path, _, _ = path.rpartition(".")
        group = self._children[top]._ensure_group(parent_path)
        leaf._name = path.rpartition(".")[2]  # a free leaf named by its path ("a.b.x") is x
        group._add_child(leaf)
        return leaf

    def _make_parameter(self, top: str, args: tuple, comment: str, kwargs: dict) -> Parameter:
        # Accept pypet's three call forms: (name, value), (Class, name, value), (instance).
        cls: type[Parameter] = self.node_classes.parameter
        if args and isinstance(args[0], type) and issubclass(args[0], Parameter):
            cls, args = args[0], args[1:]
        if args and isinstance(args[0], Parameter):
            param, path = args[0], args[0].name
        else:
            if not args:
                raise TypeError(f"add a {top[:-1]}: give at least a name")
            path, rest = args[0], args[1:]
            if len(rest) > 2:
                raise TypeError(f"{path!r}: too many positional arguments {rest!r}")
            value = rest[0] if rest else kwargs.pop("data", kwargs.pop("value", None))
            if len(rest) == 2:
                comment = rest[1]
            path = _strip(path, top)
            leaf_name = path.rpartition(".")[2]
            param = cls(leaf_name, value, comment, **kwargs)
        if self._idx >= 0 and top == "parameters":
            raise TypeError(f"cannot add parameter {path!r} during a run; add it before exploring")
        self._add_leaf(top, param, path)
        preset = self._presets.pop(f"{top}.{path}", None)
        if preset is not None:  # pypet's f_preset_parameter: the preset value wins
            param.set(preset[0][0] if preset[0] else preset[1].get("value", param.default))
        return param

    def add_parameter(self, *args: Any, comment: str = "", **kwargs: Any) -> Parameter:
        """Add a parameter: ``add_parameter("traffic.ncars", 42, comment="...")``.

        Dotted names create the intermediate groups. Also accepted (pypet's forms): a
        parameter class first (``add_parameter(ArrayParameter, "w", np.zeros(3))``) or
        a ready :class:`~pypetx.core.parameters.Parameter` instance. Keywords ``units`` and
        ``kind`` go to the parameter.
        """
        return self._make_parameter("parameters", args, comment, kwargs)

    def add_derived_parameter(self, *args: Any, comment: str = "", **kwargs: Any) -> Parameter:
        """Add a parameter computed from others (stored under ``derived_parameters``)."""
        return self._make_parameter("derived_parameters", args, comment, kwargs)

    def add_config(self, *args: Any, comment: str = "", **kwargs: Any) -> Parameter:
        """Add a configuration value (stored under ``config``; never explored)."""
        return self._make_parameter("config", args, comment, kwargs)

    def preset_parameter(self, path: str, *args: Any, **kwargs: Any) -> None:
        """Give ``path`` a value before the parameter is added (pypet's presetting:
        a script's defaults can be overridden from outside before it declares them)."""
        top = "config" if path.split(".")[0] in ("config", "conf") else "parameters"
        key = f"{top}.{_strip(path, top)}"
        if self.get(key, None, shortcuts=False) is not None:
            raise ValueError(f"{key!r} already exists; presetting only works before it is added")
        self._presets[key] = (args, kwargs)

    def add_parameter_group(self, path: str, comment: str = "") -> Group:
        """Create the group ``parameters.<path>``."""
        return self._children["parameters"].add_group(_strip(path, "parameters"), comment)

    def add_derived_parameter_group(self, path: str, comment: str = "") -> Group:
        return self._children["derived_parameters"].add_group(
            _strip(path, "derived_parameters"), comment)

    def add_config_group(self, path: str, comment: str = "") -> Group:
        return self._children["config"].add_group(_strip(path, "config"), comment)

    def add_result_group(self, path: str, comment: str = "") -> Group:
        return self._children["results"].add_group(_strip(path, "results"), comment)

    def add_result(self, *args: Any, comment: str = "", **kwargs: Any) -> Result:
        """Add a result: ``add_result("z", 42)`` or ``add_result("stats", mean=m, std=s)``.

        Inside a run the engine collects results per run into the results Dataset;
        called outside a run (e.g. in post-processing) it adds a result node to the tree.
        """
        if args and isinstance(args[0], type) and issubclass(args[0], Result):
            cls, args = args[0], args[1:]
        else:
            cls = self.node_classes.result
        if args and isinstance(args[0], Result):
            res, path = args[0], args[0].name
        else:
            path = _strip(args[0], "results")
            res = cls(path.rpartition(".")[2], *args[1:], comment=comment, **kwargs)
        self._add_leaf("results", res, path)
        return res

    def add_link(self, name: str, target: Node | str | None = None) -> Link:
        """Link ``target`` under ``name`` (dotted, relative to the trajectory root)."""
        if target is None:  # pypet's add_link(node) form: link under the node's own name
            raise TypeError("add_link needs a target node or path")
        return Group.add_link(self, name, target)

    # -- exploration --------------------------------------------------------------------
    def _new_exploration(self, mapping: Mapping[str, Sequence],
                         expected: Sequence[str] | None = None) -> Exploration:
        """The exploration of ``mapping`` (names resolved to full names, values checked
        against the defaults); ``expected``: the full names it must explore (expand).

        An unchanged :class:`~pypetx.core.explore.Product` is taken from its axis values, which
        are the very objects of its lists: nothing is done per run.
        """
        grid = mapping.grid() if isinstance(mapping, Product) else None
        full: dict[str, str] = {}  # key -> full name
        columns: dict[str, list] = {}
        for key, values in mapping.items():
            node = self._resolve_explored(key)
            if grid is not None:
                values = grid[1][key]
            elif isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
                raise ExplorationError(
                    f"explored values of {node.full_name!r} must be a list, got {type(values).__name__}"
                )
            else:
                values = list(values)
            if node.kind != "pickle" and node.default is not None:
                _check_values(node.full_name, node.default, values)
            if node.full_name in columns:
                raise ExplorationError(f"{node.full_name!r} is explored twice (as {key!r})")
            full[key] = node.full_name
            columns[node.full_name] = values
        if expected is not None:
            differ = set(expected) ^ set(columns)
            if differ:
                raise ExplorationError(
                    f"expand() must give values for exactly the explored parameters "
                    f"{list(expected)}; differs in {sorted(differ)}"
                )
        # A product's points that are no grid (a value repeated along an axis) are runs,
        # as pypet, which stores runs, explores them: strict=False.
        if grid is not None:
            axes = tuple(tuple(full[n] for n in axis) for axis in grid[0])
            return Exploration.from_grid(axes, columns, names=list(columns), strict=False)
        axes = getattr(mapping, "axes", None)
        if axes is not None:
            axes = tuple(tuple(full[n] for n in axis) for axis in axes)
        return Exploration(columns, axes=axes, strict=False)

    def _resolve_explored(self, key: str) -> Parameter:
        """The parameter ``key`` names below ``parameters`` or ``derived_parameters``
        (pypet explores derived parameters too, as its example 19c does)."""
        head, _, rest = key.partition(".")
        top = ABBREVIATIONS.get(head, head)
        tops, path = ((top,), rest) if rest and top in _EXPLORABLE else (_EXPLORABLE, key)
        found: list[Node] = []
        missing: list[NodeNotFoundError] = []
        for group in tops:
            try:
                found.append(self._children[group].get(path))
            except NodeNotFoundError as err:
                missing.append(err)
            except AmbiguousNameError as err:
                raise ExplorationError(f"cannot explore {key!r}: {err}") from None
        if not found:  # the error of ``parameters`` (its hint searches the whole tree)
            raise ExplorationError(f"cannot explore {key!r}: {missing[0]}") from None
        if len(found) > 1:
            listed = ", ".join(n.full_name for n in found)
            raise ExplorationError(
                f"cannot explore {key!r}: it matches {listed}; use a longer path")
        node = found[0]
        if not isinstance(node, Parameter):
            raise ExplorationError(f"cannot explore {key!r}: it is a group, not a parameter")
        return node

    def explore(self, mapping: Mapping[str, Sequence]) -> Exploration:
        """Explore parameters: one run per position of the (equal-length) value lists.

        ``mapping`` is a dict of (derived) parameter name (short, dotted or full) -> values,
        e.g. the
        result of :func:`~pypetx.core.explore.cartesian_product` (its grid axes are kept: each
        explored parameter becomes a dimension of the results; the grid is built from its
        axis values, so exploring a million points costs what their axes cost) or of a
        sampler.
        """
        if self._exploration is not None:
            raise ExplorationError(
                f"trajectory {self.name!r} is already explored ({self._exploration.n_runs} runs); "
                f"use expand() to add points"
            )
        if not mapping:
            raise ExplorationError("explore() needs at least one parameter to explore")
        exploration = self._new_exploration(mapping)
        self._set_exploration(exploration)
        return exploration

    def expand(self, mapping: Mapping[str, Sequence]) -> Exploration:
        """Add points to an explored trajectory (pypet's ``f_expand``); old runs keep
        their indices. Exploring a trajectory that is not explored yet is ``explore``."""
        if self._exploration is None:
            return self.explore(mapping)
        new = self._new_exploration(mapping, expected=self._exploration.names)
        exploration = self._exploration.expand(new)
        self._set_exploration(exploration)
        return exploration

    def _set_exploration(self, exploration: Exploration) -> None:
        dups = exploration.duplicates()
        if dups:
            warnings.warn(
                f"trajectory {self.name!r}: {len(dups)} explored points occur more than once "
                f"(e.g. runs {dups[0][:5]}); each is run separately",
                stacklevel=3,
            )
        self._exploration = exploration
        # pypet's range (param.f_get_range()) is a list; a huge grid's is computed on access
        ranged = _ExploredRange if exploration.n_runs <= _LIST_RUNS else _LazyRange
        for name in exploration.names:
            param = self._get_node(name, shortcuts=False)
            param._range = ranged(exploration, name)

    @property
    def exploration(self) -> Exploration | None:
        """The :class:`~pypetx.core.explore.Exploration` (None before ``explore``)."""
        return self._exploration

    @property
    def explored_parameters(self) -> dict[str, Parameter]:
        """Explored parameters by full name, in exploration order."""
        if self._exploration is None:
            return {}
        return {n: self._get_node(n, shortcuts=False) for n in self._exploration.names}

    def __len__(self) -> int:
        """Number of runs (1 when not explored, as in pypet)."""
        return self._exploration.n_runs if self._exploration is not None else 1

    # -- the current run ---------------------------------------------------------------------
    @property
    def idx(self) -> int:
        """Index of the current run; ``-1`` when no run is selected (defaults shown)."""
        return self._idx

    @idx.setter
    def idx(self, idx: int) -> None:
        self.set_run(idx)

    def set_run(self, idx: int | str) -> None:
        """Make every explored parameter show its value for run ``idx`` (or a run name);
        ``-1``/``None``/``"run_ALL"`` restores the defaults."""
        if isinstance(idx, str):
            head, _, number = idx.rpartition("_")
            if idx != "run_ALL" and (head != "run" or not number.isdigit()):
                raise ValueError(
                    f"{idx!r} is not a run name; run names look like {run_name(0)!r} "
                    f"(or 'run_ALL' for the defaults)"
                )
            idx = -1 if idx == "run_ALL" else int(number)
        if idx is None or idx < 0:
            self.restore_default()
            return
        n = len(self)
        if idx >= n:
            raise IndexError(f"run {idx} does not exist: trajectory {self.name!r} has {n} runs")
        if self._exploration is not None:
            point = self._exploration.point(idx)  # a grid: from its axes, no column
            for name, param in self.explored_parameters.items():
                param._set_current(point[name])
        self._idx = idx

    def restore_default(self) -> None:
        """Show the default values again (no current run)."""
        for param in self.explored_parameters.values():
            param.restore_default()
        self._idx = -1

    @property
    def crun(self) -> str:
        """Name of the current run (``run_ALL`` when none)."""
        return run_name(self._idx)

    @property
    def run_names(self) -> list[str]:
        return [run_name(i) for i in range(len(self))]

    def iter_runs(self, *, yields: str = "idx") -> Iterator[Any]:
        """Iterate over runs, setting each as the current run; restores defaults after.

        ``yields`` is ``"idx"`` (default), ``"name"`` or ``"self"`` as in pypet.
        """
        try:
            for i in range(len(self)):
                self.set_run(i)
                yield {"idx": i, "name": run_name(i), "self": self}[yields]
        finally:
            self.restore_default()

    def find_idx(self, names: str | Sequence[str], predicate: Callable[..., bool]) -> list[int]:
        """Run indices whose explored values satisfy ``predicate(*values)``.

        ``find_idx("x", lambda x: x > 2)``; ``find_idx(["x", "y"], lambda x, y: x == y)``.
        """
        if isinstance(names, str):
            names = [names]
        cols = []
        for n in names:
            node = self._children["parameters"].get(_strip(n, "parameters"))
            if not isinstance(node, Parameter):
                raise NodeNotFoundError(f"{n!r} is not a parameter")
            cols.append(node._range if node._range is not None else [node.default] * len(self))
        return [i for i, vals in enumerate(zip(*cols)) if predicate(*vals)]

    # -- locking ------------------------------------------------------------------------
    def lock_parameters(self) -> None:
        """Lock every parameter (done automatically when runs start)."""
        for leaf in self._children["parameters"].iter_leaves():
            leaf.lock()

    def lock_derived_parameters(self) -> None:
        for leaf in self._children["derived_parameters"].iter_leaves():
            leaf.lock()

    # -- results ------------------------------------------------------------------------------
    @property
    def dataset(self):
        """The results :class:`xarray.Dataset` (after ``env.run`` or ``load``), else None."""
        return self._dataset

    @property
    def standard_result(self) -> type[Result] | None:
        """The class of results added by name alone (None: the table's ``result``);
        pypet's ``v_standard_result``."""
        return self._standard_result

    @standard_result.setter
    def standard_result(self, cls: type[Result] | None) -> None:
        self._standard_result = cls

    # -- batches run outside an Environment ------------------------------------------------
    def add_pending_batch(self, batch: Any) -> None:
        """Keep a finished batch run outside an Environment (a manual run) until the
        trajectory is next stored."""
        self._pending_batches.append(batch)

    def take_pending_batches(self) -> list:
        """The batches kept by :meth:`add_pending_batch`, handed over once."""
        batches, self._pending_batches = self._pending_batches, []
        return batches

    # -- records (the store persists these) -------------------------------------------------------
    def to_records(self) -> list[dict[str, Any]]:
        """The tree as plain records (see docs/architecture.md)."""
        from pypetx.core.records import tree_to_records

        return tree_to_records(self)

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]], attrs: Mapping[str, Any]) -> Trajectory:
        """Rebuild a trajectory from :meth:`to_records` output and its attributes."""
        from pypetx.core.records import tree_from_records

        return tree_from_records(cls, records, attrs)


class _ExploredRange(list):
    """A parameter's explored values, one per run: a plain list to read (pypet's range),
    that pickles as a reference to its :class:`~pypetx.core.explore.Exploration` (rebuilt from
    it when unpickled). A pickled trajectory thus carries its runs' values once, and a
    grid's not at all (only its axes); changes made to the list are not pickled.
    """

    __slots__ = ("_exploration", "_name")

    def __init__(self, exploration: Exploration, name: str) -> None:
        exploration.column_list(name, out=self)  # filled in place: no second copy
        self._exploration = exploration
        self._name = name

    def __reduce__(self) -> tuple:
        return (_ExploredRange, (self._exploration, self._name))


#: Explorations up to this many runs give each explored parameter its range as a list.
_LIST_RUNS = 10**6


class _LazyRange(Sequence):
    """A huge exploration's values of one parameter, one per run, read from the
    exploration on access (a 10^9-point grid is its axes: no list of 10^9 entries)."""

    def __init__(self, exploration: Exploration, name: str) -> None:
        self._exploration = exploration
        self._name = name

    def __len__(self) -> int:
        return self._exploration.n_runs

    def __getitem__(self, index: Any) -> Any:
        n = self._exploration.n_runs
        if isinstance(index, slice):
            runs = np.arange(n, dtype=np.int64)[index]
            return list(self._exploration.values_at(self._name, runs))
        i = index.__index__()
        i = i + n if i < 0 else i
        if not 0 <= i < n:
            raise IndexError(f"run {index} out of range for {n:,} runs")
        return self._exploration.values_at(self._name, np.array([i], np.int64))[0]

    def __iter__(self) -> Any:
        step = 1 << 16
        for lo in range(0, len(self), step):
            yield from self._exploration.values_at(
                self._name, np.arange(lo, min(lo + step, len(self)), dtype=np.int64))

    def __repr__(self) -> str:
        return f"[{self[0]!r}, ..., {self[-1]!r}] ({len(self):,} runs)"

    def __reduce__(self) -> tuple:
        return (_LazyRange, (self._exploration, self._name))


#: Value types whose compatibility with a default depends on the type alone.
_TYPE_ONLY = (bool, int, float, complex, str, bytes, np.bool_, np.number)


def _check_values(name: str, default: Any, values: Sequence) -> None:
    """``kinds.check_compatible`` for every value, checking one value per distinct
    (type, dtype kind, 0-d, Brian2 ``dim``) key: values with the same key pass or fail
    alike. Lists, tuples and dicts (their items matter) are checked one by one. The first
    incompatible value raises, with the same message as a value-by-value check."""
    from pypetx.core.kinds import check_compatible

    types = dict.fromkeys(map(type, values))  # in order of first appearance
    if all(issubclass(t, _TYPE_ONLY) and not issubclass(t, np.ndarray) for t in types):
        for t in types:
            check_compatible(name, default, next(v for v in values if type(v) is t))
        return
    passed: set = set()
    for v in values:
        if isinstance(v, (list, tuple, dict)):
            check_compatible(name, default, v)
            continue
        dtype = getattr(v, "dtype", None)
        dim = getattr(v, "dim", None)
        try:
            key = (type(v), getattr(dtype, "str", None), np.ndim(v) == 0 if dtype is not None
                   else None, dim)
            hash(key)
        except Exception:  # noqa: BLE001 - anything odd: check this value fully
            check_compatible(name, default, v)
            continue
        if key not in passed:
            check_compatible(name, default, v)
            passed.add(key)


def _strip(path: str, top: str) -> str:
    """Drop a leading ``top.`` (or its abbreviation) from a path given by the user."""
    head, _, rest = path.partition(".")
    if rest and (head == top or ABBREVIATIONS.get(head) == top):
        return rest
    return path
