"""Consolidation: eager (numpy) and lazy (dask) assembly agree; stale temp copies go."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import dask
import numpy as np
import pytest
import xarray as xr

from pypetx.explore import Exploration, cartesian_product
from pypetx.store import open_results, open_store
from pypetx.store.batch import ResultMeta
from pypetx.store.cube import Cube
from pypetx.store.hdf5 import _host, remove_stale_tmp, tmp_path as tmp_copy_path
from pypetx.store.testing import make_batch


def grid(nx=6, ny=5):
    p = cartesian_product({"parameters.x": list(range(nx)), "parameters.y": [0.5 * j for j in range(ny)]})
    return Exploration(p, p.axes)


def write_mixed(st, e, start=0, stop=None, batch=4):
    """Fixed float/int/vector results, a ragged and a pickled one, failures, skips."""
    stop = e.n_runs if stop is None else stop
    for b0 in range(start, stop, batch):
        idx = np.arange(b0, min(b0 + batch, stop))
        failed = [i for i in idx if i % 7 == 3]
        present = np.array([i not in failed for i in idx])
        st.write_batch(make_batch(idx, {
            "z": idx * 0.5,
            "k": idx.astype(np.int64),
            "v": idx[:, None] + np.arange(3)[None, :] * 1.0,
            "spikes": [np.arange(i % 4, dtype=float) for i in idx],
            "obj": [{"i": int(i)} for i in idx],
        }, failed=failed, present={"z": present, "k": present & (idx % 5 != 0), "v": present},
            meta={"z": ResultMeta(units="s", comment="zz")}))


def both(st):
    eager, _ = st.cube(eager=True)
    lazy, _ = st.cube(eager=False)
    assert all(not isinstance(v.data, np.ndarray) for n, v in lazy.data_vars.items()
               if n in ("z", "v", "completed", "spikes"))
    assert all(isinstance(v.data, np.ndarray) for v in eager.data_vars.values())
    with dask.config.set(scheduler="synchronous"):
        computed = lazy.compute()
    xr.testing.assert_identical(eager, computed)
    for name in eager.variables:
        assert eager[name].dtype == computed[name].dtype, name
        assert eager[name].encoding.get("_FillValue") == lazy[name].encoding.get("_FillValue")
    return eager


@pytest.mark.parametrize("budget", [1, 2000])
def test_eager_and_lazy_assembly_identical(tmp_path, budget):
    """From the journal alone, then from file + journal (resume), with small lazy blocks."""
    e = grid()
    path = tmp_path / "r.h5"
    with dask.config.set({"pypetx.store.eager_bytes": budget}):
        with open_store(path, "t", storage="hdf5") as st:
            st.open(e, [], {}, resume=False)
            write_mixed(st, e, stop=17)
            both(st)
            st.finalize()
            write_mixed(st, e, start=12, batch=3)  # overlaps: later batches win
            ds = both(st)
            assert int(ds.completed.sum()) == sum(1 for i in range(e.n_runs) if i % 7 != 3)


@pytest.mark.parametrize("budget", [1, "256 MiB"])
def test_runs_out_of_c_order_land_in_their_cells(tmp_path, budget):
    """A grid whose run order is not C order: each run's values land in its own cell."""
    p = cartesian_product({"parameters.x": list(range(6)), "parameters.y": [0.5 * j for j in range(5)]})
    e = Exploration.from_grid(p.axes, p.axis_values,
                              cells=np.random.default_rng(3).permutation(30))
    cells = e.cells()  # each run's cell (the axes are reordered by first appearance)
    assert not e.is_c_order and not np.array_equal(cells, np.arange(30))
    with dask.config.set({"pypetx.store.eager_bytes": budget}):
        with open_store(tmp_path / "r.h5", "t") as st:
            st.open(e, [], {}, resume=False)
            write_mixed(st, e, batch=5)
            ds = both(st)
    ok = np.array([i % 7 != 3 for i in range(e.n_runs)])
    np.testing.assert_array_equal(ds.z.values.ravel()[cells[ok]], np.flatnonzero(ok) * 0.5)
    np.testing.assert_array_equal(ds.completed.values.ravel()[cells], ok)
    counts = ds.spikes_count.values.ravel()[cells]  # ragged: each run's own length
    np.testing.assert_array_equal(counts, np.arange(e.n_runs) % 4)
    np.testing.assert_array_equal(np.sort(ds.failure.values), np.sort(cells[~ok]))


def test_finalize_eager_and_lazy_files_identical(tmp_path):
    e = grid(9, 7)
    out = {}
    for label, budget in [("eager", "256 MiB"), ("lazy", 1)]:
        path = tmp_path / f"{label}.h5"
        with dask.config.set({"pypetx.store.eager_bytes": budget}):
            with open_store(path, "t") as st:
                st.open(e, [], {}, resume=False)
                write_mixed(st, e, batch=5)
                st.finalize()
        out[label] = open_results(path, "t").load()
        out[label].attrs.pop("pypetx_exploration")  # identical too, but long
    xr.testing.assert_identical(out["eager"], out["lazy"])
    assert out["eager"].k.dtype == np.float64  # int result with missing runs: CF masked


def test_lazy_blocks_are_whole_storage_chunks(tmp_path):
    e = grid(40, 30)
    st = open_store(tmp_path / "r.h5", "t")
    st.open(e, [], {}, resume=False)
    for b0 in range(0, e.n_runs, 8):
        idx = np.arange(b0, b0 + 8)
        st.write_batch(make_batch(idx, {"v": np.ones((8, 100))}))
    sources = st._sources()
    cube = Cube(e, sources, 8)
    assert cube.chunks == (1, 8)
    with dask.config.set({"pypetx.store.eager_bytes": 200_000}):
        ds = cube.dataset(eager=False)
    # 800 bytes a run, 200 kB budget: blocks of ~250 runs -> whole rows of 30
    assert cube.task_chunks == (8, 30)
    assert ds.v.data.chunksize == (8, 30, 100) and ds.v.data.npartitions == 5
    assert ds.v.encoding == {} and st._encodings(st.cube(eager=False)[0])["v"]["chunksizes"] == (1, 8, 100)
    st.close()


@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4), (5, 1, 3)])
def test_range_boxes_cover_a_range_of_cells_exactly(shape):
    from pypetx.store.blocks import range_boxes as _range_boxes

    n = int(np.prod(shape))
    for c0 in range(n):
        for c1 in range(c0, n + 1):
            grid_ = np.full(shape, -1)
            values = np.arange(c0, c1)
            boxes = list(_range_boxes(c0, c1, shape))
            for box, lo, hi in boxes:
                assert (grid_[box] == -1).all()
                grid_[box] = values[lo:hi].reshape(tuple(b.stop - b.start for b in box))
            flat = grid_.ravel()
            assert (flat[c0:c1] == values).all() and (np.delete(flat, range(c0, c1)) == -1).all()
            assert len(boxes) <= 2 * len(shape) - 1


def test_write_fixed_puts_each_owned_run_once(tmp_path):
    """Batches crossing rows, a later batch replacing runs, a skipped result: the boxes
    put from the sources make the assembled array."""
    e = grid(5, 7)
    with open_store(tmp_path / "r.h5", "t") as st:
        st.open(e, [], {}, resume=False)
        for b0 in range(0, 35, 6):
            idx = np.arange(b0, min(b0 + 6, 35))
            st.write_batch(make_batch(idx, {"v": idx[:, None] + np.arange(2.0)},
                                      present={"v": idx % 9 != 4}))
        st.write_batch(make_batch([10, 11], {"v": np.full((2, 2), -1.0)}))
        expected = st.cube(eager=True)[0].v.values
        cube = st._cube
        out = np.full((5, 7, 2), 99.0)
        seen = np.zeros((5, 7), int)

        def put(box, values):
            out[box] = values
            seen[box] += 1

        cube.write_fixed("v", put, max_bytes=3 * 16)  # at most 3 runs per put
    assert (seen == 1).all()
    np.testing.assert_array_equal(out, expected)
    assert np.isnan(out.reshape(35, 2)[[4, 13, 22, 31]]).all() and (out[1, 3:5] == -1).all()


def test_lazy_fixed_results_honour_a_fill_value_encoding(tmp_path):
    """Results written from the sources directly, unless the encoding changes values."""
    import h5py

    path = tmp_path / "r.h5"
    present = np.arange(12) != 5
    with dask.config.set({"pypetx.store.eager_bytes": 1}), \
            open_store(path, "t", encoding={"z": {"_FillValue": -999.0}}) as st:
        st.open(grid(3, 4), [], {}, resume=False)
        st.write_batch(make_batch(range(12), {"z": np.arange(12.0), "w": np.arange(12.0)},
                                  present={"z": present, "w": present}))
        st.finalize()
    with h5py.File(path, "r") as f:
        assert f["t/z"][1, 1] == -999.0 and np.isnan(f["t/w"][1, 1])
    ds = open_results(path, "t")
    assert np.isnan(ds.z.values[1, 1]) and ds.z.values[2, 3] == 11 and ds.w.values[2, 3] == 11


def test_large_cube_streams_with_bounded_memory(tmp_path):
    """A 160 MB cube through the lazy path with a 16 MB budget: peak RSS grows far less."""
    script = tmp_path / "big.py"
    script.write_text(textwrap.dedent(f"""
        import resource, sys
        import dask, numpy as np
        from pypetx.explore import Exploration, cartesian_product
        from pypetx.store import open_store
        from pypetx.store.testing import make_batch
        p = cartesian_product({{"parameters.x": list(range(20)), "parameters.y": list(range(50))}})
        e = Exploration(p, p.axes)
        st = open_store({str(tmp_path / 'big.h5')!r}, "t", complevel=0)
        st.open(e, [], {{}}, resume=False)
        for b in range(20):
            idx = np.arange(50 * b, 50 * b + 50)
            st.write_batch(make_batch(idx, {{"v": idx[:, None] + np.arange(20000.0)}}))
        import gc; gc.collect()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with dask.config.set({{"pypetx.store.eager_bytes": "16 MiB"}}):
            ds = st.finalize()
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert float(ds.v[19, 49, 7]) == 999 + 7
        print((after - before) / 1024)
    """))
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    grown_mb = float(res.stdout.split()[-1])
    assert grown_mb < 100, grown_mb  # the cube is 160 MB


def _plan_of_fresh_sweep(tmp_path):
    """A lazy cube of 10^6 runs journaled in ten batches of consecutive runs."""
    p = cartesian_product({"parameters.x": list(range(1000)), "parameters.y": list(range(1000))})
    e = Exploration(p, p.axes)
    st = open_store(tmp_path / "r.h5", "t")
    st.open(e, [], {}, resume=False)
    for b0 in range(0, e.n_runs, 100_000):
        st.write_batch(make_batch(np.arange(b0, b0 + 100_000), {"z": b0 + np.arange(100_000.0)}))
    return st, e.n_runs


def _traced_plan(cube):
    import tracemalloc

    cube._plan = None
    tracemalloc.start()
    plan = cube.plan
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return plan, peak


def test_lazy_block_plan_of_a_fresh_sweep_holds_nothing_per_run(tmp_path):
    """Batches of consecutive runs (a fresh sweep): the plan is boxes, O(blocks), not O(runs)
    (issue #21), and the lazy cube is right."""
    from pypetx.store.blocks import BoxPart

    st, n = _plan_of_fresh_sweep(tmp_path)
    with st, dask.config.set({"pypetx.store.eager_bytes": "1 MiB"}):
        ds, _ = st.cube(eager=False)
        cube = st._cube
        assert cube.spans and cube._owner is None  # no per-run owner/row arrays either
        plan, peak = _traced_plan(cube)
        parts = [part for parts in plan.values() for part in parts]
        assert all(isinstance(part, BoxPart) for part in parts)
        assert sum(len(part.rows()) for part in parts) == n
        assert peak < 200_000, peak  # bytes in all, for 10^6 runs
        np.testing.assert_array_equal(ds.z.values.ravel(), np.arange(float(n)))
        assert bool(ds.completed.all())
        assert float(ds.z.isel(x=999, y=999)) == n - 1


def test_lazy_block_plan_costs_a_few_bytes_per_run(tmp_path):
    """The general plan (a source whose runs another source also holds, as after a
    rerun): its peak allocation stays O(runs) with a small constant (no (runs, ndim) int64
    temporaries of every run), and it is correct."""
    st, n = _plan_of_fresh_sweep(tmp_path)
    with st:
        st.write_batch(make_batch(np.array([5, 999_999]), {"z": np.array([-5.0, -1.0])}))
        with dask.config.set({"pypetx.store.eager_bytes": "1 MiB"}):
            ds, _ = st.cube(eager=False)
            cube = st._cube
            assert not cube.spans
            plan, peak = _traced_plan(cube)
            assert sum(len(rows) for parts in plan.values() for _, rows, _ in parts) == n
            src, rows, local = plan[(1, 0)][0]  # block (1, 0): whole rows of x, y from 0
            bx, by = cube.task_chunks
            assert local.max(axis=0).tolist() == [bx - 1, min(by, 1000) - 1]
            np.testing.assert_array_equal(src.runs[rows], (local[:, 0] + bx) * 1000 + local[:, 1])
            assert int(ds.completed.isel(x=999, y=999)) == 1
            assert float(ds.z.isel(x=0, y=5)) == -5.0 and float(ds.z.isel(x=999, y=999)) == -1.0
            assert float(ds.z.isel(x=0, y=6)) == 6.0
    assert peak / n < 48, peak / n  # bytes per run (before: ~140)


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_tmp_files_removed_on_open(tmp_path):
    path = tmp_path / "res.h5"
    dead = _dead_pid()
    assert tmp_copy_path(path).name == f".res.h5.{os.getpid()}.{_host()}.tmp"
    stale_new = tmp_path / f".res.h5.{dead}.{_host()}.tmp"
    stale_old = tmp_path / f".res.h5.{dead}.tmp"  # the older name, without the host
    live = tmp_path / f".res.h5.{os.getppid()}.{_host()}.tmp"  # a live process's copy
    other_host = tmp_path / f".res.h5.{dead}.elsewhere.tmp"
    other_file = tmp_path / f".other.h5.{dead}.tmp"
    for p in (stale_new, stale_old, live, other_host, other_file):
        p.write_bytes(b"partial hdf5")
    e = grid(2, 2)
    with open_store(path, "t") as st:
        st.open(e, [], {}, resume=False)
        assert not stale_new.exists() and not stale_old.exists()
        assert live.exists() and other_host.exists() and other_file.exists()
        st.write_batch(make_batch(range(4), {"z": np.arange(4.0)}))
        st.finalize()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == sorted(
        [live.name, other_host.name, other_file.name])
    assert remove_stale_tmp(path) == []


KILLED = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from pypetx.explore import Exploration, cartesian_product
    from pypetx.store import open_store
    from pypetx.store.testing import make_batch

    path, flag = sys.argv[1], sys.argv[2]
    p = cartesian_product({"parameters.x": list(range(10)), "parameters.y": list(range(10))})
    e = Exploration(p, p.axes)
    st = open_store(path, "t")
    st.open(e, [], {}, resume=True)
    for b in range(10):
        st.write_batch(make_batch(range(10 * b, 10 * b + 10), {"z": np.arange(10.0) + 10 * b}))
    real_fsync = os.fsync

    def stuck(fd):  # the temp copy is written: hang where a crash would hit
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).endswith(".tmp"):
            open(flag, "w").close()
            time.sleep(600)
        real_fsync(fd)

    os.fsync = stuck
    st.finalize()
""")


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_sigkill_during_consolidation_leaves_tmp_that_open_removes(tmp_path):
    script, path, flag = tmp_path / "d.py", tmp_path / "res.h5", tmp_path / "flag"
    script.write_text(KILLED)
    proc = subprocess.Popen([sys.executable, str(script), str(path), str(flag)],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not flag.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.time() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    leftovers = [p for p in tmp_path.iterdir()
                 if p.name.startswith(".res.h5.") and p.name.endswith(".tmp")]
    assert len(leftovers) == 1 and str(proc.pid) in leftovers[0].name
    assert not path.exists()
    p = cartesian_product({"parameters.x": list(range(10)), "parameters.y": list(range(10))})
    e = Exploration(p, p.axes)
    with open_store(path, "t") as st:
        st.open(e, [], {}, resume=True)
        assert not leftovers[0].exists()
        assert st.done().all()  # the journal kept every batch
        ds = st.finalize()
        np.testing.assert_array_equal(ds.z.values.ravel(), np.arange(100.0))
