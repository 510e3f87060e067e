"""The Trajectory (pypetx.trajectory): adding nodes, presets, exploration, runs, locking."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from pypetx.errors import (
    ExplorationError,
    NodeNotFoundError,
    ParameterLockedError,
)
from pypetx.explore import cartesian_product
from pypetx.parameters import ArrayParameter, Parameter, PickleResult, Result
from pypetx.trajectory import Trajectory, run_name


@pytest.fixture
def traj() -> Trajectory:
    traj = Trajectory("sim", comment="traffic model")
    traj.add_parameter("x", 1.0, comment="first factor")
    traj.add_parameter("y", 2, comment="second factor")
    traj.add_parameter("traffic.ncars", 42, comment="cars on the road")
    return traj


@pytest.fixture
def explored(traj) -> Trajectory:
    traj.explore(cartesian_product({"x": [1.0, 2.0], "y": [3, 4, 5]}))
    return traj


# -- adding nodes -------------------------------------------------------------------------


def test_add_parameter_forms(traj):
    p = traj.add_parameter("parameters.a", 1, comment="full path")
    assert p.full_name == "parameters.a" and p.comment == "full path"
    assert traj.add_parameter("par.b", 2).full_name == "parameters.b"
    w = traj.add_parameter(ArrayParameter, "w", np.zeros(3))
    assert isinstance(w, ArrayParameter) and w.kind == "array"
    ready = Parameter("c", "text", "made by hand")
    assert traj.add_parameter(ready) is ready
    assert traj.c == "text"
    assert traj.add_parameter("d", 0.5, "positional comment").comment == "positional comment"
    assert traj.add_parameter("e", value=3).value == 3
    assert traj.add_parameter("f", 1.0, units="mV").units == "mV"


def test_add_parameter_argument_errors(traj):
    with pytest.raises(TypeError, match="give at least a name"):
        traj.add_parameter()
    with pytest.raises(TypeError, match="too many positional arguments"):
        traj.add_parameter("g", 1, "comment", "extra")


def test_derived_parameters_and_config(traj):
    d = traj.add_derived_parameter("traffic.density", traj.ncars / 10.0, comment="cars per km")
    assert d.full_name == "derived_parameters.traffic.density"
    assert traj.density == 4.2
    assert traj.dpar.traffic.density == 4.2
    c = traj.add_config("seed", 7)
    assert c.full_name == "config.seed"
    assert traj.conf.seed == 7


def test_group_helpers(traj):
    assert traj.add_parameter_group("brain", "the brain").full_name == "parameters.brain"
    assert traj.parameters.brain.comment == "the brain"
    assert traj.add_derived_parameter_group("dpar.stats").full_name == "derived_parameters.stats"
    assert traj.add_config_group("io").full_name == "config.io"
    assert traj.add_result_group("summary").full_name == "results.summary"


def test_add_result_forms(traj):
    z = traj.add_result("z", 42, comment="answer")
    assert z.full_name == "results.z" and traj.z == 42
    stats = traj.add_result("analysis.stats", mean=1.0, std=0.1)
    assert stats.full_name == "results.analysis.stats"
    assert traj.results.analysis.stats.mean == 1.0
    pick = traj.add_result(PickleResult, "obj", {1, 2})
    assert pick.kinds == {"obj": "pickle"}
    ready = Result("r", 1)
    assert traj.add_result(ready) is ready
    assert traj.add_result("res.short", 1).full_name == "results.short"


def test_add_link_needs_a_target(traj):
    with pytest.raises(TypeError, match="needs a target"):
        traj.add_link("alias")
    traj.add_link("cars", "traffic.ncars")
    assert traj.cars == 42


def test_len_and_explored_parameters_before_exploring(traj):
    assert len(traj) == 1
    assert traj.exploration is None
    assert traj.explored_parameters == {}
    assert traj.run_names == ["run_00000000"]


# -- presets ------------------------------------------------------------------------------


def test_preset_wins_over_the_script_default(traj):
    traj.preset_parameter("traffic.speed", 30.0)
    traj.preset_parameter("par.lanes", 3)
    assert traj.add_parameter("traffic.speed", 13.5).value == 30.0
    assert traj.add_parameter("lanes", 2).value == 3
    # a preset is used once
    assert traj._presets == {}


def test_preset_through_a_group(traj):
    traj.preset_parameter("traffic.lanes", 4)
    traj.parameters.traffic.f_add_parameter("lanes", 2)
    assert traj.lanes == 4


def test_preset_keeps_the_declared_type(traj):
    traj.preset_parameter("rate", 2)
    param = traj.add_parameter("rate", 1.0)
    assert param.value == 2.0 and isinstance(param.value, float)
    traj.explore({"rate": [0.5, 1.5]})  # still a float parameter


def test_preset_of_wrong_type_names_the_parameter(traj):
    traj.preset_parameter("rate", "fast")
    with pytest.raises(TypeError, match="parameters.rate"):
        traj.add_parameter("rate", 1.0)


def test_preset_config_and_existing(traj):
    traj.preset_parameter("config.seed", 11)
    assert traj.add_config("seed", 1).value == 11
    with pytest.raises(ValueError, match="already exists; presetting only works before"):
        traj.preset_parameter("x", 3.0)


# -- exploration --------------------------------------------------------------------------


def test_explore_plain_lists(traj):
    exploration = traj.explore({"x": [1.0, 2.0, 3.0], "y": [4, 5, 6]})
    assert exploration.names == ("parameters.x", "parameters.y")
    assert exploration.axes is None
    assert len(traj) == 3
    assert traj.get("x").range == [1.0, 2.0, 3.0]
    assert list(traj.explored_parameters) == ["parameters.x", "parameters.y"]
    assert not traj.get("ncars").is_explored


def test_explore_cartesian_product_keeps_axes(explored):
    assert explored.exploration.axes == (("parameters.x",), ("parameters.y",))
    assert explored.exploration.shape == (2, 3)
    assert explored.get("y").range == [3, 4, 5, 3, 4, 5]


def test_explore_by_full_and_dotted_names(traj):
    traj.explore({"parameters.x": [1.0], "traffic.ncars": [10]})
    assert traj.exploration.names == ("parameters.x", "parameters.traffic.ncars")


def test_explore_unknown_parameter_suggests_close_names(traj):
    with pytest.raises(ExplorationError) as info:
        traj.explore({"ncar": [1, 2]})
    msg = str(info.value)
    assert msg.startswith("cannot explore 'ncar': no node named 'ncar'")
    assert "did you mean 'ncars'?" in msg


def test_explore_ambiguous_parameter(traj):
    traj.add_parameter("neuron.tau", 1.0)
    traj.add_parameter("synapse.tau", 1.0)
    with pytest.raises(ExplorationError, match="cannot explore 'tau'.*neuron.tau.*synapse.tau"):
        traj.explore({"tau": [1.0]})


def test_explore_derived_parameters_as_pypet_does(traj):
    traj.add_derived_parameter("density", 0.5)
    traj.add_derived_parameter("flow.rate", 1)
    traj.explore({"derived_parameters.density": [0.1, 0.2], "dpar.flow.rate": [1, 2],
                  "x": [1.0, 2.0]})
    assert traj.exploration.names == ("derived_parameters.density",
                                      "derived_parameters.flow.rate", "parameters.x")
    traj.expand({"density": [0.3], "rate": [3], "x": [3.0]})  # short names too
    traj.idx = 2
    assert (traj.density, traj.rate, traj.x) == (0.3, 3, 3.0)


def test_explore_name_of_a_parameter_and_a_derived_parameter_is_ambiguous(traj):
    traj.add_derived_parameter("x", 0.5)
    with pytest.raises(ExplorationError, match="cannot explore 'x': it matches "
                       "parameters.x, derived_parameters.x; use a longer path"):
        traj.explore({"x": [1.0]})
    traj.explore({"dpar.x": [1.0, 2.0]})
    assert traj.exploration.names == ("derived_parameters.x",)


def test_explore_group_is_refused(traj):
    with pytest.raises(ExplorationError, match="'traffic': it is a group, not a parameter"):
        traj.explore({"traffic": [1]})


def test_explore_unequal_lengths_names_parameters_and_lengths(traj):
    with pytest.raises(ExplorationError) as info:
        traj.explore({"x": [1.0, 2.0], "y": [1, 2, 3]})
    msg = str(info.value)
    assert "parameters.x has 2 values" in msg and "parameters.y has 3 values" in msg
    assert traj.exploration is None


def test_explore_empty_range(traj):
    with pytest.raises(ExplorationError, match="parameters.x has no values"):
        traj.explore({"x": []})
    with pytest.raises(ExplorationError, match="at least one parameter"):
        traj.explore({})


def test_explore_needs_lists(traj):
    with pytest.raises(ExplorationError, match="must be a list, got float"):
        traj.explore({"x": 1.0})
    with pytest.raises(ExplorationError, match="must be a list, got str"):
        traj.explore({"x": "abc"})


def test_explore_type_mismatch_names_the_parameter(traj):
    with pytest.raises(TypeError, match="parameters.y: value 1.5 is a float"):
        traj.explore({"y": [1, 1.5]})
    with pytest.raises(TypeError, match="parameters.x: value 'a'"):
        traj.explore({"x": [1.0, "a"]})
    traj.explore({"x": [1, 2.5]})  # integers widen to a float default


def test_explore_duplicate_points_warn(traj):
    with pytest.warns(UserWarning, match="1 explored points occur more than once.*runs \\[0, 2\\]"):
        traj.explore({"x": [1.0, 2.0, 1.0], "y": [1, 2, 1]})
    assert len(traj) == 3  # each is still run


def test_explore_twice_is_an_error(explored):
    with pytest.raises(ExplorationError, match="already explored \\(6 runs\\); use expand"):
        explored.explore({"x": [9.0]})


def test_expand_run_layout(traj):
    traj.explore({"x": [1.0, 2.0], "y": [1, 2]})
    traj.expand({"x": [3.0], "y": [3]})
    assert len(traj) == 3
    assert traj.get("y").range == [1, 2, 3]
    with pytest.raises(ExplorationError, match="exactly the explored parameters"):
        traj.expand({"x": [4.0]})


def test_expand_grows_the_grid(explored):
    explored.expand(cartesian_product({"x": [3.0], "y": [3, 4, 5]}))
    assert explored.exploration.shape == (3, 3)
    assert len(explored) == 9
    explored.set_run(6)
    assert (explored.x, explored.y) == (3.0, 3)


def test_expand_unexplored_explores(traj):
    traj.expand({"x": [5.0]})
    assert len(traj) == 1 and traj.get("x").range == [5.0]


def test_explore_product_builds_the_grid_from_its_axes(traj, monkeypatch):
    import pypetx.explore.exploration as exploration_mod

    product = cartesian_product({"x": [1.0, 2.0], "traffic.ncars": [3, 4, 5]})
    built = []
    monkeypatch.setattr(exploration_mod, "_repeat_tile",
                        lambda *a, **k: built.append(a) or _tile(*a, **k))
    exploration = traj.explore(product)
    assert exploration.names == ("parameters.x", "parameters.traffic.ncars")
    assert exploration.axes == (("parameters.x",), ("parameters.traffic.ncars",))
    assert exploration.shape == (2, 3) and exploration.is_c_order
    assert len(built) == 2  # one per parameter range, no per-run column in the exploration
    assert traj.get("ncars").range == product["traffic.ncars"]
    assert traj.get("x").range == product["x"]
    assert exploration.column("parameters.x") == tuple(product["x"])
    traj.set_run(4)
    assert (traj.x, traj.ncars) == (2.0, 4)


def _tile(*args, **kwargs):
    from pypetx.explore._values import _repeat_tile

    return _repeat_tile(*args, **kwargs)


def test_explore_product_checks_types_of_the_axis_values(traj):
    with pytest.raises(TypeError) as from_product:
        traj.explore(cartesian_product({"x": [1.0, 2.0], "y": [1, 1.5]}))
    with pytest.raises(TypeError) as from_lists:
        traj.explore({"y": [1, 1.5]})
    assert str(from_product.value) == str(from_lists.value)
    assert traj.exploration is None
    with pytest.raises(ExplorationError, match="is explored twice"):
        traj.explore(cartesian_product({"x": [1.0], "parameters.x": [2.0]}))


def test_explore_changed_product_reads_its_lists(traj):
    product = cartesian_product({"x": [1.0, 2.0], "y": [3, 4]})
    product["y"] = [4, 3, 4, 3]  # still a grid, in another order
    exploration = traj.explore(product)
    assert exploration.shape == (2, 2) and exploration.column("parameters.y") == (4, 3, 4, 3)
    assert exploration.axis_values(1) == {"parameters.y": [4, 3]}


def test_expand_with_a_product_merges_the_axes(explored):
    explored.expand(cartesian_product({"x": [1.0, 2.0], "y": [6]}))
    exploration = explored.exploration
    assert exploration.shape == (2, 4) and not exploration.is_c_order
    assert explored.get("y").range == [3, 4, 5, 3, 4, 5, 6, 6]
    explored.set_run(7)
    assert (explored.x, explored.y) == (2.0, 6)
    with pytest.raises(ExplorationError, match="exactly the explored parameters"):
        explored.expand(cartesian_product({"x": [4.0]}))


@pytest.mark.parametrize("dumps", ["pickle", "cloudpickle"])
def test_pickled_explored_trajectory_carries_the_axes_only(traj, dumps):
    import pickle

    import cloudpickle

    dump = pickle.dumps if dumps == "pickle" else cloudpickle.dumps
    traj.explore(cartesian_product({"x": [float(i) for i in range(300)],
                                    "y": list(range(300))}))
    traj.exploration.column("parameters.x")  # a cached column is not pickled either
    blob = dump(traj)
    assert len(blob) < 100_000  # 90,000 runs; their values alone would take ~1.6 MB
    back = pickle.loads(blob)
    assert back.exploration.shape == (300, 300)
    assert back.get("x").range == traj.get("x").range
    assert back.get("y").range[-3:] == [297, 298, 299]
    back.set_run(301)
    assert (back.x, back.y) == (1.0, 1)


def test_ranges_are_lists_and_copies(explored):
    import copy

    rng = explored.get("y").range
    assert isinstance(rng, list) and rng == [3, 4, 5, 3, 4, 5]
    assert explored.get("y").f_get_range() == (3, 4, 5, 3, 4, 5)
    clone = copy.deepcopy(explored)
    assert clone.get("y").range == rng and clone.exploration is not explored.exploration
    rng.append(99)  # the exploration is not affected
    assert len(explored) == 6


# -- runs ------------------------------------------------------------------------------------


def test_run_names():
    assert run_name(3) == "run_00000003"
    assert run_name(-1) == "run_ALL"


def test_set_run_shows_the_values_of_that_run(explored):
    assert explored.idx == -1 and explored.crun == "run_ALL"
    explored.set_run(4)
    assert explored.idx == 4 and explored.crun == "run_00000004"
    assert (explored.x, explored.y) == (2.0, 4)
    assert explored.ncars == 42  # not explored: its default
    explored.idx = 0
    assert (explored.x, explored.y) == (1.0, 3)
    explored.set_run("run_00000005")
    assert (explored.x, explored.y) == (2.0, 5)
    explored.set_run(-1)
    assert (explored.x, explored.y) == (1.0, 2)
    explored.set_run(2)
    explored.set_run("run_ALL")
    assert explored.idx == -1 and explored.x == 1.0
    explored.set_run(2)
    explored.restore_default()
    assert explored.idx == -1 and explored.y == 2


def test_set_run_errors(explored):
    with pytest.raises(IndexError, match="run 6 does not exist: trajectory 'sim' has 6 runs"):
        explored.set_run(6)
    with pytest.raises(ValueError, match="'bogus' is not a run name; run names look like"):
        explored.set_run("bogus")


def test_run_names_and_iteration(explored):
    assert explored.run_names == [run_name(i) for i in range(6)]
    seen = [(i, explored.x, explored.y) for i in explored.iter_runs()]
    assert seen == [(0, 1.0, 3), (1, 1.0, 4), (2, 1.0, 5), (3, 2.0, 3), (4, 2.0, 4), (5, 2.0, 5)]
    assert explored.idx == -1 and explored.x == 1.0  # defaults restored
    assert list(explored.iter_runs(yields="name"))[:2] == ["run_00000000", "run_00000001"]
    assert all(t is explored for t in explored.iter_runs(yields="self"))


def test_iteration_restores_defaults_when_stopped_early(explored):
    runs = explored.iter_runs()
    next(runs)
    assert next(runs) == 1 and explored.idx == 1 and explored.y == 4
    runs.close()  # what a `break` does once the generator is released
    assert explored.idx == -1 and explored.y == 2


def test_find_idx(explored):
    assert explored.find_idx("x", lambda x: x > 1.5) == [3, 4, 5]
    assert explored.find_idx(["x", "y"], lambda x, y: x == 1.0 and y >= 4) == [1, 2]
    assert explored.find_idx("parameters.y", lambda y: y == 5) == [2, 5]
    # a non-explored parameter has its default in every run
    assert explored.find_idx(["ncars", "y"], lambda n, y: n == 42 and y == 3) == [0, 3]
    with pytest.raises(NodeNotFoundError, match="'traffic' is not a parameter"):
        explored.find_idx("traffic", lambda t: True)
    with pytest.raises(NodeNotFoundError, match="did you mean"):
        explored.find_idx("xx", lambda x: True)


def test_cannot_add_parameter_during_a_run(explored):
    explored.set_run(1)
    with pytest.raises(TypeError, match="cannot add parameter 'late' during a run"):
        explored.add_parameter("late", 1)
    explored.add_derived_parameter("fine", 1)  # derived parameters may be added
    explored.restore_default()
    explored.add_parameter("late", 1)


# -- locking --------------------------------------------------------------------------------


def test_lock_parameters(traj):
    traj.add_derived_parameter("d", 1.0)
    traj.lock_parameters()
    assert all(leaf.locked for leaf in traj.parameters.iter_leaves())
    assert not traj.get("d").locked
    with pytest.raises(ParameterLockedError, match="parameter 'parameters.traffic.ncars' is locked"):
        traj.ncars = 5
    with pytest.raises(ParameterLockedError, match="'parameters.x' is locked"):
        traj.parameters.x = 5.0
    traj.d = 2.0
    traj.lock_derived_parameters()
    with pytest.raises(ParameterLockedError, match="'derived_parameters.d' is locked"):
        traj.d = 3.0


def test_explored_parameter_values_change_per_run_even_when_locked(explored):
    explored.lock_parameters()
    explored.set_run(5)
    assert explored.x == 2.0


# -- misc ------------------------------------------------------------------------------------


def test_repr_and_docstring_example():
    traj = Trajectory("sim")
    assert repr(traj.add_parameter("traffic.ncars", 42, comment="cars on the road")) == (
        "<Parameter parameters.traffic.ncars=42>")
    assert (traj.ncars, traj.parameters.traffic.ncars) == (42, 42)


def test_no_warning_for_distinct_points(traj):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        traj.explore(cartesian_product({"x": [1.0, 2.0], "y": [1, 2]}))
