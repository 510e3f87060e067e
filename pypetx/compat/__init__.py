"""pypet compatibility: pypet's names over the pypetx core (see docs/migrating.md).

``from pypetx.compat import *`` gives a pypet script the names it imports from ``pypet``
(``Environment``, ``Trajectory``, ``cartesian_product``, the exceptions, ``manual_run``,
``pypetconstants``, ...); they are also importable from ``pypetx`` itself.
"""

from __future__ import annotations

from typing import Any

from pypetx.compat import constants as pypetconstants
from pypetx.compat.exceptions import (
    DataNotInStorageError,
    GitDiffError,
    NoSuchParameterError,
    NoSuchServiceError,
    NotUniqueNodeError,
    ParameterLockedException,
    PresettingError,
    TooManyGroupsError,
    VersionMismatchError,
)
from pypetx.compat.manual import MultiprocContext, manual_run
from pypetx.compat.shared import (
    SharedArray,
    SharedCArray,
    SharedEArray,
    SharedPandasFrame,
    SharedResult,
    SharedTable,
    SharedVLArray,
    StorageContextManager,
    make_ordinary_result,
    make_shared_result,
)

#: pypet names of the user-facing classes and functions (resolved on first use: the
#: environment, the trajectory and the explorations import more than a script may need).
_CORE = {
    "Environment": "pypetx.compat.environment",
    "Trajectory": "pypetx.compat.trajectory",
    "ParameterGroup": "pypetx.compat.trajectory",
    "ResultGroup": "pypetx.compat.trajectory",
    "DerivedParameterGroup": "pypetx.compat.trajectory:ParameterGroup",
    "ConfigGroup": "pypetx.compat.trajectory:ParameterGroup",
    "Parameter": "pypetx.compat.leaves",
    "ArrayParameter": "pypetx.compat.leaves",
    "SparseParameter": "pypetx.compat.leaves",
    "PickleParameter": "pypetx.compat.leaves",
    "BaseParameter": "pypetx.compat.leaves:Parameter",
    "Result": "pypetx.compat.leaves",
    "SparseResult": "pypetx.compat.leaves",
    "PickleResult": "pypetx.compat.leaves",
    "BaseResult": "pypetx.compat.leaves:Result",
    "ObjectTable": "pypetx.compat.objecttable",
    "NNGroupNode": "pypetx.compat.trajectory",
    "merge_all_in_folder": "pypetx.compat.merging",
    "NNLeafNode": "pypetx.compat.trajectory",
    "cartesian_product": "pypetx.core.explore",
    "find_unique_points": "pypetx.core.explore",
    "load_trajectory": "pypetx.compat.compat_load:load_trajectory",
    "HDF5StorageService": "pypetx.compat.storage",
    "LazyStorageService": "pypetx.compat.storage",
}

#: pypet-only names that exist only in compat.
PYPET_NAMES = (
    "DataNotInStorageError", "GitDiffError", "MultiprocContext", "NoSuchParameterError",
    "NoSuchServiceError", "NotUniqueNodeError", "ParameterLockedException", "PresettingError",
    "TooManyGroupsError", "VersionMismatchError", "manual_run", "pypetconstants",
    "pypetexceptions", "load_trajectory", "SharedArray", "SharedCArray", "SharedEArray",
    "SharedPandasFrame", "SharedResult", "SharedTable", "SharedVLArray",
    "StorageContextManager", "make_ordinary_result", "make_shared_result",
)

__all__ = sorted(set(PYPET_NAMES) | set(_CORE))


def __getattr__(name: str) -> Any:
    import importlib

    if name == "pypetexceptions":
        return importlib.import_module("pypetx.compat.exceptions")
    if name == "import_pypet":  # reading pypet's own files: pypetx/compat/pypetfile/
        return importlib.import_module("pypetx.compat.pypetfile").import_pypet
    target = _CORE.get(name)
    if target is None:
        raise AttributeError(f"module 'pypetx.compat' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr or name)
