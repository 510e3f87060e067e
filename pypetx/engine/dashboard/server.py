"""The live sweep map page, served by the scheduler next to Dask's own dashboard pages.

:func:`add_page` extends the scheduler's HTTP server the way Dask's dashboard is built: a
Bokeh application made by ``distributed.dashboard.core.BokehApplication`` (Dask's
websocket-origin and Bokeh settings) added to ``Scheduler.http_application``, plus a
Tornado route for the same data as JSON. Only where Dask serves its Bokeh dashboard (the
same address, port and security; no dashboard, no map).

``<dashboard>/pypetx/sweep`` shows the newest sweep, ``?sweep=<id>`` a given one (the link
pypetx prints); ``<dashboard>/pypetx/sweep.json`` lists every sweep's counts, rate and ETA.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import numpy as np
from bokeh.layouts import column
from bokeh.models import CustomJS, Div, Select
from jinja2 import Template
from tornado import web

from pypetx.engine.dashboard.links import PAGE
from pypetx.engine.dashboard.page import MapPanel, summary_html
from pypetx.engine.dashboard.state import RUNNING, SweepState

__all__ = ["REFRESH_MS", "add_page"]

#: How often an open page redraws (only what changed is sent).
REFRESH_MS = 1000

# Bokeh's own page with Dask's navigation bar above the map; <base> makes the relative
# links of Dask's pages and Bokeh's resources resolve from the dashboard's root.
TEMPLATE = Template("""{% extends base %}
{% block preamble %}
<base href="{{ pypetx_root }}">
<link rel="stylesheet" href="statics/css/base.css">
<link rel="shortcut icon" href="statics/images/favicon.ico">
{% endblock %}
{% block contents %}
<div class="navbar" id="myTopnav"><ul>
<li id="dask-logo"><a href="https://dask.org/"><img src="statics/images/dask-logo.svg"></a></li>
{% for page in pages %}<li><a href="{{ page }}">{{ page|title }}</a></li>{% endfor %}
<li class="active"><a href="{{ pypetx_page }}">Sweep map</a></li>
</ul></div>
<div class="content" style="box-sizing: border-box; padding: 3.2rem 10px 1rem 10px">
{{ super() }}</div>
{% endblock %}
""")


def _dask_bokeh_prefix(scheduler: Any) -> str | None:
    """The URL prefix of Dask's Bokeh dashboard on this scheduler, ``None`` if it has none."""
    app = getattr(scheduler, "http_application", None)
    for sub in getattr(app, "applications", ()):
        if type(sub).__module__.startswith(("bokeh.", "distributed.dashboard")) and hasattr(
                sub, "app_paths"):
            return "/" + str(getattr(sub, "prefix", "") or "").strip("/")
    return None


def add_page(plugin: Any, scheduler: Any) -> bool:
    """Serve the sweep map of ``plugin`` from ``scheduler``'s dashboard; whether it could."""
    prefix = _dask_bokeh_prefix(scheduler)
    if prefix is None:
        return False
    from distributed.dashboard.core import BokehApplication
    from distributed.dashboard.scheduler import template_variables
    from tornado.ioloop import IOLoop

    root = prefix.rstrip("/") + "/"
    extra = {**template_variables(scheduler), "pypetx_root": root, "pypetx_page": PAGE}
    app = BokehApplication({f"/{PAGE}": functools.partial(_document, plugin)}, scheduler,
                           prefix=prefix, template_variables=extra)
    scheduler.http_application.add_application(app)
    app.initialize(IOLoop.current())
    app.start()
    scheduler.http_application.add_handlers(
        r".*", [(f"{root}{PAGE}.json", SweepsJSON, {"plugin": plugin})])
    return True


class SweepsJSON(web.RequestHandler):
    """``GET <dashboard>/pypetx/sweep.json``: every sweep's summary (counts, rate, ETA)."""

    def initialize(self, plugin: Any) -> None:
        self.plugin = plugin

    def get(self) -> None:
        out = []
        for state in list(self.plugin.sweeps.values()):
            codes, _ = state.running(self.plugin.worker_of)
            out.append(state.summary(codes))
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps({"sweeps": out}))


def _document(plugin: Any, scheduler: Any, extra: dict[str, Any], doc: Any) -> None:
    """One browser session of the map page (runs in the scheduler's event loop)."""
    args = doc.session_context.request.arguments if doc.session_context else {}
    wanted = (args.get("sweep") or [b""])[0].decode() or None
    page = LivePage(plugin, wanted)
    doc.add_root(page.root)
    doc.add_periodic_callback(page.refresh, REFRESH_MS)
    doc.title = "pypetx: sweep map"
    doc.template = TEMPLATE
    doc.template_variables.update(extra)
    try:
        from distributed.dashboard.components.scheduler import BOKEH_THEME

        doc.theme = BOKEH_THEME
    except ImportError:  # pragma: no cover - Dask moved its theme: Bokeh's default then
        pass


class LivePage:
    """The page's models: a sweep chooser and the chosen sweep's :class:`MapPanel`."""

    def __init__(self, plugin: Any, wanted: str | None) -> None:
        self.plugin, self.wanted = plugin, wanted
        self.chooser = Select(title="Sweep", options=[], name="pypetx-sweep", width=420)
        self.chooser.js_on_change("value", CustomJS(code=(
            "const q = new URLSearchParams(window.location.search);"
            "if (q.get('sweep') != cb_obj.value) {"
            "q.set('sweep', cb_obj.value); window.location.search = q.toString()}")))
        self.body = column(sizing_mode="stretch_width")
        self.root = column(self.chooser, self.body, sizing_mode="stretch_width")
        self.state: SweepState | None = None
        self.panel: MapPanel | None = None
        self._seen: tuple = ()
        self.refresh()

    def _choose(self) -> SweepState | None:
        sweeps = self.plugin.sweeps
        if self.wanted in sweeps:
            return sweeps[self.wanted]
        return next(reversed(sweeps.values()), None)

    def refresh(self) -> None:
        sweeps = self.plugin.sweeps
        options = [(k, f"{s.definition.name} ({s.definition.file})")
                   for k, s in reversed(list(sweeps.items()))]
        if options != self.chooser.options:
            self.chooser.options = options
        state = self._choose()
        if state is None:
            if self.panel is not None or not self.body.children:
                self.body.children = [Div(text=(
                    "No pypetx sweep has reported to this cluster yet. Sweeps the driver "
                    "runs without a cluster (pypetx's local-first start) have no map."))]
                self.panel = None
            return
        if self.chooser.value != state.definition.sweep:
            self.chooser.value = state.definition.sweep
        codes, workers = state.running(self.plugin.worker_of)
        running = np.flatnonzero(codes == RUNNING)
        seen = (state.version, len(running), hash(running.tobytes()))
        if state is not self.state or self.panel is None:
            if self.panel is not None and self.panel.fits(state):
                # the next sweep over the same points: new data, the same models
                self.state, self._seen = state, seen
                self.panel.retarget(state, codes, workers)
                return
            self.state, self.panel, self._seen = state, MapPanel(state, codes, workers,
                                                                 live=True), seen
            self.body.children = [self.panel.root]
            return
        if seen == self._seen:
            if state.ended is None:  # nothing new: only the clock and the ETA move
                self.panel.header.text = summary_html(state, codes)
            return
        self._seen = seen
        self.panel.update(codes, workers)
