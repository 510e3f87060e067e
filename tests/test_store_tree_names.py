"""Stored files describe themselves to plain xarray (format version 4), and older files
keep opening.

``xr.open_datatree`` of a pypetx file shows the ``_tree`` group's values under their tree
paths (``parameters.n``; parts of one value as ``parameters.m[data]``) and the trajectory
timestamp as ISO 8601 UTC text. ``tests/data/pypetx-v3.h5`` was written by pypetx at
format version 3 (``v2``, ``v3``, float timestamp; see tests/data/make_pypetx_v3.py).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import dask.config
import numpy as np
import pytest
import scipy.sparse
import xarray as xr

import pypetx
from pypetx import Environment, cartesian_product
from pypetx.store.codec import timestamp_seconds, timestamp_text
from pypetx.store.layout import FORMAT_VERSION

DATA = Path(__file__).resolve().parent / "data"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def multiply(traj):
    traj.f_add_result("z", traj.x * traj.y)


def write(path: Path) -> Environment:
    with dask.config.set({"pypetx.cluster": "synchronous", "pypetx.progress": False}):
        env = Environment(trajectory="sweep", filename=str(path))
        traj = env.trajectory
        traj.f_add_parameter("x", 1)
        traj.f_add_parameter("y", 1.0)
        traj.f_add_parameter("n", 42)
        traj.f_add_parameter("weights", np.array([0.5, 1.5, 2.5]))
        traj.f_add_parameter("model.tau", 0.01)
        traj.f_add_parameter(pypetx.SparseParameter, "model.conn",
                             scipy.sparse.csr_matrix(np.eye(3)))
        traj.f_explore(cartesian_product({"x": [1, 2], "y": [6.0, 7.0]}))
        env.run(multiply)
    return env


@pytest.mark.parametrize("suffix", [".h5", ".zarr"])
def test_plain_xarray_reads_paths_and_iso_times(tmp_path, suffix):
    env = write(tmp_path / f"sweep{suffix}")
    engine = "h5netcdf" if suffix == ".h5" else "zarr"
    with xr.open_datatree(tmp_path / f"sweep{suffix}", engine=engine) as dt:
        cube, tree = dt["sweep"], dt["sweep/_tree"]
        records = json.loads(tree.attrs["pypetx_records"])
        paths = {r["path"] for r in records}
        names = list(tree.to_dataset(inherit=False).data_vars)
        assert names, "the tree stores no values"
        for name in names:
            path, _, key = name.partition("[")
            assert path in paths, f"{name!r} does not name a node of the tree"
            assert not key or re.fullmatch(r"\w+\]", key), name
        assert "parameters.n" in names and int(tree["parameters.n"]) == 42
        np.testing.assert_array_equal(tree["parameters.weights"], [0.5, 1.5, 2.5])
        assert "parameters.model.conn[data]" in names
        assert not any(re.fullmatch(r"v\d+(\..*)?", n) for n in names)
        for attrs in (cube.attrs, json.loads(tree.attrs["pypetx_attrs"])):
            assert ISO.match(attrs["timestamp"]), attrs["timestamp"]
            datetime.fromisoformat(attrs["timestamp"].replace("Z", "+00:00"))
        assert int(cube.attrs["pypetx_format_version"]) == FORMAT_VERSION == 4
    traj = pypetx.load(env.filename)
    assert isinstance(traj.v_timestamp, float)
    assert abs(traj.v_timestamp - env.trajectory.v_timestamp) < 1e-5
    assert traj.par.n == 42 and traj.par.model.conn.toarray().trace() == 3


def test_format_version_3_file_still_opens():
    path = DATA / "pypetx-v3.h5"
    with xr.open_datatree(path, engine="h5netcdf") as dt:  # it is the old layout
        assert int(dt["sweep"].attrs["pypetx_format_version"]) == 3
        assert "v2" in dt["sweep/_tree"].data_vars
        assert isinstance(dt["sweep"].attrs["timestamp"], float)
    traj = pypetx.load(path)
    assert traj.v_timestamp == pytest.approx(1796306045.2933023)
    assert traj.par.n == 42 and traj.par.label == "cuba" and traj.par.model.tau == 0.01
    np.testing.assert_array_equal(traj.par.weights, [0.5, 1.5, 2.5])
    assert traj.f_get("weights").v_comment == "synaptic weights"
    ds = pypetx.open_results(path, "sweep")
    assert float(ds.z.sel(x=3, y=7.0)) == 21.0 and bool(ds.completed.all())
    ds.close()


def test_timestamps_read_both_ways():
    assert timestamp_text(0.25) == "1970-01-01T00:00:00.250000Z"
    assert timestamp_seconds("1970-01-01T00:00:00.250000Z") == 0.25
    assert timestamp_seconds("2026-12-03T12:00:00Z") == datetime.fromisoformat(
        "2026-12-03T12:00:00+00:00").timestamp()
    assert timestamp_seconds(np.float64(1700000000.5)) == 1700000000.5  # format 3
    assert timestamp_seconds("1700000000.5") == 1700000000.5
