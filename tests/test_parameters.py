"""Typed leaves (pypetx.parameters): parameter kinds, units, locking, results with items."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import xarray as xr

from pypetx.errors import ParameterLockedError
from pypetx.parameters import (
    ArrayParameter,
    Parameter,
    PickleParameter,
    PickleResult,
    Result,
    SparseParameter,
    SparseResult,
)
from pypetx.trajectory import Trajectory


class Opaque:
    """An object with no array form (only storable pickled)."""

    def __init__(self, n: int = 1) -> None:
        self.n = n


@pytest.mark.parametrize(
    "value, kind",
    [
        (True, "scalar"),
        (3, "scalar"),
        (2.5, "scalar"),
        (1 + 2j, "scalar"),
        (np.float32(1.5), "scalar"),
        ("text", "string"),
        (b"raw", "string"),
        (np.arange(6).reshape(2, 3), "array"),
        ([1, 2, 3], "list"),
        ((1, "a"), "tuple"),
        ({"a": 1, "b": "x", "c": np.ones(2)}, "dict"),
        (pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]}), "dataframe"),
        (pd.Series([1.0, 2.0], name="s"), "series"),
        (sp.csr_matrix(np.eye(3)), "sparse"),
        (sp.csc_matrix(np.eye(3)), "sparse"),
        (sp.coo_matrix(np.eye(3)), "sparse"),
        (sp.bsr_matrix(np.eye(4)), "sparse"),
        (sp.dia_matrix(np.eye(3)), "sparse"),
    ],
)
def test_parameter_kinds_are_detected(value, kind):
    param = Parameter("p", value, "a comment")
    assert param.kind == kind
    assert param.value is value
    assert param.default is value
    assert param.comment == "a comment"


def test_arbitrary_objects_need_the_pickle_kind():
    with pytest.raises(TypeError, match="kind='pickle'"):
        Parameter("p", Opaque())
    assert Parameter("p", Opaque(), kind="pickle").kind == "pickle"
    assert PickleParameter("p", Opaque()).kind == "pickle"


def test_unsupported_containers_say_why():
    with pytest.raises(TypeError, match="item 0 is dict"):
        Parameter("p", [{"a": 1}])
    with pytest.raises(TypeError, match="dict keys must be str"):
        Parameter("p", {1: 2})
    with pytest.raises(TypeError, match="convert it with .tocsr"):
        Parameter("p", sp.lil_matrix((2, 2)))


def test_units_and_comment():
    traj = Trajectory()
    param = traj.add_parameter("speed", 13.5, comment="mean speed", units="m/s")
    assert param.units == "m/s"
    assert param.comment == "mean speed"
    assert Parameter("q", 1).units is None


def test_set_checks_the_type_and_names_the_parameter():
    traj = Trajectory()
    param = traj.add_parameter("traffic.ncars", 42)
    param.set(50)
    assert param.value == 50 and param.default == 50
    with pytest.raises(TypeError, match="parameters.traffic.ncars") as info:
        param.set("many")
    assert "string" in str(info.value)
    with pytest.raises(TypeError, match="parameters.traffic.ncars: value 1.5 is a float"):
        param.set(1.5)
    with pytest.raises(TypeError, match="bool"):
        param.set(True)


def test_set_never_narrows_a_number_type():
    param = Parameter("x", 1.0)
    param.set(2)
    assert param.value == 2.0 and isinstance(param.value, float)
    param.set(2.5)  # still a float parameter
    assert param.value == 2.5
    z = Parameter("z", 1j)
    z.set(3)
    assert isinstance(z.value, complex)
    f32 = Parameter("f", np.float32(1))
    f32.set(4)
    assert isinstance(f32.value, np.float32)


def test_array_dtype_kind_must_match():
    param = ArrayParameter("w", np.zeros(3))
    param.set(np.ones(5))  # shape may change
    assert param.value.shape == (5,)
    with pytest.raises(TypeError, match="dtype"):
        param.set(np.array(["a", "b"]))


def test_parameter_with_no_default_takes_the_kind_of_its_first_value():
    param = Parameter("later")
    assert param.kind is None and param.value is None
    param.set([1, 2])
    assert param.kind == "list"


def test_pickle_parameter_accepts_any_object():
    param = PickleParameter("obj", Opaque(1))
    param.set(Opaque(2))
    assert param.value.n == 2


def test_lock_refuses_assignment_naming_the_parameter():
    traj = Trajectory()
    param = traj.add_parameter("x", 1.0)
    param.lock()
    assert param.locked
    with pytest.raises(ParameterLockedError, match="parameter 'parameters.x' is locked"):
        param.set(2.0)
    with pytest.raises(ParameterLockedError, match="'parameters.x' is locked"):
        param.value = 3.0
    param.unlock()
    param.value = 3.0
    assert param.value == 3.0


def test_explored_parameter_changes_only_through_explore():
    traj = Trajectory()
    param = traj.add_parameter("x", 1.0)
    traj.explore({"x": [1.0, 2.0]})
    assert param.is_explored
    assert param.range == [1.0, 2.0]
    with pytest.raises(ParameterLockedError, match="'parameters.x' is explored"):
        param.set(5.0)


def test_range_of_unexplored_parameter_is_an_error():
    with pytest.raises(TypeError, match="is not explored"):
        _ = Parameter("x", 1.0).range


def test_current_value_and_restore_default():
    param = Parameter("x", 1.0)
    param._set_current(7.0)
    assert param.value == 7.0 and param.default == 1.0
    param.restore_default()
    assert param.value == 1.0


def test_typed_parameter_classes_are_parameters():
    assert ArrayParameter("a", np.arange(3)).kind == "array"
    assert SparseParameter("s", sp.csr_matrix(np.eye(2))).kind == "sparse"
    assert issubclass(ArrayParameter, Parameter)
    assert issubclass(SparseResult, Result)
    assert repr(Parameter("x", 1.0)) == "<Parameter x=1.0>"


# -- results ----------------------------------------------------------------------------


def test_result_with_one_value():
    res = Result("z", 42, comment="the answer", units="1")
    assert res.get() == 42
    assert res["z"] == 42
    assert res.z == 42
    assert res.items() == {"z": 42}
    assert res.kinds == {"z": "scalar"}
    assert res.supports_fast_access()
    assert res.comment == "the answer" and res.units == "1"


def test_result_with_several_named_values():
    res = Result("stats", mean=1.5, std=np.array([0.1, 0.2]), label="run")
    assert res.mean == 1.5
    np.testing.assert_array_equal(res["std"], [0.1, 0.2])
    assert res.kinds == {"mean": "scalar", "std": "array", "label": "string"}
    assert "mean" in res and "median" not in res
    assert not res.supports_fast_access()
    with pytest.raises(ValueError, match=r"holds \['label', 'mean', 'std'\]; say which one"):
        res.get()


def test_result_missing_item_lists_items():
    res = Result("stats", mean=1.0)
    with pytest.raises(KeyError, match=r"has no item 'median'; it has \['mean'\]"):
        res.get("median")
    with pytest.raises(AttributeError, match="no item 'median'"):
        _ = res.median


def test_positional_values_are_named_after_the_result():
    res = Result("z", 1, 2, 3)
    assert res.items() == {"z": 1, "z_1": 2, "z_2": 3}
    res.set(extra=4)
    assert res.extra == 4


def test_result_kinds_like_parameters_and_dataarray():
    frame = pd.DataFrame({"a": [1, 2]})
    da = xr.DataArray(np.arange(4.0), dims=["time"])
    res = Result("r", frame=frame, m=sp.csr_matrix(np.eye(2)), trace=da, dims=("time",))
    assert res.kinds == {"frame": "dataframe", "m": "sparse", "trace": "dataarray"}
    assert res.dims == ("time",)
    with pytest.raises(TypeError, match="kind='pickle'"):
        Result("o", Opaque())


def test_pickle_result_opt_in():
    res = PickleResult("o", Opaque(3), other=Opaque(4))
    assert res.kinds == {"o": "pickle", "other": "pickle"}
    assert Result("o", Opaque(), kind="pickle").kinds == {"o": "pickle"}


def test_fast_access_of_results_in_a_tree():
    traj = Trajectory()
    traj.add_result("z", 3)
    stats = traj.add_result("stats", mean=1.0, std=0.5)
    assert traj.z == 3  # one item named like the result: its value
    assert traj.stats is stats  # several items: the node
    assert traj.results.stats.std == 0.5
    assert repr(stats) == "<Result results.stats ['mean', 'std']>"
