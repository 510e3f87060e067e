"""Functions of the face that hand out the user-facing classes: loading a stored
trajectory and resuming a stored sweep without its script.

The layers below build whichever trajectory class they are given; here it is
:class:`pypetx.Trajectory` (pypet's names included), as every class users get is.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from pypetx.compat.environment import Environment
from pypetx.compat.trajectory import Trajectory
from pypetx.env.loading import reading
from pypetx.env.resume import load_for_resume, recorded_function

__all__ = ["load", "resume_file"]


@functools.wraps(reading.load)  # the signature and docs of the loader
def load(path: str | os.PathLike[str], name: str | None = None, **options: Any) -> Trajectory:
    return reading.load(path, name, cls=options.pop("cls", None) or Trajectory, **options)


def resume_file(path: str | os.PathLike[str], name: str | None = None,
                fn: Callable | None = None, *, allow_pickle: bool = False,
                rerun_failed: bool = False, **env_options: Any) -> Environment:
    """Continue the sweep stored in ``path`` without its script (``pypetx resume``).

    ``fn`` defaults to the function recorded in the file (imported by reference, or
    unpickled with ``allow_pickle=True``). Returns the Environment after the run
    (``env.dataset``, ``env.summary``).
    """
    traj = load_for_resume(str(path), name, cls=Trajectory)
    if fn is None:
        fn = recorded_function(str(path), traj.name, allow_pickle=allow_pickle)
    env = Environment(traj, filename=str(path), resume=True, **env_options)
    env.run_missing(fn, rerun_failed=rerun_failed)
    return env
