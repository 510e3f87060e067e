"""write_groups: the file to_netcdf would write, without dask for in-memory data."""

from __future__ import annotations

import dask.array as da
import h5py
import numpy as np
import pytest
import xarray as xr

from pypetx.store.h5write import write_groups
from pypetx.store.layout import VLEN_STR


def cube() -> xr.Dataset:
    rng = np.random.default_rng(0)
    return xr.Dataset(
        {"z": (("x", "y"), np.multiply.outer(np.arange(7.0), np.arange(9.0))),
         "noise": (("x", "y", "k"), rng.random((7, 9, 5))),
         "ok": (("x", "y"), rng.random((7, 9)) > 0.3),
         "code": (("x", "y"), rng.integers(-3, 3, (7, 9)).astype(np.int32)),
         "msg": ("f", np.array(["a", "bb"], dtype=object).astype(VLEN_STR))},
        coords={"x": np.arange(7) * 0.5, "y": np.arange(9), "f": [3, 8]},
        attrs={"comment": "hello", "n": 3})


ENCODING = {name: {"zlib": True, "complevel": 1, "shuffle": name != "code", "chunksizes": chunks}
            for name, chunks in {"z": (3, 4), "noise": (2, 9, 5), "ok": (7, 9),
                                 "code": (4, 4)}.items()}


def _same_files(a, b, group):
    with xr.open_dataset(a, engine="h5netcdf", group=group) as x, \
            xr.open_dataset(b, engine="h5netcdf", group=group) as y:
        xr.testing.assert_identical(x.load(), y.load())
        for name in x.variables:
            for key in ("chunksizes", "zlib", "complevel", "shuffle", "dtype", "_FillValue"):
                assert x[name].encoding.get(key) == y[name].encoding.get(key) or (
                    np.isnan(x[name].encoding[key]) and np.isnan(y[name].encoding[key]))


@pytest.mark.parametrize("lazy", [False, True])
def test_same_file_as_to_netcdf(tmp_path, lazy):
    ds = cube()
    if lazy:
        ds = ds.chunk({"x": 3})
    ref, ours = tmp_path / "ref.h5", tmp_path / "ours.h5"
    ds.to_netcdf(ref, engine="h5netcdf", group="g", encoding=ENCODING)
    write_groups(ours, {"g": (ds, ENCODING), "g/sub": (xr.Dataset({"v": ("a", [1, 2])}), {})},
                 root_attrs={"version": 3})
    _same_files(ref, ours, "g")
    with h5py.File(ours, "r") as f, h5py.File(ref, "r") as r:
        assert f.attrs["version"] == 3 and f["g/sub/v"][()].tolist() == [1, 2]
        for name in ENCODING:  # chunks compressed in threads: what HDF5's filters produce
            assert f[f"g/{name}"].id.get_storage_size() == r[f"g/{name}"].id.get_storage_size()


def test_appends_to_a_file_with_other_groups(tmp_path):
    path = tmp_path / "r.h5"
    write_groups(path, {"a": (cube(), {})})
    write_groups(path, {"b": (cube().isel(x=slice(0, 4)), {"z": ENCODING["z"]})})
    with xr.open_dataset(path, engine="h5netcdf", group="a") as a:
        assert a.sizes["x"] == 7
    with xr.open_dataset(path, engine="h5netcdf", group="b") as b:
        assert b.sizes["x"] == 4 and b.z.encoding["zlib"]


def test_direct_writers_replace_the_data(tmp_path):
    path = tmp_path / "r.h5"
    ds = cube()
    ds["big"] = (("x", "y"), da.zeros((7, 9), chunks=3))  # never computed

    def write_big(target):
        target[(slice(0, 7), slice(0, 9))] = np.full((7, 9), 5.0)
        return True

    write_groups(path, {"g": (ds, {})},
                 direct={"g": {"big": write_big, "z": lambda target: False}})
    with xr.open_dataset(path, engine="h5netcdf", group="g") as out:
        assert (out.big.values == 5.0).all()
        np.testing.assert_array_equal(out.z.values, ds.z.values)  # False: written as usual
