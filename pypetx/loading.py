"""Load a stored trajectory (tree + lazy result cube + exploration) and store it again.

``load(path)`` gives a :class:`~pypetx.trajectory.Trajectory` whose tree comes from the
file's ``<name>/_tree`` group, whose exploration is the stored one (so ``traj.v_idx = 3``
works) and whose results are the cube, opened lazily (``traj.dataset``). pypet's loading
modes apply per part of the tree (parameters and config, derived parameters, results):

========  ==================  ==============================================================
value     pypet name          meaning
========  ==================  ==============================================================
0         ``LOAD_NOTHING``    the part is not loaded
1         ``LOAD_SKELETON``   nodes with comments and annotations, but empty (see
                              :func:`load_item`); explored parameters keep their ranges
2         ``LOAD_DATA``       nodes and values
3         ``OVERWRITE_DATA``  as 2 (loading always replaces the tree in memory)
========  ==================  ==============================================================

Run results live in the cube whatever the mode: they are read cell by cell on access
(``traj.res.runs.run_00000001.z``), never all at once.
"""

from __future__ import annotations

import json
import os
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pypetx.compat.constants import LOAD_DATA, LOAD_NOTHING, LOAD_SKELETON
from pypetx.compat.exceptions import DataNotInStorageError
from pypetx.errors import StorageError

__all__ = ["get_from_runs", "is_completed", "load", "load_into", "load_item",
           "run_information", "store", "trajectory_names"]

PathLike = str | os.PathLike[str]
_TOPS = ("config", "parameters", "derived_parameters", "results")


# -- which trajectory -----------------------------------------------------------------------

def trajectory_names(path: PathLike) -> list[str]:
    """The trajectories in ``path`` in the order they were created (pypet's ``index``)."""
    from pypetx.store.load import list_trajectories, open_results

    names = list_trajectories(path)

    def created(name: str) -> float:
        with open_results(path, name) as ds:
            return float(ds.attrs.get("timestamp", 0.0))

    return sorted(names, key=lambda n: (created(n), n))


def _pick(path: PathLike, name: str | None, index: int | None, fallback: str | None) -> str:
    if not Path(path).exists():
        raise DataNotInStorageError(f"no results file at {path}")
    if name is not None and index is not None:
        raise ValueError("give a trajectory name or an index, not both")
    names = trajectory_names(path)
    if not names:
        raise DataNotInStorageError(f"{path} holds no pypetx trajectory")
    if index is not None:
        try:
            return names[index]
        except IndexError:
            raise DataNotInStorageError(
                f"{path} holds {len(names)} trajectories ({', '.join(names)}); "
                f"there is no index {index}") from None
    if name is None:
        if fallback in names or len(names) > 1:
            name = fallback
        else:
            name = names[0]
    if name not in names:
        raise DataNotInStorageError(
            f"{path} has no trajectory {name!r}; available: {', '.join(names)} "
            f"(pass name= or index=)")
    return name


# -- reading the tree -------------------------------------------------------------------------

def _top(path: str) -> str:
    return path.partition(".")[0]


def _levels(load_parameters: int, load_derived_parameters: int, load_results: int,
            load_other_data: int | None, load_data: int | None) -> dict[str, int]:
    if load_data is not None:  # pypet: load_data overrides every part
        load_parameters = load_derived_parameters = load_results = load_data
    levels = {"parameters": load_parameters, "config": load_parameters,
              "derived_parameters": load_derived_parameters, "results": load_results}
    for key, level in levels.items():
        if level not in (0, 1, 2, 3):
            raise ValueError(f"loading mode for {key} must be LOAD_NOTHING (0), LOAD_SKELETON "
                             f"(1), LOAD_DATA (2) or OVERWRITE_DATA (3), not {level!r}")
    del load_other_data  # pypet's "other data" (groups outside the four tops) has no place
    return levels


def read_records(path: PathLike, name: str, *, values: Callable[[Mapping], bool],
                 allow_pickle: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Stored records and attributes; only records where ``values(rec)`` get their value
    read (the others have ``value=None``): a skeleton load reads no data."""
    import xarray as xr

    from pypetx.store.codec import TREE_GROUP, decode_tree

    group = f"{name}/{TREE_GROUP}"
    try:
        if str(path).rstrip("/").endswith(".zarr") or Path(path).is_dir():
            tree = xr.open_zarr(str(path), group=group, chunks=None, consolidated=False)
        else:
            tree = xr.open_dataset(path, engine="h5netcdf", group=group)
    except (OSError, ValueError, KeyError) as e:
        raise StorageError(f"{path} group {name} has no readable tree ({group}): {e}") from e
    with tree:
        entries = json.loads(tree.attrs["pypetx_records"])
        for entry in entries:
            if "value_vars" in entry and not values(entry):
                entry.pop("value_vars")
                entry["skeleton"] = True
        tree.attrs["pypetx_records"] = json.dumps(entries)
        # decode_tree reads only the variables the remaining records name
        return decode_tree(tree, allow_pickle=allow_pickle, where=f"{path} group {name}")


def _explored_values(values: list, node: Any, kind: str | None) -> list:
    """JSON-restored explored values back in the parameter's type (lists -> arrays...)."""
    default = node.default
    if isinstance(default, np.ndarray) or (default is None and kind == "array"):
        dtype = default.dtype if isinstance(default, np.ndarray) else None
        return [np.asarray(v, dtype=dtype) for v in values]
    if isinstance(default, tuple) or kind == "tuple":
        return [tuple(v) for v in values]
    return values


def _restore_exploration(traj: Any, path: PathLike, name: str,
                         kinds: Mapping[str, str | None]) -> None:
    from pypetx.explore import Exploration
    from pypetx.store.load import stored_exploration

    data = stored_exploration(path, name)
    if data["names"] == ["run"]:
        return  # an unexplored trajectory: stored as a single run
    if data.get("repr"):
        warnings.warn(f"{path} group {name}: the explored values have no JSON form; the "
                      "exploration is not restored (the results are in traj.dataset)",
                      stacklevel=3)
        return
    columns = {}
    for full in data["names"]:
        node = traj.get(full, None, shortcuts=False)
        if node is None:  # parameters not loaded (LOAD_NOTHING)
            return
        columns[full] = _explored_values(data["columns"][full], node, kinds.get(full))
    axes = data.get("axes")
    exploration = Exploration(columns, None if axes is None else tuple(map(tuple, axes)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate points were reported when explored
        traj._set_exploration(exploration)


def _build(cls: type, path: PathLike, name: str, levels: Mapping[str, int],
           allow_pickle: bool, with_dataset: bool) -> Any:
    from pypetx.store.load import open_results

    records, attrs = read_records(
        path, name, allow_pickle=allow_pickle,
        values=lambda rec: levels.get(_top(rec["path"]), LOAD_DATA) >= LOAD_DATA)
    kept = [r for r in records
            if r["path"] in _TOPS or levels.get(_top(r["path"]), LOAD_DATA) > LOAD_NOTHING]
    present = {r["path"] for r in kept}
    kept = [r for r in kept if r["type"] != "link" or r["target"] in present]
    for rec in kept:
        if rec.get("skeleton") and rec["type"] == "result":
            rec["value"] = 0  # a stand-in the result accepts; removed just below
    traj = cls.from_records(kept, attrs)
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
    if with_dataset:
        traj._dataset = open_results(path, name)
    return traj


# -- public entry points ------------------------------------------------------------------------

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
    DataNotInStorageError
        No such file or trajectory (a :class:`~pypetx.errors.StorageError`).
    """
    from pypetx.trajectory import Trajectory

    name = _pick(path, name, index, None)
    levels = _levels(load_parameters, load_derived_parameters, load_results,
                     load_other_data, load_data)
    if as_new:
        levels.update(derived_parameters=LOAD_NOTHING, results=LOAD_NOTHING)
    return _build(cls or Trajectory, path, name, levels, allow_pickle, not as_new)


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
    name = _pick(path, name, index, traj.name)
    if as_new:
        levels.update(derived_parameters=LOAD_NOTHING, results=LOAD_NOTHING)
    fresh = _build(type(traj), path, name, levels, allow_pickle, not as_new)
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
    from pypetx.tree import Group

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
        raise DataNotInStorageError(
            f"{path} group {traj.name} has no stored data for {', '.join(sorted(missing))}; "
            "store it first (traj.f_store())")


def _in_engine_run(traj: Any) -> bool:
    """Whether ``traj`` is the skeleton a run is executing with (on a worker)."""
    from pypetx.engine import task

    return getattr(traj, "_manual_run", False) or any(
        spec.skeleton is traj for spec in task._SPECS.values())


def store(traj: Any, path: PathLike | None = None, *, only_init: bool = False) -> None:
    """pypet's ``f_store``: write the tree (and runs done with ``manual_run``) to the file.

    Inside a run this does nothing: the engine stores every run's results when the run
    ends (pypet scripts call ``traj.f_store()`` in run functions to store early). Outside
    a run it rewrites the stored tree atomically, keeping the stored result cube; a
    trajectory never run is stored with its runs marked not completed.
    """
    from pypetx.compat.manual import flush_manual_runs
    from pypetx.store import open_store
    from pypetx.store.load import list_trajectories

    if _in_engine_run(traj):
        return
    path = path if path is not None else traj._store_path
    if path is None:
        raise ValueError(f"trajectory {traj.name!r} has no file: pass filename= to "
                         "Trajectory(...) or to Environment(...)")
    traj._store_path = str(path)
    if traj.__dict__.pop("_overwrite", False):  # Trajectory(overwrite_file=True), as pypet
        _remove_file(path)
    stored = Path(path).exists() and traj.name in list_trajectories(path)
    attrs = {"name": traj.name, "comment": traj.comment, "timestamp": traj._timestamp}
    records = traj.to_records()
    if stored:
        records, stored_attrs = _with_stored(path, traj.name, records)
        attrs = {**stored_attrs, **attrs}
        if _placeholder(path, traj):
            if traj._dataset is not None:  # HDF5: no writer while a reader has it open
                traj._dataset.close()
                traj._dataset = None
            _drop_group(path, traj.name)
            stored = False
    from pypetx.explore import Exploration

    exploration = traj.exploration or Exploration({"run": [0]})
    backend = open_store(path, traj.name)
    try:
        backend.open(exploration, records, attrs, resume=stored)
        flush_manual_runs(traj, backend)
        if traj._dataset is not None:
            traj._dataset.close()
        traj._dataset = backend.finalize()
    finally:
        backend.close()
    del only_init  # the tree is small: pypet's "only the skeleton" is the whole tree here


def _with_stored(path: PathLike, name: str, records: list[dict[str, Any]]
                 ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``records`` plus the stored leaves they lack, as pypet's storing never deletes:
    an emptied result, a skeleton-loaded leaf or a node not loaded keeps its stored data."""
    def key(rec: Mapping) -> tuple:
        return rec["path"], rec.get("item")

    have = {key(r) for r in records if r["type"] not in ("group", "link")
            and not (r["value"] is None and r["type"] != "result")}
    paths = {r["path"] for r in records}
    stored, attrs = read_records(path, name, allow_pickle=True,
                                 values=lambda r: key(r) not in have)
    extra = [r for r in stored if not r.get("skeleton") and key(r) not in have and (
        r["type"] not in ("group", "link") or r["path"] not in paths)]
    replaced = {key(r) for r in extra}
    return [r for r in records if key(r) not in replaced] + extra, attrs


def _remove_file(path: PathLike) -> None:
    import shutil

    for p in (Path(path), Path(f"{path}.pypetx")):
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def _placeholder(path: PathLike, traj: Any) -> bool:
    """Whether the stored group is the single-run stand-in of a trajectory explored since."""
    from pypetx.store.load import open_results, stored_exploration

    if traj.exploration is None or stored_exploration(path, traj.name)["names"] != ["run"]:
        return False
    with open_results(path, traj.name) as ds:
        return not bool(ds["completed"].any())


def _drop_group(path: PathLike, name: str) -> None:
    if Path(path).is_dir():
        import shutil

        shutil.rmtree(Path(path) / name)
        return
    import h5py

    with h5py.File(path, "a") as f:
        del f[name]


# -- results of all runs, run information --------------------------------------------------------

def get_from_runs(traj: Any, name: str, *, use_indices: bool = False,
                  fast_access: bool = False, include_default_run: bool = True) -> OrderedDict:
    """pypet's ``f_get_from_runs``: run name (or index) -> value of result ``name``, for
    every completed run that has it. Reads the variable once, not run by run."""
    from pypetx.compat.runresults import cell_index
    from pypetx.parameters import Result
    from pypetx.runview import result_variable

    ds = traj._dataset
    if ds is None:
        raise DataNotInStorageError(f"trajectory {traj.name!r} has no results yet: run it "
                                    "(env.run) or load it (f_load)")
    var = result_variable(name)
    if var not in ds.data_vars:
        items = sorted(v for v in ds.data_vars if v.startswith(var + "."))
        if not items:
            return OrderedDict()
        values = {i: get_from_runs(traj, i, use_indices=True, fast_access=True)
                  for i in items}
        out = OrderedDict()
        for idx in sorted(set().union(*values.values())):
            res = Result(var.rpartition(".")[2], **{
                i.rpartition(".")[2]: v[idx] for i, v in values.items() if idx in v})
            out[idx if use_indices else traj.f_idx_to_run(idx)] = res
        return out
    ragged = f"{var}_count" in ds.data_vars
    data = None if ragged else np.asarray(ds[var].values)
    completed = np.asarray(ds["completed"].values)
    out = OrderedDict()
    for idx in range(len(traj)):
        where = cell_index(traj, idx)
        pos = tuple(where.values())
        if not completed[pos]:
            continue
        if ragged:
            from pypetx.compat.runresults import cell_value

            value = cell_value(traj, var, idx)
        else:
            cell = data[pos]
            value = cell.item() if np.ndim(cell) == 0 and hasattr(cell, "item") else cell
        out[idx if use_indices else traj.f_idx_to_run(idx)] = (
            value if fast_access else Result(var.rpartition(".")[2], value))
    del include_default_run  # pypetx has no run_ALL results group
    return out


def run_information(traj: Any, name_or_idx: Any = None) -> Any:
    """pypet's ``f_get_run_information``: a dict per run (all runs when no run is given)
    with ``name``, ``idx``, ``completed``, ``failed``, ``runtime`` (s), ``worker``, ``error``."""
    if name_or_idx is None:
        return OrderedDict((n, run_information(traj, i)) for i, n in enumerate(traj.run_names))
    idx = traj.f_idx_to_run(name_or_idx) if isinstance(name_or_idx, str) else int(name_or_idx)
    info = {"name": traj.f_idx_to_run(idx), "idx": idx, "completed": 0, "failed": 0,
            "runtime": float("nan"), "worker": "", "error": ""}
    ds = traj._dataset
    if ds is not None and "completed" in ds:
        from pypetx.compat.runresults import cell_index
        from pypetx.store.status import run_status

        info.update(run_status(ds, cell_index(traj, idx), idx))
    return info


def is_completed(traj: Any, name_or_idx: Any = None) -> bool:
    """Whether a run (or, with no argument, every run) completed."""
    ds = traj._dataset
    if ds is None or "completed" not in ds:
        return False
    if name_or_idx is None:
        return bool(ds["completed"].all())
    return bool(run_information(traj, name_or_idx)["completed"])
