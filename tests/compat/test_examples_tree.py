"""pypet's example programs 05, 06 and 15 (the tree), and pypet's module-level names."""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest

import pypetx
from pypetx import ArrayParameter, Environment, Parameter, Trajectory
from pypetx.errors import AmbiguousNameError, FormatVersionError, ParameterLockedError, StorageError


def euler_scheme(traj, diff_func):
    """pypet example 05's simulation: Euler integration of ``diff_func``."""
    steps = traj.steps
    result = np.zeros((steps, len(traj.initial_conditions)))
    result[0] = traj.initial_conditions
    params = {"sigma": traj.sigma, "beta": traj.beta, "rho": traj.rho}
    for i in range(1, steps):
        result[i] = diff_func(result[i - 1], **params) * traj.dt + result[i - 1]
    traj.f_add_result("euler_evolution", data=result, comment="Our time series data!")


def diff_lorenz(v, sigma, beta, rho):
    return np.array([sigma * (v[1] - v[0]), v[0] * (rho - v[2]) - v[1], v[0] * v[1] - beta * v[2]])


class FunctionParameter(Parameter):
    """pypet example 05's custom parameter: keeps a function's source code."""

    def f_set(self, data):
        if callable(data):
            data = inspect.getsource(data)
        return super().f_set(data)


# -- example 05: custom parameter, array exploration ------------------------------------------

def test_custom_parameter_and_array_exploration(tmp_path):
    env = Environment(trajectory="Example_05_Euler_Integration",
                      filename=str(tmp_path / "example_05.hdf5"), overwrite_file=True,
                      comment="Go Euler!", cluster="synchronous")
    traj = env.trajectory
    traj.f_add_parameter("steps", 100, comment="Number of time steps to simulate")
    traj.f_add_parameter("dt", 0.01, comment="Step size")
    traj.f_add_parameter(ArrayParameter, "initial_conditions", np.array([0.0, 0.0, 0.0]),
                         comment="Our initial conditions")
    traj.f_add_parameter("func_params.sigma", 10.0)
    traj.f_add_parameter("func_params.beta", 8.0 / 3.0)
    traj.f_add_parameter("func_params.rho", 28.0)
    traj.func_params.v_annotations.info = "Lorenz 1963"
    source = FunctionParameter("diff_eq")
    source.f_set(diff_lorenz)
    traj.f_add_derived_parameter(source)
    assert traj.diff_eq.startswith("def diff_lorenz")
    initial = [np.array([0.01, 0.01, 0.01]), np.array([2.02, 0.02, 0.02]),
               np.array([42.0, 4.2, 0.42])]
    traj.f_explore({"initial_conditions": initial})
    env.run(euler_scheme, diff_lorenz)

    loaded = Trajectory(filename=env.filename)
    loaded.f_load(index=-1, load_derived_parameters=2)
    assert loaded.diff_eq == traj.diff_eq
    assert loaded.func_params.v_annotations.info == "Lorenz 1963"
    ranges = loaded.f_get("initial_conditions").f_get_range()
    assert all(isinstance(r, np.ndarray) for r in ranges)
    for idx, run_name in enumerate(loaded.f_get_run_names()):
        data = loaded.results.runs.f_get(run_name).euler_evolution.data
        assert data.shape == (100, 3)
        np.testing.assert_allclose(data[0], initial[idx])
        expected = initial[idx] + diff_lorenz(initial[idx], 10.0, 8.0 / 3.0, 28.0) * 0.01
        np.testing.assert_allclose(data[1], expected)


# -- example 06: presetting ----------------------------------------------------------------------

def add_parameters(traj):
    traj.f_add_parameter("steps", 10, comment="Number of time steps to simulate")
    traj.f_add_parameter("diff_name", "diff_lorenz", comment="Name of our equation")
    if traj.diff_name == "diff_lorenz":
        traj.f_add_parameter("func_params.sigma", 10.0)
    elif traj.diff_name == "diff_roessler":
        traj.f_add_parameter("func_params.a", 0.1)
        traj.f_add_parameter("func_params.c", 14.0)
    else:
        raise ValueError(f"I don't know what {traj.diff_name} is.")


def test_presetting_switches_the_model():
    traj = Trajectory("Example_06")
    traj.f_preset_parameter("diff_name", "diff_roessler")
    add_parameters(traj)
    assert traj.diff_name == "diff_roessler"
    assert "func_params.c" in traj and "func_params.sigma" not in traj
    default = Trajectory("without_preset")
    add_parameters(default)
    assert default.diff_name == "diff_lorenz" and default.sigma == 10.0
    with pytest.raises(pypetx.PresettingError, match="already exists"):
        default.f_preset_parameter("steps", 3)


# -- example 15: more ways to add data -----------------------------------------------------------

def test_more_ways_to_add_data():
    traj = Trajectory()
    traj.f_add_parameter("x", 1, comment="I am the first dimension!")
    traj.parameters.y = Parameter("y", 1, comment="I am the second dimension!")
    traj.parameters.t = Parameter("", 1, comment="Third dimension")
    assert traj.t == 1 and traj.f_get("t").v_full_name == "parameters.t"
    traj.parameters.subgroup = Parameter("subgroup.subsubgroup.w", 2)
    assert traj.par.subgroup.subsubgroup.w == 2
    traj.mylink = traj.f_get("x")
    assert traj.mylink == 1 and traj.f_get("mylink") is traj.f_get("x")
    assert traj.f_get("y").v_comment == "I am the second dimension!"
    traj.x = 5  # assigning a value still sets the parameter
    assert traj.f_get("x").f_get() == 5


# -- pypet's module-level names --------------------------------------------------------------------

def test_pypet_exceptions_catch_pypetx_errors():
    from pypetx.pypetexceptions import (
        DataNotInStorageError,
        NoSuchParameterError,
        NotUniqueNodeError,
        ParameterLockedException,
        VersionMismatchError,
    )

    assert NotUniqueNodeError is AmbiguousNameError and issubclass(NotUniqueNodeError, AttributeError)
    assert ParameterLockedException is ParameterLockedError
    assert issubclass(ParameterLockedException, TypeError)
    assert VersionMismatchError is FormatVersionError
    assert issubclass(DataNotInStorageError, StorageError) and issubclass(DataNotInStorageError, OSError)
    traj = Trajectory()
    traj.f_add_parameter("x", 1)
    with pytest.raises(NoSuchParameterError):
        traj.f_get("nothing")
    traj.f_lock_parameters()
    with pytest.raises(ParameterLockedException):
        traj.x = 2


def test_pypet_constants_and_import_paths():
    from pypetx import pypetconstants
    from pypetx.pypetconstants import LOAD_DATA
    from pypetx.utils.decorators import manual_run
    from pypetx.utils.explore import cartesian_product, find_unique_points

    assert (pypetconstants.LOAD_NOTHING, pypetconstants.LOAD_SKELETON, LOAD_DATA,
            pypetconstants.OVERWRITE_DATA) == (0, 1, 2, 3)
    assert pypetconstants.WRAP_MODE_QUEUE == "QUEUE" and pypetconstants.WRAP_MODE_LOCK == "LOCK"
    assert pypetconstants.FORMATTED_RUN_NAME % 3 == "run_00000003"
    assert cartesian_product is pypetx.cartesian_product
    assert find_unique_points({"x": [1, 2, 1]}) == [((1,), [0, 2]), ((2,), [1])]
    assert manual_run is pypetx.manual_run
    from pypetx.compat import BaseParameter, ConfigGroup, load_trajectory  # noqa: F401

    assert BaseParameter is Parameter
    assert "NotUniqueNodeError" not in pypetx.__all__   # pypet names stay out of the docs' API
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        pypetx.nothing  # noqa: B018


def test_load_trajectory_function(multiplied):
    from pypetx.compat import load_trajectory

    _, filename = multiplied
    traj = load_trajectory(index=-1, filename=filename, load_results=2)
    assert traj.v_name == "Multiplication" and traj.run_00000002.z == 8
    with pytest.raises(ValueError, match="either a trajectory name or an index"):
        load_trajectory(filename=filename)


def test_pypetx_load_is_the_plain_api(multiplied):
    _, filename = multiplied
    traj = pypetx.load(filename)
    assert traj.f_get("x").f_get_default() == 1 and len(traj) == 12
    assert int(traj.dataset.z.sel(x=3, y=7)) == 21


def test_manual_run_copy_in_another_process_is_refused():
    traj = Trajectory("t")
    traj.f_add_parameter("x", 1)
    traj.f_explore({"x": [1, 2]})
    copy = next(traj.f_iter_runs(yields="copy"))
    assert copy.x == 1 and copy is not traj
    copy._manual_pid = -1  # what a copy unpickled in a pool worker looks like
    copy = pickle.loads(pickle.dumps(copy))

    @pypetx.manual_run()
    def run(t):
        t.f_add_result("z", t.x)

    with pytest.raises(NotImplementedError, match="another process"):
        run(copy)
