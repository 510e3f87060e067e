"""Loading, storing and merging as methods of a trajectory (``traj.load()``,
``traj.store()``, ``traj.merge(other)``).

The core :class:`~pypetx.core.trajectory.Trajectory` is a model that knows no files; the
trajectory users get mixes these in (:class:`pypetx.compat.trajectory.Trajectory`).
"""

from __future__ import annotations

from typing import Any


class StorageMethods:
    """A trajectory's file operations, each a call into :mod:`pypetx.env.loading` or
    :mod:`pypetx.env.merge`."""

    def merge(self, other: Any, *, remove_duplicates: bool = False,
              allow_pickle: bool = False, **_pypet_options: Any) -> Any:
        """Append ``other``'s runs and stored results to this stored trajectory
        (pypet's ``f_merge``; see :func:`pypetx.env.merge.merge`)."""
        from pypetx.env.merge import merge

        return merge(self, other, remove_duplicates=remove_duplicates,
                     allow_pickle=allow_pickle)

    def load(self, name: str | None = None, index: int | None = None, *,
             filename: str | None = None, **options: Any) -> Any:
        """Replace this trajectory by one stored in ``filename`` (default: its own file).

        See :func:`pypetx.env.loading.load_into` for the loading modes (pypet's ``f_load``).
        """
        from pypetx.env.loading import load_into

        return load_into(self, filename, name, index=index, **options)

    def load_item(self, item: Any, *, load_only: Any = None) -> None:
        """Load the data of a skeleton leaf (or of every leaf of a group) from the file."""
        from pypetx.env.loading import load_item

        load_item(self, item, load_only=load_only)

    def store(self, filename: str | None = None, *, only_init: bool = False) -> None:
        """Write the tree (and pending manual runs) to the file; nothing inside a run."""
        from pypetx.env.loading import store

        store(self, filename, only_init=only_init)
