"""Status layout (format 2): worker codes, failures along ``failure``; format 1 still read."""

from __future__ import annotations

import json
import shutil

import dask
import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

import pypetx
from pypetx.cli import cli
from pypetx.explore import Exploration, cartesian_product
from pypetx.store import (
    FORMAT_VERSION,
    error_of,
    failures,
    open_results,
    open_store,
    traceback_of,
    worker_names,
    workers,
)
from pypetx.store import cube as cube_module
from pypetx.store.journal import Journal
from pypetx.store.status import _messages
from pypetx.store.testing import make_batch


def grid(nx=4, ny=3):
    p = cartesian_product({"parameters.x": [float(i) for i in range(nx)],
                           "parameters.y": [10 * j for j in range(ny)]})
    return Exploration(p, p.axes)


def run_batches(st, e, failed=(), batch=3, workers=("w0", "w1"), start=0, stop=None):
    stop = e.n_runs if stop is None else stop
    for k, b0 in enumerate(range(start, stop, batch)):
        idx = np.arange(b0, min(b0 + batch, stop))
        st.write_batch(make_batch(idx, {"z": idx * 1.0}, failed=[i for i in idx if i in failed],
                                  worker=workers[k % len(workers)]))


def to_format_1(src, dst, name="t"):
    """Rewrite a stored trajectory in format 1 (status strings per cell)."""
    ds = open_results(src, name).load()
    tree_group = f"{name}/_tree"
    zarr = str(src).endswith(".zarr")
    tree = (xr.open_zarr(str(src), group=tree_group, consolidated=False).load() if zarr
            else xr.open_dataset(src, engine="h5netcdf", group=tree_group).load())
    old = ds.drop_vars(["failure_run", "failure_error", "failure_traceback", "failure"])
    old["worker"] = workers(ds).astype(object)
    old["error"] = _messages(ds, "error").astype(object)
    old["traceback"] = _messages(ds, "traceback").astype(object)
    old.attrs["pypetx_format_version"] = 1
    for var in old.variables.values():
        var.encoding = {}
    if zarr:
        old.to_zarr(str(dst), group=name, mode="w", consolidated=False)
        tree.to_zarr(str(dst), group=tree_group, mode="w", consolidated=False)
    else:
        old.to_netcdf(dst, engine="h5netcdf", group=name, mode="w")
        tree.to_netcdf(dst, engine="h5netcdf", group=tree_group, mode="a")


def test_layout_of_status(tmp_path):
    e = grid()
    path = tmp_path / "r.h5"
    with open_store(path, "t") as st:
        st.open(e, [], {}, resume=False)
        run_batches(st, e, failed={4, 7}, stop=9)  # runs 9..11 never run
        ds = st.finalize()
    plain = xr.open_dataset(path, engine="h5netcdf", group="t")
    assert plain.attrs["pypetx_format_version"] == FORMAT_VERSION >= 2
    assert plain.worker.dtype == np.int32 and plain.worker.dims == ("x", "y")
    assert json.loads(plain.worker.attrs["worker_names"]) == ["w0", "w1"]
    assert plain.worker.values.ravel().tolist() == [0, 0, 0, 1, 1, 1, 0, 0, 0, -1, -1, -1]
    assert plain.failure_run.values.tolist() == [4, 7]
    assert plain.failure.values.tolist() == [4, 7]  # C-order cells (the grid's own order)
    assert plain.failure_error.values.tolist() == ["ValueError: run 4 failed",
                                                   "ValueError: run 7 failed"]
    assert plain.failure_traceback.values[1].endswith("ValueError: run 7")
    assert plain.duration.dtype == np.float64 and np.isnan(plain.duration.values[3]).all()
    table = failures(ds)
    assert list(table.columns) == ["x", "y", "error", "traceback"]
    assert table.index.name == "run" and table.index.tolist() == [4, 7]
    assert table.x.tolist() == [1.0, 2.0] and table.y.tolist() == [10, 10]
    assert error_of(ds, x=1.0, y=10) == "ValueError: run 4 failed" == table.error[4]
    assert error_of(ds, x=0.0, y=0) == "" and traceback_of(ds, x=0.0, y=0) == ""
    assert error_of(ds, y=10).values.tolist() == ["", "ValueError: run 4 failed",
                                                  "ValueError: run 7 failed", ""]
    assert worker_names(ds) == ["w0", "w1"] and workers(ds).values[3, 0] == ""
    assert pypetx.failures is failures


def test_failures_of_expanded_grid_and_run_layout(tmp_path):
    """Run indices are not C-order cells once a grid grows: the cells are stored."""
    path = tmp_path / "r.h5"
    small = grid(2, 3)
    with open_store(path, "t") as st:
        st.open(small, [], {}, resume=False)
        run_batches(st, small, failed={4})  # x=1.0, y=10
        st.finalize()
    big = small.expand(cartesian_product({"parameters.x": [0.0, 1.0], "parameters.y": [30]}))
    assert big.shape == (2, 4)
    with open_store(path, "t") as st:
        st.open(big, [], {}, resume=True)
        run_batches(st, big, failed={6}, start=6)  # run 6: x=0.0, y=30, cell 3
        ds = st.finalize()
    assert ds.failure_run.values.tolist() == [4, 6] and ds.failure.values.tolist() == [5, 3]
    table = failures(ds)
    assert table.index.tolist() == [4, 6]
    assert table.x.tolist() == [1.0, 0.0] and table.y.tolist() == [10, 30]
    assert error_of(ds, x=1.0, y=10) == "ValueError: run 4 failed"
    assert error_of(ds, x=0.0, y=30) == "ValueError: run 6 failed"

    p = {"parameters.x": [0.5, 0.1, 0.9], "parameters.y": [1, 2, 3]}
    e = Exploration(p, None)
    with open_store(tmp_path / "run.h5", "t") as st:
        st.open(e, [], {}, resume=False)
        run_batches(st, e, failed={1})
        ds = st.finalize()
    table = failures(ds)
    assert table.index.tolist() == [1] and list(table.columns) == ["x", "y", "error", "traceback"]
    assert (table.x[1], table.y[1]) == (0.1, 2) and error_of(ds, run=1).endswith("run 1 failed")


@pytest.mark.parametrize("per_block", [1, 2, 16384])
def test_failure_variables_lazy_blocks_match_eager(tmp_path, monkeypatch, per_block):
    monkeypatch.setattr(cube_module, "_FAILURES_PER_BLOCK", per_block)
    e = grid(5, 4)
    with open_store(tmp_path / "r.h5", "t") as st:
        st.open(e, [], {}, resume=False)
        run_batches(st, e, failed={1, 2, 5, 11, 19}, stop=12, workers=("a", "b", "c"))
        st.finalize()
        run_batches(st, e, failed={12, 19}, start=11, workers=("d", "a"))  # 11 now completes
        eager, _ = st.cube(eager=True)
        lazy, _ = st.cube(eager=False)
        assert isinstance(lazy.failure_error.data, dask.array.Array)
        with dask.config.set(scheduler="synchronous"):
            xr.testing.assert_identical(eager, lazy.compute())
        ds = st.finalize()
    assert ds.failure_run.values.tolist() == [1, 2, 5, 12, 19]
    assert worker_names(ds) == ["a", "b", "c", "d"]
    assert workers(ds).values.ravel()[11] == "d"


def test_format_1_file_is_read_and_resumed(tmp_path):
    e = grid()
    v2 = tmp_path / "v2.h5"
    with open_store(v2, "t") as st:
        st.open(e, [], {}, resume=False)
        run_batches(st, e, failed={4, 7}, stop=9)
        st.finalize()
    v1 = tmp_path / "v1.h5"
    to_format_1(v2, v1)
    ds = open_results(v1)
    assert ds.attrs["pypetx_format_version"] == 1 and ds.worker.dtype.kind in "OU"
    table = failures(ds)
    assert table.index.tolist() == [4, 7] and table.x.tolist() == [1.0, 2.0]
    assert error_of(ds, x=2.0, y=10) == "ValueError: run 7 failed"
    assert worker_names(ds) == ["w0", "w1"] and workers(ds).values[0, 0] == "w0"
    out = CliRunner().invoke(cli, ["failed", str(v1)])
    assert out.exit_code == 0 and "2 of 12 runs failed" in out.output
    assert "run 7 (x=2, y=10): ValueError: run 7 failed" in out.output
    out = CliRunner().invoke(cli, ["show", str(v1)])
    assert out.exit_code == 0 and "2 worker(s)" in out.output
    # resume: format 1 status is read back, the rewritten file is format 2
    with open_store(v1, "t") as st:
        st.open(e, [], {}, resume=True)
        assert st.done().sum() == 7 and st.failed_runs().nonzero()[0].tolist() == [4, 7]
        run_batches(st, e, failed={10}, start=9, workers=("w2",))
        ds = st.finalize()
    assert ds.attrs["pypetx_format_version"] == FORMAT_VERSION and "error" not in ds.variables
    assert ds.failure_run.values.tolist() == [4, 7, 10]
    assert failures(ds).error.tolist() == [f"ValueError: run {i} failed" for i in (4, 7, 10)]
    assert worker_names(ds) == ["w0", "w1", "w2"]
    assert workers(ds).values.ravel().tolist() == ["w0"] * 3 + ["w1"] * 3 + ["w0"] * 3 + ["w2"] * 3


@pytest.mark.filterwarnings("ignore:Failed to open Zarr store with consolidated")
def test_format_1_zarr_resumed_drops_old_strings(tmp_path):
    e = grid()
    v2 = tmp_path / "v2.zarr"
    with open_store(v2, "t") as st:
        st.open(e, [], {}, resume=False)
        run_batches(st, e, failed={4}, stop=6)
        st.finalize()
    v1 = tmp_path / "v1.zarr"
    to_format_1(v2, v1)
    shutil.rmtree(v2)
    assert failures(open_results(v1)).index.tolist() == [4]
    with open_store(v1, "t") as st:
        st.open(e, [], {}, resume=True)
        run_batches(st, e, failed={8}, start=6)
        ds = st.finalize()
    assert "error" not in ds.variables and "traceback" not in ds.variables
    assert ds.failure_run.values.tolist() == [4, 8] and ds.worker.dtype == np.int32
    assert failures(ds).error.tolist() == ["ValueError: run 4 failed", "ValueError: run 8 failed"]


def test_journal_keeps_messages_of_failed_runs_only(tmp_path):
    j = Journal(tmp_path / "j")
    b = make_batch(np.arange(1000), {"z": np.zeros(1000)}, failed=[3], worker="tcp://h:1")
    b.traceback[3] = "Traceback\n" + "x" * 100_000
    entry = j.write(b)
    assert entry.path.stat().st_size < 500_000  # once, not 1000 x the longest traceback
    names, codes = entry.workers()
    assert names == ["tcp://h:1"] and (codes == 0).all() and len(codes) == 1000
    rows, errors, _ = entry.messages()
    assert rows.tolist() == [3] and errors.tolist() == ["ValueError: run 3 failed"]
    assert entry.status("error")[3] == "ValueError: run 3 failed" and entry.status("error")[2] == ""
    assert entry.status("worker")[999] == "tcp://h:1"


def test_journal_of_format_1_is_read(tmp_path):
    """Batch files of earlier versions (strings per run) still assemble."""
    e = grid(2, 3)
    path = tmp_path / "r.h5"
    with open_store(path, "t") as st:
        st.open(e, [], {}, resume=False)
        run_batches(st, e, failed={2})
        for entry in st.journal.entries():  # rewrite every batch file in the old layout
            arrays = entry._read(None)
            meta = json.loads(str(arrays["meta"]))
            n = meta.pop("n")
            meta.pop("status")
            rows, err, tb = entry.messages()
            error, trace = np.full(n, "", object), np.full(n, "", object)
            error[rows], trace[rows] = err, tb
            arrays.update(meta=np.array(json.dumps(dict(meta, n=n))),
                          worker=np.array([str(arrays["worker"][0])] * n),
                          error=error.astype(str), traceback=trace.astype(str))
            for k in ("msg_rows", "msg_error", "msg_traceback"):
                del arrays[k]
            entry.close()
            np.savez(entry.path, **arrays)
        ds = st.finalize()
    assert failures(ds).error.tolist() == ["ValueError: run 2 failed"]
    assert worker_names(ds) == ["w0", "w1"]
