"""pypet's ``f_``/``v_`` member names as thin mixins over the plain-named core.

These mixins import nothing from pypetx: the core classes mix them in, so a pypet script
calling ``traj.f_add_parameter`` or reading ``traj.v_idx`` works unchanged while the
documentation teaches the plain names (``traj.add_parameter``, ``traj.idx``).
"""

from __future__ import annotations

from typing import Any

#: What the run-dependent lookups return when a name is no run result either.
MISSING = object()


def _preset(traj: Any, name: str, args: tuple, kwargs: dict) -> None:
    from pypetx.compat.exceptions import PresettingError

    try:
        traj.preset_parameter(name, *args, **kwargs)
    except ValueError as err:  # pypet's error for presetting an existing parameter
        raise PresettingError(str(err)) from None


class NodeCompat:
    """Names every pypet node has."""

    @property
    def v_name(self) -> str:
        return self.name

    @property
    def v_full_name(self) -> str:
        return self.full_name

    @property
    def v_comment(self) -> str:
        return self.comment

    @v_comment.setter
    def v_comment(self, text: str) -> None:
        self.comment = text

    @property
    def v_annotations(self) -> Any:
        return _AnnotationsView(self)

    @property
    def v_is_leaf(self) -> bool:
        return self.is_leaf

    @property
    def v_is_root(self) -> bool:
        return self._parent is None

    @property
    def v_location(self) -> str:
        return self.full_name.rpartition(".")[0]

    def f_set_annotations(self, *args: Any, **kwargs: Any) -> None:
        self.v_annotations.f_set(*args, **kwargs)

    def f_get_annotations(self, *names: Any) -> Any:
        return self.v_annotations.f_get(*names)

    def f_get_root(self) -> Any:
        return self.root


class _AnnotationsView:
    """pypet's ``v_annotations`` object: attribute access plus ``f_`` methods."""

    def __init__(self, node: Any) -> None:
        object.__setattr__(self, "_node", node)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._node.annotations[name]
        except KeyError:
            raise AttributeError(f"no annotation {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._node.annotations[name] = value

    @staticmethod
    def _key(name: Any) -> str:
        # pypet: positional annotations are named annotation, annotation_1, annotation_2...
        if isinstance(name, int):
            return "annotation" if name == 0 else f"annotation_{name}"
        return name

    def f_set(self, *args: Any, **kwargs: Any) -> None:
        self._node.set_annotations({self._key(i): v for i, v in enumerate(args)}, **kwargs)

    def f_set_single(self, name: str, value: Any) -> None:
        self._node.set_annotations({name: value})

    def f_get(self, *names: Any) -> Any:
        if not names:  # pypet: the single annotation, else an error naming them
            annotations = self._node.annotations
            if len(annotations) != 1:
                raise ValueError(
                    f"{self._node.full_name or 'trajectory'!s} has annotations "
                    f"{sorted(annotations)}; say which one to get"
                )
            return next(iter(annotations.values()))
        return self._node.get_annotations(*map(self._key, names))

    def f_remove(self, name: str) -> None:
        del self._node.annotations[self._key(name)]

    def f_to_dict(self) -> dict:
        return dict(self._node.annotations)

    def f_is_empty(self) -> bool:
        return not self._node.annotations

    def __repr__(self) -> str:
        return f"Annotations({self._node.annotations!r})"


def _run_dependent(group: Any, name: str, err: Exception) -> Any:
    from pypetx.compat.natural import run_dependent

    return run_dependent(group, name)


def _walk_run_dependent(group: Any, path: str, err: Exception) -> Any:
    from pypetx.compat.natural import walk_run_dependent

    return walk_run_dependent(group, path)


def _is_node(value: Any) -> bool:
    from pypetx.tree import Node

    return isinstance(value, Node)


def _assign_node(group: Any, name: str, value: Any) -> None:
    from pypetx.compat.natural import assign_node

    assign_node(group, name, value)


class GroupCompat(NodeCompat):
    """pypet group names: ``f_get``, ``f_iter_leaves``, ``f_add_*`` relative to the group.

    Also pypet's run-dependent names (``runs``, ``run_00000001``, ``crun``, ``$set``...):
    when a name is no node, the results of runs are looked up in the result cube
    (see :mod:`pypetx.compat.runresults`), and assigning a node by natural naming adds it
    (``traj.par.x = Parameter("x", 1)``) or links it (``traj.mylink = traj.f_get("x")``).
    """

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # pickle/copy probe these before __init__ ran
            raise AttributeError(name)
        try:
            return super().__getattr__(name)
        except AttributeError as err:
            found = _run_dependent(self, name, err)
            if found is MISSING:
                raise
            return found

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_") and _is_node(value):
            _assign_node(self, name, value)
            return
        super().__setattr__(name, value)

    def __getitem__(self, path: str) -> Any:
        try:
            return super().__getitem__(path)
        except AttributeError as err:
            found = _walk_run_dependent(self, path, err)
            if found is MISSING:
                raise
            return found

    def f_get(self, name: str, fast_access: bool = False, **_ignored: Any) -> Any:
        try:
            node = self.get(name)
        except AttributeError as err:
            found = _walk_run_dependent(self, name, err)
            if found is MISSING:
                raise
            return found
        return node._fast_value() if fast_access and node.is_leaf else node

    def f_contains(self, item: Any, with_links: bool = True, shortcuts: bool = False,
                   **_ignored: Any) -> bool:
        name = item if isinstance(item, str) else item.full_name
        return self.get(name, None, shortcuts=shortcuts) is not None

    def f_find(self, pattern: str | None = None, *, tag: str | None = None,
               leaves_only: bool = False) -> list:
        return self.find(pattern, tag=tag, leaves_only=leaves_only)

    def f_get_children(self, copy: bool = True) -> dict:
        return self.children()

    def f_children(self) -> int:
        return len(self._children)

    def f_has_children(self) -> bool:
        return bool(self._children)

    def f_iter_leaves(self, with_links: bool = True) -> Any:
        return self.iter_leaves()

    def f_iter_nodes(self, recursive: bool = True, **_ignored: Any) -> Any:
        return self.iter_nodes(recursive=recursive)

    def f_get_leaves(self, copy: bool = True) -> dict:
        return {n.full_name: n for n in self.iter_leaves()}

    def f_get_groups(self, copy: bool = True) -> dict:
        return {n.name: n for n in self._children.values() if not n.is_leaf}

    def f_add_link(self, name_or_item: Any, full_name_or_item: Any = None) -> Any:
        if full_name_or_item is None:  # pypet: f_add_link(node) links it under its own name
            return self.add_link(name_or_item.name, name_or_item)
        return self.add_link(name_or_item, full_name_or_item)

    def f_remove_child(self, name: str, recursive: bool = False) -> None:
        self.remove(name)

    def f_add_group(self, name: str, comment: str = "") -> Any:
        return self.add_group(name, comment)

    # Adding below a group adds relative to it (pypet: traj.par.traffic.f_add_parameter).
    def _below(self, args: tuple) -> tuple:
        # The name is the first string argument (a leaf class may come before it).
        prefix = self.full_name.partition(".")[2]
        for i, a in enumerate(args[:2]):
            if isinstance(a, str):
                return args[:i] + (f"{prefix}.{a}" if prefix else a,) + args[i + 1:]
        return args

    def f_add_parameter(self, *args: Any, **kwargs: Any) -> Any:
        return self.root.add_parameter(*self._below(args), **kwargs)

    def f_add_parameter_group(self, name: str, comment: str = "") -> Any:
        return self.add_group(name, comment)

    def f_add_derived_parameter(self, *args: Any, **kwargs: Any) -> Any:
        return self.root.add_derived_parameter(*self._below(args), **kwargs)

    def f_add_derived_parameter_group(self, name: str, comment: str = "") -> Any:
        return self.add_group(name, comment)

    def f_add_config(self, *args: Any, **kwargs: Any) -> Any:
        return self.root.add_config(*self._below(args), **kwargs)

    def f_add_config_group(self, name: str, comment: str = "") -> Any:
        return self.add_group(name, comment)

    def f_add_result(self, *args: Any, **kwargs: Any) -> Any:
        return self.root.add_result(*self._below(args), **kwargs)

    def f_add_result_group(self, name: str, comment: str = "") -> Any:
        return self.add_group(name, comment)


class ParameterCompat(NodeCompat):
    """pypet parameter names."""

    def f_get(self) -> Any:
        return self.value

    def f_set(self, value: Any) -> None:
        self.set(value)

    def f_val_to_str(self) -> str:
        return repr(self.value)

    def f_get_default(self) -> Any:
        return self.default

    def f_get_range(self, copy: bool = True) -> tuple:
        return tuple(self.range)

    def f_has_range(self) -> bool:
        return self.is_explored

    def f_is_explored(self) -> bool:
        return self.is_explored

    @property
    def v_explored(self) -> bool:
        return self.is_explored

    def f_lock(self) -> None:
        self.lock()

    def f_unlock(self) -> None:
        self.unlock()

    @property
    def v_locked(self) -> bool:
        return self.locked

    def f_is_empty(self) -> bool:
        return self.value is None

    def f_supports(self, data: Any) -> bool:
        from pypetx.kinds import kind_of

        try:
            kind_of(data)
        except TypeError:
            return False
        return True

    def f_restore_default(self) -> None:
        self.restore_default()


class ResultCompat(NodeCompat):
    """pypet result names."""

    def f_get(self, *names: str) -> Any:
        if not names:
            return self.get()
        values = tuple(self.get(n) for n in names)
        return values[0] if len(values) == 1 else values

    def f_set(self, *args: Any, **kwargs: Any) -> None:
        self.set(*args, **kwargs)

    def f_set_single(self, name: str, value: Any) -> None:
        self.set(**{name: value})

    def f_to_dict(self, copy: bool = True) -> dict:
        return self.items()

    def f_is_empty(self) -> bool:
        return not self._data

    def f_supports_fast_access(self) -> bool:
        return self.supports_fast_access()

    def f_empty(self) -> None:
        self._data.clear()


class TrajectoryCompat(GroupCompat):
    """pypet trajectory names over the plain core."""

    # -- adding (absolute paths on the trajectory) ------------------------------------
    def f_add_parameter(self, *args: Any, **kwargs: Any) -> Any:
        return self.add_parameter(*args, **kwargs)

    def f_add_parameter_group(self, name: str, comment: str = "") -> Any:
        return self.add_parameter_group(name, comment)

    def f_add_derived_parameter(self, *args: Any, **kwargs: Any) -> Any:
        return self.add_derived_parameter(*args, **kwargs)

    def f_add_derived_parameter_group(self, name: str, comment: str = "") -> Any:
        return self.add_derived_parameter_group(name, comment)

    def f_add_config(self, *args: Any, **kwargs: Any) -> Any:
        return self.add_config(*args, **kwargs)

    def f_add_config_group(self, name: str, comment: str = "") -> Any:
        return self.add_config_group(name, comment)

    def f_add_result(self, *args: Any, **kwargs: Any) -> Any:
        return self.add_result(*args, **kwargs)

    def f_add_result_group(self, name: str, comment: str = "") -> Any:
        return self.add_result_group(name, comment)

    def f_preset_parameter(self, name: str, *args: Any, **kwargs: Any) -> None:
        _preset(self, name, args, kwargs)

    def f_preset_config(self, name: str, *args: Any, **kwargs: Any) -> None:
        _preset(self, "config." + name, args, kwargs)

    # -- exploration and runs -------------------------------------------------------------
    def f_explore(self, build_dict: Any) -> None:
        self.explore(build_dict)

    def f_expand(self, build_dict: Any, fail_safe: bool = True) -> None:
        self.expand(build_dict)

    def f_get_explored_parameters(self, fast_access: bool = False, copy: bool = True) -> dict:
        params = self.explored_parameters
        if fast_access:
            return {k: v.value for k, v in params.items()}
        return params

    def f_find_idx(self, name_list: Any, predicate: Any) -> Any:
        return iter(self.find_idx(name_list, predicate))

    def f_iter_runs(self, start: int = 0, stop: int | None = None, step: int = 1,
                    yields: str = "name") -> Any:
        # pypet yields run names by default.
        stop = len(self) if stop is None else stop
        if yields not in ("name", "idx", "self", "copy"):
            raise ValueError(f"yields must be 'name', 'idx', 'self' or 'copy', not {yields!r}")
        try:
            for i in range(start, stop, step):
                self.set_run(i)
                if yields == "copy":  # an independent trajectory at run i (manual runs)
                    from pypetx.compat.manual import run_copy

                    yield run_copy(self)
                else:
                    yield {"name": self.f_idx_to_run(i), "idx": i, "self": self}[yields]
        finally:
            self.restore_default()

    def f_idx_to_run(self, name_or_idx: Any) -> Any:
        from pypetx.trajectory import run_name

        if isinstance(name_or_idx, str):
            return int(name_or_idx.rpartition("_")[2])
        return run_name(int(name_or_idx))

    def f_set_crun(self, name_or_idx: Any) -> None:
        self.set_run(name_or_idx)

    def f_restore_default(self) -> None:
        self.restore_default()

    def f_get_run_names(self, sort: bool = True) -> list:
        return self.run_names

    def f_get_run_information(self, name_or_idx: Any = None, copy: bool = True) -> Any:
        return self.run_information(name_or_idx)

    def f_lock_parameters(self) -> None:
        self.lock_parameters()

    def f_lock_derived_parameters(self) -> None:
        self.lock_derived_parameters()

    def f_is_completed(self, name_or_id: Any = None) -> bool:
        return self.is_completed(name_or_id)

    # -- results and storage ---------------------------------------------------------------
    def f_get_from_runs(self, name: str, include_default_run: bool = True,
                        use_indices: bool = False, fast_access: bool = False,
                        with_links: bool = True, shortcuts: bool = True,
                        max_depth: Any = None, auto_load: bool = False) -> Any:
        return self.get_from_runs(name, use_indices=use_indices, fast_access=fast_access)

    def f_load(self, name: str | None = None, index: int | None = None,
               as_new: bool = False, load_parameters: int = 2,
               load_derived_parameters: int = 1, load_results: int = 1,
               load_other_data: int = 1, recursive: bool = True, load_data: Any = None,
               max_depth: Any = None, force: bool = False, dynamic_imports: Any = None,
               with_run_information: bool = True, with_meta_data: bool = True,
               storage_service: Any = None, filename: str | None = None,
               **kwargs: Any) -> None:
        # pypet's defaults: parameters with data, derived parameters and results as
        # skeletons (run results are read lazily from the cube either way).
        if recursive is None:
            load_data = 0
        self.load(name=name, index=index, filename=filename, as_new=as_new,
                  load_parameters=load_parameters,
                  load_derived_parameters=load_derived_parameters,
                  load_results=load_results, load_data=load_data,
                  allow_pickle=kwargs.pop("allow_pickle", False))

    def f_load_skeleton(self) -> None:
        self.load(load_data=1)

    def f_load_item(self, item: Any, *args: Any, load_only: Any = None,
                    **kwargs: Any) -> None:
        self.load_item(item, load_only=load_only)

    def f_load_items(self, iterator: Any, *args: Any, **kwargs: Any) -> None:
        for item in iterator:
            self.load_item(item, load_only=kwargs.get("load_only"))

    def f_store(self, only_init: bool = False, store_data: int = 2,
                max_depth: Any = None) -> None:
        self.store(only_init=only_init)

    def f_store_item(self, item: Any, *args: Any, **kwargs: Any) -> None:
        # pypetx stores the tree as one unit: storing one item stores them all
        self.store()

    def f_store_items(self, iterator: Any, *args: Any, **kwargs: Any) -> None:
        self.store()

    def f_merge(self, other_trajectory: Any, **kwargs: Any) -> None:
        self.merge(other_trajectory, **kwargs)

    def f_get_results_dataset(self) -> Any:
        return self.dataset

    # -- v_ properties ------------------------------------------------------------------------
    @property
    def v_idx(self) -> int:
        return self.idx

    @v_idx.setter
    def v_idx(self, idx: int) -> None:
        self.set_run(idx)

    @property
    def v_crun(self) -> str:
        return self.crun

    @v_crun.setter
    def v_crun(self, name: Any) -> None:
        self.set_run(name)

    @property
    def v_fast_access(self) -> bool:
        return self._fast_access

    @v_fast_access.setter
    def v_fast_access(self, value: bool) -> None:
        self._fast_access = bool(value)

    @property
    def v_auto_load(self) -> bool:
        return getattr(self, "_auto_load", False)

    @v_auto_load.setter
    def v_auto_load(self, value: bool) -> None:
        self._auto_load = bool(value)

    @property
    def v_standard_parameter(self) -> Any:
        from pypetx.parameters import Parameter

        return getattr(self, "_standard_parameter", Parameter)

    @v_standard_parameter.setter
    def v_standard_parameter(self, cls: Any) -> None:
        self._standard_parameter = cls

    @property
    def v_standard_result(self) -> Any:
        from pypetx.parameters import Result

        return getattr(self, "_standard_result", Result)

    @v_standard_result.setter
    def v_standard_result(self, cls: Any) -> None:
        self._standard_result = cls

    @property
    def v_trajectory(self) -> Any:
        return self

    @property
    def v_storage_service(self) -> Any:
        return getattr(self, "_store_path", None)

    @property
    def v_time(self) -> str:
        import datetime

        return datetime.datetime.fromtimestamp(self._timestamp).strftime("%Y_%m_%d_%Hh%Mm%Ss")

    @property
    def v_timestamp(self) -> float:
        return self._timestamp

    @property
    def v_filename(self) -> str | None:
        return getattr(self, "_store_path", None)
