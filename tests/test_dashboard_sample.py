"""The sweep map of a sweep with more points than it keeps (pypetx.engine.dashboard.sample):
a stratified sample of points, exact counts, packed masks (issue #21: the driver's memory
must not grow with the points)."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest

from pypetx.core.batch import BatchResult
from pypetx.core.explore import Exploration
from pypetx.engine.dashboard.messages import VERSION, apply, finished_payload, start_payload
from pypetx.engine.dashboard.sample import MAX_TRACKED, Bits, stratified
from pypetx.engine.dashboard.state import DONE, FAILED, PENDING, SweepDefinition
from pypetx.engine.dashboard.views import grid_map


def _definition(nx: int, ny: int) -> SweepDefinition:
    expl = Exploration.from_grid([["parameters.x"], ["parameters.y"]],
                                 {"parameters.x": np.arange(nx), "parameters.y": np.arange(ny)})
    return SweepDefinition.from_exploration(expl, sweep="s", name="t", file="f.h5")


def _batch(first: int, stop: int, failed: np.ndarray) -> BatchResult:
    idx = np.arange(first, stop, dtype=np.int64)
    bad = np.isin(idx, failed)
    return BatchResult(indices=idx, results={"z": idx * 2.0}, present={"z": ~bad},
                       completed=~bad, failed=bad, duration=np.full(len(idx), 0.5),
                       worker="w1", error=["ValueError: bad" if b else "" for b in bad],
                       traceback=[""] * len(idx))


def test_bits_pack_count_and_look_up_runs():
    rng = np.random.default_rng(1)
    for n in (1, 7, 8, 13, 1000):
        a, b = rng.random(n) < 0.3, rng.random(n) < 0.6
        A, B = Bits.of(a, n), Bits.of(b, n)
        assert A.count() == a.sum()
        assert (~A).count() == (~a).sum()
        assert (A & ~B).count() == (a & ~b).sum()
        runs = rng.integers(0, n, 50)
        assert (A.at(runs) == a[runs]).all() and (A.at() == a).all()
        assert Bits.of(None, n, default=True).count() == n
    with pytest.raises(ValueError, match="mask of 5 runs"):
        Bits.of(np.zeros(4, bool), 5)


def test_stratified_sample_is_sorted_distinct_and_spread():
    s = stratified(10**6 + 3, 1000)
    assert len(s) == 1000 and (np.diff(s) > 0).all() and s[0] >= 0 and s[-1] <= 10**6 + 2
    assert (s // 1000 == np.arange(1000)).mean() > 0.99  # one per span of ~1000 runs


def test_a_sweep_beyond_the_map_keeps_a_sample_and_exact_counts():
    nx, ny = 3000, 1000
    n = nx * ny
    d = _definition(nx, ny)
    done, failed = np.zeros(n, bool), np.zeros(n, bool)
    done[:500_000] = True                 # stored before (a resume)
    failed[500_000:500_010] = True        # failed before, not re-run
    failed[2_990_000:2_990_005] = True    # failed before, re-run: they succeed below
    todo = ~done & ~failed
    todo[2_990_000:2_990_005] = True
    sweeps: dict = {}
    apply(sweeps, {"v": VERSION, "sweep": "s",
                   "start": start_payload(d, done, failed, todo, time.time())})
    state = sweeps["s"]
    assert state.n_runs == n and len(state.state) == MAX_TRACKED < n
    assert len(state.duration) == len(state.worker) == MAX_TRACKED

    bad = np.arange(1_000_000, 1_100_000, 1000)  # 100 failures this sweep
    for first in range(500_010, 2_000_010, 100_000):
        apply(sweeps, {"v": VERSION, "sweep": "s",
                       "finished": finished_payload([_batch(first, first + 100_000, bad)])})
    apply(sweeps, {"v": VERSION, "sweep": "s",
                   "finished": finished_payload([_batch(2_990_000, 2_990_005, bad)])})

    truth = np.full(n, PENDING, np.uint8)
    truth[failed] = FAILED
    truth[done] = DONE
    truth[500_010:2_000_010] = DONE
    truth[bad] = FAILED
    truth[2_990_000:2_990_005] = DONE
    expected = np.bincount(truth, minlength=4)
    got = state.counts()
    assert got == {"pending": expected[PENDING], "running": 0, "done": expected[DONE],
                   "failed": expected[FAILED]}
    assert state.n_finished == 1_500_000 + 5
    # each point is the state of its own run
    assert (state.state == truth[state.sample]).all()
    in_sample = np.isin(bad, state.sample)
    assert len(state.errors) == in_sample.sum()
    assert state.summary()["n_runs"] == n and state.summary()["n_points"] == MAX_TRACKED

    view = grid_map(state, state.state, state.worker, 0, 1)
    cols = view.columns
    assert cols["n_points"].sum() == MAX_TRACKED
    code = dict(zip(zip(cols["x"].astype(int).tolist(), cols["y"].astype(int).tolist()),
                    cols["code"].tolist()))
    # 100 x 100 cells, 30 values of x each: x < 480 was done before, x in 510..989 done now,
    # x >= 2010 (but the re-run cell) pending
    assert {code[(i, j)] for i in range(16) for j in range(100)} == {DONE}
    assert {code[(i, j)] for i in range(17, 33) for j in range(100)} == {DONE}
    assert {code[(i, j)] for i in range(68, 99) for j in range(100)} == {PENDING}


def test_the_map_of_10_to_the_8_points_costs_a_bounded_few_tens_of_megabytes():
    n_side = 10_000
    n = n_side**2
    d = _definition(n_side, n_side)
    tracemalloc.start()
    try:
        msg = start_payload(d, Bits.of(None, n), Bits.of(None, n),
                            Bits.of(None, n, default=True), time.time())
        sweeps: dict = {}
        apply(sweeps, {"v": VERSION, "sweep": "s", "start": msg})
        del msg
        apply(sweeps, {"v": VERSION, "sweep": "s", "finished": finished_payload(
            [_batch(0, 10**6, np.zeros(0, np.int64))])})
        state = sweeps["s"]
        grid_map(state, state.state, state.worker, 0, 1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert state.counts()["done"] == 10**6 and state.counts()["pending"] == n - 10**6
    # one byte per run would be 100 MB, 14 per run (every run kept) 1.4 GB
    assert peak < 200e6, f"{peak / 1e6:.0f} MB"
