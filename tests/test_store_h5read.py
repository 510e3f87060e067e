"""H5Backend: the Dataset the h5netcdf engine gives, with cheaper metadata reads."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import xarray as xr

from pypetx.explore import Exploration, cartesian_product
from pypetx.store import h5read, open_results, open_store
from pypetx.store.batch import ResultMeta
from pypetx.store.h5read import H5Backend, open_group
from pypetx.store.testing import make_batch

ENCODING_KEYS = ("dtype", "chunksizes", "preferred_chunks", "contiguous", "zlib", "complevel",
                 "shuffle", "fletcher32", "original_shape", "source", "_FillValue")


@pytest.fixture
def cube_file(tmp_path):
    """A cube with every kind of variable: fixed, int with fill, vector, ragged, pickled,
    failures (strings), a run layout sub-trajectory in a second group."""
    path = tmp_path / "r.h5"
    p = cartesian_product({"parameters.x": [0.5, 1.5, 2.5], "parameters.y": list(range(4))})
    with open_store(path, "grid") as st:
        st.open(Exploration(p, p.axes), [], {"comment": "c"}, resume=False)
        for b0 in range(0, 12, 5):
            idx = np.arange(b0, min(b0 + 5, 12))
            present = idx % 4 != 1
            st.write_batch(make_batch(idx, {
                "z": idx * 0.5, "k": idx.astype(np.int64), "v": idx[:, None] * np.ones(3),
                "spikes": [np.arange(i % 3, dtype=float) for i in idx],
                "obj": [{"i": int(i)} for i in idx]}, failed=[i for i in idx if i == 6],
                present={"k": present}, meta={"z": ResultMeta(units="s", comment="zz")}))
        st.finalize()
    with open_store(path, "runs") as st:
        st.open(Exploration({"parameters.a": [3, 1, 2]}, None), [], {}, resume=False)
        st.write_batch(make_batch([0, 1, 2], {"w": np.array(["a", "bb", "ccc"])}))
        st.finalize()
    return path


def _assert_same(a: xr.Dataset, b: xr.Dataset) -> None:
    xr.testing.assert_identical(a, b)
    assert list(a.variables) == list(b.variables)
    for name in a.variables:
        for key in ENCODING_KEYS:
            x, y = a[name].encoding.get(key), b[name].encoding.get(key)
            assert x == y or (isinstance(x, float) and np.isnan(x) and np.isnan(y)), (name, key)
        assert a[name].chunks == b[name].chunks


@pytest.mark.parametrize("group", ["grid", "runs"])
@pytest.mark.parametrize("chunks", [None, {}])
def test_same_dataset_as_h5netcdf(cube_file, group, chunks):
    with xr.open_dataset(cube_file, engine="h5netcdf", group=group, chunks=chunks) as a, \
            xr.open_dataset(cube_file, engine=H5Backend, group=group, chunks=chunks) as b:
        _assert_same(a, b)
        _assert_same(a.load(), b.load())


def test_open_results_lazy_and_picklable(cube_file):
    ds = open_results(cube_file, "grid")
    assert ds.z.chunks is not None and ds.z.attrs["units"] == "s"
    again = pickle.loads(pickle.dumps(ds))  # distributed ships these arrays to workers
    xr.testing.assert_identical(again.load(), ds.load())
    assert ds.failure_error.values.tolist() == ["ValueError: run 6 failed"]
    assert np.isnan(ds.k.values[0, 1]) and ds.k.values[2, 3] == 11


def test_unusual_layouts_fall_back_to_h5netcdf(cube_file, monkeypatch):
    def unusual(*args, **kwargs):
        raise h5read.Unusual("test")

    monkeypatch.setattr(h5read, "_read_group", unusual)
    h5read._CACHE.clear()
    with open_group(cube_file, "grid") as ds:
        assert ds.z.encoding["source"] == str(cube_file) and ds.z.values[1, 2] == 3.0


def test_metadata_cached_per_file_version(cube_file):
    """A reopen reuses the metadata read before, but a rewritten file is read again; a
    Dataset opened before the rewrite keeps reading the version it opened."""
    h5read._CACHE.clear()
    first = open_results(cube_file, "grid")
    assert len(h5read._CACHE) == 1
    first.attrs["comment"] = "changed"  # a copy: the cache is not touched
    again = open_results(cube_file, "grid")
    assert len(h5read._CACHE) == 1 and again.attrs["comment"] == "c"
    before = float(again.z.values[0, 0])
    p = cartesian_product({"parameters.x": [0.5, 1.5, 2.5], "parameters.y": list(range(4))})
    with open_store(cube_file, "grid") as st:
        st.open(Exploration(p, p.axes), [], {"comment": "c"}, resume=True)
        st.write_batch(make_batch([0], {"z": np.array([42.0])}))
        st.finalize()
    assert float(again.z.values[0, 0]) == before  # the old version, still open
    fresh = open_results(cube_file, "grid")
    assert float(fresh.z.values[0, 0]) == 42.0 and len(h5read._CACHE) == 2
