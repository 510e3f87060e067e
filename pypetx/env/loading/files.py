"""Which trajectory of a results file, and removing a file or a trajectory's group."""

from __future__ import annotations

import os
from pathlib import Path

from pypetx.base.errors import NotStoredError


PathLike = str | os.PathLike[str]


def trajectory_names(path: PathLike) -> list[str]:
    """The trajectories in ``path`` in the order they were created (pypet's ``index``)."""
    from pypetx.store.codec import timestamp_seconds
    from pypetx.store.load import reading

    with reading(path) as f:  # one handle: the names and every trajectory's attributes
        created = {n: timestamp_seconds(f.attrs(n).get("timestamp", 0.0))
                   for n in f.trajectories()}
    return sorted(created, key=lambda n: (created[n], n))


def pick(path: PathLike, name: str | None, index: int | None, fallback: str | None) -> str:
    """The trajectory ``name`` or number ``index`` of ``path`` (else ``fallback``, or the
    only one).

    Raises
    ------
    NotStoredError
        No file, no trajectory in it, or none by that name or index.
    """
    if not Path(path).exists():
        raise NotStoredError(f"no results file at {path}")
    if name is not None and index is not None:
        raise ValueError("give a trajectory name or an index, not both")
    names = trajectory_names(path)
    if not names:
        raise NotStoredError(f"{path} holds no pypetx trajectory")
    if index is not None:
        try:
            return names[index]
        except IndexError:
            raise NotStoredError(
                f"{path} holds {len(names)} trajectories ({', '.join(names)}); "
                f"there is no index {index}") from None
    if name is None:
        if fallback in names or len(names) > 1:
            name = fallback
        else:
            name = names[0]
    if name not in names:
        raise NotStoredError(
            f"{path} has no trajectory {name!r}; available: {', '.join(names)} "
            f"(pass name= or index=)")
    return name


def remove_file(path: PathLike) -> None:
    """Remove a results file (or Zarr directory) and its journal."""
    import shutil

    for p in (Path(path), Path(f"{path}.pypetx")):
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def drop_group(path: PathLike, name: str) -> None:
    """Remove trajectory ``name`` from the file ``path``."""
    from pypetx.store.registry import backend_of

    backend_of(path).remove_trajectory(path, name)
