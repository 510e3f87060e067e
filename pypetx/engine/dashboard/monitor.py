"""The driver side of the sweep map: tell the scheduler what the sweep does, per batch.

:func:`~pypetx.engine.runner.run_batches` calls a :class:`SweepMonitor` as it submits
batches, as the store accepts them, and once per loop; the monitor coalesces that into at
most one message every :data:`FLUSH_SECONDS` (``Client.log_event``: one small round trip,
no task), sent from a thread of its own so the driver never waits for it, not even for
the last one. Nothing is sent while the sweep runs without a Dask cluster (the
local-first driver lane, the synchronous backend): what happened there is sent once the
cluster starts, so its map shows the whole sweep.

The monitor never stops a sweep: any error (a scheduler without pypetx, a lost
connection) is logged once and the map stops updating.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import weakref
from asyncio import CancelledError
from collections.abc import Callable
from typing import Any

import numpy as np

from pypetx.core.batch import BatchResult
from pypetx.engine.dashboard.links import page_link, sweep_id
from pypetx.engine.dashboard.messages import TOPIC, VERSION, finished_payload, start_payload
from pypetx.engine.dashboard.sample import Bits
from pypetx.engine.dashboard.state import SweepDefinition

__all__ = ["FLUSH_SECONDS", "SweepMonitor"]

logger = logging.getLogger("pypetx")

#: Seconds between two messages to the scheduler at most (the page redraws every second).
FLUSH_SECONDS = 0.5
#: How long :meth:`SweepMonitor.wait` (and a re-run's sender) waits for the last message.
SEND_TIMEOUT = 10.0
def _key_of(handle: Any) -> str | None:
    """The Dask key of a submitted task (a Future, or a local-first handle once remote)."""
    key = getattr(handle, "key", None)
    if key is None:
        key = getattr(getattr(handle, "future", None), "key", None)
    return key if isinstance(key, str) else None


class SweepMonitor:
    """Reports one sweep to the sweep map of the cluster it runs on.

    The runner's hooks only record (microseconds, in the driver's thread); a thread of the
    monitor sends what they recorded every :data:`FLUSH_SECONDS`, and the rest once the
    sweep ends, so the driver never waits for the scheduler (:meth:`wait` does).

    Parameters
    ----------
    exploration : Exploration
        The sweep's points.
    name, filename : str
        Trajectory and results file (they name the map).
    pending : array of int
        Run indices this sweep executes.
    done, failed : array of bool, optional
        What the store held before (a resume).
    """

    def __init__(self, exploration: Any, *, name: str, filename: str,
                 pending: np.ndarray, done: np.ndarray | None = None,
                 failed: np.ndarray | None = None) -> None:
        self.exploration, self.name, self.filename = exploration, name, filename
        self.sweep = sweep_id(filename, name)
        n = exploration.n_runs
        if hasattr(pending, "mask"):  # RunRanges: no int64 array per run on the way
            todo = pending.mask(n)
        else:
            todo = np.zeros(n, bool)
            todo[np.asarray(pending, np.int64)] = True
        # kept until the start is sent, as packed bits (1 bit per run, not 1 byte)
        self._todo = Bits.of(todo, n)
        del todo
        self._done, self._failed = Bits.of(done, n), Bits.of(failed, n)
        self._started = time.time()
        self._backend: Any = None
        self._announce: Callable[[str, str], None] | None = None
        self._client: Any = None
        self._link: str | None = None
        self._off = False
        self._start_sent = False
        self._lock = threading.Lock()
        self._finished: list[BatchResult] = []
        self._unsent: dict[int, tuple[Any, int]] = {}  # first run -> (handle, last run)
        self._end: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._sender: threading.Thread | None = None
        self._next_try = 0.0

    # -- the runner's hooks -----------------------------------------------------------
    def attach(self, backend: Any, announce: Callable[[str, str], None] | None = None) -> None:
        """The sweep starts on ``backend``; ``announce(label, url)`` shows a link once."""
        self._backend, self._announce = backend, announce
        self._guard(self._connect)

    def submitted(self, indices: np.ndarray, handle: Any) -> None:
        if self._off or not len(indices):
            return
        with self._lock:
            self._unsent[int(indices[0])] = (handle, int(indices[-1]))

    def finished(self, batch: BatchResult) -> None:
        if self._off:
            return
        light = _light(batch)
        with self._lock:
            self._finished.append(light)
            if len(batch):
                self._unsent.pop(int(batch.indices[0]), None)

    def tick(self) -> None:
        """Called once per loop of the runner: notices a cluster that started meanwhile."""
        if self._sender is None and not self._off and time.monotonic() >= self._next_try:
            self._next_try = time.monotonic() + FLUSH_SECONDS
            self._guard(self._connect)

    def detach(self, interrupted: bool = False) -> None:
        """The sweep ended: the sender sends the rest and the end at once, in the
        background (the sweep does not wait for it: a cluster that closes now takes its
        map along, one that stays up has the last message a few milliseconds later)."""
        sender = self._sender
        if sender is not None:
            with self._lock:
                self._end = {"time": time.time(), "interrupted": bool(interrupted)}
            self._stop.set()
        else:
            with self._lock:
                self._finished, self._unsent = [], {}
        self._backend = None

    def wait(self, timeout: float = SEND_TIMEOUT) -> bool:
        """Wait until the last message of a detached sweep reached the scheduler;
        whether it did (``True`` too when there was nothing to send)."""
        sender = self._sender
        if sender is None:
            return True
        sender.join(timeout)
        return not sender.is_alive()

    # -- what the environment shows -----------------------------------------------------
    @property
    def link(self) -> str | None:
        """The sweep map's URL while its cluster runs, else ``None``."""
        client = self._client
        if self._link is None or client is None or getattr(client, "status", "") != "running":
            return None
        return self._link

    # -- internals ------------------------------------------------------------------------
    def _guard(self, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except (Exception, CancelledError) as exc:  # noqa: BLE001 - never stop a sweep
            self._off = True
            with self._lock:
                self._finished, self._unsent = [], {}
            lost = getattr(self._client, "status", "running") != "running"
            logger.log(logging.DEBUG if lost else logging.WARNING,
                       "pypetx: the sweep map of %s stops updating (%s: %s)",
                       self.name, type(exc).__name__, exc)

    def _connect(self) -> None:
        """Find the cluster's client (no round trip) and start the sender."""
        if self._client is not None:
            return
        backend = self._backend
        if backend is None or "distributed" not in sys.modules:
            return  # no Dask in this process: certainly no cluster
        if getattr(backend, "started", True) is False:
            return  # local-first, cluster not started (asking for .client would start it)
        client = getattr(backend, "client", None)
        from distributed import Client

        if not isinstance(client, Client):
            return
        self._client = client
        dashboard = backend.dashboard_link
        self._link = page_link(dashboard, self.sweep)
        if self._link is not None:
            logger.info("pypetx: sweep map of %s: %s", self.name, self._link)
            if self._announce is not None:
                self._announce("Dask dashboard", dashboard)
                self._announce("Sweep map", self._link)
        self._sender = threading.Thread(target=self._guard, args=(self._send_loop,),
                                        name=f"pypetx-sweep-map-{self.sweep}", daemon=True)
        self._sender.start()

    def _send_loop(self) -> None:
        # the last sender of the same sweep (a re-run) first delivers its end: messages
        # of one sweep reach the scheduler in order
        previous = _SENDERS.get(self.sweep)
        _SENDERS[self.sweep] = threading.current_thread()
        if previous is not None:
            previous.join(SEND_TIMEOUT)
        _register(self._client)
        # The start goes out after FLUSH_SECONDS, with what finished meanwhile, then what is
        # new twice a second: a sweep shorter than that sends one message, not two.
        last = self._stop.wait(FLUSH_SECONDS)
        while not last:
            self._flush()
            last = self._stop.wait(FLUSH_SECONDS)
        self._flush()

    def _flush(self) -> None:
        with self._lock:
            finished, self._finished = self._finished, []
            end, self._end = self._end, None
            keys = []
            for first, (handle, last) in list(self._unsent.items()):
                key = _key_of(handle)
                if key is not None:  # a local-first task gets its key once it goes remote
                    keys.append([key, first, last])
                    del self._unsent[first]
        msg: dict[str, Any] = {"v": VERSION, "sweep": self.sweep}
        if not self._start_sent:
            definition = SweepDefinition.from_exploration(
                self.exploration, sweep=self.sweep, name=self.name, file=self.filename)
            msg["start"] = start_payload(definition, self._done, self._failed, self._todo,
                                         self._started)
            self._done = self._failed = self._todo = None  # sent: not needed any more
        if keys:
            msg["submitted"] = keys
        if finished:
            msg["finished"] = finished_payload(finished)
        if end is not None:
            msg["end"] = end
        if len(msg) > 2:
            self._client.log_event(TOPIC, msg)
            self._start_sent = True


#: The newest sender thread of each sweep id.
_SENDERS: weakref.WeakValueDictionary[str, threading.Thread] = weakref.WeakValueDictionary()

#: Clients whose scheduler has the plugin (by scheduler id): registered once per cluster.
_REGISTERED: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _register(client: Any) -> None:
    from pypetx.engine.dashboard.plugin import PLUGIN_NAME, SweepMapPlugin

    try:  # no workers' details: only the scheduler's id is needed
        info = client.scheduler_info(n_workers=0)
    except TypeError:  # distributed < 2025.1 has no n_workers
        info = client.scheduler_info()
    scheduler = str(info.get("id", ""))
    if _REGISTERED.get(client) != scheduler or not scheduler:
        client.register_plugin(SweepMapPlugin(), name=PLUGIN_NAME)
        _REGISTERED[client] = scheduler


def _light(batch: BatchResult) -> BatchResult:
    """What the map keeps of a batch until it is sent: status and numeric scalars, not
    the (possibly large) result arrays."""
    keep = {k: v for k, v in batch.results.items()
            if isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind in "biuf"}
    return BatchResult(indices=batch.indices, results=keep,
                       present={k: batch.present[k] for k in keep if k in batch.present},
                       completed=batch.completed, failed=batch.failed,
                       duration=batch.duration, worker=batch.worker,
                       error=batch.error if np.any(batch.failed) else [])
