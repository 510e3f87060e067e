"""Sweep functions and browser helpers of the dashboard tests (no tests here).

Workers import the sweep functions by name, so they live in an importable module
(``tests/`` is on the workers' PYTHONPATH). Run as a script, it regenerates the pictures
of docs/dashboard.md from a real sweep (LocalCluster, headless Chromium)::

    .venv/bin/python tests/dashboard_sweeps.py docs/images
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

#: Points (x, y) that raise, and the x whose points are slow.
FAILING = {(3, 1), (5, 4)}
SLOW_X = 6


def flaky(traj):
    """z = x * y; the FAILING points raise, the points at x == SLOW_X take a while."""
    x, y = int(traj.x), int(traj.y)
    if (x, y) in FAILING:
        raise ValueError(f"x={x}, y={y} is unstable")
    if x == SLOW_X:
        time.sleep(float(getattr(traj, "slow", 0.6)))
    traj.f_add_result("z", float(x * y))
    return x * y


def oscillator(traj):
    """The docs' picture: a damped oscillator's amplitude over ``gain`` x ``damping``.

    Unstable (raises) where the gain outruns the damping; slow near the resonance ridge,
    where the integration needs small steps.
    """
    gain, damping = float(traj.gain), float(traj.damping)
    if gain > 2.2 * damping + 1.2:
        raise FloatingPointError(f"amplitude diverged (gain={gain:g} > 2.2 * damping + 1.2)")
    ridge = abs(gain - 1.0 - 0.5 * damping)
    if ridge < 0.08:
        time.sleep(0.25 * (1 - ridge / 0.08) + 0.05)
    traj.f_add_result("amplitude", gain / math.hypot(1 - gain, damping + 0.05))


# -- in the browser ----------------------------------------------------------------------
#: Chromium without anything that reaches out (Playwright's own browser is never used).
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync"]

#: Where data point (x, y) of a map figure is on the page, in CSS pixels.
POINT_JS = """([name, x, y]) => {
  const view = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name(name))
  const box = view.canvas_view.el.getBoundingClientRect()
  return [box.left + view.frame.x_scale.compute(x), box.top + view.frame.y_scale.compute(y)]
}"""


def open_map(page, url: str) -> list[str]:
    """Open a sweep map (live page or ``show --html`` file); the page's JS errors (the
    list grows while the page lives)."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function(
        "() => window.Bokeh && Bokeh.documents.length && "
        "Bokeh.documents[0].get_model_by_name('pypetx-cells')", timeout=60_000)
    return errors


def hover(page, figure: str, x: float, y: float) -> dict[str, str]:
    """Move the mouse over data point (x, y) of ``figure``; its tooltip, row by row."""
    page.mouse.move(0, 0)
    px, py = page.evaluate(POINT_JS, [figure, x, y])
    page.mouse.move(px, py)
    tip = page.locator(".bk-Tooltip:visible")
    tip.wait_for(timeout=10_000)
    labels = tip.locator(".bk-tooltip-row-label").all_inner_texts()
    values = tip.locator(".bk-tooltip-row-value").all_inner_texts()
    return {k.strip().rstrip(":"): v.strip() for k, v in zip(labels, values)}


def screenshots(out_dir: Path, chromium: str = "chromium") -> list[Path]:
    """Run :func:`oscillator` on a 20 x 20 grid on a LocalCluster, open its finished map
    and save ``dashboard-sweep-map.png`` (State tab, a failed cell hovered) and
    ``dashboard-sweep-durations.png`` (Values tab by duration) in ``out_dir``."""
    import os

    from pypetx import Environment, cartesian_product

    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # the map names the file as given: no temporary path in the picture
        try:
            env = Environment("oscillator", filename="oscillator.h5", on_error="continue",
                              batch_size=4, progress=False,
                              cluster_options={"local_first": False, "n_workers": 2,
                                               "dashboard_address": "127.0.0.1:0"})
            env.traj.f_add_parameter("gain", 0.0)
            env.traj.f_add_parameter("damping", 0.0)
            env.traj.f_explore(cartesian_product({
                "gain": [round(0.15 * i, 2) for i in range(20)],
                "damping": [round(0.1 * j, 2) for j in range(20)]}))
            with env:
                env.run(oscillator)
                # the finished map stays until the cluster closes with the block
                return _shoot(env.dashboard_link, out_dir, chromium)
        finally:
            os.chdir(here)


def _shoot(link: str, out_dir: Path, chromium: str) -> list[Path]:
    import shutil

    from playwright.sync_api import sync_playwright

    shots = [out_dir / "dashboard-sweep-map.png", out_dir / "dashboard-sweep-durations.png"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which(chromium), args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 860})
        open_map(page, link)
        page.wait_for_timeout(500)
        cells = page.evaluate(
            "() => { const d = Bokeh.documents[0].get_model_by_name('pypetx-cells').data;"
            " return Array.from(d.code).map((c, i) => [c, d.x[i], d.y[i]]) }")
        failed = [(x, y) for code, x, y in cells if code == 3]
        hover(page, "pypetx-state-map", *failed[len(failed) // 2])
        page.screenshot(path=str(shots[0]))
        page.mouse.move(0, 0)
        page.get_by_text("Values", exact=True).click()
        page.wait_for_timeout(300)
        page.screenshot(path=str(shots[1]))
        browser.close()
    return shots


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from dashboard_sweeps import screenshots as _screenshots  # workers import it by name

    for shot in _screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")):
        print(shot)
