"""``import_pypet``: one trajectory of a pypet HDF5 file as a pypetx results file.

The tree (parameters, config, derived parameters, results outside runs) becomes the
stored trajectory; what the runs stored is written through the store's journal as
batches (as :mod:`pypetx.env.merge` does), so the result is an ordinary pypetx file:
``pypetx.open_results``, ``pypetx.load``/``Trajectory.f_load`` and ``pypetx show`` read it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from pypetx.compat.pypetfile.leaves import PickleGate
from pypetx.compat.pypetfile.reader import PypetFile, PypetFileError, require_tables
from pypetx.compat.pypetfile.runs import run_batches
from pypetx.compat.pypetfile.tree import Renamer, build_trajectory

__all__ = ["import_pypet"]


def _stored_names(path: Path) -> list[str]:
    from pypetx.store.load import list_trajectories

    return list_trajectories(path) if path.exists() else []


def _remove(path: Path) -> None:
    """Remove a results file and its journal directory."""
    for p in (path, path.parent / (path.name + ".pypetx")):
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def import_pypet(src: str | os.PathLike[str], dst: str | os.PathLike[str],
                 name: str | None = None, allow_pickle: bool = False, *,
                 overwrite: bool = False, storage: str = "auto",
                 batch_size: int = 256) -> Path:
    """Convert a trajectory of a pypet HDF5 file into a pypetx results file.

    Parameters
    ----------
    src : path-like
        The file pypet wrote (needs PyTables: ``pip install 'pypetx[tables]'``).
    dst : path-like
        The pypetx results file to write (``.zarr``: Zarr, else HDF5). An existing file
        gets the trajectory added, unless it already holds one of that name.
    name : str, optional
        The trajectory to import; default the only one, or the newest of several.
    allow_pickle : bool
        Unpickle pypet's pickled values (``PickleParameter``, ``PickleResult``...); off,
        they are skipped with a warning naming them (unpickling can run code).
    overwrite : bool
        Replace ``dst`` (the whole file) if it exists.
    storage : {"auto", "hdf5", "zarr"}
        Format of ``dst``.
    batch_size : int
        Runs read into memory at once.

    Returns
    -------
    pathlib.Path
        ``dst``; reopen it with ``pypetx.open_results(dst, name)`` or ``pypetx.load``.

    Raises
    ------
    PypetFileError
        ``src`` is not a pypet file, holds no trajectory ``name``, pypet never stored the
        trajectory's parameters, or ``dst`` already holds the trajectory.
    """
    from pypetx.core.explore import Exploration
    from pypetx.env.provenance import collect
    from pypetx.store import open_store

    require_tables()
    src, dst = Path(src), Path(dst)
    if src.exists() and dst.exists() and src.resolve() == dst.resolve():
        raise PypetFileError(f"{dst} is the pypet file itself; write to another file")
    with PypetFile(src, allow_pickle=allow_pickle) as pf:
        traj_name = pf.pick(name)
        index = pf.index(traj_name)
        where = f"{src} trajectory {traj_name!r}"
        gate, renamer = PickleGate(allow_pickle, where), Renamer(where)
        traj = build_trajectory(pf, index, gate, renamer)
        exploration = traj.exploration or Exploration({"run": [0]})  # pypet: one run
        if overwrite:
            _remove(dst)
        elif traj_name in _stored_names(dst):
            raise PypetFileError(f"{dst} already holds trajectory {traj_name!r}; pass "
                                 "overwrite=True (--overwrite) to replace the file")
        attrs = {"name": traj.name, "comment": traj.comment, "timestamp": traj._timestamp,
                 "provenance": collect(), "imported_from": _origin(src, index)}
        store = open_store(dst, traj.name, storage=storage)
        fresh = not store.journal_dir.exists()  # never remove a journal someone else left
        done = False
        try:
            store.open(exploration, traj.to_records(), attrs, resume=False)
            for batch in run_batches(pf, index, exploration.n_runs, gate, renamer,
                                     batch_size=batch_size):
                store.write_batch(batch)
            store.finalize({"provenance_end": collect(times_only=True)})
            done = True
        finally:
            journal = store.journal_dir
            store.close()
            if not done and fresh and journal.is_dir():  # a failed import leaves nothing
                shutil.rmtree(journal)
                if not any(journal.parent.iterdir()):
                    journal.parent.rmdir()
        gate.warn()
        renamer.warn()
    return dst


def _origin(src: Path, index: Any) -> dict[str, Any]:
    """Where the trajectory came from (the ``imported_from`` attribute)."""
    return {"file": str(src.resolve()), "trajectory": index.name,
            "pypet_version": index.pypet_version, "python": index.python_version,
            "runs_in_file": index.n_runs, "run_table": index.has_run_table}
