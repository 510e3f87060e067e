"""Helpers to build :class:`BatchResult` objects by hand (tests, examples, other engines)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pypetx.core.batch import BatchResult, ResultMeta

__all__ = ["make_batch"]


def make_batch(indices: Sequence[int], results: Mapping[str, Any] | None = None, *,
               failed: Sequence[int] = (), worker: str = "tcp://127.0.0.1:1",
               meta: Mapping[str, ResultMeta] | None = None,
               present: Mapping[str, np.ndarray] | None = None) -> BatchResult:
    """A finished batch: runs in ``failed`` (run indices) failed, the others completed.

    Durations are ``0.5`` s per run; failed runs get an error and traceback text.
    """
    idx = np.asarray(indices, dtype=np.int64)
    bad = np.isin(idx, np.asarray(failed, dtype=np.int64))
    return BatchResult(
        indices=idx,
        results=dict(results or {}),
        present={k: np.asarray(v, bool) for k, v in (present or {}).items()},
        completed=~bad,
        failed=bad,
        duration=np.full(len(idx), 0.5),
        worker=worker,
        error=[f"ValueError: run {i} failed" if b else "" for i, b in zip(idx, bad)],
        traceback=[f"Traceback ...\nValueError: run {i}" if b else "" for i, b in zip(idx, bad)],
        result_meta=dict(meta or {}),
    )
