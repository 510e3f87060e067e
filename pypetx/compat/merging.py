"""pypet's merging of many trajectories: ``traj.f_merge_many`` and ``merge_all_in_folder``."""

from __future__ import annotations

import os
from typing import Any


def merge_many(traj: Any, others: Any, **options: Any) -> Any:
    """Merge each trajectory of ``others`` into ``traj`` in turn (pypet's ``f_merge_many``);
    ``options`` are ``f_merge``'s (pypet's storage options among them are accepted)."""
    traj.f_merge_many(others, **options)
    return traj


def merge_all_in_folder(folder: str, ext: str = ".hdf5", dynamic_imports: Any = None,
                        storage_service: Any = None, force: bool = False,
                        delete_other_files: bool = False, **options: Any) -> Any:
    """Merge the newest trajectory of every ``*ext`` file of ``folder`` into the one of
    the first file (alphabetically), as pypet's ``merge_all_in_folder`` does.

    Returns the merged trajectory (stored in the first file). ``delete_other_files``
    removes the files merged into it.
    """
    from pypetx.compat.trajectory import Trajectory

    files = sorted(os.path.join(folder, f) for f in os.listdir(folder)
                   if os.path.isfile(os.path.join(folder, f)) and os.path.splitext(f)[1] == ext)
    if not files:
        raise ValueError(f"no {ext} files in {folder!r}")
    trajs = []
    for path in files:
        traj = Trajectory(filename=path)
        traj.f_load(index=-1, load_parameters=2, load_derived_parameters=2,
                    load_results=2, load_other_data=2, force=force)
        trajs.append(traj)
    first = trajs[0]
    merge_many(first, trajs[1:], **options)
    if delete_other_files:
        for path in files[1:]:
            os.remove(path)
    return first
