"""``pypetx import-pypet`` / ``pypetx.compat.import_pypet``: files written by pypet itself.

The files in tests/data were written by real pypet (0.6.1 on Python 3.11 and 0.7.0 on
Python 3.12) with tests/data/make_pypet_files.py; the values asserted here are the ones
that script stored. The slow test at the end installs pypet 0.6.1 and writes a fresh file.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import pypetx
from pypetx.cli import cli
from pypetx.compat import import_pypet
from pypetx.compat.pypetfile import PypetFileError, list_pypet_trajectories
from pypetx.compat.pypetfile.grid import grid_axes
from pypetx.compat.pypetfile.nodes import native, plain_pickle
from pypetx.store.ragged import get_ragged

DATA = Path(__file__).resolve().parents[1] / "data"
GENERATOR = DATA / "make_pypet_files.py"
VERSIONS = ("0.6.1", "0.7.0")

tables_needed = pytest.mark.skipif(
    __import__("importlib").util.find_spec("tables") is None,
    reason="PyTables is not installed (pip install 'pypetx[tables]')")
pytestmark = [tables_needed, pytest.mark.filterwarnings("ignore::UserWarning")]


def sweep_file(version: str) -> Path:
    return DATA / f"pypet-{version}-sweep.h5"


def misc_file(version: str) -> Path:
    return DATA / f"pypet-{version}-misc.h5"


# -- what make_pypet_files.py stored ------------------------------------------------------

def check_sweep(ds) -> None:
    """The cube of trajectory ``sweep``: a 3 x 2 grid, every per-run result."""
    assert ds["completed"].dims == ("x", "y")
    assert ds.x.values.tolist() == [1, 2, 3] and ds.y.values.tolist() == [6.0, 7.0]
    x, y = ds.x, ds.y
    np.testing.assert_array_equal(ds.z, x * y)  # z == x * y at every grid point
    np.testing.assert_array_equal(ds.w, x - y)  # a $set result
    np.testing.assert_array_equal(ds["derived_parameters.xy_sum"], x + y)
    np.testing.assert_array_equal(ds["stats.mean"], (x + y) / 2)
    np.testing.assert_array_equal(ds["stats.spread"], abs(x - y))
    assert ds.trace.dims == ("x", "y", "trace_dim_0")
    np.testing.assert_allclose(ds.trace.sel(x=2, y=7.0), np.linspace(0, 14, 4))
    assert ds.label.sel(x=3, y=6.0).values.item() == "x=3"
    for xv in (1, 2, 3):
        np.testing.assert_array_equal(get_ragged(ds, "spikes", x=xv, y=7.0),
                                      np.arange(xv) * 7.0)
    assert ds.z.attrs["comment"] == "x times y"  # kept though pypet stored it once
    assert ds["derived_parameters.xy_sum"].attrs["comment"] == "derived in a run"
    assert ds.completed.all() and not ds.failed.any()
    assert (ds.duration > 0).all()
    assert ds.attrs["comment"] == "a cartesian sweep"


def check_sweep_tree(traj) -> None:
    """The tree of ``sweep`` outside the runs."""
    x = traj.f_get("parameters.x")
    assert x.f_get_range() == (1, 1, 2, 2, 3, 3) and x.default == 1
    assert x.comment == "first dimension"
    assert x.annotations == {"source": "survey", "scale": 2.5, "tags": {"a": [1, 2]}}
    assert traj.f_get("parameters.y").comment == "second dimension, in µs."
    assert traj.parameters.model.comment == "the neuron model"
    np.testing.assert_array_equal(traj.f_get("model.weights").default, np.arange(4.0))
    np.testing.assert_array_equal(traj.f_get("model.coupling").default.toarray(), np.eye(3) * 2)
    assert traj.f_get("model.name_value").default == "lif"  # 'name' is taken in pypetx
    assert traj.f_get("config.seed").default == 42
    assert traj.f_get("derived_parameters.area").default == 3.5
    np.testing.assert_array_equal(traj.parameters.w_link, np.arange(4.0))  # the link
    assert traj.f_get("results.summary.total").get() == 63.0
    table = traj.f_get("results.summary.table").get()
    assert table["a"].tolist() == [1, 2] and table["b"].tolist() == [0.5, 1.5]


@pytest.fixture(params=VERSIONS)
def version(request) -> str:
    return request.param


# -- the committed files ---------------------------------------------------------------------

def test_sweep_becomes_a_grid_cube(version, tmp_path):
    dst = import_pypet(sweep_file(version), tmp_path / "new.h5")
    assert dst == tmp_path / "new.h5"
    check_sweep(pypetx.open_results(dst))


def test_sweep_tree_and_exploration(version, tmp_path):
    dst = import_pypet(sweep_file(version), tmp_path / "new.h5")
    traj = pypetx.load(dst)
    check_sweep_tree(traj)
    assert traj.exploration.axes == (("parameters.x",), ("parameters.y",))


def test_pickles_skipped_with_a_warning_naming_them(version, tmp_path):
    with pytest.warns(UserWarning, match=r"pickled values skipped.*parameters\.model\.extra, obj"):
        dst = import_pypet(sweep_file(version), tmp_path / "new.h5")
    assert "obj" not in pypetx.open_results(dst)
    assert "extra" not in pypetx.load(dst).parameters.model


def test_pickles_loaded_with_allow_pickle(version, tmp_path):
    dst = import_pypet(sweep_file(version), tmp_path / "new.h5", allow_pickle=True)
    traj = pypetx.load(dst, allow_pickle=True)
    assert traj.f_get("model.extra").default == {"a": [1, 2], "b": "c"}
    assert traj.res.runs.run_00000003.obj == {"x": 2, "pair": (2, 7.0)}


def test_reserved_names_renamed_with_a_warning(tmp_path):
    with pytest.warns(UserWarning, match=r"parameters\.model\.name -> parameters\.model\.name_value"):
        import_pypet(sweep_file("0.7.0"), tmp_path / "new.h5")


def test_f_load_reads_the_imported_file(version, tmp_path):
    from pypetx import Trajectory, pypetconstants

    dst = import_pypet(sweep_file(version), tmp_path / "new.h5")
    loaded = Trajectory(filename=str(dst))
    loaded.f_load(index=-1, load_parameters=2, load_results=pypetconstants.LOAD_DATA)
    assert loaded.v_name == "sweep"
    assert loaded.run_00000003.z == 14.0  # x=2, y=7.0
    assert loaded.res.runs.run_00000004.w == -3.0  # x=3, y=6.0


def test_points_not_a_grid_keep_a_run_dimension(version, tmp_path):
    # also: these tables are blosc-compressed (read through PyTables, not h5py)
    dst = import_pypet(misc_file(version), tmp_path / "new.h5", name="points")
    ds = pypetx.open_results(dst, "points")
    assert ds["completed"].dims == ("run",)
    assert ds.x.values.tolist() == [1, 2, 5] and ds.y.values.tolist() == [3.0, 1.0, 1.0]
    assert ds.model.values.tolist() == ["lif", "adex", "lif"]
    np.testing.assert_array_equal(ds.z, ds.x * ds.y)
    assert ds["flags.ok"].values.tolist() == [False, True, True]
    assert ds["flags.pair"].values.tolist() == [[1, 2], [2, 4], [5, 10]]
    assert pypetx.load(dst, "points").f_get("model").comment == "explored strings"


def test_a_run_pypet_did_not_complete_stays_missing(version, tmp_path):
    dst = import_pypet(misc_file(version), tmp_path / "new.h5", name="crashed")
    ds = pypetx.open_results(dst, "crashed")
    assert ds.completed.values.tolist() == [[True, True], [False, True]]
    assert not ds.failed.any()  # pypet does not say why a run did not complete
    assert np.isnan(ds.z.sel(x=2, y=1).values.item()) and ds.z.sel(x=2, y=2).values.item() == 4
    assert np.isnan(ds.duration.sel(x=2, y=1).values.item())


def test_trajectory_pypet_never_stored_is_an_error(version, tmp_path):
    with pytest.raises(PypetFileError, match="'unstored' has no stored parameters"):
        import_pypet(misc_file(version), tmp_path / "new.h5", name="unstored")
    assert not (tmp_path / "new.h5").exists()


def test_choosing_the_trajectory(tmp_path):
    src = misc_file("0.6.1")
    assert list_pypet_trajectories(src) == ["points", "crashed", "unstored"]  # oldest first
    with pytest.raises(PypetFileError, match="no trajectory 'nope'; it holds: points, crashed, unstored"):
        import_pypet(src, tmp_path / "new.h5", name="nope")
    with pytest.raises(PypetFileError, match="'unstored'"):  # the newest is the default
        import_pypet(src, tmp_path / "new.h5")


def test_several_trajectories_into_one_file_and_overwrite(tmp_path):
    dst = tmp_path / "new.h5"
    import_pypet(misc_file("0.7.0"), dst, name="points")
    import_pypet(misc_file("0.7.0"), dst, name="crashed")
    assert sorted(pypetx.store.load.list_trajectories(dst)) == ["crashed", "points"]
    with pytest.raises(PypetFileError, match="already holds trajectory 'points'"):
        import_pypet(misc_file("0.7.0"), dst, name="points")
    import_pypet(misc_file("0.7.0"), dst, name="points", overwrite=True)
    assert pypetx.store.load.list_trajectories(dst) == ["points"]


@pytest.mark.filterwarnings("ignore:The data type")  # zarr 3 on fixed-width strings
def test_import_to_zarr(tmp_path):
    dst = import_pypet(sweep_file("0.6.1"), tmp_path / "new.zarr")
    check_sweep(pypetx.open_results(dst))


def test_not_a_pypet_file(tmp_path):
    with pytest.raises(PypetFileError, match="no file"):
        import_pypet(tmp_path / "missing.h5", tmp_path / "new.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(PypetFileError, match="is not an HDF5 file"):
        import_pypet(tmp_path / "text.h5", tmp_path / "new.h5")


def test_a_pickle_in_an_attribute_is_never_run(tmp_path):
    """Annotations PyTables pickled are loaded only when they cannot run code."""
    import h5py

    class Touch:  # unpickling this creates the marker file
        def __reduce__(self):
            return (Path.touch, (marker,))

    marker = tmp_path / "pwned"
    src = tmp_path / "old.h5"
    shutil.copy(sweep_file("0.7.0"), src)
    with h5py.File(src, "a") as f:
        f["sweep/parameters/x"].attrs["SRVC_AN_evil"] = np.bytes_(pickle.dumps(Touch(), 0))
        f["sweep/parameters/x"].attrs["SRVC_AN_plain"] = np.bytes_(pickle.dumps([1, "a"], 0))
    dst = import_pypet(src, tmp_path / "new.h5")
    annotations = pypetx.load(dst).f_get("parameters.x").annotations
    assert not marker.exists()
    assert annotations["plain"] == [1, "a"] and isinstance(annotations["evil"], str)


# -- the command line ------------------------------------------------------------------------

def test_cli_import_then_show(tmp_path):
    dst = tmp_path / "new.h5"
    result = CliRunner().invoke(cli, ["import-pypet", str(sweep_file("0.6.1")), str(dst)])
    assert result.exit_code == 0, result.output
    assert f"wrote {dst}: trajectory sweep (x: 3, y: 2; 6 of 6 runs completed)" in result.output
    assert "warning:" in result.output and "parameters.model.extra" in result.output
    shown = CliRunner().invoke(cli, ["show", str(dst)])
    assert shown.exit_code == 0, shown.output
    assert "runs: 6 (grid 3 x 2): 6 completed" in shown.output
    assert "z (x, y) float64 shape (3, 2)  # x times y" in shown.output
    assert "written by pypet 0.6.1" in shown.output


def test_cli_names_the_trajectories(tmp_path):
    src, dst = str(misc_file("0.7.0")), str(tmp_path / "new.h5")
    result = CliRunner().invoke(cli, ["import-pypet", src, dst])
    assert result.exit_code == 1
    assert "holds 3 trajectories (points, crashed, unstored); importing 'unstored'" in result.output
    result = CliRunner().invoke(cli, ["import-pypet", src, dst, "--name", "nope"])
    assert result.exit_code == 1
    assert "Error:" in result.output and "it holds: points, crashed, unstored" in result.output
    result = CliRunner().invoke(cli, ["import-pypet", src, dst, "-n", "crashed"])
    assert result.exit_code == 0 and "3 of 4 runs completed" in result.output


def test_cli_without_pytables_says_how_to_install(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tables" else real(name, *a))
    result = CliRunner().invoke(cli, ["import-pypet", str(sweep_file("0.6.1")),
                                      str(tmp_path / "new.h5")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        ("Error: reading pypet files needs PyTables: pip install 'pypetx[tables]' "
         "(or: conda install pytables)")]


# -- pieces ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("columns", "axes"), [
    ({"x": [1, 1, 2, 2], "y": [6, 7, 6, 7]}, (("x",), ("y",))),  # pypet's order
    ({"y": [6, 7, 6, 7], "x": [1, 1, 2, 2]}, (("x",), ("y",))),  # slowest axis first
    ({"x": [1, 2, 1, 2], "y": [6, 6, 7, 7]}, (("y",), ("x",))),
    ({"x": [1, 1, 2, 2], "a": ["p", "p", "q", "q"], "y": [0, 1, 0, 1]}, (("x", "a"), ("y",))),
    ({"x": [1, 2, 3]}, (("x",),)),
    ({"x": [1, 2, 5], "y": [3, 1, 1]}, None),  # zipped points
    ({"x": [1, 1, 2], "y": [6, 7, 6]}, None),  # a grid point is missing
    ({"x": [1, 1, 2, 2], "y": [6, 6, 7, 7]}, None),  # repeated points
])
def test_grid_axes(columns, axes):
    assert grid_axes(columns) == axes


def test_native_types():
    types = {"SRVC_DATA_COLL_TYPE": "COLL_TUPLE", "SRVC_DATA_SCALAR_TYPE": "int"}
    assert native(np.array([1, 2]), types, "SRVC_DATA_") == (1, 2)
    types = {"SRVC_DATA_COLL_TYPE": "COLL_SCALAR", "SRVC_DATA_SCALAR_TYPE": "str"}
    assert native(np.bytes_("µs".encode()), types, "SRVC_DATA_") == "µs"
    types = {"SRVC_DATA_COLL_TYPE": "COLL_NDARRAY", "SRVC_DATA_SCALAR_TYPE": "str"}
    assert native(np.array([b"a", b"b"]), types, "SRVC_DATA_").tolist() == ["a", "b"]
    assert native(np.float32(1.5), {}, "SRVC_DATA_") == 1.5


def test_plain_pickle():
    assert plain_pickle(pickle.dumps({"a": [1, (2.0, None)]}, 0))
    assert not plain_pickle(pickle.dumps(Path("x")))
    assert not plain_pickle(b"x times y.")


# -- against pypet itself ------------------------------------------------------------------------

PYPET_061 = ["pypet==0.6.1", "tables<3.10", "numpy<2", "pandas<2.2"]


def _cache_dir() -> Path:
    root = os.environ.get("PYPETX_TEST_CACHE") or Path.home() / ".cache" / "pypetx-tests"
    return Path(root) / f"pypet-0.6.1-py{sys.version_info.major}{sys.version_info.minor}"


@pytest.fixture(scope="session")
def pypet061_python() -> Path:
    """A Python with pypet 0.6.1 and PyTables: a venv under ~/.cache/pypetx-tests, made
    once (skips when it cannot be installed here, e.g. no network)."""
    where = _cache_dir()
    python = where / "bin" / "python"
    ready = where / ".ready"
    if not ready.exists():
        shutil.rmtree(where, ignore_errors=True)
        try:
            venv.EnvBuilder(with_pip=True).create(where)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "--timeout", "30",
                            "--retries", "2", *PYPET_061],
                           check=True, capture_output=True, text=True, timeout=1200)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            tail = (getattr(exc, "stderr", "") or str(exc)).strip().splitlines()[-3:]
            shutil.rmtree(where, ignore_errors=True)
            pytest.skip(f"cannot install {' '.join(PYPET_061)} here: {' / '.join(tail)}")
        ready.touch()
    return python


@pytest.mark.slow
def test_a_fresh_file_from_pypet_061(pypet061_python, tmp_path):
    """pypet 0.6.1 writes the files again (no trimming) and they import as committed."""
    start = time.perf_counter()
    subprocess.run([str(pypet061_python), str(GENERATOR), str(tmp_path), "--full"],
                   check=True, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    sweep, misc = tmp_path / "pypet-0.6.1-sweep.h5", tmp_path / "pypet-0.6.1-misc.h5"
    dst = import_pypet(sweep, tmp_path / "new.h5", allow_pickle=True)
    check_sweep(pypetx.open_results(dst))
    traj = pypetx.load(dst, allow_pickle=True)
    check_sweep_tree(traj)
    # untrimmed: pypet's environment settings are there too, as config
    assert traj.f_get("config.hdf5.complevel").default == 9
    import_pypet(misc, dst, name="crashed")
    assert pypetx.open_results(dst, "crashed").completed.sum() == 3
    print(f"pypet 0.6.1 files written and imported in {time.perf_counter() - start:.1f} s")
