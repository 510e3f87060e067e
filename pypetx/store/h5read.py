"""Open a group of a pypetx HDF5 file lazily, reading its netCDF4 metadata with h5py.

``xr.open_dataset(engine="h5netcdf")`` resolves every variable's dimensions and sizes
through h5netcdf's object model (hundreds of HDF5 lookups: ~40 ms for a cube of a dozen
variables); reopening a cube after ``finalize`` and reading one point of it then costs
more than the point. This backend reads the same metadata with one pass of h5py and
hands it to xarray's own decoding (:class:`~xarray.backends.StoreBackendEntrypoint`), so
the Dataset is the one the h5netcdf engine gives. Layouts it does not expect (netCDF
renamed variables, enum or compound types, unlabelled dimensions) raise
:class:`Unusual`, and :func:`open_group` falls back to the h5netcdf engine.
"""

from __future__ import annotations

import copy
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.backends.common import AbstractDataStore
from xarray.backends.file_manager import CachingFileManager
from xarray.backends.locks import HDF5_LOCK
from xarray.backends.store import StoreBackendEntrypoint
from xarray.core import indexing
from xarray.core.utils import FrozenDict

__all__ = ["H5Backend", "Unusual", "dataset", "group_attributes", "open_group", "read_group"]

#: Attributes netCDF4 keeps for itself (h5netcdf hides the same ones).
_HIDDEN = frozenset(["REFERENCE_LIST", "CLASS", "DIMENSION_LIST", "NAME", "_Netcdf4Dimid",
                     "_Netcdf4Coordinates", "_nc3_strict", "_NCProperties"])
_NOT_A_VARIABLE = b"This is a netCDF dimension but not a netCDF variable"


class Unusual(Exception):
    """A layout this reader leaves to h5netcdf."""


def _h5py() -> Any:
    import h5py

    return h5py


def _attr_value(h5attrs: Any, key: str) -> Any:
    """One attribute as h5netcdf returns it (strings decoded, 1-element arrays unpacked)."""
    h5py = _h5py()
    value = h5attrs[key]
    if isinstance(value, h5py.Empty):
        from h5netcdf.attrs import Attributes

        return Attributes(h5attrs, None, h5py)[key]
    if isinstance(value, (str, bytes, np.bytes_, np.ndarray)) and (
            not isinstance(value, np.ndarray) or value.dtype.kind in "OSU"):
        info = h5py.check_string_dtype(h5attrs.get_id(key).dtype)
        if info is not None:
            if info.length is not None and info.length > 1:
                if np.isscalar(value):
                    value = value.decode(info.encoding, "surrogateescape")
                else:
                    value = [b.decode(info.encoding, "surrogateescape") for b in value.flat]
            elif not np.isscalar(value):
                value = value.tolist()
    if not np.isscalar(value) and len(value) == 1:
        return value[0]
    return value


def _attributes(h5attrs: Any, keys: Iterable[str] | None = None) -> dict[str, Any]:
    """Visible attributes decoded as h5netcdf and xarray's h5netcdf backend do."""
    out = {}
    for key in h5attrs if keys is None else keys:
        if key in _HIDDEN:
            continue
        value = _attr_value(h5attrs, key)
        if key not in ("_FillValue", "missing_value") and isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                raise Unusual(f"attribute {key!r} is not UTF-8") from None
        out[key] = value
    return out


class _Array(BackendArray):
    """Lazy, picklable access to one HDF5 dataset (as h5netcdf reads it)."""

    def __init__(self, manager: CachingFileManager, path: str, shape: tuple[int, ...],
                 dtype: np.dtype, vlen_str: bool):
        self.manager, self.path = manager, path
        self.shape, self.dtype, self.vlen_str = shape, dtype, vlen_str

    def __getitem__(self, key: Any) -> Any:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.OUTER_1VECTOR, self._getitem)

    def _getitem(self, key: tuple) -> np.ndarray:
        with HDF5_LOCK:
            ds = dataset(self.manager.acquire(), self.path)
            return (ds.asstr() if self.vlen_str else ds)[key]


@dataclass(frozen=True)
class _VarMeta:
    """What the file says about one variable (everything but its data)."""

    path: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: np.dtype
    vlen_str: bool
    attrs: dict[str, Any]
    encoding: dict[str, Any]


@dataclass(frozen=True)
class _GroupMeta:
    variables: dict[str, _VarMeta]
    attrs: dict[str, Any]
    unlimited: frozenset[str]


#: Metadata of recently opened groups by (file version, group): a file pypetx rewrites is
#: replaced (new inode), one changed in place gets a new mtime or size. Reopening a cube
#: (one point, then a row, ...) then costs little more than opening the file.
_CACHE: OrderedDict[tuple, _GroupMeta] = OrderedDict()
_CACHE_SIZE = 32
_CACHE_LOCK = threading.Lock()


def dataset(f: Any, path: str) -> Any:
    """The dataset at ``path`` of the open file ``f``.

    ``f[path]`` would build an ``h5py.File`` wrapper for every dataset it opens (to learn
    the file's mode); this opens it without one.
    """
    h5py = _h5py()
    return h5py.Dataset(h5py.h5d.open(f.id, path.encode()))


def _datasets(g: Any) -> Iterable[tuple[str, Any]]:
    """``(name, dataset)`` of the datasets directly in group ``g`` (no File wrappers)."""
    h5py = _h5py()
    for raw in g.id:
        oid = h5py.h5o.open(g.id, raw)
        if h5py.h5i.get_type(oid) == h5py.h5i.DATASET:
            yield raw.decode(), h5py.Dataset(oid)


def _read_group(f: Any, group: str) -> _GroupMeta:
    h5py = _h5py()
    g = f[group]
    variables, unlimited = {}, set()
    for name, ds in _datasets(g):
        attrs = ds.attrs
        keys = list(attrs)
        is_scale = "CLASS" in keys and attrs["CLASS"] == b"DIMENSION_SCALE"
        if is_scale and ds.maxshape and ds.maxshape[0] is None:
            unlimited.add(name)
        if "NAME" in keys and _NOT_A_VARIABLE in attrs["NAME"]:
            continue  # a dimension only
        if name.startswith("_nc4_non_coord_") or ds.dtype.kind == "V":
            raise Unusual(f"variable {name!r}")
        if h5py.check_enum_dtype(ds.dtype) is not None:
            raise Unusual(f"enum variable {name!r}")
        if "DIMENSION_LIST" in keys and not is_scale:
            refs = list(attrs["DIMENSION_LIST"])
            if len(refs) != ds.ndim or any(len(r) == 0 for r in refs):
                raise Unusual(f"unlabelled dimensions of {name!r}")
            dims = tuple(h5py.h5r.get_name(r[-1], f.id).decode().rsplit("/", 1)[-1]
                         for r in refs)
        elif is_scale and ds.ndim == 1 and (
                "_Netcdf4Coordinates" not in keys or len(attrs["_Netcdf4Coordinates"]) == 1):
            dims = (name,)
        elif ds.ndim == 0:
            dims = ()
        else:
            raise Unusual(f"dimensions of {name!r}")
        variables[name] = _variable_meta(name, ds, dims, keys)
    return _GroupMeta(variables, _attributes(g.attrs), frozenset(unlimited))


def _variable_meta(name: str, ds: Any, dims: tuple[str, ...], keys: list[str]) -> _VarMeta:
    """What xarray's h5netcdf backend makes of a variable: attrs and encoding."""
    h5py = _h5py()
    info = h5py.check_string_dtype(ds.dtype)
    vlen_str = info is not None and info.length is None
    encoding: dict[str, Any] = {"dtype": str if vlen_str else ds.dtype}
    chunks = ds.chunks if ds.shape != () else None
    if chunks:
        encoding.update(contiguous=False, chunksizes=chunks,
                        preferred_chunks=dict(zip(dims, chunks, strict=True)))
    else:
        encoding.update(contiguous=True, chunksizes=None)
    encoding.update(zlib=False, szip=False, bzip2=False, blosc=False, zstd=False,
                    shuffle=ds.shuffle, fletcher32=ds.fletcher32)
    if ds.compression == "gzip":
        encoding.update(zlib=True, complevel=ds.compression_opts)
    elif ds.compression is not None:
        raise Unusual(f"compression {ds.compression!r} of {name!r}")
    return _VarMeta(ds.name, dims, tuple(ds.shape), ds.dtype, vlen_str,
                    _attributes(ds.attrs, keys), encoding)


def _group_meta(f: Any, group: str) -> _GroupMeta:
    """The metadata of ``group`` of the open file ``f``, from the cache when this very
    version of the file was read before."""
    try:
        st = os.fstat(f.id.get_vfd_handle())
        key: tuple | None = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size, group)
    except (OSError, TypeError, ValueError):  # a driver without a file descriptor
        key = None
    if key is None:
        return _read_group(f, group)
    with _CACHE_LOCK:
        meta = _CACHE.get(key)
        if meta is not None:
            _CACHE.move_to_end(key)
            return meta
    meta = _read_group(f, group)
    with _CACHE_LOCK:
        _CACHE[key] = meta
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return meta


class _Borrowed:
    """A file manager over a file its owner closes (:func:`read_group`)."""

    def __init__(self, f: Any):
        self._f = f

    def acquire(self, needs_lock: bool = True) -> Any:
        return self._f

    def close(self, needs_lock: bool = True) -> None:
        pass


class _Store(AbstractDataStore):
    """The variables and attributes of one group (metadata read once per file version)."""

    def __init__(self, filename: str, group: str | None, manager: Any = None):
        h5py = _h5py()
        self.filename = filename
        self._manager = manager or CachingFileManager(h5py.File, filename, mode="r")
        try:
            # opened now, as h5netcdf does: the Dataset keeps reading this version of the
            # file even if it is replaced later
            meta = _group_meta(self._manager.acquire(), group or "/")
        except BaseException:
            self._manager.close()
            raise
        self._variables = {name: self._variable(v) for name, v in meta.variables.items()}
        self._attrs = copy.deepcopy(meta.attrs)  # the caller's to change
        self._unlimited = set(meta.unlimited)

    def _variable(self, v: _VarMeta) -> xr.Variable:
        data = indexing.LazilyIndexedArray(
            _Array(self._manager, v.path, v.shape, v.dtype, v.vlen_str))
        encoding = dict(v.encoding, source=self.filename, original_shape=v.shape)
        if "preferred_chunks" in encoding:
            encoding["preferred_chunks"] = dict(encoding["preferred_chunks"])
        return xr.Variable(v.dims, data, copy.deepcopy(v.attrs), encoding)

    def get_variables(self) -> FrozenDict:
        return FrozenDict(self._variables)

    def get_attrs(self) -> FrozenDict:
        return FrozenDict(self._attrs)

    def get_dimensions(self) -> FrozenDict:
        return FrozenDict((d, n) for v in self._variables.values()
                          for d, n in zip(v.dims, v.shape))

    def get_encoding(self) -> dict[str, Any]:
        return {"unlimited_dims": set(self._unlimited)}

    def close(self, **kwargs: Any) -> None:
        self._manager.close(**kwargs)


class H5Backend(BackendEntrypoint):
    """xarray backend: a group of a netCDF4/HDF5 file pypetx wrote (see the module)."""

    description = "pypetx result cubes in HDF5 (netCDF4 layout), metadata read with h5py"
    open_dataset_parameters = ("filename_or_obj", "mask_and_scale", "decode_times",
                               "concat_characters", "decode_coords", "drop_variables",
                               "use_cftime", "decode_timedelta", "group")

    def open_dataset(self, filename_or_obj: Any, *, drop_variables: Iterable[str] | None = None,
                     group: str | None = None, **decoders: Any) -> xr.Dataset:
        store = _Store(os.fspath(filename_or_obj), group)
        return StoreBackendEntrypoint().open_dataset(store, drop_variables=drop_variables,
                                                     **decoders)


def group_attributes(f: Any, group: str) -> dict[str, Any]:
    """The attributes of ``group`` of the open file ``f`` as xarray gives them (strings
    decoded, one-element arrays unpacked); undecodable ones as h5py reads them."""
    h5attrs = f[group].attrs
    try:
        return _attributes(h5attrs)
    except Unusual:
        return dict(h5attrs)


def read_group(f: Any, group: str) -> xr.Dataset:
    """``group`` of the open file ``f`` read into memory, decoded as :func:`open_group`
    decodes it (for small groups such as the trajectory tree: no second handle)."""
    try:
        store = _Store(f.filename, group, manager=_Borrowed(f))
    except Unusual:
        with xr.open_dataset(f.filename, engine="h5netcdf", group=group) as ds:
            return ds.load()
    return StoreBackendEntrypoint().open_dataset(store).load()


def open_group(path: str | os.PathLike[str], group: str, **kwargs: Any) -> xr.Dataset:
    """``xr.open_dataset(path, group=group, **kwargs)`` through :class:`H5Backend`, or the
    h5netcdf engine when the layout is :class:`Unusual`."""
    try:
        return xr.open_dataset(path, engine=H5Backend, group=group, **kwargs)
    except Unusual:
        return xr.open_dataset(path, engine="h5netcdf", group=group, **kwargs)
