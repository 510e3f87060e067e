"""Run the driver's own batches in a forked child, so a crashing point kills only the child.

Local-first runs cheap batches in the driver rather than on a worker. A point that
segfaults, calls ``os._exit`` or is killed for memory would take the user's script with it
(and, on resume, do so again). :class:`DriverLane` forks one child process the first time
the driver runs a batch and sends it every later batch through a pipe: a fork costs a few
milliseconds once, a batch a pickled request and reply (tens of microseconds). When the
child dies, the batch it was running fails with :class:`ProcessDied` naming the signal or
exit code, and the next batch forks a fresh child. A batch that outlasts its time budget
is killed (:class:`TaskTimedOut`) the same way.

The child inherits the driver's memory at the fork: objects shared for the sweep
(:class:`Shared`) are looked up there instead of being pickled per batch; a request that
cannot be pickled (a lambda as task) is run by a child forked for it.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["DriverLane", "ProcessDied", "Shared", "TaskTimedOut", "can_isolate",
           "describe_exit", "is_process_death"]

_HEADER = struct.Struct("<Q")


class ProcessDied(RuntimeError):
    """The process running a task died (a signal, ``os._exit``, the OOM killer)."""


class TaskTimedOut(TimeoutError):
    """A task ran longer than its time budget and its process was killed.

    Attributes
    ----------
    seconds : float
        The budget it exceeded.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        super().__init__(f"timed out after {self.seconds:g} s")


def can_isolate() -> bool:
    """Whether this platform can fork (not Windows)."""
    return hasattr(os, "fork")


def describe_exit(status: int) -> str:
    """``os.waitpid`` status in words: ``killed by signal 11 (SIGSEGV)``, ``exit code 3``."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = "unknown"
        hint = " (out of memory?)" if sig == signal.SIGKILL else ""
        return f"was killed by signal {sig} ({name}){hint}"
    return f"exited with code {os.WEXITSTATUS(status)}"


def is_process_death(exc: BaseException) -> bool:
    """Whether a task failed because its process died or timed out, not by raising.

    Such a batch is split and its points rerun (see the runner), so the points that
    crash are told apart from the good ones that shared their batch.
    """
    if isinstance(exc, (ProcessDied, TaskTimedOut)):
        return True
    # distributed's KilledWorker: the task's workers died allowed-failures times.
    return type(exc).__name__ == "KilledWorker"


class Shared:
    """An object shared with every batch of a sweep; the lane's child inherits it."""

    __slots__ = ("__weakref__", "obj", "remote")

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.remote: Any = None


class _SharedRef:
    __slots__ = ("key",)

    def __init__(self, key: int) -> None:
        self.key = key


def _write(fd: int, data: bytes) -> None:
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _child(requests: int, replies: int, shared: dict[int, Any],
           first: tuple[Callable, tuple] | None) -> None:
    """The child's loop: run requests until the driver closes the pipe. Never returns."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides on Ctrl-C
        job = first
        while True:
            if job is None:
                header = _read_exact(requests, _HEADER.size)
                if header is None:
                    break
                body = _read_exact(requests, _HEADER.unpack(header)[0])
                if body is None:
                    break
                job = pickle.loads(body)
            fn, args = job
            job = None
            args = tuple(shared[a.key] if isinstance(a, _SharedRef) else a for a in args)
            try:
                reply: tuple[bool, Any] = (True, fn(*args))
            except BaseException as exc:  # noqa: BLE001 - sent to the driver, raised there
                reply = (False, exc)
            try:
                data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001
                data = pickle.dumps((False, RuntimeError(
                    f"the batch's result cannot be sent back to the driver: {exc}")))
            _write(replies, data)
            sys.stdout.flush()
            sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - a broken pipe: the driver is gone
        code = 70
    finally:
        os._exit(code)


class DriverLane:
    """A forked child that runs the driver's batches, replaced when it dies."""

    def __init__(self) -> None:
        self._pid: int | None = None
        self._requests = self._replies = -1
        self._shared: dict[int, Shared] = {}  # what the child inherited, by id
        self.forks = 0  # children started (benchmarks, tests)

    def _spawn(self, shared: dict[int, Shared], first: tuple[Callable, tuple] | None) -> None:
        self.close()
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()  # or the child would print the driver's buffered output again
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child (coverage does not see it exit)
            os.close(req_w)
            os.close(rep_r)
            _child(req_r, rep_w, {k: s.obj for k, s in shared.items()}, first)
        os.close(req_r)
        os.close(rep_w)
        self._pid, self._requests, self._replies = pid, req_w, rep_r
        self._shared = dict(shared)
        self.forks += 1

    def call(self, fn: Callable, args: tuple, timeout: float | None = None) -> Any:
        """``fn(*args)`` in the child; its exception is raised here.

        Raises
        ------
        ProcessDied
            The child died while running it.
        TaskTimedOut
            It ran longer than ``timeout`` seconds (the child is killed).
        """
        shared = {id(a): a for a in args if isinstance(a, Shared)}
        refs = tuple(_SharedRef(id(a)) if isinstance(a, Shared) else a for a in args)
        body = None
        if self._pid is not None and all(self._shared.get(k) is s for k, s in shared.items()):
            try:
                body = pickle.dumps((fn, refs), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - not picklable: a child forked for it inherits it
                body = None
        if body is not None:
            try:
                _write(self._requests, body)
            except OSError:  # the idle child died (killed from outside): start another
                body = None
        if body is None:
            self._spawn({**self._shared, **shared}, (fn, refs))
        return self._reply(timeout)

    def _reply(self, timeout: float | None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        data = bytearray()
        need: int | None = None
        try:
            while need is None or len(data) < need:
                wait = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                ready, _, _ = select.select([self._replies], [], [], wait)
                if not ready:
                    self._kill()
                    raise TaskTimedOut(timeout)  # type: ignore[arg-type]
                chunk = os.read(self._replies, 1 << 20)
                if not chunk:
                    raise ProcessDied(f"the process running the point {self._reap()}")
                data += chunk
                if need is None and len(data) >= _HEADER.size:
                    need = _HEADER.size + _HEADER.unpack_from(data)[0]
        except BaseException:
            if self._pid is not None and not isinstance(sys.exc_info()[1], ProcessDied):
                self._kill()  # Ctrl-C or timeout mid-batch: the batch is abandoned
            raise
        ok, value = pickle.loads(memoryview(data)[_HEADER.size:])
        if ok:
            return value
        raise value

    def _reap(self) -> str:
        pid, self._pid = self._pid, None
        self._close_pipes()
        if pid is None:
            return "was gone"
        _, status = os.waitpid(pid, 0)
        return describe_exit(status)

    def _kill(self) -> None:
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()

    def _close_pipes(self) -> None:
        for fd in (self._requests, self._replies):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._requests = self._replies = -1

    def close(self) -> None:
        """Stop the child: closing its pipe ends its loop."""
        if self._pid is None:
            return
        pid = self._pid
        self._close_pipes()
        self._pid = None
        for _ in range(200):  # ~1 s for a clean exit, then kill it
            done, _status = os.waitpid(pid, os.WNOHANG)
            if done:
                return
            time.sleep(0.005)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
