"""The scheduler side of the sweep map: a ``SchedulerPlugin`` that keeps every sweep's state.

Registered by the driver (``Client.register_plugin``, idempotent: one per scheduler,
whichever sweep came first), so it works on any cluster the driver reaches: the embedded
``LocalCluster``, a user's cluster or scheduler, dask-jobqueue's SLURM/PBS clusters. It
hears the drivers' messages through ``SchedulerPlugin.log_event`` and, when the scheduler
serves Dask's Bokeh dashboard, adds the map page to the same HTTP server (no new port,
the dashboard's address and security): see :mod:`pypetx.engine.dashboard.server`.

Which runs are *running* is read from the scheduler itself when a page redraws: a batch
whose task is ``processing`` runs on that task's worker.
"""

from __future__ import annotations

import logging
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

from pypetx.engine.dashboard.messages import TOPIC, apply
from pypetx.engine.dashboard.state import SweepState

__all__ = ["PLUGIN_NAME", "SweepMapPlugin"]

logger = logging.getLogger(__name__)

PLUGIN_NAME = "pypetx-sweep-map"


class SweepMapPlugin(SchedulerPlugin):
    """Keeps the state of every sweep on this scheduler and serves their map.

    Attributes
    ----------
    sweeps : dict of str to SweepState
        By sweep id, oldest first; kept until the scheduler closes.
    page : bool
        Whether the map page was added to the dashboard.
    """

    name = PLUGIN_NAME
    idempotent = True

    def __init__(self) -> None:
        self.sweeps: dict[str, SweepState] = {}
        self.scheduler: Any = None
        self.page = False
        self.n_messages = 0  # heard from drivers (the broker keeps none of them)

    def __getstate__(self) -> dict[str, Any]:
        return {}  # sent empty to the scheduler, whatever this copy holds

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        try:
            from pypetx.engine.dashboard.server import add_page

            self.page = add_page(self, scheduler)
        except ImportError as exc:  # no bokeh on the scheduler: the dashboard is off too
            logger.info("pypetx: no sweep map page (%s)", exc)

    def log_event(self, topic: str, msg: Any) -> None:
        if topic == TOPIC:
            self.n_messages += 1
            apply(self.sweeps, msg)
            # The scheduler's event broker keeps the last 1,000 events of every topic
            # (``distributed.admin.low-level-log-length``). A sweep's messages carry
            # per-run arrays, so it would keep ~8 B per run of the last 1,000 batches:
            # 0.8 GB at 10^8 runs (measured), in the driver for a LocalCluster. This
            # plugin is the topic's only reader and has applied the message: drop it.
            broker = getattr(self.scheduler, "_broker", None)
            truncate = getattr(broker, "truncate", None)
            if callable(truncate):
                truncate(TOPIC)

    def worker_of(self, key: str) -> str | None:
        """The worker a task is running on (``None``: queued, finished or unknown).

        ``processing`` tasks include those a worker holds in its queue (Dask sends a
        worker a little more than it has threads); a task runs when the worker's last
        heartbeat listed it as executing, or when the worker holds no more tasks than
        threads.
        """
        ts = self.scheduler.tasks.get(key) if self.scheduler is not None else None
        if ts is None or ts.state != "processing" or ts.processing_on is None:
            return None
        ws = ts.processing_on
        if ts not in ws.executing and len(ws.processing) > ws.nthreads:
            return None
        return str(ws.name if ws.name is not None else ws.address)
