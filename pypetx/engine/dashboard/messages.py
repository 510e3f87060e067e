"""The driver's messages to the sweep map: one per flush, never one per run.

The driver coalesces what happened since its last message (batches submitted, batches
the store accepted, the end) into one msgpack-able dict, sent as a Dask event on
:data:`TOPIC` (``Client.log_event``); the scheduler plugin hears it through
``SchedulerPlugin.log_event`` and applies it with :func:`apply`. Per-run arrays travel as
raw bytes (:func:`~pypetx.engine.dashboard.state.pack`).

A message: ``{"v": VERSION, "sweep": id}`` plus any of

- ``"start"``: the sweep's definition, what the store held, the runs to do, the start time;
- ``"submitted"``: ``[[task key, first run, last run], ...]`` of batches handed to Dask;
- ``"finished"``: the runs of finished batches, compactly (the message of a 10^5-run
  sweep is ~0.9 MB): their indices as spans of consecutive runs, done and failed as bits,
  durations (one per batch where its runs were timed together) and numeric scalar
  results as float32, the worker and first run of each batch, the first error line of
  each failed run;
- ``"end"``: the time and whether the sweep was interrupted.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np

from pypetx.core.batch import BatchResult
from pypetx.engine.dashboard.sample import Bits
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
VERSION = 2
#: Scalar results sent per batch at most (the map colours by one at a time).
MAX_RESULTS = 20
#: Characters of an error line at most.
ERROR_WIDTH = 300


def start_payload(definition: SweepDefinition, done: Any, failed: Any, todo: Any,
                  started: float) -> dict[str, Any]:
    """The start of a sweep; ``done``, ``failed``, ``todo``: bools per run or :class:`Bits`."""
    n = definition.n_runs
    return {"definition": definition.to_wire(), "done": pack(Bits.of(done, n).packed),
            "failed": pack(Bits.of(failed, n).packed), "todo": pack(Bits.of(todo, n).packed),
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


def _spans(idx: np.ndarray) -> np.ndarray:
    """Run indices as ``[[first, length], ...]`` of consecutive runs."""
    if not len(idx):
        return np.zeros((0, 2), np.int64)
    breaks = np.flatnonzero(np.diff(idx) != 1) + 1
    starts = np.concatenate(([0], breaks))
    lengths = np.diff(np.concatenate((starts, [len(idx)])))
    return np.stack([idx[starts], lengths], axis=1).astype(np.int64)


def _from_spans(spans: np.ndarray) -> np.ndarray:
    """The run indices :func:`_spans` describes."""
    if not len(spans):
        return np.zeros(0, np.int64)
    if len(spans) == 1:  # the common case: consecutive runs
        return np.arange(spans[0, 0], spans[0, 0] + spans[0, 1], dtype=np.int64)
    first, length = spans[:, 0], spans[:, 1]
    offsets = np.concatenate(([0], np.cumsum(length)[:-1]))
    return np.repeat(first - offsets, length) + np.arange(int(length.sum()), dtype=np.int64)


def finished_payload(batches: Sequence[BatchResult]) -> dict[str, Any]:
    """What the map needs of finished batches, concatenated (no result arrays beyond
    numeric scalars, sent as float32: the map shows four significant digits)."""
    workers: dict[str, int] = {}
    indices, completed, failed, durations = [], [], [], []
    sizes, worker, firsts, uniform = [], [], [], []
    errors: list[list[Any]] = []
    results: dict[str, list[np.ndarray]] = {}
    total = 0
    for batch in batches:
        n = len(batch)
        idx = np.asarray(batch.indices, np.int64)
        done = np.asarray(batch.completed, bool)
        bad = np.asarray(batch.failed, bool) & ~done
        indices.append(idx)
        completed.append(done)
        failed.append(bad)
        duration = np.asarray(batch.duration, np.float32)
        if duration.shape != (n,):
            duration = np.full(n, np.nan, np.float32)
        if n > 1 and bool((duration == duration[0]).all()):
            uniform.append(duration[0])  # cheap runs timed per batch: one value
        else:
            uniform.append(np.nan)
            durations.append(duration)
        sizes.append(n)
        name = "" if batch.worker is None else str(batch.worker)  # a worker may be named 0
        worker.append(workers.setdefault(name, len(workers)) if name else -1)
        if n:
            firsts.append(int(idx[0]))
        if bad.any() and batch.error:
            for k in np.flatnonzero(bad).tolist():
                text = str(batch.error[k]) if k < len(batch.error) else ""
                line = text.strip().splitlines()[0] if text.strip() else "failed"
                errors.append([int(idx[k]), line[:ERROR_WIDTH]])
        for name, column in _scalars(batch).items():
            if name not in results and len(results) >= MAX_RESULTS:
                continue
            parts = results.setdefault(name, [np.full(total, np.nan, np.float32)] if total else [])
            parts.append(column.astype(np.float32))
        total += n
        for name, parts in results.items():  # results this batch lacked
            have = sum(len(p) for p in parts)
            if have < total:
                parts.append(np.full(total - have, np.nan, np.float32))
    cat = (lambda parts, dtype: np.concatenate(parts) if parts else np.zeros(0, dtype))
    return {
        "spans": pack(_spans(cat(indices, np.int64))),
        "done": pack(np.packbits(cat(completed, bool))),
        "failed": pack(np.packbits(cat(failed, bool))),
        "duration": pack(cat(durations, np.float32)),  # of the batches not uniform
        "duration_batch": pack(np.asarray(uniform, np.float32)),  # NaN: per run above
        "sizes": pack(np.asarray(sizes, np.int64)), "worker": pack(np.asarray(worker, np.int32)),
        "workers": list(workers), "errors": errors, "firsts": firsts,
        "results": {k: pack(np.concatenate(v)) for k, v in results.items()},
    }


def _durations(fin: Mapping[str, Any], sizes: np.ndarray) -> np.ndarray:
    """Per-run durations from the batches' single values and the per-run stream."""
    per_run = unpack(fin["duration"])
    if "duration_batch" not in fin:
        return per_run
    single = unpack(fin["duration_batch"])
    if not np.isnan(single).any():
        return np.repeat(single, sizes)
    out, at = [], 0
    for value, n in zip(single.tolist(), sizes.tolist()):
        if value == value:  # not NaN: the batch's one value
            out.append(np.full(n, value, np.float32))
        else:
            out.append(per_run[at:at + n])
            at += n
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def _finished(state: SweepState, fin: Mapping[str, Any], now: float | None) -> None:
    indices = _from_spans(unpack(fin["spans"]))
    n = len(indices)
    done, failed = _bits(fin["done"], n), _bits(fin["failed"], n)
    codes = np.where(done, DONE, np.where(failed, FAILED, PENDING)).astype(np.uint8)
    sizes = unpack(fin["sizes"])
    worker = np.repeat(unpack(fin["worker"]), sizes)
    state.finished(indices, codes, _durations(fin, sizes), worker, fin["workers"],
                   {int(i): str(e) for i, e in fin["errors"]},
                   {k: unpack(v) for k, v in fin["results"].items()}, fin["firsts"],
                   when=now)


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
        # packed bits all the way: 10^8 runs' three masks unpacked would be 300 MB
        state = SweepState(definition, *(Bits(unpack(start[k]), n)
                                         for k in ("done", "failed", "todo")),
                           started=start.get("started"))
        sweeps.pop(sweep, None)  # a restarted sweep (resume, expand) moves to the end
        sweeps[sweep] = state
    state = sweeps.get(sweep)
    if state is None:
        return None
    if msg.get("submitted"):
        state.submitted(msg["submitted"])
    fin = msg.get("finished")
    if fin is not None:
        _finished(state, fin, now)
    end = msg.get("end")
    if end is not None:
        state.end(end.get("time"), bool(end.get("interrupted")))
    return state
