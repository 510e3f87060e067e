"""The backend registry: which backend a path gets, and reading a file through one handle."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import pypetx
from pypetx import Environment, cartesian_product
from pypetx.base.errors import StorageError
from pypetx.store import BACKENDS, StorageBackend, backend_for, backend_of, open_store, reading
from pypetx.store.hdf5 import HDF5Backend, HDF5Store
from pypetx.store.zarr import ZarrBackend, ZarrStore


def test_backends_by_name_and_by_path(tmp_path):
    assert list(BACKENDS) == ["zarr", "hdf5"]
    assert isinstance(backend_for(tmp_path / "r.zarr"), ZarrBackend)
    assert isinstance(backend_for(tmp_path / "r.zarr/"), ZarrBackend)
    for name in ("r.h5", "r.nc", "results", "r.dat"):  # HDF5: the default for new names
        assert isinstance(backend_for(tmp_path / name), HDF5Backend)
    assert isinstance(backend_for(tmp_path / "r.h5", "zarr"), ZarrBackend)
    with pytest.raises(StorageError, match="unknown storage 'tape'"):
        backend_for(tmp_path / "r.h5", "tape")
    assert isinstance(open_store(tmp_path / "r.h5", "t"), HDF5Store)
    assert isinstance(open_store(tmp_path / "r.h5", "t", storage="zarr"), ZarrStore)


def test_existing_files_are_recognised_by_content(tmp_path):
    with h5py.File(tmp_path / "data.zarr.bak", "w"):
        pass
    assert isinstance(backend_of(tmp_path / "data.zarr.bak"), HDF5Backend)
    store = tmp_path / "plain_dir"  # a Zarr store without the suffix
    store.mkdir()
    (store / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group"}')
    assert isinstance(backend_of(store), ZarrBackend)
    (tmp_path / "notes.h5").write_text("hello")
    with pytest.raises(StorageError, match="notes.h5 is not an HDF5 file"):
        backend_of(tmp_path / "notes.h5")
    with pytest.raises(StorageError, match="no results file at"):
        backend_of(tmp_path / "missing.h5")


def test_a_registered_backend_is_asked_first_in_its_turn(tmp_path, monkeypatch):
    class Tape(StorageBackend):
        name = "tape"

        def guess_can_open(self, path):
            return str(path).endswith(".tape")

    monkeypatch.setitem(BACKENDS, "tape", Tape)
    assert isinstance(backend_for(tmp_path / "x.tape"), Tape)
    assert isinstance(backend_for(tmp_path / "x.h5"), HDF5Backend)


@pytest.fixture
def six_runs(tmp_path):
    path = tmp_path / "six.h5"
    env = Environment(trajectory="six", filename=str(path), cluster="synchronous",
                      progress=False)
    env.traj.f_add_parameter("x", 1.0)
    env.traj.f_add_parameter("y", 1)
    env.traj.f_add_result("note", "stored with the tree")
    env.traj.f_explore(cartesian_product({"x": [1.0, 2.0, 3.0], "y": [1, 2]}))
    env.run(lambda traj: traj.f_add_result("z", traj.x * traj.y))
    return path


class FileCounter:
    """Counts ``h5py.File`` objects built (opening a file, and the wrappers h5py builds)."""

    def __init__(self, monkeypatch):
        self.n = 0
        init = h5py.File.__init__

        def counting(f, *args, **kwargs):
            self.n += 1
            return init(f, *args, **kwargs)

        monkeypatch.setattr(h5py.File, "__init__", counting)


def test_loading_a_file_opens_it_a_handful_of_times(six_runs, monkeypatch):
    counter = FileCounter(monkeypatch)
    traj = pypetx.load(six_runs)
    z = traj.dataset.z.values
    # one handle for names, attributes, tree and exploration; one the lazy cube keeps
    assert counter.n <= 2, counter.n
    assert z.tolist() == [[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]]
    assert traj.exploration.n_runs == 6 and traj.results.note == "stored with the tree"
    traj.dataset.close()

    counter.n = 0
    with pypetx.open_results(six_runs) as ds:
        assert float(ds.z.sel(x=3.0, y=2)) == 6.0
    assert counter.n <= 2, counter.n


def test_reading_blocks_share_one_handle(six_runs, monkeypatch):
    from pypetx.store.load import check_group, list_trajectories, read_tree, stored_exploration

    counter = FileCounter(monkeypatch)
    with reading(six_runs) as f:
        assert list_trajectories(six_runs) == ["six"] == f.trajectories()
        assert check_group(six_runs, None) == "six"
        records, _ = read_tree(six_runs)
        assert stored_exploration(six_runs)["names"] == ["parameters.x", "parameters.y"]
    assert counter.n == 1
    assert any(r["path"] == "results.note" for r in records)
    with pytest.raises(StorageError, match="no trajectory 'other'; available: six"):
        check_group(six_runs, "other")


def test_zarr_files_read_the_same(tmp_path):
    path = tmp_path / "r.zarr"
    env = Environment(trajectory="t", filename=str(path), cluster="synchronous", progress=False)
    env.traj.f_add_parameter("x", 1.0)
    env.traj.f_explore(cartesian_product({"x": [1.0, 2.0]}))
    env.run(lambda traj: traj.f_add_result("z", np.arange(3) * traj.x))
    traj = pypetx.load(path)
    assert traj.dataset.z.values.tolist() == [[0.0, 1.0, 2.0], [0.0, 2.0, 4.0]]
    with reading(path) as f:
        assert f.trajectories() == ["t"] and "pypetx_records" in f.tree("t").attrs
