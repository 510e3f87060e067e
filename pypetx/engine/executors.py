"""Where tasks run: one small :class:`Backend` protocol over Dask, executors and plain calls.

The runner only needs to submit a callable, wait for any of its tasks, fetch a result and
cancel; each backend maps those verbs onto its own machinery:

- :class:`~pypetx.engine.clusters.DistributedBackend` -- a ``distributed.Client`` (the
  user's, or one on an embedded ``LocalCluster``, a dask-jobqueue cluster, any Dask
  cluster object); it lives in :mod:`pypetx.engine.clusters` with the clusters pypetx
  starts itself;
- :class:`ExecutorBackend` -- any ``concurrent.futures``-style executor (``submit``);
- :class:`SynchronousBackend` -- in the calling process, in order, for debugging.

:func:`resolve_backend` turns the user's arguments (or ``dask.config``'s
``pypetx.cluster``) into one of them.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import logging
import sys
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any, Protocol, Self, runtime_checkable

from dask.system import CPU_COUNT

from pypetx.base import config
from pypetx.base.errors import PypetxError

__all__ = [
    "CLUSTER_NAMES",
    "Backend",
    "ClusterError",
    "ExecutorBackend",
    "SchedulerLost",
    "SynchronousBackend",
    "resolve_backend",
]

logger = logging.getLogger(__name__)


class ClusterError(PypetxError, RuntimeError):
    """The cluster cannot run the sweep: jobs rejected, workers never arrived, ...

    Raised instead of recording the runs as failed: nothing is wrong with the runs, and
    everything already stored stays stored (resume once the cause is fixed).
    """


class SchedulerLost(ClusterError, ConnectionError):
    """The driver lost its Dask scheduler in the middle of a sweep.

    Parameters
    ----------
    address : str
        The scheduler's address.
    reason : str
        What the client reported.
    """

    def __init__(self, address: str, reason: str = "", detail: str = "") -> None:
        self.address, self.reason, self.detail = address, reason, detail
        text = f"lost the Dask scheduler at {address}"
        if reason:
            text += f" ({reason})"
        super().__init__(text + (f"; {detail}" if detail else ""))

    def with_detail(self, detail: str) -> SchedulerLost:
        """The same error with what the sweep kept and how to resume appended."""
        return SchedulerLost(self.address, self.reason, detail)


@runtime_checkable
class Backend(Protocol):
    """What the runner needs from a place that runs tasks.

    A handle is whatever ``submit`` returns (a Dask future, a ``concurrent.futures``
    future, ...); the runner only passes handles back to the same backend.
    """

    name: str

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        retries: int = 0,
        name: str | None = None,
    ) -> Any:
        """Schedule ``fn(*args)``; retry it up to ``retries`` times if it raises."""

    def wait_any(
        self, handles: Collection[Any], timeout: float | None = None
    ) -> tuple[set[Any], set[Any]]:
        """Block until at least one handle is done or ``timeout`` passes: ``(done, not_done)``."""

    def result(self, handle: Any) -> Any:
        """The value of a finished handle; raises the task's exception if it failed."""

    def cancel(self, handles: Iterable[Any]) -> None:
        """Cancel tasks that have not finished (best effort)."""

    @property
    def n_workers(self) -> int:
        """How many tasks can run at once (>= 1)."""

    def share(self, obj: Any) -> Any:
        """Make ``obj`` available to every task once; pass the return value to ``submit``."""

    @property
    def dashboard_link(self) -> str | None:
        """URL of a dashboard showing the tasks, if there is one."""

    def close(self) -> None:
        """Release what this backend started (never what the user passed in)."""

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


class _BackendBase:
    """Context-manager plumbing shared by the backends."""

    name = "base"

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:  # pragma: no cover - overridden where there is work to do
        pass

    def share(self, obj: Any) -> Any:
        return obj

    @property
    def dashboard_link(self) -> str | None:
        return None


# --------------------------------------------------------------------------- synchronous
class _SyncHandle:
    __slots__ = ("args", "fn", "seq", "state", "value")

    def __init__(self, seq: int, fn: Callable[..., Any], args: tuple) -> None:
        self.seq, self.fn, self.args = seq, fn, args
        self.state = "pending"  # pending | finished | cancelled
        self.value: Any = None


class SynchronousBackend(_BackendBase):
    """Run tasks in the calling process, one at a time, in submission order.

    A task runs inside :meth:`wait_any`, so an exception propagates straight out of the
    sweep with its full traceback and ``pdb.pm()`` / ``%debug`` land in the user's code.
    ``retries`` are ignored: the first error is the one you want to see.
    """

    name = "synchronous"
    runs_in_driver = True

    def __init__(self) -> None:
        self._seq = itertools.count()

    def submit(self, fn, *args, retries=0, name=None) -> _SyncHandle:
        return _SyncHandle(next(self._seq), fn, args)

    def wait_any(self, handles, timeout=None):
        handles = set(handles)
        done = {h for h in handles if h.state != "pending"}
        if not done and handles:
            nxt = min(handles, key=lambda h: h.seq)
            nxt.value = nxt.fn(*nxt.args)
            nxt.state = "finished"
            done = {nxt}
        return done, handles - done

    def result(self, handle: _SyncHandle) -> Any:
        if handle.state == "cancelled":
            raise cf.CancelledError("task was cancelled")
        if handle.state != "finished":
            raise RuntimeError(
                "result() of a task that has not run; call wait_any first"
            )
        return handle.value

    def cancel(self, handles) -> None:
        for h in handles:
            if h.state == "pending":
                h.state = "cancelled"

    @property
    def n_workers(self) -> int:
        return 1


# ------------------------------------------------------------------------------ executor
class _Retrying:
    """Call ``fn`` again (in the same worker) when it raises, up to ``retries`` times."""

    def __init__(self, fn: Callable[..., Any], retries: int) -> None:
        self.fn, self.retries = fn, retries

    def __call__(self, *args: Any) -> Any:
        for attempt in range(self.retries + 1):
            try:
                return self.fn(*args)
            except Exception:
                if attempt == self.retries:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


class ExecutorBackend(_BackendBase):
    """Run tasks on any executor with ``submit(fn, *args) -> future`` (as xyzpy accepts).

    Parameters
    ----------
    executor : concurrent.futures.Executor or submit-style object
        E.g. ``ThreadPoolExecutor``, ``ProcessPoolExecutor``, ``mpi4py.futures``, loky.
        With a process pool, task functions must be importable (plain ``pickle``).
    n_workers : int, optional
        Concurrency; defaults to the executor's ``_max_workers`` or the number of cores.
    shutdown : bool
        Shut the executor down on :meth:`close` (only for executors pypetx created).
    """

    name = "executor"

    def __init__(
        self, executor: Any, *, n_workers: int | None = None, shutdown: bool = False
    ):
        if not callable(getattr(executor, "submit", None)):
            raise TypeError(
                f"executor must have a submit(fn, *args) method, got {executor!r}"
            )
        self.executor = executor
        self._n_workers = n_workers
        self._shutdown = shutdown

    def submit(self, fn, *args, retries=0, name=None):
        return self.executor.submit(
            _Retrying(fn, retries) if retries > 0 else fn, *args
        )

    def wait_any(self, handles, timeout=None):
        handles = set(handles)
        if not handles:
            return set(), set()
        if all(isinstance(h, cf.Future) for h in handles):
            done, not_done = cf.wait(
                handles, timeout=timeout, return_when=cf.FIRST_COMPLETED
            )
            return set(done), set(not_done)
        # Futures of other libraries only promise done(): poll them.
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            done = {h for h in handles if h.done()}
            if done or (deadline is not None and time.monotonic() >= deadline):
                return done, handles - done
            time.sleep(0.005)

    def result(self, handle):
        return handle.result()

    def cancel(self, handles) -> None:
        for h in handles:
            h.cancel()

    @property
    def n_workers(self) -> int:
        n = self._n_workers or getattr(self.executor, "_max_workers", None) or CPU_COUNT
        return max(int(n), 1)

    def close(self) -> None:
        if self._shutdown:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self._shutdown = False


# ------------------------------------------------------------------------------ resolve
def _local(**options: Any) -> Backend:
    from pypetx.engine.localfirst import LocalFirstBackend, LocalFirstOptions

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
    "slurm": _jobqueue("slurm"),
    "pbs": _jobqueue("pbs"),
    "sge": _jobqueue("sge"),
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


def __getattr__(name: str) -> Any:
    # ``from pypetx.engine.executors import DistributedBackend`` predates the split into
    # clusters.py; importing it lazily keeps that working without an import cycle.
    if name == "DistributedBackend":
        from pypetx.engine.clusters import DistributedBackend

        return DistributedBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
