"""pypet's loading modes: how much of a part of the tree ``load``/``f_load`` reads.

Plain integers with pypet's values, so scripts passing ``pypetconstants.LOAD_DATA`` (or
``2``) work unchanged; :mod:`pypetx.compat.constants` takes them from here.
"""

from __future__ import annotations

__all__ = ["LOAD_DATA", "LOAD_NOTHING", "LOAD_SKELETON", "MODES", "OVERWRITE_DATA"]

#: Do not load this part of the tree.
LOAD_NOTHING = 0
#: Load the nodes (names, comments, annotations) but not their data.
LOAD_SKELETON = 1
#: Load nodes and data (run results stay lazy: they are read from the cube on access).
LOAD_DATA = 2
#: As LOAD_DATA, and replace data already in memory.
OVERWRITE_DATA = 3
#: Every mode, by value.
MODES = {LOAD_NOTHING: "LOAD_NOTHING", LOAD_SKELETON: "LOAD_SKELETON", LOAD_DATA: "LOAD_DATA",
         OVERWRITE_DATA: "OVERWRITE_DATA"}
