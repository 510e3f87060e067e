"""What produced a result file: versions, host, command line, time, and optionally git.

:func:`collect` returns plain JSON-able data that the store keeps with the trajectory.
The git part only *reads* the repository by default (unlike pypet, which committed the
user's working tree): commit, branch, whether it is dirty, and a size-capped diff. Two
opt-ins: ``git_fail_if_dirty=True`` refuses to start with uncommitted changes to tracked
files, and ``git_commit=True`` commits them (tracked files only, never untracked ones)
before the sweep, so the recorded hexsha is exactly the code that ran.
"""

from __future__ import annotations

import datetime as _dt
import functools
import getpass
import os
import platform
import socket
import sys
from collections.abc import Iterable, Mapping
from importlib import metadata
from typing import Any

from pypetx.base.errors import PypetxError

__all__ = ["CORE_PACKAGES", "GitDirtyError", "GitRepositoryError", "collect", "commit_tracked",
           "git_info", "package_versions"]

#: Packages whose versions are always recorded (those installed).
CORE_PACKAGES = ("pypetx", "numpy", "dask", "distributed", "xarray", "h5netcdf", "h5py", "zarr")
#: Largest diff (characters) kept; a huge diff would bloat every result file.
MAX_DIFF = 100_000


class GitRepositoryError(PypetxError):
    """The path given for git provenance is not inside a git repository."""


class GitDirtyError(PypetxError):
    """``git_fail_if_dirty=True`` and tracked files have uncommitted changes."""


def _open_repo(path: str | os.PathLike[str]) -> Any:
    import git

    try:
        return git.Repo(os.fspath(path), search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as e:
        raise GitRepositoryError(f"{os.fspath(path)} is not inside a git repository; "
                                 "pass git_repository=None to skip git provenance") from e


def commit_tracked(path: str | os.PathLike[str], message: str) -> str | None:
    """Commit the changes of *tracked* files of the repository containing ``path``.

    pypet's behaviour, opt-in here (``Environment(git_commit=True)``): modified and deleted
    tracked files are staged and committed with ``message``; untracked files are left
    alone. Nothing happens when the tracked files are clean.

    Returns
    -------
    str or None
        The new commit's hexsha, or None when there was nothing to commit.
    """
    with _open_repo(path) as repo:
        if not repo.is_dirty(untracked_files=False):
            return None
        repo.git.add(update=True)  # git add -u: tracked files only
        return repo.index.commit(message).hexsha


@functools.lru_cache(maxsize=None)
def _version(name: str) -> str | None:
    # Looking a distribution up scans sys.path (tens of ms each); versions do not change
    # while a process runs, and an adaptive loop (DEAP) collects provenance per round.
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def package_versions(names: Iterable[str]) -> dict[str, str]:
    """Installed versions of ``names``; packages that are not installed are left out."""
    return {name: v for name in names if (v := _version(name)) is not None}


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
    with _open_repo(path) as repo:
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
            times_only: bool = False, git_fail_if_dirty: bool = False,
            git_commit: bool | str = False) -> dict[str, Any]:
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
    git_fail_if_dirty : bool, default False
        Raise :class:`GitDirtyError` when tracked files have uncommitted changes.
    git_commit : bool or str, default False
        Opt-in: commit changes of tracked files first (a str is the commit message); the
        git record then says ``"committed": <hexsha or None>``.

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
        committed = None
        if git_commit:
            message = git_commit if isinstance(git_commit, str) else (
                f"pypetx: commit before the run started {info['start_time']}")
            committed = commit_tracked(git_repository, message)
        info["git"] = git_info(git_repository)
        if git_commit:
            info["git"]["committed"] = committed
        if git_fail_if_dirty and info["git"]["dirty"]:
            raise GitDirtyError(
                f"{info['git']['repository']} has uncommitted changes to tracked files and "
                "git_fail_if_dirty=True; commit them (or pass git_commit=True to let pypetx "
                "commit them) before running")
    return info
