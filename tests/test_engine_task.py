"""The worker side of a sweep (pypetx.engine.task.run_batch), run in-process."""

from __future__ import annotations

import operator

import numpy as np
import pytest

from pypetx.engine.task import RunSpec, run_batch
from pypetx.explore import cartesian_product
from pypetx.parameters import Result
from pypetx.trajectory import Trajectory


@pytest.fixture
def traj() -> Trajectory:
    traj = Trajectory("t")
    traj.add_parameter("x", 0.0)
    traj.add_parameter("y", 0)
    traj.explore(cartesian_product({"x": [1.0, 2.0, 3.0], "y": [10, 20]}))
    return traj


def _run(traj, fn, indices=None, plain=False, **spec):
    indices = np.arange(len(traj)) if indices is None else np.asarray(indices)
    return run_batch(RunSpec(token="t", skeleton=traj, fn=fn, plain=plain, **spec), indices)


def _points(traj, indices):
    return [traj.exploration.point(i) for i in indices]


# -- sweep(): plain functions ---------------------------------------------------------------
def test_plain_keywords_in_any_order_and_constants(traj):
    def f(y, x, scale=1):  # explored names in the other order, a constant after them
        return scale * x - y

    batch = _run(traj, f, [1, 4, 5], plain=True, kwargs={"scale": 2})
    want = [2 * p["parameters.x"] - p["parameters.y"] for p in _points(traj, [1, 4, 5])]
    assert batch.results["f"].tolist() == want
    assert batch.returns is None  # the values travel once, as results
    assert batch.completed.all() and batch.duration.shape == (3,)


def test_plain_keyword_only_and_builtin_functions(traj):
    def kw_only(*, x, y):
        return x + y

    assert _run(traj, kw_only, plain=True).results["kw_only"].tolist() == \
        [p["parameters.x"] + p["parameters.y"] for p in _points(traj, range(6))]
    # no usable signature: called with keywords (operator.mul takes no keywords: fails)
    batch = _run(traj, operator.mul, [0, 1], plain=True)
    assert batch.failed.all() and "TypeError" in batch.error[0]


def test_plain_failures_keep_the_other_runs(traj):
    def f(x, y):
        if y == 20:
            raise ValueError(f"bad y at x={x}")
        return x * y

    batch = _run(traj, f, plain=True)
    assert batch.failed.tolist() == [False, True] * 3
    assert batch.error[1] == "ValueError: bad y at x=1.0" and "Traceback" in batch.traceback[3]
    assert batch.results["f"][~batch.failed].tolist() == [10.0, 20.0, 30.0]
    assert batch.present["f"].tolist() == [True, False] * 3


def test_plain_none_and_named_returns(traj):
    def f(x, y):
        return None if y == 10 else {"a": x, "b": [y] * int(x)}

    batch = _run(traj, f, plain=True)
    assert batch.present["a"].tolist() == [False, True] * 3
    assert batch.results["a"][1::2].tolist() == [1.0, 2.0, 3.0]
    assert batch.results["b"][5] == [20, 20, 20]  # ragged: kept per run


def test_expensive_plain_runs_are_timed_one_by_one(traj):
    import time

    def slow(x, y):
        time.sleep(0.002 * x)
        return x

    batch = _run(traj, slow, plain=True)
    assert batch.duration[0] < batch.duration[-1]  # per-run times, not a batch mean
    cheap = _run(traj, lambda x, y: x, plain=True)
    assert len(set(cheap.duration.tolist())) == 1  # cheap: the batch's mean for every run


# -- env.run(fn): pypet-style functions --------------------------------------------------------
def test_traj_runs_see_their_point_and_extra_arguments(traj):
    def f(view, offset, factor=1):
        view.f_add_result("z", factor * (view.x * view.y) + offset)

    batch = _run(traj, f, [5, 0, 3], args=(0.5,), kwargs={"factor": 2})
    want = [2 * p["parameters.x"] * p["parameters.y"] + 0.5 for p in _points(traj, [5, 0, 3])]
    assert batch.results["z"].tolist() == want


def test_a_run_reads_back_its_own_results(traj):
    def f(view):
        view.f_add_result("stats.mean", view.x)
        view.f_add_result("stats.extra", view.y, comment="general path")
        # both the fast and the general path are readable inside the run
        view.f_add_result("double", 2 * view.results.stats.mean + view.res.stats.extra)
        assert view.res.runs.crun.stats.mean == view.x  # run wildcards name this run

    batch = _run(traj, f)
    assert batch.completed.all(), batch.error
    assert batch.results["double"].tolist() == \
        [2 * p["parameters.x"] + p["parameters.y"] for p in _points(traj, range(6))]


def test_a_run_cannot_read_another_runs_result(traj):
    def f(view):
        if view.v_idx == 1:
            _ = view.results.z  # run 0 added z, run 1 did not (yet)
        view.f_add_result("z", view.x)

    batch = _run(traj, f, [0, 1])
    assert batch.failed.tolist() == [False, True]


class Doubled(Result):
    """A result class that records itself (as pypet's Brian2MonitorResult does)."""

    @staticmethod
    def record_in_run(view, name, value, comment=""):
        view.f_add_result(name + ".twice", 2 * value)


def test_standard_result_set_inside_a_run(traj):
    def f(view):
        view.f_add_result("plain", view.x)  # first run: before the class is set
        view.v_standard_result = Doubled  # as pypet: from now on for names given alone
        view.f_add_result("d", view.x)

    batch = _run(traj, f)
    assert batch.completed.all(), batch.error
    xs = [p["parameters.x"] for p in _points(traj, range(6))]
    assert batch.results["d.twice"].tolist() == [2 * x for x in xs]
    assert batch.present["plain"].tolist() == [True] + [False] * 5
    assert batch.results["plain.twice"][1:].tolist() == [2 * x for x in xs[1:]]


def test_a_batch_lets_go_of_its_results_without_the_cyclic_gc(traj):
    """The run view and its group views form a cycle; the batch's results must not hang
    on it (every batch's arrays stayed alive until a full GC: 1 GB for 800 MB of results)."""
    import gc
    import weakref

    refs = []

    def f(view):
        a = np.ones(1000)
        refs.append(weakref.ref(a))
        view.f_add_result("a", a)
        view.results.a  # noqa: B018 - the read-back path holds results too

    gc.disable()
    try:
        batch = _run(traj, f)
        assert batch.results["a"].shape == (6, 1000)  # stacked copies
        del batch
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


# -- a time budget: the batch returns the runs done, a prefix --------------------------------
def _big(n: int) -> Trajectory:
    traj = Trajectory("big")
    traj.add_parameter("x", 0)
    traj.explore({"x": list(range(n))})
    return traj


def _slow_from(start: int, seconds: float):
    import time

    def fn(x):
        if x >= start:
            time.sleep(seconds)
        return x
    return fn


@pytest.mark.parametrize("plain", [True, False])
def test_a_budget_stops_a_batch_after_the_run_that_ends_past_it(plain):
    traj = _big(10_000)
    slow = _slow_from(3, 0.02)  # runs 0-2 cheap, then 20 ms each
    fn = slow if plain else (lambda t: t.f_add_result("x2", slow(t.x)))
    spec = RunSpec(token="b", skeleton=traj, fn=fn, plain=plain)
    batch = run_batch(spec, np.arange(100, 200), budget=0.05)  # all slow: ~3 runs
    assert 2 <= len(batch) <= 5, len(batch)
    assert batch.indices.tolist() == list(range(100, 100 + len(batch)))
    assert len(batch.duration) == len(batch.completed) == len(batch.error) == len(batch)
    name = "fn" if plain else "x2"
    assert np.asarray(batch.results[name]).tolist() == batch.indices.tolist()
    assert batch.completed.all()


@pytest.mark.parametrize("plain", [True, False])
def test_a_budget_lets_cheap_runs_finish_and_checks_the_clock_per_stride(plain):
    traj = _big(10_000)
    fn = (lambda x: x) if plain else (lambda t: t.f_add_result("x2", t.x))
    spec = RunSpec(token="c", skeleton=traj, fn=fn, plain=plain)
    assert len(run_batch(spec, np.arange(10_000), budget=10.0)) == 10_000
    # a budget already spent: cheap runs stop at the first look at the clock
    stopped = run_batch(spec, np.arange(10_000), budget=0.0)
    assert 1 <= len(stopped) < 10_000
    assert len(stopped) % 2048 == 0 or len(stopped) == 1
    assert stopped.indices.tolist() == list(range(len(stopped)))


def test_a_budget_keeps_the_failures_of_the_runs_done():
    traj = _big(100)

    def fn(x):
        import time
        time.sleep(0.01)
        if x % 2:
            raise ValueError(f"odd {x}")
        return x

    batch = run_batch(RunSpec(token="f", skeleton=traj, fn=fn, plain=True),
                      np.arange(100), budget=0.035)
    assert 3 <= len(batch) < 100
    assert batch.failed.tolist() == [k % 2 == 1 for k in range(len(batch))]
    assert all(("odd" in e) == f for e, f in zip(batch.error, batch.failed))
