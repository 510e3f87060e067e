"""Finalize + reopen of a 10^6-run cube from its journal (store only, no engine).

20 batches of 50,000 scalar runs on a 1000 x 1000 grid, 10 failed runs with a
~400-character traceback each, 4 workers. Prints journal write, ``finalize`` (which
consolidates and reopens) and a plain ``xr.open_dataset(..., chunks={})`` time.

    .venv/bin/python benchmarks/bench_finalize_status.py [hdf5|zarr] [--dir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import dask.array  # noqa: F401 - warm imports: a sweep's driver has them loaded
import distributed  # noqa: F401
import h5netcdf  # noqa: F401
import numpy as np
import xarray as xr

from pypetx.core.explore import Exploration, cartesian_product
from pypetx.store import open_store
from pypetx.store.testing import make_batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("storage", nargs="?", default="hdf5", choices=["hdf5", "zarr"])
    ap.add_argument("--dir", default=None, help="where to write (default: a temp dir)")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(dir=args.dir))
    path = root / ("r.zarr" if args.storage == "zarr" else "r.h5")
    p = cartesian_product({"parameters.x": list(range(1000)),
                           "parameters.y": [0.5 * j for j in range(1000)]})
    e = Exploration(p, p.axes)
    size = 50_000
    st = open_store(path, "t", storage=args.storage)
    st.open(e, [], {}, resume=False)
    t0 = time.perf_counter()
    for b in range(20):
        idx = np.arange(b * size, (b + 1) * size)
        failed = [b * size + 123, b * size + 4567] if b % 4 == 0 else []
        batch = make_batch(idx, {"z": idx * 0.5}, failed=failed,
                           worker=f"tcp://10.0.0.{b % 4}:4000{b % 3}")
        for i in idx[np.isin(idx, failed)]:
            at = int(i - b * size)
            batch.traceback[at] = ("Traceback (most recent call last):\n" + "  File x\n" * 40
                                   + f"ValueError: run {i}")
        st.write_batch(batch)
    t_journal = time.perf_counter() - t0
    jbytes = sum(f.stat().st_size for f in st.journal_dir.glob("*.npz"))
    t0 = time.perf_counter()
    st.finalize().close()
    t_finalize = time.perf_counter() - t0
    st.close()
    t0 = time.perf_counter()
    if args.storage == "zarr":
        ds = xr.open_zarr(str(path), group="t")
    else:
        ds = xr.open_dataset(path, engine="h5netcdf", group="t", chunks={})
    t_open = time.perf_counter() - t0
    ds.close()
    nbytes = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    print(f"{args.storage}: journal write {t_journal:.2f} s ({jbytes / 1e6:.0f} MB), "
          f"finalize {t_finalize:.3f} s, reopen {t_open:.3f} s, file {nbytes / 1e6:.1f} MB")
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
