"""A sorted set of run indices kept as ranges: a sweep's pending runs without 8 B per run.

A fresh sweep's pending runs are ``0 .. N-1``, and a resumed one's are a few holes' worth of
ranges; as an int64 array they cost the driver 8 bytes per point for the whole sweep (0.8 GB
at 10^8 points). :class:`RunRanges` answers what the planner asks of them (how many, the
run at a position, the runs of a slice of positions) from ``(start, stop)`` pairs, and
becomes an array only where one is asked for (``np.asarray``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["RunRanges", "pending_runs"]


class RunRanges:
    """Sorted, unique run indices as half-open ranges ``[start, stop)``.

    Parameters
    ----------
    starts, stops : array_like of int
        Range bounds, sorted, non-overlapping and non-empty.
    """

    __slots__ = ("starts", "stops", "_offsets")

    def __init__(self, starts: Any, stops: Any) -> None:
        self.starts = np.asarray(starts, np.int64).reshape(-1)
        self.stops = np.asarray(stops, np.int64).reshape(-1)
        lengths = self.stops - self.starts
        if len(self.starts) != len(self.stops) or (lengths <= 0).any():
            raise ValueError("run ranges need one stop per start, each after its start")
        if len(self.starts) > 1 and (self.starts[1:] < self.stops[:-1]).any():
            raise ValueError("run ranges must be sorted and must not overlap")
        if len(self.starts) and self.starts[0] < 0:
            raise ValueError(f"run indices must be >= 0, got {int(self.starts[0])}")
        #: position of each range's first run among all runs, and the total at the end
        self._offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    @classmethod
    def from_mask(cls, mask: Any) -> RunRanges:
        """The runs where ``mask`` (one bool per run) is true."""
        m = np.asarray(mask, bool).reshape(-1)
        # in chunks: np.diff over the whole mask makes int64 temporaries, 16 B per run
        edges, step = [], 1 << 22
        for lo in range(0, len(m), step):
            part = m[max(lo - 1, 0) : lo + step]
            flips = np.flatnonzero(part[1:] != part[:-1]) + (max(lo - 1, 0) + 1)
            edges.append(flips)
        cuts = np.concatenate(edges) if edges else np.zeros(0, np.int64)
        if len(m) and m[0]:
            cuts = np.r_[0, cuts]
        if len(m) and m[-1]:
            cuts = np.r_[cuts, len(m)]
        return cls(cuts[0::2], cuts[1::2])

    @classmethod
    def from_indices(cls, indices: Any) -> RunRanges:
        """The runs of a sorted, unique integer array."""
        arr = np.asarray(indices, np.int64).reshape(-1)
        if not len(arr):
            return cls([], [])
        cuts = np.flatnonzero(np.diff(arr) != 1) + 1
        return cls(arr[np.r_[0, cuts]], arr[np.r_[cuts - 1, len(arr) - 1]] + 1)

    @classmethod
    def span(cls, start: int, stop: int) -> RunRanges:
        """Runs ``start .. stop - 1``."""
        return cls([start], [stop]) if stop > start else cls([], [])

    def __len__(self) -> int:
        return int(self._offsets[-1])

    @property
    def n_ranges(self) -> int:
        return len(self.starts)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.int64)

    @property
    def ndim(self) -> int:
        return 1

    @property
    def nbytes(self) -> int:
        return self.starts.nbytes + self.stops.nbytes + self._offsets.nbytes

    def _run_at(self, pos: int) -> int:
        k = int(np.searchsorted(self._offsets, pos, side="right")) - 1
        return int(self.starts[k] + (pos - self._offsets[k]))

    def __getitem__(self, key: Any) -> Any:
        n = len(self)
        if isinstance(key, slice):
            lo, hi, step = key.indices(n)
            if step != 1:
                return np.asarray(self)[key]
            return self._slice(lo, max(lo, hi))
        pos = int(key)
        if pos < 0:
            pos += n
        if not 0 <= pos < n:
            raise IndexError(f"run position {key} out of range for {n} runs")
        return self._run_at(pos)

    def _slice(self, lo: int, hi: int) -> np.ndarray:
        """The runs at positions ``lo .. hi - 1`` as an int64 array."""
        if hi <= lo:
            return np.zeros(0, np.int64)
        k0 = int(np.searchsorted(self._offsets, lo, side="right")) - 1
        k1 = int(np.searchsorted(self._offsets, hi - 1, side="right")) - 1
        first = int(self.starts[k0] + (lo - self._offsets[k0]))
        if k0 == k1:  # one range: the usual batch
            return np.arange(first, first + (hi - lo), dtype=np.int64)
        last = int(self.starts[k1] + (hi - 1 - self._offsets[k1]))
        starts = np.r_[first, self.starts[k0 + 1 : k1 + 1]]
        stops = np.r_[self.stops[k0:k1], last + 1]
        return np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in zip(starts, stops)])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self._slice(0, len(self))
        return out if dtype is None else out.astype(dtype, copy=False)

    def tolist(self) -> list[int]:
        return np.asarray(self).tolist()

    def mask(self, n: int) -> np.ndarray:
        """One bool per run of ``n``: whether it is in this set."""
        # ranges do not overlap, so the running sum of +1/-1 edges is 0 or 1 and fits int8:
        # 1 B per run of temporaries where an int64 cumsum would cost 8 (0.8 GB at 10^8)
        if self.n_ranges <= 4096:
            out = np.zeros(n, bool)
            for a, b in zip(self.starts.tolist(), self.stops.tolist()):
                if a >= n:
                    break
                out[a : min(b, n)] = True
            return out
        edges = np.zeros(n + 1, np.int8)
        edges[np.minimum(self.starts, n)] += 1
        edges[np.minimum(self.stops, n)] -= 1
        return np.cumsum(edges[:n], dtype=np.int8).view(bool)

    def __repr__(self) -> str:
        return f"RunRanges({len(self)} runs in {self.n_ranges} ranges)"


def pending_runs(mask: Any) -> RunRanges | np.ndarray:
    """The runs where ``mask`` is true: as ranges, or as an int64 array when they are so
    scattered that ranges (24 bytes each) would cost more than 8 bytes per run."""
    runs = RunRanges.from_mask(mask)
    if runs.n_ranges * 3 > max(len(runs), 1):
        return np.asarray(runs)
    return runs
