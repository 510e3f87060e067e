"""pypet's names and behaviours of issue #18 (the gaps pypet's own test suite found)."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pandas as pd
import pytest

from pypetx import Environment, Parameter, PickleParameter, PickleResult, Result, Trajectory
from pypetx.base.errors import AmbiguousNameError, InvalidNameError, LinkError
from pypetx.compat import NNGroupNode, ObjectTable
from pypetx.utils.explore import cartesian_product


def test_object_table_keeps_python_objects(tmp_path):
    table = ObjectTable(data={"name": ["Luke", "Han"], "n": [42, 43]})
    assert isinstance(table, pd.DataFrame) and (table.dtypes == object).all()
    assert type(table.iloc[:1]) is ObjectTable
    assert type(table["n"].iloc[0]) is int


def test_dict_results_with_tuple_and_list_values_round_trip(tmp_path):
    traj = Trajectory("dicts", filename=str(tmp_path / "d.h5"))
    value = {"a": "b", "c": 42, "d": (1, 2, 3), "e": [1, "x"]}
    traj.f_add_result("stats", value)
    traj.f_store()
    loaded = Trajectory(filename=str(tmp_path / "d.h5"))
    loaded.f_load(index=-1, load_results=2)
    assert loaded.stats == value and isinstance(loaded.stats["d"], tuple)


def test_pickle_leaves_take_a_protocol():
    assert PickleParameter("p", {1: object}, protocol=4).v_protocol == 4
    assert PickleParameter("p", 1).v_protocol == 2
    assert PickleResult("r", 1, protocol=3).v_protocol == 3


def test_result_items_by_number_assignment_and_deletion():
    res = Result("group.args", 1, 2)
    assert res.v_name == "args" and res.v_full_name == "group.args"
    assert res.f_get(0) == 1 and res[1] == 2 and res.f_get("args_1") == 2
    res[2] = 3
    res.extra = 4
    assert res.f_get(2, "extra") == [3, 4] and res.f_get(2, "extra") == (3, 4)
    assert "extra" in dir(res) and 2 in res
    del res.extra
    del res[2]
    assert "extra" not in res and 2 not in res
    with pytest.raises(AttributeError):
        res.f_get("nope")
    with pytest.raises(KeyError):
        res["nope"]
    assert Result("single", 5).f_get("data") == 5  # pypet: 'data' is the single item
    assert Result("r", a=1).f_val_to_str() == "a=1"


def test_a_free_leaf_named_by_its_path_goes_there():
    traj = Trajectory("paths")
    traj.f_add_result(Result("test.res.on_constructor", 42))
    assert traj.f_get("results.test.res.on_constructor").on_constructor == 42


def test_annotations_by_item_and_as_string():
    traj = Trajectory("ann")
    x = traj.f_add_parameter("x", 1)
    x.v_annotations["b"] = 2
    x.v_annotations.a = "one"
    assert x.v_annotations["a"] == "one" and len(x.v_annotations) == 2
    assert x.f_ann_to_str() == "a=one; b=2" == str(x.v_annotations)
    del x.v_annotations["b"]
    assert x.v_annotations.f_to_dict() == {"a": "one"}
    assert traj.f_add_parameter("y", 2).v_annotations.f_to_dict(copy=False) == {}
    with pytest.raises(AttributeError):
        traj.f_get("y").v_annotations.f_get()  # pypet: no annotation at all


def test_vars_func_depth_branch_and_is_parameter():
    traj = Trajectory("names")
    p = traj.f_add_parameter("group.p", 1)
    res = traj.func.add_result("testgroup.test", k=42)
    assert traj.vars.name == traj.v_name == "names"
    assert res.vars.comment == res.v_comment and res.vars.full_name == "results.testgroup.test"
    with pytest.raises(AttributeError):
        res.vars.k  # an item, not a v_ name
    assert p.v_is_parameter and not res.v_is_parameter
    assert p.v_depth == 3 and traj.v_depth == 0 and p.v_branch == "parameters"
    assert res.v_run_branch == "trajectory"
    assert traj.f_add_result("runs.run_00000001.z", 1).v_run_branch == "run_00000001"
    assert not traj.f_is_empty() and Trajectory("empty").f_is_empty()


def test_adding_by_item_assignment_and_f_add_leaf():
    traj = Trajectory("assign")
    traj.parameters["x"] = Parameter("x", 1)
    traj["r_1"] = NNGroupNode("")
    traj.r_1.f_add_leaf("gen", 42)
    assert traj.x == 1 and traj.f_get("r_1.gen").gen == 42
    traj.f_add_group("imgeneric.sub").f_add_group("deeper")
    assert isinstance(traj.imgeneric, NNGroupNode) and traj.imgeneric.sub.deeper.v_depth == 3
    assert traj["parameters", "x"] == traj.x


def test_iter_nodes_is_breadth_first_with_a_predicate():
    traj = Trajectory("bfs")
    traj.f_add_parameter("a.b.c", 1)
    traj.f_add_result("r", 2)
    names = [n.v_full_name for n in traj.f_iter_nodes()]
    assert names == ["parameters", "results", "parameters.a", "results.r", "parameters.a.b",
                     "parameters.a.b.c"]  # empty top groups do not show, as in pypet
    kept = [n.v_full_name for n in traj.f_iter_nodes(predicate=lambda n: n.v_name != "a")]
    assert kept == ["parameters", "results", "results.r"]
    assert len(list(traj.f_iter_nodes(max_depth=1))) == 2


def test_shortcuts_take_the_shallowest_match():
    traj = Trajectory("shallow")
    traj.f_add_parameter("peter", 1)
    traj.f_add_parameter("group.deep.peter", 2)
    assert traj.peter == 1
    traj.f_add_parameter("other.tau", 3)
    traj.f_add_parameter("more.tau", 4)
    with pytest.raises(AmbiguousNameError):
        traj.tau  # same depth: still ambiguous


def test_member_names_with_a_warning_through_pypet_methods_only():
    traj = Trajectory("members")
    with pytest.warns(UserWarning, match="'name'.*member name or a keyword"):
        traj.f_add_parameter("hi.my.name", 1)
    assert traj["hi.my.name"] == 1
    assert traj.f_get("parameters.hi.my.name").f_get() == 1
    with pytest.raises(InvalidNameError, match="reserved member"):
        traj.add_parameter("idx", 1)  # the plain method still refuses


def test_cyclic_links_through_pypet_names_only():
    traj = Trajectory("cycles")
    traj.f_add_parameter("test.x", 1)
    traj.parameters.test.f_add_link("circle", traj.parameters)
    assert traj.parameters.test.circle.test.x == 1
    with pytest.raises(LinkError, match="cycle"):
        traj.add_link("parameters.test.again", "parameters")


def test_exploring_in_two_calls_before_the_run(tmp_path):
    env = Environment(trajectory="twice", filename=str(tmp_path / "t.h5"),
                      cluster="synchronous")
    traj = env.trajectory
    traj.f_add_parameter("x", 1)
    traj.f_add_parameter("y", 1.0)
    traj.f_explore(cartesian_product({"x": [1, 2]}))
    traj.f_explore({"y": [3.0, 4.0]})
    assert traj.f_get("x").f_get_range() == (1, 2) and traj.f_get("y").f_get_range() == (3.0, 4.0)
    with pytest.raises(Exception):
        traj.f_explore({"x": [5, 6]})  # already explored: f_expand adds points
    assert traj.f_get("x").f_get_range() == (1, 2)
    env.run(lambda t: t.f_add_result("z", t.x * t.y))
    assert traj.f_get_from_runs("z", fast_access=True) == {"run_00000000": 3.0,
                                                           "run_00000001": 8.0}


def test_dollar_in_new_names_outside_a_run():
    traj = Trajectory("dollar")
    p = traj.f_add_derived_parameter("X.$", 1)
    assert p.v_full_name == "derived_parameters.X.run_ALL"
    assert traj.f_add_result_group("$set").v_full_name == "results.run_set_ALL"


def test_a_custom_parameter_sees_the_value_first():
    class FunctionParameter(Parameter):  # pypet's example 5
        def _convert_data(self, val):
            return inspect.getsource(val) if callable(val) else super()._convert_data(val)

    class Doubled(Parameter):
        def f_set(self, data):
            super().f_set(data * 2)

    def diff(x):
        return x

    traj = Trajectory("custom")
    traj.f_add_derived_parameter(FunctionParameter, "diff_eq", diff, comment="source")
    traj.f_add_parameter(Doubled, "d", 21)
    assert traj.diff_eq.strip().startswith("def diff(x)") and traj.d == 42


def test_pypet_brian2_module_paths():
    pytest.importorskip("brian2")
    from brian2 import mV

    from pypetx.brian2.network import NetworkRunner
    from pypetx.brian2.parameter import Brian2Parameter, get_unit_fast
    from pypetx.integrations import brian2 as integration

    assert Brian2Parameter is integration.Brian2Parameter
    assert NetworkRunner is integration.NetworkRunner
    assert get_unit_fast(42 * mV) == 1000 * mV


def test_spike_monitor_extra_variables_and_monitor_type():
    brian2 = pytest.importorskip("brian2")
    from pypetx.brian2.parameter import Brian2MonitorResult

    brian2.start_scope()
    group = brian2.NeuronGroup(3, "dv/dt = (1.1 - v) / (10*ms) : 1", threshold="v > 1",
                               reset="v = 0", method="exact")
    monitor = brian2.SpikeMonitor(group, variables=["v"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        brian2.run(30 * brian2.ms)
    res = Brian2MonitorResult("spikes", monitor)
    assert res.v_monitor_type == "SpikeMonitor"
    assert sorted(res._data) == ["count", "i", "t", "v"]
    np.testing.assert_array_equal(res.v, np.asarray(monitor.v))


def test_runs_by_position(multiplied):
    _env, filename = multiplied
    traj = Trajectory(filename=filename)
    traj.f_load(index=-1, load_results=2)
    assert traj.res.runs[4].z == traj.res.runs.run_00000004.z == 14
    assert traj.res.runs[-1].z == 32
    with pytest.raises(IndexError):
        traj.res.runs[12]


def test_assigning_a_result_inside_a_run(tmp_path):
    def run(traj):
        traj.hi = Result("hi", traj.x * 2, comment="doubled")
        traj.stats = Result("", mean=traj.x / 2, top=traj.x)

    env = Environment(trajectory="assigned", filename=str(tmp_path / "a.h5"),
                      cluster="synchronous")
    traj = env.trajectory
    traj.f_add_parameter("x", 1)
    traj.f_explore({"x": [1, 2]})
    env.run(run)
    ds = env.dataset
    assert ds.hi.values.tolist() == [2, 4] and ds.hi.attrs["comment"] == "doubled"
    assert ds["stats.mean"].values.tolist() == [0.5, 1.0]
    assert ds["stats.top"].values.tolist() == [1, 2]


def test_merge_all_in_folder_and_merge_many(tmp_path):
    from pypetx.compat import merge_all_in_folder

    for i, xs in enumerate(([1, 2], [3], [4])):
        env = Environment(trajectory=f"part{i}", filename=str(tmp_path / f"part{i}.hdf5"),
                          cluster="synchronous")
        env.trajectory.f_add_parameter("x", 0)
        env.trajectory.f_explore({"x": xs})
        env.run(lambda t: t.f_add_result("z", t.x * 10))
    merged = merge_all_in_folder(str(tmp_path), delete_other_files=True)
    assert sorted(merged.f_get_from_runs("z", fast_access=True).values()) == [10, 20, 30, 40]
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".hdf5") == ["part0.hdf5"]
