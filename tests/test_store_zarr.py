"""Zarr backend: same layout, sharded arrays, workers writing their shards, resume after
kill -9, plain xarray reads, format 2 (and zarr-python 2) without sharding."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dask
import numpy as np
import pytest
import xarray as xr

from pypetx import Environment
from pypetx.explore import Exploration, cartesian_product
from pypetx.store import get_ragged, list_trajectories, open_results, open_store, read_tree
from pypetx.store.batch import ResultMeta
from pypetx.store.testing import make_batch
from pypetx.store.zarr import PartlyWritten, ZarrStore
from pypetx.store.zarrshard import (
    ZarrOptions,
    auto_shard_runs,
    block_groups,
    covered_blocks,
    plan_layout,
    zarr_major,
)

requires_zarr3 = pytest.mark.skipif(zarr_major() < 3, reason="sharding needs zarr-python 3")
# format 3 where zarr-python writes it, else the only format zarr-python 2 writes
FORMATS = [pytest.param(3, marks=requires_zarr3), 2]


def grid(nx=6, ny=4):
    p = cartesian_product({"parameters.x": list(range(nx)), "parameters.y": [0.5 * k for k in range(ny)]})
    return Exploration(p, p.axes)


def batch(b, n=4):
    idx = np.arange(n * b, n * b + n)
    return make_batch(idx, {"z": idx * 1.0, "v": np.stack([np.arange(3) + i for i in idx]),
                            "spikes": [np.arange(i % 3) for i in idx]},
                      meta={"z": ResultMeta(units="Hz")})


def n_files(directory):
    return sum(len(files) for _, _, files in os.walk(directory))


def check(ds, nx=6, ny=4):
    n = nx * ny
    np.testing.assert_array_equal(ds.z.values, np.arange(float(n)).reshape(nx, ny))
    np.testing.assert_array_equal(ds.v.values[..., 0], np.arange(n).reshape(nx, ny))
    assert ds.completed.values.all() and ds.z.attrs["units"] == "Hz"
    np.testing.assert_array_equal(get_ragged(ds, "spikes", x=1, y=0.5), np.arange(5 % 3))


@pytest.mark.parametrize("fmt", FORMATS)
def test_zarr_roundtrip_and_local_sink(tmp_path, fmt):
    path = tmp_path / "res.zarr"
    e = grid()
    st = open_store(path, "t", batch_size=4, zarr_format=fmt)  # fixed batches: a shard each
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
    if fmt == 3:  # a shard of one batch, inner chunks of one run (1/8 of a shard at most)
        assert (ds.z.encoding["chunks"], ds.z.encoding["shards"]) == ((1, 1), (1, 4))
        assert ds.completed.encoding["shards"] == (1, 4)  # status is sharded alike
        assert (path / "zarr.json").exists() and n_files(path / "t/z/c") == 6  # 24 chunks
    else:  # format 2: one file per chunk of one batch, as before sharding
        assert ds.z.encoding["chunks"] == (1, 4) and ds.z.encoding.get("shards") is None
        assert (path / ".zgroup").exists() and (path / "t/z/0.0").is_file()
    assert list_trajectories(path) == ["t"]
    assert read_tree(path, "t")[0][0]["value"] == 3


@pytest.mark.parametrize("fmt", FORMATS)
def test_partial_chunks_go_to_the_driver(tmp_path, fmt):
    path = tmp_path / "res.zarr"
    e = grid()
    with open_store(path, "t", batch_size=4, zarr_format=fmt) as st:
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
    st = open_store(path, "t", batch_size=4)
    st.open(e, [], {}, resume=False)
    sink = st.worker_sink()
    for b in range(3):
        st.write_batch(sink(batch(b)))
    st.journal = None  # what a kill leaves: no finalize, no close ...
    os.close(st._lock._fd)  # ... and the kernel drops the dead driver's lock
    __import__("pypetx.store.lock").store.lock._HELD.discard(st._lock._key)
    st2 = open_store(path, "t", batch_size=4)
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
    st = open_store(path, "t", batch_size=4)
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
    with open_store(path, "t", batch_size=4) as st:
        st.open(e, [], {}, resume=False)
        sink = st.worker_sink()
        for b in range(6):
            st.write_batch(sink(batch(b)))
        st.finalize()
    e2 = e.expand(cartesian_product({"parameters.x": [6, 7], "parameters.y": [0.5 * k for k in range(4)]}))
    assert e2.shape == (8, 4)
    with open_store(path, "t", batch_size=4) as st:
        st.open(e2, [], {}, resume=True)
        assert st.done().sum() == 24
        sink = st.worker_sink()
        for b in range(6, 8):
            st.write_batch(sink(batch(b)))
        ds = st.finalize()
    check(ds, 8, 4)
    assert ds.x.values.tolist() == list(range(8))


# -- layout ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape,chunk_runs,shard_runs", [
    ((1000, 1000), 3125, 25000), ((1000, 1000), 131, 2097), ((50, 40), 4, 32),
    ((7, 3, 5), 2, 40), ((100,), 7, 30), ((3, 5), 1000, 4),
])
def test_shards_are_contiguous_run_ranges_of_whole_chunks(shape, chunk_runs, shard_runs):
    lay = plan_layout(shape, chunk_runs=chunk_runs, shard_runs=shard_runs)
    assert all(s % c == 0 for s, c in zip(lay.shards, lay.chunks))  # Zarr's rule
    assert np.prod(lay.chunks) <= max(1, min(chunk_runs, shard_runs // 8))
    assert np.prod(lay.shards) <= max(shard_runs, np.prod(lay.chunks))
    # every shard, clipped to the grid, is one contiguous range of C-order run indices
    cells = np.indices(shape).reshape(len(shape), -1).T
    for rows in block_groups(cells, lay.shards):
        assert np.array_equal(rows, np.arange(rows[0], rows[0] + len(rows)))


def test_auto_shards_follow_the_batch_limits():
    with dask.config.set({"pypetx.batching.max_batch": 100_000,
                          "pypetx.batching.max_batch_bytes": "64 MiB"}):
        assert auto_shard_runs(8) == 25_000  # a quarter of max_batch
        assert auto_shard_runs(8_000) == (64 * 2**20 // 8_000) // 4  # of max_batch_bytes
    with dask.config.set({"pypetx.zarr.shards": None, "pypetx.zarr.chunk_bytes": "4 KiB"}):
        opts = ZarrOptions.from_config()
        assert opts.shards is None and opts.chunk_bytes == 4096 and opts.format == 3
    with pytest.raises(ValueError, match="format must be 2 or 3"):
        ZarrOptions(format=4)


def test_covered_blocks_leave_partial_blocks_out():
    cells = np.indices((4, 6)).reshape(2, -1).T
    blocks, covered = covered_blocks(cells[5:19], (4, 6), (1, 6))  # runs 5..18
    assert [b[0] for b in blocks] == [(slice(1, 2), slice(0, 6)), (slice(2, 3), slice(0, 6))]
    assert covered.tolist() == [False] + [True] * 12 + [False]


# -- workers write whole shards, the driver the rest ---------------------------------


@requires_zarr3
def test_a_batch_over_shard_edges_is_journaled_in_two_parts(tmp_path):
    path = tmp_path / "res.zarr"
    e = grid(6, 8)
    with open_store(path, "t", shards=8, chunk_bytes=16) as st:  # shards: rows of 8 runs
        st.open(e, [], {}, resume=False)
        sink = st.worker_sink()
        st.write_batch(sink(make_batch([0], {"z": np.array([0.0])})))
        idx = np.arange(1, 30)
        out = sink(make_batch(idx, {"z": idx * 1.0}, failed=[9], present={"z": idx != 9}))
        assert isinstance(out, PartlyWritten) and "z" not in out.results
        # runs 8..23 (rows 1, 2) were written; 1..7 and 24..29 are in partial shards
        assert np.flatnonzero(out.written).tolist() == list(range(7, 23))
        assert out.held["z"].tolist() == [*range(1, 8), *range(24, 30)]
        # where a planner should have ended the batch: on a shard boundary
        assert (st.batch_boundary(1, 30), st.batch_boundary(25, 30), st.batch_boundary(1, 32)) \
            == (24, 30, 32)
        n0 = len(st.journal.entries())
        st.write_batch(out)
        entries = st.journal.entries()[n0:]
        assert [len(x.indices) for x in entries] == [13, 16]
        assert entries[1].meta["worker_written"] and not entries[0].meta["worker_written"]
        arr = st._live()["z"]
        np.testing.assert_array_equal(arr[2], np.arange(16, 24.0))  # the worker's shards
        assert arr[1, 0] == 8 and np.isnan(arr[1, 1])  # run 9 failed: the fill value
        assert np.isnan(arr[3, 0])  # not written yet: the driver holds run 24
        rest = np.arange(30, 48)
        st.write_batch(sink(make_batch(rest, {"z": rest * 1.0})))
        ds = st.finalize()
    want = np.arange(48.0).reshape(6, 8)
    want[1, 1] = np.nan  # run 9 failed: no value
    np.testing.assert_array_equal(ds.z.values, want)
    assert ds.failed.values.sum() == 1 and ds.completed.values.sum() == 47
    # chunk_bytes asks for 2 runs, but a shard holds 8 chunks at least
    assert ds.z.encoding["shards"] == (1, 8) and ds.z.encoding["chunks"] == (1, 1)
    assert n_files(path / "t/z/c") == 6  # one file per shard, of 8 chunks each


def _sweep(traj):
    traj.f_add_result("z", traj.x * traj.y, comment="product")
    traj.f_add_result("v", np.arange(3.0) * traj.x + traj.y)


def _env(path, client, **kw):
    env = Environment(trajectory="t", filename=str(path), client=client, progress=False, **kw)
    env.traj.f_add_parameter("x", 1.0)
    env.traj.f_add_parameter("y", 1.0)
    env.traj.f_explore(cartesian_product({"x": [float(i) for i in range(40)],
                                          "y": [0.5 * j for j in range(50)]}))
    return env


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        yield c


@pytest.fixture
def arriving(monkeypatch):
    """The names of the results that reach the driver with each batch."""
    seen: list[tuple[int, set[str]]] = []
    write = ZarrStore.write_batch

    def spy(self, batch):
        seen.append((len(batch), set(batch.results) | set(getattr(batch, "held", {}))))
        return write(self, batch)

    monkeypatch.setattr(ZarrStore, "write_batch", spy)
    return seen


@requires_zarr3
def test_worker_written_sweep_reopens_with_plain_xarray_and_equals_hdf5(tmp_path, client,
                                                                       arriving):
    # 2,000 runs: shards of 200 runs (4 rows of 50), inner chunks of 10 runs (240 bytes of
    # v, the largest result); 200-run batches cover one shard each
    with dask.config.set({"pypetx.zarr.shards": 200, "pypetx.zarr.chunk_bytes": 240}):
        _env(tmp_path / "w.zarr", client, batch_size=200).run(_sweep)
    _env(tmp_path / "ref.h5", client, batch_size=200).run(_sweep)
    assert arriving[0] == (200, {"z", "v"})  # the first batch creates the arrays
    # batches sent out before its result came back carry theirs too (at most 4 in flight);
    # every later one was written by its worker: only its status reached the driver
    assert all(names in ({"z", "v"}, set()) for _, names in arriving) and len(arriving) == 10
    assert [names for _, names in arriving[4:]] == [set()] * 6
    got = xr.open_zarr(tmp_path / "w.zarr", group="t")  # no pypetx involved
    assert got.z.chunks == ((1,) * 40, (10,) * 5)  # lazily, by inner chunk
    assert got.z.encoding["shards"] == (4, 50)
    with xr.open_dataset(tmp_path / "ref.h5", engine="h5netcdf", group="t") as want:
        for var in ("z", "v", "completed", "failed", "duration"):
            assert got[var].dims == want[var].dims
        for var in ("z", "v", "completed", "failed"):
            xr.testing.assert_identical(got[var].load(), want[var].load())
    # one file per shard: 10 per variable over (x, y), not one per chunk (200); Zarr
    # writes no shard that holds only the fill value (``failed``: all False; ``worker``:
    # code 0 where one worker ran all its runs)
    for var in ("z", "v", "completed", "duration"):
        assert n_files(tmp_path / f"w.zarr/t/{var}/c") == 10, var
    assert not (tmp_path / "w.zarr/t/failed/c").exists()
    assert n_files(tmp_path / "w.zarr/t/worker/c") <= 10


@requires_zarr3
def test_file_count_is_that_of_shards_not_of_chunks(tmp_path, client):
    with dask.config.set({"pypetx.zarr.chunk_bytes": 240}):  # 10-run chunks: 200 per var
        with dask.config.set({"pypetx.zarr.shards": 200}):
            _env(tmp_path / "sharded.zarr", client, batch_size=400).run(_sweep)
        with dask.config.set({"pypetx.zarr.shards": None}):
            _env(tmp_path / "plain.zarr", client, batch_size=400).run(_sweep)
    sharded, plain = (xr.open_zarr(tmp_path / n, group="t") for n in ("sharded.zarr", "plain.zarr"))
    xr.testing.assert_identical(sharded.z.load(), plain.z.load())
    assert n_files(tmp_path / "sharded.zarr/t/z") == 10 + 1  # shards + zarr.json
    # unsharded: chunks of about one batch (the first), one file each
    assert plain.z.encoding.get("shards") is None
    assert n_files(tmp_path / "plain.zarr/t/z") == 2000 // int(np.prod(plain.z.encoding["chunks"])) + 1


def test_zarr_format_2_sweep_is_unsharded_and_worker_written(tmp_path, client, arriving):
    with dask.config.set({"pypetx.zarr.format": 2}):
        _env(tmp_path / "v2.zarr", client, batch_size=200).run(_sweep)
    _env(tmp_path / "ref.h5", client, batch_size=200).run(_sweep)
    assert (tmp_path / "v2.zarr/.zgroup").exists() and not (tmp_path / "v2.zarr/zarr.json").exists()
    # chunks of one batch, one file each: the workers write them (see the format 3 test)
    assert [names for _, names in arriving[4:]] == [set()] * 6
    got = xr.open_zarr(tmp_path / "v2.zarr", group="t")
    assert got.z.encoding["chunks"] == (4, 50) and got.z.encoding.get("shards") is None
    assert n_files(tmp_path / "v2.zarr/t/z") == 10 + 2  # chunks + .zarray, .zattrs
    with xr.open_dataset(tmp_path / "ref.h5", engine="h5netcdf", group="t") as want:
        for var in ("z", "v", "completed"):
            xr.testing.assert_identical(got[var].load(), want[var].load())


# -- kill -9 of the driver ------------------------------------------------------------

KILL_DRIVER = textwrap.dedent(
    """
    import sys
    import distributed
    import numpy as np
    from pypetx import Environment, cartesian_product

    path, log = sys.argv[1], sys.argv[2]

    def work(traj):
        with open(log, "a") as f:
            f.write(f"{traj.v_idx}\\n")
        traj.f_add_result("z", traj.x * traj.y)
        traj.f_add_result("v", np.arange(3.0) * traj.x)

    if __name__ == "__main__":
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=":0") as cluster, \\
                distributed.Client(cluster) as client:
            env = Environment(trajectory="Kill", filename=path, client=client, batch_size=32,
                              resume=True, progress=False)
            env.traj.f_add_parameter("x", 1.0)
            env.traj.f_add_parameter("y", 1.0)
            env.traj.f_explore(cartesian_product({"x": [float(i) for i in range(50)],
                                                  "y": [float(j) for j in range(40)]}))
            env.run(work)
        print("DONE", flush=True)
    """
)


def _start_driver(script, path, log, **env):
    # 32-run batches over rows of 40 runs, shards of (1, 32) and (1, 8): every other batch
    # covers one shard whole and one partly (worker-written and driver-held runs in one)
    env = {**os.environ, "DASK_PYPETX__ZARR__SHARDS": "32", "DASK_PYPETX__ZARR__CHUNK_BYTES": "32",
           **env}
    return subprocess.Popen([sys.executable, str(script), str(path), str(log)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _kill_tree(proc):
    """kill -9 the driver; its cluster's processes (ours, by pid) go after it."""
    psutil = pytest.importorskip("psutil")
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    _, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:
        child.kill()
    psutil.wait_procs(alive, timeout=10)


def _done(path):
    if not path.exists():
        return 0
    with open_store(path, "Kill") as st:
        ex = cartesian_product({"parameters.x": [float(i) for i in range(50)],
                                "parameters.y": [float(j) for j in range(40)]})
        st.open(Exploration(ex, ex.axes), resume=True)
        return int(st.done().sum())


@requires_zarr3
@pytest.mark.slow
def test_kill9_of_the_driver_mid_sweep_then_resume_gives_complete_results(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(KILL_DRIVER)
    path, log = tmp_path / "kill.zarr", tmp_path / "runs.log"
    journal = Path(str(path) + ".pypetx") / "Kill"
    done_before, kills = 0, 0
    for target in (4, 9, 15):  # journal entries to wait for before each kill
        proc = _start_driver(script, path, log)
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and (
                len(list(journal.glob("*.npz"))) if journal.is_dir() else 0) < target:
            time.sleep(0.005)
        if proc.poll() is not None:
            break
        time.sleep(0.02 * kills)  # mid-batch, mid-write: a little later each time
        _kill_tree(proc)
        kills += 1
        done_now = _done(path)
        assert done_now >= done_before, "a kill lost completed runs"
        done_before = done_now
    assert kills >= 2 and 0 < done_before < 2000
    final = _start_driver(script, path, log)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0 and "DONE" in out, err
    assert not list(path.rglob("*.partial"))  # a killed write's leftovers are gone
    got = xr.open_zarr(path, group="Kill")
    x, y = np.meshgrid(np.arange(50.0), np.arange(40.0), indexing="ij")
    np.testing.assert_array_equal(got.z.values, x * y)
    np.testing.assert_array_equal(got.v.values, x[..., None] * np.arange(3.0))
    assert bool(got.completed.all()) and not bool(got.failed.any())
    assert got.z.encoding["shards"] == (1, 32)
    assert set(np.array(log.read_text().split(), dtype=int).tolist()) == set(range(2000))
