"""A stored sweep's map state, read from its results file and its journal.

Reads only: the consolidated cube (status variables, numeric scalar results) and, for a
sweep that stopped before consolidating (killed, crashed, still running), the batch files
of its journal on top. Nothing is written, locked or cleaned up, so it is safe next to a
running sweep.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from pypetx.engine.dashboard.links import sweep_id
from pypetx.engine.dashboard.state import SweepDefinition, SweepState

__all__ = ["journal_trajectories", "stored_state"]

#: A complete batch file of a journal (partial writes end in ``.part``).
_BATCH = re.compile(r"^\d{10}\.npz$")


def _journal_dir(path: Path, name: str) -> Path:
    return path.parent / (path.name + ".pypetx") / name


def journal_trajectories(path: str | os.PathLike[str]) -> list[str]:
    """Trajectories with a journal next to ``path`` (a sweep that never consolidated)."""
    root = Path(path)
    root = root.parent / (root.name + ".pypetx")
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and (p / "exploration.json").exists())


def _exploration(path: Path, name: str) -> tuple[Any, Any]:
    """The stored exploration (the journal's, if any, is the newest) and the cube or None."""
    from pypetx.store.layout import exploration_from_json

    journal = _journal_dir(path, name)
    ds = None
    if path.exists():
        from pypetx.store.load import list_trajectories, open_results

        if name in list_trajectories(path):
            ds = open_results(path, name)
    described = journal / "exploration.json"
    if described.exists():
        desc = json.loads(described.read_text())

        def arrays(ref: Any) -> np.ndarray:
            return np.load(journal / f"exploration-{ref['sha1']}.npy", allow_pickle=False)

        return exploration_from_json(desc, arrays), ds
    if ds is None:
        from pypetx.base.errors import StorageError

        raise StorageError(f"{path} holds no trajectory {name!r} and no journal of it")
    return exploration_from_json(json.loads(ds.attrs["pypetx_exploration"]), ds), ds


def _per_run(values: np.ndarray, cells: np.ndarray) -> np.ndarray:
    flat = np.asarray(values).ravel()
    keep = cells < flat.size  # runs an expansion added after the cube was written
    out = np.zeros(len(cells), flat.dtype) if flat.dtype.kind != "f" else np.full(
        len(cells), np.nan)
    out[keep] = flat[cells[keep]]
    return out


def _from_cube(state: SweepState, ds: Any, cells: np.ndarray) -> None:
    from pypetx.store.status import failures, workers

    completed = _per_run(ds["completed"].values, cells).astype(bool)
    failed = _per_run(ds["failed"].values, cells).astype(bool) & ~completed
    duration = _per_run(ds["duration"].values, cells).astype(np.float64)
    names = [str(w) for w in _per_run(workers(ds).values, cells)]
    codes = np.zeros(len(cells), np.uint8)
    codes[completed], codes[failed] = 2, 3
    table = failures(ds)
    errors = {int(r): str(e).strip().splitlines()[0] if str(e).strip() else "failed"
              for r, e in zip(table.index.tolist(), table["error"].tolist())}
    status_dims = ds["completed"].dims
    results = {}
    for var, da in ds.data_vars.items():
        if (da.dims == status_dims and da.dtype.kind in "biuf"
                and var not in ("completed", "failed", "duration", "worker")):
            values = _per_run(da.values, cells).astype(np.float64)
            results[str(var)] = np.where(completed, values, np.nan)
    ran = completed | failed
    idx = np.flatnonzero(ran)
    uniq = sorted(set(names[i] for i in idx) - {""})
    code_of = {w: k for k, w in enumerate(uniq)}
    state.finished(idx, codes[idx], duration[idx],
                   np.array([code_of.get(names[i], -1) for i in idx], np.int64), uniq,
                   {r: e for r, e in errors.items() if failed[r]},
                   {k: v[idx] for k, v in results.items()}, [], when=state.started)


def _from_journal(state: SweepState, journal: Path) -> None:
    from pypetx.store.journal import JournalEntry

    if not journal.is_dir():
        return
    files = sorted(p for p in journal.iterdir() if _BATCH.match(p.name))
    for p in files:
        entry = JournalEntry(p, int(p.name[:10]))
        try:
            idx = np.asarray(entry.indices, np.int64)
            completed = np.asarray(entry.status("completed"), bool)
            failed = np.asarray(entry.status("failed"), bool) & ~completed
            duration = np.asarray(entry.status("duration"), np.float64)
            names, codes = entry.workers()
            rows, errors, _ = entry.messages()
        finally:
            entry.close()
        state_codes = np.where(completed, 2, np.where(failed, 3, 0)).astype(np.uint8)
        errs = {int(idx[r]): (str(e).strip().splitlines() or ["failed"])[0]
                for r, e in zip(rows.tolist(), errors.tolist()) if failed[r]}
        state.finished(idx, state_codes, duration, codes, names, errs, {}, [],
                       when=p.stat().st_mtime)


def stored_state(path: str | os.PathLike[str], name: str) -> SweepState:
    """The map state of trajectory ``name`` as stored in ``path`` (and its journal).

    Parameters
    ----------
    path : path-like
        HDF5 results file or Zarr store (it need not exist when a journal does).
    name : str
        Trajectory.
    """
    path = Path(path)
    exploration, ds = _exploration(path, name)
    try:
        definition = SweepDefinition.from_exploration(
            exploration, sweep=sweep_id(str(path), name), name=name, file=str(path))
        state = SweepState(definition, todo=np.zeros(exploration.n_runs, bool),
                           started=_started(ds, path))
        cells = exploration.cells() if exploration.is_grid else np.arange(exploration.n_runs)
        if ds is not None:
            _from_cube(state, ds, np.asarray(cells, np.int64))
        _from_journal(state, _journal_dir(path, name))
    finally:
        if ds is not None:
            ds.close()
    state.end(_ended(ds, path, state))
    return state


def _started(ds: Any, path: Path) -> float:
    prov = _json(ds.attrs.get("provenance")) if ds is not None else {}
    stamp = prov.get("start_time")
    if stamp:
        from datetime import datetime

        try:
            return datetime.fromisoformat(str(stamp)).timestamp()
        except ValueError:
            pass
    return path.stat().st_mtime if path.exists() else 0.0


def _ended(ds: Any, path: Path, state: SweepState) -> float:
    end = _json(ds.attrs.get("provenance_end")) if ds is not None else {}
    if end.get("time"):
        from datetime import datetime

        try:
            return datetime.fromisoformat(str(end["time"])).timestamp()
        except ValueError:
            pass
    return max(state.started, path.stat().st_mtime if path.exists() else state.started)


def _json(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw) if isinstance(raw, str) else (raw or {})
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
