"""What produced a result file: versions, host, command line, time, and optionally git.

:func:`collect` returns plain JSON-able data that the store keeps with the trajectory.
The git part only *reads* the repository (unlike pypet, which committed the user's
working tree): commit, branch, whether it is dirty, and a size-capped diff.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import os
import platform
import socket
import sys
from collections.abc import Iterable, Mapping
from importlib import metadata
from typing import Any

from pypetx.errors import PypetxError

__all__ = ["CORE_PACKAGES", "collect", "git_info", "package_versions"]

#: Packages whose versions are always recorded (those installed).
CORE_PACKAGES = ("pypetx", "numpy", "dask", "distributed", "xarray", "h5netcdf", "h5py", "zarr")
#: Largest diff (characters) kept; a huge diff would bloat every result file.
MAX_DIFF = 100_000


class GitRepositoryError(PypetxError):
    """The path given for git provenance is not inside a git repository."""


def package_versions(names: Iterable[str]) -> dict[str, str]:
    """Installed versions of ``names``; packages that are not installed are left out."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return None


def git_info(path: str | os.PathLike[str], *, max_diff: int = MAX_DIFF) -> dict[str, Any]:
    """Commit, branch, dirty flag and capped diff of the repository containing ``path``.

    Nothing is committed or staged.

    Raises
    ------
    GitRepositoryError
        ``path`` is not inside a git repository.
    """
    import git

    try:
        repo = git.Repo(os.fspath(path), search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as e:
        raise GitRepositoryError(f"{os.fspath(path)} is not inside a git repository; "
                                 "pass git_repository=None to skip git provenance") from e
    with repo:
        try:
            hexsha: str | None = repo.head.commit.hexsha
        except ValueError:  # a repository without commits
            hexsha = None
        try:
            branch: str | None = repo.active_branch.name
        except TypeError:  # detached HEAD
            branch = None
        dirty = repo.is_dirty(untracked_files=False)
        diff = repo.git.diff("HEAD") if (dirty and hexsha) else ""
        truncated = len(diff) > max_diff
        return {
            "repository": repo.working_tree_dir,
            "hexsha": hexsha,
            "branch": branch,
            "dirty": dirty,
            "diff": diff[:max_diff],
            "diff_truncated": truncated,
        }


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def collect(record_packages: Iterable[str] = (), seeds: Mapping[str, Any] | Any = None,
            git_repository: str | os.PathLike[str] | None = None, *,
            times_only: bool = False) -> dict[str, Any]:
    """JSON-able provenance of the current process.

    Parameters
    ----------
    record_packages : iterable of str
        Extra distribution names whose versions to record (missing ones are omitted).
    seeds : object, optional
        Random seeds to record as given (must be JSON-able).
    git_repository : path-like, optional
        Record git state of the repository containing this path.
    times_only : bool, default False
        Only ``{"time": <now>}`` (e.g. the end of a sweep).

    Returns
    -------
    dict
        ``versions``, ``python``, ``hostname``, ``user``, ``pid``, ``platform``,
        ``start_time`` (ISO 8601, UTC), ``command_line``, ``cwd`` and, when asked,
        ``seeds`` and ``git``.
    """
    if times_only:
        return {"time": _now()}
    info: dict[str, Any] = {
        "versions": package_versions(dict.fromkeys([*CORE_PACKAGES, *record_packages])),
        "python": sys.version.split()[0],
        "hostname": socket.gethostname(),
        "user": _user(),
        "pid": os.getpid(),
        "platform": platform.platform(),
        "start_time": _now(),
        "command_line": list(sys.argv),
        "cwd": os.getcwd(),
    }
    if seeds is not None:
        info["seeds"] = seeds
    if git_repository is not None:
        info["git"] = git_info(git_repository)
    return info
