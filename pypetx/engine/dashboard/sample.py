"""What the sweep map keeps of a sweep with more points than it can draw: a sample.

A map draws at most ``MAX_BINS ** 2`` cells (:mod:`pypetx.engine.dashboard.views`), so per
run state of every point of a 10^8-point sweep (14 bytes each: 1.4 GB, in the driver's
process when the scheduler runs there) buys nothing the page shows. Beyond
:data:`MAX_TRACKED` points the map's per-point arrays hold a stratified sample instead: one
point drawn at random from each of :data:`MAX_TRACKED` equal spans of consecutive runs
(spread evenly over a C-order grid, and no stride to alias with an axis). The state's
counts stay exact (:class:`~pypetx.engine.dashboard.state.SweepState`); only the colours of
the cells come from the sample, ~200 points per cell of a 100 x 100 map.

The masks a sweep starts from (done, failed, to do) travel and are kept as packed bits
(:class:`Bits`): 1 bit per run, not a byte.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

__all__ = ["MAX_TRACKED", "Bits", "stratified", "subsample"]

#: Points whose state the map keeps one by one at most (beyond: a sample of this many).
MAX_TRACKED = 2**21
#: Set bits of each byte value (``numpy.bitwise_count`` needs numpy 2).
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], np.uint8)


class Bits:
    """A boolean mask of ``n`` runs as packed bits (``numpy.packbits`` order).

    Parameters
    ----------
    packed : numpy.ndarray of uint8
        ``ceil(n / 8)`` bytes; the bits beyond ``n`` are zero.
    n : int
        Runs.
    """

    __slots__ = ("packed", "n")

    def __init__(self, packed: np.ndarray, n: int) -> None:
        self.packed, self.n = np.asarray(packed, np.uint8), int(n)

    @classmethod
    def of(cls, mask: Any, n: int, default: bool = False) -> Bits:
        """``mask`` (bools of ``n`` runs, a :class:`Bits`, or ``None``: all ``default``)."""
        if isinstance(mask, Bits):
            return mask
        if mask is None:
            packed = np.full(-(-n // 8), 0xFF if default else 0, np.uint8)
            return cls(packed, n)._clear_tail()
        mask = np.asarray(mask, bool)
        if mask.shape != (n,):
            raise ValueError(f"a mask of {n} runs has {mask.shape} values")
        return cls(np.packbits(mask), n)

    def _clear_tail(self) -> Bits:
        if self.n % 8 and len(self.packed):
            self.packed[-1] &= np.uint8((0xFF << (8 - self.n % 8)) & 0xFF)
        return self

    def __and__(self, other: Bits) -> Bits:
        return Bits(self.packed & other.packed, self.n)

    def __invert__(self) -> Bits:
        return Bits(~self.packed, self.n)._clear_tail()

    def count(self) -> int:
        """How many runs are set."""
        return int(_POPCOUNT[self.packed].sum(dtype=np.int64))

    def runs(self, chunk: int = 2**20) -> np.ndarray:
        """The set runs, sorted (unpacked ``chunk`` bytes at a time)."""
        parts = [np.flatnonzero(np.unpackbits(self.packed[a:a + chunk])) + 8 * a
                 for a in range(0, len(self.packed), chunk)]
        out = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        return out[out < self.n].astype(np.int64)

    def at(self, runs: np.ndarray | None = None) -> np.ndarray:
        """The bools of ``runs`` (all ``n`` runs when ``None``)."""
        if runs is None:
            return np.unpackbits(self.packed, count=self.n).astype(bool)
        runs = np.asarray(runs, np.int64)
        return ((self.packed[runs >> 3] >> (7 - (runs & 7)).astype(np.uint8)) & 1).astype(bool)


def stratified(n: int, m: int, seed: int = 0) -> np.ndarray:
    """``m`` sorted distinct runs of ``n``: one at random from each of ``m`` equal spans."""
    edges = (np.arange(m + 1, dtype=np.int64) * n) // m
    width = np.diff(edges)
    rng = np.random.default_rng(seed)
    return edges[:-1] + (rng.random(m) * width).astype(np.int64)


def subsample(definition: Any, sample: np.ndarray) -> Any:
    """The :class:`~pypetx.engine.dashboard.state.SweepDefinition` of the sampled runs only
    (a grid keeps its axes, with each sampled point's C-order cell)."""
    if definition.is_grid:
        cells = sample if definition.cells is None else np.asarray(definition.cells)[sample]
        return replace(definition, n_runs=len(sample), cells=np.asarray(cells, np.int64))
    params = {k: np.asarray(v)[sample] for k, v in (definition.params or {}).items()}
    return replace(definition, n_runs=len(sample), params=params)
