"""One classification of per-run values: what the worker stacks is what the journal stores."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from pypetx.core.batch import ResultMeta
from pypetx.core.values import EMPTY, FIXED, PICKLE, RAGGED, classify, stack_results
from pypetx.store.journal import encode_result


@pytest.mark.parametrize("values, mode, dtype", [
    ([1.0, 2.0, 3.0], FIXED, "float64"),
    ([1, 2.5, True], FIXED, "float64"),  # promoted, as numpy promotes
    (["a", "bcd"], FIXED, "<U3"),
    ([np.zeros(2), np.ones(2)], FIXED, "float64"),
    ([[1, 2], [3, 4]], FIXED, "int64"),
    ([np.zeros(2), np.ones(3)], RAGGED, "float64"),
    ([[1], [1, 2, 3]], RAGGED, "int64"),
    ([{1, 2}, {3}], PICKLE, "uint8"),
    ([np.datetime64("2020-01-01"), 1.5], PICKLE, "uint8"),  # no common array dtype
    ([[1, [2]], [3]], PICKLE, "uint8"),  # nested ragged lists
    ([2**70, 1], PICKLE, "uint8"),  # beyond int64: objects
    ([None, None], EMPTY, "float64"),
])
def test_classify(values, mode, dtype):
    got = classify(values)
    assert got.mode == mode and got.dtype == np.dtype(dtype)


def test_absent_runs_get_the_fill_value():
    got = classify([1.5, None, 2.5])
    assert got.mode == FIXED and got.present.tolist() == [True, False, True]
    assert np.isnan(got.data[1]) and got.data[[0, 2]].tolist() == [1.5, 2.5]
    ints = classify([1, 2, 3], present=np.array([True, False, True]))
    assert ints.data[1] == -9223372036854775806  # netCDF's int64 fill


def test_pickle_kind_wins_over_the_values():
    assert classify(np.arange(3.0), pickle=True).mode == PICKLE
    assert classify([1.0, 2.0], pickle=True).mode == PICKLE


def test_data_arrays_stack_by_their_values():
    values = [xr.DataArray(np.full(3, float(k)), dims="t") for k in range(4)]
    got = classify(values)
    assert got.mode == FIXED and got.data.shape == (4, 3) and got.data[2].tolist() == [2.0] * 3


@pytest.mark.parametrize("values", [[1.0, 2.0], [1, 2.5], [[1, 2], [3, 4]], [np.ones(2), None],
                                    [np.zeros(1), np.zeros(3)], ["a", "bb"]])
def test_what_the_worker_sends_is_stored_as_the_list_would_be(values):
    """The worker stacks by the same rule the journal applies to a list: one decision."""
    results, present = stack_results({"r": (list(range(len(values))), values)}, len(values))
    sent, _ = encode_result("r", results["r"], present["r"], ResultMeta())
    listed, _ = encode_result("r", list(values), None, ResultMeta())
    assert (sent.mode, sent.dtype, sent.shape) == (listed.mode, listed.dtype, listed.shape)
    assert isinstance(results["r"], np.ndarray) == (listed.mode == FIXED)


def test_stack_results_scatters_and_drops_results_no_run_kept():
    collected = {"z": ([0, 2], [1.0, 3.0]), "gone": ([], []), "s": ([1], [np.arange(2)])}
    results, present = stack_results(collected, 3)
    assert "gone" not in results and "gone" not in present
    assert present["z"].tolist() == [True, False, True] and np.isnan(results["z"][1])
    assert results["s"].shape == (3, 2) and present["s"].tolist() == [False, True, False]


def test_a_result_added_twice_by_one_run_keeps_the_last_value():
    results, present = stack_results({"z": ([0, 0, 1], [1.0, 9.0, 2.0])}, 3)
    assert results["z"][:2].tolist() == [9.0, 2.0] and present["z"].tolist() == [True, True, False]
