"""What the sweep map knows about one sweep: its points and the state of each.

Pure numpy, no Dask and no Bokeh: the scheduler plugin keeps one :class:`SweepState` per
sweep and applies the driver's per-batch messages to it, the live page and the static
export (``pypetx show --html``) both draw from it, and :mod:`pypetx.engine.dashboard.stored`
builds one from a results file.

A sweep is described once (:class:`SweepDefinition`): a grid as the labels of its values
along each axis (and each run's cell when its runs are not in C order), a run layout
(zip, random, Sobol, adaptive) as every run's value of each parameter. Everything crosses
the wire as msgpack-able dicts whose arrays travel as raw bytes (:func:`pack`).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "DONE",
    "FAILED",
    "PENDING",
    "RUNNING",
    "STATE_NAMES",
    "SweepDefinition",
    "SweepState",
    "format_value",
    "pack",
    "unpack",
]

#: Per-run state codes (the map's colours, in this order).
PENDING, RUNNING, DONE, FAILED = 0, 1, 2, 3
STATE_NAMES = ("pending", "running", "done", "failed")
#: Seconds of finished runs the rate (and so the ETA) is measured over.
RATE_WINDOW = 30.0


def pack(arr: np.ndarray) -> dict[str, Any]:
    """An array as a msgpack-able dict (raw bytes, dtype, shape)."""
    arr = np.ascontiguousarray(arr)
    return {"dtype": arr.dtype.str, "shape": list(arr.shape), "data": arr.tobytes()}


def unpack(obj: Mapping[str, Any]) -> np.ndarray:
    """The array :func:`pack` described (a writable copy)."""
    return np.frombuffer(obj["data"], dtype=np.dtype(obj["dtype"])).reshape(
        obj["shape"]).copy()


def format_value(value: Any) -> str:
    """A parameter value as the map labels it (floats to 6 significant digits)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return f"{value:.6g}"
    text = " ".join(str(value).split())
    return text if len(text) <= 40 else text[:37] + "..."


def short_names(names: Sequence[str]) -> dict[str, str]:
    """``parameters.x`` -> ``x`` (the path without ``parameters.`` where short names clash)."""
    last = [n.rsplit(".", 1)[-1] for n in names]
    return {n: (s if last.count(s) == 1 else n.removeprefix("parameters."))
            for n, s in zip(names, last)}


@dataclass
class SweepDefinition:
    """The points of a sweep, as the map draws them.

    Attributes
    ----------
    sweep : str
        Identifier (stable for a trajectory in a file: a resumed or expanded sweep keeps
        its map).
    name, file : str
        Trajectory and results file.
    n_runs : int
        Points.
    axes : list of (str, list of str), optional
        A grid: per axis (slowest first) its title and the label of each of its values.
    cells : numpy.ndarray, optional
        A grid whose runs are not in C order: each run's C-order cell.
    params : dict of str to numpy.ndarray, optional
        A run layout: each parameter's value per run as float (non-numeric values as
        codes into ``categories``).
    categories : dict of str to list of str
        Labels of coded (non-numeric) run-layout parameters.
    """

    sweep: str
    name: str
    file: str
    n_runs: int
    axes: list[tuple[str, list[str]]] | None = None
    cells: np.ndarray | None = None
    params: dict[str, np.ndarray] | None = None
    categories: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_grid(self) -> bool:
        return self.axes is not None

    @property
    def shape(self) -> tuple[int, ...]:
        if self.axes is None:
            return (self.n_runs,)
        return tuple(len(labels) for _, labels in self.axes)

    @classmethod
    def from_exploration(cls, exploration: Any, *, sweep: str, name: str,
                         file: str) -> SweepDefinition:
        """Describe an :class:`~pypetx.core.explore.Exploration` (O(axis lengths) for a
        grid in C order, O(runs) for a run layout)."""
        short = short_names(list(exploration.names))
        if exploration.is_grid:
            axes = []
            for k, axis in enumerate(exploration.axes):
                values = exploration.axis_values(k)
                labels = [" / ".join(format_value(values[n][i]) for n in axis)
                          for i in range(exploration.shape[k])]
                axes.append((" / ".join(short[n] for n in axis), labels))
            cells = None if exploration.is_c_order else exploration.cells()
            return cls(sweep, name, file, exploration.n_runs, axes=axes, cells=cells)
        params: dict[str, np.ndarray] = {}
        categories: dict[str, list[str]] = {}
        for full in exploration.names:
            params[short[full]], cats = numeric_column(exploration.column(full))
            if cats is not None:
                categories[short[full]] = cats
        return cls(sweep, name, file, exploration.n_runs, params=params,
                   categories=categories)

    def to_wire(self) -> dict[str, Any]:
        return {
            "sweep": self.sweep, "name": self.name, "file": self.file, "n_runs": self.n_runs,
            "axes": None if self.axes is None else [[t, list(l)] for t, l in self.axes],
            "cells": None if self.cells is None else pack(self.cells.astype(np.int64)),
            "params": None if self.params is None else {
                k: pack(v) for k, v in self.params.items()},
            "categories": self.categories,
        }

    @classmethod
    def from_wire(cls, msg: Mapping[str, Any]) -> SweepDefinition:
        axes = msg.get("axes")
        params = msg.get("params")
        return cls(
            str(msg["sweep"]), str(msg["name"]), str(msg["file"]), int(msg["n_runs"]),
            axes=None if axes is None else [(str(t), [str(x) for x in l]) for t, l in axes],
            cells=None if msg.get("cells") is None else unpack(msg["cells"]),
            params=None if params is None else {k: unpack(v) for k, v in params.items()},
            categories={k: list(v) for k, v in (msg.get("categories") or {}).items()},
        )


def numeric_column(values: Sequence[Any]) -> tuple[np.ndarray, list[str] | None]:
    """Per-run values as floats, or as codes plus their labels when not numeric."""
    try:
        arr = np.asarray(values)
        if arr.ndim == 1 and arr.dtype.kind in "biuf":
            return arr.astype(np.float64), None
    except (ValueError, TypeError):
        pass
    labels = [format_value(v) for v in values]
    cats = list(dict.fromkeys(labels))
    code = {c: i for i, c in enumerate(cats)}
    return np.array([code[x] for x in labels], dtype=np.float64), cats


def _where(indices: np.ndarray, n: int) -> tuple[slice | np.ndarray, slice | np.ndarray]:
    """Where runs ``indices`` go in per-run arrays of length ``n`` and which of their
    values to keep (runs an expansion added beyond ``n`` are dropped): slices when the
    runs are consecutive, as most finished batches are (a copy, not a scatter)."""
    m = len(indices)
    if m and indices[-1] - indices[0] == m - 1 and (m == 1 or bool(np.all(indices[1:] > indices[:-1]))):
        first = int(indices[0])
        stop = max(min(int(indices[-1]) + 1, n), first)
        return slice(first, stop), slice(0, stop - first)
    keep = indices < n
    return indices[keep], keep


class SweepState:
    """Every run's state, duration, worker, error and scalar results, as they arrive.

    Parameters
    ----------
    definition : SweepDefinition
    done, failed : array of bool, optional
        What the store already held when the sweep started (a resume).
    todo : array of bool, optional
        The runs this sweep executes (default: all not done).
    started : float, optional
        Wall-clock start (``time.time()``).
    """

    def __init__(self, definition: SweepDefinition, done: Any = None, failed: Any = None,
                 todo: Any = None, started: float | None = None) -> None:
        from pypetx.engine.dashboard.sample import MAX_TRACKED, Bits, stratified, subsample

        n = self.n_runs = definition.n_runs
        #: the runs the per-point arrays hold when the sweep has more than the map keeps
        #: (sorted), ``None``: every run
        self.sample = stratified(n, MAX_TRACKED) if n > MAX_TRACKED else None
        self.definition = definition if self.sample is None else subsample(
            definition, self.sample)
        done_b, failed_b = Bits.of(done, n), Bits.of(failed, n)
        todo_b = ~done_b if todo is None else Bits.of(todo, n)
        done, failed = done_b.at(self.sample), failed_b.at(self.sample)
        m = self.definition.n_runs
        self.state = np.full(m, PENDING, np.uint8)
        self.state[failed] = FAILED
        self.state[done] = DONE
        self.todo = todo_b.at(self.sample)
        # float32: what the driver sends (the map shows 3-4 significant digits)
        self.duration = np.full(m, np.nan, np.float32)
        self.worker = np.full(m, -1, np.int32)
        self.workers: list[str] = []
        self._worker_code: dict[str, int] = {}
        #: first error line of failed runs, by point (a run of the sample)
        self.errors: dict[int, str] = {}
        self.results: dict[str, np.ndarray] = {}
        #: first run of each batch in flight -> (task key, last run)
        self.in_flight: dict[int, tuple[str, int]] = {}
        self.started = time.time() if started is None else float(started)
        self.ended: float | None = None
        self.interrupted = False
        self.n_todo = todo_b.count()
        self.n_finished = 0  # runs of this sweep finished so far
        if self.sample is not None:  # exact counts whatever the sample holds
            failed_b = failed_b & ~done_b
            self._before = {DONE: (done_b & ~todo_b).count(),
                            FAILED: (failed_b & ~todo_b).count()}
            # the failed runs a rerun_failed re-runs: known one by one unless there are
            # more than the sample (then the share of them not finished yet is estimated)
            again = failed_b & todo_b
            self._n_again = again.count()
            self._again = again.runs() if self._n_again <= MAX_TRACKED else None
            self._new = {DONE: 0, FAILED: 0}
        self._history: deque[tuple[float, int]] = deque(maxlen=4096)
        self._history.append((self.started, 0))
        self.version = 0  # bumped by every change, so views redraw only when needed
        #: what views derive from the definition alone (cells, labels), by view
        self.cache: dict[Any, Any] = {}

    # -- applying the driver's messages -------------------------------------------------
    def worker_code(self, name: str) -> int:
        code = self._worker_code.get(name)
        if code is None:
            code = self._worker_code[name] = len(self.workers)
            self.workers.append(name)
        return code

    def submitted(self, batches: Sequence[Sequence[Any]]) -> None:
        """Batches handed to the cluster: ``(task key, first run, last run)`` each."""
        for key, first, last in batches:
            self.in_flight[int(first)] = (str(key), int(last))
        self.version += 1

    def finished(self, indices: np.ndarray, codes: np.ndarray, duration: np.ndarray,
                 worker: np.ndarray, workers: Sequence[str], errors: Mapping[int, str],
                 results: Mapping[str, np.ndarray], firsts: Sequence[int],
                 when: float | None = None) -> None:
        """Runs the store accepted: their state (DONE/FAILED), duration, worker (codes into
        ``workers``), first error line, scalar results."""
        indices = np.asarray(indices, np.int64)
        if self.sample is None:
            where, keep = _where(indices, self.n_runs)
        else:
            where, keep = self._sampled(indices)
            errors = self._sampled_errors(errors)
            ok = np.asarray(codes, np.uint8)[indices < self.n_runs]
            for code in (DONE, FAILED):
                self._new[code] += int(np.count_nonzero(ok == code))
            if self._again is not None and len(self._again):
                at = np.searchsorted(self._again, indices)
                hit = at < len(self._again)
                hit[hit] = self._again[at[hit]] == indices[hit]
                self._again = np.delete(self._again, at[hit])
                self._n_again = len(self._again)
        self.state[where] = np.asarray(codes, np.uint8)[keep]
        self.duration[where] = np.asarray(duration)[keep]
        mapped = np.array([self.worker_code(w) for w in workers] + [-1], np.int32)
        worker = np.asarray(worker, np.int64)[keep]
        self.worker[where] = mapped[np.where(worker < 0, len(workers), worker)]
        newly = (int(np.count_nonzero(self.todo[where])) if self.sample is None
                 else int(np.count_nonzero(indices < self.n_runs)))
        self.todo[where] = False
        if self.errors:  # a re-run that succeeded has no error any more
            known = np.fromiter(self.errors, np.int64, len(self.errors))
            if isinstance(where, slice):
                gone = known[(known >= where.start) & (known < where.stop)]
            else:
                gone = known[np.isin(known, where)]
            for i in gone.tolist():
                del self.errors[i]
        self.errors.update({int(i): str(e) for i, e in errors.items()})
        for name, values in results.items():
            column = self.results.get(name)
            if column is None:
                column = self.results[name] = np.full(len(self.state), np.nan, np.float32)
            column[where] = np.asarray(values)[keep]
        for first in firsts:
            self.in_flight.pop(int(first), None)
        self.n_finished += newly
        self._history.append((time.time() if when is None else when, self.n_finished))
        self.version += 1

    def _sampled(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where runs ``indices`` are in the sample, and which of them it holds."""
        sample = self.sample
        assert sample is not None
        at = np.minimum(np.searchsorted(sample, indices), len(sample) - 1)
        keep = sample[at] == indices
        return at[keep], keep

    def _sampled_errors(self, errors: Mapping[int, str]) -> dict[int, str]:
        """``errors`` of sampled runs, by point."""
        if not errors:
            return {}
        runs = np.fromiter(errors, np.int64, len(errors))
        where, keep = self._sampled(runs)
        return {p: errors[r] for p, r in zip(where.tolist(), runs[keep].tolist())}

    def _span(self, first: int, last: int) -> slice:
        """The points of runs ``first`` to ``last``."""
        if self.sample is None:
            return slice(first, last + 1)
        lo, hi = np.searchsorted(self.sample, [first, last + 1])
        return slice(int(lo), int(hi))

    def end(self, when: float | None = None, interrupted: bool = False) -> None:
        self.ended = time.time() if when is None else float(when)
        self.interrupted = bool(interrupted)
        self.in_flight.clear()
        self.version += 1

    # -- reading --------------------------------------------------------------------------
    def running(self, worker_of: Callable[[str], str | None]) -> tuple[np.ndarray, np.ndarray]:
        """Codes of every run with the running ones marked, and every run's worker code.

        ``worker_of(key)`` names the worker a task runs on, ``None`` when it is not
        running (queued, or finished).
        """
        codes = self.state.copy()
        workers = self.worker.copy()
        for first, (key, last) in self.in_flight.items():
            name = worker_of(key)
            if name is None:
                continue
            span = self._span(first, last)
            mine = self.todo[span]
            codes[span][mine] = RUNNING
            workers[span][mine] = self.worker_code(name)
        return codes, workers

    def counts(self, codes: np.ndarray | None = None) -> dict[str, int]:
        """Runs per state (of ``codes``, the running ones marked: :meth:`running`).

        Exact with a sample too: done and failed are what the store held and what this
        sweep finished (its runs finish once), plus the failed runs a ``rerun_failed`` has
        not re-run yet (estimated beyond :data:`~pypetx.engine.dashboard.sample.MAX_TRACKED`
        of them); the running ones are the sample's share.
        """
        codes = self.state if codes is None else codes
        n = np.bincount(codes, minlength=4)
        if self.sample is None:
            return {name: int(n[k]) for k, name in enumerate(STATE_NAMES)}
        again = self._n_again
        if self._again is None:  # too many to keep: their share of the runs left
            left = 1.0 - self.n_finished / self.n_todo if self.n_todo else 0.0
            again = round(again * max(left, 0.0))
        done = self._before[DONE] + self._new[DONE]
        failed = self._before[FAILED] + self._new[FAILED] + again
        rest = max(self.n_runs - done - failed, 0)
        running = min(round(n[RUNNING] * self.n_runs / len(codes)), rest)
        return {"pending": rest - running, "running": running, "done": done,
                "failed": failed}

    def rate(self, now: float | None = None) -> float | None:
        """Runs finished per second over the last :data:`RATE_WINDOW` seconds of the sweep
        (``None`` before the first run finished)."""
        end = self.ended if self.ended is not None else (time.time() if now is None else now)
        n_end = self._history[-1][1]
        t0, n0 = self._history[0]
        for t, n in self._history:  # the last sample before the window opens
            if t > end - RATE_WINDOW:
                break
            t0, n0 = t, n
        if n_end == n0:
            return 0.0 if self.n_finished else None
        return (n_end - n0) / max(end - t0, 1e-9)

    def eta(self, now: float | None = None) -> float | None:
        """Seconds until the runs left are done at the current rate (0 when finished)."""
        left = self.n_todo - self.n_finished
        if left <= 0 or self.ended is not None:
            return 0.0
        rate = self.rate(now)
        return None if not rate else left / rate

    def value_names(self) -> list[str]:
        """What the second view can colour done points by."""
        return ["duration", *sorted(self.results)]

    def values(self, name: str) -> np.ndarray:
        return self.duration if name == "duration" else self.results[name]

    def summary(self, codes: np.ndarray | None = None) -> dict[str, Any]:
        """Counts, rate and ETA as plain JSON (the page's header and ``sweep.json``)."""
        d = self.definition
        rate, eta = self.rate(), self.eta()
        return {
            "sweep": d.sweep, "name": d.name, "file": d.file, "n_runs": self.n_runs,
            "n_points": len(self.state),
            "layout": "grid" if d.is_grid else "runs", "counts": self.counts(codes),
            "n_todo": self.n_todo, "n_finished": self.n_finished,
            "rate": None if rate is None else float(rate),
            "eta": None if eta is None or not math.isfinite(eta) else float(eta),
            "started": self.started, "ended": self.ended, "interrupted": self.interrupted,
        }
