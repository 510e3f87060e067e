"""The driver's messages to the sweep map: one per flush, never one per run.

The driver coalesces what happened since its last message (batches submitted, batches
the store accepted, the end) into one msgpack-able dict, sent as a Dask event on
:data:`TOPIC` (``Client.log_event``); the scheduler plugin hears it through
``SchedulerPlugin.log_event`` and applies it with :func:`apply`. Per-run arrays travel as
raw bytes (:func:`~pypetx.engine.dashboard.state.pack`).

A message: ``{"v": 1, "sweep": id}`` plus any of

- ``"start"``: the sweep's definition, what the store held, the runs to do, the start time;
- ``"submitted"``: ``[[task key, first run, last run], ...]`` of batches handed to Dask;
- ``"finished"``: the runs of finished batches: state, duration, worker, first error
  line, scalar results, the first run of each batch;
- ``"end"``: the time and whether the sweep was interrupted.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

import numpy as np

from pypetx.core.batch import BatchResult
from pypetx.engine.dashboard.state import (
    DONE,
    FAILED,
    PENDING,
    SweepDefinition,
    SweepState,
    pack,
    unpack,
)

__all__ = ["TOPIC", "VERSION", "apply", "finished_payload", "start_payload"]

#: The Dask event topic of the sweep map.
TOPIC = "pypetx-sweep-map"
VERSION = 1
#: Scalar results sent per batch at most (the map colours by one at a time).
MAX_RESULTS = 20
#: Characters of an error line at most.
ERROR_WIDTH = 300


def start_payload(definition: SweepDefinition, done: np.ndarray, failed: np.ndarray,
                  todo: np.ndarray, started: float) -> dict[str, Any]:
    return {"definition": definition.to_wire(), "done": pack(np.packbits(done)),
            "failed": pack(np.packbits(failed)), "todo": pack(np.packbits(todo)),
            "started": float(started)}


def _bits(obj: Any, n: int) -> np.ndarray:
    return np.unpackbits(unpack(obj), count=n).astype(bool)


def _scalars(batch: BatchResult) -> dict[str, np.ndarray]:
    """The batch's numeric scalar results as floats (NaN where a run has none)."""
    out = {}
    for name, values in batch.results.items():
        if not (isinstance(values, np.ndarray) and values.ndim == 1
                and values.dtype.kind in "biuf"):
            continue
        column = values.astype(np.float64)
        present = batch.present.get(name)
        if present is not None:
            column = np.where(np.asarray(present, bool), column, np.nan)
        out[name] = column
    return out


def finished_payload(batches: Sequence[BatchResult]) -> dict[str, Any]:
    """What the map needs of finished batches, concatenated (no result arrays beyond
    numeric scalars)."""
    workers: dict[str, int] = {}
    indices, codes, durations, worker, firsts = [], [], [], [], []
    errors: list[list[Any]] = []
    results: dict[str, list[np.ndarray]] = {}
    total = 0
    for batch in batches:
        n = len(batch)
        idx = np.asarray(batch.indices, np.int64)
        completed = np.asarray(batch.completed, bool)
        failed = np.asarray(batch.failed, bool)
        indices.append(idx)
        codes.append(np.where(completed, DONE, np.where(failed, FAILED, PENDING)).astype(np.uint8))
        duration = np.asarray(batch.duration, np.float64)
        durations.append(duration if duration.shape == (n,) else np.full(n, np.nan))
        code = workers.setdefault(str(batch.worker), len(workers)) if batch.worker else -1
        worker.append(np.full(n, code, np.int32))
        if n:
            firsts.append(int(idx[0]))
        if failed.any() and batch.error:
            for k in np.flatnonzero(failed & ~completed).tolist():
                text = str(batch.error[k]) if k < len(batch.error) else ""
                line = text.strip().splitlines()[0] if text.strip() else "failed"
                errors.append([int(idx[k]), line[:ERROR_WIDTH]])
        for name, column in _scalars(batch).items():
            if name not in results and len(results) >= MAX_RESULTS:
                continue
            parts = results.setdefault(name, [np.full(total, np.nan)] if total else [])
            parts.append(column)
        total += n
        for name, parts in results.items():  # results this batch lacked
            have = sum(len(p) for p in parts)
            if have < total:
                parts.append(np.full(total - have, np.nan))
    cat = (lambda parts, dtype: np.concatenate(parts) if parts else np.zeros(0, dtype))
    return {
        "indices": pack(cat(indices, np.int64)), "codes": pack(cat(codes, np.uint8)),
        "duration": pack(cat(durations, np.float64).astype(np.float32)),
        "worker": pack(cat(worker, np.int32)), "workers": list(workers),
        "errors": errors, "firsts": firsts,
        "results": {k: pack(np.concatenate(v)) for k, v in results.items()},
    }


def apply(sweeps: MutableMapping[str, SweepState], msg: Any,
          now: float | None = None) -> SweepState | None:
    """Apply one message to the sweeps it concerns (the scheduler side); the sweep's state.

    Unknown versions and sweeps whose start was never heard are ignored.
    """
    if not isinstance(msg, dict) or msg.get("v") != VERSION:
        return None
    sweep = str(msg.get("sweep"))
    start = msg.get("start")
    if start is not None:
        definition = SweepDefinition.from_wire(start["definition"])
        n = definition.n_runs
        state = SweepState(definition, _bits(start["done"], n), _bits(start["failed"], n),
                           _bits(start["todo"], n), started=start.get("started"))
        sweeps.pop(sweep, None)  # a restarted sweep (resume, expand) moves to the end
        sweeps[sweep] = state
    state = sweeps.get(sweep)
    if state is None:
        return None
    if msg.get("submitted"):
        state.submitted(msg["submitted"])
    fin = msg.get("finished")
    if fin is not None:
        state.finished(unpack(fin["indices"]), unpack(fin["codes"]), unpack(fin["duration"]),
                       unpack(fin["worker"]), fin["workers"],
                       {int(i): str(e) for i, e in fin["errors"]},
                       {k: unpack(v) for k, v in fin["results"].items()}, fin["firsts"],
                       when=now)
    end = msg.get("end")
    if end is not None:
        state.end(end.get("time"), bool(end.get("interrupted")))
    return state
