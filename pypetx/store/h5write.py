"""Write Datasets into groups of one open HDF5 file as netCDF4 (h5netcdf), without dask
for data already in memory.

``Dataset.to_netcdf`` opens the file once per call and, to create every variable before
writing any data (HDF5 crashes deleting a half-made variable when the disk fills up),
needs the data as dask arrays. Here xarray's own encoding and variable creation
(:class:`xarray.backends.H5NetCDFStore`) run unchanged, so the file is the one
``to_netcdf`` would write; only the data writes are deferred: numpy arrays are written
directly (their zlib-compressed chunks compressed in parallel threads), dask arrays block
by block in this process.
"""

from __future__ import annotations

import itertools
import os
import zlib
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["write_groups"]


#: Below this many bytes a variable's chunks are compressed in this thread.
_PARALLEL_BYTES = 1 << 20


def _write_compressed(target: Any, data: np.ndarray) -> bool:
    """Write ``data`` into a zlib dataset (shuffled or not), compressing chunks in threads.

    HDF5 runs its filters chunk by chunk in the calling thread; zlib releases the GIL, so
    the chunks are (shuffled and) compressed in a thread pool here, as HDF5's shuffle and
    deflate filters would, and stored with ``write_direct_chunk``. Returns False, writing
    nothing, when the dataset has any other filter pipeline or dtype.
    """
    import h5py

    h5ds = getattr(target.get_array(), "_h5ds", None)
    if h5ds is None or h5ds.chunks is None or data.shape != h5ds.shape:
        return False
    plist = h5ds.id.get_create_plist()
    codes = [plist.get_filter(k)[0] for k in range(plist.get_nfilters())]
    shuffle = codes == [h5py.h5z.FILTER_SHUFFLE, h5py.h5z.FILTER_DEFLATE]
    if not (shuffle or codes == [h5py.h5z.FILTER_DEFLATE]) or data.dtype != h5ds.dtype:
        return False
    if data.dtype.hasobject:
        return False
    level, chunks, itemsize = int(h5ds.compression_opts), h5ds.chunks, data.dtype.itemsize
    fill = h5ds.fillvalue

    def compress(offset: tuple[int, ...]) -> tuple[tuple[int, ...], bytes]:
        block = data[tuple(slice(o, o + c) for o, c in zip(offset, chunks))]
        if block.shape != chunks:  # an edge chunk: HDF5 stores it whole, padded
            whole = np.full(chunks, fill, dtype=data.dtype)
            whole[tuple(slice(0, n) for n in block.shape)] = block
            block = whole
        raw = np.ascontiguousarray(block).reshape(-1).view(np.uint8).reshape(-1, itemsize)
        if shuffle:
            raw = np.ascontiguousarray(raw.T)
        return offset, zlib.compress(raw, level)

    offsets = itertools.product(*(range(0, n, c) for n, c in zip(data.shape, chunks)))
    threads = min(os.cpu_count() or 1, 8) if data.nbytes >= _PARALLEL_BYTES else 1
    with ThreadPoolExecutor(threads) as pool:
        for offset, blob in pool.map(compress, offsets):
            h5ds.id.write_direct_chunk(offset, blob, filter_mask=0)
    return True


class _DeferredWriter:
    """The ``writer`` of :meth:`H5NetCDFStore.store`: collects ``(source, target)`` pairs
    while variables are created; :meth:`write` writes them afterwards."""

    def __init__(self) -> None:
        self.pending: list[tuple[str, Any, Any, Any]] = []
        self.group = ""

    def add(self, source: Any, target: Any, region: Any = None) -> None:
        self.pending.append((self.group, source, target, region))

    def write(self, direct: Mapping[str, Mapping[str, Callable[[Any], bool]]]) -> None:
        from dask.base import is_dask_collection

        lazy_sources, lazy_targets = [], []
        for group, source, target, region in self.pending:
            write = direct.get(group, {}).get(getattr(target, "variable_name", None))
            if write is not None and write(target):
                continue
            if is_dask_collection(source):
                lazy_sources.append(source)
                lazy_targets.append(target)
            elif region or not _write_compressed(target, np.asarray(source)):
                target[region or ...] = np.asarray(source)
        self.pending = []
        if lazy_sources:
            import dask
            import dask.array as da

            # in this process (the sources read the driver's journal), one block at a time
            with dask.config.set(scheduler="synchronous"):
                da.store(lazy_sources, lazy_targets, lock=False, compute=True)


def write_groups(path: Any, groups: Mapping[str, tuple[xr.Dataset, Mapping[str, Any]]], *,
                 root_attrs: Mapping[str, Any] | None = None,
                 direct: Mapping[str, Mapping[str, Callable[[Any], bool]]] | None = None,
                 unlimited_dims: Collection[str] = ()) -> None:
    """Write ``{group: (dataset, encoding)}`` into the HDF5 file ``path`` (created or
    appended to), then ``root_attrs`` on the root group; one open of the file.

    Every variable of every group is created before any data is written. ``direct``:
    ``{group: {variable: write}}``; ``write(target)`` writes the variable's data itself
    (``target[slices] = values``) and returns True, or returns False to have the
    Dataset's data written instead. ``unlimited_dims``: dimensions created resizable
    wherever a group has them (a later patch may change their length in place).
    """
    import h5netcdf
    from xarray.backends import H5NetCDFStore
    from xarray.conventions import encode_dataset_coordinates

    writer = _DeferredWriter()
    # "a" on a missing file costs a failed open first (h5py then builds an exception)
    with h5netcdf.File(path, "a" if os.path.exists(path) else "w") as f:
        for group, (ds, encoding) in groups.items():
            store = H5NetCDFStore(f, group=group)
            variables, attrs = encode_dataset_coordinates(ds)
            for name, enc in encoding.items():
                variables[name].encoding = dict(enc)
            writer.group = group
            store.store(variables, attrs, set(encoding), writer,
                        unlimited_dims=set(unlimited_dims) & set(ds.dims))
        writer.write(direct or {})
        # plain HDF5 attributes, as h5py writes them (h5netcdf would make them arrays)
        attrs = getattr(f, "_h5file", f).attrs
        for key, value in (root_attrs or {}).items():
            attrs[key] = value
