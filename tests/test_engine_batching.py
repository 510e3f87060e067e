"""Automatic batch sizing: pure logic, driven with made-up task durations."""

from __future__ import annotations

import heapq

import dask
import numpy as np
import pytest

from pypetx.engine.batching import (
    BatchingOptions,
    BatchPlanner,
    as_pending,
    auto_batch_size,
)

OPTS = BatchingOptions(
    target_task_seconds=0.5,
    min_task_seconds=0.05,
    min_tasks_per_worker=4,
    max_batch=100_000,
)


def simulate(
    n_runs,
    n_workers,
    seconds_per_run,
    task_overhead=1e-4,
    options=OPTS,
    batch_size="auto",
    in_flight_per_worker=2,
):
    """Play a sweep on a fake clock: workers take tasks in order, a task of n runs takes
    ``task_overhead + sum(seconds_per_run(indices))``; the planner sees each result when
    it finishes, like the runner. Returns the batches handed out."""
    planner = BatchPlanner(np.arange(n_runs), n_workers, batch_size, options)
    free_at = [0.0] * n_workers
    running: list[tuple[float, int, int]] = []  # (finish time, seq, n runs)
    batches, seq, now = [], 0, 0.0
    limit = in_flight_per_worker * n_workers
    while not planner.exhausted or running:
        while not planner.exhausted and len(running) < planner.in_flight_limit(limit):
            batch = planner.next_batch()
            batches.append(batch)
            w = min(range(n_workers), key=free_at.__getitem__)
            begin = max(free_at[w], now)
            cost = task_overhead + float(np.sum(seconds_per_run(batch)))
            free_at[w] = begin + cost
            heapq.heappush(running, (free_at[w], seq, len(batch), cost))
            seq += 1
        now, _, n, cost = heapq.heappop(running)
        planner.record(n, cost)
    return batches


def test_expensive_runs_get_a_task_each():
    assert auto_batch_size(0.5, 1000, 2, OPTS) == 1
    assert auto_batch_size(10.0, 1000, 2, OPTS) == 1


def test_cheap_runs_fill_target_up_to_max_batch():
    # 0.1 us per run: a 0.5 s task would hold 5e6 runs; max_batch caps it.
    assert auto_batch_size(1e-7, 10**7, 2, OPTS) == 100_000
    # with few runs left, the whole remainder goes in one task
    assert auto_batch_size(1e-7, 5000, 2, OPTS) == 5000


def test_load_balance_keeps_tasks_per_worker():
    # 1 ms runs: the target allows 500 per task; 2000 runs over 2 workers x 4 tasks -> 250
    assert auto_batch_size(1e-3, 2000, 2, OPTS) == 250
    # ...but never tasks shorter than min_task_seconds (50 runs of 1 ms)
    assert auto_batch_size(1e-3, 100, 2, OPTS) == 50
    assert auto_batch_size(1e-3, 0, 2, OPTS) == 0


def test_medium_runs_fill_the_target():
    # 50 ms runs, plenty left: 10 runs make a 0.5 s task
    assert auto_batch_size(0.05, 10_000, 2, OPTS) == 10


def test_fixed_batches_are_contiguous_slices_of_pending_with_holes():
    pending = np.array([9, 2, 3, 4, 7, 8, 11, 12, 15])
    planner = BatchPlanner(pending, n_workers=3, batch_size=4, options=OPTS)
    got = []
    while (b := planner.next_batch()) is not None:
        assert b.dtype == np.int64
        got.append(b.tolist())
    assert got == [[2, 3, 4, 7], [8, 9, 11, 12], [15]]
    assert planner.exhausted and planner.n_remaining == 0


def test_batches_of_consecutive_runs_end_where_the_store_aligns_them():
    # a store with shards of 10 runs (Zarr): consecutive batches end on a multiple of 10
    pending = np.array([*range(0, 25), 40, 42, 43])
    planner = BatchPlanner(pending, n_workers=3, batch_size=12, options=OPTS)
    planner.align = lambda start, end: end if end % 10 == 0 or end - end % 10 <= start \
        else end - end % 10
    got = []
    while (b := planner.next_batch()) is not None:
        got.append(b.tolist())
    assert got == [list(range(0, 10)), list(range(10, 20)), [20, 21, 22, 23, 24, 40, 42, 43]]
    assert sum(got, []) == pending.tolist()  # with holes: not aligned, nothing lost


def test_auto_warms_up_with_one_run_per_worker_then_doubles():
    planner = BatchPlanner(np.arange(1000), n_workers=3, options=OPTS)
    assert planner.in_flight_limit(6) == 3  # nothing measured: one task per worker
    assert [len(planner.next_batch()) for _ in range(3)] == [1, 1, 1]
    planner.record(1, 1e-3)
    assert planner.in_flight_limit(6) == 6
    # doubling, but never more than 4x the largest task measured so far
    assert [len(planner.next_batch()) for _ in range(3)] == [2, 4, 4]
    planner.record(2, 2e-3)
    assert [len(planner.next_batch()) for _ in range(2)] == [8, 8]


def test_auto_cheap_runs_skip_the_doubling():
    # a run measured at 1 us: a batch predicted at <= 2 ms (2,000 runs) goes out at once,
    # instead of ~10 rounds of doubling (a round trip and a journal write each)
    planner = BatchPlanner(np.arange(10**6), n_workers=2, options=OPTS)
    assert [len(planner.next_batch()) for _ in range(2)] == [1, 1]
    planner.record(1, 1e-6)
    assert len(planner.next_batch()) == 2000
    # (the runner measures runs, not the task: its fixed cost is not in the estimate)
    batches = simulate(10**4, 2, lambda i: np.full(len(i), 1e-6), task_overhead=0.0)
    assert len(batches) <= 8, [len(b) for b in batches]


def test_auto_few_tasks_for_trivial_runs():
    batches = simulate(10**5, 2, lambda i: np.full(len(i), 1e-7))
    sizes = [len(b) for b in batches]
    assert np.array_equal(np.concatenate(batches), np.arange(10**5))
    assert len(batches) < 40, sizes


def test_auto_one_run_per_task_when_runs_reach_the_target():
    opts = BatchingOptions(target_task_seconds=0.05, min_task_seconds=0.005)
    batches = simulate(40, 2, lambda i: np.full(len(i), 0.05), options=opts)
    assert [len(b) for b in batches] == [1] * 40


def test_auto_batches_50ms_runs_to_the_default_target():
    sizes = [len(b) for b in simulate(400, 2, lambda i: np.full(len(i), 0.05))]
    assert max(sizes) <= 10  # never a task much longer than 0.5 s
    # 0.5 s / (50 ms + the task's fixed cost) -> 9 runs per task once warmed up, then
    # smaller tasks at the end so both workers finish together
    assert sum(n in (9, 10) for n in sizes) * 9 > 200, sizes
    assert sizes[-1] <= 2, sizes


def test_auto_follows_runs_that_get_costlier():
    # 1 us per run up to 2000, then 10 ms: once measured, tasks shrink to ~0.5 s
    batches = simulate(30_000, 2, lambda i: np.where(i < 2000, 1e-6, 1e-2))
    sizes = [len(b) for b in batches]
    # growth stays tied to what was measured: 4x the largest task, or 2 ms at the
    # measured cost (~2,000 runs here): a task after the step takes < 25 s, not hours
    assert max(sizes) <= 2500, sizes
    assert len(sizes) < 30_000 // 40, sizes
    assert max(sizes[-20:]) <= 50, sizes  # 0.5 s / 10 ms


def test_planner_validation():
    with pytest.raises(ValueError, match="batch_size"):
        BatchPlanner(np.arange(3), 1, batch_size=0, options=OPTS)
    with pytest.raises(ValueError, match="batch_size"):
        BatchPlanner(np.arange(3), 1, batch_size="big", options=OPTS)
    with pytest.raises(ValueError, match="1-D"):
        as_pending(np.zeros((2, 2), dtype=int))
    with pytest.raises(TypeError, match="integers"):
        as_pending(np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match=">= 0"):
        as_pending(np.array([-1, 2]))
    with pytest.raises(ValueError, match="target_task_seconds"):
        BatchingOptions(target_task_seconds=0)


def test_as_pending_sorts_and_dedups():
    assert as_pending([5, 1, 5, 3]).tolist() == [1, 3, 5]
    assert as_pending(np.array([], dtype=int)).dtype == np.int64


def test_options_come_from_dask_config():
    with dask.config.set(
        {"pypetx.batching.target_task_seconds": 2.0, "pypetx.batching.max_batch": 7}
    ):
        opts = BatchingOptions.from_config()
    assert opts.target_task_seconds == 2.0 and opts.max_batch == 7
    assert BatchingOptions.from_config().target_task_seconds == 0.5


def test_driver_time_per_task_sets_a_floor():
    # 1 us runs, 10^6 left, 2 workers: balance alone asks for 125,000-run tasks; a driver
    # that needs 30 ms per finished task needs >= 4 * 2 * 30 ms = 0.24 s of work per task.
    opts = BatchingOptions(max_batch=10**7)
    assert auto_batch_size(1e-6, 10**6, 2, opts) == 125_000
    assert auto_batch_size(1e-6, 10**6, 2, opts, driver_seconds=0.03) == 240_000
    # near the end, too: the floor wins over balance
    assert auto_batch_size(1e-6, 100_000, 2, opts, driver_seconds=0.03) == 100_000


def _largest_batch(planner, **record):
    largest = 0
    while (batch := planner.next_batch()) is not None:
        largest = max(largest, len(batch))
        planner.record(len(batch), 1e-6 * len(batch),
                       **{k: v * len(batch) if k == "result_bytes" else v
                          for k, v in record.items()})
    return largest


def test_planner_learns_driver_time_and_result_bytes():
    opts = BatchingOptions(max_batch=10**7, max_batch_bytes=8 * 2**20)
    runs = np.arange(2 * 10**6)
    quick_driver = _largest_batch(BatchPlanner(runs, 2, "auto", opts), driver_seconds=0.0)
    slow_driver = _largest_batch(BatchPlanner(runs, 2, "auto", opts), driver_seconds=0.03)
    assert slow_driver > quick_driver
    # each run returns 80 kB: a task's results stay under 8 MiB
    capped = _largest_batch(BatchPlanner(runs[:10_000], 2, "auto", opts), result_bytes=80_000)
    assert capped == (8 * 2**20) // 80_000


def test_max_batch_bytes_from_config():
    with dask.config.set({"pypetx.batching.max_batch_bytes": "1 MiB"}):
        assert BatchingOptions.from_config().max_batch_bytes == 2**20
    with pytest.raises(ValueError, match="max_batch_bytes"):
        BatchingOptions(max_batch_bytes=0)
