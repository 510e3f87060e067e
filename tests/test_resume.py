"""Resume after crashes: real driver processes killed with real signals.

The driver script below runs a 2,000-point sweep with ``resume=True``, appending every
run index it executes to a log, so the test can count what was recomputed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from pypetx import Environment, cartesian_product
from pypetx.errors import StorageError
from pypetx.resume import ResumeError, load_for_resume, recorded_function
from pypetx.store import open_store

DRIVER = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    from pypetx import Environment, cartesian_product

    path, log, cluster, nx = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    spin = float(os.environ.get("SPIN_SECONDS", "0.003"))

    def work(traj):
        with open(log, "a") as f:
            f.write(f"{traj.v_idx}\\n")
        end = time.perf_counter() + spin
        while time.perf_counter() < end:
            pass
        traj.f_add_result("z", traj.x * traj.y, comment="product")
        traj.f_add_result("v", np.arange(3) * traj.x)

    env = Environment(trajectory="Kill", filename=path, cluster=cluster, batch_size=16,
                      resume=True, progress=False, n_workers=2 if cluster == "local" else None)
    traj = env.traj
    traj.f_add_parameter("x", 1.0)
    traj.f_add_parameter("y", 1.0)
    traj.f_explore(cartesian_product({"x": [float(i) for i in range(nx)],
                                      "y": [float(j) for j in range(40)]}))
    env.run(work)
    print("DONE", flush=True)
    """
)


def _driver(tmp_path: Path) -> Path:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    return script


def _start(script: Path, path: Path, log: Path, cluster: str = "synchronous", nx: int = 50,
           **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(script), str(path), str(log), cluster, str(nx)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **env},
    )


def _done_count(path: Path) -> int:
    """Runs stored (file + journal) -- what a resume would not run again."""
    from pypetx.explore import Exploration

    if not path.exists() and not Path(str(path) + ".pypetx").exists():
        return 0
    store = open_store(path, "Kill")
    ex = Exploration(cartesian_product({"x": [float(i) for i in range(50)],
                                        "y": [float(j) for j in range(40)]}))
    try:
        store.open(Exploration({f"parameters.{k}": v for k, v in ex.columns.items()},
                               axes=(("parameters.x",), ("parameters.y",))), resume=True)
        return int(store.done().sum())
    finally:
        store.close()


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing(tmp_path):
    script = _driver(tmp_path)
    path, log = tmp_path / "kill.h5", tmp_path / "runs.log"
    rng = random.Random(20261125)
    kills, done_before, recomputed_per_kill = 0, 0, []
    consolidation_killed = False
    executed_before = 0
    dones = []
    while kills < 10:
        proc = _start(script, path, log)
        tmp_glob = f".{path.name}.*.tmp"
        if kills == 9:  # the last kill lands while the HDF5 file is being consolidated
            deadline = time.time() + 60
            while time.time() < deadline and not list(tmp_path.glob(tmp_glob)) \
                    and proc.poll() is None:
                time.sleep(0.002)
            consolidation_killed = proc.poll() is None and bool(list(tmp_path.glob(tmp_glob)))
        else:
            # Kill after a random part (at most 30 %) of the remaining batches is journaled,
            # plus a random few ms (mid-batch or mid-write): progress, not wall time, decides,
            # so ten kills fit in one sweep however slow the machine is today.
            journal = Path(str(path) + ".pypetx") / "Kill"
            def n_batches() -> int:
                return len(list(journal.glob("*.npz"))) if journal.is_dir() else 0
            remaining_batches = -(-(2000 - done_before) // 16)
            target = n_batches() + rng.randint(1, max(1, int(0.3 * remaining_batches)))
            deadline = time.time() + 120
            while time.time() < deadline and n_batches() < target and proc.poll() is None:
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.03))
        if proc.poll() is not None:
            out, err = proc.communicate()
            assert "DONE" in out, err
            break  # finished before the kill: nothing left to interrupt
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        # The file, when there is one, always reopens.
        if path.exists():
            xr.open_dataset(path, engine="h5netcdf", group="Kill").close()
        done_now = _done_count(path)
        assert done_now >= done_before, "a completed run was lost by a kill"
        executed = len(log.read_text().split()) if log.exists() else 0
        # Runs executed in this attempt minus those it made durable = in flight at the kill.
        recomputed_per_kill.append((executed - executed_before) - (done_now - done_before))
        done_before, executed_before = done_now, executed
        dones.append(done_now)
    final = _start(script, path, log)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0 and "DONE" in out, err

    ref_path, ref_log = tmp_path / "ref.h5", tmp_path / "ref.log"
    ref = _start(script, ref_path, ref_log)
    out, err = ref.communicate(timeout=300)
    assert ref.returncode == 0, err

    with xr.open_dataset(path, engine="h5netcdf", group="Kill") as got, \
            xr.open_dataset(ref_path, engine="h5netcdf", group="Kill") as want:
        for var in ("z", "v", "completed", "failed"):
            xr.testing.assert_identical(got[var].load(), want[var].load())
        assert bool(got.completed.all())
    runs = np.array(log.read_text().split(), dtype=int)
    assert set(runs.tolist()) == set(range(2000))
    # In flight at a kill: at most the tasks the runner keeps submitted (16-run batches).
    assert max(recomputed_per_kill) <= 2 * 16, recomputed_per_kill
    assert kills >= 10 and consolidation_killed
    print(f"\nkills={kills} lost=0 recomputed per kill={recomputed_per_kill} done={dones} "
          f"total executions={len(runs)} for 2000 runs")


def test_second_driver_is_refused(tmp_path):
    script = _driver(tmp_path)
    path, log = tmp_path / "busy.h5", tmp_path / "runs.log"
    first = _start(script, path, log, SPIN_SECONDS="0.01")
    try:
        deadline = time.time() + 60
        while not log.exists() and time.time() < deadline:
            time.sleep(0.05)
        second = _start(script, path, tmp_path / "runs2.log")
        out, err = second.communicate(timeout=120)
        assert second.returncode != 0
        assert "in use by another pypetx driver" in err and f"pid {first.pid}" in err
    finally:
        first.kill()
        first.wait()
    # The first driver's work is intact and resumable.
    assert _done_count(path) >= 0


def _multiply(traj):
    traj.f_add_result("z", traj.x * traj.y)


def _env(path, **kw):
    env = Environment(trajectory="R", filename=str(path), cluster="synchronous",
                      progress=False, **kw)
    env.traj.f_add_parameter("x", 1.0)
    env.traj.f_add_parameter("y", 1.0)
    env.traj.f_add_parameter("scale", 2)
    env.traj.f_explore(cartesian_product({"x": [1.0, 2.0, 3.0], "y": [4.0, 5.0]}))
    return env


def test_changed_trajectory_is_refused_unless_forced(tmp_path):
    path = tmp_path / "r.h5"
    _env(path).run(_multiply)
    env = _env(path, resume=True)
    env.traj.f_get("scale").unlock()
    env.traj.parameters.f_get("scale").f_set(3)
    with pytest.raises(ResumeError, match=r"parameters.scale: stored 2, now 3"):
        env.run(_multiply)
    env = _env(path, resume=True, force=True)
    env.traj.parameters.f_get("scale").f_set(3)
    assert len(env.run(_multiply)) == 0  # nothing left to run


def test_resume_without_resume_flag_says_how(tmp_path):
    path = tmp_path / "r.h5"
    _env(path).run(_multiply)
    with pytest.raises(StorageError, match="pass resume=True"):
        _env(path).run(_multiply)


def test_expand_runs_only_new_points_and_keeps_old(tmp_path):
    path = tmp_path / "r.h5"

    def counted(traj):
        traj.f_add_result("z", traj.x * traj.y)
        return traj.v_idx  # env.run returns (idx, value) of the runs it executed

    env = _env(path)
    assert [i for i, _ in env.run(counted)] == list(range(6))
    old = env.dataset.z.load()
    env = _env(path, resume=True)
    env.traj.f_expand(cartesian_product({"x": [4.0], "y": [4.0, 5.0]}))
    assert [i for i, _ in env.run(counted)] == [6, 7]
    ds = env.dataset
    assert ds.z.shape == (4, 2)
    xr.testing.assert_equal(ds.z.sel(x=[1.0, 2.0, 3.0]).load(), old)
    assert float(ds.z.sel(x=4.0, y=5.0)) == 20.0


def test_recorded_function_and_resume_file(tmp_path):
    import resume_functions

    path = tmp_path / "f.h5"
    env = _env(path, on_error="continue")
    env.run(resume_functions.fail_on_y5)
    assert int(env.dataset.failed.sum()) == 3
    assert recorded_function(str(path), "R") is resume_functions.fail_on_y5
    traj = load_for_resume(str(path))
    assert traj.exploration.n_runs == 6 and traj.scale == 2
    # Failed runs are re-run only when asked; the fixed function is given explicitly.
    from pypetx import resume_file

    env = resume_file(str(path), fn=resume_functions.fixed, rerun_failed=True,
                      cluster="synchronous", progress=False, force=True)
    assert env.summary.n_completed == 3
    assert bool(env.dataset.completed.all())
    np.testing.assert_array_equal(env.dataset.z.values, [[4, 5], [8, 10], [12, 15]])


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 256 KiB file system (tmpfs; needs root, as in CI) to run out of space on."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {res.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.mark.slow
def test_disk_full_stops_clearly_and_resumes_losing_nothing(tmp_path, small_tmpfs):
    script = _driver(tmp_path)
    path, log = small_tmpfs / "full.h5", tmp_path / "runs.log"
    proc = _start(script, path, log, SPIN_SECONDS="0")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode != 0
    assert "cannot write the results journal" in err and "No space left on device" in err
    assert "resume" in err.splitlines()[-1]
    # Make room, resume: everything stored before the failure is kept, the rest runs.
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_tmpfs)], check=True)
    stored = _done_count(path)
    assert 0 < stored < 2000
    executed_before = len(log.read_text().split())
    proc = _start(script, path, log, SPIN_SECONDS="0")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "DONE" in out, err
    with xr.open_dataset(path, engine="h5netcdf", group="Kill") as ds:
        assert bool(ds.completed.all())
        np.testing.assert_array_equal(ds.z.values, np.outer(np.arange(50.0), np.arange(40.0)))
    executed_after = len(log.read_text().split()) - executed_before
    assert executed_after <= 2000 - stored + 32  # only what was not stored (+ in flight)


def test_load_for_resume_is_the_loader(tmp_path):
    """One loader: resuming reads the file as pypetx.load does (typed explored values,
    the stored tree, the lazy cube), without unpickling anything."""
    import pypetx
    from pypetx.compat import constants
    from pypetx.env.loading import modes

    path = tmp_path / "t.h5"
    env = Environment(trajectory="T", filename=str(path), cluster="synchronous", progress=False)
    env.traj.f_add_parameter("v", np.zeros(2))
    env.traj.f_add_parameter("scale", 3)
    env.traj.f_explore({"v": [np.zeros(2), np.ones(2)]})
    env.run(lambda traj: traj.f_add_result("s", float(traj.v.sum()) * traj.scale))
    resumed, loaded = load_for_resume(str(path)), pypetx.load(path)
    assert len(resumed.to_records()) == len(loaded.to_records())
    assert resumed.name == "T" and resumed.scale == 3
    column = resumed.exploration.column("parameters.v")
    assert isinstance(column[1], np.ndarray) and column[1].tolist() == [1.0, 1.0]
    assert resumed.dataset.s.values.tolist() == [0.0, 6.0]
    resumed.dataset.close()
    loaded.dataset.close()
    assert (constants.LOAD_NOTHING, constants.LOAD_SKELETON, constants.LOAD_DATA) == (
        modes.LOAD_NOTHING, modes.LOAD_SKELETON, modes.LOAD_DATA) == (0, 1, 2)


def _fill(directory):
    """Fill the file system of ``directory`` (a real ENOSPC for whatever writes next)."""
    with open(directory / "filler", "wb") as f:
        try:
            while True:
                f.write(b"x" * 4096)
                f.flush()
        except OSError:
            pass


def _rand100(x):
    return np.random.default_rng(x).random(100)


def test_disk_full_at_the_final_rewrite_is_one_clear_error_and_resumes(small_tmpfs,
                                                                      monkeypatch):
    import pypetx
    import pypetx.store.hdf5 as h5

    real = h5.HDF5Store._commit_locked

    def full_disk(self, *a, **kw):
        _fill(small_tmpfs)  # the journal is written; the disk fills before the file
        return real(self, *a, **kw)

    monkeypatch.setattr(h5.HDF5Store, "_commit_locked", full_disk)
    path = small_tmpfs / "r.h5"
    with pytest.raises(StorageError) as err:
        pypetx.sweep(_rand100, x=list(range(20)), filename=path, cluster="synchronous")
    text = str(err.value)
    assert "\n" not in text and "No space left on device" in text
    assert "every completed run is kept in its journal" in text and "resume" in text
    monkeypatch.setattr(h5.HDF5Store, "_commit_locked", real)
    (small_tmpfs / "filler").unlink()
    ds = pypetx.sweep(_rand100, x=list(range(20)), filename=path, resume=True,
                      cluster="synchronous")
    assert int(ds.completed.sum()) == 20
    np.testing.assert_array_equal(ds["rand100"].sel(x=7).values, _rand100(7))


def _double(x):
    return 2 * x


def test_resume_of_a_finished_sweep_on_a_read_only_file_system(small_tmpfs):
    import pypetx

    path = small_tmpfs / "done.h5"
    pypetx.sweep(_double, x=list(range(5)), filename=path, cluster="synchronous")
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    try:
        ds = pypetx.sweep(_double, x=list(range(5)), filename=path, resume=True)
        assert int(ds.completed.sum()) == 5
        assert ds["double"].values.tolist() == [0, 2, 4, 6, 8]
        ds.close()
        # with runs left to do, one clear error (not a bare OSError from mkdir)
        with pytest.raises(StorageError, match="Read-only file system.*must be writable"):
            pypetx.sweep(_double, x=list(range(6)), filename=path, resume=True)
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_tmpfs)], check=True)
