"""Write a trajectory's tree to its file (pypet's ``f_store``), or replace the stored one."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pypetx.env.loading.files import drop_group, remove_file
from pypetx.env.loading.reading import read_records

PathLike = str | os.PathLike[str]


def _in_engine_run(traj: Any) -> bool:
    """Whether ``traj`` is the skeleton a run is executing with (on a worker)."""
    from pypetx.engine import task

    return getattr(traj, "_manual_run", False) or task.runs_with(traj)


def _file_of(traj: Any, path: PathLike | None) -> str:
    path = path if path is not None else traj._store_path
    if path is None:
        raise ValueError(f"trajectory {traj.name!r} has no file: pass filename= to "
                         "Trajectory(...) or to Environment(...)")
    traj._store_path = str(path)
    return str(path)


def _write(traj: Any, path: PathLike, records: list[dict[str, Any]], attrs: Mapping[str, Any],
           *, resume: bool, storage: str = "auto", complevel: int | None = None) -> None:
    """Write ``records`` as the stored tree (with the runs done by ``manual_run``) and
    reopen the cube as ``traj.dataset``."""
    from pypetx.core.explore import Exploration
    from pypetx.store import open_store

    exploration = traj.exploration or Exploration({"run": [0]})
    opts = {} if complevel is None else {"complevel": complevel}
    backend = open_store(path, traj.name, storage=storage, **opts)
    try:
        backend.open(exploration, records, attrs, resume=resume)
        for batch in traj.take_pending_batches():  # pypet's manual runs
            backend.write_batch(batch)
        if traj._dataset is not None:  # HDF5: no writer while a reader has it open
            traj._dataset.close()
        traj._dataset = backend.finalize()
    finally:
        backend.close()


def store(traj: Any, path: PathLike | None = None, *, only_init: bool = False,
          storage: str = "auto", complevel: int | None = None) -> None:
    """pypet's ``f_store``: write the tree (and runs done with ``manual_run``) to the file.

    Inside a run this does nothing: the engine stores every run's results when the run
    ends (pypet scripts call ``traj.f_store()`` in run functions to store early). Outside
    a run it rewrites the stored tree atomically, keeping the stored result cube and the
    stored leaves the tree in memory lacks (storing never deletes: see
    :func:`replace_stored`); a trajectory never run is stored with its runs marked not
    completed. ``storage`` and ``complevel`` choose the backend as the Environment's do.
    """
    from pypetx.store.load import list_trajectories

    if _in_engine_run(traj):
        return
    path = _file_of(traj, path)
    if traj.__dict__.pop("_overwrite", False):  # Trajectory(overwrite_file=True), as pypet
        remove_file(path)
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
            drop_group(path, traj.name)
            stored = False
    _write(traj, path, records, attrs, resume=stored, storage=storage, complevel=complevel)
    del only_init  # the tree is small: pypet's "only the skeleton" is the whole tree here


def replace_stored(traj: Any, path: PathLike | None = None) -> None:
    """Make ``traj``'s tree the stored tree of its trajectory: stored leaves it lacks are
    deleted (pypet's ``f_delete_items``). The result cube is kept; the trajectory must be
    stored already, with this exploration or one it expands."""
    path = _file_of(traj, path)
    _, attrs = read_records(path, traj.name, values=lambda rec: False)
    attrs = {**attrs, "name": traj.name, "comment": traj.comment}
    _write(traj, path, traj.to_records(), attrs, resume=True)


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


def _placeholder(path: PathLike, traj: Any) -> bool:
    """Whether the stored group is the single-run stand-in of a trajectory explored since."""
    from pypetx.store.load import explored_names, open_results

    if traj.exploration is None or explored_names(path, traj.name) != ["run"]:
        return False
    with open_results(path, traj.name) as ds:
        return not bool(ds["completed"].any())
