"""pypet's return value of ``env.run``: one ``(run_index, return_value)`` per run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["RunReturns"]


class RunReturns(Sequence):
    """pypet's return value of ``env.run``: ``(run_index, return_value)`` per executed run,
    in run order, ``None`` where the function returned nothing.

    Built lazily from the executed indices and the non-None returns, so a sweep of 10^6
    runs whose function returns nothing does not build 10^6 tuples.
    """

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []
        self._sorted: np.ndarray | None = None
        self._values: dict[int, Any] = {}

    def _add_runs(self, indices: np.ndarray) -> None:
        self._runs.append(indices)
        self._sorted = None

    @property
    def _indices(self) -> np.ndarray:
        if self._sorted is None:
            runs = np.concatenate(self._runs) if self._runs else np.zeros(0, np.int64)
            self._sorted = np.unique(runs)
        return self._sorted

    def __len__(self) -> int:
        return len(self._indices)

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        i = int(self._indices[k])
        return (i, self._values.get(i))

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, (list, tuple, Sequence)) \
            else NotImplemented

    def __repr__(self) -> str:
        return repr(list(self)) if len(self) <= 20 else \
            f"<RunReturns of {len(self)} runs: {self[:3]!r} ...>"

    def values(self) -> dict[int, Any]:
        """The non-None return values by run index."""
        return dict(self._values)

    def _merge(self, other: RunReturns) -> None:
        self._runs.extend(other._runs)
        self._sorted = None
        self._values.update(other._values)
