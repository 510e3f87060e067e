"""The engine: run batches of run indices on any backend, stream results to a sink.

It knows nothing about trajectories: :func:`run_batches` takes a task, a shared object,
run indices, a :class:`Backend` and a sink.
"""

from __future__ import annotations

from pypetx.base import config as _config  # noqa: F401  (loads the pypetx.* dask.config defaults)
from pypetx.engine.backend import Backend, ExecutorBackend, SynchronousBackend
from pypetx.engine.batching import BatchingOptions, BatchPlanner, auto_batch_size
from pypetx.engine.errors import ClusterError, SchedulerLost
from pypetx.engine.localfirst import LocalFirstBackend, LocalFirstOptions
from pypetx.engine.resolve import CLUSTER_NAMES, resolve_backend
from pypetx.engine.runner import RunSummary, SweepInterrupted, failed_batch, run_batches

__all__ = [
    "CLUSTER_NAMES",
    "Backend",
    "BatchPlanner",
    "BatchingOptions",
    "ClusterError",
    "DistributedBackend",
    "ExecutorBackend",
    "LocalFirstBackend",
    "LocalFirstOptions",
    "RunSummary",
    "SchedulerLost",
    "SweepInterrupted",
    "SynchronousBackend",
    "auto_batch_size",
    "failed_batch",
    "resolve_backend",
    "run_batches",
]


def __getattr__(name: str) -> object:
    # distributed is imported with the first cluster, not with the engine: a sweep the
    # driver runs alone (local-first, synchronous) never pays its ~0.15 s import.
    if name == "DistributedBackend":
        from pypetx.engine.clusters import DistributedBackend

        return DistributedBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
