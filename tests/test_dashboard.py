"""The Dask dashboard and pypetx's sweep map (docs/dashboard.md).

Fast tests check the map's state and views, the driver's messages and the plugin on a real
LocalCluster; the ``slow`` ones open the pages in headless Chromium (Debian's ``chromium``,
installed by .ci/run; skipped with the reason where it is missing) and compare what the
page shows with what the sweep stored. The same browser test runs on the CI SLURM.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dashboard_sweeps import BROWSER_ARGS, FAILING, SLOW_X, hover, open_map  # noqa: E402

from pypetx.core.batch import BatchResult
from pypetx.core.explore import Exploration
from pypetx.engine.dashboard import PAGE, SweepMonitor, page_link, sweep_id
from pypetx.engine.dashboard.messages import TOPIC, apply, finished_payload
from pypetx.engine.dashboard.state import (DONE, FAILED, PENDING, RUNNING, SweepDefinition,
                                           SweepState, unpack)
from pypetx.engine.dashboard.views import MAX_BINS, grid_map, scatter_map

TESTS = Path(__file__).resolve().parent
NX, NY = 8, 6


# -- helpers ----------------------------------------------------------------------------
def grid(nx=NX, ny=NY) -> Exploration:
    return Exploration.from_grid([["parameters.x"], ["parameters.y"]],
                                 {"parameters.x": list(range(nx)), "parameters.y": list(range(ny))})


def batch(indices, failed=(), worker="w1", z=True) -> BatchResult:
    indices = np.asarray(indices, np.int64)
    bad = np.isin(indices, list(failed))
    return BatchResult(
        indices=indices, results={"z": indices * 2.0} if z else {},
        present={"z": ~bad} if z else {}, completed=~bad, failed=bad,
        duration=np.full(len(indices), 0.25), worker=worker,
        error=[f"ValueError: run {i} is unstable\nline two" if b else ""
               for i, b in zip(indices.tolist(), bad.tolist())],
        traceback=[""] * len(indices))


def grid_state(expl=None) -> SweepState:
    expl = expl or grid()
    d = SweepDefinition.from_exploration(expl, sweep="s", name="t", file="f.h5")
    return SweepState(d)


def sums(columns) -> dict[str, int]:
    return {k: int(np.sum(columns[f"n_{k}"])) for k in ("done", "failed", "running", "pending")}


# -- the state and its views ---------------------------------------------------------------
def test_messages_apply_batches_to_the_state():
    expl = grid()
    d = SweepDefinition.from_exploration(expl, sweep="s", name="t", file="f.h5")
    sweeps: dict[str, SweepState] = {}
    from pypetx.engine.dashboard.messages import VERSION, start_payload

    n = expl.n_runs
    done = np.zeros(n, bool)
    done[:4] = True  # a resume: the store held runs 0..3
    msg = {"v": VERSION, "sweep": "s",
           "start": start_payload(d, done, np.zeros(n, bool), ~done, time.time()),
           "submitted": [["pypetx-batch-a", 4, 9]],
           "finished": finished_payload([batch(range(4, 10), failed=[7]),
                                         batch(range(10, 12), worker="w2", z=False),
                                         batch([20, 22, 23, 30], failed=[23], worker="w3"),
                                         batch([40, 41], worker=0)])}  # Dask names workers 0, 1
    state = apply(sweeps, msg)
    assert state is sweeps["s"]
    assert state.counts() == {"pending": n - 18, "running": 0, "done": 16, "failed": 2}
    assert state.errors == {7: "ValueError: run 7 is unstable", 23: "ValueError: run 23 is unstable"}
    assert state.workers == ["w1", "w2", "w3", "0"]
    assert state.worker[[4, 11, 22, 21, 41]].tolist() == [0, 1, 2, -1, 3]  # per batch
    assert state.state[[20, 21, 22, 23, 30]].tolist() == [DONE, PENDING, DONE, FAILED, DONE]
    assert state.in_flight == {}  # the finished batch's first run closes its submission
    assert np.isnan(state.results["z"][[7, 10, 11, 21, 23]]).all()
    assert state.results["z"][[5, 30]].tolist() == [10.0, 60.0]
    assert state.n_finished == 14 and state.rate() > 0
    # a re-run of run 7 that succeeds clears its error
    apply(sweeps, {"v": VERSION, "sweep": "s", "finished": finished_payload([batch([7])])})
    assert state.errors == {23: "ValueError: run 23 is unstable"} and state.state[7] == DONE
    apply(sweeps, {"v": VERSION, "sweep": "s", "end": {"time": time.time()}})
    assert state.ended is not None and state.eta() == 0.0
    assert apply(sweeps, {"v": 99, "sweep": "s"}) is None  # unknown versions are ignored


def test_durations_of_batch_timed_runs_travel_once_per_batch():
    from pypetx.engine.dashboard.messages import VERSION, start_payload

    expl = grid()
    d = SweepDefinition.from_exploration(expl, sweep="d", name="t", file="f.h5")
    n = expl.n_runs
    timed = batch(range(10, 14))
    timed.duration = np.array([0.1, 0.2, 0.3, 0.4])  # timed one by one
    single = batch([20])
    single.duration = np.array([0.7])
    fin = finished_payload([batch(range(0, 10)), timed, single, batch(range(30, 40))])
    assert unpack(fin["duration"]).size == 5  # only the runs of non-uniform batches
    sweeps: dict[str, SweepState] = {}
    state = apply(sweeps, {"v": VERSION, "sweep": "d", "finished": fin,
                           "start": start_payload(d, np.zeros(n, bool), np.zeros(n, bool),
                                                  np.ones(n, bool), time.time())})
    np.testing.assert_allclose(state.duration[[0, 9, 10, 13, 20, 30, 39]],
                               [0.25, 0.25, 0.1, 0.4, 0.7, 0.25, 0.25], rtol=1e-6)


def test_grid_map_counts_cells_and_summarises_other_axes():
    expl = Exploration.from_grid(
        [["parameters.a"], ["parameters.b"], ["parameters.c"]],
        {"parameters.a": [1, 2], "parameters.b": [0.5, 1.5, 2.5], "parameters.c": [10, 20, 30, 40]})
    state = grid_state(expl)
    state.finished(np.arange(10), np.where(np.arange(10) == 3, FAILED, DONE), np.ones(10),
                   np.zeros(10, np.int64), ["w"], {3: "boom"}, {"z": np.arange(10.0)}, [])
    state.submitted([["k", 10, 13]])
    codes, workers = state.running(lambda key: "w2" if key == "k" else None)
    assert (codes[10:14] == RUNNING).all() and (codes[14:] == PENDING).all()
    full = grid_map(state, codes, workers, 2, 0)  # c along x, a along y; b summarised
    assert len(full.columns["x"]) == 8 and set(full.columns["n_points"]) == {3}
    assert sums(full.columns) == {"done": 9, "failed": 1, "running": 4, "pending": 10}
    assert "b summarised" in full.note
    # run 3 is a=1, b=0.5, c=40: its cell shows the failure and its error line
    cell = full.columns["label"].index("c=40, a=1")
    assert full.columns["code"][cell] == FAILED and full.columns["error"][cell] == "boom"
    pair = grid_map(state, codes, workers, 1, 2)
    assert len(pair.columns["x"]) == 12 and set(pair.columns["n_points"]) == {2}
    assert pair.x_ticks == {0: "0.5", 1: "1.5", 2: "2.5"}
    # values view: mean of the done points per cell, NaN where none is done
    z = pair.columns["v_z"]
    assert np.isnan(z).sum() == 12 - len({(r // 4 % 3, r % 4) for r in range(10) if r != 3})


def test_large_axes_are_binned_and_single_axes_folded():
    expl = Exploration.from_grid([["parameters.x"], ["parameters.y"]],
                                 {"parameters.x": list(range(1000)), "parameters.y": list(range(3))})
    state = grid_state(expl)
    codes, workers = state.running(lambda key: None)
    data = grid_map(state, codes, workers, 0, 1)
    assert len(data.columns["x"]) == MAX_BINS * 3 and sums(data.columns)["pending"] == 3000
    assert f"1000 values of x in {MAX_BINS} bins" in data.note
    one = Exploration.from_grid([["parameters.x"]], {"parameters.x": list(range(10_000))})
    state = grid_state(one)
    data = grid_map(state, state.state, state.worker, 0, None)
    assert len(data.columns["x"]) == 100 * 100 and "rows of 100" in data.note
    assert data.columns["label"][101] == "x=101"


def test_run_layout_is_a_scatter_of_every_parameter():
    rng = np.random.default_rng(0)
    expl = Exploration({"parameters.u": rng.random(50).tolist(),
                        "parameters.kind": ["a", "b"] * 25})
    state = grid_state(expl)
    state.finished(np.arange(5), np.full(5, DONE), np.ones(5), np.zeros(5, np.int64), ["w"],
                   {}, {}, [])
    data = scatter_map(state, state.state, state.worker)
    assert set(data.columns) >= {"p_u", "p_kind", "x", "y"}
    assert data.columns["p_kind"][:4].tolist() == [0, 1, 0, 1]
    assert data.columns["label"][1].startswith("run 1: u=") and "kind=b" in data.columns["label"][1]
    assert sums(data.columns) == {"done": 5, "failed": 0, "running": 0, "pending": 45}


def test_live_panel_learns_results_that_arrive_later():
    """A page opened before the first result: the result becomes a colour choice, and
    its tooltip value gets a number format (it showed as "%" without one)."""
    from pypetx.engine.dashboard.page import MapPanel

    state = grid_state()
    panel = MapPanel(state, live=True)
    assert list(panel.color_select.options) == ["duration"]
    state.finished(np.arange(4), np.full(4, DONE), np.ones(4), np.zeros(4, np.int64), ["w"],
                   {}, {"z": np.arange(4.0)}, [])
    panel.update(state.state, state.worker)
    assert list(panel.color_select.options) == ["duration", "z"]
    assert panel.value_hover.formatters["@{v_z}"] == "printf"
    assert sums(panel.source.data)["done"] == 4


def test_live_page_follows_the_next_sweep_over_the_same_points_in_its_models():
    """A script's next sweep over the same grid reuses the page's models (new data
    only); a sweep over other points gets a new map."""
    from types import SimpleNamespace

    from pypetx.engine.dashboard.server import LivePage

    plugin = SimpleNamespace(sweeps={}, worker_of=lambda key: None)
    first = grid_state()
    first.finished(np.arange(NX * NY), np.full(NX * NY, DONE), np.ones(NX * NY),
                   np.zeros(NX * NY, np.int64), ["w"], {}, {}, [])
    plugin.sweeps["a"] = first
    page = LivePage(plugin, None)
    panel = page.panel
    assert sums(panel.source.data)["done"] == NX * NY
    plugin.sweeps["b"] = second = grid_state()  # the same points, nothing done yet
    second.finished(np.arange(3), np.array([DONE, FAILED, DONE]), np.ones(3),
                    np.zeros(3, np.int64), ["w2"], {1: "boom"}, {}, [])
    page.refresh()
    assert page.panel is panel and panel.state is second
    assert sums(panel.source.data) == {"done": 2, "failed": 1, "running": 0,
                                       "pending": NX * NY - 3}
    assert list(panel.worker_names.args["names"]) == ["w2"]
    assert "boom" in list(panel.source.data["error"])
    plugin.sweeps["c"] = grid_state(grid(3, 2))  # other points: a new map
    page.refresh()
    assert page.panel is not panel and len(page.panel.source.data["x"]) == 6


def test_links():
    assert page_link("http://127.0.0.1:8787/status", "abc") == \
        "http://127.0.0.1:8787/pypetx/sweep?sweep=abc"
    assert page_link("http://host:1/prefix/status") == "http://host:1/prefix/pypetx/sweep"
    assert page_link(None) is None
    assert sweep_id("a.h5", "t") == sweep_id(os.path.abspath("a.h5"), "t") != sweep_id("a.h5", "u")


def test_static_export_is_self_contained(tmp_path):
    from pypetx.engine.dashboard.export import write_html

    state = grid_state()
    state.finished(np.arange(10), np.full(10, DONE), np.ones(10), np.zeros(10, np.int64),
                   ["w"], {}, {}, [])
    state.end()
    text = write_html(state, tmp_path / "map.html").read_text()
    assert "pypetx-cells" in text and "<script src=" not in text  # BokehJS inlined


# -- on a real cluster ---------------------------------------------------------------------
def _task(shared, indices):
    """A worker-side batch (engine level: no store): run 7 fails."""
    from distributed import get_worker

    b = batch(indices, failed=[7], worker=get_worker().name)
    time.sleep(0.02 * len(indices))
    return b


@pytest.fixture
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address="127.0.0.1:0") as c, Client(c, set_as_default=False) as cl:
        yield c, cl


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.read().decode()


def test_runner_reports_batches_to_the_scheduler_plugin(cluster):
    from pypetx.engine.clusters import DistributedBackend
    from pypetx.engine.dashboard.plugin import PLUGIN_NAME
    from pypetx.engine.runner import run_batches

    c, client = cluster
    expl = grid()
    from pypetx.core.runs import RunRanges

    pending = RunRanges.span(0, expl.n_runs)  # what the environment passes
    monitor = SweepMonitor(expl, name="t", filename="f.h5", pending=pending)
    backend = DistributedBackend(client)
    summary = run_batches(_task, None, pending, backend, lambda b: None,
                          batch_size=4, progress=False, monitor=monitor)
    assert summary.n_failed == 1
    assert monitor.wait()  # the sweep did not wait for its last message: this does
    plugin = c.scheduler.plugins[PLUGIN_NAME]
    state = plugin.sweeps[monitor.sweep]
    assert state.counts() == {"pending": 0, "running": 0, "done": NX * NY - 1, "failed": 1}
    assert state.ended is not None and state.errors == {7: "ValueError: run 7 is unstable"}
    names = {str(w["name"]) for w in client.scheduler_info()["workers"].values()}
    assert state.workers and set(state.workers) <= names
    # per batch, not per run: the driver sent a few messages, no task per point
    assert 1 <= plugin.n_messages <= summary.n_tasks + 2
    # and the scheduler keeps none of them (they carry per-run arrays: ~8 B per run)
    assert client.get_events(TOPIC) == ()
    assert all(not str(k).startswith("pypetx-sweep") for k in c.scheduler.tasks)
    port = c.scheduler.http_server.port
    # distributed names an in-process cluster's host by its inproc address: compare the rest
    link = urllib.parse.urlsplit(monitor.link)
    assert (link.port, link.path, link.query) == (port, f"/{PAGE}", f"sweep={monitor.sweep}")
    status, body = _get(f"http://127.0.0.1:{port}/{PAGE}.json")
    sweeps = json.loads(body)["sweeps"]
    assert [s["counts"]["failed"] for s in sweeps] == [1]
    status, body = _get(f"http://127.0.0.1:{port}{link.path}?{link.query}")
    assert status == 200 and "bokeh" in body.lower() and 'href="statics/css/base.css"' in body


def _two_sweeps(client, first: Exploration, second: Exploration) -> list[str]:
    """Run two sweeps (run 7 of each fails) on ``client``'s cluster; their sweep ids."""
    from pypetx.engine.clusters import DistributedBackend
    from pypetx.engine.runner import run_batches

    ids = []
    for name, expl in (("first", first), ("second", second)):
        n = expl.n_runs
        monitor = SweepMonitor(expl, name=name, filename="f.h5", pending=np.arange(n))
        run_batches(_task, None, np.arange(n), DistributedBackend(client), lambda b: None,
                    batch_size=5, progress=False, monitor=monitor)
        assert monitor.wait()
        ids.append(monitor.sweep)
    return ids


def test_several_sweeps_keep_their_own_map(cluster):
    from pypetx.engine.dashboard.plugin import PLUGIN_NAME

    c, client = cluster
    ids = _two_sweeps(client, Exploration({"parameters.x": list(range(12))}),
                      Exploration({"parameters.x": list(range(20))}))
    sweeps = c.scheduler.plugins[PLUGIN_NAME].sweeps
    assert list(sweeps) == ids
    assert [s.definition.n_runs for s in sweeps.values()] == [12, 20]
    assert all(s.ended is not None for s in sweeps.values())


def test_a_sweep_without_cluster_sends_nothing():
    from pypetx.engine.executors import SynchronousBackend
    from pypetx.engine.runner import run_batches

    expl = grid()
    monitor = SweepMonitor(expl, name="t", filename="f.h5", pending=np.arange(expl.n_runs))
    run_batches(lambda s, i: batch(i), None, np.arange(expl.n_runs), SynchronousBackend(),
                lambda b: None, batch_size=8, progress=False, monitor=monitor)
    assert monitor.link is None and not monitor._start_sent


# -- in the browser ------------------------------------------------------------------------
def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no chromium here (Debian: apt-get install chromium; .ci/run does it)")
    pytest.importorskip("playwright.sync_api", reason="playwright (the test extra) is missing")
    return path


@pytest.fixture
def browser():
    path = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=BROWSER_ARGS)
        try:
            yield b
        finally:
            b.close()


COUNTS_JS = """() => {
  const s = Bokeh.documents[0].get_model_by_name('pypetx-cells')
  const t = k => Array.from(s.data['n_' + k]).reduce((a, b) => a + b, 0)
  return {done: t('done'), failed: t('failed'), running: t('running'), pending: t('pending')}
}"""


#: The map's cells as the page holds them (one dict per cell).
CELLS_JS = """() => {
  const d = Bokeh.documents[0].get_model_by_name('pypetx-cells').data
  const n = d.x.length, out = []
  for (let i = 0; i < n; i++) {
    const c = {}
    for (const k of Object.keys(d)) c[k] = d[k][i]
    out.push(c)
  }
  return out
}"""

#: The worker names the map's ``worker`` codes stand for.
WORKERS_JS = """() => {
  const args = Bokeh.documents[0].get_model_by_name('pypetx-workers').args
  return args instanceof Map ? args.get('names') : args.names
}"""

#: What a map figure draws and what colours it (the glyph's type and fill field).
GLYPH_JS = """(name) => {
  const g = Bokeh.documents[0].get_model_by_name(name).renderers[0].glyph
  return {type: g.type, x: g.x.field, y: g.y.field, fill: g.fill_color.field}
}"""


def point_of(label: str) -> dict[str, str]:
    """``"y=1, x=3"`` -> ``{"y": "1", "x": "3"}`` (a cell's or a run's label)."""
    return dict(part.split("=", 1) for part in label.split(": ")[-1].split(", "))


def shown_counts(page) -> dict[str, int]:
    """The header's counts (DOM) and the map's cells (data), once they agree (the page
    renders the header and the cells of one update a moment apart)."""
    for _ in range(50):
        dom = {name: int(page.locator(f".pypetx-count[data-state={name}]")
                         .get_attribute("data-count"))
               for name in ("done", "failed", "running", "pending")}
        data = page.evaluate(COUNTS_JS)
        if data == dom:
            return dom
        page.wait_for_timeout(100)
    raise AssertionError(f"the header says {dom}, the map's cells {data}")


@pytest.mark.slow
def test_dask_dashboard_is_the_real_status_page(cluster, browser):
    c, client = cluster
    page = browser.new_page()
    page.goto(f"http://127.0.0.1:{c.scheduler.http_server.port}/status")
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length", timeout=60_000)
    assert page.title() == "Dask: Status"
    assert "needs bokeh" not in page.content()
    assert page.get_by_role("link", name="Workers").count() == 1


def _flaky_env(path, slow=1.5, **kw):
    from pypetx import Environment, cartesian_product

    kw.setdefault("progress", False)
    env = Environment("flaky", filename=str(path), on_error="continue", batch_size=1, **kw)
    env.traj.f_add_parameter("x", 0)
    env.traj.f_add_parameter("y", 0)
    env.traj.f_add_parameter("slow", slow)
    env.traj.f_explore(cartesian_product({"x": list(range(NX)), "y": list(range(NY))}))
    return env


class PageWatcher:
    """In a thread of its own (the sweep runs in the main thread: dask-jobqueue and the
    runner's Ctrl-C handling need it): open the sweep map once the sweep reports, read
    its counts while it runs; after :meth:`finish`, read the finished map (counts, cells,
    tooltips, the Values tab) and open it afresh. The test compares with the store."""

    def __init__(self, env, chromium: str, screenshot: Path) -> None:
        import threading

        self.env, self.chromium, self.screenshot = env, chromium, screenshot
        self.link: str | None = None
        self.seen: list[dict[str, int]] = []
        self.final: dict[str, int] | None = None
        self.cells: list[dict] = []
        self.tips: dict[str, dict[str, str]] = {}  # cell label -> its tooltip
        self.glyphs: dict[str, dict] = {}  # value-map glyph by colour choice
        self.value_tip: dict[str, str] = {}
        self.reopened: dict[str, int] | None = None
        self.workers: list[str] = []
        self.errors: list[str] = []
        self.expected: dict[str, int] | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PageWatcher:
        self._thread.start()
        return self

    def finish(self, expected: dict[str, int]) -> None:
        self.expected = expected
        self._done.set()
        self._thread.join(180)

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join(180)

    def _run(self) -> None:
        from playwright.sync_api import sync_playwright

        try:
            deadline = time.monotonic() + 300
            while self.link is None and not self._done.is_set():
                monitor = getattr(self.env, "_sweep_monitor", None)
                self.link = monitor.link if monitor is not None else None
                if time.monotonic() > deadline:
                    raise TimeoutError("the sweep map never had a link")
                time.sleep(0.05)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=self.chromium, args=BROWSER_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                self.errors = open_map(page, self.link)
                while not self._done.is_set():
                    self.seen.append(shown_counts(page))
                    self._done.wait(0.4)
                want = self.expected["done"]
                page.wait_for_function(f"() => ({COUNTS_JS})().done == {want}",
                                       timeout=10_000)
                page.wait_for_timeout(300)
                self.final = shown_counts(page)
                page.screenshot(path=str(self.screenshot))
                self._read_finished(page)
                # a finished sweep's map stays: a page opened now shows it whole
                fresh = browser.new_page(viewport={"width": 1280, "height": 900})
                self.errors += open_map(fresh, self.link)
                self.reopened = shown_counts(fresh)
                browser.close()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def _read_finished(self, page) -> None:
        self.cells = page.evaluate(CELLS_JS)
        self.workers = page.evaluate(WORKERS_JS)
        slowest = max(self.cells, key=lambda c: c["v_duration"] if c["code"] == DONE else -1)
        for cell in [c for c in self.cells if c["code"] == FAILED] + [slowest]:
            self.tips[cell["label"]] = hover(page, "pypetx-state-map", cell["x"], cell["y"])
        page.get_by_text("Values", exact=True).click()
        self.glyphs["duration"] = page.evaluate(GLYPH_JS, "pypetx-value-map")
        page.get_by_label("Values tab: colour done points by").select_option("z")
        page.wait_for_timeout(200)
        self.glyphs["z"] = page.evaluate(GLYPH_JS, "pypetx-value-map")
        self.value_tip = hover(page, "pypetx-value-map", slowest["x"], slowest["y"])
        self.value_tip["label"] = slowest["label"]


def _check_finished_map(watcher: PageWatcher, path: Path, name: str, slow: float) -> None:
    """The finished map the browser read, cell by cell and tooltip by tooltip, against
    what the sweep stored."""
    import xarray as xr

    from pypetx.store.status import workers

    with xr.open_dataset(path, engine="h5netcdf", group=name) as ds:
        ds = ds.load()
    names = workers(ds)
    errors = {int(r): str(e).splitlines()[0] for r, e in
              zip(ds["failure_run"].values, ds["failure_error"].values)}
    run_of = {(int(x), int(y)): r for r, (x, y) in enumerate(
        (x, y) for x in ds.x.values for y in ds.y.values)}

    def stored(label: str):
        pt = point_of(label)
        return ds.sel(x=int(pt["x"]), y=int(pt["y"])), run_of[int(pt["x"]), int(pt["y"])]

    assert len(watcher.cells) == NX * NY
    for cell in watcher.cells:  # every cell's state, duration and result as stored
        point, run = stored(cell["label"])
        want = FAILED if bool(point["failed"]) else DONE
        assert cell["code"] == want, cell
        assert cell["v_duration"] == pytest.approx(float(point["duration"]), rel=1e-5)
        assert watcher.workers[cell["worker"]] == str(names.sel(x=point.x, y=point.y).item())
        if want == DONE:
            assert cell["v_z"] == float(point["z"])
    tips = watcher.tips
    failed = {lab: tip for lab, tip in tips.items() if tip["state"] == "failed"}
    assert {tuple(int(point_of(lab)[k]) for k in "xy") for lab in failed} == FAILING
    for label, tip in tips.items():  # what hovering shows
        point, run = stored(label)
        assert point_of(tip["point"]) == point_of(label)
        assert tip["worker"] == str(names.sel(x=point.x, y=point.y).item()) != ""
        assert float(tip["duration"].removesuffix(" s")) == pytest.approx(
            float(point["duration"]), rel=1e-2)
        assert tip["error"] == errors.get(run, "")
        if run in errors:
            assert tip["error"].startswith("ValueError: x=")
    slowest = [tip for tip in tips.values() if tip["state"] == "done"]
    assert len(slowest) == 1 and int(point_of(slowest[0]["point"])["x"]) == SLOW_X
    assert float(slowest[0]["duration"].removesuffix(" s")) >= slow
    # the second view: done cells coloured by duration, then by the result z
    assert watcher.glyphs["duration"]["fill"] == "v_duration"
    assert watcher.glyphs["z"]["fill"] == "v_z"
    pt = point_of(watcher.value_tip["label"])
    assert float(watcher.value_tip["value"]) == int(pt["x"]) * int(pt["y"])


def _watch_live_sweep(env, tmp_path, name, slow=1.5):
    """Run ``env``'s sweep with its map open; check the map live and finished."""
    from dashboard_sweeps import flaky

    chromium = _chromium()
    with env, PageWatcher(env, chromium, tmp_path / f"{name}.png") as watcher:
        env.run(flaky)
        s = env.summary
        expected = {"done": s.n_completed, "failed": s.n_failed, "running": 0, "pending": 0}
        watcher.finish(expected)
        assert env.dashboard_link == watcher.link  # inside ``with env:`` the cluster is up
    assert not watcher.errors, watcher.errors
    assert watcher.final == expected
    assert watcher.reopened == expected
    assert s.n_failed == len(FAILING) and s.n_completed == NX * NY - len(FAILING)
    assert any(c["running"] for c in watcher.seen), "the slow points never showed as running"
    assert any(c["pending"] for c in watcher.seen), "the page opened after the sweep"
    assert env.dashboard_link is None  # the cluster closed with the block
    _check_finished_map(watcher, tmp_path / "flaky.h5", "flaky", slow)
    assert (tmp_path / f"{name}.png").stat().st_size > 10_000  # the screenshot was taken
    return watcher


@pytest.mark.slow
def test_live_map_of_a_sweep_with_failing_and_slow_points(tmp_path):
    env = _flaky_env(tmp_path / "flaky.h5", cluster_options={
        "local_first": False, "n_workers": 2, "dashboard_address": "127.0.0.1:0"})
    _watch_live_sweep(env, tmp_path, "local")
    assert SLOW_X < NX


@pytest.mark.slow
@pytest.mark.slurm
def test_live_map_on_slurm(tmp_path, monkeypatch):
    from test_hpc_common import JOB

    monkeypatch.chdir(tmp_path)  # sbatch writes the jobs' output files here
    options = dict(JOB, scheduler_options={"dashboard_address": "127.0.0.1:0"})
    env = _flaky_env(tmp_path / "flaky.h5", cluster="slurm", n_jobs=2, cluster_options=options)
    _watch_live_sweep(env, tmp_path, "slurm")


@pytest.mark.slow
def test_show_html_of_a_stored_sweep(tmp_path, browser):
    from click.testing import CliRunner

    from pypetx.cli import cli

    env = _flaky_env(tmp_path / "flaky.h5", slow=0.0, cluster="synchronous")
    env.run(__import__("dashboard_sweeps").flaky)
    out = tmp_path / "map.html"
    result = CliRunner().invoke(cli, ["show", str(tmp_path / "flaky.h5"), "--html", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{len(FAILING)} failed" in result.output
    page = browser.new_page()
    errors = open_map(page, out.as_uri())
    assert shown_counts(page) == {"done": NX * NY - len(FAILING), "failed": len(FAILING),
                                  "running": 0, "pending": 0}
    # switching the axes in the file: x along x, y along y (the default is the other way)
    assert [point_of(c["label"]) for c in page.evaluate(CELLS_JS)][1] == {"y": "1", "x": "0"}
    page.get_by_label("x axis").select_option(label="x")
    page.get_by_label("y axis").select_option(label="y")
    page.wait_for_timeout(300)
    assert shown_counts(page)["failed"] == len(FAILING)
    for x, y in FAILING:  # now cell (x, y) is at (x, y): hover shows the stored error
        tip = hover(page, "pypetx-state-map", x, y)
        assert point_of(tip["point"]) == {"x": str(x), "y": str(y)}
        assert tip["state"] == "failed" and tip["error"] == f"ValueError: x={x}, y={y} is unstable"
        assert tip["worker"] and float(tip["duration"].removesuffix(" s")) >= 0
    assert hover(page, "pypetx-state-map", 2, 3)["error"] == ""
    page.get_by_text("Values", exact=True).click()
    page.get_by_label("Values tab: colour done points by").select_option("z")
    page.wait_for_timeout(200)
    assert page.evaluate(GLYPH_JS, "pypetx-value-map")["fill"] == "v_z"
    assert hover(page, "pypetx-value-map", 4, 5)["value"] == "20"  # z = x * y
    assert not errors, errors


@pytest.mark.slow
def test_show_html_of_a_run_layout_is_a_scatter(tmp_path, browser):
    """A zipped exploration (no grid): one dot per run over two chosen parameters."""
    from pypetx import Environment
    from pypetx.engine.dashboard.export import write_html
    from pypetx.engine.dashboard.stored import stored_state

    env = Environment("zipped", filename=str(tmp_path / "z.h5"), on_error="continue",
                      cluster="synchronous", progress=False)
    env.traj.f_add_parameter("x", 0)
    env.traj.f_add_parameter("y", 0)
    env.traj.f_explore({"x": [3, 1, 5, 2, 7, 0], "y": [1, 4, 4, 0, 2, 5]})  # zipped
    env.run(__import__("dashboard_sweeps").flaky)  # (3, 1) and (5, 4) fail
    page = browser.new_page()
    errors = open_map(page, write_html(stored_state(tmp_path / "z.h5", "zipped"),
                                       tmp_path / "z.html").as_uri())
    assert shown_counts(page) == {"done": 4, "failed": 2, "running": 0, "pending": 0}
    assert page.evaluate(GLYPH_JS, "pypetx-state-map") == {
        "type": "Scatter", "x": "x", "y": "y", "fill": "code"}
    tip = hover(page, "pypetx-state-map", 5, 4)  # a dot at its parameter values
    assert tip["point"] == "run 2: x=5, y=4" and tip["error"] == "ValueError: x=5, y=4 is unstable"
    page.get_by_label("x axis").select_option("y")  # the dots move to y along x
    page.get_by_label("y axis").select_option("x")
    assert page.evaluate(GLYPH_JS, "pypetx-state-map")["x"] == "p_y"
    assert hover(page, "pypetx-state-map", 4, 5)["point"] == "run 2: x=5, y=4"
    assert not errors, errors


@pytest.mark.slow
def test_several_sweeps_on_one_cluster_each_show_their_map(cluster, browser):
    """A grid and a run layout on one cluster: each page shows its own sweep, finished."""
    c, client = cluster
    rng = np.random.default_rng(1)
    layout = Exploration({"parameters.u": rng.random(30).round(3).tolist(),
                          "parameters.v": rng.random(30).round(3).tolist()})
    grid_id, layout_id = _two_sweeps(client, grid(), layout)
    root = f"http://127.0.0.1:{c.scheduler.http_server.port}/{PAGE}"
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = open_map(page, f"{root}?sweep={grid_id}")
    assert shown_counts(page) == {"done": NX * NY - 1, "failed": 1, "running": 0, "pending": 0}
    assert page.evaluate(GLYPH_JS, "pypetx-state-map")["type"] == "Rect"
    assert page.locator(".pypetx-summary").get_attribute("data-sweep") == grid_id
    chooser = page.get_by_label("Sweep")
    assert chooser.locator("option").all_inner_texts() == ["second (f.h5)", "first (f.h5)"]
    chooser.select_option(label="second (f.h5)")  # the chooser opens the other sweep's map
    page.wait_for_url(f"**sweep={layout_id}")
    errors += open_map(page, page.url)
    assert page.locator(".pypetx-summary").get_attribute("data-sweep") == layout_id
    assert shown_counts(page) == {"done": 29, "failed": 1, "running": 0, "pending": 0}
    assert page.evaluate(GLYPH_JS, "pypetx-state-map")["type"] == "Scatter"
    u, v = layout.column("parameters.u")[7], layout.column("parameters.v")[7]
    tip = hover(page, "pypetx-state-map", u, v)
    assert tip["point"] == f"run 7: u={u:.6g}, v={v:.6g}"
    assert tip["state"] == "failed" and tip["error"] == "ValueError: run 7 is unstable"
    assert tip["worker"] in {str(w["name"]) for w in client.scheduler_info()["workers"].values()}
    newest = browser.new_page()  # without ?sweep=: the newest sweep
    errors += open_map(newest, root)
    assert newest.locator(".pypetx-summary").get_attribute("data-sweep") == layout_id
    assert not errors, errors
