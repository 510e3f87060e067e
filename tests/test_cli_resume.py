"""``pypetx resume`` / ``pypetx expand`` as real subprocesses on real files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import xarray as xr

import resume_functions
from pypetx import Environment, cartesian_product

TESTS = Path(__file__).parent


def _pypetx(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "pypetx.cli", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def _sweep(path: Path, fn) -> None:
    env = Environment(trajectory="R", filename=str(path), cluster="synchronous",
                      progress=False, on_error="continue")
    env.traj.f_add_parameter("x", 1.0)
    env.traj.f_add_parameter("y", 1.0)
    env.traj.f_add_parameter("scale", 2)
    env.traj.f_explore(cartesian_product({"x": [1.0, 2.0, 3.0], "y": [4.0, 5.0]}))
    env.run(fn)


def test_resume_reruns_failed_with_given_function(tmp_path):
    path = tmp_path / "r.h5"
    _sweep(path, resume_functions.fail_on_y5)
    proc = _pypetx("resume", str(path), "--rerun-failed", "--cluster", "synchronous",
                   "--function", "resume_functions:fixed", "--force")
    assert proc.returncode == 0, proc.stderr
    assert "3 runs completed, 0 failed" in proc.stdout
    with xr.open_dataset(path, engine="h5netcdf", group="R") as ds:
        np.testing.assert_array_equal(ds.z.values, [[4, 5], [8, 10], [12, 15]])


def test_resume_with_recorded_function_runs_nothing_when_complete(tmp_path):
    path = tmp_path / "r.h5"
    _sweep(path, resume_functions.fixed)
    proc = _pypetx("resume", str(path), "--cluster", "synchronous")
    assert proc.returncode == 0, proc.stderr
    assert "0 runs completed, 0 failed" in proc.stdout


def test_expand_grows_the_grid_along_one_axis(tmp_path):
    path = tmp_path / "r.h5"
    _sweep(path, resume_functions.fixed)
    proc = _pypetx("expand", str(path), "x=4.0,5.0", "--cluster", "synchronous")
    assert proc.returncode == 0, proc.stderr
    assert "4 runs completed" in proc.stdout
    with xr.open_dataset(path, engine="h5netcdf", group="R") as ds:
        assert ds.z.dims == ("x", "y") and ds.z.shape == (5, 2)
        assert float(ds.z.sel(x=5.0, y=5.0)) == 25.0


def test_errors_are_one_line(tmp_path):
    proc = _pypetx("resume", str(tmp_path / "missing.h5"))
    assert proc.returncode != 0 and "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr
    path = tmp_path / "r.h5"
    _sweep(path, resume_functions.fixed)
    proc = _pypetx("expand", str(path), "nope=1", "--cluster", "synchronous")
    assert proc.returncode != 0 and "nope" in proc.stderr and "Traceback" not in proc.stderr
