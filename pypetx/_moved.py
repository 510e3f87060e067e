"""Import paths of modules that moved into the layer folders, kept working.

pypetx's modules live in one folder per layer (``base/``, ``core/``, ``store/``,
``engine/``, ``env/``, ...). Scripts, pickles and recorded functions written before the
move name the old flat paths (``pypetx.trajectory``, ``pypetx.errors``, ...): a finder in
:data:`sys.meta_path` maps each old name (and its submodules) to the module at
its new place, so both names give the very same module object. It comes first in the path: a
submodule of a moved package (``pypetx.explore.exploration``) would otherwise be found
in the package's new folder and executed a second time under its old name.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from types import ModuleType

#: old dotted path -> new dotted path (submodules follow their package).
MOVED = {
    "pypetx.errors": "pypetx.base.errors",
    "pypetx.config": "pypetx.base.config",
    "pypetx.tree": "pypetx.core.tree",
    # the user-facing classes (pypet's names included) of the old flat modules
    "pypetx.parameters": "pypetx.compat.leaves",
    "pypetx.trajectory": "pypetx.compat.trajectory",
    "pypetx.environment": "pypetx.compat.environment",
    "pypetx.runview": "pypetx.compat.runview",
    "pypetx.records": "pypetx.core.records",
    "pypetx.kinds": "pypetx.core.kinds",
    "pypetx.explore": "pypetx.core.explore",
    "pypetx.store.batch": "pypetx.core.batch",
    "pypetx.resume": "pypetx.env.resume",
    "pypetx.merge": "pypetx.env.merge",
    "pypetx.provenance": "pypetx.env.provenance",
    "pypetx.loading": "pypetx.env.loading",
}


def new_name(name: str) -> str | None:
    """The current path of the old module path ``name``, or None if it did not move."""
    head = name
    while head:
        if head in MOVED:
            return MOVED[head] + name[len(head):]
        head = head.rpartition(".")[0]
    return None


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self._target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self._target)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # Already executed under its own name; the import system has just replaced its
        # ``__spec__`` by the alias's: give it back its own.
        module.__spec__ = self._spec


class MovedFinder(importlib.abc.MetaPathFinder):
    """Resolves the old flat module paths to the modules in the layer folders."""

    def find_spec(self, fullname: str, path: object = None, target: object = None):
        target_name = new_name(fullname)
        if target_name is None:
            return None
        return importlib.util.spec_from_loader(fullname, _Alias(target_name))


def install() -> None:
    if not any(isinstance(f, MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedFinder())
