"""The store protocol and the journaled base class every backend's store extends.

A backend's store only says how to read the cube already stored (``_read_stored``), how to
commit a newly assembled cube and tree durably (``_commit``) and how to reopen it
(``_open_result``); journaling, resume checks, status bookkeeping and cube assembly are
shared here. Zarr adds :meth:`Store.worker_sink`. Which backend a path gets is the
registry's business (:func:`pypetx.store.registry.open_store`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import xarray as xr

from pypetx.base.errors import StorageError
from pypetx.core.batch import BatchResult
from pypetx.store.codec import encode_tree, parameter_attrs, stored_attrs
from pypetx.store.cube import Cube, eager_budget
from pypetx.store.lock import DriverLock
from pypetx.store.journal import Journal, write_atomic
from pypetx.store.layout import (
    FORMAT_VERSION,
    describe_exploration,
    exploration_columns,
    exploration_from_json,
    exploration_json,
    explored_dims,
)
from pypetx.store.sources import CubeSource, JournalSource, Source, stored_infos

__all__ = ["JournaledStore", "Store"]


@runtime_checkable
class Store(Protocol):
    """What the engine needs from a store (see ``docs/storage.md``)."""

    def open(self, exploration: Any, records: Sequence[Mapping[str, Any]],
             attrs: Mapping[str, Any], *, resume: bool) -> None: ...
    def done(self) -> np.ndarray: ...
    def failed_runs(self) -> np.ndarray: ...
    def write_batch(self, batch: BatchResult) -> None: ...
    def finalize(self, attrs_update: Mapping[str, Any] | None = None) -> xr.Dataset: ...
    def close(self) -> None: ...
    def worker_sink(self) -> Callable[[BatchResult], BatchResult] | None: ...


def _attr_value(value: Any) -> Any:
    """A trajectory attribute as a netCDF attribute (JSON text unless a plain scalar)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float, str)):
        return value
    return json.dumps(value, default=str)


def _comparable(values: Any) -> Any:
    """A column as a numeric array when it is one (fast comparison), else a list."""
    from pypetx.core.explore import numeric_array

    if isinstance(values, np.ndarray):
        return values if values.dtype.kind in "biuf" else values.tolist()
    values = list(values)
    arr = numeric_array(values)
    return values if arr is None else arr


def _first_difference(a: Any, b: Any) -> int | None:
    """The first index where the (equally long) columns differ, NaN equal to NaN."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        same = a == b
        if a.dtype.kind == "f" and b.dtype.kind == "f":
            same |= np.isnan(a) & np.isnan(b)
        bad = np.flatnonzero(~same)
        return int(bad[0]) if bad.size else None
    a = a.tolist() if isinstance(a, np.ndarray) else a
    b = b.tolist() if isinstance(b, np.ndarray) else b
    if a == b:
        return None
    return next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)


def _same_or_expansion(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """Why ``new`` is neither ``old`` nor an expansion of it (``None`` if it is).

    Both are ``{"names", "columns"}`` (columns lists or numpy arrays, see
    :func:`~pypetx.store.layout.exploration_columns`)."""
    if list(old["names"]) != list(new["names"]):
        return f"explored parameters differ: stored {old['names']}, given {new['names']}"
    n_old = len(old["columns"][old["names"][0]])
    n_new = len(new["columns"][new["names"][0]])
    if n_new < n_old:
        return f"the stored exploration has {n_old} runs, the given one only {n_new}"
    for name in old["names"]:
        a = _comparable(old["columns"][name])
        b = _comparable(new["columns"][name][:n_old])
        run = _first_difference(a, b)
        if run is not None:
            return f"{name} differs at run {run}: stored {a[run]!r}, given {b[run]!r}"
    return None


def _journal_arrays(directory: Path) -> Callable[[Mapping[str, Any]], np.ndarray]:
    """Reads the arrays a journaled ``exploration.json`` refers to."""
    return lambda ref: np.load(directory / f"exploration-{ref['sha1']}.npy", allow_pickle=False)


def _write_journal_exploration(journal: Journal, text: str,
                               arrays: Mapping[str, np.ndarray]) -> None:
    """``exploration.json`` and the arrays it refers to (written first, named by content,
    so the json never refers to a missing or other array); stale arrays are removed."""
    directory = journal.directory
    keep = {f"exploration-{digest}.npy" for digest in arrays}
    for digest, arr in arrays.items():
        path = directory / f"exploration-{digest}.npy"
        if not path.exists():
            write_atomic(path, lambda f, arr=arr: np.save(f, arr, allow_pickle=False))
    journal.write_json("exploration.json", None, text=text)
    for path in directory.glob("exploration-*.npy"):
        if path.name not in keep:
            path.unlink(missing_ok=True)


class JournaledStore:
    """Shared machinery of the backends: journal, resume, status, assembly.

    Parameters
    ----------
    path : path-like
        The results file (HDF5) or directory (Zarr).
    name : str
        Trajectory name: the HDF5 group / Zarr group of its cube.
    complevel : int, optional
        Compression level (zlib for HDF5, zstd for Zarr); 0: none. Default: HDF5 compresses
        a variable with zlib level 1 only when a sample of it compresses well (see
        :mod:`pypetx.store.compression`), Zarr uses zstd level 4.
    encoding : dict, optional
        Per-variable encoding overrides ``{var: {...}}``, merged over the defaults.
    batch_size : int, optional
        Runs per chunk along the explored dims; default the largest batch seen.
    """

    #: The storage name of the backend (see :mod:`pypetx.store.registry`).
    storage = "base"

    def __init__(self, path: str | os.PathLike[str], name: str, *, complevel: int | None = None,
                 encoding: Mapping[str, Mapping[str, Any]] | None = None,
                 batch_size: int | None = None):
        if not name or "/" in name or name.startswith("_"):
            raise StorageError(f"invalid trajectory name {name!r} for {path}: "
                               "it must be non-empty, without '/', not starting with '_'")
        self.path = Path(path)
        self.name = name
        self.complevel = None if complevel is None else int(complevel)
        self.encoding = {k: dict(v) for k, v in (encoding or {}).items()}
        self.batch_size = batch_size
        self.journal: Journal | None = None
        self.exploration: Any = None
        self._records: list[dict[str, Any]] = []
        self._attrs: dict[str, Any] = {}
        self._stored: xr.Dataset | None = None
        self._stored_stale = False  # finalize wrote a new cube: reopen it when next needed
        self._exploration_text: str | None = None  # json.dumps(exploration_json(...))
        self._completed = np.zeros(0, bool)
        self._failed = np.zeros(0, bool)
        self._lock: DriverLock | None = None
        self._cube: Cube | None = None  # the last assembled cube, until it is committed

    @property
    def where(self) -> str:
        """``<path> group <name>``, for messages."""
        return f"{self.path} group {self.name}"

    @property
    def journal_dir(self) -> Path:
        return self.path.parent / (self.path.name + ".pypetx") / self.name

    # backend hooks ---------------------------------------------------------------------

    def _read_stored(self) -> xr.Dataset | None:
        """The cube committed earlier, opened lazily, or ``None``."""
        raise NotImplementedError

    def _commit(self, cube: xr.Dataset, tree: xr.Dataset, encoding: dict[str, dict]) -> None:
        """Durably replace the stored cube and tree by ``cube`` and ``tree``."""
        raise NotImplementedError

    def _default_encoding(self, name: str, var: xr.Variable, chunks: tuple[int, ...]
                          ) -> dict[str, Any]:
        return {}

    def _cleanup_after_crash(self) -> None:
        """Remove leftovers of a killed driver (called with the driver lock held)."""

    def _open_result(self) -> xr.Dataset:
        """The committed cube, reopened lazily (dask-chunked) for the caller."""
        raise NotImplementedError

    # protocol ------------------------------------------------------------------------

    def open(self, exploration: Any, records: Sequence[Mapping[str, Any]] = (),
             attrs: Mapping[str, Any] | None = None, *, resume: bool = False) -> None:
        """Create the trajectory's storage, or reopen it to continue (``resume=True``).

        Raises
        ------
        StorageError
            The trajectory exists (or left a journal) and ``resume`` is False, or the
            exploration is neither the stored one nor an expansion of it.
        """
        if self._lock is None:
            lock = DriverLock(self.journal_dir.parent, self.name, self.where)
            lock.acquire()
            self._lock = lock
            self._cleanup_after_crash()
        self.exploration = exploration
        self._records = [dict(r) for r in records]
        self._attrs = dict(attrs or {})
        self._release_stored()
        self._stored = self._read_stored()
        self._stored_stale = False
        has_journal = self.journal_dir.is_dir() and any(self.journal_dir.glob("*.npz"))
        if not resume and (self._stored is not None or has_journal):
            what = "is stored" if self._stored is not None else f"left a journal in {self.journal_dir}"
            raise StorageError(
                f"trajectory {self.name} already {what} ({self.where}); pass resume=True "
                "to continue it, or choose another trajectory name"
            )
        # batches journaled from now on stay in memory for finalize, within the budget of
        # an eagerly assembled cube
        self.journal = Journal(self.journal_dir, hold_bytes=eager_budget())
        new, arrays = describe_exploration(exploration)
        self._exploration_text = text = json.dumps(new)
        old_text, old_arrays = None, None
        journaled = self.journal.directory / "exploration.json"
        if journaled.exists():
            old_text, old_arrays = journaled.read_text(), _journal_arrays(self.journal.directory)
        elif self._stored is not None:
            old_text, old_arrays = self._stored.attrs["pypetx_exploration"], self._stored
        if old_text is not None and old_text != text:  # equal text: the same points
            old = {"names": json.loads(old_text)["names"],
                   "columns": exploration_columns(json.loads(old_text), old_arrays)}
            problem = _same_or_expansion(
                old, {"names": new["names"], "columns": exploration_columns(new, arrays)})
            if problem:
                raise StorageError(f"cannot resume {self.where}: the exploration is not the "
                                   f"stored one nor an expansion of it: {problem}")
        _write_journal_exploration(self.journal, text, arrays)
        self._status_from_sources()

    def _release_stored(self) -> None:
        if self._stored is not None:
            self._stored.close()
            self._stored = None

    def _stored_cube(self) -> xr.Dataset | None:
        """The committed cube, reopened after a ``finalize`` only when needed."""
        if self._stored_stale:
            self._stored = self._read_stored()
            self._stored_stale = False
        return self._stored

    def _sources(self) -> list[Source]:
        sources: list[Source] = []
        if self._stored_cube() is not None:
            old = exploration_from_json(json.loads(self._stored.attrs["pypetx_exploration"]),
                                        self._stored)
            dims = explored_dims(old)
            sources.append(CubeSource(self._stored, dims, np.asarray(old.positions),
                                      stored_infos(self._stored, dims)))
        assert self.journal is not None
        sources.extend(self._journal_source(e) for e in self.journal.entries())
        return sources

    def _journal_source(self, entry: Any) -> Source:
        """The source of one journal file (Zarr also reads what workers wrote)."""
        return JournalSource(entry)

    def _status_from_sources(self) -> None:
        n = self.exploration.n_runs
        self._completed, self._failed = np.zeros(n, bool), np.zeros(n, bool)
        for src in self._sources():
            rows = np.arange(len(src.runs))
            keep = src.runs < n
            self._completed[src.runs[keep]] = src.status("completed", rows)[keep]
            self._failed[src.runs[keep]] = src.status("failed", rows)[keep]

    def done(self) -> np.ndarray:
        """Bool per run: completed (in the store file or the journal)."""
        return self._completed.copy()

    def failed_runs(self) -> np.ndarray:
        """Bool per run: its latest attempt failed."""
        return self._failed.copy()

    def _journal_batch(self, batch: BatchResult, worker_written: Sequence[str] = ()) -> None:
        if self.journal is None:
            raise StorageError(f"{self.where}: write_batch before open")
        entry = self.journal.write(batch, worker_written=worker_written)
        if len(batch) and entry.held_run_bytes * self.exploration.n_runs > (
                self.journal.hold_bytes * len(batch)):
            # a cube this big is assembled lazily: holding batches would only cost memory
            self.journal.stop_holding()
        idx = np.asarray(batch.indices, dtype=np.int64)
        self._completed[idx] = np.asarray(batch.completed, bool)
        self._failed[idx] = np.asarray(batch.failed, bool)

    def write_batch(self, batch: BatchResult) -> None:
        """Persist a finished batch; durable (fsync'd) when this returns.

        The store may keep the batch's arrays (not copies) for ``finalize``: do not modify
        them afterwards.
        """
        self._journal_batch(batch)

    def worker_sink(self) -> Callable[[BatchResult], BatchResult] | None:
        """No worker-side writing: every batch travels to the driver."""
        return None

    def _batch_size(self, sources: Sequence[Source]) -> int:
        if self.batch_size:
            return int(self.batch_size)
        sizes = [len(s.runs) for s in sources if isinstance(s, JournalSource)]
        return max(sizes, default=0) or max(1, self.exploration.shape[-1])

    def cube(self, attrs_update: Mapping[str, Any] | None = None, *, eager: bool | None = None
             ) -> tuple[xr.Dataset, xr.Dataset]:
        """The assembled cube and the tree Dataset, as ``finalize`` would write them.

        ``eager``: numpy-backed (``True``) or lazy dask variables (``False``); default by
        size against the ``pypetx.store.eager_bytes`` budget (see :class:`Cube`).
        """
        ds, tree, cube = self._assemble(attrs_update, eager=eager)
        self._cube = cube  # until committed: encodings sample it, lazy results stream from it
        return ds, tree

    def _assemble(self, attrs_update: Mapping[str, Any] | None, *, eager: bool | None = None,
                  fixed_results: bool = True) -> tuple[xr.Dataset, xr.Dataset, Cube]:
        sources = self._sources()
        cube = Cube(self.exploration, sources, self._batch_size(sources))
        cattrs, tree = self._cube_attrs(attrs_update), self._tree(attrs_update)
        ds = cube.dataset(cattrs, eager=eager, fixed_results=fixed_results)
        self._chunks = cube.chunks
        return ds, tree, cube

    def _cube_attrs(self, attrs_update: Mapping[str, Any] | None) -> dict[str, Any]:
        """The attributes of the cube as stored (trajectory attrs, plain parameters,
        format version, exploration)."""
        attrs = dict(self._attrs, **(attrs_update or {}))
        cattrs = {k: _attr_value(v) for k, v in stored_attrs(attrs).items()}
        cattrs.update(parameter_attrs(self._records))
        cattrs.update(
            pypetx_format_version=FORMAT_VERSION,
            pypetx_trajectory=self.name,
            pypetx_exploration=(self._exploration_text
                                or json.dumps(exploration_json(self.exploration))),
        )
        return cattrs

    def _tree(self, attrs_update: Mapping[str, Any] | None) -> xr.Dataset:
        """The trajectory tree Dataset as stored (``<name>/_tree``)."""
        return encode_tree(self._records, dict(self._attrs, **(attrs_update or {})))

    def _encodings(self, ds: xr.Dataset) -> dict[str, dict[str, Any]]:
        out = {}
        dims = set(explored_dims(self.exploration))
        for name, var in ds.variables.items():
            chunks = tuple(
                dict(zip(explored_dims(self.exploration), self._chunks)).get(d, s) if d in dims else s
                for d, s in zip(var.dims, var.shape)
            )
            enc = dict(var.encoding)
            if name in ds.data_vars:
                enc.update(self._default_encoding(name, var, chunks))
            enc.update(self.encoding.get(name, {}))
            if enc.get("zlib") is False:  # compression switched off: its options must go too
                enc.pop("complevel", None)
                enc.pop("shuffle", None)
            if enc:
                out[name] = enc
        return out

    def finalize(self, attrs_update: Mapping[str, Any] | None = None) -> xr.Dataset:
        """Consolidate the journal into the store atomically; return the lazily reopened cube."""
        if self.journal is None:
            raise StorageError(f"{self.where}: finalize before open")
        entries = self.journal.entries()
        ds, tree = self.cube(attrs_update)
        try:
            self._commit(ds, tree, self._encodings(ds))
        finally:
            self._cube = None
        self.journal.remove(entries)
        self._release_stored()
        self._stored_stale = True  # reopened by the next finalize (or resume) that needs it
        return self._open_result()

    def close(self) -> None:
        """Release files; the journal stays (a later ``open(resume=True)`` continues)."""
        self._release_stored()
        self._cube = None
        self._stored_stale = False
        if self.journal is not None:
            if not any(self.journal.directory.glob("*.npz")):
                self.journal.destroy()
            self.journal = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> JournaledStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

