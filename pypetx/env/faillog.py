"""What a sweep logs about its failed runs: the first few one by one, then a summary.

A sweep where 1,000 runs fail must not print 1,000 warnings: the first
:data:`FIRST_LOGGED` failures are logged as they arrive (so a user sees the cause at once,
while the sweep runs), the rest are counted by error type, and the end of the sweep logs
one summary line (counts by type, the first runs, where to read every traceback).
"""

from __future__ import annotations

import collections
import logging

__all__ = ["FIRST_LOGGED", "FailureLog"]

log = logging.getLogger("pypetx")

#: Failures logged one by one before the rest are only counted.
FIRST_LOGGED = 5


class FailureLog:
    """Collects the failed runs of one sweep and logs them readably.

    Parameters
    ----------
    name : str
        The trajectory's name, the prefix of every line.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.runs: list[int] = []
        self.by_type: collections.Counter[str] = collections.Counter()
        self._first: list[tuple[int, str]] = []

    def add(self, run: int, error: str) -> None:
        """Record that ``run`` failed with ``error`` (``"Type: message"``)."""
        self.runs.append(run)
        self.by_type[error.partition(":")[0].strip() or "error"] += 1
        if len(self._first) < FIRST_LOGGED:
            self._first.append((run, error))
            log.warning("%s: run %d failed: %s", self.name, run, error)
            if len(self._first) == FIRST_LOGGED:
                log.warning("%s: further failures are counted, not logged one by one; "
                            "a summary follows at the end", self.name)

    def __len__(self) -> int:
        return len(self.runs)

    def summary(self, hint: str) -> str | None:
        """One line: counts by error type and the first failed runs; ``None`` if none
        failed. ``hint`` says where every traceback can be read."""
        if not self.runs:
            return None
        types = ", ".join(f"{t} x{n}" for t, n in self.by_type.most_common())
        first = sorted(self.runs)[:FIRST_LOGGED]
        more = "..." if len(self.runs) > len(first) else ""
        return (f"{self.name}: {len(self.runs)} runs failed ({types}); first runs "
                f"{', '.join(map(str, first))}{more}; {hint}")

    def log_summary(self, hint: str) -> None:
        """Log :meth:`summary` when more failed than were logged one by one."""
        text = self.summary(hint)
        if text is not None and len(self.runs) > FIRST_LOGGED:
            log.warning("%s", text)
