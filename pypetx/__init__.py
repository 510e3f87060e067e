"""pypetx: Dask-native parameter exploration (pypet's ideas and API on today's stack).

Declare parameters in a :class:`Trajectory`, explore them
(:func:`cartesian_product`, samplers), run a function on every point with
:class:`Environment` (Dask), and get the results as an :class:`xarray.Dataset` with
one dimension per explored parameter, stored in HDF5 or Zarr.
"""

from __future__ import annotations

from pypetx import _moved
from pypetx.base import config as _config  # registers the pypetx: section of dask.config
from pypetx._version import __version__

_moved.install()  # the flat paths of modules now in layer folders keep working

from pypetx.api import load, resume_file
from pypetx.compat.environment import Environment
from pypetx.base.errors import (
    AmbiguousNameError,
    ExplorationError,
    InvalidNameError,
    LinkError,
    NodeNotFoundError,
    ParameterLockedError,
    PickleNotAllowedError,
    PypetxError,
    StorageError,
    SweepFailed,
)
from pypetx.core.explore import (
    Exploration,
    cartesian_product,
    find_unique_points,
    latin_hypercube,
    random_sample,
    sobol,
    zip_product,
)
from pypetx.compat.leaves import (
    ArrayParameter,
    Parameter,
    PickleParameter,
    PickleResult,
    Result,
    SparseParameter,
    SparseResult,
)
from pypetx.compat.trajectory import ParameterGroup, ResultGroup, Trajectory
from pypetx.env.resume import ResumeError
from pypetx.sweep import sweep

__all__ = [
    "__version__",
    "AmbiguousNameError",
    "ArrayParameter",
    "Environment",
    "Exploration",
    "ExplorationError",
    "InvalidNameError",
    "LinkError",
    "NodeNotFoundError",
    "Parameter",
    "ParameterGroup",
    "ParameterLockedError",
    "PickleNotAllowedError",
    "PickleParameter",
    "PickleResult",
    "PypetxError",
    "Result",
    "ResultGroup",
    "ResumeError",
    "SparseParameter",
    "SparseResult",
    "StorageError",
    "SweepFailed",
    "TemplateError",
    "Trajectory",
    "cartesian_product",
    "error_of",
    "failures",
    "find_unique_points",
    "get_ragged",
    "get_ragged_at",
    "import_pypet",
    "latin_hypercube",
    "load",
    "open_results",
    "random_sample",
    "resume_file",
    "save",
    "sobol",
    "sweep",
    "adaptive",
    "optimize",
    "to_grid",
    "traceback_of",
    "worker_names",
    "workers",
    "zip_product",
]


# Reading results needs xarray (~0.25 s to import): loaded on first use, so that
# ``import pypetx`` stays light for scripts that only declare and run.
_LAZY = {"open_results": "pypetx.store.load", "failures": "pypetx.store.load"}
_LAZY["save"] = "pypetx.env.save"  # stores a lazy sweep (pypetx.sweep(..., lazy=True))
# per-run status and ragged results (spike trains) of a results Dataset
_LAZY.update(dict.fromkeys(["error_of", "traceback_of", "workers", "worker_names"],
                           "pypetx.store.status"))
_LAZY.update(dict.fromkeys(["get_ragged", "get_ragged_at"], "pypetx.store.ragged"))
_LAZY["TemplateError"] = "pypetx.env.blocks"  # a lazy sweep's point outgrew its template
_LAZY["import_pypet"] = "pypetx.compat.pypetfile"  # pypet's own files -> pypetx files
_LAZY.update(dict.fromkeys(("adaptive", "optimize", "to_grid"), "pypetx.adaptive_api"))


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    # pypet's names (NotUniqueNodeError, manual_run, pypetconstants, ...) resolve from
    # pypetx.compat, so ``from pypetx import ...`` works for a pypet script without
    # putting them into the documented namespace.
    from pypetx import compat

    if name in compat.__all__:
        return getattr(compat, name)
    raise AttributeError(f"module 'pypetx' has no attribute {name!r}")
