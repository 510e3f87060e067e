"""Storage of result cubes: HDF5 (h5netcdf) and Zarr backends over a crash-safe journal.

Backends are registered by storage name in :mod:`pypetx.store.registry`.

See ``docs/storage.md`` for the file format.
"""

from __future__ import annotations

from pypetx.core.batch import BatchResult, ResultMeta
from pypetx.store.backend import ResultsFile, StorageBackend
from pypetx.store.base import JournaledStore, Store
from pypetx.store.layout import FORMAT_VERSION, dim_name
from pypetx.store.load import list_trajectories, open_results, read_tree, reading
from pypetx.store.registry import BACKENDS, backend_for, backend_of, open_store, register_backend
from pypetx.store.ragged import get_ragged, get_ragged_at
from pypetx.store.status import error_of, failures, traceback_of, worker_names, workers

__all__ = [
    "BACKENDS",
    "FORMAT_VERSION",
    "BatchResult",
    "JournaledStore",
    "ResultMeta",
    "ResultsFile",
    "Store",
    "StorageBackend",
    "backend_for",
    "backend_of",
    "dim_name",
    "error_of",
    "failures",
    "get_ragged",
    "get_ragged_at",
    "list_trajectories",
    "open_results",
    "open_store",
    "read_tree",
    "reading",
    "register_backend",
    "traceback_of",
    "worker_names",
    "workers",
]
