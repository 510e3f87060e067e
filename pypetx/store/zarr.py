"""Zarr backend: the same cube layout, with workers writing their results in place.

The driver creates a fixed-shape result's array when the first batch carrying it arrives
(shape and dtype are known then), chunked along the explored dims like the batches. From
then on :meth:`ZarrStore.worker_sink` lets each worker write its batch's chunks itself and
send only status to the driver, which still journals it (a ``kill -9`` loses nothing).
A worker writes only chunks its batch covers completely, so two workers never write the
same chunk; anything else (ragged, objects, partial chunks) travels to the driver and is
written by ``finalize``, which also writes the status variables and consolidates metadata.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
    chunk_shape,
    explored_coords,
    explored_dims,
    fill_value,
    result_dims,
    variable_attrs,
)
from pypetx.store.sources import JournalSource

__all__ = ["ZarrBackend", "ZarrFile", "ZarrSink", "ZarrStore"]


def _zarr() -> Any:
    import zarr

    return zarr


def _chunk_blocks(pos: np.ndarray, shape: tuple[int, ...], chunks: tuple[int, ...]
                  ) -> list[tuple[tuple[slice, ...], np.ndarray, np.ndarray]] | None:
    """Split cells into the chunks they fill: ``[(chunk slices, rows, local positions)]``.

    ``None`` when some touched chunk is not filled completely (writing it would need a
    read-modify-write another worker could race with).
    """
    ch = np.asarray(chunks)
    blk = pos // ch
    out = []
    for key in np.unique(blk, axis=0):
        rows = np.flatnonzero((blk == key).all(axis=1))
        lo = key * ch
        hi = np.minimum(lo + ch, shape)
        if len(rows) != int(np.prod(hi - lo)):
            return None
        out.append((tuple(slice(a, b) for a, b in zip(lo, hi)), rows, pos[rows] - lo))
    return out


@dataclass
class ZarrSink:
    """Picklable: writes a batch's fixed-shape results into the Zarr store on the worker.

    Returns the batch with those results removed from ``results`` (their ``present``
    flags stay: the driver reads "present but not in results" as "written by a worker").
    """

    path: str
    group: str
    positions: np.ndarray

    def __call__(self, batch: BatchResult) -> BatchResult:
        zarr = _zarr()
        try:
            root = zarr.open_group(self.path, mode="r+", use_consolidated=False)
            grp = root[self.group]
        except (KeyError, FileNotFoundError, ValueError):
            return batch  # arrays not created yet: the driver takes this batch
        pos = self.positions[np.asarray(batch.indices, dtype=np.int64)]
        nd = pos.shape[1]
        results, flags = dict(batch.results), dict(batch.present)
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
            blocks = _chunk_blocks(pos, tuple(arr.shape[:nd]), tuple(arr.chunks[:nd]))
            if blocks is None:
                continue
            present = np.asarray(batch.present.get(name, np.ones(len(values), bool)), bool)
            fill = fill_value(np.dtype(arr.dtype))
            for slices, rows, local in blocks:
                block = np.full(tuple(s.stop - s.start for s in slices) + values.shape[1:],
                                fill, dtype=arr.dtype)
                keep = present[rows]
                block[tuple(local[keep].T)] = values[rows[keep]]
                arr[slices] = block
            del results[name]
            flags[name] = present  # "present but not in results" = written by a worker
        batch.results, batch.present = results, flags
        return batch


class ZarrStore(JournaledStore):
    """Results of one trajectory in a Zarr store, group ``<name>``; see :class:`JournaledStore`."""

    storage = "zarr"

    @property
    def _zstd_level(self) -> int:
        return 4 if self.complevel is None else self.complevel

    def _root(self, mode: str = "a") -> Any:
        # never the consolidated metadata: it is stale between finalizes
        return _zarr().open_group(str(self.path), mode=mode, use_consolidated=False)

    def _live(self, mode: str = "r") -> Any | None:
        """The trajectory's group, finalized or not (``None`` if absent)."""
        if not self.path.exists():
            return None
        try:
            return self._root(mode)[self.name]
        except KeyError:
            return None

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
            adims = tuple(arr.metadata.dimension_names or ())
            if adims[: len(dims)] == dims and tuple(arr.shape[: len(dims)]) != shape:
                arr.resize(shape + tuple(arr.shape[len(dims):]))
            elif adims[: len(dims)] != dims:
                raise StorageError(
                    f"cannot resume {self.where}: its layout {adims} differs from the "
                    f"exploration's {dims}; Zarr stores cannot change layout, use a new name"
                )

    def _journal_source(self, entry: Any) -> Any:
        grp = self._live()
        positions = np.asarray(self.exploration.positions)

        def written(name: str) -> tuple[Any, np.ndarray] | None:
            arr = None if grp is None else grp.get(name)
            return None if arr is None else (arr, positions)

        return JournalSource(entry, written)

    def worker_sink(self) -> Callable[[BatchResult], BatchResult] | None:
        """A picklable callable for the workers (see :class:`ZarrSink`)."""
        return ZarrSink(str(self.path), self.name, np.asarray(self.exploration.positions))

    def _encoding(self, info: ResultInfo, chunks: tuple[int, ...]) -> dict[str, Any]:
        from zarr.codecs import ZstdCodec

        enc: dict[str, Any] = {"chunks": chunks, "compressors": [ZstdCodec(level=self._zstd_level)]}
        if info.dtype.kind in "fc":
            enc["_FillValue"] = fill_value(info.dtype)
        enc.update(self.encoding.get(info.name, {}))
        return enc

    def _create_array(self, info: ResultInfo, batch_len: int) -> None:
        import dask.array as da

        dims, shape = explored_dims(self.exploration), tuple(self.exploration.shape)
        vshape = tuple(info.shape or ())
        chunks = chunk_shape(shape, self.batch_size or batch_len) + vshape
        data = da.zeros(shape + vshape, chunks=chunks, dtype=info.dtype)
        attrs = dict(variable_attrs(info), pypetx_mode=FIXED)
        var = xr.Variable(dims + result_dims(info), data, attrs)
        ds = xr.Dataset({info.name: var}, coords=explored_coords(self.exploration))
        ds.to_zarr(str(self.path), group=self.name, mode="a", compute=False,
                   consolidated=False, encoding={info.name: self._encoding(info, chunks)})

    def write_batch(self, batch: BatchResult) -> None:
        """Journal the batch (status; results no worker wrote) and create new arrays."""
        written = [n for n in batch.present if n not in batch.results]
        self._journal_batch(batch, worker_written=written)
        grp = self._live()
        for name, values in batch.results.items():
            if grp is not None and name in grp:
                continue
            info, _ = encode_result(name, values, batch.present.get(name),
                                    batch.result_meta.get(name))
            if info.mode == FIXED:
                self._create_array(info, len(batch))
                grp = self._live()

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
        for info in cube.infos.values():
            if info.mode != FIXED:
                continue  # ragged now (perhaps fixed in the first batches): rewritten below
            if grp is None or info.name not in grp:
                self._create_array(info, len(cube.sources[-1].runs) if cube.sources else 1)
                grp = self._live("r+")
            self._write_driver_rows(grp[info.name], info.name, cube)
        with dask.config.set(scheduler="synchronous"):
            sub = ds[rewrite].load()  # status and ragged: small, or read before deleting
        if grp is not None:
            # format 1 status strings (error, traceback) go: failures replace them
            for name in [*sub.variables, *LEGACY_STATUS]:
                if name in grp:
                    del grp[name]
        enc = {n: {"compressors": [zarr.codecs.ZstdCodec(level=self._zstd_level)]}
               for n in sub.data_vars if sub[n].dtype != object}
        sub.attrs = dict(ds.attrs)
        sub.to_zarr(str(self.path), group=self.name, mode="a", consolidated=False, encoding=enc)
        tree.to_zarr(str(self.path), group=f"{self.name}/{TREE_GROUP}", mode="w",
                     consolidated=False)
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
        """Write the runs whose latest values are in journal files (not worker-written)."""
        for sid, src in enumerate(cube.sources):
            entry = getattr(src, "entry", None)
            if entry is None or not entry.has(name) or entry.infos[name].mode != FIXED:
                continue
            rows = np.flatnonzero(cube.owner[src.runs] == sid)
            rows = rows[src.present(name, rows)]
            if not len(rows):
                continue
            pos = cube.positions[src.runs[rows]]
            lo, hi = pos.min(axis=0), pos.max(axis=0) + 1
            box_sel = tuple(slice(a, b) for a, b in zip(lo, hi))
            box = arr[box_sel]  # single writer now: read-modify-write of the box is safe
            box[tuple((pos - lo).T)] = src.fixed(name, rows)
            arr[box_sel] = box


class ZarrFile(ResultsFile):
    """A Zarr results store opened once (its root group); see :class:`ResultsFile`."""

    def __init__(self, path: str | os.PathLike[str]):
        super().__init__(path)
        try:
            # never the consolidated metadata: it is stale while a sweep runs
            self._root = _zarr().open_group(str(self.path), mode="r", use_consolidated=False)
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
    """Zarr stores (a directory), one group per trajectory; workers write their chunks."""

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
