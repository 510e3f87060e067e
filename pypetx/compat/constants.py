"""The ``pypetconstants`` names pypet scripts pass as arguments.

Only the values that scripts hand to pypetx (loading and storing modes, wrap modes, run
names) are kept, with pypet's values, so ``f_load(load_results=LOAD_DATA)`` and
``Environment(wrap_mode=WRAP_MODE_QUEUE)`` work unchanged. Internal storage-service
messages of pypet have no counterpart and are not provided.
"""

from __future__ import annotations

# -- loading (f_load, load) -----------------------------------------------------------------
#: Do not load this part of the tree.
LOAD_NOTHING = 0
#: Load the nodes (names, comments, annotations) but not their data.
LOAD_SKELETON = 1
#: Load nodes and data (run results stay lazy: they are read from the cube on access).
LOAD_DATA = 2
#: As LOAD_DATA, and replace data already in memory.
OVERWRITE_DATA = 3

# -- storing (f_store); pypetx rewrites the stored tree as a whole --------------------------
STORE_NOTHING = 0
STORE_DATA_SKIPPING = 1
STORE_DATA = 2
UPDATE_SKELETON = 1
UPDATE_DATA = 2

# -- wrap modes (Environment(wrap_mode=...)): accepted, no effect on Dask -------------------
WRAP_MODE_QUEUE = "QUEUE"
WRAP_MODE_LOCK = "LOCK"
WRAP_MODE_NONE = "NONE"
WRAP_MODE_PIPE = "PIPE"
WRAP_MODE_LOCAL = "LOCAL"
WRAP_MODE_NETLOCK = "NETLOCK"
WRAP_MODE_NETQUEUE = "NETQUEUE"

# -- run names -------------------------------------------------------------------------------
FORMAT_ZEROS = 8
RUN_NAME = "run_"
RUN_NAME_DUMMY = "run_ALL"
FORMATTED_RUN_NAME = RUN_NAME + "%0" + str(FORMAT_ZEROS) + "d"
SET_FORMAT_ZEROS = 5
SET_NAME = "run_set_"
SET_NAME_DUMMY = "run_set_ALL"
FORMATTED_SET_NAME = SET_NAME + "%0" + str(SET_FORMAT_ZEROS) + "d"
#: Runs per ``$set`` bucket (``run_set_00002`` holds runs 2000..2999).
SET_SIZE = 1000

# -- logging wildcards in log file names -----------------------------------------------------
LOG_ENV = "$env"
LOG_TRAJ = "$traj"
LOG_RUN = "$run"
LOG_PROC = "$proc"
LOG_HOST = "$host"
LOG_SET = "$set"
DEFAULT_LOGGING = "DEFAULT"

__all__ = [name for name in dir() if name.isupper()]
