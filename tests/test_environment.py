"""Environment end to end on real clusters and real files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import xarray as xr

import pypetx
from pypetx import Environment, SweepFailed, cartesian_product, latin_hypercube, sweep
from pypetx.store import error_of, traceback_of


def multiply(traj):
    traj.f_add_result("z", traj.x * traj.y, comment="product")


def _env(tmp_path, name="Multiplication", **kw):
    kw.setdefault("progress", False)
    env = Environment(trajectory=name, filename=str(tmp_path / "m.h5"), **kw)
    env.traj.f_add_parameter("x", 1.0, comment="first")
    env.traj.f_add_parameter("y", 1.0, comment="second")
    return env


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as c:
        yield c


def test_classic_multiply_on_local_cluster(tmp_path, cluster):
    env = _env(tmp_path, cluster=cluster)
    env.traj.f_explore(cartesian_product({"x": [1.0, 2.0, 3.0], "y": [6.0, 7.0, 8.0]}))
    # pypet's list of (run index, return value), None where nothing was returned
    assert env.run(multiply) == [(i, None) for i in range(9)]
    ds = env.dataset
    assert ds.z.dims == ("x", "y")
    np.testing.assert_array_equal(ds.z.values, np.outer([1, 2, 3], [6, 7, 8]))
    assert ds.z.attrs["comment"] == "product"
    assert bool(ds.completed.all()) and not bool(ds.failed.any())
    assert env.traj.dataset is ds
    # Reopened by plain xarray, lazily; the embedded client is not left as the default.
    with xr.open_dataset(tmp_path / "m.h5", engine="h5netcdf", group="Multiplication",
                         chunks={}) as plain:
        assert float(plain.z.sel(x=2.0, y=7.0)) == 14.0
    from distributed import default_client

    with pytest.raises(ValueError):
        default_client()


def test_embedded_local_cluster_is_started_and_closed(tmp_path):
    env = _env(tmp_path, n_workers=2)
    env.traj.f_explore({"x": [1.0, 2.0], "y": [3.0, 4.0]})
    env.run(multiply)
    np.testing.assert_array_equal(env.dataset.z.values, [3.0, 8.0])
    assert env.dataset.z.dims == ("run",)


def test_environment_as_context_keeps_its_cluster_across_runs(tmp_path):
    with _env(tmp_path, n_workers=1) as env:
        env.traj.f_explore({"x": [1.0, 2.0], "y": [3.0, 4.0]})
        env.run(multiply)
        backend = env._backend
        assert backend is not None
        env.traj.f_expand({"x": [5.0], "y": [6.0]})
        env.resume = True  # the stored runs are kept, only the new point runs
        assert [i for i, _ in env.run(multiply)] == [2]
        assert env._backend is backend
    assert env._backend is None
    np.testing.assert_array_equal(env.dataset.z.values, [3.0, 8.0, 30.0])


def test_synchronous_and_cluster_give_the_same_dataset(tmp_path, cluster):
    def simulate(traj):
        traj.f_add_result("z", traj.x * traj.y)
        traj.f_add_result("trace", np.linspace(0, traj.x, 5))
        return traj.x + traj.y

    results = {}
    for name, where in [("sync", "synchronous"), ("dask", cluster)]:
        env = Environment(trajectory=name, filename=str(tmp_path / f"{name}.h5"),
                          cluster=where, progress=False)
        env.traj.f_add_parameter("x", 1.0)
        env.traj.f_add_parameter("y", 1.0)
        env.traj.f_explore(latin_hypercube({"x": (0.0, 1.0), "y": (0.0, 2.0)}, 64, seed=1))
        returned = env.run(simulate)
        results[name] = (env.dataset.load(), returned)
    a, b = results["sync"][0], results["dask"][0]
    for var in ("z", "trace", "x", "y", "completed"):
        xr.testing.assert_identical(a[var], b[var])
    assert results["sync"][1] == results["dask"][1]
    assert a.z.dims == ("run",) and "run_name" in a.coords


def test_failures_are_recorded_and_raised_after_the_sweep(tmp_path, cluster):
    def fragile(traj):
        if traj.x == 2.0:
            raise ValueError(f"x={traj.x} is unstable")
        traj.f_add_result("z", traj.x)

    env = _env(tmp_path, cluster=cluster)
    env.traj.f_explore(cartesian_product({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0]}))
    with pytest.raises(SweepFailed, match=r"2 of 6 runs of 'Multiplication' failed"):
        env.run(fragile)
    ds = env.dataset
    assert ds.failed.sel(x=2.0).all() and not ds.failed.sel(x=1.0).any()
    assert error_of(ds, x=2.0, y=1.0) == "ValueError: x=2.0 is unstable"
    assert "in fragile" in traceback_of(ds, x=2.0, y=1.0)
    bad = pypetx.failures(ds)
    assert bad.index.tolist() == [2, 3] and bad.x.tolist() == [2.0, 2.0]
    assert bad.y.tolist() == [1.0, 2.0] and (bad.error == "ValueError: x=2.0 is unstable").all()
    assert np.isnan(ds.z.sel(x=2.0).values).all() and ds.z.sel(x=3.0, y=1.0) == 3.0
    assert env.summary.n_failed == 2 and env.summary.n_completed == 4


def test_on_error_continue_returns(tmp_path):
    def fragile(traj):
        raise RuntimeError("always")

    env = _env(tmp_path, cluster="synchronous", on_error="continue")
    env.traj.f_explore({"x": [1.0], "y": [2.0]})
    env.run(fragile)
    assert bool(env.dataset.failed.all())


def test_pypet_options_are_accepted_with_a_warning(tmp_path):
    with pytest.warns(DeprecationWarning, match=r"\['log_stdout', 'multiproc', 'ncores', "
                                                r"'use_pool', 'wrap_mode'\] have no effect"):
        env = Environment(trajectory="T", filename=str(tmp_path / "t.h5"), multiproc=True,
                          ncores=2, use_pool=True, wrap_mode="QUEUE", log_stdout=True,
                          progress=False)
    assert env._cluster_options == {"n_workers": 2}  # sizes the embedded LocalCluster
    with pytest.warns(DeprecationWarning):
        env = Environment(trajectory="T", multiproc=True, ncores=2, cluster="synchronous")
    assert env._cluster_options == {}
    with pytest.raises(TypeError, match="unexpected keyword arguments \\['colour'\\]"):
        Environment(trajectory="T", colour="red")


def test_unexplored_trajectory_runs_once(tmp_path):
    env = _env(tmp_path, cluster="synchronous")
    env.run(multiply)
    assert env.dataset.z.values.tolist() == [1.0]


def test_run_map_passes_per_run_arguments(tmp_path):
    def scaled(traj, factor, offset=0):
        traj.f_add_result("z", traj.x * factor + offset)

    env = _env(tmp_path, cluster="synchronous")
    env.traj.f_explore({"x": [1.0, 2.0, 3.0], "y": [0.0, 0.0, 0.0]})
    env.run_map(scaled, [10, 20, 30], offset=[1, 2, 3])   # pypet's signature
    np.testing.assert_array_equal(env.dataset.z.values, [11, 42, 93])
    other = _env(tmp_path / "other", cluster="synchronous")
    other.traj.f_explore({"x": [1.0, 2.0, 3.0], "y": [0.0, 0.0, 0.0]})
    with pytest.raises(ValueError, match=r"has 2 items; give one per run to execute \(3\) "
                                         r"or per run of the trajectory \(3\)"):
        other.run_map(scaled, [1, 2])


def test_postprocessing_can_expand_the_trajectory(tmp_path):
    def grow(traj, results):
        if len(traj) < 4:
            traj.f_expand({"x": [float(len(traj) + 1)], "y": [1.0]})

    env = _env(tmp_path, cluster="synchronous")
    env.traj.f_explore({"x": [1.0, 2.0], "y": [1.0, 1.0]})
    env.add_postprocessing(grow)
    env.run(multiply)
    assert len(env.traj) == 4
    np.testing.assert_array_equal(env.dataset.z.values, [1.0, 2.0, 3.0, 4.0])


def test_returned_values_become_variables(tmp_path):
    def stats(traj):
        return {"mean": traj.x / 2, "peak": np.array([traj.x, traj.y])}

    env = _env(tmp_path, cluster="synchronous")
    env.traj.f_explore(cartesian_product({"x": [2.0, 4.0], "y": [1.0]}))
    out = env.run(stats)
    assert [i for i, _ in out] == [0, 1] and out[1][1]["mean"] == 2.0
    ds = env.dataset
    np.testing.assert_array_equal(ds["mean"].values.ravel(), [1.0, 2.0])
    assert ds["peak"].shape == (2, 1, 2)


def test_sweep_function_api(tmp_path):
    def damped(x, y, scale):
        return {"energy": scale * x * y, "trace": np.full(3, x)}

    ds = sweep(damped, x=[1, 2, 3], y=[0.5, 1.5], constants={"scale": 2.0},
               cluster="synchronous")
    assert ds.energy.dims == ("x", "y")
    assert float(ds.energy.sel(x=3, y=1.5)) == 9.0
    assert ds.trace.shape == (3, 2, 3)
    stored = sweep(damped, x=[1, 2], y=[1.0], constants={"scale": 1.0},
                   filename=tmp_path / "s.h5", cluster="synchronous")
    assert float(stored.energy.sel(x=2, y=1.0)) == 2.0


def test_progress_bar_is_shown_when_asked(tmp_path, capsys):
    env = _env(tmp_path, cluster="synchronous", progress=True)
    env.traj.f_explore({"x": [1.0, 2.0, 3.0], "y": [1.0, 1.0, 1.0]})
    env.run(multiply)
    err = capsys.readouterr().err
    assert "3/3" in err


SIGINT_DRIVER = textwrap.dedent(
    """
    import sys, time
    from pypetx import Environment

    def slow(traj):
        time.sleep(0.05)
        traj.f_add_result("z", traj.x)

    env = Environment(trajectory="Int", filename=sys.argv[1], resume=True, batch_size=4,
                      n_workers=2, progress=False)
    env.traj.f_add_parameter("x", 1.0)
    env.traj.f_explore({"x": [float(i) for i in range(400)]})
    env.run(slow)
    print("DONE")
    """
)


@pytest.mark.slow
def test_ctrl_c_stops_keeps_finished_runs_and_says_how_to_resume(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(SIGINT_DRIVER)
    path = tmp_path / "int.h5"
    proc = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    journal = tmp_path / "int.h5.pypetx" / "Int"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(journal.glob("*.npz"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "DONE" not in out
    assert "resume" in err and "Traceback" in err  # a plain script stops on Ctrl-C
    with xr.open_dataset(path, engine="h5netcdf", group="Int") as ds:
        n_done = int(ds.completed.sum())
    assert 0 < n_done < 400
    proc = subprocess.run([sys.executable, str(script), str(path)], capture_output=True,
                          text=True, timeout=300)
    assert "DONE" in proc.stdout, proc.stderr
    with xr.open_dataset(path, engine="h5netcdf", group="Int") as ds:
        assert bool(ds.completed.all())
        np.testing.assert_array_equal(ds.z.values, np.arange(400.0))


def test_script_without_main_guard_runs_on_the_local_cluster(tmp_path):
    """pypet's examples have no ``if __name__ == "__main__":``: fork keeps them working."""
    script = tmp_path / "noguard.py"
    script.write_text(textwrap.dedent(
        """
        from pypetx import Environment, cartesian_product
        def multiply(traj):
            traj.f_add_result("z", traj.x * traj.y)
        env = Environment(trajectory="NoGuard", filename=%r, n_workers=2, progress=False)
        traj = env.trajectory
        traj.f_add_parameter("x", 1.0); traj.f_add_parameter("y", 1.0)
        traj.f_explore(cartesian_product({"x": [1.0, 2.0], "y": [3.0, 4.0]}))
        env.run(multiply)
        print(env.dataset.z.values.sum())
        """ % str(tmp_path / "ng.h5")))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, env={**os.environ})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("21.0")


def test_pypet_memory_cap_pauses_workers_through_dask(tmp_path):
    def pause_fraction(traj):
        from distributed import get_worker

        return get_worker().memory_manager.memory_pause_fraction

    env = _env(tmp_path, n_workers=1, memory_cap=70.0,
               cluster_options={"local_first": False})  # the run must be on a worker
    env.traj.f_explore({"x": [1.0], "y": [1.0]})
    assert env.run(pause_fraction) == [(0, 0.7)]


class _Opaque:
    def __init__(self, v):
        self.v = v


def test_unstorable_result_stops_at_the_first_batch_naming_result_and_run(tmp_path):
    from pypetx.errors import StorageError

    def opaque(traj):
        traj.f_add_result("state", _Opaque(traj.x))

    env = _env(tmp_path, cluster="synchronous", batch_size=1)
    env.traj.f_explore({"x": [1.0, 2.0, 3.0], "y": [1.0, 1.0, 1.0]})
    with pytest.raises(StorageError, match=r"result 'state' of run 0 cannot be stored: "
                                           r"values of type .*_Opaque.*kind='pickle'"):
        env.run(opaque)
    assert env.summary is None or env.summary.n_received <= 1


def test_pickle_results_only_on_request_and_loaded_with_allow_pickle(tmp_path):
    from pypetx import PickleResult, PickleNotAllowedError
    from pypetx.store.ragged import get_ragged

    def opaque(traj):
        traj.f_add_result(PickleResult, "state", _Opaque(traj.x))

    env = _env(tmp_path, cluster="synchronous")
    env.traj.f_explore({"x": [1.0, 2.0], "y": [1.0, 1.0]})
    env.run(opaque)
    ds = env.dataset
    assert ds["state"].attrs["pypetx_kind"] == "pickle"
    with pytest.raises(PickleNotAllowedError):
        get_ragged(ds, "state", run=1)
    assert get_ragged(ds, "state", run=1, allow_pickle=True).v == 2.0


def test_sweep_into_a_file_twice_needs_overwrite_or_resume(tmp_path):
    from pypetx.errors import StorageError

    path = tmp_path / "s.h5"
    sweep(lambda x: 2 * x, x=[1, 2], filename=path, cluster="synchronous")
    with pytest.raises(StorageError, match="pass resume=True"):
        sweep(lambda x: 2 * x, x=[1, 2], filename=path, cluster="synchronous")
    ds = sweep(lambda x: 3 * x, x=[1, 2], filename=path, cluster="synchronous", overwrite=True)
    assert ds.result.values.tolist() == [3, 6]
    ds = sweep(lambda x: 3 * x, x=[1, 2, 5], filename=path, cluster="synchronous", resume=True)
    assert ds.result.values.tolist() == [3, 6, 15]


def test_a_run_failing_after_adding_a_result_keeps_the_batch(tmp_path):
    """Regression: a run that added a result, then failed (here: linking to its own result,
    which a run cannot), left an empty entry that crashed the whole batch with an
    IndexError; now that run fails with its own error and the other runs keep theirs."""
    env = _env(tmp_path, cluster="synchronous", on_error="continue")
    env.traj.f_explore(cartesian_product({"x": [1.0, 2.0, 3.0], "y": [1.0]}))

    def job(traj):
        traj.f_add_result("z", traj.x * traj.y)
        if traj.x > 1.0:
            traj.f_add_result("w", traj.x)
            traj.f_add_link("zz", traj.results.z)  # a value, not a node: LinkError

    env.run(job)
    ds = env.dataset
    table = pypetx.failures(ds)
    assert table.index.tolist() == [1, 2]
    assert all(e.startswith("LinkError") for e in table.error)
    assert ds.completed.values.ravel().tolist() == [True, False, False]
    assert float(ds.z.sel(x=1.0, y=1.0)) == 1.0 and np.isnan(ds.z.sel(x=2.0, y=1.0))
    assert "w" not in ds  # only failed runs added it: nothing of it is kept
