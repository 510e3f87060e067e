"""The ``pypetconstants`` names pypet scripts pass as arguments.

Only the values that scripts hand to pypetx (loading and storing modes, wrap modes, run
names) are kept, with pypet's values, so ``f_load(load_results=LOAD_DATA)`` and
``Environment(wrap_mode=WRAP_MODE_QUEUE)`` work unchanged. Internal storage-service
messages of pypet have no counterpart and are not provided.
"""

from __future__ import annotations

# -- loading (f_load, load): defined with the loader -----------------------------------------
from pypetx.env.loading.modes import LOAD_DATA, LOAD_NOTHING, LOAD_SKELETON, OVERWRITE_DATA

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

# -- pypet's string lengths (its HDF5 overview tables); scripts size names and values by them
HDF5_STRCOL_MAX_NAME_LENGTH = 128
HDF5_STRCOL_MAX_LOCATION_LENGTH = 512
HDF5_STRCOL_MAX_VALUE_LENGTH = 64
HDF5_STRCOL_MAX_COMMENT_LENGTH = 512
HDF5_STRCOL_MAX_RANGE_LENGTH = 1024
HDF5_STRCOL_MAX_RUNTIME_LENGTH = 18
HDF5_MAX_OVERVIEW_TABLE_LENGTH = 1000

__all__ = [name for name in dir() if name.isupper()]
