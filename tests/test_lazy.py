"""Lazy sweeps on real Dask clusters: nothing runs before compute, a selection runs only
its blocks, the graph composes with others, failures, storage through the journal (kill
and resume) and Zarr writes from worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

import pypetx
from pypetx import Environment, SweepFailed, cartesian_product
from pypetx.env.lazy import TemplateError

distributed = pytest.importorskip("distributed")

CALLS: list[tuple] = []  # every call of the functions below, in this process
_LOCK = threading.Lock()


def _called(*point):
    with _LOCK:
        CALLS.append(point)


def stats(x, y):
    _called(x, y)
    return {"z": float(x * y), "trace": np.arange(3.0) * x}


def product(x, y):
    _called(x, y)
    return x * y


def fragile(x, y):
    _called(x, y)
    if (x, y) in ((1, 1), (3, 0)):
        raise ValueError(f"unstable at x={x}, y={y}")
    return {"z": float(x + y), "n": x * 10 + y}


@pytest.fixture(autouse=True)
def _no_calls():
    CALLS.clear()
    yield
    CALLS.clear()


@pytest.fixture(scope="module")
def client():
    """Workers in this process (threads): the test sees every call of the functions."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        yield c


def _blocks(stream) -> list[dict]:
    return [t for t in stream.data if str(t["key"]).startswith("('pypetx-block-")]


def test_nothing_runs_before_compute_and_each_point_runs_once(client):
    ds = pypetx.sweep(stats, x=[1, 2, 3, 4], y=[0, 1, 2], lazy=True, chunks={"x": 1},
                      template={"z": 0.0, "trace": np.zeros(3)})
    assert CALLS == []
    assert ds.z.dims == ("x", "y") and ds.trace.dims == ("x", "y", "trace_dim_0")
    for name in ("z", "trace", "completed", "failed", "duration", "worker", "error"):
        assert dask.is_dask_collection(ds[name].data), name
    assert ds.z.data.numblocks == (4, 1) and ds.z.dtype == np.float64
    with distributed.get_task_stream(client) as stream:
        out = ds.compute()
    # all variables of a block come from one task: every point ran exactly once
    assert sorted(CALLS) == sorted((x, y) for x in [1, 2, 3, 4] for y in [0, 1, 2])
    assert len(_blocks(stream)) == 4
    np.testing.assert_array_equal(out.z.values, np.outer([1, 2, 3, 4], [0, 1, 2]))
    np.testing.assert_array_equal(out.trace.values[2, 1], [0.0, 3.0, 6.0])
    assert bool(out.completed.all()) and not bool(out.failed.any())
    assert set(out.worker.values.ravel().tolist()) <= set(client.scheduler_info()["workers"])


def test_the_probe_is_one_run_in_the_driver_without_a_template(client):
    ds = pypetx.sweep(product, x=[1, 2, 3], y=[10, 20], lazy=True)
    assert CALLS == [(1, 10)]  # run 0 taught the names and dtypes
    assert ds["product"].dtype == np.int64
    assert int(ds["product"].sum().compute()) == 6 * 30


def test_a_selection_computes_only_the_blocks_it_touches(client):
    ds = pypetx.sweep(stats, x=list(range(8)), y=[0, 1, 2], lazy=True, chunks={"x": 2},
                      template={"z": 0.0, "trace": np.zeros(3)})
    mean = ds.z.sel(x=slice(2, 3)).mean("y").compute()
    np.testing.assert_allclose(mean.values, [2.0, 3.0])
    assert sorted({x for x, _ in CALLS}) == [2, 3] and len(CALLS) == 6  # block 1 alone
    CALLS.clear()
    assert float(ds.trace.isel(x=7, y=2, trace_dim_0=2).compute()) == 14.0
    assert sorted({x for x, _ in CALLS}) == [6, 7]


def test_composes_with_other_graphs_in_one_compute(client):
    ds1 = pypetx.sweep(product, x=[1, 2, 3], y=[1, 2], lazy=True, template=0, chunks=1)
    ds2 = pypetx.sweep(stats, x=[1, 2], y=[5, 6], lazy=True,
                       template={"z": 0.0, "trace": np.zeros(3)})
    other = da.arange(10, chunks=5).sum()
    m1, m2, s = dask.compute(ds1["product"].max(), ds2.z.max(), other)
    assert (int(m1), float(m2), int(s)) == (6, 12.0, 45)
    assert len(CALLS) == 6 + 4
    CALLS.clear()
    doubled = xr.map_blocks(lambda b: b * 2, ds2.z).compute()
    roots = xr.apply_ufunc(np.sqrt, ds2.z, dask="parallelized").compute()
    total = da.reduction(ds2.z.data, np.sum, np.sum, dtype=float).compute()
    np.testing.assert_array_equal(doubled.values, 2 * np.outer([1, 2], [5, 6]))
    np.testing.assert_allclose(roots.values ** 2, np.outer([1, 2], [5, 6]))
    assert float(total) == 33.0
    assert len(CALLS) == 3 * 4  # three computes, each point once in each


def test_the_same_results_as_an_eager_sweep(client):
    lazy = pypetx.sweep(stats, x=[1.5, 2.0], y=[1, 2, 3], lazy=True).compute()
    eager = pypetx.sweep(stats, x=[1.5, 2.0], y=[1, 2, 3], cluster="synchronous")
    for name in ("z", "trace"):
        xr.testing.assert_equal(lazy[name], eager[name])


def test_failed_points_are_fill_and_flagged_with_their_tracebacks(client):
    ds = pypetx.sweep(fragile, x=[0, 1, 2, 3], y=[0, 1], lazy=True, on_error="continue",
                      chunks={"x": 2})
    assert ds.failed.dtype == bool and dask.is_dask_collection(ds.failed.data)
    out = ds.compute()
    bad = out.failed.values
    assert bad.tolist() == [[False, False], [False, True], [False, False], [True, False]]
    assert np.isnan(out.z.values[bad]).all() and not np.isnan(out.z.values[~bad]).any()
    assert (out.n.values[bad] == ds.n.encoding["_FillValue"]).all()  # netCDF int fill
    table = pypetx.failures(out)
    assert table.index.tolist() == [3, 6]  # run indices
    assert table.x.tolist() == [1, 3] and table.y.tolist() == [1, 0]
    assert "ValueError: unstable at x=1, y=1" in table.error.iloc[0]
    assert "raise ValueError" in table.traceback.iloc[0]
    # on the lazy Dataset: one compute for the failure table, not one per variable
    CALLS.clear()
    assert pypetx.failures(ds).index.tolist() == [3, 6]
    assert len(CALLS) == 8


def test_on_error_raise_raises_at_compute_naming_the_runs(client):
    ds = pypetx.sweep(fragile, x=[0, 1, 2, 3], y=[0, 1], lazy=True, chunks={"x": 1})
    with pytest.raises(SweepFailed, match=r"run 3 \(x=1, y=1\).*ValueError: unstable"):
        ds.z.isel(x=1).compute()
    assert float(ds.z.isel(x=2).sum().compute()) == 2 + 3  # blocks without failures compute


def test_run_0_failing_asks_for_a_template():
    with pytest.raises(SweepFailed, match="template="):
        pypetx.sweep(fragile, x=[3], y=[0, 1], lazy=True)
    ds = pypetx.sweep(fragile, x=[3], y=[0, 1], lazy=True, on_error="continue",
                      template={"z": 0.0, "n": 0})
    with dask.config.set(scheduler="sync"):
        assert ds.failed.values.tolist() == [[True, False]]


def halves(x):
    return 0 if x == 0 else x / 2


def spikes(x):
    return np.arange(x)


def test_a_point_that_does_not_fit_the_template_names_the_run():
    ds = pypetx.sweep(halves, x=[0, 1, 2], lazy=True, chunks=1)  # run 0 gives an int
    with dask.config.set(scheduler="sync"):
        with pytest.raises(TemplateError, match=r"run 1 \(x=1\) .*'halves' as 0.5 \(float64\);"
                                                r" the output, learned from run 0, is shape "
                                                r"\(\) int64"):
            ds.halves.compute()
        ok = pypetx.sweep(halves, x=[0, 1, 2], lazy=True, template=0.0)
        np.testing.assert_array_equal(ok.halves.values, [0.0, 0.5, 1.0])
        ragged = pypetx.sweep(spikes, x=[2, 3], lazy=True, chunks=1)
        with pytest.raises(TemplateError, match=r"run 1 \(x=3\).*shape \(3,\)"):
            ragged.compute()


def test_trajectory_style_runs_lazily_from_the_environment(client, tmp_path):
    def simulate(traj, scale):
        _called(traj.x, traj.y)
        traj.f_add_result("z", traj.x * traj.y * scale, comment="scaled product")
        traj.f_add_result("stats.mean", (traj.x + traj.y) / 2)

    env = Environment("lazytraj", filename=str(tmp_path / "t.h5"), batch_size=2)
    env.traj.f_add_parameter("x", 1.0)
    env.traj.f_add_parameter("y", 1.0)
    env.traj.f_explore(cartesian_product({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0]}))
    ds = env.to_dataset(simulate, args=(10,))
    assert len(CALLS) == 1 and not (tmp_path / "t.h5").exists()
    assert ds.z.attrs["comment"] == "scaled product" and ds.z.data.numblocks == (3, 1)
    out = ds.compute()
    np.testing.assert_array_equal(out.z.values, 10 * np.outer([1, 2, 3], [1, 2]))
    np.testing.assert_array_equal(out["stats.mean"].values[2], [2.0, 2.5])


def code(traj):
    if (traj.x, traj.y) == (1, 3):
        raise ValueError("no code for (1, 3)")
    return traj.x * 10 + traj.y


def test_run_layout_and_expanded_grid():
    env = Environment("zipped", batch_size=2)
    env.traj.f_add_parameter("x", 1.0)
    env.traj.f_add_parameter("y", 1.0)
    env.traj.f_explore({"x": [1.0, 2.0, 3.0], "y": [4.0, 5.0, 6.0]})
    ds = env.to_dataset(lambda traj: traj.x * traj.y, template=0.0)
    with dask.config.set(scheduler="sync"):
        assert ds.result.dims == ("run",) and ds.result.values.tolist() == [4.0, 10.0, 18.0]
    grid = pypetx.Trajectory("grown")
    grid.f_add_parameter("x", 1)
    grid.f_add_parameter("y", 1)
    grid.f_explore(cartesian_product({"x": [1, 2], "y": [1, 2]}))
    grid.f_expand(cartesian_product({"x": [1, 2], "y": [3]}))  # runs 4, 5: cells 2, 5
    ds = Environment(grid, on_error="continue").to_dataset(code, template=0)
    assert "pypetx_exploration" in ds.attrs  # runs are not the cells in C order
    with dask.config.set(scheduler="sync"):
        out = ds.compute()
    assert out.failed.values.tolist() == [[False, False, True], [False, False, False]]
    assert out.code.values[1].tolist() == [21, 22, 23]
    assert pypetx.failures(out).index.tolist() == [4]


def labelled(x, y):
    if x == 2:
        raise ValueError("no label")
    return {"label": "p" * x, "spectrum": xr.DataArray(np.arange(3.0) * y, dims="freq"),
            "ok": x > 1}


def test_strings_own_dims_and_a_dataset_template_write_to_netcdf(tmp_path):
    template = xr.Dataset({"label": ((), ""), "spectrum": (("freq",), np.zeros(3)),
                           "ok": ((), False)})
    ds = pypetx.sweep(labelled, x=[1, 2, 3], y=[1.0, 2.0], lazy=True, chunks={"x": 1},
                      on_error="continue", template=template)
    assert ds.spectrum.dims == ("x", "y", "freq") and ds.ok.dtype == bool
    with dask.config.set(scheduler="threads"):
        ds.to_netcdf(tmp_path / "lazy.nc", engine="h5netcdf")
    with xr.open_dataset(tmp_path / "lazy.nc", engine="h5netcdf") as back:
        # strings of any length; a failed point holds "" (strings), NaN, False
        assert back.label.values.tolist() == [["p", "p"], ["", ""], ["ppp", "ppp"]]
        assert np.isnan(back.spectrum.values[1]).all()
        np.testing.assert_array_equal(back.spectrum.values[2, 1], [0.0, 2.0, 4.0])
        assert back.ok.values.tolist() == [[False, False], [False, False], [True, True]]
        assert back.error.values[1].tolist() == ["ValueError: no label"] * 2
        assert pypetx.failures(back).index.tolist() == [2, 3]


def test_chunks_in_xarray_spelling_and_from_batching():
    kw = dict(x=list(range(6)), y=list(range(4)), lazy=True, template=0)
    assert pypetx.sweep(product, chunks={"y": 2}, **kw)["product"].chunks == ((6,), (2, 2))
    assert pypetx.sweep(product, chunks=(4, -1), **kw)["product"].chunks == ((4, 2), (4,))
    # batch_size is the runs per task, laid out as the store chunks a sweep's batches
    assert pypetx.sweep(product, batch_size=8, **kw)["product"].chunks == ((2, 2, 2), (4,))
    with pytest.raises(ValueError, match=r"\['z'\].*not explored"):
        pypetx.sweep(product, chunks={"z": 2}, **kw)
    with pytest.raises(ValueError, match="filename.*pypetx.save"):
        pypetx.sweep(product, filename="f.h5", **kw)


def test_to_zarr_writes_from_worker_processes(tmp_path):
    ds = pypetx.sweep(where_am_i, x=list(range(6)), y=[0, 1], lazy=True, chunks={"x": 2},
                      template={"pid": 0, "v": 0.0})
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        pids = set(c.run(os.getpid).values())
        workers = set(c.scheduler_info()["workers"])
        with distributed.get_task_stream(c) as stream:
            ds.to_zarr(tmp_path / "lazy.zarr", mode="w", consolidated=False)
    assert os.getpid() not in pids
    # each chunk of each variable was written by a task on a worker process, from the
    # block it computed there (the results never travel to the driver)
    stores = [t for t in stream.data if str(t["key"]).startswith("('store-map-")]
    assert len(stores) == 3 * len(ds.data_vars)
    assert {t["worker"] for t in stream.data} <= workers
    stored = xr.open_zarr(tmp_path / "lazy.zarr", consolidated=False)
    assert set(np.unique(stored.pid.values).tolist()) <= pids
    np.testing.assert_array_equal(stored.v.values, np.add.outer(np.arange(6), [0, 1]) / 2)
    assert bool(stored.completed.all()) and stored.v.encoding["chunks"] == (2, 2)


def where_am_i(x, y):
    return {"pid": os.getpid(), "v": (x + y) / 2}


def test_save_stores_through_the_journal_on_the_current_client(client, tmp_path):
    ds = pypetx.sweep(fragile, x=[0, 1, 2], y=[0, 1], lazy=True, on_error="continue",
                      template={"z": 0.0, "n": 0})
    stored = pypetx.save(ds, tmp_path / "s.h5")
    assert sorted(CALLS) == sorted((x, y) for x in [0, 1, 2] for y in [0, 1])
    with pypetx.open_results(tmp_path / "s.h5") as again:
        assert again.attrs["pypetx_format_version"] >= 3
        np.testing.assert_array_equal(again.failed.values, [[False, False], [False, True],
                                                            [False, False]])
        assert pypetx.failures(again).index.tolist() == [3]
    names = set(pypetx.store.worker_names(stored))
    assert names <= set(client.scheduler_info()["workers"])
    CALLS.clear()
    pypetx.save(ds, tmp_path / "s.h5")  # saving again: nothing left to run
    assert CALLS == []
    with pytest.raises(ValueError, match="whole sweeps"):
        pypetx.save(ds.isel(x=slice(0, 2)), tmp_path / "part.h5")
    with pytest.raises(TypeError, match="no lazy sweep"):
        pypetx.save(ds.compute(), tmp_path / "eager.h5")


KILLED_SAVE = textwrap.dedent(
    """
    import sys, time
    import pypetx

    def slow(x, y):
        with open(sys.argv[2], "a") as log:
            log.write(f"{x} {y}\\n")
        time.sleep(0.05)
        return {"z": x * 10.0 + y}

    ds = pypetx.sweep(slow, x=list(range(10)), y=list(range(4)), lazy=True,
                      template={"z": 0.0})
    pypetx.save(ds, sys.argv[1], cluster="synchronous", batch_size=1)
    print("DONE")
    """
)


@pytest.mark.slow
def test_a_killed_save_resumes_with_only_the_missing_runs(tmp_path):
    script, path, log = tmp_path / "save.py", tmp_path / "k.h5", tmp_path / "calls.txt"
    script.write_text(KILLED_SAVE)
    proc = subprocess.Popen([sys.executable, str(script), str(path), str(log)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = tmp_path / "k.h5.pypetx" / "slow"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(journal.glob("*.npz"))) < 5:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    first = len(log.read_text().splitlines())
    assert 5 <= first < 40
    done = subprocess.run([sys.executable, str(script), str(path), str(log)],
                          capture_output=True, text=True, timeout=300)
    assert "DONE" in done.stdout, done.stderr
    calls = log.read_text().splitlines()
    # the journaled runs did not run again (at most the one in flight at the kill)
    assert len(calls) - first <= 40 - 5 + 1 and len(calls) < 41 + 1
    assert len(set(calls)) == 40
    with pypetx.open_results(path) as ds:
        assert bool(ds.completed.all())
        np.testing.assert_array_equal(ds.z.values, np.add.outer(np.arange(10) * 10.0,
                                                               np.arange(4)))
