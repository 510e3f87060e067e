"""One type rule for a result, whatever the batching (pypetx.env.resulttypes)."""

from __future__ import annotations

import numpy as np
import pytest

import pypetx
from pypetx.base.errors import StorageError
from pypetx.env.resulttypes import family


def mixed(x):
    return "a" if x % 2 else 1.5


@pytest.mark.parametrize("batch_size", [1, 2, 4, "auto"])
def test_numbers_and_strings_in_one_result_are_refused_naming_both_runs(tmp_path, batch_size):
    with pytest.raises(StorageError) as err:
        pypetx.sweep(mixed, x=list(range(4)), batch_size=batch_size,
                     filename=tmp_path / "m.h5")
    text = str(err.value)
    assert "result 'mixed' of run 1 is str 'a', but run 0 gave float 1.5" in text
    assert "kind='pickle'" in text


def test_the_refused_sweep_keeps_what_was_stored_and_nothing_is_pickled(tmp_path):
    with pytest.raises(StorageError):
        pypetx.sweep(mixed, x=list(range(4)), batch_size=1, cluster="synchronous",
                     filename=tmp_path / "m.h5")
    ds = pypetx.sweep(lambda x: float(x), x=[0, 1], filename=tmp_path / "ok.h5")
    assert ds.result.dtype == np.float64


def test_one_family_may_vary_in_dtype_and_shape(tmp_path):
    def f(x):
        return {"n": x if x < 2 else x + 0.5, "trace": np.arange(x + 1),
                "label": "short" if x < 2 else "a longer label"}

    for bs in (1, 4):
        ds = pypetx.sweep(f, x=list(range(4)), batch_size=bs, filename=tmp_path / f"{bs}.h5")
        assert ds.n.dtype == np.float64 and float(ds.n.sel(x=3)) == 3.5
        assert str(ds.label.sel(x=3).values) == "a longer label"


def test_pickle_kind_stores_any_mix_when_asked(tmp_path):
    def f(traj):
        traj.f_add_result("v", "a" if traj.x % 2 else 1.5, kind="pickle")

    env = pypetx.Environment(trajectory="p", filename=tmp_path / "p.h5", progress=False)
    traj = env.trajectory
    traj.f_add_parameter("x", 0)
    traj.f_explore({"x": [0, 1, 2]})
    env.run(f)  # no error: pickling was asked for


def test_families():
    assert family(1) == family(2.5) == family(np.float32(1)) == family(True) == "number"
    assert family(np.arange(3)) == family([1, 2]) == "number"
    assert family("a") == family(np.array(["a"])) == "string"
    assert family({"a": 1}) == "dict"
    assert family([1, "a"]) == "string"  # numpy's own reading of the list
