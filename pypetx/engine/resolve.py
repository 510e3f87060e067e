"""Choose where a sweep runs: :func:`resolve_backend` turns the user's arguments (or
``dask.config``'s ``pypetx.cluster``) into a :class:`~pypetx.engine.backend.Backend`.

The names are ``"local"`` (the driver first, the embedded ``LocalCluster`` when it pays:
:mod:`pypetx.engine.localfirst`), ``"synchronous"`` and one per batch system of
:mod:`pypetx.engine.schedulers` (dask-jobqueue clusters: :mod:`pypetx.engine.jobqueue`).
Objects the user passes (a Dask cluster or client, any executor, a scheduler address) are
wrapped, never closed by pypetx. ``distributed`` is imported only when a cluster is used.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from pypetx.base import config
from pypetx.engine.backend import Backend, ExecutorBackend, SynchronousBackend
from pypetx.engine.localfirst import LocalFirstBackend, LocalFirstOptions
from pypetx.engine.schedulers import SCHEDULERS

__all__ = ["CLUSTER_NAMES", "resolve_backend"]


def _local(**options: Any) -> Backend:
    def cluster() -> Backend:
        # imported here: a sweep that never needs the cluster never imports distributed
        from pypetx.engine.clusters import DistributedBackend

        return DistributedBackend.local(**options)

    first = LocalFirstOptions.from_config(options.pop("local_first", None))
    if not first.enabled:
        return cluster()
    return LocalFirstBackend(cluster, first)


def _jobqueue(kind: str) -> Callable[..., Backend]:
    def make(**options: Any) -> Backend:
        from pypetx.engine.clusters import jobqueue_backend

        return jobqueue_backend(kind, **options)

    return make


def _synchronous(**options: Any) -> Backend:
    if options:
        raise TypeError(
            f"the synchronous backend takes no options, got {sorted(options)}"
        )
    return SynchronousBackend()


_NAMED: dict[str, Callable[..., Backend]] = {
    "local": _local,
    "synchronous": _synchronous,
    # every batch system with a record: dask-jobqueue clusters
    **{kind: _jobqueue(kind) for kind in SCHEDULERS},
}
CLUSTER_NAMES: tuple[str, ...] = tuple(_NAMED)


def resolve_backend(
    cluster: Any = None,
    client: Any = None,
    executor: Any = None,
    scheduler: str | None = None,
    **cluster_options: Any,
) -> Backend:
    """Turn the user's choice of where to run into a :class:`Backend`.

    Parameters
    ----------
    cluster : str or Dask cluster, optional
        A name (``"local"``, ``"synchronous"``, ``"slurm"``, ``"pbs"``, ``"sge"``) or a
        cluster object (``LocalCluster``, ``SLURMCluster``, ...; not closed by pypetx).
        Defaults to ``dask.config``'s ``pypetx.cluster``.
    client : distributed.Client, optional
        A client of the user's; not closed by pypetx.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Any submit-style executor.
    scheduler : str, optional
        Address (``"tcp://host:8786"``) or scheduler-file path of a running scheduler.
    **cluster_options
        Options for a cluster pypetx creates from a name (e.g. ``n_workers=4`` for
        ``"local"``, ``queue=...`` for ``"slurm"``).

    Returns
    -------
    Backend
        Use it as a context manager (or call ``close()``) so what pypetx started stops.
    """
    choices = {
        "cluster": cluster,
        "client": client,
        "executor": executor,
        "scheduler": scheduler,
    }
    given = {k: v for k, v in choices.items() if v is not None}
    if len(given) > 1:
        raise ValueError(
            f"give at most one of cluster=, client=, executor=, scheduler=; got {sorted(given)}"
        )
    if cluster_options and (
        client is not None
        or executor is not None
        or scheduler is not None
        or not (cluster is None or isinstance(cluster, str))
    ):
        raise TypeError(
            f"cluster options {sorted(cluster_options)} only apply when pypetx creates the "
            "cluster from a name (cluster='local', 'slurm', ...)"
        )
    value = next(iter(given.values()), None)
    if isinstance(value, Backend):
        return value
    if value is not None or scheduler is not None:
        from pypetx.engine.clusters import DistributedBackend
    if client is not None:
        if not _is_distributed_client(client):
            raise TypeError(
                f"client= must be a distributed.Client, got {type(client).__name__}"
            )
        return DistributedBackend(client)
    if executor is not None:
        if _is_distributed_client(executor):
            return DistributedBackend(executor)
        return ExecutorBackend(executor)
    if scheduler is not None:
        return DistributedBackend.from_address(str(scheduler))
    if cluster is not None and not isinstance(cluster, str):
        if not hasattr(cluster, "scheduler_address"):
            raise TypeError(
                f"cluster= must be a name {CLUSTER_NAMES} or a Dask cluster object, "
                f"got {type(cluster).__name__}"
            )
        return DistributedBackend.from_cluster(cluster)
    if cluster is None:
        default = _default_client() if config.get("use_default_client", True) else None
        if default is not None and not cluster_options:
            from pypetx.engine.clusters import DistributedBackend

            return DistributedBackend(default)
        cluster = config.get("cluster")
    name = str(cluster).lower()
    if name not in _NAMED:
        raise ValueError(
            f"unknown cluster {cluster!r}; known names: {', '.join(CLUSTER_NAMES)} "
            "(or pass a Dask cluster object, client= or executor=)"
        )
    return _NAMED[name](**cluster_options)


def _is_distributed_client(obj: Any) -> bool:
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - distributed is a dependency
        return False
    return isinstance(obj, Client)


def _default_client() -> Any:
    """The user's default ``distributed.Client``, or ``None``."""
    if "distributed" not in sys.modules:
        return None  # never imported: there is no client (and importing it costs 0.15 s)
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        return None
    return client if client.status == "running" else None
