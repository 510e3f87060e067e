"""The sweep map: a page of the Dask dashboard showing every point of a running sweep.

- :mod:`~pypetx.engine.dashboard.monitor` (driver): the runner's hooks, per-batch messages;
- :mod:`~pypetx.engine.dashboard.plugin` (scheduler): a ``SchedulerPlugin`` keeping each
  sweep's :class:`~pypetx.engine.dashboard.state.SweepState`;
- :mod:`~pypetx.engine.dashboard.server`: the live Bokeh page ``<dashboard>/pypetx/sweep``;
- :mod:`~pypetx.engine.dashboard.export` and :mod:`~pypetx.engine.dashboard.stored`: the
  same map as a standalone HTML file, for a stored sweep.

Importing this package is light (numpy only); Dask and Bokeh load with the cluster or
the export. See docs/dashboard.md.
"""

from __future__ import annotations

from pypetx.engine.dashboard.links import PAGE, page_link, sweep_id
from pypetx.engine.dashboard.monitor import SweepMonitor

__all__ = ["PAGE", "SweepMonitor", "page_link", "sweep_id"]
