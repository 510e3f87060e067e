"""The backend names at their first home (``from pypetx.engine.executors import ...``).

The backends grew into modules of their own; this one re-exports them so existing imports
keep working. New code imports from where the names live:

- :mod:`pypetx.engine.backend` -- the :class:`Backend` protocol, :class:`SynchronousBackend`,
  :class:`ExecutorBackend`;
- :mod:`pypetx.engine.errors` -- :class:`ClusterError`, :class:`SchedulerLost`;
- :mod:`pypetx.engine.resolve` -- :func:`resolve_backend`, :data:`CLUSTER_NAMES`;
- :mod:`pypetx.engine.clusters` -- ``DistributedBackend`` (imported on first access: it
  imports ``distributed``).

It sits above all of them, so the re-exports point down the imports.
"""

from __future__ import annotations

from typing import Any

from pypetx.engine.backend import Backend, ExecutorBackend, SynchronousBackend
from pypetx.engine.errors import ClusterError, SchedulerLost
from pypetx.engine.resolve import CLUSTER_NAMES, resolve_backend

__all__ = [
    "CLUSTER_NAMES",
    "Backend",
    "ClusterError",
    "ExecutorBackend",
    "SchedulerLost",
    "SynchronousBackend",
    "resolve_backend",
]


def __getattr__(name: str) -> Any:
    # lazily: importing distributed costs ~0.15 s, which a sweep in the driver never pays
    if name == "DistributedBackend":
        from pypetx.engine.clusters import DistributedBackend

        return DistributedBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
