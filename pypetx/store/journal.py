"""Crash-safe per-batch journal: every finished batch becomes one fsync'd file.

A batch is written as an uncompressed ``.npz`` (numpy arrays only, read back with
``allow_pickle=False``) under a temporary name, fsync'd, renamed to ``<seq>.npz`` and the
directory fsync'd. A rename is atomic, so after ``kill -9`` a batch file either exists
whole or not at all; leftover ``*.part`` files are partial writes and are deleted on open.
Later files win over earlier ones for the same run (a re-run replaces a failure). The
driver that wrote a batch keeps its arrays in memory (within a budget) so that
consolidation does not read back what was just written; the file is what counts after a
crash.

Per result the file holds, by its storage mode (see :mod:`pypetx.store.layout`):

* fixed: ``<key>_v`` stacked values ``(n, *shape)`` and ``<key>_p`` present flags;
* ragged: ``<key>_v`` flat concatenated values, ``<key>_n`` element counts per run,
  ``<key>_s`` per-run shapes ``(n, ndim)``;
* pickle: ``<key>_v`` concatenated cloudpickle bytes (``uint8``), ``<key>_n`` byte counts.

Status: ``completed``, ``failed`` (bool), ``duration`` (float64) per run; ``worker`` the
batch's worker name (one element); ``msg_rows`` the rows with an error message or a
traceback and ``msg_error``, ``msg_traceback`` their texts (meta ``"status": 2`` or 3).
Older files hold ``worker``, ``error`` and ``traceback`` as one string per run; both are
read.

Compact batches (meta ``"status": 3``): consecutive run indices are written as the meta's
``"range": [start, stop]`` instead of an ``indices`` array, and a per-run column whose
elements are all one value (``completed``, ``failed``, ``duration``, present flags) as an
entry of the meta's ``"uniform"`` mapping, ``{member: [value, dtype]}``, instead of an
array. A trivial sweep's batch is then its values and a few hundred bytes, so the journal
grows with the batches and the data, not with bookkeeping per run (27 -> 8 B per float64
run). Readers see the full arrays either way.
"""

from __future__ import annotations

import json
import os
import re
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from pypetx.core.batch import BatchResult, ResultMeta
from pypetx.core.values import EMPTY, FIXED, PICKLE, classify
from pypetx.store.layout import RAGGED, ResultInfo
from pypetx.store.npz import FastNpz as _FastNpz  # a name tests replace to forbid disk reads
from pypetx.store.npz import write_npz

__all__ = ["Journal", "JournalEntry", "encode_result", "fsync_dir", "write_atomic"]

_ENTRY = re.compile(r"^(\d{10})\.npz$")
_STATUS_STR = ("worker", "error", "traceback")
#: Members whose size does not grow with the runs of a batch.
_PER_BATCH = frozenset(["meta", "worker", "msg_rows", "msg_error", "msg_traceback"])
#: Journal status layouts with sparse messages (see the module docstring); the last is
#: the one this version writes.
_SPARSE_LAYOUTS = (2, 3)
_STATUS_LAYOUT = 3
#: Per-run members written as one value when all their elements are equal.
_UNIFORM_OK = frozenset(["completed", "failed", "duration"])


def fsync_dir(directory: Path) -> None:
    """fsync a directory so that a rename inside it survives a crash."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, write: Any) -> None:
    """Call ``write(fileobj)`` on a temp file next to ``path``, fsync, rename, fsync dir."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _meta_dict(meta: ResultMeta | None) -> dict[str, Any]:
    if meta is None:
        return {}
    return {
        "comment": meta.comment,
        "units": None if meta.units is None else str(meta.units),
        "dims": None if meta.dims is None else list(meta.dims),
        "kind": meta.kind,
        "attrs": json.loads(json.dumps(meta.attrs or {}, default=str)),
    }


def _pickle_rows(values: list[Any], present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import cloudpickle

    blobs = [cloudpickle.dumps(v) if p else b"" for v, p in zip(values, present)]
    counts = np.array([len(b) for b in blobs], dtype=np.int64)
    return np.frombuffer(b"".join(blobs), dtype=np.uint8), counts


def encode_result(
    name: str, values: Any, present: np.ndarray | None, meta: ResultMeta | None
) -> tuple[ResultInfo, dict[str, np.ndarray]]:
    """Turn one result of a batch into numpy arrays and the :class:`ResultInfo` they carry.

    The values are classified by :func:`pypetx.core.values.classify` (what the worker
    stacked is fixed already). Returns the info and a dict of arrays keyed by suffix
    (``"v"``, ``"p"``, ``"n"``, ``"s"``); see the module docstring.
    """
    metad = _meta_dict(meta)
    got = classify(values, present, pickle=metad.get("kind") == PICKLE)
    pres = got.present
    if got.mode == PICKLE:
        blob, counts = _pickle_rows(list(values), pres)
        info = ResultInfo(name, PICKLE, got.dtype, None, 0, metad)
        return info, {"v": blob, "n": counts, "p": pres}
    if got.mode == EMPTY:  # nothing present in this batch: say nothing about shape or dtype
        info = ResultInfo(name, EMPTY, got.dtype, (), 0, metad)
        return info, {"v": np.full(len(pres), np.nan), "p": pres}
    if got.mode == FIXED:
        return ResultInfo(name, FIXED, got.dtype, got.shape, got.ndim, metad), {
            "v": got.data, "p": pres}
    dtype, ndim = got.dtype, got.ndim
    flat = [np.zeros(0, dtype) if a is None else a.ravel().astype(dtype) for a in got.data]
    shp = np.zeros((len(pres), ndim), np.int64)
    for i, a in enumerate(got.data):
        if a is not None:
            shp[i, ndim - a.ndim :] = a.shape
            shp[i, : ndim - a.ndim] = 1
    counts = np.array([len(f) for f in flat], np.int64)
    info = ResultInfo(name, RAGGED, dtype, None, ndim, metad)
    return info, {"v": np.concatenate(flat), "n": counts, "s": shp, "p": pres}


def _as_str_array(values: Iterable[Any], n: int) -> np.ndarray:
    out = [str(v) if v is not None else "" for v in values]
    out += [""] * (n - len(out))
    return np.array(out, dtype=str)


def _consecutive(indices: np.ndarray) -> bool:
    return bool(len(indices) > 1 and int(indices[-1]) - int(indices[0]) == len(indices) - 1
                and (np.diff(indices) == 1).all())


def _compact(arrays: dict[str, np.ndarray], meta: dict[str, Any], n: int) -> None:
    """Move consecutive indices and uniform per-run columns of ``arrays`` into ``meta``."""
    indices = arrays["indices"]
    if _consecutive(indices):
        meta["range"] = [int(indices[0]), int(indices[-1]) + 1]
        del arrays["indices"]
    uniform = {}
    for key in [k for k in arrays if k in _UNIFORM_OK or k.endswith("_p")]:
        a = arrays[key]
        if n > 1 and a.shape == (n,) and a.dtype.kind in "bf":
            first = a[0]
            if np.isfinite(first) and (a == first).all():
                uniform[key] = [first.item(), a.dtype.str]
                del arrays[key]
    if uniform:
        meta["uniform"] = uniform


@dataclass
class JournalEntry:
    """One batch file of the journal (read lazily: arrays load when first used)."""

    path: Path
    seq: int

    @cached_property
    def _npz(self) -> Any:
        return np.load(self.path, allow_pickle=False)

    def _read(self, names: Iterable[str] | None) -> dict[str, np.ndarray]:
        """Members by name (all by default), cheaply when the file allows it."""
        held = self.__dict__.get("_held")
        if held is not None:
            return dict(held) if names is None else {k: held[k] for k in names}
        try:
            if self._fast is not None:
                return self._fast.read(names)
        except (ValueError, KeyError, struct.error):
            pass
        npz = self._npz
        return {k: npz[k] for k in (npz.files if names is None else names)}

    @cached_property
    def meta(self) -> dict[str, Any]:
        return json.loads(str(self._read(["meta"])["meta"]))

    @property
    def index_range(self) -> tuple[int, int] | None:
        """``(start, stop)`` when the batch's runs are consecutive and stored as a range."""
        r = self.meta.get("range")
        return None if r is None else (int(r[0]), int(r[1]))

    @property
    def indices(self) -> np.ndarray:
        """The batch's run indices (a range is expanded each time: nothing kept per run)."""
        r = self.index_range
        if r is not None:
            return np.arange(r[0], r[1], dtype=np.int64)
        if "_indices" not in self.__dict__:
            self.__dict__["_indices"] = self._get("indices")
        return self.__dict__["_indices"]

    @cached_property
    def infos(self) -> dict[str, ResultInfo]:
        return {n: ResultInfo.from_json(d) for n, d in self.meta["results"].items()}

    @cached_property
    def _fast(self) -> _FastNpz | None:
        try:
            return _FastNpz(self.path)
        except (ValueError, struct.error):
            return None

    def _get(self, key: str) -> np.ndarray:
        uniform = self.meta.get("uniform")
        if uniform and key in uniform:
            value, dtype = uniform[key]
            return np.full(int(self.meta["n"]), value, dtype=np.dtype(dtype))
        cache = self.__dict__.get("_cache", self.__dict__.get("_held"))
        if cache is not None:
            return cache[key]
        if self._fast is not None:
            try:
                return self._fast.read([key])[key]
            except (ValueError, struct.error):
                pass
        return self._npz[key]

    def preload(self) -> None:
        """Read every array of the file in one pass; kept until :meth:`close`."""
        if "_cache" not in self.__dict__ and "_held" not in self.__dict__:
            self.__dict__["_cache"] = self._read(None)

    def hold(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Serve reads from ``arrays``, exactly what was written to the file (the driver
        just journaled them: reading them back would only cost time); see :meth:`forget`."""
        self.__dict__.update(_held=arrays, meta=meta)

    def forget(self) -> None:
        """Drop the arrays :meth:`hold` kept; reads go to the file again."""
        self.__dict__.pop("_held", None)

    @property
    def held_bytes(self) -> int:
        return sum(a.nbytes for a in self.__dict__.get("_held", {}).values())

    @property
    def held_run_bytes(self) -> int:
        """Held bytes that grow with the runs (not the batch's meta, worker, messages)."""
        return sum(a.nbytes for k, a in self.__dict__.get("_held", {}).items()
                   if k not in _PER_BATCH)

    @property
    def _sparse_status(self) -> bool:
        return self.meta.get("status") in _SPARSE_LAYOUTS

    def status(self, name: str) -> np.ndarray:
        """A per-run status array (strings come back as ``object`` arrays)."""
        if name in _STATUS_STR and self._sparse_status:
            n = len(self.indices)
            if name == "worker":
                return np.full(n, str(self._get("worker")[0]), dtype=object)
            out = np.full(n, "", dtype=object)
            rows, errors, tracebacks = self.messages()
            out[rows] = errors if name == "error" else tracebacks
            return out
        arr = self._get(name)
        return arr.astype(object) if name in _STATUS_STR else arr

    def workers(self) -> tuple[list[str], np.ndarray]:
        """Worker names of the batch and the index into them of every run."""
        if self._sparse_status:
            return [str(self._get("worker")[0])], np.zeros(len(self.indices), np.int32)
        names, codes = np.unique(self._get("worker"), return_inverse=True)
        return [str(x) for x in names], codes.astype(np.int32).ravel()

    def messages(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows with an error message or traceback, and those texts (``object`` arrays)."""
        if self._sparse_status:
            return (self._get("msg_rows").astype(np.int64),
                    self._get("msg_error").astype(object),
                    self._get("msg_traceback").astype(object))
        err, tb = self._get("error"), self._get("traceback")
        rows = np.flatnonzero((err != "") | (tb != ""))
        return rows, err[rows].astype(object), tb[rows].astype(object)

    def array(self, result: str, part: str) -> np.ndarray:
        """One stored array of a result (``part`` is ``"v"``, ``"p"``, ``"n"`` or ``"s"``)."""
        return self._get(f"{self.meta['keys'][result]}_{part}")

    def has(self, result: str) -> bool:
        return result in self.meta["keys"]

    def written_present(self, result: str) -> np.ndarray | None:
        """Present flags of a result a worker wrote to the store itself (else ``None``)."""
        w = self.meta.get("worker_written", {}).get(result)
        return None if w is None else self._get(f"{w['key']}_p")

    def close(self) -> None:
        """Close the file and drop preloaded arrays (they are read again when needed)."""
        self.__dict__.pop("_cache", None)
        self.__dict__.pop("_fast", None)
        if "_npz" in self.__dict__:
            self.__dict__.pop("_npz").close()


class Journal:
    """The directory of batch files of one trajectory.

    Parameters
    ----------
    directory : path-like
        Created if missing (``<result file>.pypetx/<trajectory>/``).
    hold_bytes : int, default 0
        Batches this object writes keep their arrays in memory, up to this many bytes in
        all, and :meth:`entries` serves them from there: consolidating a sweep the driver
        just journaled then reads nothing back. Beyond the budget nothing is held.
    """

    def __init__(self, directory: str | os.PathLike[str], *, hold_bytes: int = 0):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        for part in self.directory.glob("*.part"):  # partial writes of a killed writer
            part.unlink(missing_ok=True)
        self.hold_bytes = int(hold_bytes)
        self._held: dict[int, JournalEntry] = {}
        self._held_total = 0  # bytes held; -1: went over hold_bytes, hold nothing more
        self._next = max((e.seq for e in self.entries()), default=-1) + 1

    def entries(self) -> list[JournalEntry]:
        """The complete batch files, oldest first (entries written by this object keep
        serving their arrays from memory, see ``hold_bytes``)."""
        found = []
        for p in self.directory.iterdir():
            m = _ENTRY.match(p.name)
            if m:
                seq = int(m.group(1))
                held = self._held.get(seq)
                found.append(held if held is not None and held.path == p
                             else JournalEntry(p, seq))
        return sorted(found, key=lambda e: e.seq)

    def _hold(self, entry: JournalEntry, arrays: dict[str, np.ndarray],
              meta: dict[str, Any]) -> None:
        """Keep a written batch's arrays in memory while they fit in ``hold_bytes``;
        past it, let go of all of them (the cube is then assembled lazily anyway)."""
        if self._held_total < 0:  # over budget earlier in this session: hold nothing
            return
        size = sum(a.nbytes for a in arrays.values())
        if self._held_total + size > self.hold_bytes:
            self.stop_holding()
            return
        entry.hold(arrays, meta)
        self._held[entry.seq] = entry
        self._held_total += size

    def stop_holding(self) -> None:
        """Let go of every held batch, and hold no more in this session."""
        for e in self._held.values():
            e.forget()
        self._held.clear()
        self._held_total = -1

    def write(self, batch: BatchResult, *, worker_written: Iterable[str] = ()) -> JournalEntry:
        """Persist one batch durably; returns its entry once it is safely on disk.

        ``worker_written`` names results a worker already wrote to the store itself (Zarr);
        the journal then records only that they exist.
        """
        n = len(batch.indices)
        error, tb = list(batch.error), list(batch.traceback)
        # any() scans in C: most batches have no message at all, and a Python loop over
        # every run here cost ~0.6 s per 10^6 runs in the driver.
        if any(error) or any(tb):
            rows = np.array([k for k in range(n)
                             if (k < len(error) and error[k]) or (k < len(tb) and tb[k])],
                            dtype=np.int64)
        else:
            rows = np.zeros(0, dtype=np.int64)
        indices = np.asarray(batch.indices, dtype=np.int64)
        arrays: dict[str, np.ndarray] = {
            "indices": indices,
            "completed": np.asarray(batch.completed, dtype=bool),
            "failed": np.asarray(batch.failed, dtype=bool),
            "duration": np.asarray(batch.duration, dtype=np.float64),
            "worker": _as_str_array([batch.worker or ""], 1),
            # messages of the failed runs only: a batch with one long traceback stays small
            "msg_rows": rows,
            "msg_error": _as_str_array([error[k] if k < len(error) else "" for k in rows],
                                       len(rows)),
            "msg_traceback": _as_str_array([tb[k] if k < len(tb) else "" for k in rows],
                                           len(rows)),
        }
        infos, keys = {}, {}
        for k, (name, values) in enumerate(batch.results.items()):
            info, parts = encode_result(
                name, values, batch.present.get(name), batch.result_meta.get(name)
            )
            infos[name], keys[name] = info.to_json(), f"r{k}"
            arrays.update({f"r{k}_{suffix}": a for suffix, a in parts.items()})
        written = {}
        for k, name in enumerate(worker_written):
            written[name] = {"key": f"w{k}", "meta": _meta_dict(batch.result_meta.get(name))}
            arrays[f"w{k}_p"] = np.asarray(batch.present.get(name, batch.completed), dtype=bool)
        meta: dict[str, Any] = {"results": infos, "keys": keys, "worker_written": written,
                                "n": n, "status": _STATUS_LAYOUT}
        _compact(arrays, meta, n)
        text = json.dumps(meta)
        arrays["meta"] = np.array(text)
        path = self.directory / f"{self._next:010d}.npz"
        write_atomic(path, lambda f: write_npz(f, arrays))
        self._next += 1
        entry = JournalEntry(path, self._next - 1)
        self._hold(entry, arrays, json.loads(text))  # as a reader of the file sees it
        return entry

    def write_json(self, name: str, data: Any, *, text: str | None = None) -> None:
        """Durably write a JSON side file (e.g. the exploration the journal belongs to).

        ``text``: ``data`` already serialised (``json.dumps(data)``).
        """
        payload = (json.dumps(data) if text is None else text).encode()
        write_atomic(self.directory / name, lambda f: f.write(payload))

    def read_json(self, name: str) -> Any | None:
        path = self.directory / name
        return json.loads(path.read_text()) if path.exists() else None

    def remove(self, entries: Iterable[JournalEntry]) -> None:
        """Delete consolidated batch files (after the store file holding them is durable)."""
        for e in entries:
            e.close()
            if self._held.pop(e.seq, None) is not None:
                self._held_total -= e.held_bytes
            e.forget()
            e.path.unlink(missing_ok=True)
        fsync_dir(self.directory)

    def destroy(self) -> None:
        """Remove the journal directory once it holds no batches (and its empty parents)."""
        if any(_ENTRY.match(p.name) for p in self.directory.iterdir()):
            return
        for p in self.directory.iterdir():
            p.unlink()
        self.directory.rmdir()
        parent = self.directory.parent
        if parent.name.endswith(".pypetx") and not any(parent.iterdir()):
            parent.rmdir()
