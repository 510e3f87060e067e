"""Which rows of which source fill which run and which block of a cube.

Two plans, one answer. The general plan keeps one entry per run: which source owns it
(a later source wins), its row there, and, for each block of the lazy cube, the rows and
in-block positions of its runs (about 20 bytes per run for a 2-D grid). It is what a
resumed sweep needs, where a rerun replaces runs an earlier source holds.

The span plan needs nothing per run. It applies when cell ``c`` is run ``c`` (C-order
grids, run layouts) and every source holds consecutive runs that no other source holds:
a fresh sweep, whose journal batches are ranges. A source then owns all its rows, and a
block's share of it is a few boxes (:class:`BoxPart`) whose rows are computed when the
block is. The driver's bookkeeping at ``finalize`` is then O(sources + blocks), not
O(runs) (issue #21: bounded memory whatever the number of points).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from pypetx.store.blocks import BoxPart, range_boxes
from pypetx.store.sources import Source

__all__ = ["AllRows", "disjoint_spans", "index_dtype", "ownership", "scatter_plan", "span_plan"]


def index_dtype(n: int) -> type:
    """The narrowest integer type that indexes ``n`` items."""
    return np.int32 if n < 2**31 else np.int64


class AllRows(Sequence):
    """``mine`` of the span plan: every row of every source, made when asked for."""

    def __init__(self, sources: Sequence[Source]):
        self._lengths = [0 if s.span is None else s.span[1] - s.span[0] for s in sources]

    def __len__(self) -> int:
        return len(self._lengths)

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        n = self._lengths[k]
        return np.arange(n, dtype=index_dtype(n))

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[k] for k in range(len(self)))


def disjoint_spans(sources: Sequence[Source], n_runs: int) -> bool:
    """True when every source holds a range of runs below ``n_runs`` and no two overlap."""
    spans = []
    for src in sources:
        span = getattr(src, "span", None)
        if span is None or span[1] > n_runs:
            return False
        spans.append(span)
    spans.sort()
    return all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def ownership(sources: Sequence[Source], n_runs: int
              ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """General plan: ``(owner, row, mine)``: each run's source and its row there, and the
    rows each source owns (a later source wins a run it shares with an earlier one).
    The narrowest integers: for 10^7 runs 90 MB, not 240 MB in int64."""
    owner = np.full(n_runs, -1, np.int8 if len(sources) < 127 else np.int32)
    row = np.zeros(n_runs, index_dtype(max([len(src.runs) for src in sources] + [n_runs])))
    for sid, src in enumerate(sources):
        runs = np.asarray(src.runs)
        keep = runs < n_runs  # a shrunk exploration is refused earlier; be safe anyway
        owner[runs[keep]] = sid
        row[runs[keep]] = np.flatnonzero(keep)
    mine = []
    for sid, src in enumerate(sources):
        runs = np.asarray(src.runs)
        ok = runs < n_runs
        rows = np.flatnonzero(ok & (owner[np.where(ok, runs, 0)] == sid))
        mine.append(rows.astype(row.dtype, copy=False))
    return owner, row, mine


def span_plan(sources: Sequence[Source], shape: tuple[int, ...], chunks: tuple[int, ...]
              ) -> dict[tuple[int, ...], list[BoxPart]]:
    """Block index -> the boxes of it each source fills (see :func:`disjoint_spans`)."""
    plan: dict[tuple[int, ...], list] = defaultdict(list)
    for src in sources:
        s0, s1 = src.span
        for box, _, _ in range_boxes(s0, s1, shape):
            blocks = [range(b.start // c, (b.stop - 1) // c + 1) for b, c in zip(box, chunks)]
            for idx in itertools.product(*blocks):
                cells = tuple(slice(max(b.start, i * c), min(b.stop, (i + 1) * c))
                              for b, i, c in zip(box, idx, chunks))
                local = tuple(slice(s.start - i * c, s.stop - i * c)
                              for s, i, c in zip(cells, idx, chunks))
                plan[idx].append(BoxPart(src, local, cells, s0, shape))
    return plan


def scatter_plan(sources: Sequence[Source], mine: Sequence[np.ndarray], cells_of: Any,
                 shape: tuple[int, ...], chunks: tuple[int, ...]
                 ) -> dict[tuple[int, ...], list[tuple[Source, np.ndarray, np.ndarray]]]:
    """General plan: block index -> ``[(source, rows, positions within the block)]``.

    Built source by source from each run's C-order cell (``cells_of(runs)``), one explored
    dim at a time: a few int64 temporaries per run, not ``(runs, ndim)`` arrays of every
    run (10^7 runs: ~0.4 GB at the peak instead of ~1.4 GB); rows and in-block positions
    are kept in int32.
    """
    plan: dict[tuple[int, ...], list] = defaultdict(list)
    nblk = [-(-s // c) for s, c in zip(shape, chunks)]
    local_dtype = index_dtype(max(chunks))
    for src, own in zip(sources, mine):
        if not len(own):
            continue
        rest = np.array(cells_of(np.asarray(src.runs)[own]), np.int64)
        key = np.zeros(len(rest), np.int64)
        local = np.empty((len(rest), len(chunks)), local_dtype)
        scale = 1
        for k in range(len(chunks) - 1, -1, -1):  # last dim fastest, as in C order
            at = rest % shape[k]
            rest //= shape[k]
            local[:, k] = at % chunks[k]
            key += (at // chunks[k]) * scale
            scale *= nblk[k]
        del rest, at
        order = np.argsort(key, kind="stable")
        key, local, rows = key[order], local[order], own[order]
        del order
        bounds = np.flatnonzero(np.diff(key)) + 1
        for a, b in zip([0, *bounds.tolist()], [*bounds.tolist(), len(key)]):
            idx = tuple(int(i) for i in np.unravel_index(int(key[a]), nblk))
            plan[idx].append((src, rows[a:b], local[a:b]))
    return plan
