"""pypetx.adaptive: python-adaptive learners driving sweeps on a real LocalCluster.

The functions live at module level so that the cluster's worker processes import them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

adaptive = pytest.importorskip("adaptive")

import pypetx  # noqa: E402
from pypetx.store.load import open_results  # noqa: E402


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        yield c


def edge(x):
    """A sharp step at x = 0: where a learner should sample."""
    return float(np.tanh(x / 0.01))


def ring(x, y):
    """A sharp ring at r^2 = 0.5 (the 2-D example of docs/adaptive.md)."""
    return float(np.tanh((x**2 + y**2 - 0.5) / 0.02))


def fragile(x):
    if abs(x) < 0.25:
        raise ValueError(f"no value at {x}")
    return x * x


def counted(x, log):
    with open(log, "a") as f:
        f.write(f"{x!r}\n")
    return float(np.tanh(x / 0.01))


def two_results(x):
    return {"y": x**2, "dy": 2 * x}


def noisy(seed):
    return float(np.random.default_rng(seed).normal(1.0, 0.1))


def test_learner1d_reaches_its_loss_goal(client, tmp_path):
    learner = adaptive.Learner1D(None, bounds=(-1, 1))
    ds = pypetx.adaptive(edge, learner, loss_goal=0.02, client=client,
                         filename=tmp_path / "edge.h5")
    assert learner.loss() <= 0.02
    assert ds.sizes["run"] == learner.npoints  # every learned point is stored, once
    assert bool(ds.completed.all())
    assert len(np.unique(ds.x.values)) == ds.sizes["run"]
    stored = open_results(tmp_path / "edge.h5", "edge")
    np.testing.assert_allclose(stored.edge.values, np.tanh(stored.x.values / 0.01))
    assert set(learner.data) == set(stored.x.values.tolist())
    stored.close()


def test_samples_concentrate_at_the_sharp_edge(client):
    learner = adaptive.Learner1D(None, bounds=(-1, 1))
    ds = pypetx.adaptive(edge, learner, npoints_goal=100, client=client)
    assert ds.sizes["run"] == 100  # the last round asks only what the goal misses
    near = int((np.abs(ds.x.values) < 0.1).sum())
    assert near > 2 * 0.1 * 100, f"{near} of 100 samples within |x| < 0.1 (uniform: 10)"


def test_learner2d_samples_the_ring_and_interpolates_onto_a_grid(client):
    learner = adaptive.Learner2D(None, bounds=[(-1, 1), (-1, 1)])
    ds = pypetx.adaptive(ring, learner, npoints_goal=300, client=client)
    assert ds.sizes["run"] == 300 and learner.npoints == 300
    r2 = ds.x.values**2 + ds.y.values**2
    band = np.abs(r2 - 0.5) < 0.1
    share = np.pi * 0.2 / 4  # of the square the band covers: 16 %
    assert band.mean() > 1.8 * share, f"{band.mean():.0%} of the samples near the ring"
    grid = pypetx.to_grid(ds, n=41)
    assert grid.ring.dims == ("x", "y") and grid.ring.shape == (41, 41)
    assert grid.attrs["samples"] == 300
    # inside the hull (the bounds' corners are always sampled): no gaps, the right values
    assert not bool(grid.ring.isnull().any())
    truth = np.tanh((grid.x**2 + grid.y**2 - 0.5) / 0.02)
    far = np.abs(grid.x**2 + grid.y**2 - 0.5) > 0.2
    assert float(np.abs(grid.ring - truth).where(far).max()) < 0.05
    import matplotlib

    matplotlib.use("Agg")
    grid.ring.plot(x="x", y="y")  # the point of the grid view


def test_failures_are_recorded_and_never_learned_or_asked_again(client):
    learner = adaptive.Learner1D(None, bounds=(-1, 1))
    ds = pypetx.adaptive(fragile, learner, npoints_goal=40, client=client)
    failed = ds.x.values[ds.failed.values]
    assert len(failed) > 0 and bool((np.abs(failed) < 0.25).all())
    assert not set(failed.tolist()) & set(learner.data)  # not learned from
    assert len(np.unique(ds.x.values)) == ds.sizes["run"]  # not asked again
    assert learner.npoints == 40  # the goal counts learned points
    table = pypetx.failures(ds)
    assert len(table) == len(failed)
    assert table["error"].str.contains("no value at").all()


def test_resume_continues_and_recomputes_nothing(tmp_path):
    path, log = tmp_path / "resume.h5", tmp_path / "calls.log"
    first = adaptive.Learner1D(None, bounds=(-1, 1))
    pypetx.adaptive(counted, first, npoints_goal=30, filename=path, name="edge",
                    constants={"log": str(log)}, cluster="synchronous")
    assert len(log.read_text().split()) == 30
    # the goal reached: a resumed run with a fresh learner runs nothing...
    again = adaptive.Learner1D(None, bounds=(-1, 1))
    ds = pypetx.adaptive(counted, again, npoints_goal=30, filename=path, name="edge",
                         constants={"log": str(log)}, cluster="synchronous", resume=True)
    assert len(log.read_text().split()) == 30 and again.npoints == 30
    assert again.data == first.data
    ds.close()
    # ...and with a further goal it runs only the new points
    more = adaptive.Learner1D(None, bounds=(-1, 1))
    ds = pypetx.adaptive(counted, more, npoints_goal=50, filename=path, name="edge",
                         constants={"log": str(log)}, cluster="synchronous", resume=True)
    calls = [float(v) for v in log.read_text().split()]
    assert len(calls) == 50 and len(set(calls)) == 50
    assert ds.sizes["run"] == 50 and more.npoints == 50
    ds.close()


KILLED_DRIVER = textwrap.dedent(
    """
    import sys, time
    import adaptive, numpy as np, pypetx

    path, log = sys.argv[1], sys.argv[2]

    def slow_edge(x):
        with open(log, "a") as f:
            f.write(f"{x!r}\\n")
        time.sleep(0.02)
        return float(np.tanh(x / 0.01))

    learner = adaptive.Learner1D(None, bounds=(-1, 1))
    ds = pypetx.adaptive(slow_edge, learner, npoints_goal=120, filename=path,
                         name="edge", resume=True, n_workers=2, points_per_round=16)
    print("DONE", ds.sizes["run"], learner.npoints, flush=True)
    """
)


def _stored_points(path: Path) -> set[float]:
    """The points stored (file + journal): what a resume must not run again."""
    from pypetx.env.adaptive.driver import stored_trajectory
    from pypetx.store.registry import open_store

    traj = stored_trajectory(str(path), "edge")
    store = open_store(str(path), "edge")
    try:
        store.open(traj.exploration, resume=True)
        done = store.done()
    finally:
        store.close()
    xs = traj.exploration.column("parameters.x")
    return {float(x) for x, ok in zip(xs, done) if ok}


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_recomputes_nothing(tmp_path):
    script, path, log = tmp_path / "driver.py", tmp_path / "killed.h5", tmp_path / "calls.log"
    script.write_text(KILLED_DRIVER)
    env = dict(os.environ, DASK_PYPETX__LOCAL__DASHBOARD_ADDRESS=":0")
    cmd = [sys.executable, str(script), str(path), str(log)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and (
            not log.exists() or len(log.read_text().split()) < 50):
        time.sleep(0.01)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = len(log.read_text().split())
    stored = _stored_points(path)
    assert 16 <= len(stored) < 120  # killed mid-run, after some rounds were stored
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0 and "DONE 120 120" in out.stdout, out.stderr
    rerun = [float(v) for v in log.read_text().split()[before:]]
    assert not stored & set(rerun), "a stored point ran again"
    ds = open_results(path, "edge")
    assert ds.sizes["run"] == 120 and bool(ds.completed.all())
    assert len(np.unique(ds.x.values)) == 120
    ds.close()


def test_the_learners_own_function_is_called_its_way(tmp_path):
    learner = adaptive.Learner2D(lambda xy: xy[0] * xy[1], bounds=[(0, 1), (0, 2)])
    ds = pypetx.adaptive(learner, npoints_goal=20, cluster="synchronous",
                         filename=tmp_path / "own.zarr", name="product")
    np.testing.assert_allclose(ds.result.values, ds.x.values * ds.y.values)
    assert learner.npoints == 20
    assert (tmp_path / "own.zarr").is_dir()  # Zarr as for any sweep


def test_learnernd_names_its_dimensions():
    learner = adaptive.LearnerND(None, bounds=[(-1, 1)] * 3)
    ds = pypetx.adaptive(lambda x, y, z: x + y + z, learner, npoints_goal=30,
                         cluster="synchronous")
    assert {"x", "y", "z"} <= set(ds.coords) and ds.sizes["run"] == 30
    np.testing.assert_allclose(ds.result, ds.x + ds.y + ds.z)


def test_average_learner_takes_seeds():
    learner = adaptive.AverageLearner(None, atol=None, rtol=0.01)
    ds = pypetx.adaptive(noisy, learner, npoints_goal=50, cluster="synchronous")
    assert sorted(ds.seed.values.tolist()) == list(range(50))
    assert learner.mean == pytest.approx(float(ds.noisy.mean()))


def test_balancing_learner_keeps_the_learner_index():
    learners = [adaptive.Learner1D(None, bounds=(-1, 1)) for _ in range(2)]
    balancing = adaptive.BalancingLearner(learners)
    ds = pypetx.adaptive(lambda learner, x: x + learner, balancing, npoints_goal=40,
                         cluster="synchronous")
    assert set(ds.learner.values.tolist()) == {0, 1}
    np.testing.assert_allclose(ds.result, ds.x + ds.learner)
    # adaptive's npoints goal of a BalancingLearner is each learner's
    assert [lrn.npoints for lrn in learners] == [40, 40] and ds.sizes["run"] == 80


def test_datasaver_learns_one_result_and_keeps_all():
    saver = adaptive.DataSaver(adaptive.Learner1D(None, bounds=(-1, 1)),
                               arg_picker=lambda d: d["y"])
    ds = pypetx.adaptive(two_results, saver, npoints_goal=20, cluster="synchronous")
    np.testing.assert_allclose(ds.y, ds.x**2)
    np.testing.assert_allclose(ds.dy, 2 * ds.x)
    assert saver.learner.npoints == 20
    x0 = float(ds.x[5])
    assert saver.extra_data[x0] == {"y": pytest.approx(x0**2), "dy": pytest.approx(2 * x0)}


def test_several_results_need_value():
    learner = adaptive.Learner1D(None, bounds=(-1, 1))
    with pytest.raises(ValueError, match="value="):
        pypetx.adaptive(two_results, learner, npoints_goal=10, cluster="synchronous")
    learner = adaptive.Learner1D(None, bounds=(-1, 1))
    ds = pypetx.adaptive(two_results, learner, npoints_goal=10, value="dy",
                         cluster="synchronous")
    assert learner.data == pytest.approx(dict(zip(ds.x.values, 2 * ds.x.values)))


def test_goals_are_spelled_as_adaptive_spells_them():
    learner = adaptive.Learner1D(None, bounds=(-1, 1))
    with pytest.raises(ValueError, match="needs a goal"):
        pypetx.adaptive(edge, learner, cluster="synchronous")
    with pytest.raises(ValueError, match="either goal="):
        pypetx.adaptive(edge, learner, goal=lambda lrn: True, npoints_goal=3)
    with pytest.raises(TypeError, match="adaptive learner"):
        pypetx.adaptive(edge, object(), npoints_goal=3)
    ds = pypetx.adaptive(edge, learner, goal=lambda lrn: lrn.npoints >= 12,
                         points_per_round=4, cluster="synchronous")
    assert ds.sizes["run"] == 12
    learner = adaptive.Learner1D(None, bounds=(-1, 1))
    with pytest.raises(ValueError, match="before the first point"):
        pypetx.adaptive(edge, learner, duration_goal=0.0, cluster="synchronous")
    ds = pypetx.adaptive(edge, learner, duration_goal=0.2, points_per_round=4,
                         cluster="synchronous")
    assert ds.sizes["run"] >= 4 and ds.sizes["run"] % 4 == 0  # whole rounds until then


def test_pypetx_plot_scatters_adaptive_samples(tmp_path):
    from click.testing import CliRunner

    from pypetx.cli import cli

    learner = adaptive.Learner2D(None, bounds=[(-1, 1), (-1, 1)])
    pypetx.adaptive(ring, learner, npoints_goal=40, filename=tmp_path / "ring.h5",
                    cluster="synchronous")
    out = tmp_path / "ring.png"
    result = CliRunner().invoke(cli, ["plot", str(tmp_path / "ring.h5"), "ring", "--x", "x",
                                      "--y", "y", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert "40 samples" in result.output


@pytest.mark.slurm
@pytest.mark.slow
def test_learner2d_on_slurm(tmp_path):
    from test_hpc_common import JOB

    learner = adaptive.Learner2D(None, bounds=[(-1, 1), (-1, 1)])
    ds = pypetx.adaptive(ring, learner, npoints_goal=60, filename=tmp_path / "slurm.h5",
                         cluster="slurm", n_jobs=1, batch_size=8,
                         cluster_options=dict(JOB, scheduler_options={
                             "dashboard_address": "127.0.0.1:0"}))
    assert ds.sizes["run"] == 60 and bool(ds.completed.all())
    np.testing.assert_allclose(ds.ring, np.tanh((ds.x**2 + ds.y**2 - 0.5) / 0.02))
