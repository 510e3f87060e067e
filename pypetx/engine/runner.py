"""Submit batches of runs to a backend and stream their results to a sink as they finish.

The runner is generic: it knows run indices, tasks and :class:`BatchResult` objects, not
trajectories. It keeps a bounded number of tasks in flight (bounded driver memory, and
batch sizes can still adapt), hands every finished batch to the sink at once (the store
makes it durable), and turns infrastructure failures into failed runs rather than an
aborted sweep. Ctrl-C stops submitting, keeps what finishes within a grace period, and
raises :class:`SweepInterrupted`.
"""

from __future__ import annotations

import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from pypetx.base import config
from pypetx.engine.batching import BatchingOptions, BatchPlanner, as_pending
from pypetx.engine.executors import Backend, SchedulerLost
from pypetx.engine.isolate import ProcessDied, TaskTimedOut, is_process_death
from pypetx.engine.progress import Progress, progress_enabled
from pypetx.core.batch import BatchResult

if TYPE_CHECKING:
    from typing import Self  # Python >= 3.11; pypetx supports 3.10

    from pypetx.engine.dashboard import SweepMonitor

__all__ = ["RunSummary", "SweepInterrupted", "failed_batch", "run_batches"]

# How long one wait for results may block: bounds how late the driver notices new workers
# (adaptive clusters) and a deferred Ctrl-C.
_POLL_SECONDS = 0.5


@dataclass
class RunSummary:
    """What happened in one call of :func:`run_batches`.

    Attributes
    ----------
    n_runs : int
        Runs that were pending at the start.
    n_completed, n_failed : int
        Runs the sink received as completed / failed (a task lost to a crash counts its
        runs as failed).
    n_tasks : int
        Tasks submitted.
    n_task_errors : int
        Tasks that failed as a whole (after retries), e.g. ``KilledWorker``.
    wall_seconds : float
        Driver wall time.
    batch_sizes : list of int
        Runs per task, in submission order.
    interrupted : bool
        True when Ctrl-C stopped the sweep early.
    """

    n_runs: int = 0
    n_completed: int = 0
    n_failed: int = 0
    n_tasks: int = 0
    n_task_errors: int = 0
    wall_seconds: float = 0.0
    batch_sizes: list[int] = field(default_factory=list)
    interrupted: bool = False
    n_received: int = 0

    @property
    def n_not_run(self) -> int:
        """Runs whose results never reached the sink (left for a resume)."""
        return self.n_runs - self.n_received


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a sweep; the runs that finished were handed to the sink.

    A subclass of ``KeyboardInterrupt`` so a plain script still stops on Ctrl-C, while
    callers that care can catch it and read :attr:`summary`.
    """

    def __init__(self, message: str, summary: RunSummary) -> None:
        super().__init__(message)
        self.summary = summary

    def __str__(self) -> str:
        return str(self.args[0])


def run_batches(
    task: Callable[[Any, np.ndarray], BatchResult],
    shared: Any,
    pending: np.ndarray,
    backend: Backend,
    sink: Callable[[BatchResult], None],
    *,
    batch_size: int | Literal["auto"] = "auto",
    progress: bool | Literal["auto"] | None = None,
    retries: int | None = None,
    max_in_flight: int | None = None,
    on_batch: Callable[[BatchResult], None] | None = None,
    interrupt_grace_seconds: float | None = None,
    batching: BatchingOptions | None = None,
    resume_hint: str | None = None,
    monitor: SweepMonitor | None = None,
    timeout: float | None = None,
    align: Callable[[int, int], int] | None = None,
) -> RunSummary:
    """Run ``task(shared, indices)`` over batches of ``pending`` and sink each result.

    Parameters
    ----------
    task : callable
        Picklable top-level function ``task(shared, indices) -> BatchResult``; runs on
        the workers.
    shared : object
        Sent to the workers once (:meth:`Backend.share`) and passed to every task, e.g.
        the frozen trajectory skeleton.
    pending : array_like of int
        Run indices to do (any order, holes allowed); batches are contiguous slices of
        their sorted values.
    backend : Backend
        Where tasks run (see :func:`pypetx.engine.resolve_backend`). Not closed here.
    sink : callable
        Called in the driver with each finished :class:`BatchResult`, as soon as it
        arrives, never concurrently (the store persists it). An exception in the sink
        stops the sweep.
    batch_size : int or "auto"
        Runs per task; ``"auto"`` sizes batches from measured task durations.
    progress : bool or "auto", optional
        Show a progress bar; default ``pypetx.progress`` ("auto": only on a terminal).
    retries : int, optional
        Times a task is re-run after it raised (worker deaths are retried by the Dask
        scheduler as well); default ``pypetx.retries``.
    max_in_flight : int, optional
        Tasks submitted but not collected; default ``pypetx.in_flight_per_worker`` x
        workers.
    on_batch : callable, optional
        Called with each batch after the sink accepted it (hooks, logging).
    interrupt_grace_seconds : float, optional
        After Ctrl-C, wait this long for running tasks; default
        ``pypetx.interrupt_grace_seconds``.
    batching : BatchingOptions, optional
        Targets of automatic batching; default from ``pypetx.batching``.
    resume_hint : str, optional
        How to resume, appended to the :class:`SweepInterrupted` message.
    monitor : SweepMonitor, optional
        Reports the sweep to the cluster's sweep map (docs/dashboard.md): told of every
        submission and finished batch, once per loop, and of the end.
    timeout : float, optional
        Seconds one run may take; default ``pypetx.timeout`` (None: no limit). A backend
        that can stop a task (``kills_tasks``: local-first's driver lane, a Dask cluster)
        is given a budget per batch; a batch over it is killed and split like a crashed
        one, and a single run over ``timeout`` is failed with "timed out after N s".
    align : callable, optional
        ``align(start, end)``: where a batch of the consecutive runs ``start..end-1``
        should end instead (the store's ``batch_boundary``: Zarr shards), so that each
        worker writes whole shards.

    Returns
    -------
    RunSummary

    Raises
    ------
    SweepInterrupted
        On Ctrl-C, after the grace period; carries the summary.

    Notes
    -----
    A batch whose process died (segfault, ``os._exit``, OOM kill, ``KilledWorker``) or
    that timed out is split in halves and its runs submitted again, down to single runs:
    exactly the runs that crash are recorded as failed, with the cause, and the good runs
    that shared their batch are kept. A single run failed by ``KilledWorker`` runs once
    more, alone on the cluster, before it is recorded as failed: Dask also blames the tasks
    queued on a worker that another task kept killing, and alone it is blamed for its own
    crashes only.
    """
    start = time.perf_counter()
    pending = as_pending(pending)
    summary = RunSummary(n_runs=len(pending))
    if len(pending) == 0:
        return summary  # nothing to do: do not start a cluster for it
    retries = int(config.get("retries") if retries is None else retries)
    grace = float(
        config.get("interrupt_grace_seconds")
        if interrupt_grace_seconds is None
        else interrupt_grace_seconds
    )
    if timeout is None:
        timeout = config.get("timeout", None)
    timeout = None if timeout is None else float(timeout)
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    planner = BatchPlanner(pending, backend.n_workers, batch_size, batching)
    # A task that takes a time budget (run_batch) sizes the first batches itself.
    planner.bounded = bool(getattr(task, "takes_budget", False))
    planner.align = align
    # Halves of batches whose process died, run again before new work (see Notes).
    split: list[np.ndarray] = []
    # Single runs failed by KilledWorker, run once more with nothing else in flight.
    killed_once: set[int] = set()
    alone: list[np.ndarray] = []
    solo: list[Any] = []  # the handle of the run in flight alone, if any
    per_worker = int(config.get("in_flight_per_worker", 2))
    # A backend that decides where to run from the work left (LocalFirstBackend) hears
    # the planner's estimate before every round of submissions.
    advise = getattr(backend, "advise", None)
    in_flight: dict[Any, np.ndarray] = {}

    def submit(indices: np.ndarray, budget: float | None) -> Any:
        extra = {}
        if timeout is not None and getattr(backend, "kills_tasks", False):
            extra["timeout"] = _budget(timeout, len(indices), planner.seconds_per_run)
        handle = backend.submit(_call_timed, task, shared_handle, _compact(indices), budget,
                                retries=retries, name="pypetx-batch", **extra)
        in_flight[handle] = indices
        if monitor is not None:
            monitor.submitted(indices, handle)
        summary.n_tasks += 1
        summary.batch_sizes.append(len(indices))
        return handle

    def collect(handle: Any, bar: Progress) -> None:
        indices = in_flight.pop(handle)
        if handle in solo:
            solo.remove(handle)
        t0 = time.perf_counter()
        seconds = None
        stopped = False
        try:
            value = backend.result(handle)
        except SchedulerLost:
            raise  # the cluster is gone, not these runs: they stay to do, not failed
        except Exception as exc:  # noqa: BLE001 - the task itself failed: its runs fail, the sweep goes on
            if is_process_death(exc) and len(indices) > 1:
                # Which of the runs killed the process? Rerun them in halves.
                half = len(indices) // 2
                split.extend([indices[half:], indices[:half]])
                summary.n_task_errors += 1
                return
            if (type(exc).__name__ == "KilledWorker" and len(indices) == 1
                    and int(indices[0]) not in killed_once):
                # A worker that a crashing run kills takes down the tasks queued on it too:
                # a single run's KilledWorker may be a bystander's. Run it once more.
                killed_once.add(int(indices[0]))
                alone.append(indices)
                summary.n_task_errors += 1
                return
            if isinstance(exc, TaskTimedOut) and timeout is not None:
                exc = TaskTimedOut(timeout)  # a single run: its own limit, not the budget
            elif is_process_death(exc) and not isinstance(exc, ProcessDied):
                exc = ProcessDied(f"the worker processes running the point died (a crash, "
                                  f"os._exit or out of memory): {type(exc).__name__}: {exc}")
            batch = failed_batch(indices, exc)
            summary.n_task_errors += 1
        else:
            batch, seconds = value
            if not isinstance(batch, BatchResult):
                raise TypeError(
                    f"task must return a BatchResult, got {type(batch).__name__}"
                )
            if len(batch) < len(indices):  # stopped at its budget: the rest runs later
                if not np.array_equal(batch.indices, indices[:len(batch)]):
                    raise ValueError("a task stopped at its budget must return a prefix "
                                     "of its runs")
                planner.give_back(indices[len(batch):])
                indices = indices[:len(batch)]
                stopped = True
            # The runs' own durations, when the task measured them, say what a run costs;
            # the task's wall time also holds one-off costs (the first task on a worker
            # unpickles the shared trajectory) that would keep batches small for long.
            run_seconds = getattr(batch, "duration", None)
            if run_seconds is not None and len(run_seconds) == len(indices):
                measured = float(np.sum(run_seconds))
                if measured > 0:  # a task that did not time its runs reports zeros
                    seconds = min(seconds, measured)
        sink(batch)
        if seconds is not None:
            planner.record(len(indices), seconds, driver_seconds=time.perf_counter() - t0,
                           result_bytes=_result_bytes(batch), stopped=stopped)
        summary.n_received += len(batch)
        summary.n_completed += int(np.count_nonzero(batch.completed))
        summary.n_failed += int(np.count_nonzero(batch.failed))
        if on_batch is not None:
            on_batch(batch)
        if monitor is not None:
            monitor.finished(batch)
        bar.update(len(batch), summary.n_failed)

    def collect_done(done: set[Any], bar: Progress) -> None:
        for handle in sorted(done, key=lambda h: int(in_flight[h][0])):
            collect(handle, bar)

    with _InterruptGuard() as guard:
        try:
            shared_handle = backend.share(shared)
            with Progress(
                len(pending), progress_enabled(progress), backend.dashboard_link
            ) as bar:
                if monitor is not None:
                    monitor.attach(backend, bar.link)
                try:
                    while not planner.exhausted or in_flight or split or alone:
                        guard.check()
                        if advise is not None:
                            advise(planner.seconds_per_run, planner.n_remaining)
                        n_workers = backend.n_workers
                        planner.n_workers = n_workers
                        planner.in_driver = bool(getattr(backend, "runs_in_driver", False))
                        planner.cap_seconds = getattr(backend, "undecided_seconds", None)
                        limit = max_in_flight or max(per_worker * n_workers, 2)
                        while not solo and (split or not planner.exhausted) and len(
                            in_flight
                        ) < planner.in_flight_limit(limit):
                            halves = bool(split)
                            indices = split.pop() if halves else planner.next_batch()
                            # the halves of a crashed batch run whole (see Notes)
                            submit(indices, None if halves else planner.budget(len(indices)))
                        if alone and not in_flight:
                            solo.append(submit(alone.pop(), None))
                        with guard.interruptible():
                            done, _ = backend.wait_any(in_flight, timeout=_POLL_SECONDS)
                        collect_done(done, bar)
                        if monitor is not None:
                            monitor.tick()
                except KeyboardInterrupt:
                    summary.interrupted = True
                    # In-process backends run tasks inside wait_any: nothing is running
                    # now, and draining would start new work after the Ctrl-C.
                    if not getattr(backend, "runs_in_driver", False):
                        _drain(
                            backend,
                            in_flight,
                            guard,
                            grace,
                            lambda d: collect_done(d, bar),
                        )
                    summary.wall_seconds = time.perf_counter() - start
                    raise SweepInterrupted(
                        _interrupt_message(summary, resume_hint), summary
                    ) from None
                except SchedulerLost as exc:
                    hint = resume_hint or "run the sweep again with resume"
                    raise exc.with_detail(
                        f"{summary.n_received} of {summary.n_runs} runs of this sweep were "
                        f"stored before; {summary.n_not_run} did not finish; {hint}"
                    ) from exc
                finally:
                    if monitor is not None:
                        monitor.detach(interrupted=summary.interrupted)
        finally:
            if in_flight:
                backend.cancel(list(in_flight))
                in_flight.clear()
            summary.wall_seconds = time.perf_counter() - start
    return summary


def _budget(timeout: float, n: int, seconds_per_run: float | None) -> float:
    """Seconds a batch of ``n`` runs may take when one run may take ``timeout``.

    One run: exactly ``timeout``. More: ``timeout`` (for the one slow run) plus a margin
    over what the others are measured to cost. A batch killed at its budget is split, so
    a budget too tight costs time, never a wrongly failed run.
    """
    if n <= 1:
        return timeout
    return timeout + 4.0 * n * (seconds_per_run or 0.0)


def _result_bytes(batch: BatchResult) -> int:
    """Bytes of a batch's array results (lists of ragged values are not counted)."""
    return sum(v.nbytes for v in batch.results.values() if isinstance(v, np.ndarray))


class _Span(tuple):
    """Runs ``start, start + 1, ..., stop - 1`` as two integers: what a batch of
    consecutive runs costs to ship to a worker (an index array of 10^5 runs is 800 kB
    through the scheduler and its comms)."""

    __slots__ = ()

    def indices(self) -> np.ndarray:
        return np.arange(self[0], self[1], dtype=np.int64)


def _compact(indices: np.ndarray) -> np.ndarray | _Span:
    """``indices`` as a :class:`_Span` when they are consecutive (most batches)."""
    n = len(indices)
    if n > 1 and int(indices[-1]) - int(indices[0]) == n - 1:
        return _Span((int(indices[0]), int(indices[-1]) + 1))  # sorted: consecutive
    return indices


def _call_timed(
    task: Callable[..., BatchResult], shared: Any, indices: np.ndarray | _Span,
    budget: float | None = None,
) -> tuple[BatchResult, float]:
    """Worker side: run the task and measure it, so batch sizes follow real costs.

    ``budget``: seconds after which a task that ``takes_budget`` stops and returns the
    runs it did (a prefix of ``indices``)."""
    if isinstance(indices, _Span):
        indices = indices.indices()
    t0 = time.perf_counter()
    batch = task(shared, indices) if budget is None else task(shared, indices, budget)
    return batch, time.perf_counter() - t0


def _drain(
    backend: Backend,
    in_flight: dict[Any, np.ndarray],
    guard: _InterruptGuard,
    grace: float,
    collect_done: Callable[[set[Any]], None],
) -> None:
    """After Ctrl-C: keep the results of tasks that finish within ``grace`` seconds.

    A second Ctrl-C ends the wait at once. Whatever is still running is cancelled by the
    caller.
    """
    deadline = time.monotonic() + grace
    seen = guard.requested
    try:
        while in_flight and guard.requested <= seen:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            with guard.interruptible():
                done, _ = backend.wait_any(in_flight, timeout=min(left, _POLL_SECONDS))
            collect_done(done)
    except KeyboardInterrupt:
        pass


def _interrupt_message(summary: RunSummary, resume_hint: str | None) -> str:
    hint = resume_hint or "run the sweep again with resume to do only those"
    return (
        f"sweep interrupted: {summary.n_received} of {summary.n_runs} runs finished and "
        f"were kept ({summary.n_failed} failed); {summary.n_not_run} did not run. "
        f"To finish them, {hint}."
    )


def failed_batch(indices: np.ndarray, exc: BaseException) -> BatchResult:
    """A :class:`BatchResult` marking every run of ``indices`` as failed with ``exc``.

    Used when a whole task fails (e.g. ``KilledWorker`` after repeated worker deaths), so
    its runs are recorded as failed and can be retried later, instead of aborting.
    """
    n = len(indices)
    message = f"{type(exc).__name__}: {exc}"
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return BatchResult(
        indices=np.asarray(indices, dtype=np.int64).copy(),
        results={},
        present={},
        completed=np.zeros(n, dtype=bool),
        failed=np.ones(n, dtype=bool),
        duration=np.full(n, np.nan),
        worker="",
        error=[message] * n,
        traceback=[tb] * n,
    )


class _InterruptGuard:
    """Turn SIGINT into a flag, raising ``KeyboardInterrupt`` only where it is safe.

    A ``KeyboardInterrupt`` in the middle of the sink could leave a half-written batch in
    the store; inside Dask's client machinery it could corrupt its state. So the handler
    only raises while the driver is blocked waiting for results (``interruptible``); at
    any other moment it records the request, which :meth:`check` raises at the top of the
    next loop. Installed in the main thread for the duration of the sweep, over whatever
    handler was there (Python's default, dask-jobqueue's import-time ``sys.exit`` one,
    Brian2's chaining one, a user's) and restored afterwards: those handlers would raise
    or exit in the middle of a store write.
    """

    def __init__(self) -> None:
        self.requested = 0
        self._raise_now = False
        self._previous: Any = None

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested += 1
        if self._raise_now:
            self._raise_now = False
            raise KeyboardInterrupt

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed since the sweep started."""
        if self.requested:
            raise KeyboardInterrupt

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        self._raise_now = True
        try:
            yield
        finally:
            self._raise_now = False
