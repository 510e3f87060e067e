"""Scattered samples (a run layout) interpolated onto a regular grid, as a Dataset.

An adaptive sweep is a ``run`` dimension with the parameters as coordinates: right for
storage, awkward for ``.plot()`` and ``.sel()``. :func:`to_grid` gives the grid view: one
dimension per parameter, each result interpolated linearly on the Delaunay triangulation
of the completed samples (in the unit box, as ``Learner2D`` triangulates), ``NaN`` outside
their hull.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pypetx.env.adaptive.driver import result_names

#: Coordinates along ``run`` that are not parameters.
_NOT_PARAMETERS = {"run", "run_name"}


def sample_dims(ds: Any) -> list[str]:
    """The parameter coordinates of a run layout (in stored order)."""
    return [str(c) for c in ds.coords
            if str(c) not in _NOT_PARAMETERS and ds[c].dims == ("run",)]


def to_grid(ds: Any, var: str | Sequence[str] | None = None, *,
            dims: Sequence[str] | None = None, n: int | Mapping[str, int] = 101,
            method: str = "linear") -> Any:
    """Interpolate the results of an adaptive sweep onto a regular grid.

    Parameters
    ----------
    ds : xarray.Dataset
        A sweep with a ``run`` dimension and the parameters as coordinates (what
        :func:`pypetx.adaptive` and :func:`pypetx.optimize` return).
    var : str or sequence of str, optional
        Result variables to interpolate; default every numeric result along ``run``.
    dims : sequence of str, optional
        The coordinates that span the grid; default every parameter coordinate.
    n : int or mapping
        Grid points per dimension (a mapping: per dimension name).
    method : {"linear", "nearest"}
        Linear on the Delaunay triangulation (``NaN`` outside the samples' hull), or the
        nearest sample's value.

    Returns
    -------
    xarray.Dataset
        One dimension per ``dims`` (from the smallest to the largest sample), the
        interpolated variables, and ``samples``: the completed samples used (attribute).

    Examples
    --------
    >>> grid = pypetx.to_grid(ds, "z", n=200)   # doctest: +SKIP
    >>> grid.z.plot(x="x", y="y")               # doctest: +SKIP
    """
    import xarray as xr

    if "run" not in ds.dims:
        raise ValueError("to_grid needs a run layout (a 'run' dimension with the parameters "
                         "as coordinates); this Dataset is a grid already")
    dims = list(dims) if dims is not None else sample_dims(ds)
    if not dims:
        raise ValueError("to_grid: the Dataset has no parameter coordinates along 'run'")
    if method not in ("linear", "nearest"):
        raise ValueError(f"method must be 'linear' or 'nearest', not {method!r}")
    names = [var] if isinstance(var, str) else list(var) if var is not None else [
        v for v in result_names(ds, dims)
        if ds[v].dims == ("run",) and ds[v].dtype.kind in "iuf"]
    if not names:
        raise ValueError("to_grid: no numeric result variable along 'run' to interpolate")
    ok = np.asarray(ds["completed"].values, dtype=bool) if "completed" in ds else \
        np.ones(ds.sizes["run"], dtype=bool)
    points = np.column_stack([np.asarray(ds[d].values, dtype=float)[ok] for d in dims])
    if len(points) == 0:
        raise ValueError("to_grid: no completed samples")
    sizes = {d: int(n[d]) if isinstance(n, Mapping) else int(n) for d in dims}
    axes = [np.linspace(points[:, k].min(), points[:, k].max(), sizes[d])
            for k, d in enumerate(dims)]
    mesh = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=-1)
    values = {v: np.asarray(ds[v].values, dtype=float)[ok] for v in names}
    out = {v: (dims, _interpolate(points, values[v], mesh, method).reshape(
        [sizes[d] for d in dims])) for v in names}
    grid = xr.Dataset(out, coords={d: (d, a) for d, a in zip(dims, axes)},
                      attrs={"name": ds.attrs.get("name", ""), "samples": int(len(points)),
                             "interpolation": method})
    for v in names:
        grid[v].attrs.update({k: a for k, a in ds[v].attrs.items() if k in ("units", "comment")})
    for d in dims:
        grid[d].attrs.update({k: a for k, a in ds[d].attrs.items() if k == "units"})
    return grid


def _interpolate(points: np.ndarray, values: np.ndarray, mesh: np.ndarray,
                 method: str) -> np.ndarray:
    good = np.isfinite(values)
    points, values = points[good], values[good]
    if points.shape[1] == 1:
        order = np.argsort(points[:, 0])
        x, y = points[order, 0], values[order]
        if method == "nearest":
            k = np.clip(np.searchsorted(x, mesh[:, 0]), 1, len(x) - 1) if len(x) > 1 else \
                np.zeros(len(mesh), dtype=int)
            if len(x) > 1:
                k -= (mesh[:, 0] - x[k - 1]) < (x[k] - mesh[:, 0])
            return y[k]
        return np.interp(mesh[:, 0], x, y)
    from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

    # The unit box: a triangulation of raw coordinates with very different scales is
    # all slivers (Learner2D scales the same way).
    low, span = points.min(axis=0), np.ptp(points, axis=0)
    span[span == 0] = 1.0
    scaled, at = (points - low) / span, (mesh - low) / span
    cls = LinearNDInterpolator if method == "linear" else NearestNDInterpolator
    return cls(scaled, values)(at)


__all__ = ["sample_dims", "to_grid"]
