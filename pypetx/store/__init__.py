"""Storage of result cubes: HDF5 (h5netcdf) and Zarr backends over a crash-safe journal.

See ``docs/storage.md`` for the file format.
"""

from __future__ import annotations

from pypetx.store.base import JournaledStore, Store, open_store
from pypetx.core.batch import BatchResult, ResultMeta
from pypetx.store.layout import FORMAT_VERSION, dim_name
from pypetx.store.load import list_trajectories, open_results, read_tree
from pypetx.store.ragged import get_ragged, get_ragged_at
from pypetx.store.status import error_of, failures, traceback_of, worker_names, workers

__all__ = [
    "FORMAT_VERSION",
    "BatchResult",
    "JournaledStore",
    "ResultMeta",
    "Store",
    "dim_name",
    "error_of",
    "failures",
    "get_ragged",
    "get_ragged_at",
    "list_trajectories",
    "open_results",
    "open_store",
    "read_tree",
    "traceback_of",
    "worker_names",
    "workers",
]
