"""Consolidate a few journaled runs into a stored HDF5 cube by patching a copy of it.

A resume or ``rerun_failed`` that adds 1 % of the runs must cost what is missing, not what
is stored: assembling the whole cube again from the file and the journal (what
:meth:`JournaledStore.finalize` does) reads, re-validates and rewrites every run. When the
journal only fills cells of the stored cube (the same exploration, the same tree, results
the file already holds with the same dtype and shape), the file is instead copied (at
disk speed: ``copy_file_range``), the copy patched in place: the status variables, the
failure table, the touched regions of the result variables and the attributes; then the
copy is fsynced and renamed over the file, exactly as a full rewrite is. A ``kill -9``
at any moment leaves the old file, the journal, or the new file: never a half-patched one.

:func:`patch_commit` returns False, writing nothing, whenever any of that does not hold;
the caller then rewrites the cube in full.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pypetx.store.codec import TREE_GROUP
from pypetx.store.journal import JournalEntry, fsync_dir
from pypetx.store.layout import FAILURE_DIM, FIXED, NO_WORKER, WORKER_NAMES, fill_value
from pypetx.store.base import JournaledStore
from pypetx.store.sources import JournalSource

__all__ = ["patch_commit"]

_FAILURE = (FAILURE_DIM, "failure_run", "failure_error", "failure_traceback")
_ENCODED = ("scale_factor", "add_offset", "missing_value", "units_", "calendar")


def patch_commit(store: JournaledStore, entries: Sequence[JournalEntry],
                 attrs_update: Mapping[str, Any] | None, tmp: Path) -> bool:
    """Commit ``entries`` into ``store``'s stored cube by patching a copy of the file.

    ``tmp`` is the temporary copy's path (next to the file). Returns True when the file
    was replaced by the patched copy, False (nothing written) when the journal does not
    fit the stored cube as it is (see the module docstring).
    """
    path, name = store.path, store.name
    if not entries or not path.exists():
        return False
    sources = [JournalSource(e) for e in entries]
    cube_attrs = store._cube_attrs(attrs_update)
    tree = store._tree(attrs_update)
    with h5py.File(path, "r") as f:
        if not _fits(f, name, store, sources, cube_attrs, tree):
            return False
    tmp.unlink(missing_ok=True)
    try:
        shutil.copyfile(path, tmp)
        with h5py.File(tmp, "r+") as f:
            _patch(f[name], store, sources)
            _set_attrs(f[name], cube_attrs)
            _set_attrs(f[name][TREE_GROUP], dict(tree.attrs))
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        store._release_stored()
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return True


def _fits(f: h5py.File, name: str, store: JournaledStore, sources: list[JournalSource],
          cube_attrs: Mapping[str, Any], tree: Any) -> bool:
    """Whether the journal only fills cells of the stored cube, as it is."""
    if name not in f or TREE_GROUP not in f[name]:
        return False
    g = f[name]
    if _text(g.attrs.get("pypetx_exploration")) != cube_attrs["pypetx_exploration"]:
        return False  # expanded (or another layout): the cube's shape changes
    if _text(f[name][TREE_GROUP].attrs.get("pypetx_records")) != tree.attrs.get("pypetx_records"):
        return False
    stored_tree = f[name][TREE_GROUP]
    if set(stored_tree) != set(tree.variables):
        return False
    for var, value in tree.variables.items():
        if not np.array_equal(np.asarray(stored_tree[var][()]), np.asarray(value.values)):
            return False
    for var in ("completed", "failed", "duration", "worker", *_FAILURE):
        if var not in g:
            return False
    if any(g[v].maxshape[0] is not None for v in _FAILURE):
        return False  # a fixed-size failure table cannot be resized in place
    shape = tuple(int(s) for s in store.exploration.shape)
    if g["completed"].shape != shape:
        return False
    for src in sources:
        if src.entry.meta.get("worker_written"):
            return False
        for rname, info in src.infos.items():
            if rname not in g or info.mode != FIXED or info.dtype.kind not in "iuf":
                return False
            ds = g[rname]
            if (_text(ds.attrs.get("pypetx_mode")) != FIXED or ds.dtype != info.dtype
                    or tuple(ds.shape) != shape + tuple(info.shape or ())
                    or any(k in ds.attrs for k in _ENCODED)):
                return False
            if info.dtype.kind in "iu" and "_FillValue" not in ds.attrs:
                rows = np.arange(len(src.runs))
                if not src.present(rname, rows).all():
                    return False  # a missing value needs the fill value marked
    return True


def _patch(g: h5py.Group, store: JournaledStore, sources: list[JournalSource]) -> None:
    exploration = store.exploration
    shape = tuple(int(s) for s in exploration.shape)
    ncell = int(np.prod(shape))
    cells_of = (np.asarray(exploration.cells(), np.int64) if exploration.axes is not None
                else np.arange(exploration.n_runs, dtype=np.int64))
    status = {v: g[v][...].reshape(ncell) for v in ("completed", "failed", "duration",
                                                    "worker")}
    workers = [str(w) for w in json.loads(_text(g["worker"].attrs.get(WORKER_NAMES)) or "[]")]
    code_of = {w: k for k, w in enumerate(workers)}
    failed_run = np.asarray(g["failure_run"][...], np.int64)
    messages = {int(r): (_text(e), _text(t)) for r, e, t in zip(
        failed_run, g["failure_error"][...], g["failure_traceback"][...])}
    for src in sources:  # in journal order: a later batch wins for a run
        rows = np.arange(len(src.runs))
        runs = np.asarray(src.runs, np.int64)
        cells = cells_of[runs]
        completed = np.asarray(src.status("completed", rows), bool)
        failed = np.asarray(src.status("failed", rows), bool)
        status["completed"][cells] = completed
        status["failed"][cells] = failed
        status["duration"][cells] = np.asarray(src.status("duration", rows), np.float64)
        names, codes = src.workers(rows)
        table = np.array([code_of.setdefault(n, len(code_of)) if n else NO_WORKER
                          for n in names] + [NO_WORKER], np.int32)
        codes = np.asarray(codes, np.int64)
        status["worker"][cells] = table[np.where(codes >= 0, codes, len(names))]
        errors, tracebacks = src.messages(rows)
        for k, run in enumerate(runs.tolist()):
            if failed[k]:
                messages[run] = (_text(errors[k]), _text(tracebacks[k]))
            else:
                messages.pop(run, None)
        for rname in src.infos:
            _patch_result(g[rname], src, rname, cells, shape)
    for v, arr in status.items():
        g[v][...] = arr.reshape(shape)
    g["worker"].attrs[WORKER_NAMES] = json.dumps(list(code_of))
    runs = np.array(sorted(messages), np.int64)
    for v in _FAILURE:
        g[v].resize((len(runs),))
    if len(runs):
        g[FAILURE_DIM][...] = cells_of[runs]
        g["failure_run"][...] = runs
        g["failure_error"][...] = [messages[r][0] for r in runs.tolist()]
        g["failure_traceback"][...] = [messages[r][1] for r in runs.tolist()]


def _patch_result(ds: h5py.Dataset, src: JournalSource, name: str, cells: np.ndarray,
                  shape: tuple[int, ...]) -> None:
    """Write one batch's values of a fixed result into its cells (their bounding box is
    read, updated and written back: one read and one write per batch)."""
    rows = np.arange(len(src.runs))
    present = np.asarray(src.present(name, rows), bool)
    values = np.array(src.fixed(name, rows), dtype=ds.dtype, copy=True)
    if not present.all():
        fill = ds.attrs.get("_FillValue", fill_value(ds.dtype))
        values[~present] = np.asarray(fill).reshape(()) if np.ndim(fill) else fill
    pos = np.stack(np.unravel_index(cells, shape), axis=1)
    lo, hi = pos.min(axis=0), pos.max(axis=0) + 1
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
    block = ds[box]
    block[tuple((pos - lo).T)] = values
    ds[box] = block


def _set_attrs(group: h5py.Group, attrs: Mapping[str, Any]) -> None:
    """Set changed attributes the way the full rewrite stores them (numbers as 1-element
    arrays, as h5netcdf writes them; strings as variable-length UTF-8)."""
    for key, value in attrs.items():
        old = group.attrs.get(key)
        if isinstance(value, str):
            if _text(old) != value:
                group.attrs[key] = value
        else:
            new = np.atleast_1d(np.asarray(value))
            if old is None or not np.array_equal(np.atleast_1d(old), new):
                group.attrs[key] = new


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
        return value.decode() if isinstance(value, bytes) else str(value)
    return str(value)
