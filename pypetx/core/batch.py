"""The unit of work that flows from the engine to a store: one finished batch of runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class ResultMeta:
    """What a result variable carries besides its values.

    Attributes
    ----------
    comment : str
        The comment given to ``f_add_result``.
    units : str or None
        Units string (Brian2 quantities or the user's own), stored as ``units`` attribute.
    dims : tuple of str or None
        Names of the result's own dimensions (from an ``xarray.DataArray`` or ``dims=``);
        ``None`` lets the store name them ``<result>_dim_0``, ...
    kind : str
        The value kind (see :mod:`pypetx.core.kinds`), e.g. ``"scalar"``, ``"array"``, ``"pickle"``.
    attrs : dict
        Extra attributes (annotations, coordinates of DataArray results as ``coords``).
    """

    comment: str = ""
    units: str | None = None
    dims: tuple[str, ...] | None = None
    kind: str = "scalar"
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class BatchResult:
    """Results and status of one batch of runs, in run-index order.

    ``results`` maps a result name (dotted path below ``results``, e.g. ``"z"`` or
    ``"stats.mean"``) to one value per run of ``indices``: a stacked ``np.ndarray`` of shape
    ``(len(indices), *value_shape)`` when every run produced the same shape and dtype, else a
    ``list`` (ragged, or objects). A run that did not produce a result (it failed, or it
    skipped that result) holds ``None`` in a list, or a fill value in an array with
    ``present[name][i] == False``.
    """

    indices: np.ndarray
    results: dict[str, Any]
    present: dict[str, np.ndarray]
    completed: np.ndarray
    failed: np.ndarray
    duration: np.ndarray
    worker: str = ""
    error: list[str] = field(default_factory=list)
    traceback: list[str] = field(default_factory=list)
    result_meta: dict[str, ResultMeta] = field(default_factory=dict)
    returns: list[Any] | None = None

    def __len__(self) -> int:
        return len(self.indices)

    # -- transport: what crosses the process boundary ---------------------------------
    # A batch travels from a worker to the driver once. Most of its per-run fields are
    # uniform (every run completed, none failed, no messages, one mean duration for cheap
    # runs, contiguous indices): those are sent as one value each, and the messages of
    # failed runs only as a sparse mapping, so that nothing per run crosses the process
    # boundary as a Python object and a batch of 10^5 trivial runs is its results plus
    # a few bytes, not 3 MB (on a busy worker, the send competes with the next task for
    # the GIL).
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        n = len(self.indices)
        state["indices"] = _compact_range(self.indices)
        state["completed"] = _compact_uniform(self.completed, n)
        state["failed"] = _compact_uniform(self.failed, n)
        state["duration"] = _compact_uniform(self.duration, n)
        state["present"] = {k: _compact_uniform(v, n) for k, v in self.present.items()}
        state["error"] = _compact_messages(self.error)
        state["traceback"] = _compact_messages(self.traceback)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        indices = _expand_range(state["indices"])
        n = len(indices)
        state = dict(state, indices=indices,
                     completed=_expand_uniform(state["completed"], n),
                     failed=_expand_uniform(state["failed"], n),
                     duration=_expand_uniform(state["duration"], n),
                     present={k: _expand_uniform(v, n) for k, v in state["present"].items()},
                     error=_expand_messages(state["error"]),
                     traceback=_expand_messages(state["traceback"]))
        self.__dict__.update(state)


class _Uniform(tuple):
    """An array whose elements are all one value: ``(value, dtype, n)``."""


class _Range(tuple):
    """Contiguous int64 indices: ``(start, stop)``."""


class _Sparse(tuple):
    """A list of messages, mostly empty: ``(length, {position: text})``."""


def _compact_range(indices: Any) -> Any:
    arr = np.asarray(indices)
    if (arr.ndim == 1 and arr.dtype == np.int64 and len(arr) > 1
            and int(arr[-1]) - int(arr[0]) == len(arr) - 1
            and bool(np.all(arr[1:] - arr[:-1] == 1))):
        return _Range((int(arr[0]), int(arr[-1]) + 1))
    return indices


def _expand_range(value: Any) -> Any:
    return np.arange(value[0], value[1], dtype=np.int64) if isinstance(value, _Range) else value


def _compact_uniform(arr: Any, n: int) -> Any:
    if (isinstance(arr, np.ndarray) and arr.shape == (n,) and n > 1
            and arr.dtype.kind in "biuf"):
        first = arr[0]
        if (first == arr).all() or (arr.dtype.kind == "f" and np.isnan(arr).all()):
            return _Uniform((first.item(), arr.dtype.str, n))
    return arr


def _expand_uniform(value: Any, n: int) -> Any:
    if isinstance(value, _Uniform):
        item, dtype, size = value
        return np.full(size, item, dtype=np.dtype(dtype))
    return value


def _compact_messages(messages: Any) -> Any:
    if isinstance(messages, list) and len(messages) > 1:
        if not any(messages):  # a scan in C: the usual batch has no message at all
            return _Sparse((len(messages), {}))
        return _Sparse((len(messages), {k: m for k, m in enumerate(messages) if m}))
    return messages


def _expand_messages(value: Any) -> Any:
    if isinstance(value, _Sparse):
        n, given = value
        out = [""] * n
        for k, m in given.items():
            out[k] = m
        return out
    return value
