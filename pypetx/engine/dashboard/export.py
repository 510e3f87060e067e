"""The sweep map as one self-contained HTML file (``pypetx show FILE --html out.html``).

The same :class:`~pypetx.engine.dashboard.page.MapPanel` as the live page, with BokehJS
inlined: the file opens in any browser, offline, long after the cluster is gone. A grid's
axes are switched among views precomputed for every pair of (up to six) axes.
"""

from __future__ import annotations

import os
from pathlib import Path

from bokeh.embed import file_html
from bokeh.resources import INLINE

from pypetx.engine.dashboard.page import MapPanel
from pypetx.engine.dashboard.state import SweepState

__all__ = ["map_html", "write_html"]


def map_html(state: SweepState, title: str | None = None) -> str:
    """The sweep map of ``state`` as a standalone HTML page."""
    panel = MapPanel(state, live=False)
    return file_html(panel.root, INLINE, title=title or f"pypetx: {state.definition.name}")


def write_html(state: SweepState, path: str | os.PathLike[str],
               title: str | None = None) -> Path:
    """Write :func:`map_html` to ``path``; the path written."""
    path = Path(path)
    path.write_text(map_html(state, title), encoding="utf-8")
    return path
