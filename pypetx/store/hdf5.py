"""HDF5 backend (netCDF4 through h5netcdf): one group per trajectory, replaced atomically.

HDF5 has one writer and a process killed mid-write can leave the file unreadable, so the
file is never written in place: ``finalize`` writes a temporary copy (starting from a copy
of the existing file when it holds other trajectories), fsyncs it and ``os.replace``s it
over the original. Until then completed batches live in the journal.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import h5py
import xarray as xr

from pypetx.store.base import JournaledStore
from pypetx.store.codec import TREE_GROUP
from pypetx.store.journal import fsync_dir
from pypetx.store.layout import FORMAT_VERSION

__all__ = ["HDF5Store"]


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

    def _default_encoding(self, var: xr.Variable, chunks: tuple[int, ...]) -> dict[str, Any]:
        enc: dict[str, Any] = {}
        if all(c > 0 for c in chunks) and var.ndim:
            enc["chunksizes"] = tuple(min(c, 1 << 20) if c else 1 for c in chunks)
            if var.dtype.kind in "biufcM" and self.complevel > 0:
                enc.update(zlib=True, complevel=self.complevel, shuffle=True)
        return enc

    def _commit(self, cube: xr.Dataset, tree: xr.Dataset, encoding: dict[str, dict]) -> None:
        import dask

        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
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
            # threads, not a distributed client: the journal is on the driver's disk
            with dask.config.set(scheduler="threads"):
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
            if self._stored is not None:  # the sources were read; release the old file
                self._stored.close()
                self._stored = None
            os.replace(tmp, self.path)
            fsync_dir(self.path.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
