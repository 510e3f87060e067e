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
import os
import re
import shutil
import socket
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import xarray as xr

from pypetx.store.base import JournaledStore
from pypetx.store.codec import TREE_GROUP
from pypetx.store.journal import fsync_dir
from pypetx.store.layout import FORMAT_VERSION

__all__ = ["HDF5Store", "remove_stale_tmp"]


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
        from pypetx.store.load import check_group

        if not self.path.exists():
            return None
        if h5py.is_hdf5(self.path):
            with h5py.File(self.path, "r") as f:
                if self.name not in f:
                    return None
        check_group(self.path, self.name)  # errors for foreign / newer files
        # no dask: backend arrays index lazily, and sources read bounding boxes only
        return xr.open_dataset(self.path, engine="h5netcdf", group=self.name)

    def _cleanup_after_crash(self) -> None:
        remove_stale_tmp(self.path)

    def _default_encoding(self, var: xr.Variable, chunks: tuple[int, ...]) -> dict[str, Any]:
        enc: dict[str, Any] = {}
        if all(c > 0 for c in chunks) and var.ndim:
            enc["chunksizes"] = _cap_chunk_bytes([min(c, 1 << 20) for c in chunks],
                                                 var.dtype.itemsize)
            if var.dtype.kind in "biufcM" and self.complevel > 0:
                enc.update(zlib=True, complevel=self.complevel, shuffle=True)
        return enc

    def _commit(self, cube: xr.Dataset, tree: xr.Dataset, encoding: dict[str, dict]) -> None:
        with _file_commit_lock(self.path):
            self._commit_locked(cube, tree, encoding)

    def _commit_locked(self, cube: xr.Dataset, tree: xr.Dataset,
                       encoding: dict[str, dict]) -> None:
        import dask

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
            # lazy (large) cubes: in this process, not a distributed client (the journal is
            # on the driver's disk); synchronous: HDF5 writes are serialised anyway and one
            # block at a time bounds memory
            # numpy-backed (eager) variables go through dask too, as one block each: then
            # h5netcdf creates every variable before writing data, and a full disk raises
            # an error instead of crashing HDF5 (it segfaults deleting a half-made variable)
            cube = cube.copy()
            for name, var in list(cube.data_vars.items()):
                if isinstance(var.data, np.ndarray):
                    # a unique token: hashing every array only to name it costs time
                    cube[name] = var.chunk({d: -1 for d in var.dims},
                                           token=f"{name}-{uuid.uuid4().hex}")
            with dask.config.set(scheduler="synchronous"):
                cube.to_netcdf(tmp, engine="h5netcdf", group=self.name, mode="a",
                               encoding=encoding)
            tree.to_netcdf(tmp, engine="h5netcdf", group=f"{self.name}/{TREE_GROUP}", mode="a")
            with h5py.File(tmp, "a") as f:
                f.attrs["pypetx_format_version"] = FORMAT_VERSION
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


def _cap_chunk_bytes(chunks: list[int], itemsize: int) -> tuple[int, ...]:
    """Halve the outermost chunk dims (explored first) until a chunk is <= 1 MiB."""
    chunks = [max(1, int(c)) for c in chunks]
    while int(np.prod(chunks)) * max(int(itemsize), 1) > _CHUNK_BYTES:
        k = next((i for i, c in enumerate(chunks) if c > 1), None)
        if k is None:
            break
        chunks[k] = -(-chunks[k] // 2)
    return tuple(chunks)
