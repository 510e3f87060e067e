"""Read ragged results (CF contiguous ragged arrays) back as one array per run.

A ragged result ``spikes`` is stored as ``spikes`` along ``spikes_obs`` (the values of all
runs, cells in C order) and ``spikes_count`` over the explored dims (its
``sample_dimension`` attribute names ``spikes_obs``); n-d values also keep their shapes in
``spikes_shape``. Pickled results use the same layout with bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from pypetx.base.errors import PickleNotAllowedError, StorageError

__all__ = ["get_ragged", "get_ragged_at"]


def _check(ds: xr.Dataset, name: str) -> xr.DataArray:
    count = f"{name}_count"
    if name not in ds or count not in ds:
        ragged = sorted(v[: -len("_count")] for v in ds.data_vars if v.endswith("_count"))
        raise StorageError(f"{name!r} is not a ragged result of this dataset; "
                           f"ragged results: {', '.join(ragged) or 'none'}")
    return ds[count]


def _values(ds: xr.Dataset, name: str, cells: np.ndarray, allow_pickle: bool) -> list[Any]:
    """Per-cell values of the ragged result ``name`` for C-order cell numbers ``cells``."""
    counts = np.asarray(ds[f"{name}_count"].values).ravel()
    off = np.concatenate([[0], np.cumsum(counts)])
    if len(cells) == 0:
        return []
    lo, hi = int(off[cells].min()), int(off[cells + 1].max())
    flat = np.asarray(ds[name].isel({ds[name].dims[0]: slice(lo, hi)}).values)  # one read
    pickled = ds[name].attrs.get("pypetx_kind") == "pickle"
    if pickled and not allow_pickle:
        raise PickleNotAllowedError(
            f"result {name} is stored pickled; loading it can run code: pass "
            "allow_pickle=True if you trust this file")
    shapes = None
    if f"{name}_shape" in ds:
        shp = ds[f"{name}_shape"].values
        shapes = shp.reshape(-1, shp.shape[-1])
    out = []
    for c in cells:
        v = flat[off[c] - lo : off[c + 1] - lo]
        if pickled:
            import pickle

            out.append(pickle.loads(v.tobytes()) if len(v) else None)
        elif shapes is not None and len(v):
            out.append(v.reshape(tuple(int(s) for s in shapes[c])))
        else:
            out.append(v)
    return out


def _select(ds: xr.Dataset, name: str, method: str, indexers: dict[str, Any],
            allow_pickle: bool) -> Any:
    count = _check(ds, name)
    cell = xr.DataArray(np.arange(count.size).reshape(count.shape), dims=count.dims,
                        coords=count.coords)
    picked = getattr(cell, method)(indexers)
    cells = np.asarray(picked.values)
    vals = _values(ds, name, cells.ravel(), allow_pickle)
    if cells.ndim == 0:
        return vals[0]
    out = np.empty(len(vals), dtype=object)
    out[:] = vals
    return out.reshape(cells.shape)


def get_ragged(ds: xr.Dataset, name: str, *, allow_pickle: bool = False, **sel: Any) -> Any:
    """Values of a ragged result selected by label (like ``Dataset.sel``).

    Parameters
    ----------
    ds : xarray.Dataset
        A pypetx result cube (lazy is fine: only the needed range of values is read).
    name : str
        The ragged result (e.g. ``"spikes"``).
    allow_pickle : bool, default False
        Needed for results stored pickled (objects): unpickling can run code.
    **sel
        Labels along the explored dims, e.g. ``x=1, y=0.5``.

    Returns
    -------
    numpy.ndarray or object
        The run's array when ``sel`` picks one run; else an object array (shaped like the
        selection) holding one array per run.
    """
    return _select(ds, name, "sel", sel, allow_pickle)


def get_ragged_at(ds: xr.Dataset, name: str, *, allow_pickle: bool = False, **isel: Any) -> Any:
    """Like :func:`get_ragged` with positional indices (``Dataset.isel``), e.g. ``run=3``."""
    return _select(ds, name, "isel", isel, allow_pickle)
