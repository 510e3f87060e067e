"""Reopen stored results lazily: the cube, the tree, the list of trajectories.

Which format a path is, is the registry's answer (:mod:`pypetx.store.registry`); this module
asks it and reads through the backend's one handle (:func:`reading`). Every error names the
path and, where it applies, the group, so a user with many result files knows which one is
wrong.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import xarray as xr

from pypetx.base.errors import StorageError
from pypetx.store.backend import ResultsFile
from pypetx.store.codec import decode_tree
from pypetx.store.registry import backend_of, open_file
from pypetx.store.status import error_of, failures, traceback_of, worker_names, workers

__all__ = [
    "check_group",
    "error_of",
    "exploration_description",
    "explored_names",
    "failures",
    "list_trajectories",
    "open_results",
    "open_tree",
    "read_exploration",
    "read_tree",
    "reading",
    "stored_exploration",
    "traceback_of",
    "trajectory_attrs",
    "worker_names",
    "workers",
]

PathLike = str | os.PathLike[str]


_OPEN = threading.local()  # path -> the ResultsFile a ``reading`` block holds open


@contextmanager
def reading(path: PathLike) -> Iterator[ResultsFile]:
    """One read-only handle on the results file ``path`` for the whole block.

    Inside it, every function of this module called with the same path (listing and
    checking trajectories, their attributes, trees and explorations) reads through that
    handle instead of opening the file again; only a lazily opened cube gets its own (it
    outlives the block). Blocks nest: an inner one reuses the outer handle.

    Raises
    ------
    StorageError
        ``path`` is missing, not HDF5/Zarr, or truncated.
    """
    files = _OPEN.__dict__.setdefault("files", {})
    key = os.path.abspath(path)
    held = files.get(key)
    if held is not None:
        yield held
        return
    f = open_file(path)
    files[key] = f
    try:
        yield f
    finally:
        del files[key]
        f.close()


def list_trajectories(path: PathLike) -> list[str]:
    """Names of the pypetx trajectories (groups) stored in ``path``.

    Raises
    ------
    StorageError
        ``path`` is missing, not HDF5/Zarr, or truncated.
    """
    with reading(path) as f:
        return f.trajectories()


def check_group(path: PathLike, name: str | None) -> str:
    """The trajectory name to open in ``path`` (the only one when ``name`` is None).

    Raises
    ------
    StorageError
        Missing file, not a pypetx file, unknown group (lists the available ones).
    FormatVersionError
        The group was written by a newer pypetx format.
    """
    with reading(path) as f:
        return f.check(name)


def _group_attrs(path: PathLike, name: str) -> dict[str, Any]:
    with reading(path) as f:
        return f.attrs(name)


def trajectory_attrs(path: PathLike, name: str | None = None) -> dict[str, Any]:
    """The attributes of trajectory ``name``'s cube (what ``open_results(...).attrs``
    holds), without opening the cube."""
    with reading(path) as f:
        return f.attrs(f.check(name))


def open_results(path: PathLike, name: str | None = None, *,
                 chunks: dict[str, int] | None = None) -> xr.Dataset:
    """The result cube of trajectory ``name`` in ``path``, opened lazily (dask-chunked).

    Parameters
    ----------
    path : path-like
        HDF5 results file or Zarr store.
    name : str, optional
        Trajectory (group); may be omitted when the file holds only one.
    chunks : dict, optional
        Passed to :func:`xarray.open_dataset`; default ``{}`` (the stored chunks).
    """
    path = Path(path)
    backend = backend_of(path)
    with reading(path) as f:
        name = f.check(name)
    try:
        return backend.open_cube(path, name, chunks={} if chunks is None else chunks)
    except (OSError, ValueError, KeyError) as e:
        raise StorageError(f"cannot read {path} group {name}: {e}") from e


def open_tree(path: PathLike, name: str | None = None) -> xr.Dataset:
    """Trajectory ``name``'s stored tree as a Dataset in memory, values still encoded
    (nothing unpickled; :func:`read_tree` decodes them)."""
    with reading(path) as f:
        return f.tree(f.check(name))


def read_tree(path: PathLike, name: str | None = None, allow_pickle: bool = False
              ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The trajectory records (values decoded) and attributes stored with a cube.

    Raises
    ------
    PickleNotAllowedError
        A value is stored pickled and ``allow_pickle`` is False.
    """
    with reading(path) as f:
        name = f.check(name)
        tree = f.tree(name)
    return decode_tree(tree, allow_pickle=allow_pickle, where=f"{path} group {name}")


def explored_names(path: PathLike, name: str | None = None) -> list[str]:
    """Full names of the stored exploration's parameters (``["run"]`` when unexplored),
    without reading its values."""
    with reading(path) as f:
        return list(json.loads(f.attrs(f.check(name))["pypetx_exploration"])["names"])


def exploration_description(path: PathLike, name: str | None = None) -> dict[str, Any]:
    """The stored exploration's description (any version, see
    :mod:`pypetx.core.explore.codec`), without reading the values it refers to."""
    with reading(path) as f:
        return json.loads(f.attrs(f.check(name))["pypetx_exploration"])


def _read_exploration_as(path: PathLike, name: str | None,
                         read: Callable[[dict[str, Any], Any], Any]) -> Any:
    """``read(desc, arrays)`` of the stored exploration; the cube is opened only when
    the description refers to its coordinates."""
    from pypetx.core.explore import codec

    with reading(path) as f:
        name = f.check(name)
        desc = json.loads(f.attrs(name)["pypetx_exploration"])
    if not codec.refers_to_arrays(desc):
        return read(desc, None)
    with open_results(path, name) as ds:
        return read(desc, ds)


def read_exploration(path: PathLike, name: str | None = None, *,
                     convert: Callable[[str, list], list] | None = None) -> Any:
    """The stored :class:`~pypetx.core.explore.Exploration`: a grid rebuilt from its
    stored axes (``Exploration.decode``), a run layout from its runs.

    ``convert(name, values) -> values`` is applied to each value list first (see
    ``Exploration.decode``)."""
    from pypetx.core.explore import Exploration

    return _read_exploration_as(
        path, name, lambda desc, arrays: Exploration.decode(desc, arrays, convert=convert))


def stored_exploration(path: PathLike, name: str | None = None) -> dict[str, Any]:
    """The stored exploration as ``{"names", "columns", "axes", "repr"}`` (every run's
    values as JSON gives them), whichever description the file holds; to rebuild the
    exploration, :func:`read_exploration`."""
    from pypetx.core.explore import codec

    return _read_exploration_as(path, name, codec.version1)
