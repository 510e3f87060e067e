"""Dask clusters behind the :class:`~pypetx.engine.backend.Backend` protocol.

:class:`DistributedBackend` runs tasks through a ``distributed.Client``: the user's, or
one on a cluster pypetx starts on first use -- the embedded ``LocalCluster``
(:meth:`DistributedBackend.local`) or a dask-jobqueue cluster (:func:`jobqueue_backend`,
configured in :mod:`pypetx.engine.jobqueue`).

Infrastructure trouble is reported, not turned into failed runs: a client that lost its
scheduler raises :class:`~pypetx.engine.errors.SchedulerLost`; a jobqueue cluster whose
jobs are rejected or never start raises a :class:`~pypetx.engine.errors.ClusterError`
from its :class:`~pypetx.engine.jobqueue.JobMonitor`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import dask.config
from dask.system import CPU_COUNT
from distributed.diagnostics.plugin import WorkerPlugin

from pypetx.base import config
from pypetx.engine.backend import Backend, _BackendBase
from pypetx.engine.errors import SchedulerLost
from pypetx.engine.isolate import TaskTimedOut

__all__ = ["DistributedBackend", "jobqueue_backend"]

logger = logging.getLogger(__name__)

# Client states in which the scheduler is gone (``connecting`` after a disconnect: the
# client retries for distributed.comm.timeouts.connect, but every future is cancelled).
_LOST_STATES = frozenset({"connecting", "closing", "closed", "failed"})

# Workers report a task over its time budget on this event topic (see _Watched), then
# kill themselves this many seconds later.
_TIMEOUT_TOPIC = "pypetx-timeout"
_REPORT_SECONDS = 1.0


class _Watched:
    """Worker side: run ``fn(*args)``; tell the driver if it outlasts ``seconds``.

    A timer thread (cancelled when the task ends) reports the task on the event topic,
    so the driver cancels it (it is not rescheduled to hang again), then kills its own
    worker process, which the nanny replaces: a hung thread cannot be stopped otherwise.
    A worker in the driver's process (``processes=False``) only reports.
    """

    def __init__(self, fn: Callable[..., Any], seconds: float, key: str) -> None:
        self.fn, self.seconds, self.key = fn, float(seconds), key
        self.driver = os.getpid()

    def __call__(self, *args: Any) -> Any:
        from distributed import get_worker

        worker = get_worker()
        msg = {"key": self.key, "worker": worker.address, "seconds": self.seconds}
        timer = threading.Timer(self.seconds, self._expire, (worker, msg))
        timer.daemon = True
        timer.start()
        try:
            return self.fn(*args)
        finally:
            timer.cancel()

    def _expire(self, worker: Any, msg: dict) -> None:
        worker.loop.add_callback(worker.log_event, _TIMEOUT_TOPIC, msg)
        if os.getpid() != self.driver:
            time.sleep(_REPORT_SECONDS)  # let the report reach the scheduler first
            os.kill(os.getpid(), signal.SIGKILL)


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
    monitor : object, optional
        Watches a cluster whose workers come and go (a
        :class:`~pypetx.engine.jobqueue.JobMonitor`): ``attach(cluster)`` once started,
        ``check(n_threads)`` while the driver waits (raises when the jobs cannot start),
        ``capacity()`` (threads once fully scaled, so enough work is queued for adaptive
        scaling to see) and ``close()``.
    """

    name = "distributed"

    def __init__(
        self,
        client: Any = None,
        *,
        factory: Callable[[], tuple] | None = None,
        monitor: Any = None,
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
        self._nthreads_cache: tuple[float, int] = (-1.0, 0)
        self._finished: queue.SimpleQueue = queue.SimpleQueue()
        self.monitor = monitor
        self._reported: queue.SimpleQueue = queue.SimpleQueue()  # timeouts from workers
        self._expired: dict[str, float] = {}  # task key -> the budget it exceeded
        self._subscribed = False

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
            if self.monitor is not None:
                self.monitor.attach(self._cluster)
        return self._client

    def _check_connected(self) -> None:
        status = getattr(self.client, "status", "running")
        if status in _LOST_STATES:
            raise SchedulerLost(self._scheduler_address(), f"client is {status}")

    def _scheduler_address(self) -> str:
        try:
            return str(self._client.scheduler.address)
        except Exception:  # noqa: BLE001 - only for the message
            return "<unknown address>"

    kills_tasks = True  # a task over its timeout is cancelled and its worker restarted

    def _on_timeout(self, event: Any) -> None:
        # In the client's event loop thread: only hand the report to the driver's thread.
        self._reported.put(event[1] if isinstance(event, tuple) else event)
        self._finished.put(None)

    def _expire(self, handles: set[Any]) -> None:
        """Cancel the tasks workers reported as over their budget (the workers end)."""
        by_key = {h.key: h for h in handles}
        while True:
            try:
                msg = self._reported.get_nowait()
            except queue.Empty:
                break
            handle = by_key.get(msg.get("key"))
            if handle is None or handle.done():
                continue
            self._expired[handle.key] = float(msg["seconds"])
            self._client.cancel([handle])
            logger.warning("pypetx: a task on %s ran over its %g s timeout; the worker is "
                           "replaced", msg.get("worker"), msg["seconds"])

    def submit(self, fn, *args, retries=0, name=None, timeout=None):
        self._check_connected()
        key = f"{name or 'pypetx-task'}-{uuid.uuid4().hex}"
        if timeout is not None:
            if not self._subscribed:
                self.client.subscribe_topic(_TIMEOUT_TOPIC, self._on_timeout)
                self._subscribed = True
            fn = _Watched(fn, timeout, key)
        future = self.client.submit(
            fn, *args, retries=retries or None, pure=False, key=key
        )
        # distributed.wait() needs a *default* client, which the embedded one must not be;
        # a done-callback waking a queue needs no client and no polling round trips.
        future.add_done_callback(self._finished.put)
        return future

    def wait_any(self, handles, timeout=None):
        handles = set(handles)
        if self._subscribed:
            self._expire(handles)
        done = {h for h in handles if h.done()}
        if not done and handles:
            if self.monitor is not None:
                # Nothing finished yet: are there workers at all? The monitor turns
                # "no worker ever came" into an error saying why (rejected, pending...).
                self.monitor.check(self._threads())
            try:
                self._finished.get(timeout=timeout)
            except queue.Empty:
                pass
            if self._subscribed:
                self._expire(handles)
            done = {h for h in handles if h.done()}
        while True:  # the states were read from the futures: the wake-ups are spent
            try:
                self._finished.get_nowait()
            except queue.Empty:
                break
        return done, handles - done

    def result(self, handle):
        from distributed.client import FutureCancelledError

        seconds = self._expired.pop(getattr(handle, "key", None), None)
        if seconds is not None:
            handle.release()
            raise TaskTimedOut(seconds)
        try:
            return handle.result()
        except FutureCancelledError as exc:
            # The client cancels every future when it loses the scheduler: that is not a
            # failure of these runs, and they must not be recorded as failed.
            if getattr(exc, "reason", None) == "scheduler-connection-lost" or (
                getattr(self._client, "status", "running") in _LOST_STATES
            ):
                raise SchedulerLost(self._scheduler_address(), str(exc.reason)) from exc
            raise
        finally:
            handle.release()  # drop the worker's copy now that the driver has it

    def cancel(self, handles) -> None:
        handles = list(handles)
        if (
            handles
            and self._client is not None
            and self._client.status not in _LOST_STATES
        ):
            self._client.cancel(handles)

    def _threads(self) -> int:
        """Threads of the connected workers (0 when none), refreshed at most once a second."""
        stamp, n = self._nthreads_cache
        now = time.monotonic()
        if now - stamp > 1.0:
            self._check_connected()
            try:
                n = sum(self.client.nthreads().values())
            except OSError as exc:  # CommClosedError: the scheduler went away meanwhile
                raise SchedulerLost(self._scheduler_address(), str(exc)) from exc
            self._nthreads_cache = (now, n)
        return n

    @property
    def n_workers(self) -> int:
        # One scheduler round trip; adaptive clusters grow and shrink, so refresh it, but
        # at most once a second. An adaptive cluster reports what it may grow to, so the
        # runner queues enough work for the scheduler to ask for more jobs.
        n = self._threads()
        if self.monitor is not None:
            n = max(n, self.monitor.capacity())
        return max(n, 1)

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
            link = self.client.dashboard_link
        except Exception:  # noqa: BLE001 - no dashboard (bokeh missing, disabled): not an error
            return None
        if self.monitor is not None:
            link = self.monitor.dashboard_link(link)
        return link

    def close(self) -> None:
        client, cluster, cleanup = self._client, self._cluster, self._cleanup
        self._factory = None
        self._cluster = self._cleanup = None
        if self.monitor is not None:
            self.monitor.close()
        if not self._owned:
            return  # the user's client: theirs to close
        self._client = None
        try:
            if client is not None:
                if client.status in _LOST_STATES:
                    # Closing a client that is still trying to reconnect logs a traceback
                    # about the cancelled reconnect: noise next to SchedulerLost.
                    with _quiet("distributed.client"):
                        client.close()
                else:
                    client.close()
            if cluster is not None:
                cluster.close()
        finally:
            if cleanup is not None:
                cleanup()


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    log = logging.getLogger(name)
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


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


def jobqueue_backend(kind: str, **options: Any) -> Backend:
    """A backend on a dask-jobqueue cluster pypetx creates on first use.

    Parameters
    ----------
    kind : str
        Which batch system (a name of :data:`~pypetx.engine.schedulers.SCHEDULERS`); the
        cluster class is dask-jobqueue's (``SLURMCluster``, ...).
    **options
        ``n_jobs``, ``adapt=(min, max)``, ``worker_timeout`` and the cluster class's own
        keywords (``cores``, ``memory``, ``queue``, ``walltime``, ...). See
        :func:`pypetx.engine.jobqueue.cluster_kwargs` for the defaults pypetx adds.
    """
    import pypetx.engine.jobqueue as jobqueue

    plan = jobqueue.plan(kind, **options)  # validates now: errors before any job starts
    monitor = jobqueue.JobMonitor(plan)

    def factory():
        from distributed import Client

        cluster = plan.start()
        try:
            client = Client(cluster, security=cluster.security, set_as_default=False)
        except BaseException:
            cluster.close()
            raise
        logger.info(
            "pypetx: %s cluster (%s); dashboard: %s",
            type(cluster).__name__,
            plan.scaling_text(),
            getattr(client, "dashboard_link", None),
        )
        return client, cluster, None

    return DistributedBackend(factory=factory, monitor=monitor)
