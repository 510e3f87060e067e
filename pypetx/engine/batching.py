"""Group pending runs into batches (one Dask task each), sized from measured run costs.

One Dask task costs about a millisecond of scheduling, while a cheap run may cost a tenth
of a microsecond: cheap runs must share a task. Expensive runs, on the other hand, should
each get their own task so the cluster stays balanced. :class:`BatchPlanner` finds the
size between the two from the task durations it is told about; it is pure bookkeeping
(numbers in, index arrays out) so it can be tested without a cluster.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from dask.utils import parse_bytes

from pypetx.base import config
from pypetx.core.runs import RunRanges

__all__ = ["BatchPlanner", "BatchingOptions", "as_pending", "auto_batch_size"]

# Older measurements count less, so batch sizes follow runs whose cost drifts along the
# sweep (e.g. a parameter that makes later runs longer). 0.8 keeps ~5 tasks of memory.
_DECAY = 0.8
# How far batch sizes may run ahead of the largest measured task (see next_size). With 2-3
# tasks in flight per worker, 4 keeps doubling going while bounding a surprise to 4x.
_AHEAD = 4
# The driver handles every finished task (fetch its results, journal them: ~10-30 ms
# with a cluster, whatever the task's size). Tasks are made big enough that this keeps
# the driver busy at most 1/_DRIVER_SHARE of the time, else it, not the workers, sets
# the pace of cheap sweeps.
_DRIVER_SHARE = 4
# Growth per task of batches run in the driver itself (see BatchPlanner.in_driver).
_DRIVER_GROWTH = 8
# Whatever was measured, a batch predicted to take at most this long may go out at once:
# a cost step after it (runs 10^4x costlier) costs ~20 s, what the ramp above already
# risks, while cheap runs skip the ~10 doubling rounds (one round trip and one journal
# write each: ~5 ms) that made a 10^4-point sweep on a running Client 8x slower than
# hand-batched Dask.
_RAMP_SECONDS = 0.002
# Tasks that stop at a time budget (BatchPlanner.bounded) need no ramp: the first task per
# worker takes up to this many runs and the budget below, and returns what it got done.
_PROBE_RUNS = 4096
# A bounded task's budget: this many times its predicted duration (at least
# min_task_seconds). Runs that turn out costlier end the task early, not hours later.
_BUDGET_FACTOR = 4.0


@dataclass(frozen=True)
class BatchingOptions:
    """Targets of automatic batching (the ``pypetx.batching`` config section).

    Attributes
    ----------
    target_task_seconds : float
        Aim for tasks that run about this long: long enough to hide Dask's per-task
        overhead, short enough for progress, load balance and little lost work on a crash.
    min_task_seconds : float
        Never split the remaining runs into tasks shorter than this, even for load
        balance: below it, scheduling overhead dominates.
    min_tasks_per_worker : int
        Keep at least this many tasks per worker for the remaining runs, so no worker sits
        idle at the end while another finishes one huge batch.
    max_batch : int
        Upper bound on runs per task (bounds the memory of one task's results).
    max_batch_bytes : int
        Upper bound on the measured result bytes of one task: the driver holds a few
        tasks' results at once (in flight, being journaled), so this bounds its memory
        when runs return large arrays.
    """

    target_task_seconds: float = 0.5
    min_task_seconds: float = 0.05
    min_tasks_per_worker: int = 4
    max_batch: int = 100_000
    max_batch_bytes: int = 64 * 2**20

    def __post_init__(self) -> None:
        if not self.target_task_seconds > 0:
            raise ValueError(
                f"target_task_seconds must be > 0, got {self.target_task_seconds!r}"
            )
        if self.min_task_seconds < 0:
            raise ValueError(
                f"min_task_seconds must be >= 0, got {self.min_task_seconds!r}"
            )
        if self.min_tasks_per_worker < 1:
            raise ValueError(
                f"min_tasks_per_worker must be >= 1, got {self.min_tasks_per_worker!r}"
            )
        if self.max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {self.max_batch!r}")
        if self.max_batch_bytes < 1:
            raise ValueError(f"max_batch_bytes must be >= 1, got {self.max_batch_bytes!r}")

    @classmethod
    def from_config(cls) -> BatchingOptions:
        """Read the options from ``dask.config`` (``pypetx.batching.*``)."""
        section = config.get("batching")
        return cls(
            target_task_seconds=float(section["target_task_seconds"]),
            min_task_seconds=float(section.get("min_task_seconds", 0.0)),
            min_tasks_per_worker=int(section["min_tasks_per_worker"]),
            max_batch=int(section["max_batch"]),
            max_batch_bytes=int(parse_bytes(section.get("max_batch_bytes", cls.max_batch_bytes))),
        )


def auto_batch_size(
    seconds_per_run: float,
    n_remaining: int,
    n_workers: int,
    options: BatchingOptions,
    driver_seconds: float = 0.0,
) -> int:
    """Number of runs for the next task, given the measured cost of one run.

    Parameters
    ----------
    seconds_per_run : float
        Measured task seconds per run (task duration / runs in it).
    n_remaining : int
        Runs not yet handed to a task.
    n_workers : int
        Tasks that can run at once.
    options : BatchingOptions
        The targets.
    driver_seconds : float
        Measured driver time per finished task (fetching and storing its results):
        tasks get at least ``4 * n_workers * driver_seconds`` of work, so the driver
        keeps up with the workers.

    Returns
    -------
    int
        Between 1 and ``min(n_remaining, options.max_batch)``. Runs of at least
        ``target_task_seconds`` each get a task of their own.
    """
    if n_remaining <= 0:
        return 0
    spr = max(float(seconds_per_run), 1e-12)
    fill_target = math.floor(options.target_task_seconds / spr)
    # Load balance wants many tasks; the overhead floor wants few. The floor wins: tiny
    # tasks cost more than the imbalance they avoid.
    balanced = math.ceil(
        n_remaining / (max(n_workers, 1) * options.min_tasks_per_worker)
    )
    floor = max(options.min_task_seconds,
                _DRIVER_SHARE * max(n_workers, 1) * max(driver_seconds, 0.0))
    worth_a_task = math.ceil(floor / spr)
    size = min(fill_target, max(balanced, worth_a_task), options.max_batch, n_remaining)
    return max(1, size)


class BatchPlanner:
    """Cut the sorted pending run indices into contiguous batches.

    Parameters
    ----------
    pending : array_like of int
        Run indices still to do (a resumed sweep has holes); sorted and de-duplicated here.
    n_workers : int
        Tasks that can run at once; may be updated later (adaptive clusters).
    batch_size : int or "auto"
        ``"auto"`` starts with one run per worker, doubles the size as results come back,
        and settles where a task takes about ``target_task_seconds`` (see
        :func:`auto_batch_size`). An int fixes the number of runs per task.
    options : BatchingOptions, optional
        Defaults to :meth:`BatchingOptions.from_config`.
    """

    def __init__(
        self,
        pending: np.ndarray,
        n_workers: int,
        batch_size: int | Literal["auto"] = "auto",
        options: BatchingOptions | None = None,
    ) -> None:
        if isinstance(batch_size, str):
            if batch_size != "auto":
                raise ValueError(
                    f"batch_size must be 'auto' or an int >= 1, got {batch_size!r}"
                )
        elif (
            isinstance(batch_size, bool)
            or int(batch_size) != batch_size
            or batch_size < 1
        ):
            raise ValueError(
                f"batch_size must be 'auto' or an int >= 1, got {batch_size!r}"
            )
        self.pending = as_pending(pending)  # cheap when already validated
        self.n_workers = max(int(n_workers), 1)
        self.batch_size = batch_size if batch_size == "auto" else int(batch_size)
        self.options = options if options is not None else BatchingOptions.from_config()
        self._pos = 0
        self._last_size = 0
        self._largest_measured = 0
        self._seconds = 0.0  # decayed sums of measured task seconds and of their runs
        self._runs = 0.0
        self._driver = 0.0  # decayed mean of the driver's seconds per finished task
        self._bytes_per_run = 0.0  # largest measured result bytes per run
        # Set by the runner while tasks run in the driver itself (nothing to balance
        # across workers, and each task is measured before the next starts): batch sizes
        # may then grow 8x per task instead of 2x, and need not leave tasks for others.
        self.in_driver = False
        # Set by the runner when its tasks stop at the budget of :meth:`budget` and
        # return the runs done (see pypetx.engine.task.run_batch): no ramp is needed.
        self.bounded = False
        # Set by the runner while the backend waits to judge where to run (local-first,
        # before its decision): the next task is kept within this many seconds.
        self.cap_seconds: float | None = None
        # Set by the runner from the store (Zarr shards): ``align(start, end)`` is where a
        # batch of the consecutive runs start..end-1 should end instead (a shard boundary,
        # so that a worker writes whole shards itself).
        self.align: Callable[[int, int], int] | None = None
        self._returned: list[np.ndarray] = []  # handed out, given back undone (sorted)

    @property
    def n_remaining(self) -> int:
        """Runs not yet handed out in a batch (or given back)."""
        return len(self.pending) - self._pos + sum(len(r) for r in self._returned)

    @property
    def exhausted(self) -> bool:
        """True when every pending run has been handed out (and none given back)."""
        return self._pos >= len(self.pending) and not self._returned

    def give_back(self, indices: np.ndarray) -> None:
        """Runs of a batch that a task did not do (it stopped at its budget): they are
        handed out again first, in batches of the sizes the planner picks then."""
        if len(indices):
            self._returned.append(np.asarray(indices, dtype=np.int64))
            self._returned.sort(key=lambda r: int(r[0]))

    def budget(self, n_runs: int) -> float | None:
        """Seconds a bounded task of ``n_runs`` runs may take before it stops (``None``
        when tasks are not bounded, or the size is fixed)."""
        if not self.bounded or self.batch_size != "auto":
            return None
        floor = self.options.min_task_seconds
        spr = self.seconds_per_run
        return floor if spr is None else max(floor, _BUDGET_FACTOR * n_runs * spr)

    @property
    def seconds_per_run(self) -> float | None:
        """Current estimate of task seconds per run, ``None`` before any measurement."""
        if self._runs <= 0:
            return None
        return self._seconds / self._runs

    def in_flight_limit(self, limit: int) -> int:
        """How many tasks may be in flight now, given the steady-state ``limit``.

        Before the first measurement only one task per worker goes out: runs of unknown
        cost could be long, and a deep queue of them would delay the first estimate.
        """
        if self.batch_size == "auto" and self.seconds_per_run is None:
            return min(limit, self.n_workers)
        return limit

    def next_size(self) -> int:
        """Size of the next batch (0 when exhausted)."""
        remaining = self.n_remaining
        if remaining <= 0:
            return 0
        if self.batch_size != "auto":
            return min(int(self.batch_size), remaining)
        spr = self.seconds_per_run
        if spr is None:
            if self.bounded:  # a probe: the budget stops it early if runs are costly
                return min(remaining, self.options.max_batch, _PROBE_RUNS,
                           math.ceil(remaining / self.n_workers))
            return 1
        options, growth, ahead = self.options, 2, _AHEAD
        if self.in_driver:
            options = replace(options, min_tasks_per_worker=1)
            growth = ahead = _DRIVER_GROWTH
        estimate = auto_batch_size(spr, remaining, self.n_workers, options, self._driver)
        if self._bytes_per_run > 0:
            estimate = min(estimate, int(self.options.max_batch_bytes // self._bytes_per_run))
        # Double per batch, and stay within _AHEAD x the largest task measured: the
        # estimate comes from smaller tasks, and runs further on may cost more (a cost
        # step would otherwise meet a queue of huge unmeasured batches already in flight).
        if self.cap_seconds is not None:
            estimate = min(estimate, math.ceil(self.cap_seconds / max(spr, 1e-12)))
        if self.bounded:
            return max(1, estimate)
        ramp = max(min(growth * self._last_size, ahead * self._largest_measured),
                   math.floor(_RAMP_SECONDS / max(spr, 1e-12)))
        return max(1, min(estimate, ramp))

    def next_batch(self) -> np.ndarray | None:
        """The next batch of run indices (int64, sorted), or ``None`` when exhausted."""
        size = self.next_size()
        if size == 0:
            return None
        if self._returned:
            batch, rest = self._returned[0][:size], self._returned[0][size:]
            if len(rest):
                self._returned[0] = rest
            else:
                self._returned.pop(0)
        else:
            size = min(size, len(self.pending) - self._pos)
            if self.align is not None and size > 1:
                start = int(self.pending[self._pos])
                if int(self.pending[self._pos + size - 1]) - start == size - 1:  # consecutive
                    end = int(self.align(start, start + size))
                    if start < end < start + size:
                        size = end - start
            batch = self.pending[self._pos : self._pos + size]
            self._pos += size
        self._last_size = len(batch)
        return batch

    def record(self, n_runs: int, seconds: float, driver_seconds: float | None = None,
               result_bytes: int | None = None, stopped: bool = False) -> None:
        """Tell the planner that a task of ``n_runs`` runs took ``seconds`` on its worker,
        and (optionally) that handling its result took the driver ``driver_seconds`` and
        that its results hold ``result_bytes``. ``stopped``: the task ran out of its
        budget (its runs cost more than predicted): its measurement replaces the history."""
        if stopped and n_runs > 0 and math.isfinite(seconds) and seconds > 0:
            self._seconds = self._runs = 0.0
        if driver_seconds is not None and math.isfinite(driver_seconds) and driver_seconds >= 0:
            self._driver = self._driver * _DECAY + driver_seconds * (1 - _DECAY)
        if result_bytes and n_runs > 0:
            self._bytes_per_run = max(self._bytes_per_run, result_bytes / n_runs)
        if n_runs <= 0 or not math.isfinite(seconds) or seconds < 0:
            return
        self._largest_measured = max(self._largest_measured, int(n_runs))
        self._seconds = self._seconds * _DECAY + float(seconds)
        self._runs = self._runs * _DECAY + float(n_runs)


def as_pending(pending: np.ndarray | RunRanges) -> np.ndarray | RunRanges:
    """Validate run indices and return them as a sorted, unique int64 array (ranges,
    :class:`~pypetx.core.runs.RunRanges`, are valid by construction and stay ranges)."""
    if isinstance(pending, RunRanges):
        return pending
    arr = np.asarray(pending)
    if arr.ndim != 1:
        raise ValueError(f"pending run indices must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"pending run indices must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    # The usual input (np.arange, or the complement of a done mask) is already strictly
    # increasing: checking that is ~20x cheaper than np.unique on 10**6 runs.
    if arr.size > 1 and not bool(np.all(arr[1:] > arr[:-1])):
        arr = np.unique(arr)
    if arr[0] < 0:
        raise ValueError(f"run indices must be >= 0, got {int(arr[0])}")
    return arr
