"""Layout: names, coordinates, chunking and storage modes of results (no I/O)."""

from __future__ import annotations

import numpy as np
import pytest

from pypetx.explore import Exploration, cartesian_product
from pypetx.store.batch import ResultMeta
from pypetx.store.journal import encode_result
from pypetx.store.layout import (
    FIXED,
    PICKLE,
    RAGGED,
    chunk_shape,
    dim_name,
    explored_coords,
    explored_dims,
    fill_value,
    merge_infos,
)


def grid(**axes):
    p = cartesian_product({f"parameters.{k}": v for k, v in axes.items()})
    return Exploration(p, p.axes)


def test_dim_name_short_when_unique():
    names = ["parameters.a.x", "parameters.b.x", "parameters.y"]
    assert dim_name("parameters.y", names) == "y"
    assert dim_name("parameters.a.x", names) == "a.x"
    assert dim_name("parameters.b.x", names) == "b.x"
    assert dim_name("other.z", ["other.z", "more.z"]) == "other.z"


def test_grid_dims_and_coords():
    e = grid(x=[1, 2, 3], y=[0.5, 1.5])
    assert explored_dims(e) == ("x", "y")
    coords = explored_coords(e)
    assert coords["x"].dims == ("x",) and list(coords["x"].values) == [1, 2, 3]
    assert coords["y"].attrs["full_name"] == "parameters.y"


def test_zip_axis_first_name_is_dim_coord():
    p = cartesian_product({"parameters.a": [1, 2], "parameters.b": [10, 20], "parameters.c": [0, 1, 2]},
                          combined_parameters=[("parameters.a", "parameters.b"), "parameters.c"])
    e = Exploration(p, p.axes)
    coords = explored_coords(e)
    assert explored_dims(e) == ("a", "c")
    assert coords["b"].dims == ("a",) and list(coords["b"].values) == [10, 20]


def test_run_layout_coords():
    e = Exploration({"parameters.x": [3, 1, 3], "parameters.s": ["a", "b", "c"]})
    coords = explored_coords(e)
    assert explored_dims(e) == ("run",)
    assert list(coords["run_name"].values) == ["run_00000000", "run_00000001", "run_00000002"]
    assert list(coords["x"].values) == [3, 1, 3] and coords["s"].dims == ("run",)


def test_object_values_become_repr_coords():
    e = Exploration({"parameters.t": [(1, 2), (3, 4)]})
    c = explored_coords(e)["t"]
    assert list(c.values) == ["(1, 2)", "(3, 4)"] and c.attrs["pypetx_repr"] == 1


@pytest.mark.parametrize(
    "shape, batch, expected",
    [((100, 200), 200, (1, 200)), ((100, 200), 400, (2, 200)), ((100, 200), 50, (1, 50)),
     ((10,), 3, (3,)), ((4, 5, 6), 30, (1, 5, 6)), ((4, 5, 6), 1000, (4, 5, 6))],
)
def test_chunk_shape(shape, batch, expected):
    assert chunk_shape(shape, batch) == expected


def test_encode_modes():
    info, parts = encode_result("z", np.arange(6.0).reshape(3, 2), None, ResultMeta(units="mV"))
    assert info.mode == FIXED and info.shape == (2,) and info.meta["units"] == "mV"
    info, parts = encode_result("s", [np.arange(2), None, np.arange(5)], None, None)
    assert info.mode == RAGGED and list(parts["n"]) == [2, 0, 5] and list(parts["p"]) == [1, 0, 1]
    info, parts = encode_result("o", [{"a": 1}, {"b": 2}], None, None)
    assert info.mode == PICKLE and parts["v"].dtype == np.uint8
    info, parts = encode_result("w", ["ab", "c", None], None, None)
    assert info.mode == FIXED and info.dtype.kind == "U" and list(parts["v"]) == ["ab", "c", ""]


def test_merge_infos_promotes():
    a, _ = encode_result("z", np.zeros((2, 3)), None, None)
    b, _ = encode_result("z", np.zeros((2, 4)), None, None)
    c, _ = encode_result("z", np.zeros((2, 3), np.int32), None, None)
    assert merge_infos(a, b).mode == RAGGED
    merged = merge_infos(c, a)
    assert merged.mode == FIXED and merged.dtype == np.float64
    empty, _ = encode_result("z", [None, None], None, None)
    assert merge_infos(empty, c).dtype == np.int32 and merge_infos(c, empty).mode == FIXED


def test_fill_values():
    assert np.isnan(fill_value(np.dtype("f4")))
    assert fill_value(np.dtype("i4")) == -2147483647
    assert fill_value(np.dtype(bool)) is False
    assert fill_value(np.dtype("U3")) == ""


def test_quantities_are_described_in_their_stored_form():
    """Explored Brian2 quantities have no JSON form: the description holds them encoded
    (SI magnitudes + units), so a loaded trajectory gets quantities back, not reprs."""
    brian2 = pytest.importorskip("brian2")
    from pypetx.store.layout import decode_explored_value, describe_exploration

    ms = brian2.ms
    exploration = Exploration(
        cartesian_product({"parameters.tau": [5 * ms, 20 * ms], "parameters.v": [1.0, 2.0]}),
        axes=(("parameters.tau",), ("parameters.v",)))
    desc, _ = describe_exploration(exploration)
    assert not desc["repr"]
    taus = [decode_explored_value(v) for v in desc["values"]["parameters.tau"]]
    assert taus == [5 * ms, 20 * ms] and all(t.dim == ms.dim for t in taus)
    assert desc["values"]["parameters.v"] == [1.0, 2.0]
    # values of another kind without a JSON form still fall back to their repr
    other = Exploration({"parameters.o": [object(), object()]})
    assert describe_exploration(other)[0]["repr"]
    assert decode_explored_value(3.5) == 3.5


def test_run_positions_are_the_explorations_without_its_array():
    from pypetx.core.explore import Exploration, cartesian_product
    from pypetx.store.layout import RunPositions

    p = cartesian_product({"a": [1, 2, 3], "b": [4, 5], "c": [6, 7, 8, 9]})
    runs = np.array([23, 0, 7, 7, 12])
    cases = [Exploration(p, p.axes),  # C order: only the shape is kept
             Exploration.from_grid(p.axes, p.axis_values,
                                   cells=np.random.default_rng(0).permutation(24)),
             Exploration({"a": [3, 1, 2], "b": [5, 5, 4]})]  # a run layout
    for e in cases:
        pos = RunPositions(e)
        assert pos.shape == np.asarray(e.positions).shape
        np.testing.assert_array_equal(pos[runs % e.n_runs], np.asarray(e.positions)[runs % e.n_runs])
        assert pos[np.zeros(0, np.int64)].shape == (0, pos.shape[1])
    assert RunPositions(cases[0]).cells is None and RunPositions(cases[1]).cells is not None
