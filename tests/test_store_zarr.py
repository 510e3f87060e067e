"""Zarr backend: same layout, workers writing their chunks, resume, plain xarray reads."""

from __future__ import annotations

import os

import numpy as np
import pytest
import xarray as xr

from pypetx.explore import Exploration, cartesian_product
from pypetx.store import get_ragged, list_trajectories, open_results, open_store, read_tree
from pypetx.store.batch import ResultMeta
from pypetx.store.testing import make_batch


def grid(nx=6, ny=4):
    p = cartesian_product({"parameters.x": list(range(nx)), "parameters.y": [0.5 * k for k in range(ny)]})
    return Exploration(p, p.axes)


def batch(b, n=4):
    idx = np.arange(n * b, n * b + n)
    return make_batch(idx, {"z": idx * 1.0, "v": np.stack([np.arange(3) + i for i in idx]),
                            "spikes": [np.arange(i % 3) for i in idx]},
                      meta={"z": ResultMeta(units="Hz")})


def check(ds, nx=6, ny=4):
    n = nx * ny
    np.testing.assert_array_equal(ds.z.values, np.arange(float(n)).reshape(nx, ny))
    np.testing.assert_array_equal(ds.v.values[..., 0], np.arange(n).reshape(nx, ny))
    assert ds.completed.values.all() and ds.z.attrs["units"] == "Hz"
    np.testing.assert_array_equal(get_ragged(ds, "spikes", x=1, y=0.5), np.arange(5 % 3))


def test_zarr_roundtrip_and_local_sink(tmp_path):
    path = tmp_path / "res.zarr"
    e = grid()
    st = open_store(path, "t")
    assert type(st).__name__ == "ZarrStore"
    st.open(e, [{"path": "parameters.k", "type": "parameter", "kind": "scalar", "value": 3}],
            {"name": "t"}, resume=False)
    sink = st.worker_sink()
    st.write_batch(sink(batch(0)))  # arrays do not exist yet: the driver takes it all
    for b in range(1, 6):
        out = sink(batch(b))
        assert set(out.results) == {"spikes"}  # z and v were written in place
        st.write_batch(out)
    ds = st.finalize()
    st.close()
    check(ds)
    check(xr.open_zarr(path, group="t"))
    check(xr.open_dataset(path, engine="zarr", group="t", chunks={}))
    assert ds.z.encoding["chunks"] == (1, 4)
    assert list_trajectories(path) == ["t"]
    assert read_tree(path, "t")[0][0]["value"] == 3


def test_partial_chunks_go_to_the_driver(tmp_path):
    path = tmp_path / "res.zarr"
    e = grid()
    with open_store(path, "t") as st:
        st.open(e, [], {}, resume=False)
        sink = st.worker_sink()
        st.write_batch(sink(batch(0)))
        half = make_batch([4, 5], {"z": np.array([4.0, 5.0]), "v": np.stack([np.arange(3) + 4, np.arange(3) + 5]),
                                   "spikes": [np.arange(1), np.arange(2)]}, meta={"z": ResultMeta(units="Hz")})
        out = sink(half)
        assert "z" in out.results  # half a chunk: a worker must not write it
        st.write_batch(out)
        st.write_batch(sink(make_batch([6, 7], {"z": np.array([6.0, 7.0]),
                                                "v": np.stack([np.arange(3) + 6, np.arange(3) + 7]),
                                                "spikes": [np.arange(0), np.arange(1)]})))
        for b in range(2, 6):
            st.write_batch(sink(batch(b)))
        check(st.finalize())


def test_resume_after_killed_driver(tmp_path):
    path = tmp_path / "res.zarr"
    e = grid()
    st = open_store(path, "t")
    st.open(e, [], {}, resume=False)
    sink = st.worker_sink()
    for b in range(3):
        st.write_batch(sink(batch(b)))
    st.journal = None  # what a kill leaves: no finalize, no close ...
    os.close(st._lock._fd)  # ... and the kernel drops the dead driver's lock
    __import__("pypetx.store.lock").store.lock._HELD.discard(st._lock._key)
    st2 = open_store(path, "t")
    st2.open(e, [], {}, resume=True)
    assert st2.done().sum() == 12
    sink = st2.worker_sink()
    for b in range(3, 6):
        st2.write_batch(sink(batch(b)))
    check(st2.finalize())
    st2.close()


def test_worker_sink_on_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    path = tmp_path / "res.zarr"
    e = grid(8, 4)
    st = open_store(path, "t")
    st.open(e, [], {}, resume=False)
    st.write_batch(batch(0))
    sink = st.worker_sink()
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        futures = [client.submit(sink, batch(b), pure=False) for b in range(1, 8)]
        for fut in distributed.as_completed(futures):
            out = fut.result()
            assert set(out.results) == {"spikes"}
            st.write_batch(out)
        pids = set(client.run(lambda: __import__("os").getpid()).values())
    assert len(pids) == 2
    ds = st.finalize()
    st.close()
    check(open_results(path, "t"), 8, 4)
    assert ds.v.values[7, 3, 2] == 31 + 2


def test_fixed_in_first_batches_then_ragged(tmp_path):
    """One-run batches look fixed-shape; a later shape turns the result ragged at finalize."""
    path = tmp_path / "res.zarr"
    e = grid(2, 2)
    with open_store(path, "t") as st:
        st.open(e, [], {}, resume=False)
        sink = st.worker_sink()
        for i in range(4):
            st.write_batch(sink(make_batch([i], {"spikes": np.arange(i // 2 + 1)[None, :]})))
        ds = st.finalize()
    assert ds.spikes_count.values.tolist() == [[1, 1], [2, 2]]
    np.testing.assert_array_equal(get_ragged(ds, "spikes", x=1, y=0.5), [0, 1])
    np.testing.assert_array_equal(get_ragged(ds, "spikes", x=0, y=0.5), [0])


def test_expand_grid_after_finalize(tmp_path):
    path = tmp_path / "res.zarr"
    e = grid(6, 4)
    with open_store(path, "t") as st:
        st.open(e, [], {}, resume=False)
        sink = st.worker_sink()
        for b in range(6):
            st.write_batch(sink(batch(b)))
        st.finalize()
    e2 = e.expand(cartesian_product({"parameters.x": [6, 7], "parameters.y": [0.5 * k for k in range(4)]}))
    assert e2.shape == (8, 4)
    with open_store(path, "t") as st:
        st.open(e2, [], {}, resume=True)
        assert st.done().sum() == 24
        sink = st.worker_sink()
        for b in range(6, 8):
            st.write_batch(sink(batch(b)))
        ds = st.finalize()
    check(ds, 8, 4)
    assert ds.x.values.tolist() == list(range(8))
