"""What goes wrong with the place tasks run, as opposed to the runs themselves.

These errors stop a sweep instead of being recorded as failed runs: nothing is wrong with
the runs, and everything already stored stays stored (resume once the cause is fixed).
"""

from __future__ import annotations

from pypetx.base.errors import PypetxError

__all__ = ["ClusterError", "SchedulerLost"]


class ClusterError(PypetxError, RuntimeError):
    """The cluster cannot run the sweep: jobs rejected, workers never arrived, ...

    Raised instead of recording the runs as failed: nothing is wrong with the runs, and
    everything already stored stays stored (resume once the cause is fixed).
    """


class SchedulerLost(ClusterError, ConnectionError):
    """The driver lost its Dask scheduler in the middle of a sweep.

    Parameters
    ----------
    address : str
        The scheduler's address.
    reason : str
        What the client reported.
    detail : str
        What the sweep kept and how to resume (see :meth:`with_detail`).
    """

    def __init__(self, address: str, reason: str = "", detail: str = "") -> None:
        self.address, self.reason, self.detail = address, reason, detail
        text = f"lost the Dask scheduler at {address}"
        if reason:
            text += f" ({reason})"
        super().__init__(text + (f"; {detail}" if detail else ""))

    def with_detail(self, detail: str) -> SchedulerLost:
        """The same error with what the sweep kept and how to resume appended."""
        return SchedulerLost(self.address, self.reason, detail)
