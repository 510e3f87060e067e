"""pypet's example programs 03, 04, 14, 18 and 20 (runs on Dask), as pypetx tests."""

from __future__ import annotations

import importlib.util
import random
import warnings

import pytest

from pypetx import Environment, MultiprocContext, Parameter, Trajectory, manual_run, pypetconstants
from pypetx.utils.explore import cartesian_product


def multiply(traj):
    traj.f_add_result("z", z=traj.x * traj.y, comment="I am the product of two reals!")


# -- example 04: multiprocessing options on a LocalCluster -----------------------------------

def test_multiprocessing_options_run_on_dask(tmp_path):
    with pytest.warns(DeprecationWarning, match="no effect on Dask"):
        env = Environment(trajectory="Example_04_MP", filename=str(tmp_path / "example_04.hdf5"),
                          file_title="Example_04_MP", log_stdout=True, comment="MP example!",
                          multiproc=True, ncores=2, use_pool=True, freeze_input=True,
                          wrap_mode=pypetconstants.WRAP_MODE_QUEUE, graceful_exit=True,
                          overwrite_file=True)
    traj = env.trajectory
    traj.f_add_parameter("x", 1.0, comment="I am the first dimension!")
    traj.f_add_parameter("y", 1.0, comment="I am the second dimension!")
    traj.f_explore(cartesian_product({"x": [float(x) for x in range(20)],
                                      "y": [float(y) for y in range(20)]}))
    env.run(multiply)
    env.disable_logging()
    assert env.summary.n_completed == 400
    zs = traj.f_get_from_runs("z", fast_access=True, use_indices=True)
    assert zs[0] == 0.0 and zs[399] == 361.0 and zs[21] == 1.0 * 1.0 and zs[45] == 2.0 * 5.0
    # ncores sizes the embedded LocalCluster (which the driver may not need for cheap runs)
    assert env._cluster_options["n_workers"] == 2


# -- example 14: links ----------------------------------------------------------------------

def test_links_inside_runs(tmp_path):
    def multiply_links(traj):
        traj.f_add_result("runs.$.z", traj.mylink1 * traj.mylink2, comment="Result!")

    env = Environment(trajectory="Multiplication", filename=str(tmp_path / "example_14.hdf5"),
                      overwrite_file=True, comment="How to use links", cluster="synchronous")
    traj = env.trajectory
    traj.par.x = Parameter("x", 1, "I am the first dimension!")
    traj.par.y = Parameter("y", 1, "I am the second dimension!")
    traj.f_explore({"x": [3, 4]})
    traj.f_add_link("mylink1", traj.f_get("x"))
    assert traj.mylink1 == 1
    assert traj.f_get("mylink1") is traj.f_get("x")
    traj.f_add_link("parameters.mynewgroup.mylink2", traj.f_get("y"))
    env.run(multiply_links)
    assert traj.res.runs.run_00000000.z == 3 and traj.res.runs.run_00000001.z == 4
    loaded = Trajectory(filename=env.filename)
    loaded.f_load(index=-1)
    assert loaded.f_get("parameters.mynewgroup.mylink2") is loaded.f_get("y")


# -- example 18: many runs in $set buckets ------------------------------------------------------

def test_many_runs_with_set_buckets(tmp_path):
    def multiply_set(traj):
        traj.f_add_result("$set.$.z", traj.x * traj.y, comment="in buckets of 1000 runs")

    env = Environment(trajectory="Multiplication", filename=str(tmp_path / "example_18.hdf5"),
                      overwrite_file=True, comment="Contains many runs", cluster="synchronous")
    traj = env.trajectory
    traj.f_add_parameter("x", 1, comment="I am the first dimension!")
    traj.f_add_parameter("y", 1, comment="I am the second dimension!")
    traj.f_explore(cartesian_product({"x": range(50), "y": range(50)}))
    env.run(multiply_set)
    assert list(traj.dataset.z.dims) == ["x", "y"]   # the buckets are no part of the cube
    traj.v_auto_load = True
    traj.v_idx = 2042
    assert traj.res.crunset.crun.z == 40 * 42
    traj.v_idx = -1
    assert traj.res.rts_2044.r_2044.z == 40 * 44
    assert traj.res.run_set_00002.run_00002044.z == 40 * 44
    assert traj.f_get("results.run_set_00000.run_00000051.z") == 1 * 1


# -- example 20: manual runs (DEAP-style), MultiprocContext ---------------------------------------

@manual_run(store_meta_data=True)
def eval_one_max(traj, individual):
    traj.f_add_result("$set.$.individual", list(individual))
    fitness = sum(individual)
    traj.f_add_result("$set.$.fitness", fitness)
    traj.f_store()  # inside a run: nothing to do, the run's results are kept
    return (fitness,)


def test_manual_runs_generation_by_generation(tmp_path):
    filename = str(tmp_path / "example_20.hdf5")
    traj = Trajectory("onemax", filename=filename, overwrite_file=True)
    traj.f_add_parameter("popsize", 6)
    traj.f_add_parameter("generation", 0)
    traj.f_add_parameter("ind_idx", 0)
    traj.f_add_parameter("ind_len", 8)
    traj.f_store(only_init=True)
    rng = random.Random(42)
    start_idx, expected = 0, []
    for g in range(3):
        pop = [[rng.randint(0, 1) for _ in range(traj.ind_len)] for _ in range(traj.popsize)]
        traj.f_expand(cartesian_product({"generation": [g], "ind_idx": range(len(pop))}))
        with pytest.warns(DeprecationWarning, match="MultiprocContext has no effect"):
            mc = MultiprocContext(traj, wrap_mode="QUEUE")
        mc.f_start()
        fitnesses = list(map(lambda args: eval_one_max(*args),
                             zip(traj.f_iter_runs(start_idx, yields="copy"), pop)))
        mc.f_finalize()
        assert fitnesses == [(sum(ind),) for ind in pop]
        expected += [sum(ind) for ind in pop]
        start_idx += len(pop)
    traj.f_store()

    loaded = Trajectory(filename=filename)
    loaded.f_load(index=-1, load_results=pypetconstants.LOAD_DATA)
    assert len(loaded) == 18
    assert list(loaded.f_get_from_runs("fitness", fast_access=True).values()) == expected
    loaded.v_idx = 7
    assert (loaded.generation, loaded.ind_idx) == (1, 1)
    assert sum(loaded.crun.individual) == expected[7]
    assert loaded.dataset.fitness.dims == ("generation", "ind_idx")


def test_manual_run_errors_propagate_and_need_a_run(tmp_path):
    @manual_run()
    def broken(traj):
        raise RuntimeError("boom")

    traj = Trajectory("t", filename=str(tmp_path / "m.h5"))
    traj.f_add_parameter("x", 1)
    traj.f_explore({"x": [1, 2]})
    with pytest.raises(ValueError, match="select a run"):
        broken(traj)
    traj.v_idx = 1
    with pytest.raises(RuntimeError, match="boom"):
        broken(traj)


def test_manual_run_inside_env_run_is_plain(tmp_path):
    @manual_run()
    def decorated(traj):
        traj.f_add_result("z", traj.x + 1)

    env = Environment(trajectory="t", filename=str(tmp_path / "e.h5"), cluster="synchronous")
    env.traj.f_add_parameter("x", 1)
    env.traj.f_explore({"x": [1, 2, 3]})
    env.run(decorated)
    assert list(env.traj.f_get_from_runs("z", fast_access=True).values()) == [2, 3, 4]


# -- example 03: merging -------------------------------------------------------------------------

@pytest.mark.skipif(importlib.util.find_spec("pypetx.merge") is None,
                    reason="f_merge (pypetx.merge) is not there yet")
def test_merging_two_trajectories(tmp_path):
    filename = str(tmp_path / "example_03.hdf5")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        env1 = Environment(trajectory="Traj1", filename=filename, add_time=True,
                           comment="I will be increased!", cluster="synchronous")
        env2 = Environment(trajectory="Traj2", filename=filename, add_time=True,
                           comment="I am going to be merged!", cluster="synchronous")
    traj1, traj2 = env1.trajectory, env2.trajectory
    for traj in (traj1, traj2):
        traj.f_add_parameter("x", 1.0, comment="I am the first dimension!")
        traj.f_add_parameter("y", 1.0, comment="I am the second dimension!")
    traj1.f_explore(cartesian_product({"x": [1.0, 2.0, 3.0, 4.0], "y": [6.0, 7.0, 8.0]}))
    traj2.f_explore(cartesian_product({"x": [3.0, 4.0, 5.0, 6.0], "y": [7.0, 8.0, 9.0]}))
    env1.run(multiply)
    env2.run(multiply)
    traj1.f_merge(traj2, remove_duplicates=True, backup_filename=True, move_data=True,
                  delete_other_trajectory=True)
    traj1.f_load(load_parameters=2, load_results=2)
    # 12 + 12 points, 4 of traj2's ((3,7), (3,8), (4,7), (4,8)) are duplicates
    assert len(traj1) == 20
    for run_name in traj1.f_get_run_names():
        traj1.f_set_crun(run_name)
        assert traj1.crun.z == traj1.x * traj1.y
    traj1.f_restore_default()
