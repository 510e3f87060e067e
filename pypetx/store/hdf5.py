"""HDF5 backend (netCDF4 through h5netcdf): one group per trajectory, replaced atomically.

HDF5 has one writer and a process killed mid-write can leave the file unreadable, so the
file is never written in place: ``finalize`` writes a temporary copy (starting from a copy
of the existing file when it holds other trajectories), fsyncs it and ``os.replace``s it
over the original. Until then completed batches live in the journal.

The temporary copy is ``.<file>.<pid>.<host>.tmp`` next to the file. A driver killed while
writing it leaves it behind; ``open`` (holding the trajectory's driver lock) removes such
leftovers of this host whose process is gone. Another trajectory's driver may be writing
its own copy of the same file at that moment: its process is alive, so its copy stays.
"""

from __future__ import annotations

import errno
import fcntl
import math
import os
import re
import shutil
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import xarray as xr

from pypetx.base.errors import StorageError
from pypetx.store.backend import ResultsFile, StorageBackend
from pypetx.store.base import JournaledStore
from pypetx.store.codec import TREE_GROUP
from pypetx.store.compression import SAMPLE_BYTES, auto_filters, sample_of
import pypetx.store.h5patch as h5patch
from pypetx.store.h5read import group_attributes, open_group, read_group
from pypetx.store.h5write import write_groups
from pypetx.store.journal import fsync_dir
from pypetx.store.layout import FAILURE_DIM, FIXED, FORMAT_VERSION, fill_value

__all__ = ["HDF5Backend", "HDF5File", "HDF5Store", "remove_stale_tmp"]


def _host() -> str:
    """This host's name as it appears in temporary file names (no dots or separators)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname()) or "host"


def tmp_path(path: Path) -> Path:
    """The temporary copy this process writes before replacing ``path``."""
    return path.with_name(f".{path.name}.{os.getpid()}.{_host()}.tmp")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return True  # not a pid we can judge: keep the file
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno != errno.ESRCH  # EPERM: alive, owned by someone else
    return True


def remove_stale_tmp(path: Path) -> list[Path]:
    """Delete temporary copies of ``path`` left by dead drivers of this host.

    Matches ``.<file>.<pid>.<host>.tmp`` (and the older ``.<file>.<pid>.tmp``); a copy
    from another host or from a live process is kept. Returns the removed paths.
    """
    path = Path(path)
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)(?:\.([A-Za-z0-9_-]+))?\.tmp$")
    removed = []
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return removed
    host = _host()
    for name in names:
        m = pattern.match(name)
        if not m or (m.group(2) is not None and m.group(2) != host):
            continue
        if _pid_alive(int(m.group(1))):
            continue
        try:
            (path.parent / name).unlink()
            removed.append(path.parent / name)
        except FileNotFoundError:
            pass
    return removed


class HDF5Store(JournaledStore):
    """Results of one trajectory in an HDF5 file, group ``<name>``; see :class:`JournaledStore`."""

    storage = "hdf5"

    def _read_stored(self) -> xr.Dataset | None:
        if not self.path.exists():
            return None
        if not h5py.is_hdf5(self.path):
            raise StorageError(f"{self.path} is not an HDF5 file (nor a Zarr store); "
                               "is it a pypetx results file?")
        with HDF5File(self.path) as f:
            if not f.has_group(self.name):
                return None
            f.check(self.name)  # errors for foreign / newer files
        # no dask: backend arrays index lazily, and sources read bounding boxes only
        return open_group(self.path, self.name)

    def _open_result(self) -> xr.Dataset:
        return open_group(self.path, self.name, chunks={})

    def _cleanup_after_crash(self) -> None:
        remove_stale_tmp(self.path)

    def _default_encoding(self, name: str, var: xr.Variable, chunks: tuple[int, ...]
                          ) -> dict[str, Any]:
        enc: dict[str, Any] = {}
        if all(c > 0 for c in chunks) and var.ndim:
            enc["chunksizes"] = _cap_chunk_bytes([min(c, 1 << 20) for c in chunks],
                                                 var.dtype.itemsize, var.shape)
            if var.dtype.kind in "biufcM":
                level, shuffle = self.complevel, True
                if level is None:  # automatic: only where a sample says it pays
                    level, shuffle = auto_filters(self._sample(name, var))
                if level > 0:
                    enc.update(zlib=True, complevel=level, shuffle=shuffle)
        return enc

    def _sample(self, name: str, var: xr.Variable) -> np.ndarray | None:
        """Some values of ``var``: from memory, or read from the sources of a lazy cube."""
        if isinstance(var.data, np.ndarray):
            return sample_of(var.data)
        return None if self._cube is None else self._cube.sample(name, SAMPLE_BYTES)

    def _direct_writers(self, encoding: dict[str, dict]) -> dict[str, Any]:
        """Lazy cubes: fixed numeric results go from the sources straight into the file
        (:meth:`Cube.write_fixed`), not through assembled dask blocks (one copy less of
        what can be most of the data)."""
        cube = self._cube
        if cube is None or cube.eager:
            return {}
        out = {}
        for name, info in cube.infos.items():
            enc = encoding.get(name, {})
            if (info.mode != FIXED or info.dtype.kind not in "iuf"
                    or {"dtype", "scale_factor", "add_offset", "missing_value"} & set(enc)
                    or not _is_fill(enc.get("_FillValue"), info.dtype)):
                continue  # xarray's encoding would change the values: let it

            def write(target: Any, name: str = name, dtype: np.dtype = info.dtype) -> bool:
                if np.dtype(target.dtype) != dtype:  # encoded otherwise: the Dataset's way
                    return False
                cube.write_fixed(name, target.__setitem__)
                return True

            out[name] = write
        return out

    def finalize(self, attrs_update: Any = None) -> xr.Dataset:
        """As :meth:`JournaledStore.finalize`; a journal that only fills cells of the
        stored cube is patched into a copy of the file (:mod:`pypetx.store.h5patch`):
        a resume then costs what it adds, not what is stored."""
        if self.journal is not None and (self._stored is not None or self._stored_stale):
            entries = self.journal.entries()
            with _file_commit_lock(self.path):
                patched = h5patch.patch_commit(self, entries, attrs_update,
                                               tmp_path(self.path))
            if patched:
                self.journal.remove(entries)
                self._release_stored()
                self._stored_stale = True
                return self._open_result()
        return super().finalize(attrs_update)

    def _commit(self, cube: xr.Dataset, tree: xr.Dataset, encoding: dict[str, dict]) -> None:
        with _file_commit_lock(self.path):
            self._commit_locked(cube, tree, encoding)

    def _commit_locked(self, cube: xr.Dataset, tree: xr.Dataset,
                       encoding: dict[str, dict]) -> None:
        tmp = tmp_path(self.path)
        tmp.unlink(missing_ok=True)
        try:
            if self.path.exists():
                with h5py.File(self.path, "r") as f:
                    others = [g for g in f if g != self.name]
                if others:
                    # other trajectories stay byte for byte; copying groups with h5py would
                    # break their netCDF dimension references
                    shutil.copyfile(self.path, tmp)
                    with h5py.File(tmp, "a") as f:
                        if self.name in f:
                            del f[self.name]
            # every variable is created before any data is written: a full disk then raises
            # an error instead of crashing HDF5 (it segfaults deleting a half-made variable).
            # Lazy (large) cubes are computed here, block by block, not on a cluster: the
            # journal is on the driver's disk, and HDF5 writes are serialised anyway.
            write_groups(tmp, {self.name: (cube, encoding),
                               f"{self.name}/{TREE_GROUP}": (tree, {})},
                         root_attrs={"pypetx_format_version": FORMAT_VERSION},
                         direct={self.name: self._direct_writers(encoding)},
                         # resizable: a resume patches the failure table in place
                         unlimited_dims=(FAILURE_DIM,))
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._release_stored()  # the sources were read; release the old file
            os.replace(tmp, self.path)
            fsync_dir(self.path.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


class HDF5File(ResultsFile):
    """An HDF5 results file opened once (``h5py``, read-only); see :class:`ResultsFile`."""

    def __init__(self, path: str | os.PathLike[str]):
        super().__init__(path)
        try:
            self._f = h5py.File(self.path, "r")
        except OSError as e:
            raise StorageError(f"{self.path} cannot be read (truncated or damaged?): {e}") from e

    def has_group(self, name: str) -> bool:
        return name in self._f

    def _trajectories(self) -> list[str]:
        names = []
        try:
            for raw in self._f.id:  # low-level: no h5py.File wrapper per member
                oid = h5py.h5o.open(self._f.id, raw)
                if (h5py.h5i.get_type(oid) == h5py.h5i.GROUP
                        and "pypetx_format_version" in h5py.Group(oid).attrs):
                    names.append(raw.decode())
        except OSError as e:
            raise StorageError(f"{self.path} cannot be read (truncated or damaged?): {e}") from e
        return names

    def _attrs(self, group: str) -> dict[str, Any]:
        return group_attributes(self._f, group)

    def _read(self, group: str) -> xr.Dataset:
        return read_group(self._f, group)

    def close(self) -> None:
        self._f.close()


class HDF5Backend(StorageBackend):
    """netCDF4/HDF5 files (h5netcdf layout), one group per trajectory."""

    name = "hdf5"
    description = "netCDF4/HDF5 file, one group per trajectory, replaced atomically"
    store_class = HDF5Store
    #: Names a new HDF5 results file is recognised by (any other new name is HDF5 too:
    #: it is the default backend).
    suffixes = (".h5", ".hdf5", ".hdf", ".he5", ".nc", ".nc4")

    def guess_can_open(self, path: str | os.PathLike[str]) -> bool:
        path = Path(path)
        if path.exists():
            return path.is_file() and h5py.is_hdf5(path)
        return path.suffix.lower() in self.suffixes

    def open_file(self, path: str | os.PathLike[str]) -> HDF5File:
        return HDF5File(path)

    def open_cube(self, path: str | os.PathLike[str], name: str, *,
                  chunks: dict[str, int] | None = None) -> xr.Dataset:
        return open_group(path, name, chunks=chunks)

    def write_copy(self, path: str | os.PathLike[str],
                   trajectories: dict[str, tuple[xr.Dataset, xr.Dataset]], *,
                   complevel: int = 4) -> None:
        path = Path(path)
        for name, (cube, tree) in trajectories.items():
            enc = {v: {"zlib": True, "complevel": complevel}
                   for v, da in cube.data_vars.items()
                   if da.dtype.kind in "biuf" and da.ndim and complevel > 0}
            cube.to_netcdf(path, engine="h5netcdf", group=name,
                           mode="a" if path.exists() else "w", encoding=enc)
            tree.to_netcdf(path, engine="h5netcdf", group=f"{name}/{TREE_GROUP}", mode="a")
        with h5py.File(path, "a") as f:
            f.attrs["pypetx_format_version"] = FORMAT_VERSION

    def remove_trajectory(self, path: str | os.PathLike[str], name: str) -> None:
        with h5py.File(path, "a") as f:
            del f[name]


def _is_fill(value: Any, dtype: np.dtype) -> bool:
    """Whether a ``_FillValue`` encoding leaves the values as they are (absent, or the
    cube's own fill value for ``dtype``)."""
    if value is None:
        return True
    fill = fill_value(dtype)
    return bool(np.isnan(value)) if dtype.kind == "f" else value == fill


@contextmanager
def _file_commit_lock(path: Path):
    """Serialise commits to one HDF5 file across processes.

    The driver lock is per trajectory, but a commit replaces the whole file: two drivers of
    different trajectories committing at once would each copy the file and the last rename
    would drop the other's group. A blocking ``flock`` on the file's directory makes the
    second wait for the first and copy its result; it leaves no lock file next to the
    user's results (commits in one directory take turns, and they are short).
    """
    fd = os.open(path.parent, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


#: Largest HDF5 chunk pypetx writes. A lazy selection reads and decompresses whole chunks:
#: batch-aligned chunks of large per-run results (e.g. 100 runs x 10^4 floats = 8 MB) made
#: reading one run cost a few % of loading the whole cube.
_CHUNK_BYTES = 1 << 20


def _largest_divisor(n: int, limit: int) -> int:
    """The largest divisor of ``n`` that is at most ``limit`` (>= 1)."""
    best = 1
    for d in range(1, math.isqrt(n) + 1):
        if n % d == 0:
            for x in (d, n // d):
                if best < x <= limit:
                    best = x
    return best


def _cap_chunk_bytes(chunks: list[int], itemsize: int,
                     shape: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """Shrink the outermost chunk dims (explored first) until a chunk is <= 1 MiB.

    A shrunk dim gets a size that tiles the dim (of ``shape``) with little padding: its
    largest divisor that fits, unless that is below half of what fits, else equal chunks
    (HDF5 stores edge chunks whole: 13 of 100 rows would waste 4 %, 10 wastes nothing).
    """
    chunks = [max(1, int(c)) for c in chunks]
    dims = list(shape) if shape is not None else list(chunks)
    item = max(int(itemsize), 1)
    for k in range(len(chunks)):
        if math.prod(chunks) * item <= _CHUNK_BYTES:
            break
        if chunks[k] == 1:
            continue
        fit = _CHUNK_BYTES // (math.prod(chunks[k + 1 :]) * item)
        if fit < 1:
            chunks[k] = 1  # the inner dims alone are too large: shrink them too
            continue
        n = max(1, int(dims[k]))
        divisor = _largest_divisor(n, min(fit, n))
        chunks[k] = divisor if 2 * divisor >= min(fit, n) else -(-n // -(-n // fit))
    return tuple(chunks)
