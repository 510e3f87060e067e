"""Load a stored trajectory (tree + lazy result cube + exploration) and store it again.

``load(path)`` gives a :class:`~pypetx.core.trajectory.Trajectory` whose tree comes from the
file's ``<name>/_tree`` group, whose exploration is the stored one (so ``traj.v_idx = 3``
works) and whose results are the cube, opened lazily (``traj.dataset``). pypet's loading
modes apply per part of the tree (parameters and config, derived parameters, results):

========  ==================  ==============================================================
value     pypet name          meaning
========  ==================  ==============================================================
0         ``LOAD_NOTHING``    the part is not loaded
1         ``LOAD_SKELETON``   nodes with comments and annotations, but empty (see
                              :func:`load_item`); explored parameters keep their ranges
2         ``LOAD_DATA``       nodes and values
3         ``OVERWRITE_DATA``  as 2 (loading always replaces the tree in memory)
========  ==================  ==============================================================

Run results live in the cube whatever the mode: they are read cell by cell on access
(``traj.res.runs.run_00000001.z``), never all at once.

Modules: :mod:`~pypetx.env.loading.files` (which trajectory of a file),
:mod:`~pypetx.env.loading.reading` (tree and exploration from the file),
:mod:`~pypetx.env.loading.writing` (the tree to the file). Results and status of all
runs by pypet's names are :mod:`pypetx.compat.runinfo`.
"""

from __future__ import annotations

from pypetx.env.loading.files import trajectory_names
from pypetx.env.loading.reading import load, load_into, load_item, read_records
from pypetx.env.loading.writing import replace_stored, store

__all__ = ["load", "load_into", "load_item", "read_records", "replace_stored", "store",
           "trajectory_names"]
