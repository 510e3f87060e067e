"""pypet's example programs 01, 02, 08, 09 and 10, written as pypetx tests.

Each test follows the example's pattern (the calls a pypet script makes) and asserts the
values pypet documents for it.
"""

from __future__ import annotations

import numpy as np
import pytest

from pypetx import NotUniqueNodeError, Trajectory, pypetconstants
from pypetx.compat.exceptions import DataNotInStorageError

# x is explored slowest: run i has x = [1,1,1,2,2,2,...][i], y = [6,7,8,6,...][i]
XS = [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
YS = [6, 7, 8] * 4
ZS = [x * y for x, y in zip(XS, YS)]


# -- example 01: first steps ---------------------------------------------------------------

def test_first_steps_load_in_fresh_trajectory(multiplied):
    _, filename = multiplied
    traj = Trajectory(filename=filename)
    traj.f_load(index=-1, load_parameters=2, load_results=2)
    assert traj.v_name == "Multiplication"
    assert traj.v_comment == "The first example!"
    assert len(traj) == 12
    assert traj.run_00000001.z == 7            # x=1, y=7
    assert traj.f_get("x").f_get_range() == tuple(XS)
    assert traj.f_get("y").v_comment == "I am the second dimension!"


def test_run_results_by_every_pypet_path(multiplied):
    env, _ = multiplied
    traj = env.trajectory
    assert traj.res.runs.run_00000004.z == 14
    assert traj.results.runs.run_00000011.z == 32
    assert traj.f_get("results.runs.run_00000005.z") == 16
    assert traj["runs.run_00000003.z"] == 12
    traj.v_idx = 4
    try:
        assert (traj.x, traj.y) == (2, 7)
        assert traj.crun.z == traj.res.crun.z == traj.z == 14
        assert traj.v_crun == "run_00000004"
    finally:
        traj.f_restore_default()
    with pytest.raises(NotUniqueNodeError, match="result of each of the 12 runs"):
        traj.z  # noqa: B018 - ambiguous without a selected run, as in pypet


def test_load_by_name_and_errors(multiplied, tmp_path):
    _, filename = multiplied
    traj = Trajectory("other", filename=filename)
    traj.f_load(name="Multiplication")
    assert traj.v_name == "Multiplication"
    with pytest.raises(DataNotInStorageError, match="no trajectory 'nope'"):
        Trajectory(filename=filename).f_load(name="nope")
    with pytest.raises(DataNotInStorageError, match="no results file"):
        Trajectory(filename=str(tmp_path / "missing.h5")).f_load(index=-1)
    with pytest.raises(DataNotInStorageError, match="no index 3"):
        Trajectory(filename=filename).f_load(index=3)


def test_load_modes(multiplied):
    _, filename = multiplied
    traj = Trajectory(filename=filename)
    traj.f_load(index=0, load_parameters=pypetconstants.LOAD_SKELETON)
    assert traj.f_get("x").f_get_range() == tuple(XS)   # exploration is trajectory metadata
    assert traj.f_get("x").f_get_default() is None      # the data is not loaded
    traj.f_load_item("x")
    assert traj.f_get("x").f_get_default() == 1
    traj = Trajectory(filename=filename)
    traj.f_load(index=0, load_data=pypetconstants.LOAD_NOTHING)
    assert "x" not in traj and len(traj) == 1


def test_load_as_new_reruns_parameters(multiplied):
    _, filename = multiplied
    traj = Trajectory("rerun", filename=filename)
    traj.f_load(name="Multiplication", as_new=True)
    assert traj.v_name == "rerun" and len(traj) == 12
    assert traj.dataset is None
    assert not traj.f_get("x").v_locked


# -- example 02: access and storage -------------------------------------------------------

def test_trajectory_access_and_storage(tmp_path):
    filename = str(tmp_path / "example_02.hdf5")
    traj = Trajectory("Example", filename=filename, overwrite_file=True,
                      comment="Access and Storage!")
    traj.f_add_parameter("starwars.characters.han_solo", "Harrison Ford")
    for characters in (traj.parameters.starwars.characters, traj.characters,
                       traj.f_get("characters"), traj["characters"]):
        assert characters.v_full_name == "parameters.starwars.characters"
    traj.characters.f_add_parameter("luke_skywalker", "Mark Hamill",
                                    comment="May the force be with you!")
    assert traj.f_get("luke_skywalker").v_full_name == \
        "parameters.starwars.characters.luke_skywalker"
    traj.f_add_parameter_group("spaceballs.characters")
    with pytest.raises(NotUniqueNodeError):
        traj.characters  # noqa: B018 - two groups named characters now
    assert traj.luke_skywalker == "Mark Hamill"
    traj.v_fast_access = False
    assert traj.luke_skywalker.f_get() == "Mark Hamill"
    traj.v_fast_access = True
    traj.f_store()
    traj.f_add_result("starwars.gross_income_of_film", amount=10.1 ** 11, currency="$$$",
                      comment="George Lucas is rich, dude!")
    traj.f_store_item("gross_income_of_film")
    traj.gross_income_of_film.f_empty()
    assert traj.gross_income_of_film.f_is_empty()
    del traj

    traj = Trajectory(filename=filename)
    traj.f_load(index=-1, load_parameters=2, load_results=1)
    assert traj.gross_income_of_film.f_is_empty()          # a skeleton
    traj.f_load_item("gross_income_of_film")
    assert traj.gross_income_of_film.amount == 10.1 ** 11
    assert traj.gross_income_of_film.currency == "$$$"
    assert traj.gross_income_of_film.v_comment == "George Lucas is rich, dude!"
    assert traj.f_get("luke_skywalker").v_comment == "May the force be with you!"


# -- example 08: f_find_idx -------------------------------------------------------------------

def test_find_idx_and_crun_results(multiplied):
    env, _ = multiplied
    traj = env.trajectory
    traj.f_load(load_results=pypetconstants.LOAD_DATA)   # reload its own file by name
    seen = []
    for idx in traj.f_find_idx(["x", "y"], lambda x, y: x == 2 or y == 8):
        traj.v_idx = idx
        seen.append((traj.v_crun, traj.x, traj.y, traj.crun.z))
    traj.f_restore_default()
    assert seen == [("run_00000002", 1, 8, 8), ("run_00000003", 2, 6, 12),
                    ("run_00000004", 2, 7, 14), ("run_00000005", 2, 8, 16),
                    ("run_00000008", 3, 8, 24), ("run_00000011", 4, 8, 32)]


# -- example 09: large results -----------------------------------------------------------------

def test_large_results_load_only(tmp_path):
    filename = str(tmp_path / "example_09.hdf5")
    rng = np.random.default_rng(0)
    traj = Trajectory(name="example_09_huge_data", filename=filename, overwrite_file=True)
    traj.f_add_result("huge_matrices", mat1=rng.random((50, 50, 50)), mat2=rng.random((300, 300)))
    val_mat1 = traj.huge_matrices.mat1[10, 10, 10]
    traj.f_store()
    traj.huge_matrices.f_empty()
    assert traj.huge_matrices.f_is_empty()
    traj.huge_matrices.f_set(monty="Always look on the bright side of life!")
    traj.f_store_item("huge_matrices")       # adds monty; the stored matrices stay
    old_name = traj.v_name
    del traj

    traj = Trajectory(filename=filename)
    traj.f_load(name=old_name, load_results=pypetconstants.LOAD_SKELETON)
    assert traj.huge_matrices.f_is_empty()
    traj.f_load_item("huge_matrices", load_only=["monty", "mat1"])
    assert "monty" in traj.huge_matrices and "mat1" in traj.huge_matrices
    assert "mat2" not in traj.huge_matrices
    assert traj.huge_matrices.mat1[10, 10, 10] == val_mat1
    assert traj.huge_matrices.monty == "Always look on the bright side of life!"


# -- example 10: items from all runs -----------------------------------------------------------

def test_get_from_runs(multiplied):
    env, filename = multiplied
    traj = Trajectory(filename=filename)
    traj.f_load(index=-1, load_results=pypetconstants.LOAD_DATA)
    zs = traj.f_get_from_runs(name="z", fast_access=True)
    assert list(zs) == [f"run_{i:08d}" for i in range(12)]
    assert list(zs.values()) == ZS
    z_mesh = np.reshape(np.array(list(zs.values())), (4, 3))
    assert z_mesh[3, 2] == 32
    by_idx = traj.f_get_from_runs("z", use_indices=True)
    assert by_idx[5].f_get() == 16                     # Result objects without fast access
    assert traj.f_get_from_runs("nothing") == {}
    np.testing.assert_array_equal(traj.dataset.z.values, z_mesh)   # the same, as a cube


def test_run_information(multiplied):
    env, _ = multiplied
    traj = env.trajectory
    info = traj.f_get_run_information("run_00000003")
    assert info["completed"] == 1 and info["idx"] == 3 and info["name"] == "run_00000003"
    assert info["runtime"] >= 0
    assert traj.f_is_completed() and traj.f_is_completed(11)
    assert len(traj.f_get_run_information()) == 12
