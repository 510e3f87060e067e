"""Worker side: run one batch of points of a sweep and package a BatchResult.

The spec (frozen trajectory skeleton, user function, extra arguments) travels to each
worker once, as cloudpickled bytes; workers keep the unpickled spec in a small cache keyed
by the spec's token, so a batch costs one dict lookup, not one unpickling.
"""

from __future__ import annotations

import os
import socket
import time
import traceback as tb
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pypetx.runview import RunView, result_variable
from pypetx.store.batch import BatchResult, ResultMeta


@dataclass
class RunSpec:
    """Everything a worker needs to run points of one sweep."""

    token: str
    skeleton: Any  # the Trajectory with its exploration, results stripped
    fn: Callable
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    pre_func: Callable | None = None
    post_func: Callable | None = None
    plain: bool = False  # sweep(fn, x=..): call fn(**point) instead of fn(traj)
    worker_sink: Callable[[BatchResult], BatchResult] | None = None  # Zarr: write on worker
    map_args: list[tuple] | None = None  # run_map: extra positional arguments per run index
    map_kwargs: list[dict] | None = None  # run_map: extra keyword arguments per run index


_SPECS: dict[str, RunSpec] = {}


def _load_spec(payload: Any) -> RunSpec:
    if isinstance(payload, RunSpec):
        return payload
    token, blob = payload
    spec = _SPECS.get(token)
    if spec is None:
        import cloudpickle

        spec = cloudpickle.loads(blob)
        _SPECS.clear()  # one sweep at a time per worker: drop old skeletons
        _SPECS[token] = spec
    return spec


def pack_spec(spec: RunSpec) -> tuple[str, bytes]:
    """Serialise a spec once on the driver (cloudpickle: functions of ``__main__`` too)."""
    import cloudpickle

    return spec.token, cloudpickle.dumps(spec)


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def run_batch(payload: Any, indices: np.ndarray) -> BatchResult:
    """Run the points ``indices`` of the sweep described by ``payload``.

    An exception in a point is recorded for that point (type, message, traceback) and the
    batch goes on: one failing point never loses the others.
    """
    spec = _load_spec(payload)
    n = len(indices)
    failed = np.zeros(n, dtype=bool)
    errors = [""] * n
    tracebacks = [""] * n
    collected: dict[str, tuple[list[int], list[Any]]] = {}
    meta: dict[str, ResultMeta] = {}
    returns: list[Any] | None = None

    fn, args, kwargs = spec.fn, spec.args, spec.kwargs
    if spec.map_args is not None or spec.map_kwargs is not None:
        fn = _mapped(fn, spec.map_args, spec.map_kwargs)
    pre, post = spec.pre_func, spec.post_func
    if spec.plain:
        view = None
        exploration = spec.skeleton.exploration
        keys = [(name.rpartition(".")[2], exploration.column(name)) for name in exploration.names]
    else:
        view = RunView(spec.skeleton)
        out = view._out
        explored = view._explored
    perf = time.perf_counter
    # One clock read per run: run k took ends[k] - ends[k-1] (a few ns of loop included).
    ends = [perf()]
    stamp = ends.append
    # The loop below is the per-run cost of every sweep: keep it to a few attribute
    # operations (no object construction, no numpy item access per run).
    for k, i in enumerate(indices.tolist()):
        try:
            if view is None:
                ret = fn(**{key: col[i] for key, col in keys}, **kwargs)
            else:
                view._i = i
                view._k = k
                for column, slots in explored:
                    value = column[i]
                    for d, key in slots:
                        d[key] = value
                if pre is not None:
                    pre(view, *args, **kwargs)
                ret = fn(view, *args, **kwargs)
                if post is not None:
                    post(view, ret)
                if out:
                    for name, a, kw in out:
                        _collect(collected, meta, name, a, kw, k, view._fast)
                    out.clear()
            if ret is not None:
                if returns is None:
                    returns = [None] * n
                returns[k] = ret
                _collect_return(collected, meta, spec, ret, k)
        except Exception as exc:  # noqa: BLE001 - every run's failure is recorded
            failed[k] = True
            errors[k] = f"{type(exc).__name__}: {exc}"
            tracebacks[k] = tb.format_exc()
            if view is not None:
                out.clear()
            _drop_position(collected, k)
            if returns is not None:
                returns[k] = None
        stamp(perf())
    duration = np.diff(np.asarray(ends))
    completed = ~failed
    results, present = _stack(collected, n)
    batch = BatchResult(
        indices=np.asarray(indices, dtype=np.int64),
        results=results,
        present=present,
        completed=completed,
        failed=failed,
        duration=duration,
        worker=_worker_name(),
        error=errors,
        traceback=tracebacks,
        result_meta=meta,
        returns=returns,
    )
    return spec.worker_sink(batch) if spec.worker_sink is not None else batch


def _mapped(fn: Callable, map_args: list | None, map_kwargs: list | None) -> Callable:
    """``fn`` with run_map's per-run arguments of the current run appended."""
    def call(view: Any, *args: Any, **kwargs: Any) -> Any:
        i = view._i
        extra = map_args[i] if map_args is not None else ()
        more = map_kwargs[i] if map_kwargs is not None else {}
        return fn(view, *args, *extra, **kwargs, **more)

    return call


def _drop_position(collected: dict, k: int) -> None:
    """Forget the results a failed run added before it raised (they are the newest)."""
    for positions, values in collected.values():
        while positions and positions[-1] == k:
            positions.pop()
            values.pop()


def _collect(collected: dict, meta: dict, name: Any, args: tuple, kwargs: dict, k: int,
             fast: dict | None = None) -> None:
    if not isinstance(name, str):  # pypet: f_add_result(ResultClass, "name", ...)
        name, args = args[0], args[1:]
    simple = len(args) == 1 and set(kwargs) <= {"comment"}
    if kwargs:
        kwargs = dict(kwargs)
        comment = kwargs.pop("comment", "")
        units = kwargs.pop("units", None)
        dims = kwargs.pop("dims", None)
        kind = kwargs.pop("kind", None)  # "pickle": stored pickled, by explicit request only
    else:
        comment, units, dims, kind = "", None, None, None
    var = result_variable(name)
    leaf = var.rpartition(".")[2]
    items = {}
    for j, value in enumerate(args):
        items[var if j == 0 else f"{var}_{j}"] = value
    for key, value in kwargs.items():
        items[var if key == leaf else f"{var}.{key}"] = value
    for item, value in items.items():
        entry = collected.get(item)
        if entry is None:
            entry = collected[item] = ([], [])
            meta[item] = ResultMeta(comment=comment, units=units,
                                    dims=tuple(dims) if dims is not None else None,
                                    kind=kind or "scalar")
            if dims is None and hasattr(value, "dims") and hasattr(value, "coords"):
                meta[item].dims = tuple(value.dims)  # an xarray.DataArray names its dims
        entry[0].append(k)
        entry[1].append(value)
        if simple and fast is not None and isinstance(name, str):
            fast[name] = entry  # later runs append to these lists directly


def _collect_return(collected: dict, meta: dict, spec: RunSpec, ret: Any, k: int) -> None:
    if isinstance(ret, dict):
        for key, value in ret.items():
            _collect(collected, meta, str(key), (value,), {}, k)
        return
    name = getattr(ret, "name", None) if hasattr(ret, "dims") else None
    if not name:  # a scalar/array return is named after the function (lambdas: "result")
        fname = getattr(spec.fn, "__name__", "")
        name = fname if fname.isidentifier() else "result"
    _collect(collected, meta, name, (ret,), {}, k)


def _stack(collected: dict, n: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Turn per-result lists into stacked arrays where shapes agree, else keep lists."""
    results: dict[str, Any] = {}
    present: dict[str, np.ndarray] = {}
    for name, (positions, values) in collected.items():
        mask = np.zeros(n, dtype=bool)
        mask[positions] = True
        present[name] = mask
        full = len(positions) == n
        stacked = _try_stack(values)
        if stacked is not None and full:
            results[name] = stacked
        elif stacked is not None:
            out = np.zeros((n,) + stacked.shape[1:], dtype=stacked.dtype)
            if out.dtype.kind == "f" or out.dtype.kind == "c":
                out[:] = np.nan
            out[positions] = stacked
            results[name] = out
        else:
            lst: list[Any] = [None] * n
            for p, v in zip(positions, values):
                lst[p] = v
            results[name] = lst
    return results, present


def _try_stack(values: list) -> np.ndarray | None:
    first = values[0]
    if isinstance(first, (bool, int, float, complex, np.number, np.bool_)):
        t = type(first)
        if all(type(v) is t for v in values):
            return np.asarray(values)
        return None
    if isinstance(first, np.ndarray):
        shape, dtype = first.shape, first.dtype
        if all(isinstance(v, np.ndarray) and v.shape == shape and v.dtype == dtype for v in values):
            return np.stack(values)
        return None
    if hasattr(first, "dims") and hasattr(first, "values"):  # xarray.DataArray
        arrays = [np.asarray(v.values) for v in values]
        return _try_stack(arrays)
    return None
