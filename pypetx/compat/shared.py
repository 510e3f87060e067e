"""pypet's shared data (``SharedArray``, ``SharedTable``...) and ``StorageContextManager``.

pypet let runs read and write HDF5 arrays and tables in place while other runs went on.
pypetx has no counterpart: only the driver writes the file, once per finished batch, so
a run cannot change stored data of other runs. These names exist so a pypet script fails
at once with the way to do the same on pypetx: each run returns its part as a result
(``traj.f_add_result("z", value)``), and all runs' parts are one variable of the result
cube, read lazily (``traj.dataset["z"]``, :func:`pypetx.open_results`). Data every run
reads goes into a parameter (or is handed to ``env.run`` as an argument).

``StorageContextManager`` (keeping pypet's file open for a block) is accepted: pypetx opens
the file for each call, so the block just runs.
"""

from __future__ import annotations

import warnings
from typing import Any, NoReturn

__all__ = ["SharedArray", "SharedCArray", "SharedEArray", "SharedPandasFrame", "SharedResult",
           "SharedTable", "SharedVLArray", "StorageContextManager", "make_ordinary_result",
           "make_shared_result"]

_HOW = ("pypet's shared data (HDF5 arrays and tables that runs change in place) has no "
        "pypetx counterpart: only the driver writes the file. Let each run add its part "
        "as a result (traj.f_add_result('z', value)): all runs' parts form one variable of "
        "the result cube, read lazily with traj.dataset['z'] or pypetx.open_results; put "
        "data that every run reads into a parameter (see docs/migrating.md)")


def _refuse(name: str) -> NoReturn:
    raise NotImplementedError(f"{name}: {_HOW}")


class _SharedData:
    """A pypet shared-data class: refused with the pypetx way to do the same."""

    #: ``traj.f_add_result(SharedResult, ...)`` refuses it too (see TrajectoryCompat).
    pypetx_refused = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _refuse(type(self).__name__)

    @classmethod
    def record_in_run(cls, *args: Any, **kwargs: Any) -> NoReturn:
        """Inside a run, ``traj.f_add_result(SharedResult, ...)`` is refused the same way."""
        _refuse(cls.__name__)


class SharedArray(_SharedData):
    """pypet's shared HDF5 array (not available: see the module docstring)."""


class SharedCArray(SharedArray):
    """pypet's shared chunked HDF5 array (not available)."""


class SharedEArray(SharedArray):
    """pypet's shared extendable HDF5 array (not available)."""


class SharedVLArray(SharedEArray):
    """pypet's shared variable-length HDF5 array (not available)."""


class SharedTable(_SharedData):
    """pypet's shared HDF5 table (not available)."""


class SharedPandasFrame(_SharedData):
    """pypet's shared pandas frame (not available)."""


class SharedResult(_SharedData):
    """pypet's result holding shared data (not available)."""


def make_shared_result(*args: Any, **kwargs: Any) -> NoReturn:
    """pypet's conversion of a result into shared data (not available)."""
    _refuse("make_shared_result")


def make_ordinary_result(*args: Any, **kwargs: Any) -> NoReturn:
    """pypet's conversion of shared data back into a result (not available)."""
    _refuse("make_ordinary_result")


class StorageContextManager:
    """pypet's ``with StorageContextManager(traj):`` block around storage calls.

    pypetx opens the file for every call (and writes it atomically), so there is nothing
    to keep open: the block runs as it is. Accepted with a ``DeprecationWarning``.
    """

    def __init__(self, trajectory: Any) -> None:
        self.trajectory = trajectory
        warnings.warn("StorageContextManager has no effect in pypetx: the file is opened "
                      "by each call (see docs/migrating.md)", DeprecationWarning, stacklevel=2)

    def __enter__(self) -> StorageContextManager:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def open_store(self) -> None:
        """Nothing to open."""

    def close_store(self) -> None:
        """Nothing to close."""

    def flush_store(self) -> None:
        """Nothing to flush: every store call is written when it returns."""

    f_open_store = open_store
    f_close_store = close_store
    f_flush_store = flush_store
