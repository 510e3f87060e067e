"""The engine: run batches of run indices on any backend, stream results to a sink.

It knows nothing about trajectories: :func:`run_batches` takes a task, a shared object,
run indices, a :class:`Backend` and a sink.
"""

from __future__ import annotations

from pypetx import config as _config  # noqa: F401  (loads the pypetx.* dask.config defaults)
from pypetx.engine.batching import BatchingOptions, BatchPlanner, auto_batch_size
from pypetx.engine.clusters import DistributedBackend
from pypetx.engine.executors import (
    CLUSTER_NAMES,
    Backend,
    ClusterError,
    ExecutorBackend,
    SchedulerLost,
    SynchronousBackend,
    resolve_backend,
)
from pypetx.engine.runner import RunSummary, SweepInterrupted, failed_batch, run_batches

__all__ = [
    "CLUSTER_NAMES",
    "Backend",
    "BatchPlanner",
    "BatchingOptions",
    "ClusterError",
    "DistributedBackend",
    "ExecutorBackend",
    "RunSummary",
    "SchedulerLost",
    "SweepInterrupted",
    "SynchronousBackend",
    "auto_batch_size",
    "failed_batch",
    "resolve_backend",
    "run_batches",
]
