"""What a storage backend provides: the entrypoint protocol, as xarray's backends have it.

A backend (:mod:`pypetx.store.hdf5`, :mod:`pypetx.store.zarr`) is a small
:class:`StorageBackend` subclass registered under its storage name in
:mod:`pypetx.store.registry`. It says whether it can open a path
(:meth:`~StorageBackend.guess_can_open`) and how to write a trajectory there (its
:class:`~pypetx.store.base.JournaledStore` subclass), read it back (:meth:`open_file`: one
handle for the trajectories, their attributes and trees; :meth:`open_cube`: the lazy
result cube) and copy or remove it. Nothing here asks which format a path is: the
registry asks the backends.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from pypetx.base.errors import FormatVersionError, StorageError
from pypetx.store.base import JournaledStore
from pypetx.store.codec import TREE_GROUP
from pypetx.store.layout import FORMAT_VERSION

__all__ = ["ResultsFile", "StorageBackend"]

PathLike = str | os.PathLike[str]


class ResultsFile:
    """One open results file: its trajectories, their attributes and trees.

    Everything is read through the one handle the backend opened, so asking for the
    trajectories, checking one and reading its tree costs one file open. Backends
    implement :meth:`_trajectories`, :meth:`_attrs`, :meth:`_read` and :meth:`close`.
    """

    def __init__(self, path: PathLike):
        self.path = Path(path)
        self._names: list[str] | None = None
        self._attr_cache: dict[str, dict[str, Any]] = {}

    # backend hooks ---------------------------------------------------------------------

    def _trajectories(self) -> list[str]:
        """Groups holding a pypetx trajectory (a ``pypetx_format_version`` attribute)."""
        raise NotImplementedError

    def _attrs(self, group: str) -> dict[str, Any]:
        raise NotImplementedError

    def _read(self, group: str) -> xr.Dataset:
        """Group ``group`` read into memory."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the handle."""

    # reading ---------------------------------------------------------------------------

    def trajectories(self) -> list[str]:
        """Names of the pypetx trajectories in the file, sorted."""
        if self._names is None:
            self._names = sorted(self._trajectories())
        return list(self._names)

    def attrs(self, name: str) -> dict[str, Any]:
        """The attributes of trajectory ``name``'s cube, as xarray gives them."""
        if name not in self._attr_cache:
            self._attr_cache[name] = self._attrs(name)
        return dict(self._attr_cache[name])

    def check(self, name: str | None) -> str:
        """The trajectory to read (the only one when ``name`` is None).

        Raises
        ------
        StorageError
            No pypetx trajectory, several and no ``name``, or none called ``name`` (the
            message lists the available ones).
        FormatVersionError
            The group was written by a newer pypetx format.
        """
        names = self.trajectories()
        if not names:
            raise StorageError(f"{self.path} holds no pypetx trajectory "
                               "(not written by pypetx?)")
        if name is None:
            if len(names) > 1:
                raise StorageError(f"{self.path} holds several trajectories "
                                   f"({', '.join(names)}); pass name= to choose one")
            name = names[0]
        if name not in names:
            raise StorageError(f"{self.path} has no trajectory {name!r}; "
                               f"available: {', '.join(names)}")
        version = self.attrs(name).get("pypetx_format_version")
        if version is not None:
            version = int(np.asarray(version).ravel()[0])
        if version is None or version > FORMAT_VERSION:
            raise FormatVersionError(
                f"{self.path} group {name} has pypetx format version {version}; this pypetx "
                f"reads versions up to {FORMAT_VERSION}: upgrade pypetx to read it")
        return name

    def tree(self, name: str) -> xr.Dataset:
        """Trajectory ``name``'s stored tree (``<name>/_tree``), in memory, values still
        encoded (see :func:`pypetx.store.codec.decode_tree`)."""
        group = f"{name}/{TREE_GROUP}"
        try:
            return self._read(group)
        except (OSError, ValueError, KeyError) as e:
            raise StorageError(f"{self.path} group {name} has no readable tree ({group}): "
                               f"{e}") from e

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class StorageBackend:
    """A storage format: how to recognise, write, read, copy and remove its files.

    Subclasses set :attr:`name`, :attr:`description`, :attr:`store_class` and implement
    the methods; they are registered with :func:`pypetx.store.registry.register_backend`.
    """

    #: The storage name (``Environment(storage=...)``).
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: The journaled store that writes trajectories in this format.
    store_class: ClassVar[type[JournaledStore]] = JournaledStore

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {self.description}>"

    def guess_can_open(self, path: PathLike) -> bool:
        """Whether ``path`` is (or, not existing yet, is named as) a store of this format."""
        return False

    def open_store(self, path: PathLike, name: str, **opts: Any) -> JournaledStore:
        """The journaled store writing trajectory ``name`` in ``path``."""
        return self.store_class(path, name, **opts)

    def open_file(self, path: PathLike) -> ResultsFile:
        """One handle on the existing file ``path`` (raises :class:`StorageError`)."""
        raise NotImplementedError

    def open_cube(self, path: PathLike, name: str, *, chunks: Mapping[str, int] | None = None
                  ) -> xr.Dataset:
        """The result cube of trajectory ``name``, opened lazily (``chunks``: dask chunks,
        ``None``: no dask)."""
        raise NotImplementedError

    def write_copy(self, path: PathLike,
                   trajectories: Mapping[str, tuple[xr.Dataset, xr.Dataset]], *,
                   complevel: int = 4) -> None:
        """Write a new file ``path`` holding ``{name: (cube, tree)}`` (``pypetx export``)."""
        raise NotImplementedError

    def remove_trajectory(self, path: PathLike, name: str) -> None:
        """Delete trajectory ``name`` (its group) from ``path``."""
        raise NotImplementedError
