"""
A large result cube read back lazily: one slice, one chunk
==========================================================

Every run computes a 2-d field (a Gaussian blob on a ``ny x nx`` mesh whose centre and
width are the explored parameters). The cube ``field(cx, width, y, x)`` is far larger than
what the analysis needs: reopening it is instant, ``ds.field`` is a dask array, and
selecting one run's field or a profile reads only the chunks involved.

Run ``python examples/lazy_cube.py`` (a 24 x 24 grid of 256 x 256 fields: ~100 MB of
float64 before compression) or ``--small`` (4 x 4 of 32 x 32). Writes
``HDF/lazy_cube.h5`` and ``lazy_cube.png``.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from pypetx import Environment, cartesian_product, open_results


def blob(traj):
    """One run: a Gaussian blob centred at ``(cx, 0)`` with width ``width``."""
    y, x = np.meshgrid(np.linspace(-1, 1, traj.ny), np.linspace(-1, 1, traj.nx), indexing="ij")
    field = np.exp(-((x - traj.cx) ** 2 + y**2) / (2 * traj.width**2))
    traj.f_add_result("field", field.astype(np.float32), dims=("y", "x"),
                      comment="intensity on the mesh")
    traj.f_add_result("total", float(field.sum()), comment="integrated intensity")


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true",
                        default=bool(os.environ.get("PYPETX_EXAMPLES_SMALL")),
                        help="a 4 x 4 grid of 32 x 32 fields (what the test suite runs)")
    parser.add_argument("--filename", default="HDF/lazy_cube.h5")
    parser.add_argument("--figure", default="lazy_cube.png")
    args = parser.parse_args(argv)
    n, mesh = (4, 32) if args.small else (24, 256)

    env = Environment(trajectory="blobs", filename=args.filename, overwrite_file=True)
    traj = env.trajectory
    traj.f_add_parameter("nx", mesh, comment="mesh points along x")
    traj.f_add_parameter("ny", mesh, comment="mesh points along y")
    traj.f_add_parameter("cx", 0.0, comment="centre of the blob")
    traj.f_add_parameter("width", 0.1, comment="width of the blob")
    traj.f_explore(cartesian_product({"cx": np.linspace(-0.5, 0.5, n).round(4).tolist(),
                                      "width": np.linspace(0.05, 0.5, n).round(4).tolist()}))
    env.run(blob)

    # A new session: reopen the file. Nothing is read but metadata.
    ds = open_results(args.filename, "blobs")
    field = ds.field
    print(f"cube: {dict(field.sizes)}, {field.nbytes / 1e6:.1f} MB as float32, "
          f"{field.data.npartitions} chunks of {field.data.chunksize}")
    one = field.sel(cx=0.5, width=0.2, method="nearest")
    chunk_mb = np.prod(field.data.chunksize) * field.dtype.itemsize / 1e6
    print(f"one run's field: {one.nbytes / 1e6:.3f} MB, read from "
          f"{one.data.npartitions} chunk of {chunk_mb:.2g} MB")
    # y and x are plain dimensions of the result (no coordinates): index them by position
    profile = field.sel(width=0.2, method="nearest").isel(y=mesh // 2)
    print(f"profiles through the centre for every cx: {dict(profile.sizes)}")
    # an xarray reduction over the whole cube stays lazy until .compute()
    mean_total = ds.total.mean("width").compute()
    print("mean integrated intensity per cx:", np.round(mean_total.values, 1).tolist())

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    one.plot(ax=left, cmap="viridis")  # reads just this slice
    left.set_title(f"field at cx={float(one.cx):g}, width={float(one.width):g}")
    profile.plot.line(ax=right, x="x", hue="cx", add_legend=False)
    right.set_title("profiles through y = 0, one per cx")
    fig.tight_layout()
    fig.savefig(args.figure, dpi=110)
    ds.close()
    print(f"wrote {os.path.abspath(args.filename)} and {args.figure}")
    return args.filename


if __name__ == "__main__":
    main()
