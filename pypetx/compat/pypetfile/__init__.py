"""Reading files written by pypet itself (PyTables layout) into pypetx results files.

``import_pypet(src, dst)`` (also ``pypetx import-pypet old.h5 new.h5``) converts one
trajectory; see docs/migrating.md ("Reading old pypet files") for what is kept.

Modules: :mod:`.reader` (the file as plain records, read with h5py), :mod:`.nodes` (one
stored item as a Python value), :mod:`.leaves` (pypet's parameter and result classes),
:mod:`.grid` (grid axes from explored columns), :mod:`.tree` (the pypetx Trajectory),
:mod:`.runs` (run results as journal batches), :mod:`.convert` (the whole import).
"""

from __future__ import annotations

from pypetx.compat.pypetfile.convert import import_pypet
from pypetx.compat.pypetfile.reader import PypetFile, PypetFileError

__all__ = ["PypetFile", "PypetFileError", "import_pypet", "list_pypet_trajectories"]


def list_pypet_trajectories(path: str) -> list[str]:
    """Names of the trajectories in a pypet file, oldest first."""
    with PypetFile(path) as pf:
        return pf.trajectories()
