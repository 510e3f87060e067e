"""One driver per trajectory: an advisory lock next to the results file.

HDF5 tolerates no concurrent writers, and two drivers consolidating the same journal would
race. POSIX record locks (``fcntl.lockf``) are released by the kernel when the process dies
(``kill -9`` included) and, unlike ``flock`` locks, are not inherited by forked children: the
LocalCluster's forked workers of a killed driver do not keep its lock. They are per process,
so a set of held paths refuses a second driver inside the same process too. The lock file
only carries who holds it, for the error message.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

from pypetx.base.errors import StorageError


_HELD: set[str] = set()  # lock files this process holds


class DriverLock:
    """Exclusive, non-blocking lock on ``<directory>/<name>.lock``."""

    def __init__(self, directory: Path, name: str, where: str) -> None:
        self.path = Path(directory) / f"{name}.lock"
        self.where = where
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = str(self.path.resolve())
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            if key in _HELD:
                raise BlockingIOError
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read_holder(fd)
            os.close(fd)
            raise StorageError(
                f"{self.where} is in use by another pypetx driver ({holder}); HDF5 allows "
                f"one writer: wait for it to finish, or stop it and resume"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                                 "since": time.strftime("%Y-%m-%dT%H:%M:%S")}).encode())
        self._fd = fd
        self._key = key
        _HELD.add(key)

    def release(self) -> None:
        if self._fd is None:
            return
        # Tidy up while still holding the lock: the sidecar directory goes when nothing
        # else (a journal, another trajectory's lock) is left in it.
        parent = self.path.parent
        if not (parent / self.path.stem).exists():
            self.path.unlink(missing_ok=True)
            try:
                parent.rmdir()
            except OSError:
                pass
        _HELD.discard(self._key)
        fcntl.lockf(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {info['pid']} on {info['host']} since {info['since']}"
    except (OSError, ValueError, KeyError):
        return "holder unknown"
