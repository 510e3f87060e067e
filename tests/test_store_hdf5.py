"""HDF5 backend: layouts, ragged and pickled results, several trajectories, resume."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import xarray as xr

from pypetx.errors import StorageError
from pypetx.explore import Exploration, cartesian_product
from pypetx.store import (
    error_of,
    failures,
    get_ragged,
    get_ragged_at,
    list_trajectories,
    open_results,
    open_store,
    read_tree,
    traceback_of,
    worker_names,
    workers,
)
from pypetx.store.batch import ResultMeta
from pypetx.store.testing import make_batch

RECORDS = [
    {"path": "parameters.x", "type": "parameter", "kind": "scalar", "value": 1, "explored": True,
     "comment": "", "units": None, "annotations": {}, "tags": [], "target": None},
    {"path": "parameters.ncars", "type": "parameter", "kind": "scalar", "value": 42,
     "explored": False, "comment": "number of cars", "units": None,
     "annotations": {"source": "survey"}, "tags": ["traffic"], "target": None},
    {"path": "parameters.w", "type": "parameter", "kind": "array", "value": np.arange(3.0),
     "explored": False, "comment": "", "units": "mV", "annotations": {}, "tags": [], "target": None},
]


def grid(**axes):
    p = cartesian_product({f"parameters.{k}": v for k, v in axes.items()})
    return Exploration(p, p.axes)


def stackable(values):
    """What the engine does: stack when every run gave an array of one shape and dtype."""
    arrays = [np.asarray(v) for v in values if v is not None and not isinstance(v, dict)]
    return (len(arrays) == len(values) and len({(a.shape, a.dtype) for a in arrays}) == 1)


def run_all(store, expl, batch=4, failed=(), fn=None):
    fn = fn or (lambda i: {"z": float(i), "v": np.full(3, i, np.int64)})
    for start in range(0, expl.n_runs, batch):
        idx = list(range(start, min(start + batch, expl.n_runs)))
        res = {}
        for i in idx:
            for k, v in fn(i).items():
                res.setdefault(k, []).append(None if i in failed else v)
        res = {k: (np.stack(v) if stackable(v) else v) for k, v in res.items()}
        store.write_batch(make_batch(idx, res, failed=[i for i in idx if i in failed],
                                     meta={"z": ResultMeta(units="s", comment="zz")}))


def test_grid_roundtrip_plain_xarray(tmp_path):
    path = tmp_path / "res.h5"
    e = grid(x=[1, 2, 3], y=[0.1, 0.2, 0.3, 0.4])
    with open_store(path, "traj") as st:
        st.open(e, RECORDS, {"name": "traj", "comment": "hello"}, resume=False)
        run_all(st, e)
        ds = st.finalize()
    assert ds.z.dims == ("x", "y") and ds.v.dims == ("x", "y", "v_dim_0")
    plain = xr.open_dataset(path, engine="h5netcdf", group="traj", chunks={})
    np.testing.assert_array_equal(plain.z.values, np.arange(12.0).reshape(3, 4))
    assert plain.v.dtype == np.int64 and plain.v.values[2, 3, 0] == 11
    assert plain.z.attrs["units"] == "s" and plain.z.attrs["comment"] == "zz"
    assert plain.completed.all() and not plain.failed.any()
    # worker: an int code over the explored dims, the names in an attribute
    assert plain.worker.dtype == np.int32 and (plain.worker.values == 0).all()
    assert worker_names(plain) == ["tcp://127.0.0.1:1"]
    assert workers(plain).values[0, 0] == "tcp://127.0.0.1:1"
    assert plain.failure_run.size == 0 and failures(plain).empty
    assert plain.attrs["parameters.ncars"] == 42 and plain.attrs["comment"] == "hello"
    assert plain.z.encoding["zlib"] and plain.z.encoding["complevel"] == 1  # auto: compresses
    assert plain.z.encoding["chunksizes"] == (1, 4)
    assert set(plain.data_vars) == {"completed", "failed", "duration", "worker", "failure_run",
                                    "failure_error", "failure_traceback", "z", "v"}
    # (the tree stays in its sub-group)
    records, attrs = read_tree(path, "traj")
    assert attrs["name"] == "traj"
    by_path = {r["path"]: r for r in records}
    assert by_path["parameters.ncars"]["value"] == 42
    assert by_path["parameters.ncars"]["annotations"] == {"source": "survey"}
    np.testing.assert_array_equal(by_path["parameters.w"]["value"], np.arange(3.0))


def test_failed_runs_masked_and_int_fill(tmp_path):
    path = tmp_path / "res.h5"
    e = grid(x=[1, 2], y=[1, 2, 3])
    with open_store(path, "t") as st:
        st.open(e, [], {}, resume=False)
        run_all(st, e, batch=3, failed={4})
        np.testing.assert_array_equal(st.failed_runs(), [0, 0, 0, 0, 1, 0])
        ds = st.finalize().load()
    assert ds.failed.values[1, 1] and not ds.completed.values[1, 1]
    assert "run 4" in error_of(ds, x=2, y=2) and "Traceback" in traceback_of(ds, x=2, y=2)
    assert error_of(ds, x=2, y=1) == "" and error_of(ds, x=2).values.tolist()[1] != ""
    # messages only for failed runs, along ``failure``: run index, cell, texts
    assert ds.failure_run.values.tolist() == [4] and ds.failure.values.tolist() == [4]
    assert ds.failure.attrs["compress"] == "x y"
    table = failures(ds)
    assert table.index.tolist() == [4] and table.loc[4, "x"] == 2 and table.loc[4, "y"] == 2
    assert table.loc[4, "error"] == "ValueError: run 4 failed"
    assert table.loc[4, "traceback"].startswith("Traceback")
    assert np.isnan(ds.z.values[1, 1]) and ds.z.values[1, 2] == 5.0
    assert np.isnan(ds.v.values[1, 1]).all()  # CF _FillValue masks the missing int run
    assert ds.v.where(ds.completed).sum() == 3 * (0 + 1 + 2 + 3 + 5)


def test_run_layout(tmp_path):
    path = tmp_path / "res.h5"
    e = Exploration({"parameters.x": [5, 5, 7], "parameters.s": ["a", "b", "c"]})
    with open_store(path, "t") as st:
        st.open(e, [], {}, resume=False)
        run_all(st, e, batch=2)
        ds = st.finalize()
    assert ds.z.dims == ("run",) and list(ds.x.values) == [5, 5, 7]
    assert list(ds.run_name.values) == ["run_00000000", "run_00000001", "run_00000002"]
    assert ds.z.sel(run=2).values == 2.0


def test_zip_axis_and_non_c_order_expansion(tmp_path):
    path = tmp_path / "res.h5"
    p = cartesian_product({"parameters.a": [1, 2], "parameters.b": [10, 20], "parameters.c": [0, 1]},
                          combined_parameters=[("parameters.a", "parameters.b"), "parameters.c"])
    e = Exploration(p, p.axes)
    with open_store(path, "t") as st:
        st.open(e, [], {}, resume=False)
        run_all(st, e, batch=2)
        ds = st.finalize()
    assert ds.z.dims == ("a", "c") and list(ds.b.values) == [10, 20]
    assert ds.z.sel(a=2, c=1).values == 3.0
    # expand along c: new runs 4..5 are at (a, c=2); the grid is no longer in C order
    e2 = e.expand(cartesian_product({"parameters.a": [1, 2], "parameters.b": [10, 20],
                                     "parameters.c": [2]},
                                    combined_parameters=[("parameters.a", "parameters.b"),
                                                         "parameters.c"]))
    assert e2.shape == (2, 3) and not e2.is_c_order
    with open_store(path, "t") as st:
        st.open(e2, [], {}, resume=True)
        assert st.done().tolist() == [True] * 4 + [False] * 2
        run_all(st, e2, batch=2, fn=lambda i: {"z": float(i), "v": np.full(3, i, np.int64)})
        ds = st.finalize().load()
    assert ds.z.sel(a=1, c=2).values == 4.0 and ds.z.sel(a=2, c=1).values == 3.0
    assert ds.completed.all()


def test_ragged_and_pickled_results(tmp_path):
    path = tmp_path / "res.h5"
    e = grid(x=[1, 2, 3], y=[0, 1])
    fn = lambda i: {"spikes": np.arange(i, dtype=float), "obj": {"run": i},  # noqa: E731
                    "img": np.ones((i % 2 + 1, 2))}
    with open_store(path, "t") as st:
        st.open(e, [], {}, resume=False)
        run_all(st, e, batch=4, fn=fn)
        ds = st.finalize()
    assert ds.spikes.dims == ("spikes_obs",) and ds.spikes_count.attrs["sample_dimension"] == "spikes_obs"
    assert int(ds.spikes_count.sum()) == sum(range(6))
    np.testing.assert_array_equal(get_ragged(ds, "spikes", x=3, y=1), np.arange(5.0))
    row = get_ragged(ds, "spikes", x=2)
    assert row.shape == (2,) and list(row[1]) == [0.0, 1.0, 2.0]
    np.testing.assert_array_equal(get_ragged_at(ds, "spikes", x=0, y=1), [0.0])
    assert get_ragged(ds, "img", x=1, y=1).shape == (2, 2)
    assert get_ragged(ds, "img", x=1, y=0).shape == (1, 2)
    from pypetx.errors import PickleNotAllowedError

    with pytest.raises(PickleNotAllowedError, match="obj"):
        get_ragged(ds, "obj", x=1, y=0)
    assert get_ragged(ds, "obj", x=3, y=0, allow_pickle=True) == {"run": 4}
    with pytest.raises(StorageError, match="ragged results: img, obj, spikes"):
        get_ragged(ds, "z")


def test_shape_change_between_batches_becomes_ragged(tmp_path):
    path = tmp_path / "res.h5"
    e = grid(x=[0, 1, 2, 3])
    with open_store(path, "t") as st:
        st.open(e, [], {}, resume=False)
        run_all(st, e, batch=2, fn=lambda i: {"trace": np.zeros(2 if i < 2 else 3)})
        ds = st.finalize()
    assert "trace_count" in ds and ds.trace_count.values.tolist() == [2, 2, 3, 3]


def test_several_trajectories_in_one_file(tmp_path):
    path = tmp_path / "res.h5"
    for name, n in (("first", 3), ("second", 5)):
        e = grid(x=list(range(n)))
        with open_store(path, name) as st:
            st.open(e, [], {"name": name}, resume=False)
            run_all(st, e)
            st.finalize()
    assert list_trajectories(path) == ["first", "second"]
    # rewriting "first" keeps "second" intact
    e = grid(x=list(range(3)))
    with open_store(path, "first") as st:
        st.open(e, [], {}, resume=True)
        st.write_batch(make_batch([1], {"z": np.array([100.0])}))
        st.finalize()
    assert open_results(path, "first").z.values.tolist() == [0.0, 100.0, 2.0]
    assert open_results(path, "second").z.values.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    with h5py.File(path) as f:
        assert set(f) == {"first", "second"} and "_tree" in f["first"]


def test_resume_from_journal_and_file(tmp_path):
    path = tmp_path / "res.h5"
    e = grid(x=list(range(6)))
    st = open_store(path, "t")
    st.open(e, [], {}, resume=False)
    st.write_batch(make_batch([0, 1], {"z": np.array([0.0, 1.0])}))
    st.finalize()
    st.write_batch(make_batch([2, 3], {"z": np.array([2.0, 3.0])}, failed=[3]))
    st.close()  # no finalize: batch 2-3 lives in the journal only
    assert (tmp_path / "res.h5.pypetx" / "t").is_dir()
    st = open_store(path, "t")
    with pytest.raises(StorageError, match="resume=True"):
        st.open(e, [], {}, resume=False)
    st.open(e, [], {}, resume=True)
    assert st.done().tolist() == [True, True, True, False, False, False]
    assert st.failed_runs().tolist() == [False, False, False, True, False, False]
    st.write_batch(make_batch([3, 4, 5], {"z": np.array([3.0, 4.0, 5.0])}))
    ds = st.finalize()
    st.close()
    assert ds.z.values.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0] and ds.completed.all()
    assert not ds.failed.any() and error_of(ds, x=ds.x.values[3]) == "" and ds.failure_run.size == 0
    assert not (tmp_path / "res.h5.pypetx").exists()


def test_resume_with_other_exploration_fails(tmp_path):
    path = tmp_path / "res.h5"
    with open_store(path, "t") as st:
        st.open(grid(x=[1, 2, 3]), [], {}, resume=False)
        st.finalize()
    with open_store(path, "t") as st, pytest.raises(StorageError, match="parameters.x differs at run 1"):
        st.open(grid(x=[1, 5, 3]), [], {}, resume=True)


def test_encoding_override_and_complevel(tmp_path):
    path = tmp_path / "res.h5"
    e = grid(x=list(range(8)))
    with open_store(path, "t", complevel=9, encoding={"v": {"zlib": False}}) as st:
        st.open(e, [], {}, resume=False)
        run_all(st, e)
        ds = st.finalize()
    assert ds.z.encoding["complevel"] == 9 and not ds.v.encoding.get("zlib")


def test_commits_of_two_trajectories_to_one_file_are_serialised(tmp_path):
    """A commit replaces the whole file: a second driver must wait, not drop a group."""
    import subprocess
    import sys
    import textwrap
    import time

    from pypetx import Environment
    from pypetx.store.hdf5 import _file_commit_lock
    from pypetx.store.load import list_trajectories

    path = tmp_path / "two.h5"
    env = Environment(trajectory="A", filename=str(path), cluster="synchronous", progress=False)
    env.traj.f_add_parameter("x", 1.0)
    env.traj.f_explore({"x": [1.0, 2.0]})
    env.run(lambda traj: traj.f_add_result("z", traj.x))
    script = tmp_path / "b.py"
    script.write_text(textwrap.dedent(f"""
        from pypetx import Environment
        env = Environment(trajectory="B", filename={str(path)!r}, cluster="synchronous",
                          progress=False, batch_size=1)
        env.traj.f_add_parameter("x", 1.0)
        env.traj.f_explore({{"x": [1.0, 2.0]}})
        env.run(lambda traj: traj.f_add_result("z", 2 * traj.x))
    """))
    journal = tmp_path / "two.h5.pypetx" / "B"
    with _file_commit_lock(path):  # another driver is committing to this file right now
        proc = subprocess.Popen([sys.executable, str(script)], stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while time.time() < deadline and len(list(journal.glob("*.npz"))) < 2:
            time.sleep(0.05)
        time.sleep(1.0)
        assert proc.poll() is None, proc.stderr.read()  # B ran, and waits to commit
        assert list_trajectories(path) == ["A"]
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    assert list_trajectories(path) == ["A", "B"]


def test_chunks_capped_at_1_mib_with_little_padding():
    from pypetx.store.hdf5 import _cap_chunk_bytes

    assert _cap_chunk_bytes([1, 100, 10_000], 8, (100, 100, 10_000)) == (1, 10, 10_000)
    assert _cap_chunk_bytes([1, 97, 10_000], 8, (100, 97, 10_000)) == (1, 13, 10_000)
    assert _cap_chunk_bytes([10, 200_000], 8, (1000, 200_000)) == (1, 100_000)
    assert _cap_chunk_bytes([1, 100, 1300], 8, (100, 200, 1300)) == (1, 100, 1300)
    assert _cap_chunk_bytes([1, 8, 100], 8) == (1, 8, 100)
