"""Journal: atomic batch files, and a writer killed with SIGKILL loses no acknowledged batch."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from pypetx.store.journal import Journal
from pypetx.store.testing import make_batch

ROOT = Path(__file__).resolve().parents[1]


def test_roundtrip_all_modes(tmp_path):
    j = Journal(tmp_path / "j")
    b = make_batch([3, 4, 5], {"z": np.arange(3.0), "s": [np.arange(2), None, np.arange(4)],
                               "o": [{"a": 1}, None, (1, 2)], "w": ["x", "yy", "zzz"]},
                   failed=[4])
    j.write(b)
    (e,) = j.entries()
    assert e.indices.tolist() == [3, 4, 5]
    assert e.status("failed").tolist() == [False, True, False]
    assert e.status("error")[1] == "ValueError: run 4 failed" and e.status("error").dtype == object
    assert e.infos["z"].mode == "fixed" and e.infos["s"].mode == "ragged"
    assert e.infos["o"].mode == "pickle" and e.infos["w"].dtype.kind == "U"
    assert e.array("s", "n").tolist() == [2, 0, 4] and e.array("s", "p").tolist() == [1, 0, 1]
    # numpy arrays only: readable without pickle
    with np.load(e.path, allow_pickle=False) as f:
        assert "meta" in f.files


def test_consecutive_uniform_batch_stores_no_per_run_bookkeeping(tmp_path):
    n = 10_000
    j = Journal(tmp_path / "j")
    j.write(make_batch(list(range(100, 100 + n)), {"z": np.arange(float(n))}))
    j.write(make_batch([1, 3, 7], {"z": np.arange(3.0)}, failed=[3]))
    compact, sparse = Journal(tmp_path / "j").entries()  # read from the files
    with np.load(compact.path, allow_pickle=False) as f:
        members = set(f.files)
        per_run = sum(f[k].nbytes for k in f.files if k != "meta")
    # the values, and nothing else that grows with the runs
    assert members >= {"r0_v"} and not members & {"indices", "completed", "failed", "r0_p"}
    assert per_run < 8 * n + 1_000
    assert compact.index_range == (100, 100 + n)
    assert compact.indices.tolist() == list(range(100, 100 + n))
    assert compact.status("completed").all() and not compact.status("failed").any()
    assert compact.array("z", "p").dtype == bool and compact.array("z", "p").all()
    assert compact.array("z", "v").tolist() == list(map(float, range(n)))
    # gaps and a failure: stored per run, as before
    assert sparse.index_range is None and sparse.indices.tolist() == [1, 3, 7]
    assert sparse.status("failed").tolist() == [False, True, False]
    assert sparse.status("completed").tolist() == [True, False, True]


def test_write_npz_is_what_np_load_reads(tmp_path):
    import json
    import zipfile

    from pypetx.store.journal import _FastNpz, write_npz

    arrays = {"i": np.arange(5), "s": np.array(["x", "yyy"]), "e": np.zeros(0, "<U1"),
              "meta": np.array(json.dumps({"k": 1})),  # 0-d stays 0-d
              "f": np.asfortranarray(np.random.default_rng(0).random((3, 4))),
              "strided": np.arange(20.0)[::2], "b": np.ones(3, bool), "empty2d": np.zeros((0, 3))}
    path = tmp_path / "a.npz"
    with open(path, "wb") as f:
        write_npz(f, arrays)
    assert zipfile.ZipFile(path).testzip() is None  # CRCs right
    fast = _FastNpz(path).read(None)
    with np.load(path, allow_pickle=False) as npz:
        for name, a in arrays.items():
            for got in (npz[name], fast[name]):
                assert got.dtype == a.dtype and got.shape == a.shape
                np.testing.assert_array_equal(got, a)


def test_written_batches_are_read_from_memory(tmp_path, monkeypatch):
    from pypetx.store import journal as journal_module

    j = Journal(tmp_path / "j", hold_bytes=10**6)
    j.write(make_batch([0, 1], {"z": np.array([1.0, 2.0])}))
    (e,) = j.entries()
    assert j.entries()[0] is e  # the same entry: its arrays stay in memory

    def no_disk(*args, **kwargs):
        raise AssertionError("read from disk")

    monkeypatch.setattr(journal_module, "_FastNpz", no_disk)
    monkeypatch.setattr(journal_module.np, "load", no_disk)
    e.preload()
    e.close()
    assert e.array("z", "v").tolist() == [1.0, 2.0] and e.status("completed").all()
    assert e.meta["n"] == 2 and e.indices.tolist() == [0, 1]
    monkeypatch.undo()
    fresh = Journal(tmp_path / "j").entries()[0]  # another reader: the file says the same
    assert fresh is not e and fresh.meta == e.meta
    np.testing.assert_array_equal(fresh.array("z", "v"), e.array("z", "v"))
    j.remove([e])
    assert not j.entries() and j._held == {}


def test_over_the_budget_nothing_is_held(tmp_path):
    j = Journal(tmp_path / "j", hold_bytes=3000)
    j.write(make_batch(range(10), {"z": np.zeros(10)}))
    assert j.entries()[0].held_bytes > 0
    j.write(make_batch(range(10, 400), {"z": np.zeros(390)}))
    assert [e.held_bytes for e in j.entries()] == [0, 0]
    j.write(make_batch([400], {"z": np.zeros(1)}))  # and nothing more this session
    assert [e.held_bytes for e in j.entries()] == [0, 0, 0]
    assert j.entries()[1].array("z", "v").shape == (390,)


def test_large_members_are_mapped_read_only(tmp_path):
    j = Journal(tmp_path / "j")
    v = np.random.default_rng(0).random((4, 100_000))  # 3.2 MB: memory-mapped
    j.write(make_batch(range(4), {"v": v, "z": np.arange(4.0)}))
    (e,) = j.entries()
    got = e.array("v", "v")
    np.testing.assert_array_equal(got, v)
    assert not got.flags.writeable and e.array("z", "v").flags.writeable
    e.close()
    j.remove([e])  # deleting a mapped file is fine on POSIX
    assert got[3, 5] == v[3, 5]


def test_partial_files_are_ignored_and_removed(tmp_path):
    d = tmp_path / "j"
    j = Journal(d)
    j.write(make_batch([0], {"z": np.zeros(1)}))
    (d / "0000000001.npz.abc.part").write_bytes(b"PK\x03\x04 half a zip")
    j2 = Journal(d)
    assert [e.seq for e in j2.entries()] == [0]
    assert not list(d.glob("*.part"))
    j2.write(make_batch([1], {"z": np.zeros(1)}))
    assert [e.seq for e in j2.entries()] == [0, 1]


def test_later_batches_win(tmp_path):
    from pypetx.explore import Exploration, cartesian_product
    from pypetx.store import open_store

    p = cartesian_product({"parameters.x": [0, 1, 2]})
    with open_store(tmp_path / "r.h5", "t") as st:
        st.open(Exploration(p, p.axes), [], {}, resume=False)
        st.write_batch(make_batch([0, 1, 2], {"z": np.array([0.0, np.nan, 2.0])}, failed=[1]))
        st.write_batch(make_batch([1], {"z": np.array([10.0])}))
        ds = st.finalize()
    assert ds.z.values.tolist() == [0.0, 10.0, 2.0] and ds.completed.values.all()


WRITER = textwrap.dedent("""
    import sys, numpy as np
    from pypetx.explore import Exploration, cartesian_product
    from pypetx.store import open_store
    from pypetx.store.testing import make_batch

    path, start = sys.argv[1], int(sys.argv[2])
    p = cartesian_product({"parameters.x": list(range(40)), "parameters.y": list(range(10))})
    st = open_store(path, "t")
    st.open(Exploration(p, p.axes), [], {}, resume=True)
    print("ready", flush=True)
    for b in range(start, 40):
        idx = list(range(10 * b, 10 * b + 10))
        v = np.stack([np.arange(20000.0) + i for i in idx])
        st.write_batch(make_batch(idx, {"z": np.array(idx, float), "v": v}))
        print("ack", b, flush=True)
        if b % 6 == 5:
            st.finalize()
            print("fin", b, flush=True)
    st.finalize()
    print("done", flush=True)
""")


def _run_and_kill(script: Path, path: Path, start: int, delay: float) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, str(script), str(path), str(start)],
                            stdout=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")))
    reader.start()
    while not lines and proc.poll() is None:
        time.sleep(0.01)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join()
    return [ln.strip() for ln in lines]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_loses_no_acknowledged_batch(tmp_path, seed):
    from pypetx.explore import Exploration, cartesian_product
    from pypetx.store import open_results, open_store

    rng = random.Random(seed)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    path = tmp_path / "res.h5"
    acked: set[int] = set()
    start = 0
    for _ in range(2):  # kill, restart from where it got, kill again
        lines = _run_and_kill(script, path, start, rng.uniform(0.0, 1.5))
        acked |= {int(ln.split()[1]) for ln in lines if ln.startswith("ack")}
        start = max(acked, default=-1) + 1
    p = cartesian_product({"parameters.x": list(range(40)), "parameters.y": list(range(10))})
    with open_store(path, "t") as st:
        st.open(Exploration(p, p.axes), [], {}, resume=True)
        done = st.done().reshape(40, 10)
        for b in acked:
            assert done[b].all(), f"acknowledged batch {b} lost (seed {seed})"
        ds = st.finalize()
    ds = open_results(path, "t")
    z = ds.z.values
    comp = ds.completed.values
    assert comp.sum() >= 10 * len(acked)
    expected = np.arange(400.0).reshape(40, 10)
    np.testing.assert_array_equal(z[comp], expected[comp])  # no half batch read as complete
    assert np.isnan(z[~comp]).all()
    rows = np.flatnonzero(comp.all(axis=1))
    if len(rows):
        r = rows[-1]
        np.testing.assert_array_equal(ds.v.values[r, 3], np.arange(20000.0) + 10 * r + 3)
