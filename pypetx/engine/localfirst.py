"""The default backend: the driver runs the first batches itself, the cluster joins when it pays.

Starting the embedded ``LocalCluster`` (importing ``distributed``, forking workers,
shipping the trajectory) costs a few tenths of a second, which is most of the wall time of
a sweep of a million cheap points and all of it for a ten-point sweep. So the driver
starts working at once, in-process, and measures what a run costs. The cluster is started
only when the work left is worth it: once the driver has worked ``start_after`` seconds,
if the runs measured so far predict at least ``min_remaining`` seconds of work left. From
then on every batch goes to the cluster, including those queued in the driver but not
started.

The cluster starts between two batches, in the driver's main thread, never in the
background while a run executes: its workers are forked from the driver, and a fork
while the main thread holds a lock (an import of the user's code, Cython compiling a
Brian2 network) would hand the worker a lock nobody can release. The price is that the
first batch runs alone; batches start with one run, so that is one run.

The runner tells the backend how much work is left through :meth:`LocalFirstBackend.advise`
(any backend may ignore that); everything else is the plain
:class:`~pypetx.engine.backend.Backend` protocol.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pypetx.base import config
from pypetx.engine.backend import Backend, _BackendBase
from pypetx.engine.errors import ClusterError
from pypetx.engine.isolate import DriverLane, Shared, can_isolate

__all__ = ["LocalFirstBackend", "LocalFirstOptions"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalFirstOptions:
    """When the driver hands over to the cluster (the ``pypetx.local_first`` section).

    Attributes
    ----------
    enabled : bool
        False: no driver lane; the cluster starts before the first batch and every run
        is on a worker.
    start_after : float
        Seconds of work in the driver before deciding (checked between batches); the
        first estimates of a run's cost include one-off costs (first calls, caches) and
        would start clusters for sweeps that end a moment later.
    min_remaining : float
        Start the cluster when the measured runs predict at least this many seconds of
        work left (in the driver's time; the cluster shares it among its workers).
    isolate : bool
        Run the driver's batches in a forked child process
        (:class:`~pypetx.engine.isolate.DriverLane`), so a point that crashes kills the
        child, not the user's script, and a batch can be stopped at its timeout. The
        configuration's default is true; False (and platforms without ``fork``) runs
        them in the driver's own process.
    """

    enabled: bool = True
    start_after: float = 0.1
    min_remaining: float = 1.0
    isolate: bool = False

    def __post_init__(self) -> None:
        if self.start_after < 0 or self.min_remaining < 0:
            raise ValueError(
                f"local_first start_after and min_remaining must be >= 0, got "
                f"{self.start_after!r} and {self.min_remaining!r}"
            )

    @classmethod
    def from_config(cls, override: Any = None) -> LocalFirstOptions:
        """Options from ``pypetx.local_first``; ``override`` is a bool or a mapping."""
        section = dict(config.get("local_first", {}) or {})
        if isinstance(override, Mapping):
            section.update(override)
        elif override is not None:
            section["enabled"] = bool(override)
        return cls(
            enabled=bool(section.get("enabled", True)),
            start_after=float(section.get("start_after", cls.start_after)),
            min_remaining=float(section.get("min_remaining", cls.min_remaining)),
            isolate=bool(section.get("isolate", True)),
        )


class _Handle:
    """A task: queued in the driver, run there, or handed to the cluster (``future``)."""

    __slots__ = ("args", "error", "fn", "future", "name", "retries", "seq", "state",
                 "timeout", "value")

    def __init__(self, seq: int, fn: Callable[..., Any], args: tuple, retries: int,
                 name: str | None, timeout: float | None = None) -> None:
        self.seq, self.fn, self.args, self.retries, self.name = seq, fn, args, retries, name
        self.timeout = timeout
        self.state = "pending"  # pending | finished | failed | cancelled | remote
        self.value: Any = None
        self.error: BaseException | None = None
        self.future: Any = None


class LocalFirstBackend(_BackendBase):
    """Run batches in the driver until the measured work justifies starting the cluster.

    Parameters
    ----------
    factory : callable
        Returns the cluster's backend (e.g. ``DistributedBackend.local``); called once,
        when the cluster is needed. Its ``n_workers`` is read at once, which starts the
        cluster and waits for its workers.
    options : LocalFirstOptions, optional
        Defaults to :meth:`LocalFirstOptions.from_config`.
    """

    name = "local-first"

    def __init__(
        self,
        factory: Callable[[], Backend],
        options: LocalFirstOptions | None = None,
    ) -> None:
        self.options = options if options is not None else LocalFirstOptions.from_config()
        self._factory: Callable[[], Backend] | None = factory
        self._remote: Backend | None = None
        self._seq = itertools.count()
        self._local_seconds = 0.0  # driver time spent in tasks so far
        self.reason: str | None = None  # why the cluster was started (logs and tests)
        self._lane = DriverLane() if self.options.isolate and can_isolate() else None

    # -- the decision -----------------------------------------------------------------
    @property
    def started(self) -> bool:
        """Whether the cluster runs (it was worth starting)."""
        return self._remote is not None

    def advise(self, seconds_per_run: float | None, n_remaining: int) -> None:
        """The runner's estimate (task seconds per run, runs not yet handed out), given
        between batches: start the cluster now if the work left is worth it."""
        if self._remote is not None or seconds_per_run is None:
            return
        left = float(seconds_per_run) * int(n_remaining)
        if self._local_seconds >= self.options.start_after and left >= self.options.min_remaining:
            self.start(f"{left:.2f} s of work left after {self._local_seconds:.2f} s in the driver")

    @property
    def undecided_seconds(self) -> float | None:
        """Driver seconds left before :meth:`advise` judges whether to start the cluster
        (``None`` once judged or started): the runner keeps tasks in the driver this short
        meanwhile, so a sweep worth the cluster does not run alone first for long."""
        if self._remote is not None or self._local_seconds >= self.options.start_after:
            return None
        return self.options.start_after - self._local_seconds

    def start(self, reason: str = "asked for") -> Backend:
        """Start the cluster now (if not yet) and return its backend."""
        if self._remote is None:
            if self._factory is None:
                raise RuntimeError("this backend is closed")
            factory, self._factory = self._factory, None
            self.reason = reason
            logger.info("pypetx: starting the cluster (%s)", reason)
            t0 = time.perf_counter()
            try:
                remote = factory()
                remote.n_workers  # noqa: B018 - starts the cluster, waits for its workers
            except ClusterError:
                raise
            except Exception as exc:
                raise ClusterError(f"could not start the cluster: {exc}") from exc
            self._remote = remote
            logger.info("pypetx: cluster up in %.2f s", time.perf_counter() - t0)
        return self._remote

    # -- backend verbs ----------------------------------------------------------------
    def share(self, obj: Any) -> Any:
        return Shared(obj)

    def _args(self, args: tuple, remote: Backend | None) -> tuple:
        out = []
        for a in args:
            if isinstance(a, Shared):
                if remote is None:
                    a = a.obj
                else:
                    if a.remote is None:
                        a.remote = remote.share(a.obj)
                    a = a.remote
            out.append(a)
        return tuple(out)

    def _to_remote(self, handle: _Handle) -> None:
        remote = self._remote
        assert remote is not None
        handle.future = remote.submit(handle.fn, *self._args(handle.args, remote),
                                      retries=handle.retries, name=handle.name,
                                      timeout=handle.timeout)
        handle.state = "remote"

    def submit(self, fn, *args, retries=0, name=None, timeout=None):
        handle = _Handle(next(self._seq), fn, args, retries, name, timeout)
        if self._remote is not None:
            self._to_remote(handle)
        return handle

    def wait_any(self, handles, timeout=None):
        handles = set(handles)
        if self._remote is not None:  # queued in the driver before the cluster came
            for h in sorted(handles, key=lambda h: h.seq):
                if h.state == "pending":
                    self._to_remote(h)
        done = {h for h in handles if h.state not in ("pending", "remote")}
        pending = [h for h in handles if h.state == "pending"]
        remote = {h.future: h for h in handles if h.state == "remote"}
        if remote:
            assert self._remote is not None
            finished, _ = self._remote.wait_any(
                remote, timeout=0 if (done or pending) else timeout
            )
            done.update(remote[f] for f in finished)
        if not done and pending:
            handle = min(pending, key=lambda h: h.seq)
            self._run_local(handle)
            done.add(handle)
        return done, handles - done

    def _run_local(self, handle: _Handle) -> None:
        t0 = time.perf_counter()
        try:
            if self._lane is not None:
                handle.value = self._lane.call(handle.fn, handle.args, handle.timeout)
            else:
                handle.value = handle.fn(*self._args(handle.args, None))
            handle.state = "finished"
        except Exception as exc:  # noqa: BLE001 - the task failed: result() raises it
            handle.error, handle.state = exc, "failed"
        finally:
            self._local_seconds += time.perf_counter() - t0

    def result(self, handle):
        if handle.state == "remote":
            assert self._remote is not None
            return self._remote.result(handle.future)
        if handle.state == "failed":
            raise handle.error  # type: ignore[misc]
        if handle.state == "cancelled":
            raise cf.CancelledError("task was cancelled")
        if handle.state != "finished":
            raise RuntimeError("result() of a task that has not run; call wait_any first")
        return handle.value

    def cancel(self, handles) -> None:
        futures = []
        for h in handles:
            if h.state == "pending":
                h.state = "cancelled"
            elif h.state == "remote":
                futures.append(h.future)
        if futures and self._remote is not None:
            self._remote.cancel(futures)

    @property
    def runs_in_driver(self) -> bool:
        """True while tasks run inside :meth:`wait_any` (the runner's Ctrl-C handling)."""
        return self._remote is None

    @property
    def n_workers(self) -> int:
        return self._remote.n_workers if self._remote is not None else 1

    @property
    def dashboard_link(self) -> str | None:
        return self._remote.dashboard_link if self._remote is not None else None

    @property
    def client(self) -> Any:
        """The cluster's ``distributed.Client`` (starts the cluster if needed)."""
        return self.start("the client was asked for").client  # type: ignore[attr-defined]

    @property
    def kills_tasks(self) -> bool:
        """Whether a task can be stopped at its ``timeout`` (the runner's budget)."""
        if self._remote is not None:
            return bool(getattr(self._remote, "kills_tasks", False))
        return self._lane is not None

    def close(self) -> None:
        self._factory = None
        if self._lane is not None:
            self._lane.close()
        if self._remote is not None:
            remote, self._remote = self._remote, None
            remote.close()
