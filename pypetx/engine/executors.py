"""Where tasks run: one small :class:`Backend` protocol over Dask, executors and plain calls.

The runner only needs to submit a callable, wait for any of its tasks, fetch a result and
cancel; each backend maps those verbs onto its own machinery:

- :class:`DistributedBackend` -- a ``distributed.Client`` (the user's, or one on an
  embedded ``LocalCluster``, a dask-jobqueue cluster, any Dask cluster object);
- :class:`ExecutorBackend` -- any ``concurrent.futures``-style executor (``submit``);
- :class:`SynchronousBackend` -- in the calling process, in order, for debugging.

:func:`resolve_backend` turns the user's arguments (or ``dask.config``'s
``pypetx.cluster``) into one of them.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import logging
import os
import queue
import time
import uuid
from collections.abc import Callable, Collection, Iterable
from typing import Any, Protocol, Self, runtime_checkable

import dask.config
from dask.system import CPU_COUNT
from distributed.diagnostics.plugin import WorkerPlugin

from pypetx import config

__all__ = [
    "CLUSTER_NAMES",
    "Backend",
    "DistributedBackend",
    "ExecutorBackend",
    "SynchronousBackend",
    "resolve_backend",
]

logger = logging.getLogger(__name__)


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


# --------------------------------------------------------------------------- distributed
class _IgnoreSigint(WorkerPlugin):
    """Worker plugin: worker processes ignore SIGINT.

    Ctrl-C in a terminal reaches the whole process group, workers included; killing them
    would throw away the tasks the driver is waiting for during its interrupt grace
    period. The driver decides when workers stop (it closes the cluster).
    """

    idempotent = True

    def setup(self, worker: Any) -> None:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    def teardown(self, worker: Any) -> None:
        pass


class DistributedBackend(_BackendBase):
    """Run tasks through a ``distributed.Client``.

    Build it with one of the constructors rather than ``__init__``'s arguments:
    ``DistributedBackend(client)`` (the user's client, never closed here),
    :meth:`from_cluster` (any Dask cluster object, e.g. dask-jobqueue's),
    :meth:`from_address`, or :meth:`local` (an embedded ``LocalCluster``).

    Parameters
    ----------
    client : distributed.Client, optional
        A running client owned by the caller.
    factory : callable, optional
        Called on first use; returns ``(client, cluster_or_None, cleanup_or_None)`` that
        this backend owns and closes.
    """

    name = "distributed"

    def __init__(
        self, client: Any = None, *, factory: Callable[[], tuple] | None = None
    ):
        if (client is None) == (factory is None):
            raise TypeError(
                "DistributedBackend needs exactly one of client= or factory="
            )
        self._client = client
        self._factory = factory
        self._cluster: Any = None
        self._cleanup: Callable[[], None] | None = None
        self._owned = factory is not None
        self._nthreads_cache: tuple[float, int] = (-1.0, 1)
        self._finished: queue.SimpleQueue = queue.SimpleQueue()

    # constructors --------------------------------------------------------------------
    @classmethod
    def from_cluster(cls, cluster: Any, *, owned: bool = False) -> DistributedBackend:
        """Connect to a Dask cluster object; close it at the end only if ``owned``."""

        def factory():
            from distributed import Client

            client = Client(cluster, set_as_default=False)
            return client, (cluster if owned else None), None

        return cls(factory=factory)

    @classmethod
    def from_address(cls, scheduler: str) -> DistributedBackend:
        """Connect to a running scheduler by address or scheduler-file path."""

        def factory():
            from distributed import Client

            if os.path.exists(scheduler):
                client = Client(scheduler_file=scheduler, set_as_default=False)
            else:
                client = Client(scheduler, set_as_default=False)
            return client, None, None

        return cls(factory=factory)

    @classmethod
    def local(cls, **options: Any) -> DistributedBackend:
        """An embedded ``LocalCluster``, started on first use and closed at the end.

        Parameters
        ----------
        **options
            Override ``pypetx.local`` settings (``n_workers``, ``threads_per_worker``,
            ``processes``, ``dashboard_address``, ``host``, ``multiprocessing_method``,
            ``memory_limit``); other keywords go to ``LocalCluster``.
        """
        settings = dict(config.get("local"))
        settings.update(options)
        return cls(factory=lambda: _start_local_cluster(settings))

    # backend verbs ---------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (starting the embedded cluster if needed)."""
        if self._client is None:
            if self._factory is None:
                raise RuntimeError("this backend is closed")
            self._client, self._cluster, self._cleanup = self._factory()
            self._factory = None
        return self._client

    def submit(self, fn, *args, retries=0, name=None):
        key = f"{name or 'pypetx-task'}-{uuid.uuid4().hex}"
        future = self.client.submit(
            fn, *args, retries=retries or None, pure=False, key=key
        )
        # distributed.wait() needs a *default* client, which the embedded one must not be;
        # a done-callback waking a queue needs no client and no polling round trips.
        future.add_done_callback(self._finished.put)
        return future

    def wait_any(self, handles, timeout=None):
        handles = set(handles)
        done = {h for h in handles if h.done()}
        if not done and handles:
            try:
                self._finished.get(timeout=timeout)
            except queue.Empty:
                pass
            done = {h for h in handles if h.done()}
        while True:  # the states were read from the futures: the wake-ups are spent
            try:
                self._finished.get_nowait()
            except queue.Empty:
                break
        return done, handles - done

    def result(self, handle):
        try:
            return handle.result()
        finally:
            handle.release()  # drop the worker's copy now that the driver has it

    def cancel(self, handles) -> None:
        handles = list(handles)
        if handles and self._client is not None:
            self._client.cancel(handles)

    @property
    def n_workers(self) -> int:
        # One scheduler round trip; adaptive clusters grow and shrink, so refresh it, but
        # at most once a second.
        stamp, n = self._nthreads_cache
        now = time.monotonic()
        if now - stamp > 1.0:
            n = max(sum(self.client.nthreads().values()), 1)
            self._nthreads_cache = (now, n)
        return n

    def share(self, obj: Any) -> Any:
        from distributed import Future

        if isinstance(obj, Future):
            return obj  # already shared (callers may share before run_batches does)
        # A task rather than client.scatter: scattered data is lost for good when the
        # workers holding it die (one crashing run on a one-worker cluster would then
        # fail every later task with "lost dependencies"), while the scheduler can rerun
        # this task. Each worker still fetches the object once, from a peer, not per task.
        return self.client.submit(
            _shared_value, obj, pure=False, key=f"pypetx-shared-{uuid.uuid4().hex}"
        )

    @property
    def dashboard_link(self) -> str | None:
        try:
            return self.client.dashboard_link
        except Exception:  # noqa: BLE001 - no dashboard (bokeh missing, disabled): not an error
            return None

    def close(self) -> None:
        client, cluster, cleanup = self._client, self._cluster, self._cleanup
        self._factory = None
        self._cluster = self._cleanup = None
        if not self._owned:
            return  # the user's client: theirs to close
        self._client = None
        try:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
        finally:
            if cleanup is not None:
                cleanup()


def _shared_value(obj: Any) -> Any:
    """The task holding a shared object on the workers (see ``DistributedBackend.share``)."""
    return obj


def _start_local_cluster(
    settings: dict[str, Any],
) -> tuple[Any, Any, Callable[[], None]]:
    """Start the embedded LocalCluster described by ``settings`` (``pypetx.local``)."""
    from distributed import Client, LocalCluster

    settings = dict(settings)
    method = settings.pop("multiprocessing_method", None) or "spawn"
    threads = int(settings.pop("threads_per_worker", None) or 1)
    processes = bool(settings.pop("processes", True))
    n_workers = settings.pop("n_workers", None)
    if n_workers is None:
        n_workers = max(CPU_COUNT // threads, 1) if processes else 1
    # Nannies read the start method whenever they (re)start a worker, not only now: keep it
    # set for the cluster's lifetime, so a worker restarted after a crash still forks.
    mp_config = dask.config.set({"distributed.worker.multiprocessing-method": method})
    mp_config.__enter__()
    restore = lambda: mp_config.__exit__(None, None, None)
    try:
        cluster = LocalCluster(
            n_workers=int(n_workers),
            threads_per_worker=threads,
            processes=processes,
            **settings,
        )
        client = Client(cluster, set_as_default=False)
        if processes:
            client.register_plugin(_IgnoreSigint(), name="pypetx-ignore-sigint")
    except BaseException:
        restore()
        raise
    logger.info(
        "pypetx: local Dask cluster with %d workers (%s); dashboard: %s",
        n_workers,
        method,
        getattr(client, "dashboard_link", None),
    )
    return client, cluster, restore


# ------------------------------------------------------------------------------ resolve
def _jobqueue(class_name: str) -> Callable[..., Backend]:
    def make(**options: Any) -> Backend:
        try:
            import dask_jobqueue
        except ImportError:
            raise ImportError(
                f"cluster={class_name.removesuffix('Cluster').lower()!r} needs dask-jobqueue: "
                "pip install 'pypetx[hpc]'"
            ) from None
        cls = getattr(dask_jobqueue, class_name)

        def factory():
            from distributed import Client

            cluster = cls(**options)  # started on first use, like the local cluster
            return Client(cluster, set_as_default=False), cluster, None

        return DistributedBackend(factory=factory)

    return make


def _synchronous(**options: Any) -> Backend:
    if options:
        raise TypeError(
            f"the synchronous backend takes no options, got {sorted(options)}"
        )
    return SynchronousBackend()


_NAMED: dict[str, Callable[..., Backend]] = {
    "local": DistributedBackend.local,
    "synchronous": _synchronous,
    "slurm": _jobqueue("SLURMCluster"),
    "pbs": _jobqueue("PBSCluster"),
    "sge": _jobqueue("SGECluster"),
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
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        return None
    return client if client.status == "running" else None
