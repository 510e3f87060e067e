"""``pypetx.save``: store a lazy sweep with pypetx's guarantees.

A lazy sweep computed by Dask (``ds.to_zarr``, ``ds.compute``) keeps its results only
where Dask puts them. :func:`save` runs the same sweep (the function, its arguments and
the frozen trajectory the graph carries) through an :class:`Environment` instead: every
finished batch is journaled (fsync'd) before it counts as done, so a killed save loses no
finished run, and saving again runs only what is missing.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import xarray as xr

from pypetx.env.environment import Environment
from pypetx.env.lazy import sweep_of
from pypetx.store.layout import explored_dims

__all__ = ["save"]


def save(ds: xr.Dataset, path: str | os.PathLike[str], *, cluster: Any = None,
         client: Any = None, executor: Any = None, batch_size: int | str = "auto",
         progress: bool | str = False, resume: bool = True,
         overwrite: bool = False) -> xr.Dataset:
    """Run the lazy sweep behind ``ds`` into ``path`` through the crash-safe journal.

    Parameters
    ----------
    ds : xarray.Dataset
        A Dataset from ``pypetx.sweep(..., lazy=True)`` or ``env.to_dataset(fn)``, with
        its explored dims whole (the whole sweep is stored).
    path : path-like
        HDF5 file, or Zarr directory with a ``.zarr`` suffix.
    cluster, client, executor : optional
        Where the runs go, as for :class:`~pypetx.env.environment.Environment`; default:
        the current distributed client if there is one, else pypetx's default
        (``pypetx.cluster``: the driver for cheap sweeps, a local cluster otherwise).
    batch_size, progress
        As for :class:`~pypetx.env.environment.Environment`.
    resume : bool, default True
        Continue a sweep already (partly) stored in ``path``: only runs without a stored
        result run, so saving again after a crash or a kill finishes the job. The stored
        sweep must be this one (same function and parameters), else it is refused.
    overwrite : bool
        Remove ``path`` first.

    Returns
    -------
    xarray.Dataset
        The stored sweep, reopened lazily (as ``pypetx.open_results`` gives it).

    Raises
    ------
    TypeError
        ``ds`` holds no lazy sweep (or several).
    ValueError
        ``ds`` is a selection of its sweep.
    SweepFailed
        Runs failed and the sweep was built with ``on_error="raise"`` (the completed runs
        are stored).
    """
    import cloudpickle

    blocks = sweep_of(ds)
    spec = cloudpickle.loads(blocks.payload[1])
    traj = spec.skeleton
    dims = explored_dims(traj.exploration)
    cut = {d: ds.sizes[d] for d, n in zip(dims, blocks.shape) if ds.sizes.get(d, n) != n}
    if cut:
        raise ValueError(f"save() stores whole sweeps; this Dataset is a selection of "
                         f"{blocks.name!r} ({cut} of {dict(zip(dims, blocks.shape))}): "
                         "save the Dataset the sweep returned")
    if client is None and cluster is None and executor is None:
        client = _default_client()
    env = Environment(traj, filename=os.fspath(path), cluster=cluster, client=client,
                      executor=executor, batch_size=batch_size, progress=progress,
                      on_error=blocks.on_error, resume=resume and not overwrite,
                      overwrite_file=overwrite, **blocks.options)
    env._run(spec.fn, spec.args, spec.kwargs, plain=spec.plain)
    return env.dataset


def _default_client() -> Any:
    """The distributed client a ``dask.compute`` would use now, if any."""
    if "distributed" not in sys.modules:  # no client without distributed imported
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None
