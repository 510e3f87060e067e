"""pypet's ``f_``/``v_`` names of the trajectory, as a mixin over the plain-named core
(:class:`pypetx.compat.trajectory.Trajectory` mixes it in)."""

from __future__ import annotations

from typing import Any

from pypetx.compat.nodes import GroupCompat, accept_member_names

#: pypet's wildcards of run-dependent names and what they mean without a selected run.
_DEFAULT_RUN = {"$": "run_ALL", "crun": "run_ALL", "$set": "run_set_ALL",
                "crunset": "run_set_ALL"}


def _preset(traj: Any, name: str, args: tuple, kwargs: dict) -> None:
    from pypetx.compat.exceptions import PresettingError

    try:
        traj.preset_parameter(name, *args, **kwargs)
    except ValueError as err:  # pypet's error for presetting an existing parameter
        raise PresettingError(str(err)) from None


def _default_run_name(name: str) -> str:
    """pypet's ``$``/``$set`` outside a run: the default run (``runs.$.z`` ->
    ``runs.run_ALL.z``)."""
    return ".".join(_DEFAULT_RUN.get(part, part) for part in name.split("."))


def _wildcards(traj: Any, args: tuple) -> tuple:
    """Outside a run, pypet's ``$``/``$set`` in the name of a new node name the default run
    (run_ALL); the name is the first string argument (a leaf class may come before it)."""
    if traj.idx >= 0:
        return args
    k = next((i for i, a in enumerate(args[:2]) if isinstance(a, str)), None)
    if k is None:
        return args
    return (*args[:k], _default_run_name(args[k]), *args[k + 1:])


def _with_standard(traj: Any, attr: str, args: tuple) -> tuple:
    """pypet's ``v_standard_parameter``/``v_standard_result``: the class used when the
    call names none (only when the user set one)."""
    cls = traj.__dict__.get(attr)
    if cls is not None and args and isinstance(args[0], str):
        return (cls, *args)
    return args


@accept_member_names
class TrajectoryCompat(GroupCompat):
    """pypet trajectory names over the plain core."""

    # -- adding (absolute paths on the trajectory) ------------------------------------
    def f_add_parameter(self, *args: Any, **kwargs: Any) -> Any:
        return self.add_parameter(*_with_standard(self, "_standard_parameter", args), **kwargs)

    def f_add_parameter_group(self, name: str, comment: str = "") -> Any:
        return self.add_parameter_group(name, comment)

    def f_add_derived_parameter(self, *args: Any, **kwargs: Any) -> Any:
        args = _with_standard(self, "_standard_parameter", args)
        return self.add_derived_parameter(*_wildcards(self, args), **kwargs)

    def f_add_derived_parameter_group(self, name: str, comment: str = "") -> Any:
        return self.add_derived_parameter_group(*_wildcards(self, (name,)), comment)

    def f_add_config(self, *args: Any, **kwargs: Any) -> Any:
        return self.add_config(*args, **kwargs)

    def f_add_config_group(self, name: str, comment: str = "") -> Any:
        return self.add_config_group(name, comment)

    def f_add_result(self, *args: Any, **kwargs: Any) -> Any:
        args = _with_standard(self, "_standard_result", args)
        if args and getattr(args[0], "pypetx_refused", False):  # pypet's shared data
            args[0]()
        return self.add_result(*_wildcards(self, args), **kwargs)

    def f_add_result_group(self, name: str, comment: str = "") -> Any:
        return self.add_result_group(*_wildcards(self, (name,)), comment)

    def f_preset_parameter(self, name: str, *args: Any, **kwargs: Any) -> None:
        _preset(self, name, args, kwargs)

    def f_preset_config(self, name: str, *args: Any, **kwargs: Any) -> None:
        _preset(self, "config." + name, args, kwargs)

    # -- removing and deleting (pypetx.compat.removal) -----------------------------------
    def f_remove(self, recursive: bool = True, predicate: Any = None) -> None:
        """Remove every node of the tree from memory (the four top groups stay)."""
        from pypetx.compat.removal import remove_all

        remove_all(self, recursive=recursive, predicate=predicate)

    def f_remove_item(self, item: Any, recursive: bool = False) -> None:
        self.f_remove_items([item], recursive=recursive)

    def f_remove_items(self, iterator: Any, recursive: bool = False) -> None:
        """Take items out of the tree in memory; the file keeps them."""
        from pypetx.compat.removal import remove_items

        remove_items(self, iterator, recursive=recursive)

    def f_delete_item(self, item: Any, *args: Any, **kwargs: Any) -> None:
        self.f_delete_items([item], *args, **kwargs)

    def f_delete_items(self, iterator: Any, *args: Any, remove_from_trajectory: bool = False,
                       recursive: bool = False, delete_only: Any = None,
                       remove_from_item: bool = False, **kwargs: Any) -> None:
        """Delete stored items from the file (see :func:`pypetx.compat.removal.delete_items`)."""
        from pypetx.compat.removal import delete_items

        delete_items(self, iterator, remove_from_trajectory=remove_from_trajectory,
                     recursive=recursive, delete_only=delete_only,
                     remove_from_item=remove_from_item)

    # -- exploration and runs -------------------------------------------------------------
    # -- pypet's views of the top groups and its natural-naming switches ------------------
    def _leaves_of(self, top: str, fast_access: bool, copy: bool = True) -> dict:
        if fast_access and not copy:  # pypet: values are no view of the tree
            raise ValueError("fast_access=True needs copy=True: the values are a new dict")
        group = self._children[top]
        return {leaf.full_name: leaf._fast_value() if fast_access else leaf
                for leaf in group.iter_leaves()}

    def f_get_parameters(self, fast_access: bool = False, copy: bool = True) -> dict:
        return self._leaves_of("parameters", fast_access, copy)

    def f_get_derived_parameters(self, fast_access: bool = False, copy: bool = True) -> dict:
        return self._leaves_of("derived_parameters", fast_access, copy)

    def f_get_config(self, fast_access: bool = False, copy: bool = True) -> dict:
        return self._leaves_of("config", fast_access, copy)

    def f_get_results(self, fast_access: bool = False, copy: bool = True) -> dict:
        return self._leaves_of("results", fast_access, copy)

    @property
    def v_shortcuts(self) -> bool:
        """pypet's switch: whether natural naming finds nodes by shortcut (default True)."""
        return self.__dict__.get("_shortcuts", True)

    @v_shortcuts.setter
    def v_shortcuts(self, value: bool) -> None:
        object.__setattr__(self, "_shortcuts", bool(value))

    def f_shrink(self, force: bool = False) -> None:
        """pypet's ``f_shrink``: drop the exploration before the runs (not after them)."""
        if getattr(self, "_dataset", None) is not None and not force:
            raise TypeError("the trajectory has run: its exploration cannot be shrunk")
        explored = self.exploration
        if explored is None:
            return
        for name in explored.names:
            node = self._get_node(name, shortcuts=False)
            node._range = None
            node.restore_default()
        self._exploration = None

    def f_explore(self, build_dict: Any) -> None:
        """pypet's exploring in several calls before the run: a second call on parameters
        not explored yet (with as many values) joins the first one, point by point."""
        explored = self.exploration
        if explored is None or getattr(self, "_dataset", None) is not None:
            self.explore(build_dict)
            return
        names = {self._resolve_explored(key).full_name for key in build_dict}
        if names & set(explored.names):
            self.explore(build_dict)  # the core's error: use f_expand to add points
            return
        merged = {name: list(self._get_node(name, shortcuts=False).range)
                  for name in explored.names}
        merged.update({key: list(values) for key, values in build_dict.items()})
        for name in explored.names:
            self._get_node(name, shortcuts=False)._range = None
        self._exploration = None
        try:
            self.explore(merged)
        except Exception:
            self._set_exploration(explored)  # as it was before the refused call
            raise

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
        """pypet's run iteration: each run is selected in turn and the run's name (default),
        index, the trajectory itself or an independent copy at that run is yielded; the
        defaults are restored afterwards."""
        n = len(self)
        if stop is None:
            stop = n
        elif stop > n:
            raise ValueError(f"stop={stop} is past the last run: trajectory {self.name!r} "
                             f"has {n} runs")
        yields = yields.lower()
        if yields not in ("name", "idx", "self", "copy"):
            raise ValueError(f"yields must be 'name', 'idx', 'self' or 'copy', not {yields!r}")
        if yields == "self":  # manual runs refuse it once pickled to another process
            import os

            self._manual_pid = os.getpid()
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
        from pypetx.core.trajectory import run_name

        if isinstance(name_or_idx, str):
            return int(name_or_idx.rpartition("_")[2])
        return run_name(int(name_or_idx))

    def f_wildcard(self, wildcard: str = "$", run_idx: int | None = None) -> str:
        """pypet's wildcard translation: ``$`` -> the run's name, ``$set`` -> its set."""
        from pypetx.compat.runresults import set_name

        idx = self.idx if run_idx is None else run_idx
        if wildcard in ("$", "crun"):
            return self.f_idx_to_run(idx)
        if wildcard in ("$set", "crunset"):
            return set_name(idx)
        raise ValueError(f"{wildcard!r} is not one of pypet's wildcards ($, crun, $set, crunset)")

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
                        max_depth: Any = None, auto_load: bool = False,
                        where: str = "results") -> Any:
        from pypetx.compat.runinfo import get_from_runs, get_from_run_groups

        if self._dataset is None:  # results added to the tree by hand, under run groups
            return get_from_run_groups(self, name, where=where, use_indices=use_indices,
                                       fast_access=fast_access, with_links=with_links,
                                       include_default_run=include_default_run)
        return get_from_runs(self, name, use_indices=use_indices, fast_access=fast_access,
                             include_default_run=include_default_run, shortcuts=shortcuts)

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
        from pypetx.compat.nodes import member_names_allowed

        with member_names_allowed(self):
            self._load_pypet(name, index, filename, as_new, load_parameters,
                             load_derived_parameters, load_results, load_data,
                             kwargs.pop("allow_pickle", False))

    def _load_pypet(self, name: Any, index: Any, filename: Any, as_new: bool,
                    load_parameters: int, load_derived_parameters: int, load_results: int,
                    load_data: Any, allow_pickle: bool) -> None:
        self.load(name=name, index=index, filename=filename, as_new=as_new,
                  load_parameters=load_parameters,
                  load_derived_parameters=load_derived_parameters,
                  load_results=load_results, load_data=load_data,
                  allow_pickle=allow_pickle)

    def f_delete_link(self, link: Any, remove_from_trajectory: bool = False) -> None:
        self.f_delete_links([link], remove_from_trajectory=remove_from_trajectory)

    def f_delete_links(self, iterator_of_links: Any, remove_from_trajectory: bool = False) -> None:
        """Delete stored links from the file (pypet's ``f_delete_links``); with
        ``remove_from_trajectory`` also from the tree in memory."""
        from pypetx.compat.removal import delete_links

        delete_links(self, iterator_of_links, remove_from_trajectory=remove_from_trajectory)

    def f_add_to_dynamic_imports(self, dynamic_imports: Any) -> None:
        """pypet's dynamic imports (classes or dotted paths of custom leaves). pypetx
        rebuilds stored leaves by class name, so they are only checked and kept."""
        items = dynamic_imports if isinstance(dynamic_imports, (list, tuple)) \
            else [dynamic_imports]
        for item in items:
            if not (isinstance(item, str) or isinstance(item, type)):
                raise TypeError(f"dynamic import {item!r} is neither a class nor a string")
        self.__dict__.setdefault("_dynamic_imports", []).extend(items)

    def f_debug(self) -> Any:
        """pypet's debugging view: an object whose attributes are the trajectory's
        children and links (``f_debug().parameters``)."""
        from types import SimpleNamespace

        return SimpleNamespace(**self.children(), **self.links)

    def f_load_skeleton(self) -> None:
        self.load(load_data=1)

    def f_load_item(self, item: Any, *args: Any, load_only: Any = None,
                    **kwargs: Any) -> None:
        self.load_item(item, load_only=load_only)

    def f_load_items(self, iterator: Any, *args: Any, **kwargs: Any) -> None:
        for item in iterator:
            self.load_item(item, load_only=kwargs.get("load_only"))

    def f_store(self, only_init: bool = False, store_data: int = 2,
                max_depth: Any = None, recursive: bool | None = None) -> None:
        if only_init and recursive is not None:  # pypet: only_init stores no nodes
            raise ValueError("f_store: only_init and recursive exclude each other")
        self.store(only_init=only_init)

    def f_store_item(self, item: Any, *args: Any, **kwargs: Any) -> None:
        # pypetx stores the tree as one unit: storing one item stores them all
        self.store()

    def f_store_items(self, iterator: Any, *args: Any, **kwargs: Any) -> None:
        self.store()

    def f_merge(self, other_trajectory: Any, **kwargs: Any) -> None:
        self.merge(other_trajectory, **kwargs)

    def f_merge_many(self, other_trajectories: Any, **kwargs: Any) -> None:
        """Merge several trajectories in turn (pypet's ``f_merge_many``); ``kwargs`` are
        ``f_merge``'s (pypet's storage options among them are accepted)."""
        for other in other_trajectories:
            self.f_merge(other, **kwargs)

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
    def v_crun(self) -> str | None:
        """The current run's name; None when no run is selected (as in pypet)."""
        return None if self.idx < 0 else self.crun

    @v_crun.setter
    def v_crun(self, name: Any) -> None:
        self.set_run(name)

    @property
    def v_crun_(self) -> str:
        """As ``v_crun``, but ``"run_ALL"`` when no run is selected."""
        return self.crun

    @property
    def v_fast_access(self) -> bool:
        return self._fast_access

    @v_fast_access.setter
    def v_fast_access(self, value: bool) -> None:
        self._fast_access = bool(value)

    @property
    def v_iter_recursive(self) -> bool:
        """Whether iterating a group (``for node in traj``) walks the whole tree below it
        (pypet's ``v_iter_recursive``; default: the direct children)."""
        return self.__dict__.get("_iter_recursive", False)

    @v_iter_recursive.setter
    def v_iter_recursive(self, value: bool) -> None:
        self._iter_recursive = bool(value)

    @property
    def v_with_links(self) -> bool:
        """Whether natural naming follows links (pypet's ``v_with_links``)."""
        return self.__dict__.get("_with_links", True)

    @v_with_links.setter
    def v_with_links(self, value: bool) -> None:
        self._with_links = bool(value)

    @property
    def v_auto_load(self) -> bool:
        return getattr(self, "_auto_load", False)

    @v_auto_load.setter
    def v_auto_load(self, value: bool) -> None:
        self._auto_load = bool(value)

    @property
    def v_standard_parameter(self) -> Any:
        return self.__dict__.get("_standard_parameter") or self.node_classes.parameter

    @v_standard_parameter.setter
    def v_standard_parameter(self, cls: Any) -> None:
        self._standard_parameter = cls

    @property
    def v_standard_result(self) -> Any:
        return self.standard_result or self.node_classes.result

    @v_standard_result.setter
    def v_standard_result(self, cls: Any) -> None:
        self.standard_result = cls

    @property
    def v_trajectory(self) -> Any:
        return self

    @property
    def v_storage_service(self) -> Any:
        """pypet's storage service: an :class:`~pypetx.compat.storage.HDF5StorageService`
        naming the trajectory's file (None without a file)."""
        from pypetx.compat.storage import storage_service_of

        return storage_service_of(self)

    @v_storage_service.setter
    def v_storage_service(self, service: Any) -> None:
        from pypetx.compat.storage import use_storage_service

        use_storage_service(self, service)

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


# pypet's abbreviations of its adding methods
TrajectoryCompat.f_apar = TrajectoryCompat.f_add_parameter
TrajectoryCompat.f_adpar = TrajectoryCompat.f_add_derived_parameter
TrajectoryCompat.f_ares = TrajectoryCompat.f_add_result
