"""Adaptive sampling of a 2-D function with a sharp ring, next to a grid sweep of the
same cost, each compared with the truth (docs/adaptive.md).

    python examples/adaptive_2d.py            # 900 points each (a 30 x 30 grid)
    python examples/adaptive_2d.py --small    # 196 points each, for the tests

Writes HDF/adaptive_2d.h5 (trajectories ``adaptive`` and ``grid``) and adaptive_2d.png
(``--figure PATH`` elsewhere, e.g. docs/images/adaptive-2d.png).
"""

from __future__ import annotations

import argparse
import os

import adaptive
import numpy as np

import pypetx

#: width of the ring's edge: a grid needs spacing below it to resolve it
WIDTH = 0.02


def ring(x, y):
    """A smooth tilt plus a step across the circle r^2 = 0.5."""
    return float(0.3 * x + np.tanh((x**2 + y**2 - 0.5) / WIDTH))


def truth(n: int = 401):
    """The function on a fine grid, as an xarray DataArray."""
    import xarray as xr

    axis = np.linspace(-1, 1, n)
    x, y = np.meshgrid(axis, axis, indexing="ij")
    return xr.DataArray(0.3 * x + np.tanh((x**2 + y**2 - 0.5) / WIDTH),
                        coords={"x": axis, "y": axis}, dims=("x", "y"), name="ring")


def error(estimate, exact) -> float:
    """Mean absolute error over the square."""
    return float(np.abs(estimate - exact).mean())


def adaptive_error(ds, exact) -> float:
    grid = pypetx.to_grid(ds, "ring", n=exact.sizes["x"])
    return error(grid.ring.values, exact.values)


def grid_error(ds, exact) -> float:
    return error(ds.ring.interp(x=exact.x, y=exact.y).values, exact.values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true",
                        default=bool(os.environ.get("PYPETX_EXAMPLES_SMALL")))
    parser.add_argument("--figure", default="adaptive_2d.png")
    args = parser.parse_args()
    side = 14 if args.small else 30
    n = side * side
    os.makedirs("HDF", exist_ok=True)
    path = "HDF/adaptive_2d.h5"

    learner = adaptive.Learner2D(None, bounds=[(-1, 1), (-1, 1)])
    sampled = pypetx.adaptive(ring, learner, npoints_goal=n, filename=path, name="adaptive",
                              overwrite=True)
    axis = np.linspace(-1, 1, side)
    grid = pypetx.sweep(ring, x=axis, y=axis, filename=path, name="grid", overwrite=True)

    exact = truth()
    e_adaptive, e_grid = adaptive_error(sampled, exact), grid_error(grid, exact)
    print(f"{n} points each: mean abs error adaptive {e_adaptive:.4f}, grid {e_grid:.4f}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(9, 8.4), sharex=True, sharey=True)
    for ax in axes[0]:
        ax.add_patch(plt.Circle((0, 0), np.sqrt(0.5), fill=False, color="0.6", lw=0.8))
    axes[0, 0].scatter(sampled.x, sampled.y, s=3, c="C0")
    axes[0, 0].set_title(f"adaptive: {n} samples (Learner2D)")
    gx, gy = np.meshgrid(axis, axis, indexing="ij")
    axes[0, 1].scatter(gx, gy, s=3, c="C1")
    axes[0, 1].set_title(f"grid: {side} x {side} = {n} points")
    pypetx.to_grid(sampled, "ring", n=201).ring.plot(ax=axes[1, 0], x="x", y="y",
                                                     add_colorbar=False, vmin=-1.3, vmax=1.3)
    axes[1, 0].set_title(f"adaptive, interpolated: error {e_adaptive:.4f}")
    grid.ring.plot(ax=axes[1, 1], x="x", y="y", add_colorbar=False, vmin=-1.3, vmax=1.3)
    axes[1, 1].set_title(f"grid: error {e_grid:.4f}")
    for ax in axes.flat:
        ax.set_aspect("equal")
    fig.suptitle("tanh((x² + y² - 0.5) / 0.02) + 0.3 x: mean absolute error against the truth")
    fig.tight_layout()
    fig.savefig(args.figure, dpi=90)
    print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
