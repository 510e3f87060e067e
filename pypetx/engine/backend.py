"""Where tasks run: the :class:`Backend` protocol, and the backends that need no cluster.

The runner only needs to submit a callable, wait for any of its tasks, fetch a result and
cancel; each backend maps those verbs onto its own machinery:

- :class:`SynchronousBackend` -- in the calling process, in order, for debugging;
- :class:`ExecutorBackend` -- any ``concurrent.futures``-style executor (``submit``);
- :class:`~pypetx.engine.localfirst.LocalFirstBackend` -- the driver first, a cluster
  when the work left is worth it;
- :class:`~pypetx.engine.clusters.DistributedBackend` -- a ``distributed.Client`` (the
  user's, or one on a cluster pypetx starts).

:func:`pypetx.engine.resolve.resolve_backend` turns the user's arguments into one of them.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import time
from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # typing.Self is Python >= 3.11; pypetx supports 3.10
    from typing import Self

from dask.system import CPU_COUNT

__all__ = ["Backend", "ExecutorBackend", "SynchronousBackend"]


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
        """Schedule ``fn(*args)``; retry it up to ``retries`` times if it raises.

        A backend whose ``kills_tasks`` is true also takes ``timeout=`` (seconds): the
        task is stopped then and :meth:`result` raises
        :class:`~pypetx.engine.isolate.TaskTimedOut`.
        """

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

    def submit(self, fn, *args, retries=0, name=None, timeout=None) -> _SyncHandle:
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

    def submit(self, fn, *args, retries=0, name=None, timeout=None):
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
