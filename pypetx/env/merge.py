"""Merging two stored trajectories with the same parameters (pypet's ``f_merge``).

The other trajectory's runs are appended to this one's exploration (the grid grows when
the union is a grid, else a ``run`` layout) and its stored results are written into this
trajectory's store as ordinary batches, through the same crash-safe journal as a sweep:
a merge interrupted half-way resumes like any sweep.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pypetx.base.errors import PypetxError
from pypetx.core.explore import find_unique_points
from pypetx.core.batch import BatchResult, ResultMeta


class MergeError(PypetxError):
    """The trajectories cannot be merged (the message says what differs)."""


_STATUS = ("completed", "failed", "duration")


def _check_same_parameters(traj: Any, other: Any) -> None:
    from pypetx.env.resume import _equal

    mine = {r["path"]: r for r in traj.to_records() if r["type"] == "parameter"}
    theirs = {r["path"]: r for r in other.to_records() if r["type"] == "parameter"}
    problems = [f"{p} only in {traj.name!r}" for p in sorted(set(mine) - set(theirs))]
    problems += [f"{p} only in {other.name!r}" for p in sorted(set(theirs) - set(mine))]
    for path in sorted(set(mine) & set(theirs)):
        a, b = mine[path], theirs[path]
        if a["explored"] or b["explored"]:
            continue
        if not _equal(a["value"], b["value"]):
            problems.append(f"{path}: {a['value']!r} in {traj.name!r}, {b['value']!r} in "
                            f"{other.name!r} (explore it in both to merge)")
    ex_a = set(traj.exploration.names) if traj.exploration else set()
    ex_b = set(other.exploration.names) if other.exploration else set()
    if ex_a != ex_b:
        problems.append(f"explored parameters differ: {sorted(ex_a)} vs {sorted(ex_b)}")
    if problems:
        raise MergeError(f"cannot merge {other.name!r} into {traj.name!r}:\n  "
                         + "\n  ".join(problems))


def _kept_runs(traj: Any, other: Any, remove_duplicates: bool) -> np.ndarray:
    n_other = other.exploration.n_runs
    if not remove_duplicates:
        return np.arange(n_other)
    names = list(traj.exploration.names)
    both = {n: list(traj.exploration.column(n)) + list(other.exploration.column(n))
            for n in names}
    n_mine = traj.exploration.n_runs
    keep = np.ones(n_other, bool)
    for _, idx in find_unique_points(both):
        first = min(idx)
        for i in idx:
            if i != first and i >= n_mine:
                keep[i - n_mine] = False
    return np.flatnonzero(keep)


def _batches(other_ds: Any, other: Any, kept: np.ndarray, new_index: np.ndarray,
             allow_pickle: bool, size: int = 4096):
    """Other's stored runs as BatchResults with their new run indices."""
    from pypetx.store.layout import PICKLE, RAGGED, explored_dims
    from pypetx.store.sources import CubeSource, stored_infos

    dims = explored_dims(other.exploration)
    src = CubeSource(other_ds, dims, np.asarray(other.exploration.positions),
                     stored_infos(other_ds, dims))
    row_of = {run: row for row, run in enumerate(src.runs.tolist())}
    rows_all = np.array([row_of[r] for r in kept.tolist() if r in row_of], dtype=np.int64)
    new_all = np.array([new_index[k] for k, r in enumerate(kept.tolist()) if r in row_of],
                       dtype=np.int64)
    for start in range(0, len(rows_all), size):
        rows, idx = rows_all[start:start + size], new_all[start:start + size]
        results, present, meta = {}, {}, {}
        for name, info in src.infos.items():
            if info.mode == PICKLE and not allow_pickle:
                raise MergeError(f"{other.name!r}: result {name!r} is stored pickled; "
                                 f"merge with allow_pickle=True if you trust the file")
            mask = src.present(name, rows)
            if info.mode == RAGGED:
                shapes = src.shapes(name, rows)
                flats = src.flat(name, rows)
                results[name] = [None if f is None else f.reshape(s)
                                 for f, s in zip(flats, shapes)]
            elif info.mode == PICKLE:
                import cloudpickle

                results[name] = [cloudpickle.loads(b) if b else None
                                 for b in src.blobs(name, rows)]
            else:
                results[name] = src.fixed(name, rows)
            present[name] = mask
            meta[name] = ResultMeta(comment=info.meta.get("comment", ""),
                                    units=info.meta.get("units"),
                                    dims=tuple(info.meta["dims"]) if info.meta.get("dims") else None,
                                    kind=info.meta.get("kind", "scalar"),
                                    attrs=info.meta.get("attrs") or {})
        status = {s: src.status(s, rows) for s in _STATUS}
        errors, tracebacks = src.messages(rows)
        yield BatchResult(
            indices=idx, results=results, present=present,
            completed=np.asarray(status["completed"], bool),
            failed=np.asarray(status["failed"], bool),
            duration=np.asarray(status["duration"], np.float64),
            worker="merged:" + other.name,
            error=[str(e) for e in errors],
            traceback=[str(t) for t in tracebacks],
            result_meta=meta,
        )


def merge(traj: Any, other: Any, *, remove_duplicates: bool = False,
          allow_pickle: bool = False) -> Any:
    """Append ``other``'s runs and stored results to ``traj`` (both stored, same parameters).

    Parameters
    ----------
    traj, other : Trajectory
        Trajectories with datasets (after ``env.run`` or ``pypetx.load``).
    remove_duplicates : bool
        Skip runs of ``other`` whose explored values already occur in ``traj``.
    allow_pickle : bool
        Needed when ``other`` stores pickled results.

    Returns
    -------
    xarray.Dataset
        ``traj``'s merged, stored Dataset (also ``traj.dataset``).
    """
    from pypetx.env.provenance import collect
    from pypetx.store import open_store

    for t in (traj, other):
        if t.dataset is None or t._store_path is None:
            raise MergeError(f"trajectory {t.name!r} has no stored results to merge; run or "
                             f"load it first")
    _check_same_parameters(traj, other)
    kept = _kept_runs(traj, other, remove_duplicates)
    n_mine = traj.exploration.n_runs
    if len(kept) == other.exploration.n_runs:
        new = other.exploration  # all of it: two grids merge from their axis values
    else:
        new = {n: other.exploration.values_at(n, kept) for n in traj.exploration.names}
    if len(kept):
        traj._set_exploration(traj.exploration.expand(new))
    new_index = np.arange(n_mine, n_mine + len(kept))
    other_ds = other.dataset
    store = open_store(traj._store_path, traj.name)
    try:
        store.open(traj.exploration, traj.to_records(),
                   {"name": traj.name, "comment": traj.comment,
                    "merged_from": other.name, "provenance": collect()}, resume=True)
        for batch in _batches(other_ds, other, kept, new_index, allow_pickle):
            store.write_batch(batch)
        traj._dataset = store.finalize({"provenance_end": collect(times_only=True)})
    finally:
        store.close()
    return traj._dataset
