"""The per-run view (pypetx.runview) that user functions receive as ``traj``."""

from __future__ import annotations

import pickle

import pytest

from pypetx.errors import AmbiguousNameError, NodeNotFoundError
from pypetx.explore import cartesian_product
from pypetx.parameters import Result
from pypetx.runview import RunView, result_variable
from pypetx.trajectory import Trajectory


@pytest.fixture
def traj() -> Trajectory:
    traj = Trajectory("sim")
    traj.add_parameter("x", 1.0)
    traj.add_parameter("y", 2)
    traj.add_parameter("ncars", 42)
    traj.add_parameter("traffic.speed", 13.5)
    traj.add_parameter("neuron.tau", 0.01)
    traj.add_parameter("synapse.tau", 0.005)
    traj.add_derived_parameter("density", 4.2)
    traj.add_config("seed", 7)
    traj.explore(cartesian_product({"x": [1.0, 2.0], "y": [3, 4, 5]}))
    return traj


@pytest.fixture
def view(traj) -> RunView:
    return RunView(traj)


def test_explored_values_per_run(view):
    view._set(4)
    assert (view.x, view.y) == (2.0, 4)
    assert (view.parameters.x, view.parameters.y) == (2.0, 4)
    assert (view.par.x, view.par.y) == (2.0, 4)
    view._set(0)
    assert (view.x, view.parameters.y, view.par.x) == (1.0, 3, 1.0)


def test_non_explored_values(view):
    view._set(2)
    assert view.ncars == 42
    assert view.par.ncars == 42
    assert view.density == 4.2 and view.dpar.density == 4.2
    assert view.seed == 7 and view.conf.seed == 7 and view.config.seed == 7


def test_deep_paths_and_items(view):
    view._set(5)
    assert view.parameters.traffic.speed == 13.5
    assert view.speed == 13.5
    assert view["traffic.speed"] == 13.5
    assert view["x"] == 2.0
    assert view.parameters["traffic.speed"] == 13.5
    assert view.neuron.tau == 0.01
    assert "traffic.speed" in view and "nothing" not in view
    assert "x" in view.parameters


def test_f_get_follows_the_run(view):
    view._set(3)
    assert view.f_get("x").f_get() == 2.0
    assert view.f_get("y", fast_access=True) == 3
    view._set(1)
    assert view.get("x").value == 1.0
    assert view.f_get("y").f_get() == 4


def test_run_identity(view, traj):
    assert view.v_idx == -1 and view.v_crun == "run_ALL"
    view._set(3)
    assert view.v_idx == 3 and view.idx == 3
    assert view.v_crun == "run_00000003" and view.crun == "run_00000003"
    assert view.v_name == "sim" and view.name == "sim"
    assert len(view) == 6


def test_explored_parameters_of_the_run(view):
    view._set(5)
    assert view.f_get_explored_parameters(fast_access=True) == {
        "parameters.x": 2.0, "parameters.y": 5}


def test_trajectory_members_reachable(view):
    view._set(1)
    assert view.v_fast_access is True
    assert view.f_get_run_names()[:2] == ["run_00000000", "run_00000001"]


def test_errors_like_the_trajectory(view):
    view._set(0)
    with pytest.raises(AmbiguousNameError, match="neuron.tau.*synapse.tau"):
        _ = view.tau
    with pytest.raises(NodeNotFoundError, match="did you mean"):
        _ = view.ncar
    with pytest.raises(AttributeError):
        _ = view._private


def test_results_are_recorded(view):
    view._set(2)
    view.f_add_result("z", view.x * view.y, comment="product")
    view.add_result("stats", mean=1.0, std=0.5)
    view.f_add_result("$set.$.w", 3)
    view.results.f_add_result("q", 4)
    view.res.f_add_result("sub.r", 5)
    view.f_add_result(Result, "typed", 6)
    assert view._out == [
        ("z", (5.0,), {"comment": "product"}),  # run 2: x=1.0, y=5
        ("stats", (), {"mean": 1.0, "std": 0.5}),
        ("$set.$.w", (3,), {}),
        ("q", (4,), {}),
        ("sub.r", (5,), {}),
        ("typed", (6,), {}),  # a plain Result class: only the name and value matter
    ]


def test_results_below_a_group_view(view, traj):
    traj.add_result_group("analysis")
    view._set(0)
    view.results.analysis.f_add_result("mean", 1.5)
    assert view._out == [("analysis.mean", (1.5,), {})]


def test_derived_parameters_inside_a_run_are_recorded(view):
    view._set(1)
    view.f_add_derived_parameter("per_run", 3.0, comment="computed in the run")
    from pypetx.parameters import Parameter
    view.f_add_derived_parameter(Parameter, "typed", 1)
    assert view._out == [
        ("derived_parameters.per_run", (3.0,), {"comment": "computed in the run"}),
        ("derived_parameters.typed", (1,), {}),
    ]


def test_explored_derived_parameter():
    traj = Trajectory("derived")
    traj.add_parameter("x", 1.0)
    traj.add_derived_parameter("density", 0.5)
    traj.add_derived_parameter("flow.rate", 1)
    traj.explore({"density": [0.1, 0.2], "rate": [1, 2]})
    view = RunView(traj)
    view._set(1)
    assert view.density == view.derived_parameters.density == view.dpar.density == 0.2
    assert view.rate == view.dpar.flow.rate == view.f_get("rate", fast_access=True) == 2
    assert view.f_get_explored_parameters(fast_access=True) == {
        "derived_parameters.density": 0.2, "derived_parameters.flow.rate": 2}


def test_unexplored_trajectory():
    traj = Trajectory("one")
    traj.add_parameter("x", 1.0)
    view = RunView(traj)
    view._set(0)
    assert view.x == 1.0 and view.parameters.x == 1.0
    assert view.v_crun == "run_00000000"
    assert len(view) == 1


def test_fast_access_off_skeleton_gives_nodes_on_slow_paths():
    traj = Trajectory("slow", fast_access=False)
    traj.add_parameter("traffic.speed", 1.0)
    traj.explore({"speed": [1.0, 2.0]})
    view = RunView(traj)
    view._set(1)
    assert view.speed == 2.0  # fast path: always the value
    assert view.parameters.traffic.speed.value == 2.0


def test_skeleton_survives_pickling(traj):
    view = RunView(pickle.loads(pickle.dumps(traj)))
    view._set(5)
    assert (view.x, view.y) == (2.0, 5)


@pytest.mark.parametrize(
    "name, variable",
    [
        ("z", "z"),
        ("results.z", "z"),
        ("res.z", "z"),
        ("$set.$.z", "z"),
        ("runs.$.z", "z"),
        ("runs.run_00000003.z", "z"),
        ("run_set_00000.crun.z", "z"),
        ("stats.mean", "stats.mean"),
        ("results.$.stats.mean", "stats.mean"),
    ],
)
def test_result_variable(name, variable):
    assert result_variable(name) == variable


def test_result_variable_with_nothing_left():
    with pytest.raises(ValueError, match="has no name left"):
        result_variable("$set.$")
