"""Lazy sweeps: a trajectory's points as a Dask graph behind an xarray Dataset.

``sweep(fn, x=..., lazy=True)`` and ``Environment.to_dataset(fn)`` build, without running
anything but (at most) one probe point, a Dataset whose result and status variables are
dask arrays. Each block of the explored grid is one task that runs its points through the
engine's ``run_batch`` and returns every variable of the block (:mod:`pypetx.env.blocks`);
each variable is one ``getitem`` per block on it, as ``xarray.map_blocks`` builds its graph.
Dask decides what to run: a selection computes only the blocks it touches, and the graph
composes with the user's own on any scheduler.

What the points return (names, dtypes, own dims) is learned from the probe, run 0 run in
the driver, or from an explicit ``template``; ``pypetx.save`` stores a lazy sweep through
the crash-safe journal.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import operator
import sys
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from pypetx.base.errors import SweepFailed
from pypetx.core.values import fill_value
from pypetx.engine.batching import BatchingOptions, auto_batch_size
from pypetx.engine.task import RunSpec, pack_spec, run_batch
from pypetx.env.blocks import STATUS, VLEN_STR, Output, SweepBlocks, TemplateError, run_block
from pypetx.store.layout import (
    ResultInfo,
    chunk_shape,
    explored_coords,
    explored_dims,
    result_dims,
)

__all__ = ["SWEEP_LAYER", "TemplateError", "lazy_dataset", "sweep_of"]

#: Name prefix of the graph layer holding a lazy sweep's :class:`SweepBlocks`.
SWEEP_LAYER = "pypetx-sweep-"


def lazy_dataset(env: Any, fn: Callable, args: tuple = (), kwargs: Mapping[str, Any] | None = None,
                 *, plain: bool = False, chunks: Any = None, template: Any = None) -> xr.Dataset:
    """The sweep of ``env``'s trajectory as a lazy Dataset (nothing runs but the probe).

    Parameters
    ----------
    env : Environment
        Its trajectory (explored), ``batch_size``, ``on_error`` and storage settings are used.
    fn : callable
        ``fn(traj, *args, **kwargs)``, or with ``plain`` ``fn(**point, **kwargs)``.
    plain : bool
        Call ``fn`` with the explored values as keywords (``sweep``).
    chunks : int, tuple, dict or "auto", optional
        Block sizes along the explored dims, in xarray's spelling (``{"x": 10}``; dims
        left out are one block). Default: the auto batching's runs per task.
    template : optional
        What one point returns, so that nothing runs before compute: an
        :class:`xarray.Dataset` of one point's outputs (their own dims kept), a dict of
        name -> value, or a single value (named as the sweep would name it).

    Returns
    -------
    xarray.Dataset
        Dask-backed ``completed``, ``failed``, ``duration``, ``worker``, ``error``,
        ``traceback`` and one variable per result, over the explored dims.
    """
    traj = env.trajectory
    if env._postprocessing:
        raise ValueError("post-processing hooks need the results of the runs: a lazy sweep "
                         "has none before compute; use env.run(fn)")
    if traj.exploration is None:
        raise ValueError(f"trajectory {traj.name!r} explores nothing: explore it first "
                         "(env.run runs an unexplored trajectory once)")
    for hook, a, kw in env._pre_run:
        hook(traj, *a, **kw)
    exploration = traj.exploration
    traj.lock_parameters()
    traj.lock_derived_parameters()
    spec = RunSpec(token=uuid.uuid4().hex, skeleton=traj, fn=fn, args=tuple(args),
                   kwargs=dict(kwargs or {}), plain=plain)
    payload = _pack(traj, spec)
    if template is None:
        probe = run_batch(payload, np.zeros(1, np.int64))
        if probe.failed[0]:
            raise SweepFailed(
                f"the lazy sweep {traj.name!r} learns its outputs from run 0, which failed "
                f"with {probe.error[0]}; fix it, or pass template= (what one point returns) "
                f"to build the graph without running anything\n{probe.traceback[0]}",
                failed=[0])
        origin, seconds = "run 0", float(probe.duration[0])
    else:
        given = RunSpec(token=uuid.uuid4().hex, skeleton=traj, fn=_giving(fn, template),
                        plain=True)
        probe = run_batch(given, np.zeros(1, np.int64))
        origin, seconds = "the template", None
    outputs, metas = _outputs(probe, origin)
    dims = explored_dims(exploration)
    shape = tuple(int(s) for s in exploration.shape)
    blocks = SweepBlocks(
        payload=payload, name=traj.name, shape=shape, outputs=outputs,
        on_error=env.on_error, origin=origin, run_of_cell=_run_of_cell(exploration),
        labels=_labels(exploration, dims),
        options={"storage": env.storage, "complevel": env.complevel,
                 "record_packages": env.record_packages, "store_function": env.store_function,
                 "git_repository": env.git_repository, "retries": env.retries})
    run_bytes = sum(math.prod(o.shape) * o.dtype.itemsize for o in outputs)
    size = _runs_per_block(env.batch_size, seconds, run_bytes, exploration.n_runs)
    normal = _normalize_chunks(chunks, dims, shape, size)
    return _dataset(blocks, spec.token, dims, normal, metas, exploration, traj)


def sweep_of(ds: xr.Dataset) -> SweepBlocks:
    """The lazy sweep a Dataset was built from (found in its variables' graphs).

    Raises
    ------
    TypeError
        ``ds`` holds no lazy sweep, or several.
    """
    import dask

    found: dict[str, SweepBlocks] = {}
    for var in ds.variables.values():
        if not dask.is_dask_collection(var.data):
            continue
        for name, layer in var.data.__dask_graph__().layers.items():
            if name.startswith(SWEEP_LAYER) and name not in found:
                found[name] = _literal(layer[name])
    if len(found) != 1:
        what = "no lazy sweep" if not found else f"{len(found)} lazy sweeps"
        raise TypeError(f"this Dataset holds {what}: expected the Dataset of one "
                        "sweep(..., lazy=True) or env.to_dataset(fn)")
    return next(iter(found.values()))


def _literal(value: Any) -> Any:
    """The value a graph holds (dask may hold a literal as a task-spec ``DataNode``)."""
    return value if isinstance(value, SweepBlocks) else getattr(value, "value", value)


def _pack(traj: Any, spec: RunSpec) -> tuple[str, bytes]:
    # a trajectory that ran holds its results Dataset (open files): workers need none of it
    dataset, traj._dataset = traj._dataset, None
    try:
        return pack_spec(spec)
    finally:
        traj._dataset = dataset


def _giving(fn: Callable, template: Any) -> Callable:
    """A function returning the template, named as ``fn`` (a single value is named after
    the function, exactly as the real runs' values are)."""
    if isinstance(template, xr.Dataset):
        template = {str(k): v for k, v in template.data_vars.items()}

    @functools.wraps(fn)
    def give(*args: Any, **kwargs: Any) -> Any:
        return template

    return give


def _outputs(batch: Any, origin: str) -> tuple[tuple[Output, ...], dict[str, Any]]:
    """The result variables of a one-run batch (the probe, or the template's), and their
    :class:`~pypetx.core.batch.ResultMeta` (units, comment, own dims) by name."""
    outputs = []
    for name, values in batch.results.items():
        if not batch.present[name][0]:
            continue
        if name in STATUS:
            raise TemplateError(f"result {name!r} of {origin} has the name of a status "
                                f"variable ({sorted(STATUS)}): rename it")
        if isinstance(values, np.ndarray):
            dtype, shape = values.dtype, values.shape[1:]
        elif isinstance(values[0], str):
            dtype, shape = VLEN_STR, ()
        else:
            value = values[0]
            if hasattr(value, "dims") and hasattr(value, "values"):  # an xarray.DataArray
                value = value.values
            numeric = isinstance(value, (np.ndarray, np.generic, bool, int, float, complex))
            arr = np.asarray(value) if numeric else None
            if arr is None or arr.dtype.kind not in "biufcmM":
                raise TemplateError(
                    f"result {name!r} of {origin} is a {type(values[0]).__name__}: a lazy "
                    "sweep holds numbers, booleans, strings and fixed-shape arrays of them; "
                    "run this sweep eagerly (without lazy=True)")
            dtype, shape = arr.dtype, arr.shape
        dtype = np.dtype(dtype)
        if dtype.kind in "UST":  # strings of any length: a fixed width would truncate
            dtype = VLEN_STR
        fill = "" if dtype == VLEN_STR else fill_value(dtype)  # (StringDType: kind "T")
        outputs.append(Output(name, dtype, tuple(int(s) for s in shape), fill))
    return tuple(outputs), {o.name: batch.result_meta.get(o.name) for o in outputs}


def _run_of_cell(exploration: Any) -> np.ndarray | None:
    if exploration.axes is None or exploration.is_c_order:
        return None
    out = np.full(math.prod(exploration.shape), -1, np.int64)
    out[exploration.cells()] = np.arange(exploration.n_runs)
    return out


def _labels(exploration: Any, dims: tuple[str, ...]) -> dict[str, list]:
    if exploration.axes is None:
        return {}
    return {dim: exploration.axis_values(k)[axis[0]]
            for k, (dim, axis) in enumerate(zip(dims, exploration.axes))}


def _n_workers() -> int:
    """Tasks that can run at once where the graph will likely run: the default
    distributed client's threads, else this machine's cores."""
    if "distributed" in sys.modules:  # never import distributed only to ask
        from distributed import default_client

        try:
            return max(1, sum(default_client().nthreads().values()))
        except ValueError:  # no client
            pass
    from dask.system import CPU_COUNT

    return max(1, int(CPU_COUNT))


def _runs_per_block(batch_size: Any, seconds: float | None, run_bytes: int, n_runs: int) -> int:
    """Runs per block, as the auto batching sizes a task from the probe's time."""
    if not isinstance(batch_size, str):
        return max(1, int(batch_size))
    options = BatchingOptions.from_config()
    workers = _n_workers()
    if seconds is None:  # a template: nothing measured, keep every worker busy
        size = min(math.ceil(n_runs / (workers * options.min_tasks_per_worker)),
                   options.max_batch)
    else:
        size = auto_batch_size(seconds, n_runs, workers, options)
    if run_bytes:
        size = min(size, options.max_batch_bytes // run_bytes)
    return max(1, size)


def _normalize_chunks(chunks: Any, dims: tuple[str, ...], shape: tuple[int, ...],
                      size: int) -> tuple[tuple[int, ...], ...]:
    from dask.array.core import normalize_chunks

    if chunks is None or (isinstance(chunks, str) and chunks == "auto"):
        chunks = chunk_shape(shape, size)
    elif isinstance(chunks, Mapping):
        unknown = sorted(set(chunks) - set(dims))
        if unknown:
            raise ValueError(f"chunks= names {unknown}, which are not explored dims {list(dims)}")
        chunks = tuple(chunks.get(d, -1) for d in dims)
    return normalize_chunks(chunks, shape, dtype=np.float64)


def _dataset(blocks: SweepBlocks, token: str, dims: tuple[str, ...],
             chunks: tuple[tuple[int, ...], ...], metas: Mapping[str, Any], exploration: Any,
             traj: Any) -> xr.Dataset:
    """The Dataset over the graph: a layer holding the shared sweep, one with a task per
    block, and one ``getitem`` layer per variable."""
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    sweep_key = f"{SWEEP_LAYER}{token}"
    block_name = f"pypetx-block-{token}"
    starts = [np.cumsum((0,) + c[:-1]).tolist() for c in chunks]
    ids = list(itertools.product(*(range(len(c)) for c in chunks)))
    layers: dict[str, Mapping] = {sweep_key: {sweep_key: blocks}, block_name: {
        (block_name, *idx): (run_block, sweep_key, tuple(
            (starts[d][i], starts[d][i] + chunks[d][i]) for d, i in enumerate(idx)))
        for idx in ids}}
    deps: dict[str, set[str]] = {sweep_key: set(), block_name: {sweep_key}}
    own = {name: () for name in STATUS} | {o.name: o.shape for o in blocks.outputs}
    for name, shape in own.items():
        layer = f"{name}-{token}"
        trailing = (0,) * len(shape)  # a result's own dims are one chunk
        layers[layer] = {(layer, *idx, *trailing): (operator.getitem, (block_name, *idx), name)
                         for idx in ids}
        deps[layer] = {block_name}
    graph = HighLevelGraph(layers, deps)

    def array(name: str, dtype: np.dtype, shape: tuple[int, ...]) -> Any:
        ndim = len(chunks) + len(shape)
        return da.Array(graph, f"{name}-{token}", chunks + tuple((s,) for s in shape),
                        dtype=dtype, meta=np.empty((0,) * ndim, dtype))

    variables = {name: xr.Variable(dims, array(name, dtype, ()), _STATUS_ATTRS.get(name, {}))
                 for name, dtype in STATUS.items()}
    for o in blocks.outputs:
        meta = metas.get(o.name)
        info = ResultInfo(o.name, "fixed", o.dtype, o.shape, len(o.shape),
                          {"dims": getattr(meta, "dims", None)})
        attrs = {k: str(v) for k in ("units", "comment") if (v := getattr(meta, k, None))}
        var = xr.Variable(dims + result_dims(info), array(o.name, o.dtype, o.shape), attrs)
        if o.dtype.kind in "iu":
            var.encoding["_FillValue"] = o.fill  # CF readers mask the runs without a value
        variables[o.name] = var
    attrs = {"name": traj.name, "comment": traj.comment, "pypetx_trajectory": traj.name}
    if blocks.run_of_cell is not None:  # each run's cell, for pypetx.failures
        attrs["pypetx_exploration"] = json.dumps(exploration.to_dict(compact=True),
                                                 default=repr)
    return xr.Dataset(variables, coords=explored_coords(exploration), attrs=attrs)


_STATUS_ATTRS = {
    "duration": {"long_name": "run time in seconds"},
    "worker": {"long_name": "worker that ran the run"},
    "error": {"long_name": "error message of the failed run"},
    "traceback": {"long_name": "traceback of the failed run"},
}
