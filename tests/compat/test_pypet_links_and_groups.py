"""pypet's names and behaviours found by pypet's own unit tests (``make pypet-suite``):
links (cycles stored and loaded, ``v_with_links``, shortcuts through links,
``f_delete_link``), results added by hand under run groups (``f_get_from_runs`` without a
run), pypet's string forms, ``f_iter_nodes`` filtered by runs, and the smaller names."""

from __future__ import annotations

import pytest

from pypetx import Environment, Parameter, Trajectory
from pypetx.base.errors import NodeNotFoundError
from pypetx.compat import SparseResult


@pytest.fixture
def linked(tmp_path):
    """parameters.test and parameters.test2 linked to each other (a cycle, as pypet
    allows), to be stored in ``tmp_path / "links.hdf5"``."""
    traj = Trajectory("links", filename=str(tmp_path / "links.hdf5"))
    traj.f_add_parameter_group("test.test3")
    traj.f_add_parameter_group("test2")
    traj.test.f_add_link("circle1", traj.test2)
    traj.test2.f_add_link("circle2", traj.test)
    return traj


def test_cyclic_links_are_stored_and_loaded(tmp_path, linked):
    filename = str(tmp_path / "links.hdf5")
    linked.f_add_result("kk", 42)
    linked.par.f_add_link("gg", linked.f_get("kk"))
    linked.f_store()
    loaded = Trajectory(filename=filename)
    loaded.f_load(name="links", load_data=2)
    assert loaded.test.circle1 is loaded.test2
    assert loaded.test.circle1.circle2 is loaded.test
    assert loaded.gg == 42


def test_delete_link_removes_it_from_the_file(tmp_path, linked):
    filename = str(tmp_path / "links.hdf5")
    linked.f_add_result("kk", 42)
    linked.par.f_add_link("gg", linked.f_get("kk"))
    linked.f_store()
    linked.f_delete_link("parameters.gg")
    assert "gg" in linked.par._links  # the tree in memory keeps it unless asked
    loaded = Trajectory(filename=filename)
    loaded.f_load(name="links", load_data=2)
    with pytest.raises(AttributeError):
        loaded.gg
    assert loaded.test.circle1 is loaded.test2  # the other links stay
    with pytest.raises(ValueError, match="no link"):
        linked.f_delete_link("parameters.nolink")


def test_v_with_links_false_does_not_follow_links(linked):
    assert linked.test.circle1 is linked.test2
    assert linked.test2.test3 is linked.par.test.test3  # a shortcut through a link
    linked.v_with_links = False
    with pytest.raises(AttributeError):
        linked.test.circle1
    with pytest.raises(AttributeError):
        linked.test2.test3
    # f_iter_nodes' own with_links still decides there
    assert any(n is linked.test2 for n in linked.test.f_iter_nodes(with_links=True))
    linked.v_with_links = True
    assert "circle1" in linked and "circle1" in linked.test
    assert not linked.f_contains("circle1", with_links=False)
    assert not linked.test.f_contains("circle1", with_links=False)
    with pytest.raises(AttributeError):
        linked.f_get("test2.test3", with_links=False)


def test_environment_sets_trajectory_properties(tmp_path):
    env = Environment(trajectory="props", filename=str(tmp_path / "p.hdf5"),
                      cluster="synchronous", v_auto_load=False, with_links=False)
    assert env.trajectory.v_with_links is False and env.trajectory.v_auto_load is False
    with pytest.raises(TypeError, match="unexpected"):
        Environment(trajectory="props", filename=str(tmp_path / "q.hdf5"),
                    cluster="synchronous", v_no_such_property=1)


def test_get_from_runs_reads_results_added_under_run_groups():
    traj = Trajectory("byhand")
    traj.f_add_parameter("x", 1.0)
    traj.f_explore({"x": [1.0, 2.0, 3.0, 4.0]})
    traj.f_add_result("results.runs.run_set_00001.run_00000000.sub.rt", 42)
    traj.f_add_result("results.runs.run_set_00001.run_00000001.sub.rt", 43)
    traj.f_add_result("results.runs.run_00000003.sub.rt2", 45)
    traj.f_add_derived_parameter("derived_parameters.runs.run_00000002.testing", 44)
    assert traj.f_get_from_runs("nothing") == {}
    assert dict(traj.f_get_from_runs("rt", fast_access=True)) == \
        {"run_00000000": 42, "run_00000001": 43}
    by_idx = traj.f_get_from_runs("sub.rt2", use_indices=True)
    assert list(by_idx) == [3] and by_idx[3] is traj.f_get("run_00000003.rt2")
    assert len(traj.f_get_from_runs("testing", where="derived_parameters")) == 1
    traj.f_add_result("results.runs.run_ALL.sub.rt2", 0)
    default = traj.f_get_from_runs("sub.rt2", use_indices=True)
    assert sorted(default) == [0, 1, 2, 3] and default[0] is traj.f_get("run_ALL.rt2")
    assert list(traj.f_get_from_runs("sub.rt2", use_indices=True,
                                     include_default_run=False)) == [3]


def test_iter_nodes_filtered_by_runs():
    traj = Trajectory("runs")
    traj.f_add_parameter("x", 1)
    traj.f_explore({"x": [1, 2]})
    for run in ("run_ALL", "run_00000000", "run_00000001"):
        traj.f_add_result(f"results.{run}.rt", 1)
    names = [n.v_full_name for n in traj.f_iter_nodes(predicate=("run_00000001", -1))]
    assert "results.run_00000001.rt" in names and "results.run_ALL.rt" in names
    assert not any("run_00000000" in name for name in names)


def test_iter_recursive_walks_the_tree():
    traj = Trajectory("walk")
    traj.f_add_parameter("a.b.c", 1)
    assert "parameters.a.b.c" not in [n.v_full_name for n in traj]
    traj.v_iter_recursive = True
    assert "parameters.a.b.c" in [n.v_full_name for n in traj]


def test_pypet_string_forms():
    traj = Trajectory("strings")
    traj.par.ggg = Parameter("", 444, "Hey")
    assert str(traj.f_get("ggg")) == "Parameter parameters.ggg (`Hey`): 444"
    traj.f_add_group("few")
    traj.f_add_group("many")
    for i in range(6):
        traj.many.f_add_group(f"g{i}")
        if i < 5:
            traj.few.f_add_group(f"g{i}")
    assert not str(traj.few).endswith("...") and str(traj.many).endswith("...")
    res = traj.f_add_result("r", 5, comment="c")
    assert str(res) == "Result results.r (`c`): r=5"


def test_smaller_names():
    traj = Trajectory("small")
    traj.f_apar("test.test2", 42)
    traj.f_ares("res", 1)
    traj.f_adpar("dp", 2)
    assert traj.kids.parameters.kids.test.kids.test2.data == 42  # kids give the nodes
    assert set(traj.f_dir_data()) == set(traj.f_get_children())
    debug = traj.f_debug()
    assert debug.parameters is traj.par
    with pytest.raises(ValueError):
        traj.f_get_parameters(copy=False, fast_access=True)
    with pytest.raises(ValueError):
        traj.f_store(only_init=True, recursive=False)
    with pytest.raises(TypeError):
        traj.f_add_to_dynamic_imports(44)
    traj.f_add_to_dynamic_imports(Parameter)
    with pytest.raises(AttributeError):
        SparseResult("s").f_set(**{"val" + SparseResult.IDENTIFIER: 42})
    traj.v_idx = 0
    with pytest.raises(NodeNotFoundError, match="run_00000000"):
        traj.par.crun.test


def _run_with_links(traj):
    """A run that asks for results by name and links one of its results (pypet's style)."""
    assert "nothing.here" not in traj.res
    assert "runs" in traj.res  # pypet's run groups name this run's results
    traj.f_add_result("z", traj.x * 2)
    assert "z" in traj.res
    traj.res.f_add_group("alias.of").f_add_link("z", "z")
    traj.f_add_link("zz", "z")


def test_links_inside_runs_are_results_of_the_run(tmp_path):
    env = Environment(trajectory="inrun", filename=str(tmp_path / "r.hdf5"),
                      cluster="synchronous")
    traj = env.trajectory
    traj.f_add_parameter("x", 1)
    traj.f_explore({"x": [1, 2, 3]})
    env.run(_run_with_links)
    ds = env.dataset
    assert ds["alias.of.z"].values.tolist() == ds["z"].values.tolist() == [2, 4, 6]
    assert ds["zz"].values.tolist() == [2, 4, 6]


def _run_linking_nothing(traj):
    traj.f_add_link("zz", None)


def test_link_inside_a_run_needs_a_result_of_the_run(tmp_path):
    from pypetx.base.errors import SweepFailed

    env = Environment(trajectory="bad", filename=str(tmp_path / "b.hdf5"),
                      cluster="synchronous")
    env.trajectory.f_add_parameter("x", 1)
    with pytest.raises(SweepFailed):
        env.run(_run_linking_nothing)


def test_storage_service_names_the_file(tmp_path):
    from pypetx.compat import HDF5StorageService, LazyStorageService

    filename = str(tmp_path / "s.hdf5")
    traj = Trajectory("stored", filename=filename)
    traj.f_add_parameter("x", 3)
    traj.f_store()
    assert traj.v_storage_service.filename == filename
    loaded = Trajectory()
    loaded.v_storage_service = HDF5StorageService(filename=filename, complib="zlib")
    loaded.f_load(name="stored", load_data=2)
    assert loaded.x == 3 and loaded.v_storage_service.filename == filename
    lazy = Trajectory("lazy")
    lazy.v_storage_service = LazyStorageService()
    assert isinstance(lazy.v_storage_service, LazyStorageService)


def test_parameter_equality_hooks():
    import numpy as np
    import scipy.sparse as sp

    p = Parameter("p", 1)
    assert p._values_of_same_type(1, 2) and not p._values_of_same_type(1, "1")
    assert not p._values_of_same_type(np.zeros(2), np.zeros(3))
    assert p._equal_values(np.arange(3), np.arange(3))
    assert not p._equal_values(np.arange(3), np.arange(1, 4))
    from pypetx.compat.equality import values_equal

    m = sp.csr_matrix(np.eye(3))
    assert values_equal({"a": (1, m)}, {"a": (1, m.copy())})
    assert not values_equal({"a": (1, m)}, {"a": (1, 2 * m)})
    assert not values_equal({"a": 1}, {"b": 1})
    with pytest.raises(TypeError):
        p._equal_values(object(), object())


def test_a_loaded_trajectory_runs_the_runs_it_lacks(tmp_path):
    filename = str(tmp_path / "e.hdf5")
    env = Environment(trajectory="grow", filename=filename, cluster="synchronous")
    traj = env.trajectory
    traj.f_add_parameter("x", 1)
    traj.f_explore({"x": [1, 2]})
    env.run(_double)
    again = Environment(trajectory=traj, cluster="synchronous")  # its file
    traj.f_load(name="grow")
    traj.f_expand({"x": [3, 4]})
    again.run(_double)
    assert again.dataset["z"].values.tolist() == [2, 4, 6, 8]


def _double(traj):
    traj.f_add_result("z", traj.x * 2)
