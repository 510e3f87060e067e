"""pypet calls a pypet user makes beyond the examples, with pypet's documented effect (or a
clear error where pypetx has no counterpart)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from pypetx import Environment, Parameter, SweepFailed, Trajectory, pypetconstants
from pypetx.compat import (
    DataNotInStorageError,
    SharedArray,
    SharedResult,
    SharedTable,
    StorageContextManager,
    make_shared_result,
)
from pypetx.compat.options import IGNORED_ENVIRONMENT_OPTIONS
from pypetx.utils.explore import cartesian_product


@pytest.fixture
def traj():
    traj = Trajectory("removal")
    traj.f_add_parameter("x", 1)
    traj.f_add_parameter("neuron.tau", 10.0)
    traj.f_add_parameter("neuron.group.n", 3)
    traj.f_add_result("summary.mean", 1.5)
    traj.f_add_result("summary.stats", mean=1.0, std=0.5)
    return traj


# -- removing from memory -------------------------------------------------------------------

def test_f_remove_child_follows_pypet(traj):
    with pytest.raises(ValueError, match="has no child 'nope'"):
        traj.parameters.f_remove_child("nope")
    with pytest.raises(TypeError, match="group with children; remove it with recursive=True"):
        traj.parameters.f_remove_child("neuron")
    traj.par.neuron.f_remove_child("tau")
    assert "neuron.tau" not in traj.parameters and traj.n == 3
    traj.parameters.f_remove_child("neuron", recursive=True)
    assert traj.f_get("parameters").f_get_children().keys() == {"x"}


def test_f_remove_with_predicate_keeps_groups_that_keep_children(traj):
    traj.results.f_remove_child("summary", recursive=True,
                                predicate=lambda node: node.v_name != "stats")
    assert list(traj.res.summary.f_get_children()) == ["stats"]
    traj.res.summary.f_remove()  # a group removes itself from its parent
    assert "summary" not in traj.results


def test_top_groups_and_the_trajectory_are_emptied_not_removed(traj):
    traj.res.f_remove()  # pypet's example 19 frees the results group this way
    assert traj.results.f_get_children() == {} and traj.f_get("results") is traj.results
    traj.f_add_result("again", 1)  # and adds to it later
    traj.f_remove()
    assert all(traj.f_get(top).f_get_children() == {} for top in
               ("config", "parameters", "derived_parameters", "results"))
    with pytest.raises(ValueError, match="only be removed recursively"):
        traj.f_remove(recursive=False)


def test_explored_parameters_cannot_be_removed(traj):
    traj.f_explore({"x": [1, 2]})
    with pytest.raises(TypeError, match=r"cannot remove explored parameters \['parameters.x'\]"):
        traj.parameters.f_remove_child("x")
    with pytest.raises(TypeError, match="explored"):
        traj.f_remove()
    assert traj.f_get("x").f_get_range() == (1, 2)  # nothing was removed


def test_links_and_result_items(traj):
    traj.f_add_link("tau_link", traj.f_get("tau"))
    traj.f_remove_link("tau_link")
    assert "tau_link" not in traj._links
    with pytest.raises(ValueError, match="has no link"):
        traj.f_remove_link("tau_link")
    stats = traj.f_get("stats")
    stats.f_remove("std")  # pypet's Result.f_remove: items of a result
    assert stats.f_to_dict() == {"mean": 1.0}
    with pytest.raises(AttributeError, match="has no item 'std'"):
        stats.f_remove("std")


def test_f_remove_items_frees_memory_the_file_keeps_them(traj, tmp_path):
    traj._store_path = str(tmp_path / "r.h5")
    traj.f_store()
    traj.f_remove_items([traj.f_get("summary.mean"), "neuron.group.n"])
    traj.f_remove_item("stats")
    assert "mean" not in traj.res.summary and "n" not in traj.par.neuron.group
    with pytest.warns(UserWarning, match="none of the items to remove"):
        traj.f_remove_item("no_such_item")
    traj.f_store()  # storing adds to what is stored: nothing is deleted
    loaded = Trajectory(filename=str(tmp_path / "r.h5"))
    loaded.f_load(index=-1, load_results=pypetconstants.LOAD_DATA)
    assert loaded.mean == 1.5 and loaded.n == 3 and loaded.stats.std == 0.5


# -- deleting from the file -----------------------------------------------------------------

def _stored_run(tmp_path):
    env = Environment("deleting", filename=str(tmp_path / "d.h5"), cluster="synchronous")
    traj = env.traj
    traj.f_add_parameter("x", 1)
    traj.f_add_parameter("unused.y", 2)
    traj.f_add_parameter("unused.w", 3)
    traj.f_explore({"x": [1, 2, 3]})
    traj.f_add_result("summary.mean", 1.5)
    traj.f_add_result("summary.stats", mean=1.0, std=0.5)
    env.run(lambda t: t.f_add_result("z", t.x * 10))
    return env, traj


def _reload(path):
    loaded = Trajectory(filename=path)
    loaded.f_load(index=-1, load_results=pypetconstants.LOAD_DATA)
    return loaded


def test_f_delete_items_deletes_stored_items(tmp_path):
    env, traj = _stored_run(tmp_path)
    traj.f_delete_item("summary.mean")
    assert traj.mean == 1.5  # pypet: kept in memory unless remove_from_trajectory
    loaded = _reload(env.filename)
    assert "summary.mean" not in loaded.results and loaded.stats.std == 0.5
    assert loaded.f_get_from_runs("z", fast_access=True, use_indices=True) == {
        0: 10, 1: 20, 2: 30}  # the runs' results are untouched
    traj.f_delete_items(["stats"], delete_only=["std"], remove_from_item=True)
    assert traj.stats.f_to_dict() == {"mean": 1.0}
    assert _reload(env.filename).stats.f_to_dict() == {"mean": 1.0}
    with pytest.raises(TypeError, match="group with children"):
        traj.f_delete_item("unused")
    traj.f_delete_item("unused", recursive=True, remove_from_trajectory=True)
    assert "unused" not in traj.parameters and "unused" not in _reload(env.filename).parameters
    assert traj.res.runs.run_00000002.z == 30  # the trajectory still reads its runs


def test_f_delete_items_errors(tmp_path):
    _, traj = _stored_run(tmp_path)
    with pytest.raises(NotImplementedError, match="variable of the result cube.*drop_vars"):
        traj.f_delete_item("results.runs.run_00000001.z")
    with pytest.raises(NotImplementedError, match="result of the runs"):
        traj.f_delete_item("z")
    with pytest.raises(TypeError, match="explored"):
        traj.f_delete_item("x")
    with pytest.raises(DataNotInStorageError, match="'nothing' is not stored"):
        traj.f_delete_item("nothing")
    fresh = Trajectory("never_stored", filename=str(tmp_path / "other.h5"))
    fresh.f_add_parameter("a", 1)
    with pytest.raises(DataNotInStorageError, match="is not stored"):
        fresh.f_delete_item("a")


# -- Environment options, shared data -----------------------------------------------------------

def test_every_pypet_environment_option_is_accepted_with_one_warning(tmp_path):
    options = dict.fromkeys(IGNORED_ENVIRONMENT_OPTIONS - {"ncores", "multiproc"}, None)
    options.update(add_time=True, automatic_storing=False, freeze_input=True, wrap_mode="LOCK")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Environment("opts", filename=str(tmp_path / "o.h5"), **options)
    assert len(caught) == 1 and caught[0].category is DeprecationWarning
    assert "\n" not in str(caught[0].message) and "add_time" in str(caught[0].message)
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['nonsense'\]"):
        Environment("opts", filename=str(tmp_path / "o.h5"), nonsense=1)


def test_shared_data_is_refused_with_the_pypetx_way(tmp_path):
    for cls in (SharedArray, SharedTable, SharedResult):
        with pytest.raises(NotImplementedError, match="traj.f_add_result.*result cube"):
            cls()
    with pytest.raises(NotImplementedError, match="make_shared_result"):
        make_shared_result(None, "key", None)
    traj = Trajectory("shared")
    with pytest.raises(NotImplementedError, match="SharedResult"):
        traj.f_add_result(SharedResult, "shared_data")

    def in_run(t):
        t.f_add_result(SharedResult, "shared_data")

    env = Environment(traj, filename=str(tmp_path / "s.h5"), cluster="synchronous")
    with pytest.raises(SweepFailed):
        env.run(in_run)
    assert "SharedResult: pypet's shared data" in str(env.dataset.failure_error.values[0])


def test_storage_context_manager_block_runs(tmp_path):
    traj = Trajectory("ctx", filename=str(tmp_path / "c.h5"))
    traj.f_add_parameter("x", 1)
    with pytest.warns(DeprecationWarning, match="StorageContextManager has no effect"):
        scm = StorageContextManager(traj)
    with scm:
        traj.f_store()
        scm.flush_store()
    assert _reload(str(tmp_path / "c.h5")).x == 1


# -- the default run, run iteration, the current run --------------------------------------------

def test_default_run_results_fill_runs_without_their_own(tmp_path):
    def maybe(traj):
        if traj.x > 1:
            traj.f_add_result("runs.$.z", float(traj.x))

    env = Environment("default", filename=str(tmp_path / "dr.h5"), cluster="synchronous")
    traj = env.traj
    traj.f_add_parameter("x", 1)
    traj.f_explore({"x": [1, 2, 3]})
    traj.f_add_result("runs.$.z", -1.0)  # outside a run, "$" is pypet's default run
    assert traj.f_get("results.runs.run_ALL.z").f_get() == -1.0
    env.run(maybe)
    with_default = traj.f_get_from_runs("z", fast_access=True, use_indices=True)
    assert with_default == {0: -1.0, 1: 2.0, 2: 3.0}
    without = traj.f_get_from_runs("z", fast_access=True, use_indices=True,
                                   include_default_run=False)
    assert np.isnan(without[0]) and without[2] == 3.0  # pypetx keeps the missing cell
    assert traj.res.runs.run_00000002.z == 3.0  # run names still read the cube
    loaded = _reload(env.filename)
    assert loaded.f_get_from_runs("z", fast_access=True)["run_00000000"] == -1.0


def test_f_get_from_runs_shortcuts(tmp_path):
    env = Environment("short", filename=str(tmp_path / "sc.h5"), cluster="synchronous")
    env.traj.f_add_parameter("x", 1)
    env.traj.f_explore({"x": [1, 2]})
    def rates(t):
        t.f_add_result("statistics.rate", t.x * 2.0)
        t.f_add_result("other.rate", 0.0)

    env.run(rates)
    traj = env.traj
    with pytest.raises(AttributeError, match="names several results"):
        traj.f_get_from_runs("rate")
    assert traj.f_get_from_runs("statistics.rate", fast_access=True, use_indices=True) == {
        0: 2.0, 1: 4.0}
    assert list(traj.f_get_from_runs("rate", shortcuts=False)) == []


def test_f_iter_runs_yields(tmp_path):
    traj = Trajectory("iter")
    traj.f_add_parameter("x", 1)
    traj.f_explore({"x": [10, 20, 30]})
    assert list(traj.f_iter_runs()) == ["run_00000000", "run_00000001", "run_00000002"]
    assert list(traj.f_iter_runs(1, yields="IDX")) == [1, 2]
    assert [t.x for t in traj.f_iter_runs(yields="self")] == [10, 20, 30]
    copies = list(traj.f_iter_runs(yields="copy"))
    assert [c.x for c in copies] == [10, 20, 30] and all(c is not traj for c in copies)
    assert traj.v_idx == -1 and traj.x == 1  # the default again
    with pytest.raises(ValueError, match="stop=4 is past the last run"):
        list(traj.f_iter_runs(stop=4))
    with pytest.raises(ValueError, match="yields must be"):
        list(traj.f_iter_runs(yields="names"))


def test_v_crun_outside_and_inside_runs(tmp_path):
    traj = Trajectory("crun")
    traj.f_add_parameter("x", 1)
    traj.f_explore({"x": [1, 2]})
    assert traj.v_crun is None and traj.v_crun_ == "run_ALL"   # pypet: None outside runs
    traj.v_crun = "run_00000001"
    assert traj.v_crun == "run_00000001" and traj.x == 2 and traj.f_wildcard("$set") == \
        "run_set_00000"
    traj.v_crun = None
    assert traj.v_idx == -1
    env = Environment(traj, filename=str(tmp_path / "c.h5"), cluster="synchronous")
    assert [r for _, r in env.run(lambda t: t.v_crun)] == ["run_00000000", "run_00000001"]


def test_group_f_to_dict_and_f_get_all():
    traj = Trajectory("dicts")
    traj.f_add_parameter("Net.C", 2.0)
    traj.f_add_parameter("Net.sub.N", 5)
    traj.f_add_parameter("other.N", 6)
    assert traj.Net.f_to_dict(short_names=True, fast_access=True) == {"C": 2.0, "N": 5}
    assert list(traj.Net.f_to_dict()) == ["parameters.Net.C", "parameters.Net.sub.N"]
    with pytest.raises(ValueError, match="short name 'N' is not unique"):
        traj.parameters.f_to_dict(short_names=True)
    assert [n.v_full_name for n in traj.f_get_all("N")] == [
        "parameters.Net.sub.N", "parameters.other.N"]


def test_standard_parameter_class_is_used(tmp_path):
    class Doubled(Parameter):
        def f_set(self, data):
            return super().f_set(data * 2)

    traj = Trajectory("standard")
    traj.v_standard_parameter = Parameter
    assert traj.f_add_parameter("a", 1).__class__ is Parameter
    traj.v_standard_parameter = Doubled
    assert isinstance(traj.f_add_parameter("b", 1), Doubled)
    assert traj.v_standard_parameter is Doubled
    assert isinstance(traj.f_add_parameter(Parameter, "c", 1), Parameter)


def test_example_explorations_still_cartesian():
    assert cartesian_product({"x": [1, 2], "y": [3]}) == {"x": [1, 2], "y": [3, 3]}
