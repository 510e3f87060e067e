"""The sweep map as Bokeh models: one :class:`MapPanel` for the live page and the export.

Two tabs share one data source: *State* colours every cell by its state (pending,
running, done, failed), *Values* colours the done cells by a chosen scalar result or by
duration. Choosing the map's axes of a grid recomputes the cells (in Python on the live
page; from precomputed views in a static file); choosing the axes of a run layout's
scatter, or what the second tab colours by, only switches fields in the browser.
"""

from __future__ import annotations

import html
import time
from typing import Any

import numpy as np
from bokeh.layouts import column, row
from bokeh.models import (
    ColorBar,
    ColumnDataSource,
    CustomJS,
    CustomJSHover,
    DataRange1d,
    Div,
    FixedTicker,
    HoverTool,
    LinearColorMapper,
    Range1d,
    Select,
    TabPanel,
    Tabs,
)
from bokeh.palettes import Viridis256
from bokeh.plotting import figure

from pypetx.engine.dashboard.state import STATE_NAMES, SweepState
from pypetx.engine.dashboard.views import STATIC, MapData, grid_map, scatter_map, value_column

__all__ = ["STATE_COLORS", "MapPanel", "summary_html"]

#: Colours of pending, running, done, failed.
STATE_COLORS = ("#d0d0d0", "#1f77b4", "#2ca02c", "#d62728")
#: A changed column is patched cell by cell when fewer than this share of cells changed.
PATCH_SHARE = 0.05
#: A static export precomputes the grid views of at most this many axes (pairs of them).
STATIC_AXES = 6

_TOOLTIPS = [("point", "@label"), ("state", "@code{custom}"),
             ("points", "@n_points (@n_done done, @n_failed failed, @n_running running, "
                        "@n_pending pending)"),
             ("duration", "@{v_duration}{%.3g} s"), ("worker", "@worker{custom}"),
             ("error", "@error")]
#: A code column shown as the name it stands for (``names`` in the formatter's args).
_NAME_JS = "return value >= 0 && value < names.length ? names[value] : ''"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h {m:02d}m" if h else (f"{m}m {s:02d}s" if m else f"{s} s")


def summary_html(state: SweepState, codes: np.ndarray | None = None,
                 now: float | None = None) -> str:
    """The header: counts per state (with the map's colours), rate and ETA.

    Each count is a ``<span class="pypetx-count" data-state=... data-count=...>`` so a
    script (or a test) can read it from the page.
    """
    info = state.summary(codes)
    d = state.definition
    parts = []
    for k, name in enumerate(STATE_NAMES):
        n = info["counts"][name]
        parts.append(
            f'<span class="pypetx-count" data-state="{name}" data-count="{n}" '
            f'style="margin-right:1em"><span style="display:inline-block;width:0.9em;'
            f'height:0.9em;background:{STATE_COLORS[k]};margin-right:0.3em"></span>'
            f"{name} <b>{n}</b></span>")
    rate = info["rate"]
    if state.ended is not None:
        how = "interrupted" if state.interrupted else "finished"
        when = time.strftime("%H:%M:%S", time.localtime(state.ended))
        progress = f"{how} at {when} after {_duration(state.ended - state.started)}"
    else:
        progress = f"running for {_duration((now or time.time()) - state.started)}"
    pace = "" if rate is None else f" &middot; {rate:.3g} runs/s"
    eta = "" if state.ended is not None else f" &middot; ETA {_duration(info['eta'])}"
    sampled = ("" if info["n_points"] == info["n_runs"] else
               f" (the map draws a sample of {info['n_points']}; the counts are exact)")
    return (f'<div class="pypetx-summary" data-sweep="{html.escape(d.sweep)}">'
            f"<b>{html.escape(d.name)}</b> in <code>{html.escape(d.file)}</code>: "
            f"{info['n_runs']} points{sampled} &middot; {progress}{pace}{eta}<br>"
            f"{''.join(parts)}</div>")


class MapPanel:
    """The map of one sweep: header, axis and colour choosers, the two tabs.

    Parameters
    ----------
    state : SweepState
    codes, workers : numpy.ndarray, optional
        Every run's state and worker code (default: the state without running runs).
    live : bool
        On the live page, choosing a grid's axes recomputes the cells in Python
        (:meth:`update` sends later changes); in a static file every pair of axes is
        precomputed and switched in the browser.
    """

    def __init__(self, state: SweepState, codes: np.ndarray | None = None,
                 workers: np.ndarray | None = None, *, live: bool) -> None:
        self.state, self.live = state, live
        d = state.definition
        codes = state.state if codes is None else codes
        workers = state.worker if workers is None else workers
        self.x_axis, self.y_axis = _default_axes(state)
        data = self._compute(codes, workers)
        self.key = data.key
        self.source = ColumnDataSource(data.columns, name="pypetx-cells")
        self.header = Div(text=summary_html(state, codes), name="pypetx-summary",
                          sizing_mode="stretch_width")
        self.note = Div(text=html.escape(data.note), name="pypetx-note",
                        sizing_mode="stretch_width", styles={"color": "#666"})
        self.state_fig = self._figure(data, "pypetx-state-map")
        self.value_fig = self._figure(data, "pypetx-value-map")
        self._draw(data)
        controls = self._controls(data)
        tabs = Tabs(tabs=[TabPanel(child=self.state_fig, title="State"),
                          TabPanel(child=self.value_fig, title="Values")],
                    sizing_mode="stretch_width")
        self.root = column(self.header, row(*controls), self.note, tabs,
                           sizing_mode="stretch_width", name="pypetx-sweep-map")
        if not d.is_grid or not live:
            return
        for sel in (self.x_select, self.y_select):
            sel.on_change("value", lambda attr, old, new: self._axes_chosen())

    # -- building ---------------------------------------------------------------------
    def _compute(self, codes: np.ndarray, workers: np.ndarray, x: int | None = None,
                 y: int | None = None) -> MapData:
        if not self.state.definition.is_grid:
            return scatter_map(self.state, codes, workers)
        x = self.x_axis if x is None else x
        y = self.y_axis if y is None else y
        return grid_map(self.state, codes, workers, x, y)

    def _figure(self, data: MapData, name: str) -> Any:
        grid = self.state.definition.is_grid
        fig = figure(name=name, height=520, sizing_mode="stretch_width",
                     tools="pan,wheel_zoom,box_zoom,reset,save", toolbar_location="above",
                     x_range=Range1d() if grid else DataRange1d(),
                     y_range=Range1d() if grid else DataRange1d(),
                     output_backend="canvas")
        fig.grid.visible = not grid
        return fig

    def _draw(self, data: MapData) -> None:
        grid = self.state.definition.is_grid
        states = LinearColorMapper(palette=list(STATE_COLORS), low=-0.5, high=3.5)
        names = self.state.value_names()
        self.state_names = CustomJSHover(code=_NAME_JS, args=dict(names=list(STATE_NAMES)))
        self.worker_names = CustomJSHover(code=_NAME_JS, args=dict(names=list(
            self.state.workers)), name="pypetx-workers")
        self.values = LinearColorMapper(palette=Viridis256, nan_color="#eeeeee")
        self.value_name = names[0]
        renderers = []
        for fig, color in ((self.state_fig, {"field": "code", "transform": states}),
                           (self.value_fig, {"field": value_column(self.value_name),
                                             "transform": self.values})):
            if grid:
                r = fig.rect(x="x", y="y", width="width", height="height", source=self.source,
                             fill_color=color, line_color="white", line_width=0.5)
            else:
                r = fig.scatter(x="x", y="y", size=8, source=self.source, fill_color=color,
                                line_color=None)
            tips = list(_TOOLTIPS) if grid else [t for t in _TOOLTIPS if t[0] != "points"]
            if fig is self.value_fig:
                tips.insert(2, ("value", f"@{{{value_column(self.value_name)}}}{{%.4g}}"))
            hover = HoverTool(tooltips=tips, renderers=[r],
                              formatters=self._formatters(names))
            fig.add_tools(hover)
            renderers.append((r, hover))
        self.value_renderer, self.value_hover = renderers[1]
        self.color_bar = ColorBar(color_mapper=self.values, title=self.value_name)
        self.value_fig.add_layout(self.color_bar, "right")
        self._label_axes(data)

    def _label_axes(self, data: MapData) -> None:
        grid = self.state.definition.is_grid
        for fig in (self.state_fig, self.value_fig):
            fig.xaxis.axis_label, fig.yaxis.axis_label = data.x_title, data.y_title
            if not grid:
                continue
            xs, ys = self.source.data["x"], self.source.data["y"]
            fig.x_range.start, fig.x_range.end = -0.5, float(np.max(xs, initial=0)) + 0.5
            fig.y_range.start, fig.y_range.end = -0.5, float(np.max(ys, initial=0)) + 0.5
            for axis, ticks in ((fig.xaxis, data.x_ticks), (fig.yaxis, data.y_ticks)):
                if ticks:
                    axis.ticker = FixedTicker(ticks=sorted(ticks))
                    axis.major_label_overrides = {int(k): v for k, v in ticks.items()}
                else:
                    axis.major_label_overrides = {}

    def _controls(self, data: MapData) -> list[Any]:
        d = self.state.definition
        names = self.state.value_names()
        self.color_select = Select(title="Values tab: colour done points by", value=names[0],
                                   options=names, name="pypetx-color", width=260)
        self.color_select.js_on_change("value", CustomJS(
            args=dict(r=self.value_renderer, bar=self.color_bar, hover=self.value_hover,
                      mapper=self.values), code=_COLOR_JS))
        if d.is_grid:
            titles = [(str(k), t) for k, (t, _) in enumerate(d.axes or [])]
            single = len(titles) == 1
            self.x_select = Select(title="x axis", value=str(self.x_axis), options=titles,
                                   name="pypetx-x", width=200, disabled=single)
            y_opts = titles if not single else [("", "(rows)")]
            self.y_select = Select(title="y axis", options=y_opts, name="pypetx-y",
                                   value="" if self.y_axis is None else str(self.y_axis),
                                   width=200, disabled=single)
            if not self.live and not single:
                self._static_axes()
            return [self.x_select, self.y_select, self.color_select]
        params = list(d.params or {})
        self.x_select = Select(title="x axis", value=params[0], options=params,
                               name="pypetx-x", width=200)
        self.y_select = Select(title="y axis", value=params[min(1, len(params) - 1)],
                               options=params, name="pypetx-y", width=200)
        renderers = [r for fig in (self.state_fig, self.value_fig) for r in fig.renderers]
        for sel, coord in ((self.x_select, "x"), (self.y_select, "y")):
            axes = [getattr(fig, f"{coord}axis")[0] for fig in (self.state_fig, self.value_fig)]
            sel.js_on_change("value", CustomJS(args=dict(renderers=renderers, axes=axes,
                                                         coord=coord), code=_SCATTER_JS))
        return [self.x_select, self.y_select, self.color_select]

    def _static_axes(self) -> None:
        """A static file switches a grid's axes among precomputed views, in the browser."""
        n_axes = min(len(self.state.definition.axes or []), STATIC_AXES)
        views, meta = {}, {}
        codes, workers = self.state.state, self.state.worker
        for x in range(n_axes):
            for y in range(n_axes):
                if x == y:
                    continue
                data = self._compute(codes, workers, x, y)
                views[f"{x}|{y}"] = ColumnDataSource(data.columns)
                meta[f"{x}|{y}"] = _axes_meta(data)
        code = _AXES_JS
        figs = [self.state_fig, self.value_fig]
        args = dict(source=self.source, views=views, meta=meta, xs=self.x_select,
                    ys=self.y_select, figs=figs, note=self.note,
                    xaxes=[f.xaxis[0] for f in figs], yaxes=[f.yaxis[0] for f in figs])
        for sel in (self.x_select, self.y_select):
            sel.js_on_change("value", CustomJS(args=args, code=code))

    def _formatters(self, names: list[str]) -> dict[str, Any]:
        """The tooltips' formats: names for the state and worker codes, ``printf`` for
        the duration and each value column."""
        return {"@code": self.state_names, "@worker": self.worker_names,
                **{f"@{{{value_column(n)}}}": "printf" for n in names}}

    # -- live updates -----------------------------------------------------------------
    def fits(self, state: SweepState) -> bool:
        """Whether ``state`` is a sweep over the same points (a re-run, or the next
        sweep of a script), which :meth:`retarget` can show in these models."""
        return _same_points(self.state.definition, state.definition)

    def retarget(self, state: SweepState, codes: np.ndarray, workers: np.ndarray) -> None:
        """Show ``state`` instead (see :meth:`fits`): only its changed columns are sent,
        no new models, so a page that follows a script's sweeps costs them little."""
        if state.cache is not self.state.cache:  # cells and labels of the same points
            state.cache.update(self.state.cache)
        self.state = state
        self.update(codes, workers)

    def _axes_chosen(self) -> None:
        try:
            x, y = int(self.x_select.value), int(self.y_select.value)
        except ValueError:
            return
        if x == y:
            return
        self.x_axis, self.y_axis = x, y
        self.key = None  # new rows: send everything at the next update
        self.update(*self._last)

    def update(self, codes: np.ndarray, workers: np.ndarray, now: float | None = None) -> None:
        """Send what changed since the last update to the browser."""
        self._last = (codes, workers)
        self.header.text = summary_html(self.state, codes, now)
        data = self._compute(codes, workers)
        names = self.state.value_names()
        if names != list(self.color_select.options):  # a result seen for the first time
            self.color_select.options = names
            self.value_hover.formatters = self._formatters(names)  # else it shows as "%"
        if list(self.worker_names.args["names"]) != self.state.workers:
            self.worker_names.args = dict(names=list(self.state.workers))
        if data.key != self.key or set(data.columns) != set(self.source.data):
            self.key = data.key
            self.source.data = data.columns
            self.note.text = html.escape(data.note)
            self._label_axes(data)
            return
        old = self.source.data
        n = len(old["x"])
        patches: dict[str, list] = {}
        for name, new in data.columns.items():
            if name in STATIC:
                continue
            before = np.asarray(old[name])
            after = np.asarray(new)
            if before.shape != after.shape:
                old[name] = new
                continue
            if before.dtype.kind == "f":
                changed = np.flatnonzero(~((before == after) | (np.isnan(before) & np.isnan(after))))
            else:
                changed = np.flatnonzero(before != after)
            if not len(changed):
                continue
            if len(changed) > PATCH_SHARE * n:
                old[name] = new
            else:
                values = after[changed].tolist()
                patches[name] = list(zip(changed.tolist(), values))
        if patches:
            self.source.patch(patches)

    _last: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.uint8), np.zeros(0, np.int32))


def _same_points(a: Any, b: Any) -> bool:
    """Whether two :class:`~pypetx.engine.dashboard.state.SweepDefinition` have the same
    points in the same order (so the same cells and labels)."""
    if a.n_runs != b.n_runs or a.is_grid != b.is_grid or a.categories != b.categories:
        return False
    if a.is_grid:
        same_cells = (a.cells is None and b.cells is None) or (
            a.cells is not None and b.cells is not None and np.array_equal(a.cells, b.cells))
        return a.axes == b.axes and same_cells
    return list(a.params) == list(b.params) and all(
        np.array_equal(a.params[k], b.params[k], equal_nan=True) for k in a.params)


def _default_axes(state: SweepState) -> tuple[int, int | None]:
    """The two longest grid axes, the slower one on y (a run layout: unused)."""
    axes = state.definition.axes
    if not axes or len(axes) == 1:
        return 0, None
    longest = sorted(range(len(axes)), key=lambda k: -len(axes[k][1]))[:2]
    y, x = sorted(longest)
    return x, y


def _axes_meta(data: MapData) -> dict[str, Any]:
    xs, ys = data.columns["x"], data.columns["y"]
    return {"xt": data.x_title, "yt": data.y_title, "note": html.escape(data.note),
            "xticks": sorted(data.x_ticks), "yticks": sorted(data.y_ticks),
            "xlabels": {str(k): v for k, v in data.x_ticks.items()},
            "ylabels": {str(k): v for k, v in data.y_ticks.items()},
            "nx": float(np.max(xs, initial=0)) + 1, "ny": float(np.max(ys, initial=0)) + 1}


_COLOR_JS = """
const field = "v_" + cb_obj.value
r.glyph.fill_color = {field: field, transform: mapper}
bar.title = cb_obj.value
const tips = hover.tooltips.map(t => t[0] == "value" ? ["value", "@{" + field + "}{%.4g}"] : t)
hover.tooltips = tips
"""

_SCATTER_JS = """
for (const r of renderers) {
  r.glyph[coord] = {field: "p_" + cb_obj.value}
}
for (const axis of axes) {
  axis.axis_label = cb_obj.value
}
"""

_AXES_JS = """
const key = xs.value + "|" + ys.value
const v = views[key]
if (v == null) return
const m = meta[key]
source.data = Object.assign({}, v.data)
note.text = m.note
for (const f of figs) {
  f.x_range.start = -0.5; f.x_range.end = m.nx - 0.5
  f.y_range.start = -0.5; f.y_range.end = m.ny - 0.5
}
for (let k = 0; k < xaxes.length; k++) {
  const axes = [[xaxes[k], m.xt, m.xticks, m.xlabels], [yaxes[k], m.yt, m.yticks, m.ylabels]]
  for (const [axis, title, ticks, labels] of axes) {
    axis.axis_label = title
    axis.ticker.ticks = ticks
    axis.major_label_overrides = new Map(Object.entries(labels).map(([k, t]) => [Number(k), t]))
  }
}
"""
