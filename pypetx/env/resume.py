"""Continuing stored sweeps: the recorded function, compatibility checks, ``resume_file``.

A sweep records which function it ran (``module:qualname`` when importable; optionally a
cloudpickle copy), so ``pypetx resume results.h5`` can continue it without the script.
Resuming with a changed trajectory or function is refused with what differs: mixing
results of two different models in one cube would be silent corruption.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pypetx.base.errors import PickleNotAllowedError, PypetxError, StorageError


class ResumeError(PypetxError):
    """The stored sweep cannot be continued as asked (the message says why)."""


def function_ref(fn: Callable) -> str | None:
    """``"module:qualname"`` when ``fn`` can be imported back, else ``None``."""
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<locals>" in qualname:
        return None
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return f"{module}:{qualname}" if obj is fn else None


def _signature(fn: Callable) -> str:
    try:
        return f"{getattr(fn, '__name__', type(fn).__name__)}{inspect.signature(fn)}"
    except (TypeError, ValueError):
        return getattr(fn, "__name__", repr(fn))


def function_attrs(fn: Callable, store_pickle: bool = False) -> dict[str, Any]:
    """Attributes recording the sweep's function in the results file."""
    attrs: dict[str, Any] = {"pypetx_function": function_ref(fn) or "",
                             "pypetx_function_signature": _signature(fn)}
    if store_pickle:
        import cloudpickle

        attrs["pypetx_function_pickle"] = base64.b64encode(cloudpickle.dumps(fn)).decode()
    return attrs


def _stored_attrs(path: str, name: str) -> dict[str, Any] | None:
    # the group's attributes through one file handle: opening the cube as a Dataset only
    # to read them cost ~0.1 s of every resume
    from pypetx.store.registry import open_file

    if not os.path.exists(path):
        return None
    with open_file(path) as f:
        return f.attrs(name) if name in f.trajectories() else None


def finished_sweep(path: str, name: str, exploration: Any, journal_dir: Path,
                   rerun_failed: bool = False) -> Any:
    """The stored trajectory ``name`` of ``path``, opened, when it holds every run of
    ``exploration`` (none failed unless ``rerun_failed`` is false, no journal left), so
    that a resume has nothing to run (or write); else ``None``."""
    from pypetx.store.layout import describe_exploration
    from pypetx.store.load import list_trajectories, open_results

    if not os.path.exists(path) or name not in list_trajectories(path):
        return None
    if journal_dir.is_dir() and any(journal_dir.glob("*.npz")):
        return None
    ds = open_results(path, name)
    left = ~ds.completed.values.astype(bool)
    if not rerun_failed:
        left &= ~ds.failed.values.astype(bool)
    same = ds.attrs.get("pypetx_exploration") == json.dumps(describe_exploration(exploration)[0])
    if not same or left.any():
        ds.close()
        return None
    return ds


def recorded_function(path: str, name: str | None = None, *, allow_pickle: bool = False
                      ) -> Callable:
    """The function a stored sweep ran: imported by reference, or unpickled (opt-in)."""
    from pypetx.store.load import check_group

    name = check_group(path, name)
    attrs = _stored_attrs(path, name) or {}
    ref = attrs.get("pypetx_function", "")
    if ref:
        module, _, qualname = ref.partition(":")
        try:
            obj: Any = importlib.import_module(module)
            for part in qualname.split("."):
                obj = getattr(obj, part)
            return obj
        except (ImportError, AttributeError) as exc:
            raise ResumeError(f"{path} group {name}: the recorded function {ref} cannot be "
                              f"imported ({exc}); pass the function explicitly") from None
    if "pypetx_function_pickle" in attrs:
        if not allow_pickle:
            raise PickleNotAllowedError(
                f"{path} group {name}: the function is stored pickled; loading it runs code "
                f"from the file: pass allow_pickle=True if you trust it")
        import cloudpickle

        return cloudpickle.loads(base64.b64decode(attrs["pypetx_function_pickle"]))
    raise ResumeError(
        f"{path} group {name}: its function ({attrs.get('pypetx_function_signature', '?')}) "
        f"was defined in a script, so it cannot be imported back; resume from the script "
        f"(Environment(..., resume=True)) or run with store_function=True next time")


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape \
            and bool(np.array_equal(a, b))
    if hasattr(a, "equals") and type(a) is type(b):
        return bool(a.equals(b))
    if hasattr(a, "toarray") and hasattr(b, "toarray"):
        return a.shape == b.shape and (a != b).nnz == 0
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def check_compatible(path: str, traj: Any, fn: Callable | None) -> None:
    """Refuse to resume when non-explored parameters or the function changed.

    Raises
    ------
    ResumeError
        Listing every parameter whose value differs and/or the function change; pass
        ``force=True`` to the Environment to resume anyway.
    """
    from pypetx.store.load import read_tree

    attrs = _stored_attrs(path, traj.name)
    if attrs is None:
        return  # nothing stored yet (a crash before the first consolidation): nothing to compare
    problems = []
    try:
        records, _ = read_tree(path, traj.name, allow_pickle=False)
    except PickleNotAllowedError:
        records = []  # pickled values cannot be compared without unpickling them
    except StorageError:
        records = []
    current = {r["path"]: r for r in traj.to_records()}
    for rec in records:
        if rec["type"] not in ("parameter", "config", "derived") or rec.get("explored"):
            continue
        now = current.get(rec["path"])
        if now is None:
            problems.append(f"{rec['path']} is stored but no longer in the trajectory")
        elif not now.get("explored") and not _equal(rec["value"], now["value"]):
            problems.append(f"{rec['path']}: stored {rec['value']!r}, now {now['value']!r}")
    stored_params = {r["path"] for r in records if r["type"] == "parameter"}
    for path_, rec in current.items():
        if records and rec["type"] == "parameter" and path_ not in stored_params:
            problems.append(f"{path_} is new (not in the stored trajectory)")
    if fn is not None:
        # The parameters must match; a fixed function may carry a new name.
        old_sig, new_sig = attrs.get("pypetx_function_signature", ""), _signature(fn)
        if old_sig and old_sig[old_sig.find("("):] != new_sig[new_sig.find("("):]:
            problems.append(f"function: stored {old_sig}, now {new_sig}")
    if problems:
        raise ResumeError(
            f"cannot resume {path} group {traj.name}: the trajectory differs from the stored "
            f"one:\n  " + "\n  ".join(problems) + "\npass force=True to resume anyway")


def load_for_resume(path: str, name: str | None = None, *, cls: type | None = None) -> Any:
    """The stored trajectory (tree, exploration, lazy cube), ready for
    ``Environment(resume=True)``; of class ``cls`` (default: the core
    :class:`~pypetx.core.trajectory.Trajectory`). :func:`pypetx.env.loading.reading.load`
    with nothing unpickled."""
    from pypetx.env.loading.reading import load

    return load(path, name, allow_pickle=False, cls=cls)


__all__ = ["ResumeError", "check_compatible", "function_attrs", "function_ref",
           "load_for_resume", "recorded_function"]
