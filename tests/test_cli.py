"""The ``pypetx`` commands on results files written by real sweeps.

Most tests run in-process through :class:`click.testing.CliRunner` on files written with
the synchronous backend (fast); ``TestSubprocess`` runs the installed console script,
one of them on a real LocalCluster.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

import pypetx.store
from pypetx import Environment, cartesian_product
from pypetx.cli import cli
from pypetx.store.load import list_trajectories, open_results, read_tree

PYPETX = Path(sys.executable).with_name("pypetx")


def _grid_run(traj):
    if traj.x == 2.0 and traj.y == 7.0:
        raise ValueError("boom at x=2, y=7")
    traj.f_add_result("z", traj.x * traj.y, comment="the product")
    traj.f_add_result("energy", 0.5 * traj.x**2, units="J")
    traj.f_add_result("trace", np.arange(4.0) * traj.x, comment="a trace")
    # ragged: one array of a different length per run
    traj.f_add_result("spikes", np.arange(int(traj.x)) + traj.y)


def _point_run(traj):
    traj.f_add_result("w", traj.a + traj.b)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """One HDF5 file: a 3 x 2 grid with one failed run, and a list of zipped points."""
    path = tmp_path_factory.mktemp("cli") / "results.h5"
    env = Environment(trajectory="grid", filename=str(path), comment="a grid",
                      cluster="synchronous", on_error="continue", progress=False)
    traj = env.trajectory
    traj.f_add_parameter("x", 1.0, comment="first axis")
    traj.f_add_parameter("y", 1.0)
    traj.f_add_parameter("n", 42, comment="a constant")
    traj.f_explore(cartesian_product({"x": [1.0, 2.0, 3.0], "y": [6.0, 7.0]}))
    env.run(_grid_run)
    env2 = Environment(trajectory="points", filename=str(path), cluster="synchronous",
                       progress=False)
    t2 = env2.trajectory
    t2.f_add_parameter("a", 1)
    t2.f_add_parameter("b", 1.0)
    t2.f_explore({"a": [1, 2, 3], "b": [0.5, 0.25, 0.125]})
    env2.run(_point_run)
    return path


def invoke(*args: str, ok: bool = True):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, (result.output, result.exception)
    return result


def one_line_error(result, *words: str) -> None:
    """Exit status 1, one line ``Error: ...`` mentioning ``words``, no traceback."""
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], lines[0]


# ---------------------------------------------------------------------------------- help
@pytest.mark.parametrize("command", ["show", "failed", "plot", "export", "run"])
def test_every_command_has_help_with_an_example(command):
    out = invoke(command, "--help").output
    assert "Example:" in out and f"pypetx {command}" in out


def test_group_help_lists_commands():
    out = invoke("--help").output
    for command in ("show", "failed", "plot", "export", "run"):
        assert command in out


# ---------------------------------------------------------------------------------- show
def test_show_describes_every_trajectory(results):
    out = invoke("show", results).output
    assert "2 trajectories: grid, points" in out
    assert "runs: 6 (grid 3 x 2): 5 completed, 1 failed, 0 missing" in out
    assert "x (dim x, float64): 3 values: 1, 2, 3  # first axis" in out
    assert "parameters.n = 42  # a constant" in out
    assert "z (x, y) float64 shape (3, 2)  # the product" in out
    assert "energy (x, y) float64 shape (3, 2) [J]" in out
    assert "trace (x, y, trace_dim_0) float64 shape (3, 2, 4)" in out
    assert "spikes (x, y) ragged" in out
    assert "spikes_count" not in out  # the ragged layout's helper array is hidden
    assert "runs: 3 (list of points): 3 completed, 0 failed, 0 missing" in out
    assert "b (dim run, float64): 3 values: 0.5, 0.25, 0.125" in out
    assert "provenance:" in out and "python " in out


def test_show_one_group(results):
    out = invoke("show", results, "--group", "points").output
    assert "Trajectory points" in out and "Trajectory grid" not in out


def test_show_bad_input(results, tmp_path):
    one_line_error(invoke("show", tmp_path / "missing.h5", ok=False), "missing.h5")
    one_line_error(invoke("show", results, "-g", "nope", ok=False), "nope", "grid, points")
    text = tmp_path / "notes.txt"
    text.write_text("not a results file")
    one_line_error(invoke("show", text, ok=False), "notes.txt")


def test_show_does_not_unpickle(tmp_path):
    """A pickled parameter is listed but never loaded (show must not run code)."""
    from pypetx import PickleParameter

    path = tmp_path / "p.h5"
    env = Environment(trajectory="p", filename=str(path), cluster="synchronous", progress=False)
    env.trajectory.f_add_parameter(PickleParameter, "obj", {1: complex(1, 2)})
    env.trajectory.f_add_parameter("x", 1.0)
    env.trajectory.f_explore({"x": [1.0, 2.0]})
    env.run(_noop)
    out = invoke("show", path).output
    assert "parameters.obj = <pickled: not loaded>" in out


def _noop(traj):
    traj.f_add_result("r", traj.x)


# -------------------------------------------------------------------------------- failed
def test_failed_lists_runs_with_parameters_and_traceback(results):
    out = invoke("failed", results, "-g", "grid").output
    assert "Trajectory grid: 1 of 6 runs failed" in out
    assert "run 3 (x=2, y=7): ValueError: boom at x=2, y=7" in out
    assert "| ValueError: boom at x=2, y=7" in out  # the traceback's last line
    assert "rerun_failed" in out


def test_failed_lines_option_and_clean_trajectory(results):
    out = invoke("failed", results, "-g", "grid", "-n", "0").output
    assert "|" not in out
    out = invoke("failed", results, "-g", "points").output
    assert "0 of 3 runs failed" in out


def test_failed_runs_match_the_dataset(results):
    from pypetx.commands.failed import failed_runs

    ds = open_results(results, "grid")
    runs = failed_runs(ds)
    assert [r["index"] for r in runs] == [3]
    assert bool(ds.failed.sel(x=2.0, y=7.0))
    assert runs[0]["params"] == {"x": 2.0, "y": 7.0}


# ---------------------------------------------------------------------------------- plot
def test_plot_heatmap_and_line(results, tmp_path):
    heat = tmp_path / "z.png"
    out = invoke("plot", results, "z", "--x", "x", "--y", "y", "-g", "grid", "-o", heat).output
    assert f"wrote {heat}" in out
    assert heat.read_bytes()[:4] == b"\x89PNG"
    line = tmp_path / "line.png"
    invoke("plot", results, "z", "--x", "x", "--sel", "y=6", "-g", "grid", "-o", line)
    assert line.stat().st_size > 0
    # one extra dimension without --y: one line per value of it
    hue = tmp_path / "hue.svg"
    invoke("plot", results, "z", "--x", "x", "-g", "grid", "-o", hue)
    assert hue.read_text().lstrip().startswith("<?xml")


def test_plot_reduces_other_dims(results, tmp_path):
    out = tmp_path / "trace.png"
    invoke("plot", results, "trace", "--x", "x", "--sel", "y=7", "--mean", "trace_dim_0",
           "-g", "grid", "-o", out)
    assert out.exists()


def test_plot_points_against_a_coordinate(results, tmp_path):
    out = tmp_path / "w.png"
    invoke("plot", results, "w", "--x", "b", "-g", "points", "-o", out)
    assert out.exists()


def test_prepare_masks_failed_runs(results):
    from pypetx.commands.plot import prepare

    ds = open_results(results, "grid")
    da = prepare(ds, "z", x="x", y="y")
    assert np.isnan(da.sel(x=2.0, y=7.0))
    assert float(da.sel(x=3.0, y=7.0)) == 21.0
    line = prepare(ds, "z", x="x", mean=("y",))
    assert line.dims == ("x",)
    assert float(line.sel(x=2.0)) == 12.0  # the failed run is skipped, not averaged in


def test_plot_bad_input(results, tmp_path):
    one_line_error(invoke("plot", results, "nope", "--x", "x", "-g", "grid", ok=False),
                   "nope", "z")
    one_line_error(invoke("plot", results, "trace", "--x", "x", "-g", "grid", ok=False),
                   "--sel", "--mean")
    one_line_error(invoke("plot", results, "z", "--x", "q", "-g", "grid", ok=False), "q")
    one_line_error(invoke("plot", results, "z", "--x", "x", "--sel", "y=abc", "-g", "grid",
                          ok=False), "y=abc")
    one_line_error(invoke("plot", results, "z", "--x", "x", "--mean", "q", "-g", "grid",
                          ok=False), "q")
    one_line_error(invoke("plot", results, "z", "--x", "x", ok=False), "several")


# -------------------------------------------------------------------------------- export
@pytest.mark.parametrize("suffix", [".zarr", ".h5"])
def test_export_cube_round_trip(results, tmp_path, suffix):
    out = tmp_path / f"copy{suffix}"
    invoke("export", results, out)
    assert list_trajectories(out) == ["grid", "points"]
    for name in ("grid", "points"):
        xr.testing.assert_identical(open_results(out, name).load(),
                                    open_results(results, name).load())
        records, _ = read_tree(out, name)
        assert records == read_tree(results, name)[0]
    # the copy is a complete results file: the commands read it as they read the original
    assert "5 completed, 1 failed" in invoke("show", out).output
    back = tmp_path / f"back{suffix}.h5"
    invoke("export", out, back, "-g", "grid")
    assert list_trajectories(back) == ["grid"]


def test_export_csv_table(results, tmp_path):
    out = tmp_path / "grid.csv"
    res = invoke("export", results, out, "-g", "grid")
    assert "wrote" in res.output and "--var trace" in res.output  # skipped, with a hint
    table = pd.read_csv(out)
    assert len(table) == 6
    assert {"x", "y", "z", "energy", "completed", "failed", "error"} <= set(table.columns)
    row = table[(table.x == 2.0) & (table.y == 7.0)].iloc[0]
    assert np.isnan(row.z) and bool(row.failed) and "boom" in row.error
    assert table.loc[(table.x == 3.0) & (table.y == 6.0), "z"].item() == 18.0
    long = tmp_path / "trace.csv"
    invoke("export", results, long, "-g", "grid", "--var", "trace")
    assert len(pd.read_csv(long)) == 6 * 4


def test_export_table_of_points_keeps_coordinates(results, tmp_path):
    out = tmp_path / "points.csv"
    invoke("export", results, out, "-g", "points")
    table = pd.read_csv(out)
    assert list(table.a) == [1, 2, 3] and list(table.w) == [1.5, 2.25, 3.125]


def test_export_parquet(results, tmp_path):
    out = tmp_path / "grid.parquet"
    res = invoke("export", results, out, "-g", "grid", ok=False)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        one_line_error(res, "pyarrow")
        assert not out.exists()
    else:
        assert res.exit_code == 0
        assert len(pd.read_parquet(out)) == 6


def test_export_bad_input(results, tmp_path):
    one_line_error(invoke("export", results, tmp_path / "x.txt", ok=False), ".csv", ".zarr")
    one_line_error(invoke("export", results, tmp_path / "t.csv", ok=False), "--group")
    one_line_error(invoke("export", results, tmp_path / "t.csv", "-g", "grid", "--var", "nope",
                          ok=False), "nope")
    existing = tmp_path / "exists.csv"
    existing.write_text("")
    one_line_error(invoke("export", results, existing, "-g", "grid", ok=False), "--overwrite")
    invoke("export", results, existing, "-g", "grid", "--overwrite")
    one_line_error(invoke("export", tmp_path / "none.h5", tmp_path / "o.zarr", ok=False),
                   "none.h5")


# ----------------------------------------------------------------------------------- run
SCRIPT = """\
import sys, dask.config
from pypetx import Environment

def fn(traj):
    traj.f_add_result("z", traj.x * 2)

env = Environment(trajectory="s", filename=sys.argv[1], progress=False)
env.trajectory.f_add_parameter("x", 1.0)
env.trajectory.f_explore({"x": [1.0, 2.0, 3.0]})
env.run(fn)
with open(sys.argv[1] + ".cfg", "w") as f:
    f.write(f"{dask.config.get('pypetx.cluster')} {dask.config.get('pypetx.local.n_workers')}")
"""


def test_run_sets_the_cluster_default(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    out = tmp_path / "s.h5"
    invoke("run", script, "--cluster", "synchronous", str(out))
    assert Path(f"{out}.cfg").read_text() == "synchronous None"
    ds = open_results(out)
    assert ds.z.values.tolist() == [2.0, 4.0, 6.0]


def test_run_bad_input(tmp_path):
    one_line_error(invoke("run", tmp_path / "none.py", ok=False), "none.py")
    script = tmp_path / "s.py"
    script.write_text("print('hi')\n")
    one_line_error(invoke("run", script, "--cluster", "slurm", "--workers", "2", ok=False),
                   "--workers")
    assert invoke("run", script, "--cluster", "moon", ok=False).exit_code == 2


# ---------------------------------------------------------------------------- subprocess
def _pypetx(*args, cwd=None, check=True) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="ignore::DeprecationWarning")
    proc = subprocess.run([str(PYPETX), *map(str, args)], capture_output=True, text=True,
                          check=False, cwd=cwd, env=env, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


class TestSubprocess:
    """The installed console script, as a user runs it."""

    def test_show_and_failed(self, results):
        assert "5 completed, 1 failed" in _pypetx("show", results).stdout
        assert "run 3 (x=2, y=7)" in _pypetx("failed", results, "-g", "grid").stdout

    def test_errors_are_one_line_unless_debug(self, results, tmp_path):
        proc = _pypetx("show", tmp_path / "missing.h5", check=False)
        assert proc.returncode == 1
        assert proc.stderr.strip() == f"Error: no results file at {tmp_path / 'missing.h5'}"
        proc = _pypetx("plot", results, "nope", "--x", "x", "-g", "grid", check=False)
        assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
        proc = _pypetx("--debug", "show", results, "-g", "nope", check=False)
        assert proc.returncode == 1 and "Traceback" in proc.stderr

    def test_export_and_plot(self, results, tmp_path):
        _pypetx("export", results, tmp_path / "r.zarr")
        _pypetx("plot", tmp_path / "r.zarr", "z", "--x", "x", "--y", "y", "-g", "grid",
                "-o", tmp_path / "z.png")
        assert (tmp_path / "z.png").stat().st_size > 0

    @pytest.mark.slow
    def test_run_on_a_local_cluster(self, tmp_path):
        """``pypetx run --cluster local --workers 2`` on a real LocalCluster."""
        script = tmp_path / "script.py"
        script.write_text(SCRIPT.replace('progress=False)',
                                         'progress=False, cluster_options='
                                         '{"dashboard_address": ":0", '
                                         '"local_first": False})'))
        out = tmp_path / "s.h5"
        _pypetx("run", script, "--cluster", "local", "--workers", "2", out)
        assert Path(f"{out}.cfg").read_text() == "local 2"
        ds = open_results(out)
        assert ds.z.values.tolist() == [2.0, 4.0, 6.0]
        assert bool(ds.completed.all())
        workers = set(pypetx.store.workers(ds).values.ravel())
        assert all(w.startswith("tcp://") for w in workers), workers
        assert "3 completed, 0 failed" in _pypetx("show", out).stdout
