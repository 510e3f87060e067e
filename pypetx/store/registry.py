"""The storage backends by name, and which one a path gets.

``BACKENDS`` maps a storage name (``"hdf5"``, ``"zarr"``) to its
:class:`~pypetx.store.backend.StorageBackend` class, as xarray maps engine names to its
backend entrypoints. Everything that needs a format asks here: :func:`backend_for` for a
path to write (``storage="auto"``: the first backend whose ``guess_can_open`` accepts it,
else the default, HDF5), :func:`backend_of` for an existing file to read. A new backend is
one class and one :func:`register_backend` call.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pypetx.base.errors import StorageError
from pypetx.store.backend import ResultsFile, StorageBackend
from pypetx.store.base import JournaledStore
from pypetx.store.hdf5 import HDF5Backend
from pypetx.store.zarr import ZarrBackend

__all__ = ["BACKENDS", "DEFAULT", "backend_for", "backend_of", "get_backend", "open_file",
           "open_store", "register_backend"]

PathLike = str | os.PathLike[str]

#: Storage name -> backend class; asked in this order whether they can open a path.
BACKENDS: dict[str, type[StorageBackend]] = {}
#: The backend of a new path no backend recognises.
DEFAULT = "hdf5"


def register_backend(cls: type[StorageBackend]) -> type[StorageBackend]:
    """Make ``cls`` the backend of its storage name (usable as a class decorator)."""
    if not cls.name or cls.name == "auto":
        raise ValueError(f"backend {cls.__name__} needs a storage name other than 'auto'")
    BACKENDS[cls.name] = cls
    return cls


register_backend(ZarrBackend)  # first: a directory or a .zarr name says Zarr
register_backend(HDF5Backend)


def get_backend(storage: str) -> StorageBackend:
    """The backend registered as ``storage``.

    Raises
    ------
    StorageError
        No backend of that name (the message lists them).
    """
    try:
        return BACKENDS[storage]()
    except KeyError:
        raise StorageError(f"unknown storage {storage!r}; use 'auto', "
                           f"{', '.join(repr(n) for n in BACKENDS)}") from None


def _guess(path: PathLike) -> StorageBackend | None:
    for cls in BACKENDS.values():
        backend = cls()
        if backend.guess_can_open(path):
            return backend
    return None


def backend_for(path: PathLike, storage: str = "auto") -> StorageBackend:
    """The backend to write ``path`` with: ``storage`` by name, or (``"auto"``) the one
    that recognises the path, else :data:`DEFAULT`."""
    if storage != "auto":
        return get_backend(storage)
    return _guess(path) or get_backend(DEFAULT)


def backend_of(path: PathLike) -> StorageBackend:
    """The backend of the existing results file or store ``path``.

    Raises
    ------
    StorageError
        ``path`` is missing or no backend recognises it.
    """
    path = Path(path)
    if not path.exists():
        raise StorageError(f"no results file at {path}")
    backend = _guess(path)
    if backend is None:
        raise StorageError(f"{path} is not an HDF5 file (nor a Zarr store); "
                           "is it a pypetx results file?")
    return backend


def open_file(path: PathLike) -> ResultsFile:
    """One read-only handle on the results file ``path`` (its trajectories, their
    attributes and trees); use it as a context manager."""
    return backend_of(path).open_file(path)


def open_store(path: PathLike, name: str, storage: str = "auto", **opts: Any) -> JournaledStore:
    """The journaled store writing trajectory ``name`` in ``path``.

    Parameters
    ----------
    path : path-like
        Results file or Zarr directory.
    name : str
        Trajectory name (group).
    storage : str
        A registered backend (``"hdf5"``, ``"zarr"``), or ``"auto"``: a ``.zarr`` name or
        an existing Zarr store gives Zarr, anything else HDF5.
    **opts
        Backend options (``complevel``, ``encoding``, ``batch_size``).
    """
    try:
        backend = backend_for(path, storage)
    except StorageError as e:
        raise StorageError(f"{e} (for {path})") from None
    return backend.open_store(path, name, **opts)
