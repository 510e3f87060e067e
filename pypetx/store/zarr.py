"""Zarr backend: the same cube layout, with workers writing their results in place.

The driver creates a fixed-shape result's array when the first batch carrying it arrives
(shape and dtype are known then). In a Zarr format 3 store the arrays are sharded
(:mod:`pypetx.store.zarrshard`): small inner chunks (what a read fetches) inside shards
(one file each) that are contiguous ranges of runs, so the file count grows with the
shards, not the chunks. From then on :meth:`ZarrStore.worker_sink` lets each worker write
the shards its batch covers completely and send only status to the driver, which still
journals it (a ``kill -9`` loses nothing); two workers never write the same shard. What a
worker cannot write (ragged, objects, the partial shards at a batch's ends) travels to the
driver and is written by ``finalize``, which also writes the status variables and
consolidates metadata. A format 2 store (and any store written by zarr-python 2) is not
sharded: one file per chunk, chunks of about one batch.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from pypetx.base.errors import StorageError
from pypetx.core.batch import BatchResult
from pypetx.store.backend import ResultsFile, StorageBackend
from pypetx.store.base import JournaledStore
from pypetx.store.codec import TREE_GROUP
from pypetx.store.journal import encode_result
from pypetx.store.layout import (
    FIXED,
    FORMAT_VERSION,
    LEGACY_STATUS,
    ResultInfo,
    RunPositions,
    explored_coords,
    explored_dims,
    fill_value,
    result_dims,
    variable_attrs,
)
from pypetx.store.sources import JournalSource
from pypetx.store.zarrshard import (
    ShardLayout,
    ZarrOptions,
    auto_shard_runs,
    covered_blocks,
    plan_layout,
    zarr_major,
)

__all__ = ["PartlyWritten", "ZarrBackend", "ZarrFile", "ZarrSink", "ZarrStore"]

# ZarrStore(shards=...) not given: the pypetx.zarr.shards setting
_FROM_CONFIG = "config"


def _zarr() -> Any:
    import zarr

    return zarr


def _open_group(path: Any, mode: str) -> Any:
    """The root group, never through consolidated metadata (stale while a sweep runs)."""
    zarr = _zarr()
    if zarr_major() >= 3:
        return zarr.open_group(path, mode=mode, use_consolidated=False)
    return zarr.open_group(path, mode=mode)


def _array_dims(arr: Any) -> tuple[str, ...]:
    """Dimension names of a Zarr array (format 3 metadata, or xarray's format 2 attribute)."""
    names = getattr(getattr(arr, "metadata", None), "dimension_names", None)
    if names:
        return tuple(names)
    return tuple(arr.attrs.get("_ARRAY_DIMENSIONS", ()))


def _write_block(arr: Any) -> tuple[int, ...]:
    """What one writer writes whole: the shard, or the chunk of an unsharded array."""
    shards = getattr(arr, "shards", None)
    return tuple(int(s) for s in (shards if shards is not None else arr.chunks))


def _compression(level: int, zarr_format: int) -> dict[str, Any]:
    """The zstd compressor encoding for this zarr-python and format."""
    if zarr_major() < 3:
        from numcodecs import Zstd

        return {"compressor": Zstd(level=level)}
    if zarr_format == 2:
        from numcodecs import Zstd

        return {"compressors": [Zstd(level=level)]}
    from zarr.codecs import ZstdCodec

    return {"compressors": [ZstdCodec(level=level)]}


@dataclass
class PartlyWritten(BatchResult):
    """A batch whose worker wrote the fixed-shape results of some of its runs itself.

    ``written`` (bool per run): the runs whose results named in ``held`` are in the store;
    ``held`` maps those results to the values of the other runs (in run order), the ones
    in shards the batch covers only partly. They are not in ``results``, so the engine
    sees them as worker-written; :meth:`ZarrStore.write_batch` journals the two parts
    as two entries.
    """

    written: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    held: dict[str, np.ndarray] = field(default_factory=dict)


def _subset(batch: BatchResult, rows: np.ndarray, results: Mapping[str, Any] | None = None
            ) -> BatchResult:
    """The runs ``rows`` of ``batch`` as a plain batch (``results``: replaces theirs)."""
    rows = np.asarray(rows, dtype=np.int64)
    take = (lambda v: v[rows] if isinstance(v, np.ndarray) else [v[i] for i in rows])
    out = dict(results) if results is not None else {}
    for name, values in batch.results.items():
        out.setdefault(name, take(values))
    n = len(batch)

    def messages(msgs: list[str]) -> list[str]:
        return [msgs[i] if i < len(msgs) else "" for i in rows] if any(msgs) else []

    plain = {f.name: getattr(batch, f.name) for f in fields(BatchResult)}
    plain.update(
        indices=np.asarray(batch.indices, dtype=np.int64)[rows], results=out,
        present={k: np.asarray(p, bool)[rows] if np.ndim(p) and len(p) == n else p
                 for k, p in batch.present.items()},
        completed=np.asarray(batch.completed)[rows], failed=np.asarray(batch.failed)[rows],
        duration=np.asarray(batch.duration)[rows], error=messages(list(batch.error)),
        traceback=messages(list(batch.traceback)),
        returns=None if batch.returns is None else [batch.returns[i] for i in rows])
    return BatchResult(**plain)


@dataclass
class ZarrSink:
    """Picklable: writes a batch's fixed-shape results into the Zarr store on the worker.

    Only the write blocks (shards, or chunks of an unsharded array) the batch covers
    completely are written, so no two workers ever write one block. Returns the batch with
    those results removed from ``results`` (their ``present`` flags stay: the driver reads
    "present but not in results" as "written by a worker"); when some runs fall in blocks
    the batch covers only partly, a :class:`PartlyWritten` batch holding their values.
    """

    path: str
    group: str
    positions: RunPositions

    def __call__(self, batch: BatchResult) -> BatchResult:
        try:
            grp = _open_group(self.path, "r+")[self.group]
        except (KeyError, FileNotFoundError, ValueError):
            return batch  # arrays not created yet: the driver takes this batch
        pos = self.positions[np.asarray(batch.indices, dtype=np.int64)]
        nd = pos.shape[1]
        plans: dict[str, tuple[Any, list]] = {}
        covered_all: np.ndarray | None = None
        for name, values in batch.results.items():
            if not isinstance(values, np.ndarray) or values.dtype.kind not in "biufc":
                continue  # strings, dates, objects: the driver writes them
            try:
                arr = grp[name]
            except KeyError:
                continue
            if (tuple(arr.shape[nd:]) != values.shape[1:]
                    or not np.can_cast(values.dtype, arr.dtype, "same_kind")):
                continue
            blocks, covered = covered_blocks(pos, tuple(arr.shape[:nd]), _write_block(arr)[:nd])
            if not blocks:
                continue
            plans[name] = (arr, blocks)
            covered_all = covered if covered_all is None else covered_all & covered
        if covered_all is None or not covered_all.any():
            return batch
        results, flags = dict(batch.results), dict(batch.present)
        for name, (arr, blocks) in plans.items():
            values = batch.results[name]
            present = np.asarray(batch.present.get(name, np.ones(len(values), bool)), bool)
            fill = fill_value(np.dtype(arr.dtype))
            for slices, rows, local in blocks:
                if not covered_all[rows].all():
                    continue  # another result leaves these runs to the driver: it writes them
                block = np.full(tuple(s.stop - s.start for s in slices) + values.shape[1:],
                                fill, dtype=arr.dtype)
                keep = present[rows]
                block[tuple(local[keep].T)] = values[rows[keep]]
                arr[slices] = block
            del results[name]
            flags[name] = present  # "present but not in results" = written by a worker
        if covered_all.all():
            batch.results, batch.present = results, flags
            return batch
        held = {name: np.asarray(batch.results[name])[~covered_all] for name in plans}
        plain = {f.name: getattr(batch, f.name) for f in fields(BatchResult)}
        plain.update(results=results, present=flags)
        return PartlyWritten(**plain, written=covered_all, held=held)


class ZarrStore(JournaledStore):
    """Results of one trajectory in a Zarr store, group ``<name>``; see :class:`JournaledStore`.

    Parameters
    ----------
    zarr_format : int, optional
        Format of a new store (2 or 3); default ``pypetx.zarr.format``. An existing store
        keeps its own; zarr-python 2 writes format 2.
    shards : "auto", int or None, optional
        Runs per shard along the explored dims (format 3; ``None``: no sharding); default
        ``pypetx.zarr.shards``. With ``batch_size`` given, ``"auto"`` means one batch.
    chunk_bytes : int or str, optional
        Target size of an inner chunk of a sharded array; default ``pypetx.zarr.chunk_bytes``.
    complevel, encoding, batch_size
        See :class:`JournaledStore`.
    """

    storage = "zarr"

    def __init__(self, path: str | os.PathLike[str], name: str, *,
                 zarr_format: int | None = None, shards: int | str | None = _FROM_CONFIG,
                 chunk_bytes: int | str | None = None, **opts: Any):
        super().__init__(path, name, **opts)
        options = ZarrOptions.from_config(format=zarr_format, chunk_bytes=chunk_bytes)
        if shards != _FROM_CONFIG:
            options = replace(options, shards=shards)
        self.options = options
        self._layout: ShardLayout | None = None  # the trajectory's, once known
        self._format: int | None = None

    @property
    def _zstd_level(self) -> int:
        return 4 if self.complevel is None else self.complevel

    @property
    def zarr_format(self) -> int:
        """The format of the store: its own once it exists, else the configured one."""
        if zarr_major() < 3:
            return 2
        if self._format is None and self.path.exists():
            try:
                self._format = int(_open_group(str(self.path), "r").metadata.zarr_format)
            except (OSError, ValueError, KeyError):
                pass
        return self._format if self._format is not None else self.options.format

    def _format_kw(self) -> dict[str, Any]:
        return {"zarr_format": self.zarr_format} if zarr_major() >= 3 else {}

    def _root(self, mode: str = "a") -> Any:
        return _open_group(str(self.path), mode)

    def _live(self, mode: str = "r") -> Any | None:
        """The trajectory's group, finalized or not (``None`` if absent)."""
        if not self.path.exists():
            return None
        try:
            return self._root(mode)[self.name]
        except KeyError:
            return None

    def _cleanup_after_crash(self) -> None:
        # a writer killed mid-write leaves zarr-python's temporary ``*.partial`` files
        # (the shard or chunk itself is replaced atomically: old or new, never torn)
        group = self.path / self.name
        if group.is_dir():
            for part in group.rglob("*.partial"):
                part.unlink(missing_ok=True)

    def _read_stored(self) -> xr.Dataset | None:
        grp = self._live()
        if grp is None or "pypetx_format_version" not in grp.attrs:
            return None  # absent, or arrays of a run that never finalized
        with ZarrFile(self.path) as f:
            f.check(self.name)  # errors for newer files
        return xr.open_zarr(str(self.path), group=self.name, chunks=None, consolidated=False)

    def _open_result(self) -> xr.Dataset:
        return xr.open_zarr(str(self.path), group=self.name, chunks={})

    def open(self, exploration: Any, records=(), attrs: Mapping[str, Any] | None = None, *,
             resume: bool = False) -> None:
        super().open(exploration, records, attrs, resume=resume)
        self._layout = None  # read again from the arrays, or planned for new ones
        grp = self._live()
        if grp is None:
            return
        if not resume and "pypetx_format_version" not in grp.attrs:
            del self._root("a")[self.name]  # leftovers no journal refers to
            return
        self._fit_arrays(self._live("r+"))

    def _fit_arrays(self, grp: Any) -> None:
        """Grow result arrays to an expanded grid (old cells keep their indices)."""
        dims, shape = explored_dims(self.exploration), tuple(self.exploration.shape)
        for name, arr in grp.arrays():
            if arr.attrs.get("pypetx_mode") != FIXED:
                continue  # coordinates and status are rewritten by finalize
            adims = _array_dims(arr)
            if adims[: len(dims)] == dims and tuple(arr.shape[: len(dims)]) != shape:
                arr.resize(shape + tuple(arr.shape[len(dims):]))
            elif adims[: len(dims)] != dims:
                raise StorageError(
                    f"cannot resume {self.where}: its layout {adims} differs from the "
                    f"exploration's {dims}; Zarr stores cannot change layout, use a new name"
                )

    def _journal_source(self, entry: Any) -> Any:
        grp = self._live()
        positions = RunPositions(self.exploration)

        def written(name: str) -> tuple[Any, np.ndarray] | None:
            arr = None if grp is None else grp.get(name)
            return None if arr is None else (arr, positions)

        return JournalSource(entry, written)

    def worker_sink(self) -> Callable[[BatchResult], BatchResult] | None:
        """A picklable callable for the workers (see :class:`ZarrSink`)."""
        return ZarrSink(str(self.path), self.name, RunPositions(self.exploration))

    # layout ----------------------------------------------------------------------------

    def layout(self, batch_len: int = 1, infos: Sequence[ResultInfo] = ()) -> ShardLayout:
        """Chunks and shards along the explored dims, shared by every result array.

        An existing result array fixes it (resume, results that appear later); else it is
        planned from the options, ``batch_len`` (the batch creating the first arrays) and
        the per-run bytes of ``infos`` (see :mod:`pypetx.store.zarrshard`).
        """
        if self._layout is not None:
            return self._layout
        nd = len(explored_dims(self.exploration))
        grp = self._live()
        for _, arr in (grp.arrays() if grp is not None else ()):
            if arr.attrs.get("pypetx_mode") == FIXED and len(arr.shape) >= nd:
                shards = getattr(arr, "shards", None)
                self._layout = ShardLayout(tuple(int(c) for c in arr.chunks[:nd]),
                                           None if shards is None
                                           else tuple(int(s) for s in shards[:nd]))
                return self._layout
        shape = tuple(self.exploration.shape)
        per_run = [max(1, int(i.dtype.itemsize * np.prod(i.shape or (), dtype=np.int64)))
                   for i in infos] or [8]
        if self.zarr_format < 3 or self.options.shards is None:
            layout = plan_layout(shape, chunk_runs=self.batch_size or batch_len, shard_runs=None)
        else:
            if self.batch_size:
                shard_runs = int(self.batch_size)  # fixed batches: one per shard, aligned
            elif self.options.shards == "auto":
                shard_runs = auto_shard_runs(sum(per_run))
            else:
                shard_runs = int(self.options.shards)
            layout = plan_layout(shape, shard_runs=shard_runs,
                                 chunk_runs=max(1, self.options.chunk_bytes // max(per_run)))
        if infos:
            self._layout = layout  # arrays are about to be created with it
        return layout

    def batch_boundary(self, start: int, end: int) -> int:
        """Where a batch of runs ``start..end-1`` should end so that it ends on a shard.

        The last shard boundary in ``(start, end]``; ``end`` when there is none, the grid
        is not in C order or no array (hence no layout) exists yet. A batch planner that
        ends its batches there lets the workers write every shard but the first batch's
        (``run_batches(align=...)``: the environment passes this method).
        """
        layout = self._layout
        if layout is None or self.exploration is None or not self.exploration.is_c_order:
            return end
        shape = tuple(int(s) for s in self.exploration.shape)
        n = int(np.prod(shape))
        if end >= n or end <= start:
            return min(end, n)
        block = np.asarray(layout.block, dtype=np.int64)
        cell = np.asarray(np.unravel_index(int(end), shape), dtype=np.int64)
        first = int(np.ravel_multi_index(tuple((cell // block) * block), shape))
        return first if first > start else end

    def _encoding(self, info: ResultInfo, layout: ShardLayout) -> dict[str, Any]:
        enc: dict[str, Any] = dict(layout.encoding(tuple(info.shape or ())))
        enc.update(_compression(self._zstd_level, self.zarr_format))
        if info.dtype.kind in "fc":
            enc["_FillValue"] = fill_value(info.dtype)
        enc.update(self.encoding.get(info.name, {}))
        return enc

    def _create_arrays(self, infos: Sequence[ResultInfo], batch_len: int) -> None:
        """Create the arrays of new fixed-shape results (metadata only), in one write: a
        worker's sink sees all of a batch's arrays or none."""
        import dask.array as da

        layout = self.layout(batch_len, infos)
        dims, shape = explored_dims(self.exploration), tuple(self.exploration.shape)
        variables, encoding = {}, {}
        for info in infos:
            vshape = tuple(info.shape or ())
            enc = encoding[info.name] = self._encoding(info, layout)
            # dask chunks of whole shards (xarray refuses several dask chunks per shard)
            block = tuple(enc.get("shards") or enc["chunks"])
            data = da.zeros(shape + vshape,
                            chunks=tuple(min(b, s) for b, s in zip(block, shape + vshape)),
                            dtype=info.dtype)
            attrs = dict(variable_attrs(info), pypetx_mode=FIXED)
            variables[info.name] = xr.Variable(dims + result_dims(info), data, attrs)
        ds = xr.Dataset(variables, coords=explored_coords(self.exploration))
        ds.to_zarr(str(self.path), group=self.name, mode="a", compute=False,
                   consolidated=False, encoding=encoding, **self._format_kw())

    # protocol --------------------------------------------------------------------------

    def write_batch(self, batch: BatchResult) -> None:
        """Journal the batch (status; results no worker wrote) and create new arrays.

        A :class:`PartlyWritten` batch becomes two journal entries: its runs whose results
        the worker wrote, and the others with their values. Each is whole on its own, so
        a kill between the two loses only the runs of the second, which run again.
        """
        if isinstance(batch, PartlyWritten):
            written = np.asarray(batch.written, bool)
            driver = _subset(batch, np.flatnonzero(~written), results=batch.held)
            self._journal_batch(driver)
            self._journal_batch(_subset(batch, np.flatnonzero(written)),
                                worker_written=list(batch.held))
        else:
            written_names = [n for n in batch.present if n not in batch.results]
            self._journal_batch(batch, worker_written=written_names)
        grp = self._live()
        new = []
        for name, values in batch.results.items():
            if grp is not None and name in grp:
                continue
            info, _ = encode_result(name, values, batch.present.get(name),
                                    batch.result_meta.get(name))
            if info.mode == FIXED:
                new.append(info)
        if new:
            self._create_arrays(new, len(batch))

    def finalize(self, attrs_update: Mapping[str, Any] | None = None) -> xr.Dataset:
        """Write driver-held results and status, the tree and attrs; consolidate metadata."""
        import dask

        zarr = _zarr()
        if self.journal is None:
            raise StorageError(f"{self.where}: finalize before open")
        entries = self.journal.entries()
        # fixed-shape results are written below from the sources: never computed from ds
        ds, tree, cube = self._assemble(attrs_update, fixed_results=False)
        grp = self._live("r+")
        rewrite = [n for n, v in ds.data_vars.items() if v.attrs.get("pypetx_mode") != FIXED]
        batch_len = len(cube.sources[-1].runs) if cube.sources else 1
        fixed = [i for i in cube.infos.values() if i.mode == FIXED]
        missing = [i for i in fixed if grp is None or i.name not in grp]
        if missing:  # ragged now (perhaps fixed in the first batches): rewritten below
            self._create_arrays(missing, batch_len)
            grp = self._live("r+")
        for info in fixed:
            self._write_driver_rows(grp[info.name], info.name, cube)
        with dask.config.set(scheduler="synchronous"):
            sub = ds[rewrite].load()  # status and ragged: small, or read before deleting
        if grp is not None:
            # format 1 status strings (error, traceback) go: failures replace them
            for name in [*sub.variables, *LEGACY_STATUS]:
                if name in grp:
                    del grp[name]
        enc = {n: _compression(self._zstd_level, self.zarr_format)
               for n in sub.data_vars if sub[n].dtype != object}
        layout = self.layout(batch_len, [i for i in fixed])
        if layout.shards is not None:
            # status over the explored dims: sharded like the results (few files)
            dims, shape = explored_dims(self.exploration), tuple(self.exploration.shape)
            for n in enc:
                var = sub[n]
                if var.dims[: len(dims)] == dims and var.shape[: len(dims)] == shape:
                    enc[n].update(layout.encoding(var.shape[len(dims):]))
        sub.attrs = dict(ds.attrs)
        sub.to_zarr(str(self.path), group=self.name, mode="a", consolidated=False,
                    encoding=enc, **self._format_kw())
        tree.to_zarr(str(self.path), group=f"{self.name}/{TREE_GROUP}", mode="w",
                     consolidated=False, **self._format_kw())
        grp = self._live("r+")
        grp.attrs.update(ds.attrs)
        grp.attrs["pypetx_format_version"] = FORMAT_VERSION
        # xarray reads consolidated metadata from the root of the store
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
            zarr.consolidate_metadata(str(self.path))
        self.journal.remove(entries)
        self._release_stored()
        self._stored_stale = True  # reopened by the next finalize (or resume) that needs it
        return self._open_result()

    @staticmethod
    def _write_driver_rows(arr: Any, name: str, cube: Any) -> None:
        """Write the runs whose latest values are in journal files (not worker-written).

        One write per block (shard or chunk) touched, gathering its runs from every
        source: a block is read back only when it also holds values written earlier.
        """
        positions = RunPositions(cube.exploration)  # not cube.positions: (runs, ndim) int64
        nd = positions.shape[1]
        block = np.asarray(_write_block(arr)[:nd], dtype=np.int64)
        shape = np.asarray(arr.shape[:nd], dtype=np.int64)
        nblocks = tuple(int(n) for n in -(-shape // block))
        parts: dict[int, list[tuple[Any, np.ndarray]]] = {}
        for sid, src in enumerate(cube.sources):
            entry = getattr(src, "entry", None)
            if entry is None or not entry.has(name) or entry.infos[name].mode != FIXED:
                continue
            rows = np.flatnonzero(cube.owner[src.runs] == sid)
            rows = rows[src.present(name, rows)]
            if not len(rows):
                continue
            key = np.ravel_multi_index(tuple((positions[src.runs[rows]] // block).T),
                                       nblocks)
            order = np.argsort(key, kind="stable")
            keys, starts = np.unique(key[order], return_index=True)
            for k, part in zip(keys.tolist(), np.split(rows[order], starts[1:])):
                parts.setdefault(k, []).append((src, part))
        vshape = tuple(arr.shape[nd:])
        fill = fill_value(np.dtype(arr.dtype))
        for k in sorted(parts):
            lo = np.asarray(np.unravel_index(k, nblocks), dtype=np.int64) * block
            hi = np.minimum(lo + block, shape)
            sel = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
            pieces = [(positions[src.runs[r]] - lo, src.fixed(name, r))
                      for src, r in parts[k]]
            if sum(len(p) for p, _ in pieces) == int(np.prod(hi - lo)):
                box = np.full(tuple(hi - lo) + vshape, fill, dtype=arr.dtype)  # all ours
            else:
                box = np.asarray(arr[sel])  # single writer now: read-modify-write is safe
            for p, values in pieces:
                box[tuple(p.T)] = values
            arr[sel] = box


class ZarrFile(ResultsFile):
    """A Zarr results store opened once (its root group); see :class:`ResultsFile`."""

    def __init__(self, path: str | os.PathLike[str]):
        super().__init__(path)
        try:
            self._root = _open_group(str(self.path), "r")
        except (OSError, ValueError, KeyError) as e:
            raise StorageError(f"{self.path} cannot be read as a Zarr store: {e}") from e

    def _trajectories(self) -> list[str]:
        return [n for n, g in self._root.groups() if "pypetx_format_version" in g.attrs]

    def _attrs(self, group: str) -> dict[str, Any]:
        return dict(self._root[group].attrs)

    def _read(self, group: str) -> xr.Dataset:
        return xr.open_zarr(self._root.store, group=group, chunks=None,
                            consolidated=False).load()


class ZarrBackend(StorageBackend):
    """Zarr stores (a directory), one group per trajectory; workers write their shards."""

    name = "zarr"
    description = "Zarr store (directory), one group per trajectory, written by the workers"
    store_class = ZarrStore

    def guess_can_open(self, path: str | os.PathLike[str]) -> bool:
        path = Path(str(path).rstrip("/"))
        if path.suffix == ".zarr":
            return not path.is_file()
        return path.is_dir() and ((path / "zarr.json").exists() or (path / ".zgroup").exists())

    def open_file(self, path: str | os.PathLike[str]) -> ZarrFile:
        return ZarrFile(path)

    def open_cube(self, path: str | os.PathLike[str], name: str, *,
                  chunks: dict[str, int] | None = None) -> xr.Dataset:
        return xr.open_zarr(str(path), group=name, chunks=chunks)

    def write_copy(self, path: str | os.PathLike[str],
                   trajectories: dict[str, tuple[xr.Dataset, xr.Dataset]], *,
                   complevel: int = 4) -> None:
        for name, (cube, tree) in trajectories.items():
            cube.to_zarr(str(path), group=name, mode="w", consolidated=False)
            tree.to_zarr(str(path), group=f"{name}/{TREE_GROUP}", mode="w", consolidated=False)
        with warnings.catch_warnings():  # zarr 3 warns that consolidation is not in the spec
            warnings.simplefilter("ignore", UserWarning)
            _zarr().consolidate_metadata(str(path))

    def remove_trajectory(self, path: str | os.PathLike[str], name: str) -> None:
        shutil.rmtree(Path(path) / name)
