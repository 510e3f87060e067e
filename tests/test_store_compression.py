"""Automatic compression: zlib only where a sample of the values compresses well."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from pypetx.explore import Exploration, cartesian_product
from pypetx.store import open_store
from pypetx.store.compression import (
    AUTO_LEVEL,
    auto_filters,
    compressed_ratio,
    sample_of,
)
from pypetx.store.testing import make_batch


def grid(nx=20, ny=50):
    p = cartesian_product({"parameters.x": list(range(nx)), "parameters.y": list(range(ny))})
    return Exploration(p, p.axes)


def test_sample_takes_start_middle_and_end():
    values = np.arange(1000.0)
    s = sample_of(values, nbytes=3 * 80)  # 10 values from each of three places
    assert len(s) == 30 and s[0] == 0 and s[-1] == 999 and 490 <= s[10] <= 500
    assert sample_of(np.arange(5.0)).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_noise_is_not_compressed_and_structure_is():
    rng = np.random.default_rng(0)
    assert compressed_ratio(rng.random(50_000)) > 0.8  # shuffle helps, but little
    assert auto_filters(rng.random(50_000)) == (0, False)
    grid_values = np.multiply.outer(np.arange(100.0), 0.5 * np.arange(500.0)).ravel()
    assert auto_filters(grid_values) == (AUTO_LEVEL, True)  # smooth floats: shuffled
    few = rng.random(300)[rng.integers(0, 300, 50_000)]  # e.g. per-batch mean durations
    assert auto_filters(few) == (AUTO_LEVEL, False)  # whole values repeat: no shuffle
    assert auto_filters(np.ones(10_000, bool)) == (AUTO_LEVEL, False)
    assert auto_filters(None) == (AUTO_LEVEL, True)


def _filters(path, name):
    with h5py.File(path, "r") as f:
        ds = f[f"t/{name}"]
        return ds.compression, ds.compression_opts, ds.shuffle


@pytest.mark.parametrize("budget", ["256 MiB", 1])
def test_default_compresses_what_pays(tmp_path, budget):
    """Eager and lazy cubes: noise raw (file <= raw bytes), a smooth result compressed."""
    import dask

    e = grid()
    rng = np.random.default_rng(1)
    path = tmp_path / "r.h5"
    with dask.config.set({"pypetx.store.eager_bytes": budget}), \
            open_store(path, "t") as st:  # complevel=None: automatic
        st.open(e, [], {}, resume=False)
        for b in range(20):
            idx = np.arange(50 * b, 50 * b + 50)
            st.write_batch(make_batch(idx, {"noise": rng.random((50, 200)),
                                            "smooth": np.repeat(idx[:, None] * 1.0, 200, 1)}))
        ds = st.finalize()
    assert _filters(path, "noise") == (None, None, False)
    assert _filters(path, "smooth") == ("gzip", AUTO_LEVEL, True)
    assert _filters(path, "completed")[0] == "gzip"
    np.testing.assert_array_equal(ds.smooth.values[3, 7], np.full(200, 157.0))
    with h5py.File(path, "r") as f:
        assert f["t/noise"].id.get_storage_size() == 1000 * 200 * 8


@pytest.mark.parametrize("level", [0, 4])
def test_explicit_complevel_is_obeyed(tmp_path, level):
    e = grid(4, 5)
    path = tmp_path / "r.h5"
    with open_store(path, "t", complevel=level) as st:
        st.open(e, [], {}, resume=False)
        st.write_batch(make_batch(range(20), {"noise": np.random.default_rng(2).random((20, 300))}))
        st.finalize()
    expected = (None, None, False) if level == 0 else ("gzip", level, True)
    assert _filters(path, "noise") == expected
    assert _filters(path, "duration") == expected
