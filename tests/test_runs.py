"""RunRanges: a sweep's pending runs as ranges, answering what the batch planner asks."""

from __future__ import annotations

import numpy as np
import pytest

from pypetx.core.runs import RunRanges, pending_runs
from pypetx.engine.batching import BatchPlanner


@pytest.mark.parametrize("mask", [
    [1, 1, 1, 1], [0, 1, 1, 0, 0, 1, 1, 1, 0, 1], [1, 0, 0, 0, 1], [0, 0, 0], [1]])
def test_ranges_are_the_runs_of_the_mask(mask):
    mask = np.asarray(mask, bool)
    want = np.flatnonzero(mask)
    runs = RunRanges.from_mask(mask)
    assert len(runs) == len(want)
    np.testing.assert_array_equal(np.asarray(runs), want)
    np.testing.assert_array_equal(runs.mask(len(mask)), mask)
    assert RunRanges.from_indices(want).starts.tolist() == runs.starts.tolist()
    for pos in range(len(want)):
        assert runs[pos] == want[pos] and runs[-1 - pos] == want[-1 - pos]
    for lo in range(len(want) + 1):
        for hi in range(lo, len(want) + 2):
            np.testing.assert_array_equal(runs[lo:hi], want[lo:hi])
            assert runs[lo:hi].dtype == np.int64


def test_many_ranges_across_chunk_boundaries_round_trip():
    # more than 4096 ranges takes the edge/cumsum path of mask(); flips exactly on
    # from_mask's chunk boundaries must be neither lost nor counted twice
    rng = np.random.default_rng(7)
    n = (1 << 22) * 2 + 3
    mask = rng.random(n) < 0.5
    for at in (0, (1 << 22) - 1, 1 << 22, (1 << 23) - 1, 1 << 23, n - 1):
        mask[at] = not mask[at - 1] if at else True
    runs = RunRanges.from_mask(mask)
    assert runs.n_ranges > 4096
    np.testing.assert_array_equal(np.asarray(runs), np.flatnonzero(mask))
    np.testing.assert_array_equal(runs.mask(n), mask)
    np.testing.assert_array_equal(runs.mask(n - 10), mask[: n - 10])
    few = RunRanges.from_mask(mask[:5000])
    np.testing.assert_array_equal(few.mask(5000), mask[:5000])


def test_a_fresh_sweep_is_one_range_of_a_few_bytes():
    n = 10**8
    runs = pending_runs(np.ones(n, bool))
    assert isinstance(runs, RunRanges) and runs.n_ranges == 1 and runs.nbytes < 100
    assert len(runs) == n and runs[n - 1] == n - 1
    np.testing.assert_array_equal(runs[10**7 : 10**7 + 5], np.arange(10**7, 10**7 + 5))


def test_scattered_runs_stay_an_array():
    mask = np.zeros(100, bool)
    mask[::2] = True
    runs = pending_runs(mask)
    assert isinstance(runs, np.ndarray) and runs.dtype == np.int64
    np.testing.assert_array_equal(runs, np.arange(0, 100, 2))


def test_bad_ranges_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        RunRanges([0, 5], [6, 8])
    with pytest.raises(ValueError, match="after its start"):
        RunRanges([3], [3])
    with pytest.raises(IndexError, match="out of range"):
        RunRanges.span(0, 3)[3]


def test_planner_cuts_ranges_as_it_cuts_the_array():
    mask = np.ones(1000, bool)
    mask[[10, 11, 500, 999]] = False
    got = []
    for pending in (np.flatnonzero(mask), RunRanges.from_mask(mask)):
        planner = BatchPlanner(pending, n_workers=2, batch_size=64)
        batches = []
        while (b := planner.next_batch()) is not None:
            batches.append(b.tolist())
        got.append(batches)
    assert got[0] == got[1] and sum(map(len, got[1])) == 996
