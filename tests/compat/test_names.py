"""pypet's f_/v_ member names (pypetx.compat.names), used as pypet scripts use them."""

from __future__ import annotations

import numpy as np
import pytest

from pypetx.errors import AmbiguousNameError, ParameterLockedError
from pypetx.explore import cartesian_product
from pypetx.parameters import ArrayParameter, Parameter, Result
from pypetx.trajectory import Trajectory


@pytest.fixture
def traj() -> Trajectory:
    traj = Trajectory("pypet_style", comment="a pypet script")
    traj.f_add_parameter("x", 1.0, comment="I am the first dimension!")
    traj.f_add_parameter("y", 1.0, comment="I am the second dimension!")
    return traj


@pytest.fixture
def explored(traj) -> Trajectory:
    traj.f_explore(cartesian_product({"x": [1.0, 2.0, 3.0, 4.0], "y": [6.0, 7.0, 8.0]}))
    return traj


# -- adding -----------------------------------------------------------------------------


def test_f_add_parameter_forms(traj):
    assert traj.f_get("x").v_comment == "I am the first dimension!"
    w = traj.f_add_parameter(ArrayParameter, "w", np.zeros(3), comment="weights")
    assert isinstance(w, ArrayParameter)
    np.testing.assert_array_equal(traj.w, np.zeros(3))
    p = traj.f_add_parameter(Parameter("z", 3, "ready-made"))
    assert p.v_full_name == "parameters.z"


def test_parameter_groups_relative_adding(traj):
    group = traj.parameters.f_add_parameter_group("traffic", "road traffic")
    assert group.v_full_name == "parameters.traffic"
    traj.par.traffic.f_add_parameter("ncars", 42, comment="cars")
    traj.par.traffic.f_add_parameter(ArrayParameter, "lanes", np.array([1, 2]))
    assert traj.ncars == 42
    assert traj.f_get("traffic.ncars").v_full_name == "parameters.traffic.ncars"
    assert traj.f_get("lanes").v_location == "parameters.traffic"
    sub = traj.f_add_parameter_group("traffic.city")
    sub.f_add_parameter("name_of_city", "Berlin")
    assert traj.par.traffic.city.name_of_city == "Berlin"


def test_derived_config_and_result_adding(traj):
    traj.f_add_derived_parameter("xy", 1.0, comment="x times y")
    traj.derived_parameters.f_add_derived_parameter_group("counts")
    traj.dpar.counts.f_add_derived_parameter("n", 3)
    traj.f_add_config("seed", 1)
    traj.f_add_config_group("io").f_add_config("path", "out")
    traj.f_add_result("z", 42, comment="answer")
    traj.f_add_result("stats", mean=1.0, std=0.1)
    traj.f_add_result_group("analysis").f_add_result("summary", 3)
    assert traj.f_get("derived_parameters.counts.n").f_get() == 3
    assert traj.f_get("config.io.path").f_get() == "out"
    assert traj.f_get("z").f_get() == 42
    assert traj.f_get("stats").f_get("mean", "std") == (1.0, 0.1)
    assert traj.f_get("stats").f_get("mean") == 1.0
    assert traj.f_get("results.analysis.summary").f_get() == 3
    assert traj.f_get("z", fast_access=True) == 42


def test_node_names(traj):
    x = traj.f_get("x")
    assert (x.v_name, x.v_full_name, x.v_location) == ("x", "parameters.x", "parameters")
    assert x.v_is_leaf and not traj.parameters.v_is_leaf
    assert traj.v_is_root and not x.v_is_root
    assert x.f_get_root() is traj
    x.v_comment = "changed"
    assert x.comment == "changed"
    assert traj.v_name == "pypet_style" and traj.v_comment == "a pypet script"


# -- annotations --------------------------------------------------------------------------


def test_v_annotations(traj):
    x = traj.f_get("x")
    x.v_annotations.f_set(source="survey", year=2024)
    assert x.v_annotations.source == "survey"
    assert x.v_annotations.f_get("year") == 2024
    assert x.v_annotations.f_get("source", "year") == ("survey", 2024)
    x.v_annotations.unit_system = "SI"
    assert x.annotations["unit_system"] == "SI"
    assert x.v_annotations.f_to_dict() == {"source": "survey", "year": 2024, "unit_system": "SI"}
    assert not x.v_annotations.f_is_empty()
    with pytest.raises(AttributeError, match="no annotation 'missing'"):
        _ = x.v_annotations.missing
    x.v_annotations.f_remove("unit_system")
    assert "unit_system" not in x.annotations


def test_positional_annotations_are_named_like_pypet(traj):
    y = traj.f_get("y")
    y.f_set_annotations("first", "second", tag="t")
    assert y.annotations == {"annotation": "first", "annotation_1": "second", "tag": "t"}
    assert y.f_get_annotations(0) == "first"
    assert y.f_get_annotations(1, "tag") == ("second", "t")


def test_annotation_f_get_without_names(traj):
    x = traj.f_get("x")
    x.v_annotations.f_set(only="one")
    assert x.v_annotations.f_get() == "one"
    x.v_annotations.f_set(two=2)
    with pytest.raises(ValueError, match=r"has annotations \['only', 'two'\]; say which one"):
        x.v_annotations.f_get()


def test_trajectory_annotations(traj):
    traj.f_set_annotations(experiment="E1")
    assert traj.f_get_annotations("experiment") == "E1"
    assert traj.v_annotations.experiment == "E1"


# -- exploration and runs ---------------------------------------------------------------------


def test_f_explore_and_ranges(explored):
    assert len(explored) == 12
    assert explored.f_get("x").f_get_range() == (1.0, 1.0, 1.0, 2.0, 2.0, 2.0,
                                                 3.0, 3.0, 3.0, 4.0, 4.0, 4.0)
    assert explored.f_get("y").f_get_range()[:4] == (6.0, 7.0, 8.0, 6.0)
    assert explored.f_get("x").f_is_explored() and explored.f_get("x").v_explored
    assert explored.f_get("x").f_has_range()
    assert list(explored.f_get_explored_parameters()) == ["parameters.x", "parameters.y"]
    assert explored.f_get_explored_parameters(fast_access=True) == {
        "parameters.x": 1.0, "parameters.y": 1.0}


def test_v_idx_and_v_crun(explored):
    explored.v_idx = 2
    assert (explored.x, explored.y) == (1.0, 8.0)
    assert explored.v_idx == 2 and explored.v_crun == "run_00000002"
    explored.v_crun = "run_00000004"
    assert (explored.x, explored.y) == (2.0, 7.0)
    explored.f_set_crun(11)
    assert (explored.x, explored.y) == (4.0, 8.0)
    explored.f_restore_default()
    assert explored.v_idx == -1 and explored.v_crun is None    # pypet: None outside runs
    assert explored.v_crun_ == "run_ALL" == explored.f_wildcard("$")
    assert (explored.x, explored.y) == (1.0, 1.0)


def test_f_iter_runs_yields_run_names(explored):
    names = []
    for run in explored.f_iter_runs():
        names.append(run)
        assert explored.v_crun == run
    assert names == explored.f_get_run_names()
    assert names[0] == "run_00000000" and names[-1] == "run_00000011"
    assert explored.v_idx == -1
    products = [explored.x * explored.y for _ in explored.f_iter_runs(start=9, yields="idx")]
    assert products == [24.0, 28.0, 32.0]
    assert list(explored.f_iter_runs(stop=4, step=2, yields="idx")) == [0, 2]


def test_f_find_idx(explored):
    idx = explored.f_find_idx(["x", "y"], lambda x, y: x == 2.0 or y == 8.0)
    assert list(idx) == [2, 3, 4, 5, 8, 11]
    assert list(explored.f_find_idx("x", lambda x: x > 3)) == [9, 10, 11]


def test_f_idx_to_run(explored):
    assert explored.f_idx_to_run(3) == "run_00000003"
    assert explored.f_idx_to_run("run_00000003") == 3


def test_f_expand(explored):
    explored.f_expand(cartesian_product({"x": [5.0], "y": [6.0, 7.0, 8.0]}))
    assert len(explored) == 15
    assert explored.exploration.shape == (5, 3)


# -- presets and locking ----------------------------------------------------------------------


def test_f_preset_parameter():
    traj = Trajectory("preset")
    traj.f_preset_parameter("traffic.ncars", 100)
    traj.f_preset_config("seed", 3)
    traj.f_add_parameter("traffic.ncars", 42)
    traj.f_add_config("seed", 1)
    assert traj.ncars == 100
    assert traj.seed == 3


def test_f_lock_parameters_then_assignment_raises(traj):
    traj.f_add_derived_parameter("xy", 1.0)
    traj.f_lock_parameters()
    assert traj.f_get("x").v_locked
    with pytest.raises(ParameterLockedError, match="parameter 'parameters.x' is locked"):
        traj.x = 3.0
    with pytest.raises(ParameterLockedError, match="'parameters.y' is locked"):
        traj.f_get("y").f_set(3.0)
    traj.xy = 2.0  # derived parameters are not locked by f_lock_parameters
    traj.f_lock_derived_parameters()
    with pytest.raises(ParameterLockedError, match="'derived_parameters.xy'"):
        traj.xy = 3.0
    traj.f_get("x").f_unlock()
    traj.x = 3.0
    assert traj.f_get("x").f_get() == 3.0


def test_parameter_members(traj):
    x = traj.f_get("x")
    x.f_set(2.0)
    assert x.f_get() == 2.0 and x.f_get_default() == 2.0
    assert x.f_val_to_str() == "2.0"
    assert not x.f_is_empty()
    assert x.f_supports(np.ones(2)) and not x.f_supports(object())
    x.f_lock()
    assert x.v_locked
    with pytest.raises(TypeError, match="is not explored"):
        x.f_get_range()


def test_result_members(traj):
    res = traj.f_add_result("stats", mean=1.0)
    res.f_set(std=0.5)
    res.f_set_single("n", 10)
    assert res.f_to_dict() == {"mean": 1.0, "std": 0.5, "n": 10}
    assert not res.f_supports_fast_access()
    single = traj.f_add_result("z", 3)
    assert single.f_supports_fast_access() and single.f_get() == 3
    res.f_empty()
    assert res.f_is_empty()
    assert isinstance(traj.f_get("z"), Result)


# -- groups -------------------------------------------------------------------------------------


def test_group_members(traj):
    traj.f_add_parameter("traffic.ncars", 42)
    assert traj.f_contains("parameters.x")
    assert not traj.f_contains("x")  # pypet: no shortcuts unless asked
    assert traj.f_contains("x", shortcuts=True)
    assert traj.f_contains(traj.f_get("ncars"))
    assert set(traj.parameters.f_get_children()) == {"x", "y", "traffic"}
    assert traj.parameters.f_children() == 3 and traj.parameters.f_has_children()
    assert list(traj.parameters.f_get_groups()) == ["traffic"]
    assert list(traj.f_get_leaves()) == ["parameters.x", "parameters.y", "parameters.traffic.ncars"]
    assert [leaf.v_name for leaf in traj.f_iter_leaves()] == ["x", "y", "ncars"]
    assert [n.v_name for n in traj.parameters.f_iter_nodes(recursive=False)] == ["x", "y", "traffic"]


def test_f_find_by_tag_and_pattern(traj):
    traj.f_get("x").add_tags("axis")
    assert traj.f_find(tag="axis") == [traj.f_get("x")]
    assert [n.v_name for n in traj.f_find("parameters.*", leaves_only=True)] == ["x", "y"]


def test_f_add_link_and_remove(traj):
    traj.f_add_link("xx", traj.f_get("x"))
    assert traj.xx == 1.0
    traj.results.f_add_link(traj.f_get("y"))  # pypet: under the node's own name
    assert traj.results.y == 1.0
    traj.f_add_parameter("neuron.tau", 1.0)
    traj.f_add_parameter("synapse.tau", 1.0)
    with pytest.raises(AmbiguousNameError):
        traj.f_get("tau")
    traj.parameters.f_remove_child("synapse", recursive=True)
    assert traj.f_get("tau").v_full_name == "parameters.neuron.tau"


def test_v_properties(traj):
    assert traj.v_fast_access is True
    traj.v_fast_access = False
    assert isinstance(traj.x, Parameter)
    traj.v_fast_access = True
    assert traj.v_trajectory is traj
    assert traj.v_standard_parameter is Parameter
    assert traj.v_standard_result is Result
    assert isinstance(traj.v_timestamp, float)
    assert traj.v_time.count("_") == 3  # pypet's 2024_01_31_12h00m00s
    assert traj.f_get_results_dataset() is None
