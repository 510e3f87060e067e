"""Where the sweep map is: its path below the dashboard, a sweep's id and URL."""

from __future__ import annotations

import hashlib
import os

__all__ = ["PAGE", "page_link", "sweep_id"]

#: The page's path below the dashboard's root (next to Dask's ``status``, ``workers``...).
PAGE = "pypetx/sweep"


def sweep_id(filename: str, name: str) -> str:
    """A trajectory in a file keeps one map (resumed, expanded or re-run sweeps update it)."""
    text = f"{os.path.abspath(filename)}\0{name}"
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def page_link(dashboard_link: str | None, sweep: str | None = None) -> str | None:
    """The sweep map's URL next to Dask's dashboard page ``dashboard_link``
    (``http://host:8787/status`` -> ``http://host:8787/pypetx/sweep?sweep=<id>``)."""
    if not dashboard_link:
        return None
    base = dashboard_link.split("?", 1)[0].rstrip("/")
    base = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
    return f"{base}/{PAGE}" + (f"?sweep={sweep}" if sweep else "")
