"""Where the values of finished runs come from when a cube is assembled.

Two kinds of source hold runs: a journal batch file (:class:`JournalSource`) and the cube
already in the store from an earlier ``finalize`` (:class:`CubeSource`). Both answer the
same row-based questions, so :mod:`pypetx.store.cube` builds one lazy Dataset out of any
mix of them; later sources win for a run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from pypetx.store.journal import JournalEntry
from pypetx.store.layout import (
    EMPTY,
    FIXED,
    NO_WORKER,
    PICKLE,
    RAGGED,
    WORKER_NAMES,
    ResultInfo,
    fill_value,
)

__all__ = ["CubeSource", "JournalSource", "Source"]


def _pickle_array(a: np.ndarray | None) -> bytes:
    import cloudpickle

    return b"" if a is None else cloudpickle.dumps(a)


class Source:
    """Base class: row-based access to the runs one source holds (``runs[row]``)."""

    runs: np.ndarray
    infos: dict[str, ResultInfo]
    #: ``(start, stop)`` when row ``r`` is run ``start + r`` (a journal batch of
    #: consecutive runs): the cube then plans this source without per-run arrays
    span: tuple[int, int] | None = None

    def preload(self) -> None:
        """Read what this source holds in one pass (eager assembly); see :meth:`release`."""

    def release(self) -> None:
        """Drop what :meth:`preload` read and close files."""

    def status(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Per-row status: ``completed``, ``failed``, ``duration``; ``worker``, ``error``,
        ``traceback`` as ``object`` arrays of strings (``""``: none)."""
        raise NotImplementedError

    def workers(self, rows: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Worker names and, per row, the index into them (``-1``: unknown)."""
        strings = np.array([_text(w) for w in self.status("worker", rows)], dtype=str)
        names, codes = np.unique(strings, return_inverse=True)
        return [str(n) for n in names], codes.astype(np.int32).ravel()

    def messages(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Error message and traceback of every row (``object`` arrays, ``""``: none)."""
        return self.status("error", rows), self.status("traceback", rows)

    def present(self, name: str, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fixed(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Stacked values ``(len(rows), *shape)`` of a result stored fixed here."""
        raise NotImplementedError

    def flat(self, name: str, rows: np.ndarray) -> list[np.ndarray | None]:
        """Per-row flattened values (``None`` where absent) of a fixed or ragged result."""
        raise NotImplementedError

    def shapes(self, name: str, rows: np.ndarray) -> list[tuple[int, ...] | None]:
        raise NotImplementedError

    def blobs(self, name: str, rows: np.ndarray) -> list[bytes]:
        """Per-row cloudpickle bytes (``b""`` where absent) of a pickled result."""
        raise NotImplementedError

    # generic conversions shared by both sources --------------------------------------

    def as_counts(self, name: str, rows: np.ndarray, mode: str) -> np.ndarray:
        """Elements (ragged) or bytes (pickle) each row contributes to ``<name>_obs``."""
        info = self.infos.get(name)
        if info is None or info.mode == EMPTY:
            return np.zeros(len(rows), np.int64)
        if mode == PICKLE and info.mode != PICKLE:
            return np.array([len(b) for b in self.as_blobs(name, rows)], np.int64)
        if info.mode == FIXED:
            size = int(np.prod(info.shape or (), dtype=np.int64))
            return self.present(name, rows).astype(np.int64) * size
        return self.stored_counts(name, rows)

    def stored_counts(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Element or byte counts of a result stored ragged or pickled here."""
        raise NotImplementedError

    def as_blobs(self, name: str, rows: np.ndarray) -> list[bytes]:
        info = self.infos.get(name)
        if info is None or info.mode == EMPTY:
            return [b""] * len(rows)
        if info.mode == PICKLE:
            return self.blobs(name, rows)
        # a result that was an array in some batches and an object in others: pickle all
        flat, shapes = self.flat(name, rows), self.shapes(name, rows)
        return [
            _pickle_array(None if v is None else v.reshape(s)) for v, s in zip(flat, shapes)
        ]


class JournalSource(Source):
    """The runs of one journal batch file.

    Parameters
    ----------
    entry : JournalEntry
        The batch file.
    written : callable, optional
        ``written(name) -> (array, positions)`` for results a worker wrote into the store
        itself (Zarr): the array to read them from and the cell of every run.
    """

    def __init__(self, entry: JournalEntry, written: Any = None):
        self.entry = entry
        self.span = entry.index_range
        self.infos = {n: i for n, i in entry.infos.items()}
        self._written: dict[str, tuple[Any, np.ndarray]] = {}
        for name, w in (entry.meta.get("worker_written") or {}).items():
            found = None if written is None else written(name)
            if found is None:
                continue
            arr, positions = found
            nd = positions.shape[1]
            shape = tuple(arr.shape[nd:])
            self._written[name] = (arr, positions)
            self.infos[name] = ResultInfo(name, FIXED, np.dtype(arr.dtype), shape, len(shape),
                                          dict(w.get("meta") or {}))

    @property
    def runs(self) -> np.ndarray:  # made when asked for: 8 B per run of every batch
        return self.entry.indices

    def preload(self) -> None:
        self.entry.preload()

    def release(self) -> None:
        self.entry.close()

    def status(self, name: str, rows: np.ndarray) -> np.ndarray:
        return self.entry.status(name)[rows]

    def workers(self, rows: np.ndarray) -> tuple[list[str], np.ndarray]:
        names, codes = self.entry.workers()
        return names, codes[rows]

    def messages(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _scatter_messages(rows, *self.entry.messages())

    def present(self, name: str, rows: np.ndarray) -> np.ndarray:
        if name in self._written:
            return self.entry.written_present(name)[rows]
        if not self.entry.has(name):
            return np.zeros(len(rows), bool)
        return self.entry.array(name, "p")[rows]

    def fixed(self, name: str, rows: np.ndarray) -> np.ndarray:
        if name in self._written:  # read back what the worker wrote (bounding box)
            arr, positions = self._written[name]
            pos = positions[self.runs[rows]]
            if not len(pos):
                return np.zeros((0, *arr.shape[positions.shape[1]:]), arr.dtype)
            lo, hi = pos.min(axis=0), pos.max(axis=0) + 1
            box = np.asarray(arr[tuple(slice(a, b) for a, b in zip(lo, hi))])
            return box[tuple((pos - lo).T)]
        values = self.entry.array(name, "v")
        if len(rows) and rows[-1] - rows[0] == len(rows) - 1 and (np.diff(rows) == 1).all():
            return values[rows[0] : rows[-1] + 1]  # consecutive rows: a view, no copy
        return values[rows]

    def stored_counts(self, name: str, rows: np.ndarray) -> np.ndarray:
        return self.entry.array(name, "n")[rows] * self.present(name, rows)

    def _offsets(self, name: str) -> np.ndarray:
        counts = self.entry.array(name, "n")
        return np.concatenate([[0], np.cumsum(counts)])

    def flat(self, name: str, rows: np.ndarray) -> list[np.ndarray | None]:
        info = self.infos[name]
        pres = self.present(name, rows)
        if info.mode == FIXED:
            vals = self.fixed(name, rows)
            return [v.ravel() if p else None for v, p in zip(vals, pres)]
        values, off = self.entry.array(name, "v"), self._offsets(name)
        return [values[off[r] : off[r + 1]] if p else None for r, p in zip(rows, pres)]

    def shapes(self, name: str, rows: np.ndarray) -> list[tuple[int, ...] | None]:
        info = self.infos[name]
        pres = self.present(name, rows)
        if info.mode == FIXED:
            return [tuple(info.shape or ()) if p else None for p in pres]
        shp = self.entry.array(name, "s")
        return [tuple(int(x) for x in shp[r]) if p else None for r, p in zip(rows, pres)]

    def blobs(self, name: str, rows: np.ndarray) -> list[bytes]:
        values, off = self.entry.array(name, "v"), self._offsets(name)
        return [values[off[r] : off[r + 1]].tobytes() for r in rows]


class CubeSource(Source):
    """The runs already consolidated in a store, read through a lazily opened Dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        The stored cube, opened lazily (no dask needed: backend arrays index lazily).
    positions : numpy.ndarray
        ``(n_old_runs, n_dims)`` cell of each stored run (from the stored exploration).
    infos : dict
        Result infos recorded in the store.
    """

    def __init__(self, ds: xr.Dataset, dims: tuple[str, ...], positions: np.ndarray,
                 infos: dict[str, ResultInfo]):
        self.ds, self.dims, self.positions, self.infos = ds, dims, positions, infos
        done = self._cells("completed", positions) | self._cells("failed", positions)
        self.runs = np.flatnonzero(done)
        self._pos = positions[self.runs]
        self._offsets: dict[str, np.ndarray] = {}
        #: format 1: worker, error, traceback are strings over the explored dims
        self.legacy = "failure_run" not in ds.variables

    def _worker_names(self) -> list[str]:
        import json

        return [str(n) for n in json.loads(self.ds["worker"].attrs.get(WORKER_NAMES, "[]"))]

    def workers(self, rows: np.ndarray) -> tuple[list[str], np.ndarray]:
        if self.legacy:
            return super().workers(rows)
        return self._worker_names(), self._cells("worker", self._pos[rows]).astype(np.int32)

    def messages(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.legacy:
            return super().messages(rows)
        if "_failure_run" not in self.__dict__:
            self._failure_run = np.asarray(self.ds["failure_run"].values, np.int64)
        failure_run = self._failure_run
        runs = self.runs[rows]
        at = np.minimum(np.searchsorted(failure_run, runs), max(len(failure_run) - 1, 0))
        hit = np.flatnonzero(failure_run[at] == runs) if len(failure_run) else np.zeros(0, int)
        idx = at[hit]
        errors, tracebacks = np.full(len(rows), "", object), np.full(len(rows), "", object)
        if len(idx):
            # read the span of the failures asked for, then pick
            lo, hi = int(idx.min()), int(idx.max()) + 1
            for out, var in ((errors, "failure_error"), (tracebacks, "failure_traceback")):
                span = np.asarray(self.ds[var].variable[lo:hi].values, dtype=object)
                out[hit] = [_text(v) for v in span[idx - lo]]
        return errors, tracebacks

    def _cells(self, var: str, pos: np.ndarray) -> np.ndarray:
        """Values of ``var`` at the given cells, reading only their bounding box."""
        if len(pos) == 0:
            return np.zeros((0,) + self.ds[var].shape[len(self.dims):], self.ds[var].dtype)
        lo, hi = pos.min(axis=0), pos.max(axis=0) + 1
        box = self.ds[var].variable[tuple(slice(a, b) for a, b in zip(lo, hi))].values
        return box[tuple((pos - lo).T)]

    def status(self, name: str, rows: np.ndarray) -> np.ndarray:
        if not self.legacy and name == "worker":
            names, codes = self.workers(rows)
            table = np.array([*names, ""], dtype=object)
            return table[np.where(codes == NO_WORKER, len(names), codes)]
        if not self.legacy and name in ("error", "traceback"):
            return self.messages(rows)[name == "traceback"]
        out = self._cells(name, self._pos[rows])
        if out.dtype.kind in "OUST":  # T: numpy's StringDType (Zarr v3 strings)
            return np.array([_text(v) for v in out.ravel()], dtype=object).reshape(out.shape)
        return out

    def present(self, name: str, rows: np.ndarray) -> np.ndarray:
        info = self.infos.get(name)
        if info is None or info.mode == EMPTY:
            return np.zeros(len(rows), bool)
        if info.mode == FIXED:
            # ``completed`` is the mask; integers also mark skipped results by the fill value
            done = self._cells("completed", self._pos[rows]).astype(bool)
            if info.dtype.kind in "iu":
                vals = self.fixed(name, rows).reshape(len(rows), -1)
                done &= ~(vals == fill_value(info.dtype)).all(axis=1)
            return done
        return self._cells(f"{name}_count", self._pos[rows]) > 0

    def fixed(self, name: str, rows: np.ndarray) -> np.ndarray:
        return self._cells(name, self._pos[rows])

    def stored_counts(self, name: str, rows: np.ndarray) -> np.ndarray:
        return self._cells(f"{name}_count", self._pos[rows]).astype(np.int64)

    def _ragged_offsets(self, name: str) -> np.ndarray:
        if name not in self._offsets:
            counts = self.ds[f"{name}_count"].values.ravel()
            self._offsets[name] = np.concatenate([[0], np.cumsum(counts)])
        return self._offsets[name]

    def _ranges(self, name: str, rows: np.ndarray) -> list[np.ndarray]:
        off = self._ragged_offsets(name)
        cells = np.ravel_multi_index(self._pos[rows].T, self.ds[f"{name}_count"].shape)
        if len(cells) == 0:
            return []
        lo, hi = int(off[cells].min()), int(off[cells + 1].max())
        chunk = self.ds[name].variable[lo:hi].values
        return [chunk[off[c] - lo : off[c + 1] - lo] for c in cells]

    def flat(self, name: str, rows: np.ndarray) -> list[np.ndarray | None]:
        info = self.infos[name]
        pres = self.present(name, rows)
        if info.mode == FIXED:
            return [v.ravel() if p else None for v, p in zip(self.fixed(name, rows), pres)]
        return [v if p else None for v, p in zip(self._ranges(name, rows), pres)]

    def shapes(self, name: str, rows: np.ndarray) -> list[tuple[int, ...] | None]:
        info = self.infos[name]
        pres = self.present(name, rows)
        if info.mode == FIXED:
            return [tuple(info.shape or ()) if p else None for p in pres]
        if f"{name}_shape" in self.ds:
            shp = self._cells(f"{name}_shape", self._pos[rows])
            return [tuple(int(x) for x in s) if p else None for s, p in zip(shp, pres)]
        counts = self._cells(f"{name}_count", self._pos[rows])
        return [(int(c),) if p else None for c, p in zip(counts, pres)]

    def blobs(self, name: str, rows: np.ndarray) -> list[bytes]:
        return [v.tobytes() for v in self._ranges(name, rows)]


def _text(value: Any) -> str:
    """A stored string as ``str`` (some backends return bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _scatter_messages(rows: np.ndarray, msg_rows: np.ndarray, errors: np.ndarray,
                      tracebacks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Messages of ``rows`` from the sparse ``(msg_rows, errors, tracebacks)`` of a batch."""
    err, tb = np.full(len(rows), "", object), np.full(len(rows), "", object)
    if len(msg_rows) and len(rows):
        order = np.argsort(msg_rows, kind="stable")
        sorted_rows = msg_rows[order]
        at = np.minimum(np.searchsorted(sorted_rows, rows), len(sorted_rows) - 1)
        hit = sorted_rows[at] == rows
        err[hit] = errors[order[at[hit]]]
        tb[hit] = tracebacks[order[at[hit]]]
    return err, tb


def stored_infos(ds: xr.Dataset, dims: tuple[str, ...]) -> dict[str, ResultInfo]:
    """Rebuild result infos from the variables of a stored cube (``pypetx_mode`` attrs)."""
    import json

    infos = {}
    for name, var in ds.data_vars.items():
        mode = var.attrs.get("pypetx_mode")
        if mode not in (FIXED, RAGGED, PICKLE, EMPTY):
            continue
        meta = {
            "comment": var.attrs.get("comment", ""),
            "units": var.attrs.get("units"),
            "kind": var.attrs.get("pypetx_kind", "scalar"),
            "attrs": json.loads(var.attrs.get("pypetx_attrs", "{}")),
            "dims": None,
        }
        if mode in (FIXED, EMPTY):
            own = var.dims[len(dims):]
            if not all(d.startswith(f"{name}_dim_") for d in own):
                meta["dims"] = list(own)
            shape = tuple(var.shape[len(dims):])
            infos[name] = ResultInfo(name, mode, var.dtype, shape, len(shape), meta)
        else:
            ndim = ds[f"{name}_shape"].shape[-1] if f"{name}_shape" in ds else 1
            infos[name] = ResultInfo(name, mode, var.dtype, None, ndim, meta)
    return infos


def any_info(sources: list[Source]) -> dict[str, Any]:
    """Merged infos over all sources (what the assembled cube will hold)."""
    from pypetx.store.layout import merge_infos

    merged: dict[str, ResultInfo] = {}
    for src in sources:
        for name, info in src.infos.items():
            merged[name] = merge_infos(merged.get(name), info)
    return merged
