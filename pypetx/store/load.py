"""Reopen stored results lazily: the cube, the tree, the list of trajectories.

Every error names the path and, where it applies, the group, so a user with many result
files knows which one is wrong.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from pypetx.base.errors import FormatVersionError, StorageError
from pypetx.store.codec import TREE_GROUP, decode_tree
from pypetx.store.layout import FORMAT_VERSION
from pypetx.store.status import error_of, failures, traceback_of, worker_names, workers

__all__ = [
    "check_group",
    "error_of",
    "failures",
    "list_trajectories",
    "open_results",
    "read_tree",
    "traceback_of",
    "worker_names",
    "workers",
]

PathLike = str | os.PathLike[str]


def _is_zarr(path: Path) -> bool:
    return path.is_dir() and (
        path.suffix == ".zarr" or (path / "zarr.json").exists() or (path / ".zgroup").exists()
    )


def list_trajectories(path: PathLike) -> list[str]:
    """Names of the pypetx trajectories (groups) stored in ``path``.

    Raises
    ------
    StorageError
        ``path`` is missing, not HDF5/Zarr, or truncated.
    """
    path = Path(path)
    if not path.exists():
        raise StorageError(f"no results file at {path}")
    if _is_zarr(path):
        import zarr

        root = zarr.open_group(str(path), mode="r", use_consolidated=False)
        return sorted(n for n, g in root.groups() if "pypetx_format_version" in g.attrs)
    import h5py

    if path.is_dir() or not h5py.is_hdf5(path):
        raise StorageError(f"{path} is not an HDF5 file (nor a Zarr store); "
                           "is it a pypetx results file?")
    try:
        with h5py.File(path, "r") as f:
            return sorted(n for n, g in f.items()
                          if isinstance(g, h5py.Group) and "pypetx_format_version" in g.attrs)
    except OSError as e:
        raise StorageError(f"{path} cannot be read (truncated or damaged?): {e}") from e


def check_group(path: PathLike, name: str | None) -> str:
    """The trajectory name to open in ``path`` (the only one when ``name`` is None).

    Raises
    ------
    StorageError
        Missing file, not a pypetx file, unknown group (lists the available ones).
    FormatVersionError
        The group was written by a newer pypetx format.
    """
    path = Path(path)
    names = list_trajectories(path)
    if not names:
        raise StorageError(f"{path} holds no pypetx trajectory (not written by pypetx?)")
    if name is None:
        if len(names) > 1:
            raise StorageError(f"{path} holds several trajectories ({', '.join(names)}); "
                               "pass name= to choose one")
        name = names[0]
    if name not in names:
        raise StorageError(f"{path} has no trajectory {name!r}; "
                           f"available: {', '.join(names)}")
    version = _group_attrs(path, name).get("pypetx_format_version")
    if version is not None:
        version = int(np.asarray(version).ravel()[0])  # HDF5 attributes come back as arrays
    if version is None or version > FORMAT_VERSION:
        raise FormatVersionError(
            f"{path} group {name} has pypetx format version {version}; this pypetx reads "
            f"versions up to {FORMAT_VERSION}: upgrade pypetx to read it"
        )
    return name


def _group_attrs(path: Path, name: str) -> dict[str, Any]:
    if _is_zarr(path):
        import zarr

        return dict(zarr.open_group(str(path), mode="r", use_consolidated=False)[name].attrs)
    import h5py

    with h5py.File(path, "r") as f:
        return dict(f[name].attrs)


def open_results(path: PathLike, name: str | None = None, *,
                 chunks: dict[str, int] | None = None) -> xr.Dataset:
    """The result cube of trajectory ``name`` in ``path``, opened lazily (dask-chunked).

    Parameters
    ----------
    path : path-like
        HDF5 results file or Zarr store.
    name : str, optional
        Trajectory (group); may be omitted when the file holds only one.
    chunks : dict, optional
        Passed to :func:`xarray.open_dataset`; default ``{}`` (the stored chunks).
    """
    path = Path(path)
    name = check_group(path, name)
    chunks = {} if chunks is None else chunks
    try:
        if _is_zarr(path):
            return xr.open_zarr(str(path), group=name, chunks=chunks)
        from pypetx.store.h5read import open_group

        return open_group(path, name, chunks=chunks)
    except (OSError, ValueError, KeyError) as e:
        raise StorageError(f"cannot read {path} group {name}: {e}") from e


def read_tree(path: PathLike, name: str | None = None, allow_pickle: bool = False
              ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The trajectory records (values decoded) and attributes stored with a cube.

    Raises
    ------
    PickleNotAllowedError
        A value is stored pickled and ``allow_pickle`` is False.
    """
    path = Path(path)
    name = check_group(path, name)
    group = f"{name}/{TREE_GROUP}"
    try:
        if _is_zarr(path):
            tree = xr.open_zarr(str(path), group=group, chunks=None, consolidated=False).load()
        else:
            with xr.open_dataset(path, engine="h5netcdf", group=group) as ds:
                tree = ds.load()
    except (OSError, ValueError, KeyError) as e:
        raise StorageError(f"{path} group {name} has no readable tree ({group}): {e}") from e
    return decode_tree(tree, allow_pickle=allow_pickle, where=f"{path} group {name}")


def explored_names(path: PathLike, name: str | None = None) -> list[str]:
    """Full names of the stored exploration's parameters (``["run"]`` when unexplored),
    without reading its values."""
    path = Path(path)
    return list(json.loads(_group_attrs(path, check_group(path, name))["pypetx_exploration"])
                ["names"])


def stored_exploration(path: PathLike, name: str | None = None) -> dict[str, Any]:
    """The stored exploration as ``{"names", "columns", "axes", "repr"}`` (every run's
    values as JSON gives them), whichever description the file holds."""
    from pypetx.store.layout import decode_exploration

    path = Path(path)
    name = check_group(path, name)
    desc = json.loads(_group_attrs(path, name)["pypetx_exploration"])
    refers = any(isinstance(v, dict) for v in (desc.get("values") or {}).values())
    if not refers:
        return decode_exploration(desc)
    with open_results(path, name) as ds:
        return decode_exploration(desc, ds)
