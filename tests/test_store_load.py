"""Reading: plain errors naming path and group, pickle opt-in, lazy slices read few chunks."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from pypetx.errors import FormatVersionError, PickleNotAllowedError, StorageError
from pypetx.explore import Exploration, cartesian_product
from pypetx.store import list_trajectories, open_results, open_store, read_tree
from pypetx.store.testing import make_batch


def write(path, name="traj", records=(), n=4):
    p = cartesian_product({"parameters.x": list(range(n))})
    with open_store(path, name) as st:
        st.open(Exploration(p, p.axes), list(records), {"name": name}, resume=False)
        st.write_batch(make_batch(range(n), {"z": np.arange(float(n))}))
        st.finalize()


def test_missing_file(tmp_path):
    with pytest.raises(StorageError, match=f"no results file at {tmp_path / 'nope.h5'}"):
        open_results(tmp_path / "nope.h5")


def test_not_hdf5(tmp_path):
    bad = tmp_path / "text.h5"
    bad.write_text("hello")
    with pytest.raises(StorageError, match="text.h5 is not an HDF5 file"):
        open_results(bad)


def test_hdf5_not_written_by_pypetx(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.arange(3)
        f.create_group("g")
    with pytest.raises(StorageError, match="holds no pypetx trajectory"):
        open_results(path)


def test_truncated_file(tmp_path):
    path = tmp_path / "res.h5"
    write(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StorageError, match="res.h5"):
        open_results(path, "traj").load()


def test_wrong_group_lists_available(tmp_path):
    path = tmp_path / "res.h5"
    write(path, "alpha")
    write(path, "beta")
    with pytest.raises(StorageError, match="no trajectory 'gamma'; available: alpha, beta"):
        open_results(path, "gamma")
    with pytest.raises(StorageError, match="several trajectories"):
        open_results(path)
    assert list_trajectories(path) == ["alpha", "beta"]
    assert open_results(path, "beta").z.values.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_newer_format_version(tmp_path):
    path = tmp_path / "res.h5"
    write(path)
    with h5py.File(path, "a") as f:
        f["traj"].attrs["pypetx_format_version"] = 99
    with pytest.raises(FormatVersionError, match="res.h5 group traj has pypetx format version 99"):
        open_results(path, "traj")


def test_pickle_values_need_opt_in(tmp_path):
    path = tmp_path / "res.h5"
    rec = {"path": "parameters.f", "type": "parameter", "kind": "pickle", "value": {1, 2},
           "explored": False}
    write(path, records=[rec])
    with pytest.raises(PickleNotAllowedError, match="parameters.f in .*res.h5 group traj"):
        read_tree(path, "traj")
    records, _ = read_tree(path, "traj", allow_pickle=True)
    assert records[0]["value"] == {1, 2}


class ReadCounter:
    """Counts HDF5 chunks touched by reads of one dataset (wraps h5py's Dataset reads)."""

    def __init__(self, monkeypatch, name):
        self.chunks: set[tuple[int, ...]] = set()
        orig = h5py.Dataset.__getitem__
        counter = self

        def getitem(ds, sel, *a, **k):
            if ds.name.endswith("/" + name) and ds.chunks:
                counter.record(ds, sel)
            return orig(ds, sel, *a, **k)

        monkeypatch.setattr(h5py.Dataset, "__getitem__", getitem)

    def record(self, ds, sel):
        sel = sel if isinstance(sel, tuple) else (sel,)
        ranges = []
        for k, (n, c) in enumerate(zip(ds.shape, ds.chunks)):
            s = sel[k] if k < len(sel) else slice(None)
            if isinstance(s, slice):
                lo, hi, _ = s.indices(n)
            elif isinstance(s, (int, np.integer)):
                lo, hi = int(s), int(s) + 1
            else:
                arr = np.asarray(s)
                lo, hi = int(arr.min()), int(arr.max()) + 1
            ranges.append(range(lo // c, (hi - 1) // c + 1))
        import itertools

        self.chunks.update(itertools.product(*ranges))


def test_lazy_slice_reads_few_chunks(tmp_path, monkeypatch):
    """A 208 MB cube (100 x 200 runs x 1,300 floats) in <= 1 MiB chunks: one x value reads
    2 of 200 chunks."""
    path = tmp_path / "big.h5"
    p = cartesian_product({"parameters.x": list(range(100)), "parameters.y": list(range(200))})
    e = Exploration(p, p.axes)
    base = np.linspace(0.0, 1.0, 1300)
    with open_store(path, "t") as st:
        st.open(e, [], {}, resume=False)
        for b in range(100):
            idx = np.arange(200 * b, 200 * b + 200)
            st.write_batch(make_batch(idx, {"z": base[None, :] + idx[:, None]}))
        st.finalize()
    ds = open_results(path, "t")
    assert ds.z.nbytes >= 200e6 and ds.z.encoding["chunksizes"] == (1, 100, 1300)
    counter = ReadCounter(monkeypatch, "z")
    row = ds.z.sel(x=42).load()
    np.testing.assert_array_equal(row.values[7], base + 42 * 200 + 7)
    n_chunks = 200
    assert len(counter.chunks) <= 2, counter.chunks
    assert len(counter.chunks) / n_chunks <= 0.01
