"""What pypet's runs stored, as the journal batches a pypetx sweep would have written:
one variable per result item over the runs, with the runs' status."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from pypetx.compat.pypetfile.leaves import (
    Pickled,
    PickleGate,
    is_parameter,
    parameter_value,
    result_items,
)
from pypetx.compat.pypetfile.reader import LeafRef, PypetFile, TrajectoryIndex
from pypetx.compat.pypetfile.tree import Renamer
from pypetx.core.batch import BatchResult, ResultMeta
from pypetx.core.values import stack_results

__all__ = ["WORKER", "run_batches"]

#: The ``worker`` of imported runs.
WORKER = "pypet"


def _values(pf: PypetFile, var: str, leaf: LeafRef, renamer: Renamer) -> dict[str, Any]:
    """Variable name -> value of what one leaf of a run holds (pypetx's naming: the item
    named like the leaf is ``var``, other items ``var.<item>``)."""
    items = pf.items(leaf)
    where = f"{pf.path} {leaf.path}"
    if is_parameter(leaf.cls):  # a derived parameter added in the run
        return {var: parameter_value(leaf.cls, items, where)[0]}
    own = leaf.path.rpartition(".")[2]
    return {var if item == own else f"{var}.{renamer.name(item)}": value
            for item, value in result_items(leaf.cls, items, where).items()}


def run_batches(pf: PypetFile, index: TrajectoryIndex, n_runs: int, gate: PickleGate,
                renamer: Renamer, batch_size: int = 256) -> Iterator[BatchResult]:
    """Batches of the runs that completed or stored something, in run order.

    Parameters
    ----------
    n_runs : int
        Runs of the exploration; nodes of runs beyond it are skipped with a warning.
    batch_size : int
        Runs per batch (what is read into memory at once).
    """
    where = f"{pf.path} trajectory {index.name!r}"
    by_run: dict[int, list[tuple[str, LeafRef]]] = {}
    comments: dict[str, str] = {}
    beyond = set()
    for run, var, leaf in index.run_leaves:
        if run >= n_runs:
            beyond.add(run)
            continue
        var = renamer.variable(var)
        by_run.setdefault(run, []).append((var, leaf))
        if leaf.comment:  # pypet keeps a comment on the first run's leaf only
            comments.setdefault(var, leaf.comment)
    if beyond:
        warnings.warn(f"{where}: nodes of runs {sorted(beyond)[:5]} skipped: the trajectory "
                      f"explores {n_runs} runs", stacklevel=2)
    completed = np.zeros(n_runs, bool)
    duration = np.full(n_runs, np.nan)
    known = min(n_runs, len(index.completed))
    completed[:known] = index.completed[:known]
    duration[:known] = index.duration[:known]
    runs = sorted(set(by_run) | set(np.flatnonzero(completed).tolist()))
    for start in range(0, len(runs), batch_size):
        chunk = np.asarray(runs[start:start + batch_size], dtype=np.int64)
        collected: dict[str, tuple[list[int], list[Any]]] = {}
        base: dict[str, str] = {}
        pickled: set[str] = set()
        for k, run in enumerate(chunk.tolist()):
            for var, leaf in by_run.get(run, ()):
                for name, value in _values(pf, var, leaf, renamer).items():
                    is_pickle = isinstance(value, Pickled)
                    keep, value = gate.load(value, name)
                    if not keep:
                        continue
                    if is_pickle or type(value).__module__.startswith("pandas"):
                        pickled.add(name)  # pandas: pickled keeps index and columns
                    entry = collected.setdefault(name, ([], []))
                    entry[0].append(k)
                    entry[1].append(value)
                    base[name] = var
        results, present = stack_results(collected, len(chunk), pickled=pickled)
        meta = {name: ResultMeta(comment=comments.get(base[name], ""),
                                 kind="pickle" if name in pickled else "scalar")
                for name in collected}
        yield BatchResult(
            indices=chunk, results=results, present=present,
            completed=completed[chunk], failed=np.zeros(len(chunk), bool),
            duration=duration[chunk], worker=WORKER,
            error=[""] * len(chunk), traceback=[""] * len(chunk), result_meta=meta,
        )
