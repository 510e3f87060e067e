"""Brian2 code generation on Dask workers: the target and a per-worker Cython cache.

Brian2's Cython target compiles every code object into a shared cache directory
(``prefs.codegen.runtime.cython.cache_dir``, default ``~/.cython/brian_extensions``).
Several worker processes compiling the same model at once then race on the same files;
giving each worker its own directory avoids that. The directory is named after the Dask
worker's *name* (stable across restarts of a LocalCluster, e.g. ``0``, ``1``) so a
worker reuses what it compiled in earlier sweeps instead of recompiling per process.
"""

from __future__ import annotations

import os
import re
from typing import Any

__all__ = ["use_target", "worker_cache_dir"]


def _worker_label() -> str:
    try:
        from distributed import get_worker

        name = str(get_worker().name)
    except (ImportError, ValueError):
        name = f"pid{os.getpid()}"  # not on a Dask worker (synchronous runs, the driver)
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def worker_cache_dir(base: str | os.PathLike[str] | None = None) -> str:
    """This worker's Cython cache directory: ``<base>/worker-<dask worker name>``.

    ``base`` defaults to ``$PYPETX_BRIAN2_CACHE`` or ``~/.cython/brian_extensions/pypetx``.
    """
    if base is None:
        base = os.environ.get("PYPETX_BRIAN2_CACHE") or os.path.join(
            os.path.expanduser("~"), ".cython", "brian_extensions", "pypetx")
    path = os.path.join(os.fspath(base), f"worker-{_worker_label()}")
    os.makedirs(path, exist_ok=True)
    return path


def use_target(target: str = "numpy", *, cache_dir: str | os.PathLike[str] | None = None) -> Any:
    """Set Brian2's code generation target in this process (call it inside the run).

    Parameters
    ----------
    target : {"numpy", "cython", "auto"}
        ``prefs.codegen.target``.
    cache_dir : path-like, optional
        Base of the per-worker Cython caches (see :func:`worker_cache_dir`); only used for
        ``"cython"``/``"auto"``.

    Returns
    -------
    str or None
        The Cython cache directory in use, or None for the numpy target.
    """
    from brian2 import prefs

    prefs.codegen.target = target
    if target == "numpy":
        return None
    path = worker_cache_dir(cache_dir)
    prefs.codegen.runtime.cython.cache_dir = path
    return path
