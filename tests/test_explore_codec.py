"""The one exploration codec: every stored form reads back, a stored grid is rebuilt from
its axes (never recognised again in per-run columns), and a product whose values repeat
is explored, stored and reopened as runs (real sweeps, real files)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import xarray as xr

import pypetx
import pypetx.core.explore.exploration as exploration_mod
from pypetx import Environment, cartesian_product
from pypetx.core.explore import Exploration, codec, infer_axes, infer_exploration
from pypetx.errors import ExplorationError
from pypetx.resume import load_for_resume
from pypetx.store import open_store
from pypetx.store.load import exploration_description, read_exploration, stored_exploration
from pypetx.store.status import failures

# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def no_grid_recognition(monkeypatch):
    """Make finding a grid in per-run columns an error (and count the attempts)."""
    calls = []

    def forbid():
        def refuse(*args, **kwargs):
            calls.append(args)
            raise AssertionError("a grid was recognised in per-run columns")
        for name in ("_c_order_grid", "_grid_positions"):
            monkeypatch.setattr(exploration_mod, name, refuse)
        return calls
    return forbid


def _work(traj):
    if traj.v_idx == 4:
        raise ValueError("run 4 fails")
    traj.f_add_result("z", float(traj.x) * traj.y)


def _grid_sweep(path, name, xs, ys, *, more_y=None):
    """A stored grid sweep; with ``more_y`` expanded along y (runs not in C order)."""
    env = Environment(trajectory=name, filename=str(path), cluster="synchronous",
                      progress=False, on_error="continue", resume=path.exists())
    traj = env.traj
    traj.f_add_parameter("x", 0.0)
    traj.f_add_parameter("y", 0)
    traj.f_explore(cartesian_product({"x": xs, "y": ys}))
    if more_y:
        traj.f_expand(cartesian_product({"x": xs, "y": more_y}))
    env.run(_work)
    return traj.exploration


def _same_points(a: Exploration, b: Exploration) -> None:
    assert (a.names, a.axes, a.shape, a.is_c_order) == (b.names, b.axes, b.shape, b.is_c_order)
    assert a.positions.tolist() == b.positions.tolist()
    for k in range(len(a.axes or ())):
        assert a.axis_values(k) == b.axis_values(k)


# ------------------------------------------------------------- grids from their axes


def test_the_guard_catches_recognition(no_grid_recognition):
    calls = no_grid_recognition()
    with pytest.raises(AssertionError, match="recognised"):
        Exploration({"x": [1, 1, 2, 2], "y": [5, 6, 5, 6]}, (("x",), ("y",)))
    assert calls


@pytest.mark.parametrize("suffix", [".h5", ".zarr"])
@pytest.mark.parametrize("case", ["c-order", "expanded", "long-axis"])
def test_reopening_a_stored_grid_does_not_recognise_it(tmp_path, suffix, case,
                                                       no_grid_recognition):
    path = tmp_path / f"grid{suffix}"
    xs = [float(i) for i in range(1200 if case == "long-axis" else 3)]  # long: a reference
    more = [7] if case == "expanded" else None
    written = _grid_sweep(path, "g", xs, [5, 6], more_y=more)
    assert written.is_c_order == (case != "expanded")
    if case == "long-axis":
        assert codec.refers_to_arrays(exploration_description(path, "g"))
    calls = no_grid_recognition()

    loaded = pypetx.load(str(path), "g")
    _same_points(loaded.exploration, written)
    _same_points(read_exploration(path, "g"), written)
    _same_points(load_for_resume(str(path), "g").exploration, written)
    table = failures(loaded.dataset)
    assert table.index.tolist() == [4] and table["x"].tolist() == [written.point(4)["parameters.x"]]
    with open_store(path, "g") as st:  # the store reads its cube's exploration back
        st.open(written, [], {"name": "g"}, resume=True)
        assert st.done().sum() == written.n_runs - 1
    # resuming the sweep reruns the failed run only, from the stored grid
    _grid_sweep(path, "g", xs, [5, 6], more_y=more)
    ds = pypetx.open_results(path, "g")
    assert int(ds.completed.sum()) == written.n_runs - 1 and ds.z.dims == ("x", "y")
    assert calls == []


def test_merging_stored_grids_merges_their_axes(tmp_path, no_grid_recognition):
    _grid_sweep(tmp_path / "a.h5", "A", [1.0, 2.0], [5, 6])
    _grid_sweep(tmp_path / "b.h5", "B", [3.0], [5, 6])
    calls = no_grid_recognition()
    a, b = pypetx.load(str(tmp_path / "a.h5")), pypetx.load(str(tmp_path / "b.h5"))
    ds = a.f_merge(b) or a.dataset
    assert ds.z.dims == ("x", "y") and ds.z.shape == (3, 2)
    assert a.exploration.shape == (3, 2) and calls == []


def test_a_version_1_grid_is_still_recognised_from_its_runs(tmp_path):
    """Files written before the compact description hold only the runs: reading them
    needs recognition, and gives the same exploration."""
    p = cartesian_product({"parameters.x": [1.0, 2.0], "parameters.y": [5, 6, 7]})
    e = Exploration.from_grid(p.axes, p.axis_values).expand(
        {"parameters.x": [3.0] * 3, "parameters.y": [5, 6, 7]})
    _same_points(Exploration.decode(json.loads(json.dumps(e.to_dict()))), e)


# --------------------------------------------------------------------------- the codec


def _explorations():
    rng = np.random.default_rng(3)
    p = cartesian_product({"parameters.x": rng.random(1500).tolist(), "parameters.y": [1, 2]})
    grid = Exploration.from_grid(p.axes, p.axis_values)
    yield grid
    yield grid.expand(Exploration.from_grid(p.axes, {**p.axis_values, "parameters.y": [3]}))
    yield Exploration({"parameters.x": rng.random(2000).tolist(),
                       "parameters.s": ["a", "b"] * 1000})
    yield Exploration.from_grid([["parameters.a", "parameters.b"], ["parameters.c"]],
                                {"parameters.a": [1, 2], "parameters.b": ["u", "v"],
                                 "parameters.c": [None, 0.5]})


@pytest.mark.parametrize("e", list(_explorations()), ids=repr)
def test_every_form_decodes_to_the_same_exploration(e, no_grid_recognition):
    desc, arrays = e.encode(coord_name=lambda name: name.rsplit(".", 1)[-1])
    desc = json.loads(json.dumps(desc))
    coords = {ref["coord"]: arrays[ref["sha1"]] for ref in desc["values"].values()
              if isinstance(ref, dict)}
    forms = [(desc, arrays), (desc, coords), (desc, lambda ref: arrays[ref["sha1"]]),
             (desc, xr.Dataset(coords={k: ("d" + k, v) for k, v in coords.items()})),
             (json.loads(json.dumps(e.to_dict(compact=True))), None)]
    calls = no_grid_recognition()
    for form, where in forms:
        back = Exploration.decode(form, where)
        if e.axes:
            _same_points(back, e)
        assert back.columns == e.columns
        cols = codec.stored_columns(form, where)
        assert {n: list(np.asarray(c).tolist()) for n, c in cols.items()} == e.to_dict()["columns"]
    assert calls == []
    if codec.refers_to_arrays(desc):
        with pytest.raises(KeyError, match="no arrays were given"):
            Exploration.decode(desc)


def test_decode_converts_the_axis_values_only():
    p = cartesian_product({"parameters.w": [np.zeros(2), np.ones(2)], "parameters.k": [1, 2, 3]})
    e = Exploration.from_grid(p.axes, p.axis_values)
    seen = {}

    def convert(name, values):
        seen[name] = len(values)
        return [np.asarray(v) for v in values] if name == "parameters.w" else values

    back = Exploration.decode(json.loads(json.dumps(e.encode()[0])), convert=convert)
    assert seen == {"parameters.w": 2, "parameters.k": 3}
    assert isinstance(back.column("parameters.w")[0], np.ndarray) and back.shape == (2, 3)


def test_encoded_values_come_back_decoded():
    brian2 = pytest.importorskip("brian2")
    ms = brian2.ms
    p = cartesian_product({"parameters.tau": [5 * ms, 20 * ms], "parameters.v": [1.0, 2.0]})
    desc, _ = Exploration.from_grid(p.axes, p.axis_values).encode()
    back = Exploration.decode(json.loads(json.dumps(desc)))
    assert back.axis_values(0)["parameters.tau"] == [5 * ms, 20 * ms]
    assert codec.version1(desc)["columns"]["parameters.tau"][0]["pypetx_encoded"]


def test_infer_exploration_finds_the_grid_in_runs():
    p = cartesian_product({"a": [1, 2], "b": ["u", "v"], "c": [0.5, 1.5, 2.5]}, [("a", "b"), "c"])
    e = infer_exploration(dict(p))
    assert e.axes == (("a", "b"), ("c",)) and e.shape == (2, 3) and e.is_c_order
    assert infer_axes({"x": [1, 2, 5], "y": [3, 1, 1]}) is None
    runs = infer_exploration({"x": [1, 1, 2]})
    assert runs.axes is None and runs.column("x") == (1, 1, 2)
    assert infer_axes({"x": [1, 2], "y": [1]}) is None
    with pytest.raises(ExplorationError, match="different lengths"):
        infer_exploration({"x": [1, 2], "y": [1]})


# ------------------------------------------------------------- repeated product values


def test_strict_false_gives_runs_where_strict_raises():
    with pytest.raises(ExplorationError, match="occurs 2 times"):
        Exploration.from_grid([["x"]], {"x": [1, 1, 2]})
    runs = Exploration.from_grid([["x"], ["y"]], {"x": [1, 1], "y": [5, 6]}, strict=False)
    assert runs.axes is None and runs.columns == {"x": [1, 1, 1, 1], "y": [5, 6, 5, 6]}
    cols = Exploration({"x": [1, 1, 2], "y": [5, 6, 5]}, (("x",), ("y",)), strict=False)
    assert cols.axes is None and cols.n_runs == 3
    with pytest.raises(ExplorationError, match="not explored"):
        Exploration({"x": [1]}, (("z",),), strict=False)  # wrong axes still raise


@pytest.mark.parametrize("suffix", [".h5", ".zarr"])
def test_a_product_with_repeated_values_runs_and_reopens_as_runs(tmp_path, suffix):
    path = tmp_path / f"rep{suffix}"
    env = Environment(trajectory="rep", filename=str(path), cluster="synchronous",
                      progress=False)
    traj = env.traj
    traj.f_add_parameter("x", 0)
    traj.f_add_parameter("y", 0.0)
    with pytest.warns(UserWarning, match="occur more than once"):
        traj.f_explore(cartesian_product({"x": [1, 1, 2], "y": [5.0, 6.0]}))
    assert traj.exploration.axes is None and len(traj) == 6
    env.run(lambda t: t.f_add_result("z", t.x * t.y))
    ds = pypetx.open_results(path, "rep")
    assert ds.z.dims == ("run",) and ds.x.values.tolist() == [1, 1, 1, 1, 2, 2]
    np.testing.assert_array_equal(ds.z.values, [5, 6, 5, 6, 10, 12])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reopening reports no duplicates again
        loaded = pypetx.load(str(path), "rep")
    assert loaded.exploration.axes is None
    assert loaded.exploration.column("parameters.x") == (1, 1, 1, 1, 2, 2)
    assert stored_exploration(path, "rep")["columns"]["parameters.y"] == [5.0, 6.0] * 3
    # expanding a grid by a product with a repeated value: runs as well
    grid = Exploration.from_grid([["x"]], {"x": [1, 2]})
    grown = grid.expand(cartesian_product({"x": [3, 3]}))
    assert grown.axes is None and grown.column("x") == (1, 2, 3, 3)


def test_sweep_with_repeated_values(tmp_path):
    path = tmp_path / "s.h5"
    with pytest.warns(UserWarning, match="occur more than once"):
        ds = pypetx.sweep(lambda x, y: x * y, filename=path, x=[1, 1, 2], y=[5.0])
    assert ds.sizes["run"] == 3
    np.testing.assert_array_equal(ds.result.values, [5.0, 5.0, 10.0])
    assert pypetx.load(str(path)).exploration.column("parameters.x") == (1, 1, 2)
