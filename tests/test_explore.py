from __future__ import annotations

import copy
import json
import pickle
import warnings

import numpy as np
import pytest

from pypetx.errors import ExplorationError
from pypetx.explore import (
    Exploration,
    Product,
    cartesian_product,
    find_unique_points,
    latin_hypercube,
    random_sample,
    sobol,
    zip_params,
    zip_product,
)
from pypetx.explore._values import _repeat_tile

# ----------------------------------------------------------------- cartesian_product


def test_cartesian_product_last_axis_fastest():
    result = cartesian_product({"x": [1, 2, 3], "y": [6, 7, 8]})
    assert result == {"x": [1, 1, 1, 2, 2, 2, 3, 3, 3], "y": [6, 7, 8, 6, 7, 8, 6, 7, 8]}
    assert isinstance(result, dict) and isinstance(result, Product)
    assert result.axes == (("x",), ("y",))
    assert result.axis_values == {"x": [1, 2, 3], "y": [6, 7, 8]}
    assert result.shape == (3, 3)


def test_cartesian_product_axis_order_follows_combined_parameters():
    result = cartesian_product({"x": [1, 2], "y": ["a", "b", "c"]}, ("y", "x"))
    assert list(result) == ["y", "x"]
    assert result["y"] == ["a", "a", "b", "b", "c", "c"]
    assert result["x"] == [1, 2, 1, 2, 1, 2]


def test_cartesian_product_zips_combined_parameters():
    result = cartesian_product({"a": [1, 2], "b": [3, 4], "c": [5, 6, 7]}, (("a", "b"), "c"))
    assert result == {
        "a": [1, 1, 1, 2, 2, 2],
        "b": [3, 3, 3, 4, 4, 4],
        "c": [5, 6, 7, 5, 6, 7],
    }
    assert result.axes == (("a", "b"), ("c",))
    assert result.shape == (2, 3)


def test_cartesian_product_keeps_values_as_given():
    arrays = [np.zeros(2), np.ones(3)]
    result = cartesian_product({"w": arrays, "name": ["u", "v"], "l": [[1, 2]]})
    assert result["w"][0] is arrays[0] and result["w"][3] is arrays[1]
    assert result["name"] == ["u", "v", "u", "v"]
    assert result["l"] == [[1, 2]] * 4
    assert all(isinstance(v, list) for v in result.values())


def test_cartesian_product_zip_lengths_error():
    with pytest.raises(
        ExplorationError,
        match="zipped parameters a and b have different lengths: a has 2 values, b has 3 values",
    ):
        cartesian_product({"a": [1, 2], "b": [3, 4, 5]}, (("a", "b"),))


@pytest.mark.parametrize(
    ("combined", "message"),
    [
        (("a", "z"), "combined_parameters names 'z', which is not in parameter_dict"),
        (("a", "a", "b"), "'a' appears more than once in combined_parameters"),
        (("a",), "parameter_dict has 'b' but combined_parameters does not list it"),
    ],
)
def test_cartesian_product_combined_parameters_errors(combined, message):
    with pytest.raises(ExplorationError, match=message):
        cartesian_product({"a": [1], "b": [2]}, combined)


def test_cartesian_product_value_errors():
    with pytest.raises(
        TypeError, match=r"x: expected a sequence of values.*wrap a single value in a list"
    ):
        cartesian_product({"x": 3})
    with pytest.raises(TypeError, match="got str 'abc'"):
        cartesian_product({"x": "abc"})
    with pytest.raises(ExplorationError, match="x has no values"):
        cartesian_product({"x": []})
    with pytest.raises(ExplorationError, match="parameter_dict is empty"):
        cartesian_product({})


def test_product_grid_while_unchanged():
    result = cartesian_product({"x": [1, 2], "y": [3, 4, 5]})
    assert result.grid() == ((("x",), ("y",)), {"x": (1, 2), "y": (3, 4, 5)})
    result.axis_values["x"].append(9)  # the public attributes are for reading
    result.axes = None
    assert result.grid() == ((("x",), ("y",)), {"x": (1, 2), "y": (3, 4, 5)})
    assert pickle.loads(pickle.dumps(result)).grid() == result.grid()
    assert copy.copy(result).grid() == result.grid()


@pytest.mark.parametrize("change", [
    lambda p: p.__setitem__("x", list(p["x"])),  # replaced by an equal list
    lambda p: p["y"].append(3),
    lambda p: p.pop("y"),
    lambda p: p.__setitem__("z", [0] * 6),
    lambda p: p.update(x=[1] * 6),
])
def test_product_grid_none_once_changed(change):
    result = cartesian_product({"x": [1, 2], "y": [3, 4, 5]})
    change(result)
    assert result.grid() is None


@pytest.mark.parametrize(("m", "inner", "outer"),
                         [(1, 1, 1), (3, 1, 4), (3, 5, 1), (5, 3, 2), (4, 4, 3), (1, 7, 2)])
def test_repeat_tile(m, inner, outer):
    values = [object() for _ in range(m)]
    expected = [v for _ in range(outer) for v in values for _ in range(inner)]
    got = _repeat_tile(values, inner, outer)
    assert len(got) == len(expected) and all(a is b for a, b in zip(got, expected))
    out = _repeat_tile(values, inner, outer, out=[])
    assert all(a is b for a, b in zip(out, expected)) and len(out) == len(expected)
    assert got is not values


# ----------------------------------------------------------------- zip_product


def test_zip_product_and_alias():
    assert zip_product(x=[1, 2], y=[3, 4]) == {"x": [1, 2], "y": [3, 4]}
    assert zip_params({"x": (1, 2)}, y=np.array([3, 4])) == {"x": [1, 2], "y": [3, 4]}
    assert type(zip_product(x=[1])) is dict
    assert zip_params is zip_product


def test_zip_product_errors():
    with pytest.raises(
        ExplorationError,
        match="zipped parameters have different lengths: x has 2 values, y has 1 values",
    ):
        zip_product(x=[1, 2], y=[3])
    with pytest.raises(ExplorationError, match="x is given twice"):
        zip_product({"x": [1]}, x=[2])


# ----------------------------------------------------------------- samplers

BOUNDS = {"a": (0.0, 1.0), "b": (-5.0, 5.0), "c": (2, 6)}


@pytest.mark.parametrize("sampler", [random_sample, latin_hypercube, sobol])
def test_samplers_reproducible_and_inside_bounds(sampler):
    first = sampler(BOUNDS, 16, seed=42)
    assert type(first) is dict and list(first) == ["a", "b", "c"]
    assert first == sampler(BOUNDS, 16, seed=42)
    assert first != sampler(BOUNDS, 16, seed=43)
    assert all(len(v) == 16 for v in first.values())
    assert all(isinstance(v, float) and 0.0 <= v < 1.0 for v in first["a"])
    assert all(isinstance(v, float) and -5.0 <= v < 5.0 for v in first["b"])
    assert all(type(v) is int and 2 <= v <= 6 for v in first["c"])


def test_integer_bounds_reach_both_ends():
    values = random_sample({"k": (0, 2)}, 300, seed=0)["k"]
    assert set(values) == {0, 1, 2}


def test_latin_hypercube_hits_each_stratum_once():
    n = 20
    sample = latin_hypercube({"a": (0.0, 1.0), "b": (10.0, 30.0)}, n, seed=3)
    for name, (low, high) in {"a": (0.0, 1.0), "b": (10.0, 30.0)}.items():
        strata = np.floor((np.array(sample[name]) - low) / (high - low) * n).astype(int)
        assert sorted(strata) == list(range(n))


def test_sobol_balanced_for_power_of_two_and_warns_otherwise():
    n = 32
    sample = sobol({"a": (0.0, 1.0), "b": (0.0, 1.0)}, n, seed=5)
    for name in "ab":
        # A Sobol' net of 2^m points puts exactly 2^m / 8 points in each eighth.
        counts = np.bincount(np.floor(np.array(sample[name]) * 8).astype(int), minlength=8)
        assert counts.tolist() == [4] * 8
    with pytest.warns(UserWarning, match="power of 2"):
        sobol({"a": (0.0, 1.0)}, 10, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sobol({"a": (0.0, 1.0)}, 8, seed=5)


def test_sobol_unscrambled_starts_at_low_bound():
    assert sobol({"a": (2.0, 3.0)}, 4, scramble=False)["a"][0] == 2.0


@pytest.mark.parametrize(
    ("bounds", "n", "message"),
    [
        ({"a": (1.0, 1.0)}, 4, r"bounds of a must have low < high, got \(1.0, 1.0\)"),
        ({"a": (0.0, float("inf"))}, 4, "bounds of a must be finite numbers"),
        ({"a": 1.0}, 4, "bounds of a must be a \\(low, high\\) pair"),
        ({"a": (0.0, 1.0)}, 0, "n must be a positive integer"),
        ({}, 4, "bounds is empty"),
    ],
)
def test_sampler_errors(bounds, n, message):
    with pytest.raises(ExplorationError, match=message):
        random_sample(bounds, n)


# ----------------------------------------------------------------- find_unique_points


def test_find_unique_points():
    explored = {"x": [1, 2, 1, 2, 3], "y": ["a", "b", "a", "c", "a"]}
    assert find_unique_points(explored) == [
        ((1, "a"), [0, 2]),
        ((2, "b"), [1]),
        ((2, "c"), [3]),
        ((3, "a"), [4]),
    ]


def test_find_unique_points_arrays_and_nan():
    explored = {
        "w": [np.array([1, 2]), np.array([1, 3]), np.array([1, 2])],
        "f": [np.nan, 1.0, np.nan],
    }
    points = find_unique_points(explored)
    assert [runs for _, runs in points] == [[0, 2], [1]]
    assert find_unique_points({}) == []


# ----------------------------------------------------------------- Exploration


def grid_3x3() -> Exploration:
    product = cartesian_product({"parameters.x": [1, 2, 3], "parameters.y": [6, 7, 8]})
    return Exploration(product, product.axes)


def test_exploration_grid_basics():
    exp = grid_3x3()
    assert exp.names == ("parameters.x", "parameters.y")
    assert exp.is_grid and exp.shape == (3, 3) and exp.n_runs == len(exp) == 9
    assert exp.is_c_order
    assert exp.point(5) == {"parameters.x": 2, "parameters.y": 8}
    assert exp.point(-1) == {"parameters.x": 3, "parameters.y": 8}
    assert exp.grid_index(5) == (1, 2)
    assert exp.axis_values(0) == {"parameters.x": [1, 2, 3]}
    assert exp.axis_values(1) == {"parameters.y": [6, 7, 8]}
    assert exp.positions.shape == (9, 2)
    assert exp.duplicates() == []


def test_exploration_run_layout():
    exp = Exploration({"parameters.x": [1, 2, 1], "parameters.y": [5, 6, 5]})
    assert not exp.is_grid and exp.axes is None
    assert exp.shape == (3,) and exp.grid_index(2) == (2,)
    assert exp.positions[:, 0].tolist() == [0, 1, 2]
    assert exp.duplicates() == [[0, 2]]
    with pytest.raises(ExplorationError, match="run layout"):
        exp.axis_values(0)
    with pytest.raises(IndexError, match="run index 3 is out of range for 3 runs"):
        exp.point(3)


def test_exploration_zipped_axis():
    product = cartesian_product({"a": [1, 2], "b": [3, 4], "c": [5, 6, 7]}, (("a", "b"), "c"))
    exp = Exploration(product, product.axes)
    assert exp.shape == (2, 3)
    assert exp.axis_values(0) == {"a": [1, 2], "b": [3, 4]}
    assert exp.grid_index(4) == (1, 1)


def test_exploration_accepts_a_grid_in_another_order():
    # First axis fastest (Fortran order) is still a grid; positions say where each run sits.
    exp = Exploration({"x": [1, 2, 1, 2], "y": [5, 5, 6, 6]}, (("x",), ("y",)))
    assert exp.shape == (2, 2) and not exp.is_c_order
    assert exp.positions.tolist() == [[0, 0], [1, 0], [0, 1], [1, 1]]


def test_exploration_validation_messages():
    with pytest.raises(
        ExplorationError,
        match="explored parameters have different lengths: parameters.x has 3 values, parameters.y has 2",
    ):
        Exploration({"parameters.x": [1, 2, 3], "parameters.y": [1, 2]})
    with pytest.raises(ExplorationError, match="parameters.x has no values"):
        Exploration({"parameters.x": []})
    with pytest.raises(ExplorationError, match="nothing to explore"):
        Exploration({})


def test_exploration_rejects_inconsistent_axes():
    with pytest.raises(
        ExplorationError,
        match="not a grid over the axes \\(x\\), \\(y\\): 1 of the 4 grid points are missing",
    ):
        Exploration({"x": [1, 1, 2], "y": [5, 6, 5]}, (("x",), ("y",)))
    with pytest.raises(ExplorationError, match="occurs 2 times"):
        Exploration({"x": [1, 1, 2, 2, 1], "y": [5, 6, 5, 6, 5]}, (("x",), ("y",)))
    with pytest.raises(ExplorationError, match="y is explored but in no axis"):
        Exploration({"x": [1, 2], "y": [5, 6]}, (("x",),))
    with pytest.raises(ExplorationError, match="axes name z, which is not explored"):
        Exploration({"x": [1, 2]}, (("x",), ("z",)))
    with pytest.raises(ExplorationError, match="x appears in more than one axis"):
        Exploration({"x": [1, 2]}, (("x",), ("x",)))


def test_exploration_is_immutable():
    exp = grid_3x3()
    with pytest.raises(AttributeError, match="immutable"):
        exp.axes = None
    with pytest.raises(ValueError):
        exp.positions[0, 0] = 5
    exp.columns["parameters.x"].append(99)
    assert exp.n_runs == 9


def test_expand_grid_along_first_axis():
    exp = grid_3x3()
    new = cartesian_product({"parameters.x": [4, 5], "parameters.y": [6, 7, 8]})
    grown = exp.expand(new)
    assert grown.shape == (5, 3) and grown.n_runs == 15
    assert all(grown.point(i) == exp.point(i) for i in range(9))
    assert grown.point(9) == {"parameters.x": 4, "parameters.y": 6}
    assert grown.axis_values(0) == {"parameters.x": [1, 2, 3, 4, 5]}
    # Growing the slowest axis keeps C order.
    assert grown.is_c_order


def test_expand_grid_along_last_axis():
    exp = grid_3x3()
    new = cartesian_product({"parameters.x": [1, 2, 3], "parameters.y": [9]})
    grown = exp.expand(new)
    assert grown.shape == (3, 4) and grown.is_grid
    assert grown.positions[:9].tolist() == exp.positions.tolist()
    assert grown.positions[9:].tolist() == [[0, 3], [1, 3], [2, 3]]
    assert grown.axis_values(1) == {"parameters.y": [6, 7, 8, 9]}
    assert not grown.is_c_order
    for i in range(grown.n_runs):
        cell = grown.grid_index(i)
        assert grown.point(i) == {
            "parameters.x": grown.axis_values(0)["parameters.x"][cell[0]],
            "parameters.y": grown.axis_values(1)["parameters.y"][cell[1]],
        }


def test_expand_into_run_layout():
    exp = grid_3x3()
    grown = exp.expand({"parameters.x": [10, 11], "parameters.y": [0, 1]})
    assert not grown.is_grid and grown.shape == (11,)
    assert grown.point(10) == {"parameters.x": 11, "parameters.y": 1}
    assert all(grown.point(i) == exp.point(i) for i in range(9))


def test_expand_with_repeated_points_is_run_layout_with_duplicates():
    exp = grid_3x3()
    grown = exp.expand({"parameters.x": [1], "parameters.y": [6]})
    assert not grown.is_grid
    assert grown.duplicates() == [[0, 9]]


def test_expand_run_layout_stays_run_layout():
    exp = Exploration({"x": [1, 2]})
    grown = exp.expand({"x": [3]})
    assert grown.columns == {"x": [1, 2, 3]} and not grown.is_grid


def test_expand_name_errors():
    exp = grid_3x3()
    with pytest.raises(
        ExplorationError, match="missing parameters.y; not explored before: parameters.z"
    ):
        exp.expand({"parameters.x": [4], "parameters.z": [1]})


def test_to_dict_round_trip():
    product = cartesian_product(
        {"p.x": [1.5, 2.5], "p.w": [np.array([1, 2]), np.array([3, 4])], "p.s": ["a"]}
    )
    exp = Exploration(product, product.axes)
    data = json.loads(json.dumps(exp.to_dict()))
    back = Exploration.from_dict(data)
    assert back.names == exp.names and back.axes == exp.axes and back.shape == exp.shape
    assert back.columns["p.w"] == [[1, 2], [3, 4], [1, 2], [3, 4]]
    assert back.columns["p.x"] == exp.columns["p.x"]
    assert np.array_equal(back.positions, exp.positions)

    grown = exp.expand(
        cartesian_product(
            {"p.x": [1.5, 2.5], "p.w": [np.array([1, 2]), np.array([3, 4])], "p.s": ["b"]}
        )
    )
    again = Exploration.from_dict(json.loads(json.dumps(grown.to_dict())))
    assert again.shape == grown.shape == (2, 2, 2)
    assert np.array_equal(again.positions, grown.positions)

    run = Exploration.from_dict(Exploration({"x": [np.int64(1), (2, 3)]}).to_dict())
    assert run.axes is None and run.columns == {"x": [1, [2, 3]]}


def test_to_dict_rejects_objects_without_json_form():
    with pytest.raises(
        TypeError, match="x: explored value of type object cannot be written as JSON"
    ):
        Exploration({"x": [object()]}).to_dict()


def test_a_large_product_holds_read_only_columns_that_compute_each_run():
    from pypetx.core.explore.builders import LIST_POINTS, GridColumn

    small = cartesian_product({"x": [1, 2], "y": [3, 4, 5]})
    assert type(small["x"]) is list  # pypet code may change the lists of small products
    big = cartesian_product({"x": range(2000), "y": range(1000)})
    assert len(big["x"]) == 2_000_000 > LIST_POINTS
    col = big["y"]
    assert isinstance(col, GridColumn)
    assert col[0] == 0 and col[1001] == 1 and col[-1] == 999 and big["x"][1001] == 1
    assert col[998:1002] == [998, 999, 0, 1]
    assert list(cartesian_product({"x": range(2), "y": range(600_000)})["x"])[599_999:600_001] \
        == [0, 1]
    with pytest.raises(IndexError):
        col[2_000_000]
    assert "2,000,000 runs" in repr(col)
    assert big.grid() is not None  # still explored by its axes
