"""pypet's storage services, as what they mean to pypetx: the file a trajectory uses.

pypet's trajectories store through a service object (``traj.v_storage_service =
HDF5StorageService(filename=...)``). pypetx writes one file per sweep through its store
backends (chosen by the file name), so :class:`HDF5StorageService` carries the file name
(and accepts pypet's HDF5 options, which have no effect), and :class:`LazyStorageService`
is a trajectory that is never written.
"""

from __future__ import annotations

from typing import Any

__all__ = ["HDF5StorageService", "LazyStorageService", "storage_service_of",
           "use_storage_service"]


class HDF5StorageService:
    """pypet's HDF5 storage service: the file a trajectory is stored in and loaded from.

    Parameters
    ----------
    filename : str, optional
        The results file (pypetx picks its store backend by it).
    file_title : str, optional
        pypet's HDF5 title; kept, no effect.
    **options
        pypet's PyTables options (``complib``, ``purge_duplicate_comments``, ...):
        accepted, no effect (pypetx writes an xarray Dataset).
    """

    def __init__(self, filename: str | None = None, file_title: str | None = None,
                 **options: Any) -> None:
        self.filename = None if filename is None else str(filename)
        self.file_title = file_title
        self.options = options

    def __repr__(self) -> str:
        return f"<HDF5StorageService {self.filename!r}>"


class LazyStorageService:
    """pypet's storage service that stores nothing: the trajectory keeps no file."""

    filename = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass


def storage_service_of(traj: Any) -> Any:
    """``traj.v_storage_service``: the service set on ``traj``, else one for its file."""
    service = traj.__dict__.get("_storage_service")
    if service is not None:
        return service
    path = getattr(traj, "_store_path", None)
    return None if path is None else HDF5StorageService(filename=path)


def use_storage_service(traj: Any, service: Any) -> None:
    """``traj.v_storage_service = service``: ``traj`` stores to (and loads from) the
    service's file; a service without one (``LazyStorageService``) leaves the file as is."""
    filename = getattr(service, "filename", None)
    if filename is not None:
        traj._store_path = str(filename)
    traj._storage_service = service
