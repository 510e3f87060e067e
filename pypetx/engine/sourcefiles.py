"""Keep the user's file names in tracebacks of functions shipped by value.

cloudpickle sends functions of ``__main__`` (a user's script) by value and, to keep its
payload deterministic, renames their code's file to ``"<dynamic-code>"``: a failed run's
stored traceback then says ``File "<dynamic-code>", line 4, in f`` instead of the script
and line. :func:`source_files` records the real file of each function shipped (the run
function, its hooks and the functions of the same script they call) before pickling;
:func:`restore_source_files` puts it back into the unpickled code objects on the worker,
so tracebacks (and ``linecache``, which shows the source line) name the user's file.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Iterable
from typing import Any

__all__ = ["restore_source_files", "source_files"]

#: The file name cloudpickle gives the code of functions it pickles by value.
DYNAMIC = "<dynamic-code>"


def _functions(roots: Iterable[Any]) -> Iterable[types.FunctionType]:
    """The plain functions among ``roots`` (partials unwrapped) and the functions of
    their own module that they name as globals (one level: what a script's ``f`` calls)."""
    seen: set[int] = set()
    for root in roots:
        while isinstance(root, functools.partial):
            root = root.func
        if not isinstance(root, types.FunctionType) or id(root) in seen:
            continue
        seen.add(id(root))
        yield root
        for name in root.__code__.co_names:
            g = root.__globals__.get(name)
            if (isinstance(g, types.FunctionType) and id(g) not in seen
                    and g.__module__ == root.__module__):
                seen.add(id(g))
                yield g


def _key(fn: types.FunctionType) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def source_files(*roots: Any) -> dict[str, str]:
    """``{module:qualname: file}`` of the functions :func:`_functions` finds (driver)."""
    return {_key(f): f.__code__.co_filename for f in _functions(roots)
            if f.__code__.co_filename != DYNAMIC}


def _renamed(code: types.CodeType, filename: str) -> types.CodeType:
    consts = tuple(_renamed(c, filename) if isinstance(c, types.CodeType)
                   and c.co_filename == DYNAMIC else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def restore_source_files(files: dict[str, str], *roots: Any) -> None:
    """Give the unpickled functions among ``roots`` their recorded files back (worker)."""
    if not files:
        return
    for f in _functions(roots):
        filename = files.get(_key(f))
        if filename and f.__code__.co_filename == DYNAMIC:
            f.__code__ = _renamed(f.__code__, filename)
