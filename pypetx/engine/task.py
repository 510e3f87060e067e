"""Worker side: run one batch of points of a sweep and package a BatchResult.

The spec (frozen trajectory skeleton, user function, extra arguments) travels to each
worker once, as cloudpickled bytes; workers keep the unpickled spec in a small cache keyed
by the spec's token, so a batch costs one dict lookup, not one unpickling.
"""

from __future__ import annotations

import functools
import inspect
import os
import socket
import sys
import time
import traceback as tb
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pypetx.engine.runview import RunView, result_variable
from pypetx.engine.sourcefiles import restore_source_files, source_files
from pypetx.core.batch import BatchResult, ResultMeta
from pypetx.core.values import stack_results

# A run faster than this is timed per batch, not per run: the clock read would cost as
# much as the run (and sweep()'s map() runs the calls without a Python loop).
_CHEAP_CALL_SECONDS = 20e-6
# With a time budget, untimed (cheap) runs look at the clock once per this many runs.
_BUDGET_STRIDE = 2048


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
    # {module:qualname: file} of the functions cloudpickle ships by value (their tracebacks
    # then name the user's file, not "<dynamic-code>"; see pypetx.engine.sourcefiles)
    source_files: dict[str, str] = field(default_factory=dict)


_SPECS: dict[str, RunSpec] = {}


def _load_spec(payload: Any) -> RunSpec:
    if isinstance(payload, RunSpec):
        return payload
    token, blob = payload
    spec = _SPECS.get(token)
    if spec is None:
        import cloudpickle

        spec = cloudpickle.loads(blob)
        restore_source_files(spec.source_files, spec.fn, spec.pre_func, spec.post_func)
        _SPECS.clear()  # one sweep at a time per worker: drop old skeletons
        _SPECS[token] = spec
    return spec


def runs_with(skeleton: Any) -> bool:
    """Whether a batch of this process runs (or last ran) with ``skeleton``: inside a run,
    the run function's trajectory is that skeleton (its ``store()`` is then a no-op)."""
    return any(spec.skeleton is skeleton for spec in _SPECS.values())


def pack_spec(spec: RunSpec) -> tuple[str, bytes]:
    """Serialise a spec once on the driver (cloudpickle: functions of ``__main__`` too)."""
    import cloudpickle

    spec.source_files = source_files(spec.fn, spec.pre_func, spec.post_func)
    return spec.token, cloudpickle.dumps(spec)


def _worker_name() -> str:
    # A Dask worker has distributed imported; a batch run in the driver (local-first,
    # synchronous) must not import it (0.1-0.2 s) only to learn it is not on a worker.
    if "distributed" in sys.modules:
        try:
            from distributed import get_worker

            return str(get_worker().address)
        except ValueError:  # not in a worker
            pass
    return f"{socket.gethostname()}:{os.getpid()}"


def run_batch(payload: Any, indices: np.ndarray, budget: float | None = None) -> BatchResult:
    """Run the points ``indices`` of the sweep described by ``payload``.

    An exception in a point is recorded for that point (type, message, traceback) and the
    batch goes on: one failing point never loses the others.

    ``budget`` (seconds): stop after the first run that ends past it (cheap runs: within
    :data:`_BUDGET_STRIDE` runs of it) and return the runs done, a prefix of ``indices``
    (at least one run); the caller runs the rest later. The runner's automatic batching
    sizes its first tasks this way (see :mod:`pypetx.engine.batching`).
    """
    spec = _load_spec(payload)
    indices = np.asarray(indices, dtype=np.int64)
    failures = _Failures(len(indices))
    collected: dict[str, tuple[list[int], list[Any]]] = {}
    meta: dict[str, ResultMeta] = {}
    deadline = None if budget is None else time.perf_counter() + float(budget)
    if spec.plain:
        duration = _run_plain(spec, indices, collected, meta, failures, deadline)
        returns = None  # sweep(): the return values are the results, sent once
    else:
        duration, returns = _run_traj(spec, indices, collected, meta, failures, deadline)
    n = len(duration)  # runs done: all of them, or the prefix that fit the budget
    if n < len(indices):
        indices = indices[:n]
        failures.truncate(n)
        returns = None if returns is None else returns[:n]
    results, present = stack_results(
        collected, n, pickled=[name for name, m in meta.items() if m.kind == "pickle"])
    batch = BatchResult(
        indices=indices,
        results=results,
        present=present,
        completed=~failures.failed,
        failed=failures.failed,
        duration=duration,
        worker=_worker_name(),
        error=failures.errors,
        traceback=failures.tracebacks,
        result_meta=meta,
        returns=returns,
    )
    return spec.worker_sink(batch) if spec.worker_sink is not None else batch


run_batch.takes_budget = True  # type: ignore[attr-defined]  # see pypetx.engine.runner


class _Failures:
    """Which runs of a batch failed, and how."""

    def __init__(self, n: int) -> None:
        self.failed = np.zeros(n, dtype=bool)
        self.errors = [""] * n
        self.tracebacks = [""] * n

    def record(self, k: int, exc: BaseException) -> None:
        self.failed[k] = True
        self.errors[k] = f"{type(exc).__name__}: {exc}"
        self.tracebacks[k] = tb.format_exc()

    def truncate(self, n: int) -> None:
        """Keep the first ``n`` runs (a batch stopped at its time budget)."""
        self.failed = self.failed[:n]
        del self.errors[n:], self.tracebacks[n:]


def _run_traj(spec: RunSpec, indices: np.ndarray, collected: dict, meta: dict,
              failures: _Failures, deadline: float | None = None
              ) -> tuple[np.ndarray, list | None]:
    """``fn(traj, *args, **kwargs)`` per run, ``traj`` a :class:`RunView` of the run.

    Returns one duration per run done: fewer than ``len(indices)`` when ``deadline``
    (a ``time.perf_counter`` value) stopped the batch early."""
    n = len(indices)
    returns: list[Any] | None = None
    fn, args, kwargs = spec.fn, spec.args, spec.kwargs
    if spec.map_args is not None or spec.map_kwargs is not None:
        fn = _mapped(fn, spec.map_args, spec.map_kwargs)
    pre, post = spec.pre_func, spec.post_func
    if args or kwargs:  # fn(view) in the loop: a star-call per run costs ~70 ns
        fn = functools.partial(_with_args, fn, args, kwargs)
        pre = None if pre is None else functools.partial(_with_args, pre, args, kwargs)
    view = (spec.skeleton.node_classes.run_view or RunView)(spec.skeleton)
    out = view._out

    def flush(v: RunView) -> None:  # a run reads its own results back: file them first
        for name, a, kw in out:
            _collect(collected, meta, name, a, kw, v._k, _fast_of(v))
        out.clear()

    # The view gets the run's results and the flush, which must not refer to the view
    # itself: a cycle would keep the whole batch's results alive until the cyclic GC.
    view._collected, view._flush = collected, flush
    # One (values, dict, key) per place a value goes: a flat loop per run.
    explored = [(values, d, key) for values, slots in view.explored_slots(indices)
                for d, key in slots]
    perf = time.perf_counter
    # Runs are timed one by one (ends[k] - ends[k-1]) unless the first run shows they are
    # cheaper than _CHEAP_CALL_SECONDS: then the clock read would cost as much as a run,
    # and every run of the batch is given the batch's mean.
    ends = [perf()]
    stamp = ends.append
    timed = True
    # The run index goes straight into the view's __dict__: a view class may define
    # __setattr__ (pypet's ``traj.hi = Result(...)``), which must not cost every run.
    state = view.__dict__
    # The loop below is the per-run cost of every sweep: keep it to a few attribute
    # operations (no object construction, no numpy item access per run). A deadline is
    # looked at per timed run, and per _BUDGET_STRIDE cheap runs (an outer loop).
    done = n
    stride = n if deadline is None else _BUDGET_STRIDE
    all_indices = indices.tolist()
    for lo in range(0, n, max(stride, 1)):
        for k, i in enumerate(all_indices[lo:lo + stride], lo):
            try:
                state["_i"] = i
                state["_k"] = k
                for values, d, key in explored:
                    d[key] = values[k]
                if pre is not None:
                    pre(view)
                ret = fn(view)
                if post is not None:
                    post(view, ret)
                if out:
                    for name, a, kw in out:
                        _collect(collected, meta, name, a, kw, k, _fast_of(view))
                    out.clear()
                if ret is not None:
                    if returns is None:
                        returns = [None] * n
                    returns[k] = ret
                    _collect_return(collected, meta, spec, ret, k)
            except Exception as exc:  # noqa: BLE001 - every run's failure is recorded
                failures.record(k, exc)
                out.clear()
                _drop_position(collected, k)
                if returns is not None:
                    returns[k] = None
            if timed:
                stamp(perf())
                if k == 0 and ends[1] - ends[0] < _CHEAP_CALL_SECONDS and n > 1:
                    timed = False
                elif deadline is not None and ends[-1] > deadline:
                    done = k + 1
                    break
        if done < n:
            break
        if deadline is not None and lo + stride < n and perf() > deadline:
            done = lo + stride
            break
    duration = (np.diff(np.asarray(ends)) if timed
                else np.full(done, (perf() - ends[0]) / max(done, 1)))
    # The view and its group views refer to each other (a cycle the cyclic GC frees
    # late): let go of the batch's results now, or every batch's arrays stay alive.
    view._fast.clear()
    view._collected, view._flush = {}, None
    return duration, returns


def _fast_of(view: RunView) -> dict | None:
    """Where results may register for the fast path: nowhere while a standard result
    class applies to names given alone (``v_standard_result``)."""
    return view._fast if view._standard_result is None else None


def _with_args(fn: Callable, args: tuple, kwargs: dict, view: Any) -> Any:
    return fn(view, *args, **kwargs)




def _run_plain(spec: RunSpec, indices: np.ndarray, collected: dict, meta: dict,
               failures: _Failures, deadline: float | None = None) -> np.ndarray:
    """``fn(**point, **kwargs)`` per run (``sweep``); the return values are the results.

    Returns one duration per run done (a prefix of ``indices`` when ``deadline`` stopped
    the batch, see :func:`run_batch`)."""
    n = len(indices)
    exploration = spec.skeleton.exploration
    names = [name.rpartition(".")[2] for name in exploration.names]
    columns = [exploration.values_at(name, indices) for name in exploration.names]
    call, columns = _plain_caller(spec.fn, names, columns, spec.kwargs)
    rets: list[Any] = []
    perf = time.perf_counter
    t0 = perf()
    try:
        rets.append(call(*[c[0] for c in columns]))
    except Exception as exc:  # noqa: BLE001
        failures.record(0, exc)
        rets.append(None)
    first = perf() - t0
    if first < _CHEAP_CALL_SECONDS:
        stride = n if deadline is None else _BUDGET_STRIDE
        while len(rets) < n:
            k = len(rets)
            end = min(n, (k // stride + 1) * stride) if deadline is not None else n
            try:
                rets.extend(map(call, *[c[k:end] for c in columns]))
            except Exception as exc:  # noqa: BLE001 - extend kept the runs before it
                failures.record(len(rets), exc)
                rets.append(None)
            if deadline is not None and len(rets) == end and perf() > deadline:
                break
        duration = np.full(len(rets), (perf() - t0) / len(rets))
    else:
        ends = [t0, t0 + first]
        for k in range(1, n):
            if deadline is not None and ends[-1] > deadline:
                break
            try:
                rets.append(call(*[c[k] for c in columns]))
            except Exception as exc:  # noqa: BLE001
                failures.record(k, exc)
                rets.append(None)
            ends.append(perf())
        duration = np.diff(np.asarray(ends))
    _collect_plain(collected, meta, spec, rets, failures.failed[:len(rets)])
    return duration


def _plain_caller(fn: Callable, names: list[str], columns: list[list], kwargs: dict
                  ) -> tuple[Callable, list[list]]:
    """A callable taking the explored values positionally, and the columns in its order.

    ``fn(x=a, y=b)`` builds a dict per call; when the explored names are the function's
    leading positional parameters, ``fn(a, b)`` (reordered) means the same and is cheaper.
    """
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature: keyword calls
        params = []
    lead = params[: len(names)]
    if (len(lead) == len(names)
            and all(p.kind is p.POSITIONAL_OR_KEYWORD for p in lead)
            and {p.name for p in lead} == set(names)
            and not set(kwargs) & set(names)):
        columns = [columns[names.index(p.name)] for p in lead]
        return (functools.partial(fn, **kwargs) if kwargs else fn), columns

    def call(*values: Any) -> Any:
        return fn(**dict(zip(names, values)), **kwargs)

    return call, columns


def _collect_plain(collected: dict, meta: dict, spec: RunSpec, rets: list,
                   failed: np.ndarray) -> None:
    """Collect ``sweep`` return values: in bulk when they are one kind of value."""
    if failed.any():
        positions = np.flatnonzero(~failed).tolist()
        values = [rets[k] for k in positions]
    else:
        positions, values = list(range(len(rets))), rets
    types = set(map(type, values))
    if type(None) in types:  # no result for those runs
        keep = [j for j, v in enumerate(values) if v is not None]
        positions, values = [positions[j] for j in keep], [values[j] for j in keep]
        types.discard(type(None))
    if not values:
        return
    if any(issubclass(t, dict) or hasattr(t, "dims") for t in types):
        for k, ret in zip(positions, values):  # named values: the general path
            _collect_return(collected, meta, spec, ret, k)
        return
    _collect_return(collected, meta, spec, values[0], positions[0])
    entry = collected[next(reversed(collected))]  # the one just added
    entry[0].extend(positions[1:])
    entry[1].extend(values[1:])


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
            fast[name] = (entry[0].append, entry[1].append)  # later runs append directly


def _collect_return(collected: dict, meta: dict, spec: RunSpec, ret: Any, k: int) -> None:
    if isinstance(ret, dict):
        for key, value in ret.items():
            _collect(collected, meta, str(key), (value,), {}, k)
        return
    name = getattr(ret, "name", None) if hasattr(ret, "dims") else None
    if not name:  # a scalar/array return is named after the function (lambdas: "result")
        fname = getattr(spec.fn, "__name__", "").lstrip("_")  # "_f" -> "f": no private names
        name = fname if fname.isidentifier() else "result"
    _collect(collected, meta, name, (ret,), {}, k)
