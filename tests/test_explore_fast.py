"""The vectorised paths of explorations give what the generic (per-value) paths give,
and the compact stored exploration describes the same points."""

from __future__ import annotations

import copy
import itertools
import json
import math
import pickle

import cloudpickle
import h5py
import numpy as np
import pytest

import pypetx.explore._grids as grids_mod
import pypetx.explore._values as values_mod
import pypetx.explore.exploration as exploration_mod
from pypetx.errors import ExplorationError, StorageError
from pypetx.explore import Exploration, Product, cartesian_product, find_unique_points
from pypetx.store import open_store
from pypetx.store.layout import (
    INLINE_VALUES,
    decode_exploration,
    describe_exploration,
    exploration_columns,
    exploration_from_json,
)
from pypetx.store.load import stored_exploration
from pypetx.store.testing import make_batch
from pypetx.trajectory import Trajectory


@pytest.fixture
def generic(monkeypatch):
    """Switch the numeric fast paths off: everything goes through ``_value_key``."""
    def use_generic():
        # Patch where the name is looked up (the package's re-export is not used).
        for module in (values_mod, grids_mod):
            monkeypatch.setattr(module, "_numeric_array", lambda values: None)
    return use_generic


def summary(e: Exploration):
    return (e.names, e.axes, e.shape, e.positions.tolist(), e.is_c_order, e.duplicates(),
            [e.axis_values(k) for k in range(len(e.axes))] if e.axes else None)


def random_grid(rng, n_axes):
    axes, values = [], {}
    for k in range(n_axes):
        size = int(rng.integers(1, 5))
        names = [f"p{k}_{j}" for j in range(int(rng.integers(1, 3)))]
        for name in names:
            kind = rng.integers(3)
            if kind == 0:
                vals = rng.permutation(10)[:size].astype(float).tolist()
            elif kind == 1:
                vals = rng.permutation(10)[:size].tolist()
            else:
                vals = list(np.float64(v) for v in rng.permutation(10)[:size] / 4)
            values[name] = vals
        axes.append(tuple(names))
    return cartesian_product(values, axes)


@pytest.mark.parametrize("seed", range(40))
def test_grid_fast_equals_generic(seed, generic):
    rng = np.random.default_rng(seed)
    p = random_grid(rng, int(rng.integers(1, 4)))
    n = len(next(iter(p.values())))
    order = rng.permutation(n) if seed % 2 else np.arange(n)
    cols = {k: [v[i] for i in order] for k, v in p.items()}
    fast = Exploration(cols, p.axes)
    fast_runs = Exploration(cols)
    dup = {k: v + v[:2] for k, v in cols.items()}
    fast_dups = Exploration(dup).duplicates()
    with pytest.raises(ExplorationError) as fast_err:
        Exploration(dup, p.axes)
    generic()
    slow = Exploration(cols, p.axes)
    assert summary(fast) == summary(slow)
    assert fast_runs.duplicates() == Exploration(cols).duplicates() == []
    assert fast_dups == Exploration(dup).duplicates()
    with pytest.raises(ExplorationError) as slow_err:
        Exploration(dup, p.axes)
    assert str(fast_err.value) == str(slow_err.value)


def test_grid_with_nan_repeats_and_mixed_numbers(generic):
    cases = [
        ({"a": [float("nan"), float("nan"), 1.0, 1.0], "b": [1, 2, 1, 2]}, (("a",), ("b",))),
        ({"a": [1, 1, 2, 2], "b": [1.0, 2, 1.0, 2]}, (("a",), ("b",))),
        ({"a": [True, True, False, False], "b": [0, 1, 0, 1]}, (("a",), ("b",))),
        ({"a": [2**60, 2**60, 1, 1], "b": [0.5, 1.5, 0.5, 1.5]}, (("a",), ("b",))),
        ({"a": [1, 1, 2, 2], "b": [1, 1, 2, 2]}, (("a", "b"),)),
    ]
    results = []
    for cols, axes in cases:
        try:
            results.append(summary(Exploration(cols, axes)))
        except ExplorationError as err:
            results.append(str(err))
    generic()
    for (cols, axes), fast in zip(cases, results):
        try:
            slow = summary(Exploration(cols, axes))
        except ExplorationError as err:
            slow = str(err)
        assert fast == slow


def test_find_unique_points_fast_equals_generic(generic):
    rng = np.random.default_rng(1)
    cols = {"x": rng.integers(0, 4, 200).tolist(), "y": (rng.integers(0, 3, 200) / 2).tolist(),
            "z": [float("nan") if v else 1.0 for v in rng.integers(0, 2, 200)]}
    fast = find_unique_points(cols)
    fast_dups = Exploration(cols).duplicates()
    generic()
    slow = find_unique_points(cols)
    assert [(str(p), r) for p, r in fast] == [(str(p), r) for p, r in slow]
    assert fast_dups == Exploration(cols).duplicates()


def test_object_columns_fall_back():
    p = cartesian_product({"s": ["a", "b"], "t": [(1, 2), (3,)], "u": [np.arange(2), None]})
    e = Exploration(p, p.axes)
    assert e.shape == (2, 2, 2) and e.is_c_order and e.duplicates() == []
    runs = Exploration({"s": ["a", "b", "a"], "t": [(1,), (2,), (1,)]})
    assert runs.duplicates() == [[0, 2]]
    assert find_unique_points({"x": ["a", 1, "a"]}) == [(("a",), [0, 2]), ((1,), [1])]


def test_cartesian_product_order_and_identity():
    obj = object()
    values = {"a": [1, obj], "b": ["x", "y", "z"], "c": [np.float64(0.5)]}
    p = cartesian_product(values)
    expected = list(itertools.product(*values.values()))
    assert list(zip(*p.values())) == expected
    assert p["a"][3] is obj
    z = cartesian_product({"a": [1, 2], "b": [3, 4], "c": [5, 6]}, (("a", "b"), "c"))
    assert z == {"a": [1, 1, 2, 2], "b": [3, 3, 4, 4], "c": [5, 6, 5, 6]}


def test_compact_dict_roundtrip_after_expand():
    e = Exploration(cartesian_product({"x": [1.0, 2.0, 3.0], "y": [6.0, 7.0]}),
                    (("x",), ("y",)))
    grown = e.expand(cartesian_product({"x": [1.0, 2.0, 3.0], "y": [8.0]}))
    assert grown.is_grid and not grown.is_c_order
    data = json.loads(json.dumps(grown.to_dict(compact=True)))
    assert data["positions"] is not None and "columns" not in data
    back = Exploration.from_dict(data)
    assert back.columns == grown.columns and back.positions.tolist() == grown.positions.tolist()
    c_order = json.loads(json.dumps(e.to_dict(compact=True)))
    assert c_order["positions"] is None
    assert Exploration.from_dict(c_order).columns == e.columns


def test_from_grid_names_order_and_cells():
    g = Exploration.from_grid([["b"], ["a"]], {"a": [1, 2], "b": ["u", "v"]},
                              cells=[3, 2, 1, 0], names=["a", "b"])
    assert g.names == ("a", "b") and g.column("a") == (2, 1, 2, 1)
    assert g.column("b") == ("v", "v", "u", "u")


# ----------------------------------------------------------------------- type checks


def test_type_checks_once_per_type_same_message():
    from pypetx.kinds import check_compatible

    traj = Trajectory("t")
    traj.add_parameter("x", 1.0)
    traj.add_parameter("n", 1)
    traj.explore(cartesian_product({"x": [1, 2.5, np.float32(3), 4.0],
                                    "n": [1, np.int64(2)] * 1}))
    assert len(traj) == 8
    bad = [1.0, 2.0, "three", 4.0]
    with pytest.raises(TypeError) as err:
        t = Trajectory("u")
        t.add_parameter("x", 1.0)
        t.explore({"x": bad})
    with pytest.raises(TypeError) as direct:
        check_compatible("parameters.x", 1.0, "three")
    assert str(err.value) == str(direct.value)
    t = Trajectory("v")
    t.add_parameter("n", 1)
    with pytest.raises(TypeError) as err:
        t.explore({"n": [1, 2, 2.5, "x"]})
    with pytest.raises(TypeError) as direct:
        check_compatible("parameters.n", 1, 2.5)
    assert str(err.value) == str(direct.value)


def test_type_checks_of_arrays_and_lists():
    t = Trajectory("t")
    t.add_parameter("w", np.zeros(2))
    t.add_parameter("l", [1, 2])
    with pytest.raises(TypeError, match="dtype"):
        t.explore({"w": [np.zeros(3), np.zeros(2, dtype="U1")], "l": [[1], [2]]})
    t2 = Trajectory("t2")
    t2.add_parameter("l", [1, 2])
    with pytest.raises(TypeError):
        t2.explore({"l": [[1], [2, object()]]})


# ----------------------------------------------------------------------- stored form


def expanded_grid(n):
    p = cartesian_product({"parameters.x": np.arange(n, dtype=float).tolist(),
                           "parameters.y": [0.5, 1.5]})
    e = Exploration(p, p.axes)
    return e.expand(cartesian_product({"parameters.x": np.arange(n, dtype=float).tolist(),
                                       "parameters.y": [2.5]}))


@pytest.mark.parametrize("make", [
    lambda: expanded_grid(5),
    lambda: expanded_grid(INLINE_VALUES + 10),
    lambda: Exploration({"parameters.x": np.random.default_rng(0).random(3000).tolist(),
                         "parameters.s": ["a", "b", "c"] * 1000}),
    lambda: Exploration({"parameters.x": [(1, 2), np.arange(2)]}),
    lambda: Exploration({"parameters.x": [object(), object()]}),
])
def test_description_gives_the_runs(make):
    e = make()
    desc, arrays = describe_exploration(e)
    text = json.dumps(desc)
    assert len(text) < 20_000
    desc = json.loads(text)
    cols = exploration_columns(desc, arrays)
    v1 = decode_exploration(desc, arrays)
    if desc["repr"]:
        assert v1["columns"] == {n: [repr(v) for v in e.column(n)] for n in e.names}
        return
    expected = e.to_dict()["columns"]
    for name in e.names:
        got = cols[name].tolist() if isinstance(cols[name], np.ndarray) else cols[name]
        assert got == expected[name] == v1["columns"][name]
    back = exploration_from_json(desc, arrays)
    assert back.axes == e.axes and back.positions.tolist() == e.positions.tolist()


def _batch(indices):
    return make_batch(list(indices), {"z": np.asarray(indices, dtype=float)})


def test_store_compact_attribute_resume_and_expand(tmp_path):
    path = tmp_path / "r.h5"
    rng = np.random.default_rng(0)
    xs = rng.random(5000).tolist()
    e = Exploration({"parameters.x": xs})
    with open_store(path, "t") as st:
        st.open(e, [], {"name": "t"}, resume=False)
        st.write_batch(_batch(range(5000)))
        st.finalize()
    with h5py.File(path) as f:
        attr = f["t"].attrs["pypetx_exploration"]
    assert len(attr) < 2000  # the values live in the coordinate, not the attribute
    assert stored_exploration(path, "t")["columns"]["parameters.x"] == xs
    grown = e.expand({"parameters.x": [0.5, 0.25]})
    with open_store(path, "t") as st:
        st.open(grown, [], {"name": "t"}, resume=True)  # an expansion: accepted
        assert st.done().sum() == 5000
        st.write_batch(_batch([5000, 5001]))
        st.finalize()
    assert stored_exploration(path, "t")["columns"]["parameters.x"] == xs + [0.5, 0.25]
    other = Exploration({"parameters.x": xs[:100] + [9.0] + xs[101:] + [0.5, 0.25]})
    with open_store(path, "t") as st, pytest.raises(StorageError, match="differs at run 100"):
        st.open(other, [], {"name": "t"}, resume=True)


def test_journal_only_resume_compares_arrays(tmp_path):
    path = tmp_path / "r.h5"
    xs = np.arange(4000, dtype=float).tolist()
    e = Exploration({"parameters.x": xs})
    st = open_store(path, "t")
    st.open(e, [], {"name": "t"}, resume=False)
    st.write_batch(_batch(range(10)))
    st.close()  # the driver stopped before finalize: only the journal knows the points
    assert list(st.journal_dir.glob("exploration-*.npy"))
    with open_store(path, "t") as st:
        st.open(e.expand({"parameters.x": [-1.0]}), [], {"name": "t"}, resume=True)
        assert st.done().sum() == 10
    with open_store(path, "t") as st, pytest.raises(StorageError, match="differs at run 3"):
        st.open(Exploration({"parameters.x": xs[:3] + [7.5] + xs[4:] + [-1.0]}), [],
                {"name": "t"}, resume=True)


def test_reads_version_1_description(tmp_path):
    """Files written before the compact description hold every run's values as JSON."""
    path = tmp_path / "r.h5"
    p = cartesian_product({"parameters.x": [1.0, 2.0], "parameters.y": [5, 6, 7]})
    e = Exploration(p, p.axes)
    with open_store(path, "t") as st:
        st.open(e, [], {"name": "t"}, resume=False)
        st.write_batch(_batch(range(3)))
        st.finalize()
    old = dict(e.to_dict(), repr=False)
    with h5py.File(path, "r+") as f:
        f["t"].attrs["pypetx_exploration"] = json.dumps(old)
    assert stored_exploration(path, "t") == old
    with open_store(path, "t") as st:
        st.open(e, [], {"name": "t"}, resume=True)
        assert st.done().tolist() == [True] * 3 + [False] * 3
        st.write_batch(_batch(range(3, 6)))
        ds = st.finalize()
        assert bool(ds.completed.all())
    assert stored_exploration(path, "t")["columns"] == old["columns"]
    assert math.prod(e.shape) == 6


# ----------------------------------------------------------------------- lazy grids


class _Thing:
    """An object without value equality (only identity)."""


def grid_cases():
    """Products covering zipped axes, non-numeric values and numpy scalars."""
    thing = _Thing()
    return [
        cartesian_product({"p.x": [1.5, 2.5, 0.5], "p.y": [6, 7]}),
        cartesian_product({"p.a": [1, 2], "p.b": ["u", "v"], "p.c": [5.0, 6.0, 7.0]},
                          (("p.a", "p.b"), "p.c")),
        cartesian_product({"p.w": [np.zeros(2), np.ones(3)], "p.s": ["a", "b", "c"],
                           "p.t": [(1, 2), None, thing]}),
        cartesian_product({"p.f": [np.float64(0.5), np.float32(1.5)], "p.i": [np.int64(3)],
                           "p.n": [float("nan"), 1.0]}),
    ]


def same_exploration(a: Exploration, b: Exploration) -> None:
    """``a`` and ``b`` explore the same runs in the same layout (values by identity)."""
    assert (a.names, a.axes, a.shape, a.n_runs, a.is_c_order) == \
        (b.names, b.axes, b.shape, b.n_runs, b.is_c_order)
    assert a.positions.tolist() == b.positions.tolist()
    assert a.cells().tolist() == b.cells().tolist()
    for name in a.names:
        assert all(x is y for x, y in zip(a.column(name), b.column(name), strict=True))
    if a.axes:
        for k in range(len(a.axes)):
            assert a.axis_values(k).keys() == b.axis_values(k).keys()
            for name, values in a.axis_values(k).items():
                assert all(x is y for x, y in zip(values, b.axis_values(k)[name], strict=True))
    for i in range(a.n_runs):
        assert a.grid_index(i) == b.grid_index(i)
        assert all(a.point(i)[n] is b.point(i)[n] for n in a.names)


@pytest.fixture
def no_per_run_columns(monkeypatch):
    """Make building a per-run column of a grid an error."""
    def forbid():
        def refuse(*args, **kwargs):
            raise AssertionError("a per-run column was built")
        monkeypatch.setattr(exploration_mod, "_repeat_tile", refuse)
    return forbid


@pytest.mark.parametrize("case", range(4))
def test_from_grid_equals_the_columns(case):
    p = grid_cases()[case]
    lazy = Exploration.from_grid(p.axes, p.axis_values)
    eager = Exploration(p, p.axes)
    same_exploration(lazy, eager)
    assert lazy.columns.keys() == eager.columns.keys()
    assert lazy.duplicates() == eager.duplicates() == []
    if case != 2:  # case 2 holds an object without a JSON form
        assert lazy.to_dict() == eager.to_dict()
        assert lazy.to_dict(compact=True) == eager.to_dict(compact=True)


@pytest.mark.parametrize("case", range(4))
def test_grid_needs_no_per_run_column(case, no_per_run_columns):
    p = grid_cases()[case]
    no_per_run_columns()
    e = Exploration.from_grid(p.axes, p.axis_values)
    runs = np.arange(e.n_runs)
    for name in e.names:
        e.values_at(name, runs)
    [e.point(i) for i in range(e.n_runs)]
    [e.grid_index(i) for i in range(e.n_runs)]
    assert e.positions.shape == (e.n_runs, len(e.axes))
    again = pickle.loads(pickle.dumps(e))
    assert again.shape == e.shape and again.is_c_order
    if case != 2:
        e.to_dict(compact=True)
    new = {**p.axis_values, **{name: [f"new-{name}"] for name in p.axes[0]}}
    grown = e.expand(Exploration.from_grid(p.axes, new))
    assert grown.is_grid and grown.n_runs == e.n_runs + e.n_runs // e.shape[0]


def test_values_at_equals_column():
    rng = np.random.default_rng(7)
    explorations = []
    for p in grid_cases():
        e = Exploration.from_grid(p.axes, p.axis_values)
        explorations.append(e)
        # expanded along the last axis: a grid not in C order
        last = p.axes[-1]
        new = {name: p.axis_values[name] for name in p}
        new.update({name: [f"extra-{name}"] for name in last})
        explorations.append(e.expand(Exploration.from_grid(p.axes, new)))
        # expanded by a point off the grid: a run layout
        explorations.append(e.expand({name: [p[name][0]] for name in p}))
    assert any(e.is_grid and not e.is_c_order for e in explorations)
    assert any(not e.is_grid for e in explorations)
    for e in explorations:
        n = e.n_runs
        holes = np.sort(rng.choice(n, size=max(1, n // 3), replace=False))  # a resume
        for indices in (np.arange(n), holes, holes[::-1], rng.integers(-n, n, 50),
                        np.array([n - 1, 0, n - 1]), np.array([], dtype=np.int64),
                        np.arange(n, dtype=np.uint32)):
            for name in e.names:
                got = e.values_at(name, indices)
                want = [e.column(name)[i] for i in indices.tolist()]
                assert type(got) is list and len(got) == len(want)
                assert all(g is w for g, w in zip(got, want))


def test_values_at_keeps_types():
    p = cartesian_product({"x": [1.0, 2.0], "f": [np.float32(0.5), np.float64(1.5)],
                           "i": [1, np.int64(2)], "w": [np.arange(2), [1, 2]]})
    e = Exploration.from_grid(p.axes, p.axis_values)
    for name in e.names:
        got = e.values_at(name, np.arange(e.n_runs))
        assert [type(v) for v in got] == [type(v) for v in p[name]]


def test_values_at_errors():
    e = Exploration.from_grid([["x"], ["y"]], {"x": [1, 2], "y": [3, 4, 5]})
    runs = Exploration({"x": [1, 2]})
    for exp in (e, runs):
        with pytest.raises(KeyError, match="z is not explored"):
            exp.values_at("z", np.array([0]))
        with pytest.raises(IndexError, match=f"run index {exp.n_runs} is out of range"):
            exp.values_at("x", np.array([0, exp.n_runs]))
        with pytest.raises(IndexError, match="out of range"):
            exp.values_at("x", np.array([-exp.n_runs - 1]))
        with pytest.raises(TypeError, match="integers"):
            exp.values_at("x", np.array([0.0]))


@pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps])
def test_pickled_grid_is_its_axes(dumps):
    p = cartesian_product({"x": [float(i) for i in range(300)], "y": list(range(300))})
    e = Exploration.from_grid(p.axes, p.axis_values)
    small = Exploration.from_grid([["x"], ["y"]], {"x": p.axis_values["x"], "y": [0]})
    size = len(dumps(e))
    assert size < 2 * len(dumps(small))  # 90,000 runs cost what their 600 axis values cost
    e.column("x"), e.columns, e.positions, e.values_at("y", np.arange(5))  # fill the caches
    assert len(dumps(e)) == size
    back = pickle.loads(dumps(e))
    assert back.columns == e.columns and back.positions.tolist() == e.positions.tolist()


@pytest.mark.parametrize("make", [
    lambda: Exploration({"x": [1, 2, 1], "s": ["a", "b", "a"]}),
    lambda: Exploration({"x": [1, 2, 1, 2], "y": [5, 5, 6, 6]}, (("x",), ("y",))),
    lambda: expanded_grid(4),
])
def test_pickle_round_trip(make):
    e = make()
    for back in (pickle.loads(pickle.dumps(e)), pickle.loads(cloudpickle.dumps(e)),
                 copy.deepcopy(e)):
        assert (back.names, back.axes, back.shape, back.is_c_order) == \
            (e.names, e.axes, e.shape, e.is_c_order)
        assert back.columns == e.columns and back.positions.tolist() == e.positions.tolist()
        assert back.duplicates() == e.duplicates()
        with pytest.raises(AttributeError, match="immutable"):
            back.axes = None


def grown_both_ways(old: Product, new: Product):
    """(expand from the axes, expand from the per-run columns)."""
    e = Exploration.from_grid(old.axes, old.axis_values)
    fast = e.expand(Exploration.from_grid(new.axes, new.axis_values, names=list(e.names)))
    merged = {name: list(old[name]) + list(new[name]) for name in e.names}
    try:
        slow = Exploration(merged, e.axes)
    except ExplorationError:
        slow = Exploration(merged)
    return fast, slow


@pytest.mark.parametrize(("old", "new"), [
    ({"x": [1, 2, 3], "y": [6, 7]}, {"x": [4, 5], "y": [6, 7]}),          # slowest axis
    ({"x": [1, 2, 3], "y": [6, 7]}, {"x": [1, 2, 3], "y": [8]}),          # last axis
    ({"x": [1, 2, 3], "y": [6, 7]}, {"x": [3, 1, 2], "y": [9, 8]}),       # reordered
    ({"x": [1, 2, 3], "y": [6, 7]}, {"x": [4], "y": [7, 6]}),
    ({"x": [1, 2], "y": [6, 7]}, {"x": [3], "y": [8]}),                   # incomplete
    ({"x": [1, 2], "y": [6, 7]}, {"x": [2, 3], "y": [6, 7]}),             # overlapping
    ({"x": ["a", "b"], "y": [np.zeros(1)]}, {"x": ["c"], "y": [np.zeros(1)]}),
])
def test_expand_grid_from_axes_equals_from_columns(old, new):
    fast, slow = grown_both_ways(cartesian_product(old), cartesian_product(new))
    assert (fast.is_grid, fast.shape, fast.is_c_order, fast.duplicates()) == \
        (slow.is_grid, slow.shape, slow.is_c_order, slow.duplicates())
    assert fast.positions.tolist() == slow.positions.tolist()
    assert fast.columns.keys() == slow.columns.keys()
    for name in fast.names:
        assert all(a is b or a == b for a, b in zip(fast.column(name), slow.column(name)))


def test_expand_zipped_grid_and_other_axis_order():
    old = cartesian_product({"a": [1, 2], "b": [3, 4], "c": [5, 6]}, (("a", "b"), "c"))
    new = cartesian_product({"c": [5, 6], "a": [9], "b": [0]}, ("c", ("b", "a")))
    e = Exploration.from_grid(old.axes, old.axis_values)
    grown = e.expand(Exploration.from_grid(new.axes, new.axis_values))
    assert grown.axes == e.axes and grown.shape == (3, 2) and grown.is_c_order
    assert grown.axis_values(0) == {"a": [1, 2, 9], "b": [3, 4, 0]}
    assert [grown.point(i) for i in range(4, 6)] == [{"a": 9, "b": 0, "c": 5},
                                                     {"a": 9, "b": 0, "c": 6}]


@pytest.mark.parametrize("seed", range(10))
def test_from_grid_with_cells_equals_the_runs(seed):
    rng = np.random.default_rng(seed)
    p = random_grid(rng, int(rng.integers(1, 4)))
    n = len(next(iter(p.values())))
    order = rng.permutation(n)
    eager = Exploration({k: [v[i] for i in order] for k, v in p.items()}, p.axes)
    lazy = Exploration.from_grid(p.axes, p.axis_values, cells=order)
    assert summary(lazy) == summary(eager)
    assert lazy.columns == eager.columns


def test_from_grid_errors_as_from_the_columns():
    with pytest.raises(ExplorationError, match="occurs 2 times"):
        Exploration.from_grid([["x"], ["y"]], {"x": [1, 1], "y": [2, 3]})
    with pytest.raises(ExplorationError, match="occurs 2 times"):
        Exploration.from_grid([["x"]], {"x": [1, 2]}, cells=[0, 0])
    with pytest.raises(ExplorationError, match="3 cells given for a grid of 2 points"):
        Exploration.from_grid([["x"]], {"x": [1, 2]}, cells=[0, 1, 1])
    with pytest.raises(ExplorationError, match="x has no values"):
        Exploration.from_grid([["x"]], {"x": []})
    with pytest.raises(ExplorationError, match="axis_values has no values for y"):
        Exploration.from_grid([["x"], ["y"]], {"x": [1]})
    with pytest.raises(ExplorationError, match="zipped along the axis a, b"):
        Exploration.from_grid([["a", "b"]], {"a": [1, 2], "b": [1]})
    with pytest.raises(ExplorationError, match="z is explored but in no axis"):
        Exploration.from_grid([["x"]], {"x": [1]}, names=["x", "z"])


def test_to_dict_of_a_grid_gives_each_run_its_own_lists():
    p = cartesian_product({"w": [np.zeros(2), np.ones(2)], "k": [1, 2]})
    cols = Exploration.from_grid(p.axes, p.axis_values).to_dict()["columns"]
    assert cols["w"] == [[0.0, 0.0]] * 2 + [[1.0, 1.0]] * 2
    assert cols["w"][0] is not cols["w"][1]
