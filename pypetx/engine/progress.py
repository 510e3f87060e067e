"""The sweep's progress bar: runs done out of runs pending, failed count, dashboard links."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # typing.Self is Python >= 3.11; pypetx supports 3.10
    from typing import Self

from pypetx.base import config

__all__ = ["Progress", "progress_enabled"]


def progress_enabled(progress: bool | str | None) -> bool:
    """Decide whether to show a bar.

    Parameters
    ----------
    progress : bool, "auto" or None
        ``None`` reads ``pypetx.progress`` from ``dask.config``. ``"auto"`` shows the bar on
        a terminal or in a Jupyter kernel, and hides it in logs, CI and batch jobs (where
        a bar is thousands of carriage returns in a file).
    """
    if progress is None:
        progress = config.get("progress", "auto")
    if isinstance(progress, str):
        if progress.lower() != "auto":
            raise ValueError(
                f"progress must be True, False or 'auto', got {progress!r}"
            )
        if "ipykernel" in sys.modules:
            return True
        stream = sys.stderr
        return bool(
            stream is not None and hasattr(stream, "isatty") and stream.isatty()
        )
    return bool(progress)


class Progress:
    """A ``tqdm.auto`` bar counting runs, or nothing when disabled.

    Parameters
    ----------
    total : int
        Runs in the sweep.
    enabled : bool
        Show it or not (see :func:`progress_enabled`).
    dashboard_link : str, optional
        Printed once above the bar, so the user can open the Dask dashboard.
    """

    def __init__(
        self, total: int, enabled: bool, dashboard_link: str | None = None
    ) -> None:
        self._bar: Any = None
        self._shown: set[str] = set()
        if not enabled:
            return
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, unit="run", dynamic_ncols=True, smoothing=0.1)
        if dashboard_link:
            self.link("Dask dashboard", dashboard_link)

    def link(self, label: str, url: str | None) -> None:
        """Print ``label: url`` above the bar, once per label (a cluster that starts in
        the middle of the sweep announces its dashboard and sweep map then)."""
        if self._bar is None or not url or label in self._shown:
            return
        self._shown.add(label)
        self._bar.write(f"{label}: {url}", file=sys.stderr)

    def update(self, n_runs: int, n_failed_total: int) -> None:
        """Count ``n_runs`` more runs; show the failures so far."""
        if self._bar is None:
            return
        if n_failed_total:
            self._bar.set_postfix(failed=n_failed_total, refresh=False)
        self._bar.update(n_runs)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
