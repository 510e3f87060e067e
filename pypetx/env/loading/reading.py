"""Read a stored trajectory's tree and exploration into a Trajectory (pypet's ``f_load``)."""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from pypetx.base.errors import NotStoredError
from pypetx.env.loading.files import pick
from pypetx.env.loading.modes import LOAD_DATA, LOAD_NOTHING, LOAD_SKELETON, MODES

PathLike = str | os.PathLike[str]
_TOPS = ("config", "parameters", "derived_parameters", "results")


def _top(path: str) -> str:
    return path.partition(".")[0]


def _levels(load_parameters: int, load_derived_parameters: int, load_results: int,
            load_other_data: int | None, load_data: int | None) -> dict[str, int]:
    if load_data is not None:  # pypet: load_data overrides every part
        load_parameters = load_derived_parameters = load_results = load_data
    levels = {"parameters": load_parameters, "config": load_parameters,
              "derived_parameters": load_derived_parameters, "results": load_results}
    for key, level in levels.items():
        if level not in MODES:
            raise ValueError(f"loading mode for {key} must be LOAD_NOTHING (0), LOAD_SKELETON "
                             f"(1), LOAD_DATA (2) or OVERWRITE_DATA (3), not {level!r}")
    del load_other_data  # pypet's "other data" (groups outside the four tops) has no place
    return levels


def read_records(path: PathLike, name: str, *, values: Callable[[Mapping], bool],
                 allow_pickle: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Stored records and attributes; only records where ``values(rec)`` get their value
    read (the others have ``value=None``): a skeleton load reads no data."""
    from pypetx.store.codec import decode_tree
    from pypetx.store.load import open_tree

    tree = open_tree(path, name)
    entries = json.loads(tree.attrs["pypetx_records"])
    for entry in entries:
        if "value_vars" in entry and not values(entry):
            entry.pop("value_vars")
            entry["skeleton"] = True
    tree.attrs["pypetx_records"] = json.dumps(entries)
    # decode_tree decodes only the variables the remaining records name
    return decode_tree(tree, allow_pickle=allow_pickle, where=f"{path} group {name}")


def _explored_values(values: list, node: Any, kind: str | None) -> list:
    """Explored values as JSON gave them back in the parameter's type (lists -> arrays or
    tuples); values the codec restored already (Brian2 quantities: arrays) are kept."""
    default = node.default
    if isinstance(default, np.ndarray) or (default is None and kind == "array"):
        dtype = default.dtype if isinstance(default, np.ndarray) else None
        return [v if isinstance(v, np.ndarray) else np.asarray(v, dtype=dtype) for v in values]
    if isinstance(default, tuple) or kind == "tuple":
        return [tuple(v) for v in values]
    return values


def _restore_exploration(traj: Any, path: PathLike, name: str,
                         kinds: Mapping[str, str | None]) -> None:
    from pypetx.store.load import exploration_description, read_exploration, reading

    with reading(path):  # one handle for the description and its values
        desc = exploration_description(path, name)
        if desc["names"] == ["run"]:
            return  # an unexplored trajectory: stored as a single run
        if desc.get("repr"):
            warnings.warn(f"{path} group {name}: the explored values have no JSON form; the "
                          "exploration is not restored (the results are in traj.dataset)",
                          stacklevel=3)
            return
        nodes = {full: traj.get(full, None, shortcuts=False) for full in desc["names"]}
        if any(node is None for node in nodes.values()):
            return  # parameters not loaded (LOAD_NOTHING)
        # a grid comes back from its stored axes; only its axis values are converted
        exploration = read_exploration(path, name, convert=lambda full, values: (
            _explored_values(values, nodes[full], kinds.get(full))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate points were reported when explored
        traj._set_exploration(exploration)


def _build(cls: type, path: PathLike, choice: tuple[str | None, int | None, str | None],
           levels: Mapping[str, int], allow_pickle: bool, with_dataset: bool,
           as_new: bool = False) -> Any:
    """The trajectory ``pick(path, *choice)`` of ``path``: its names, attributes, tree and
    exploration read through one handle on the file, then its cube opened lazily."""
    from pypetx.store.load import open_results, reading

    # a missing file: pick raises NotStoredError
    with reading(path) if os.path.exists(path) else contextlib.nullcontext():
        name = pick(path, *choice)
        traj = _from_file(cls, path, name, levels, allow_pickle, as_new)
        if with_dataset:  # the cube keeps a handle of its own
            traj._dataset = open_results(path, name)
    return traj


def _from_file(cls: type, path: PathLike, name: str, levels: Mapping[str, int],
               allow_pickle: bool, as_new: bool) -> Any:
    from pypetx.store.load import explored_names

    # as_new leaves derived parameters out, but an explored one (pypet explores them
    # too) is part of the exploration to run again: loaded with its data.
    explored = set(explored_names(path, name)) if as_new else set()

    def level(rec: Mapping) -> int:
        return LOAD_DATA if rec["path"] in explored else levels.get(_top(rec["path"]), LOAD_DATA)

    records, attrs = read_records(path, name, allow_pickle=allow_pickle,
                                  values=lambda rec: level(rec) >= LOAD_DATA)
    kept = [r for r in records if r["path"] in _TOPS or level(r) > LOAD_NOTHING]
    present = {r["path"] for r in kept}
    kept = [r for r in kept if r["type"] != "link" or r["target"] in present]
    for rec in kept:
        if rec.get("skeleton") and rec["type"] == "result":
            rec["value"] = 0  # a stand-in the result accepts; removed just below
    traj = cls.from_records(kept, {**attrs, "name": name})  # the group names it
    for rec in kept:
        if rec.get("skeleton"):  # a skeleton leaf: the node without its data
            node = traj.get(rec["path"], shortcuts=False)
            if rec["type"] == "result":
                node._data.pop(rec.get("item", node.name), None)
                node._kinds.pop(rec.get("item", node.name), None)
            else:
                node._default = node._value = None
    _restore_exploration(traj, path, name, {r["path"]: r.get("kind") for r in kept})
    traj._store_path = str(path)
    traj._allow_pickle = allow_pickle
    return traj


def load(path: PathLike, name: str | None = None, *, index: int | None = None,
         allow_pickle: bool = False, load_parameters: int = LOAD_DATA,
         load_derived_parameters: int = LOAD_DATA, load_results: int = LOAD_DATA,
         load_other_data: int | None = None, load_data: int | None = None,
         as_new: bool = False, cls: type | None = None) -> Any:
    """Load trajectory ``name`` (or number ``index``, in creation order) from ``path``.

    Parameters
    ----------
    path : path-like
        HDF5 results file or Zarr store.
    name : str, optional
        Trajectory name; may be omitted when the file holds one trajectory.
    index : int, optional
        Instead of ``name``: position in creation order (``-1``: the newest), as in pypet.
    allow_pickle : bool, default False
        Needed to load values stored pickled (loading them can run code).
    load_parameters, load_derived_parameters, load_results : int
        ``LOAD_NOTHING`` (0), ``LOAD_SKELETON`` (1) or ``LOAD_DATA`` (2), per part of the
        tree (``load_parameters`` covers config too). Default: everything.
    load_data : int, optional
        Overrides the three above.
    as_new : bool
        Load only parameters and exploration, without results, to run them again.

    Returns
    -------
    Trajectory
        With the lazy result cube as ``traj.dataset`` (unless ``as_new``).

    Raises
    ------
    NotStoredError
        No such file or trajectory (a :class:`~pypetx.base.errors.StorageError`).
    """
    from pypetx.core.trajectory import Trajectory

    if name is not None and index is not None:
        raise ValueError("give a trajectory name or an index, not both")
    levels = _levels(load_parameters, load_derived_parameters, load_results,
                     load_other_data, load_data)
    if as_new:
        levels.update(derived_parameters=LOAD_NOTHING, results=LOAD_NOTHING)
    return _build(cls or Trajectory, path, (name, index, None), levels, allow_pickle,
                  not as_new, as_new)


def load_into(traj: Any, path: PathLike | None = None, name: str | None = None, *,
              index: int | None = None, as_new: bool = False,
              load_parameters: int = LOAD_DATA, load_derived_parameters: int = LOAD_SKELETON,
              load_results: int = LOAD_SKELETON, load_other_data: int | None = None,
              load_data: int | None = None, allow_pickle: bool = False,
              **_pypet_options: Any) -> Any:
    """pypet's ``traj.f_load(...)``: replace ``traj``'s tree by the stored one, in place.

    The defaults are pypet's (parameters with data, derived parameters and results as
    skeleton). ``path`` defaults to the trajectory's file (``Trajectory(filename=...)`` or
    the Environment's), ``name`` to the trajectory's own name or the only one in the file.
    With ``as_new`` the trajectory keeps its name and gets the stored parameters and
    exploration only (to run them again). pypet options without meaning here (``force``,
    ``dynamic_imports``, ``with_run_information``, ...) are accepted.
    """
    path = path if path is not None else traj._store_path
    if path is None:
        raise ValueError(f"trajectory {traj.name!r} has no file: pass filename= to "
                         "Trajectory(...) or f_load(filename=...)")
    levels = _levels(load_parameters, load_derived_parameters, load_results,
                     load_other_data, load_data)
    if name is not None and index is not None:
        raise ValueError("give a trajectory name or an index, not both")
    if as_new:
        levels.update(derived_parameters=LOAD_NOTHING, results=LOAD_NOTHING)
    fresh = _build(type(traj), path, (name, index, traj.name), levels, allow_pickle,
                   not as_new, as_new)
    keep = {k: v for k, v in traj.__dict__.items()
            if k in ("_fast_access", "_auto_load", "_standard_parameter", "_standard_result")}
    if as_new:
        keep.update(_name=traj._name, _timestamp=traj._timestamp)
    for key, value in {**fresh.__dict__, **keep}.items():
        object.__setattr__(traj, key, value)
    for child in traj._children.values():
        child._parent = traj
    if as_new:
        for leaf in traj._children["parameters"].iter_leaves():
            leaf.unlock()
    return traj


def load_item(traj: Any, item: Any, *, load_only: Any = None, allow_pickle: bool | None = None
              ) -> None:
    """pypet's ``f_load_item``: fill a skeleton leaf (or every leaf of a group) from the file.

    ``load_only`` names the items of a result to load (the others are left out).
    """
    from pypetx.core.tree import Group

    node = traj.get(item) if isinstance(item, str) else item
    if not hasattr(node, "full_name"):  # a run view: read lazily already
        return
    leaves = list(node.iter_leaves()) if isinstance(node, Group) else [node]
    if isinstance(load_only, str):
        load_only = [load_only]
    wanted = {leaf.full_name for leaf in leaves}
    path = traj._store_path
    if path is None:
        raise ValueError(f"trajectory {traj.name!r} has no file to load {node.full_name!r} from")
    pickle_ok = getattr(traj, "_allow_pickle", False) if allow_pickle is None else allow_pickle
    records, _ = read_records(path, traj.name, allow_pickle=pickle_ok,
                              values=lambda rec: rec["path"] in wanted and (
                                  load_only is None or rec.get("item") in load_only))
    found = set()
    for rec in records:
        if rec["path"] not in wanted or rec.get("skeleton") or rec["type"] == "link":
            continue
        leaf = traj.get(rec["path"], shortcuts=False)
        found.add(rec["path"])
        if rec["type"] == "result":
            leaf._put(rec.get("item", leaf.name), rec["value"])
            if rec.get("kind"):
                leaf._kinds[rec.get("item", leaf.name)] = rec["kind"]
        elif hasattr(leaf, "_default"):
            leaf._default = rec["value"]
            if not leaf.is_explored or traj.idx < 0:
                leaf._value = rec["value"]
            leaf._kind = rec.get("kind") or leaf._kind
    missing = wanted - found
    if missing and load_only is None:
        raise NotStoredError(
            f"{path} group {traj.name} has no stored data for {', '.join(sorted(missing))}; "
            "store it first (traj.f_store())")
