"""The tasks that compute one block of a cube's variables from the sources holding its runs.

Each function takes plain arguments (sources, rows, positions) so a dask graph can carry
it as a task; :class:`pypetx.store.cube.Cube` plans which rows of which source go into
which block, and calls the same functions directly when it assembles a cube eagerly.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from pypetx.core.values import EMPTY, PICKLE
from pypetx.store.layout import FAILURE_VARS, NO_WORKER
from pypetx.store.sources import Source

__all__ = ["BoxPart", "as_slice", "dask_array", "failure_block", "fixed_block", "ragged_block",
           "range_boxes", "status_values", "worker_codes"]

_counter = itertools.count()


def dask_array(name: str, blocks: dict[tuple[int, ...], tuple], chunks, dtype) -> Any:
    """A dask array from one task per block (no argument hashing: the plans can be big)."""
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    key = f"pypetx-{name}-{next(_counter)}"
    dsk = {(key, *idx): task for idx, task in blocks.items()}
    graph = HighLevelGraph.from_collections(key, dsk, dependencies=())
    ndim = len(chunks)
    return da.Array(graph, key, chunks, dtype=dtype, meta=np.empty((0,) * ndim, dtype))


def worker_codes(src: Source, rows: np.ndarray, table: dict[str, int]) -> np.ndarray:
    """The cube's worker codes of ``rows`` of ``src`` (``table``: name -> code)."""
    names, codes = src.workers(rows)
    # the extra last entry maps a source's own -1 (unknown) to -1
    lut = np.array([table.get(n, NO_WORKER) if n else NO_WORKER for n in names] + [NO_WORKER],
                   np.int32)
    return lut[codes]


def status_values(src: Source, name: str, rows: np.ndarray,
                  workers: dict[str, int] | None) -> np.ndarray:
    """Status ``name`` of ``rows`` of ``src``; ``worker`` as the cube's codes."""
    if name == "worker":
        return worker_codes(src, rows, workers or {})
    return src.status(name, rows)


class BoxPart(NamedTuple):
    """Runs of one source that fill one box of a block (span plan).

    ``local``: the box within the block; ``cells``: the same box in the grid of ``shape``;
    row ``r`` of ``src`` is cell ``start + r``.
    """

    src: Source
    local: tuple[slice, ...]
    cells: tuple[slice, ...]
    start: int
    shape: tuple[int, ...]

    @property
    def box_shape(self) -> tuple[int, ...]:
        return tuple(s.stop - s.start for s in self.local)

    def rows(self) -> np.ndarray:
        """The source rows of the box's cells, in the box's C order."""
        if len(self.shape) == 1:
            return np.arange(self.cells[0].start - self.start, self.cells[0].stop - self.start)
        grids = np.ix_(*(np.arange(s.start, s.stop) for s in self.cells))
        return np.ravel_multi_index(grids, self.shape).ravel() - self.start


def fixed_block(name: str, status: bool, shape: tuple[int, ...], dtype: np.dtype, fill: Any,
                parts: list[Any], workers: dict[str, int] | None = None) -> np.ndarray:
    """One block of a status variable or fixed result; cells no run writes hold ``fill``.

    ``parts`` are ``(source, rows, positions in the block)`` (the general plan) or
    :class:`BoxPart` (the span plan: a box of the block, its rows computed here).
    """
    if not parts:
        nd = 0
    elif isinstance(parts[0], BoxPart):
        nd = len(parts[0].local)
    else:
        nd = len(parts[0][2][0])
    grid, vshape = shape[:nd], shape[nd:]
    if dtype == object or not parts:
        out = np.full(shape, fill, dtype=dtype)
        if dtype == object:
            out = out.astype(dtype)  # keep the vlen-str marker on the block
        filled = None
    else:  # big blocks: fill only the cells no run writes
        out = np.empty(shape, dtype=dtype)
        filled = np.zeros(grid, bool)
    for part in parts:
        if isinstance(part, BoxPart):
            src, rows, at = part.src, part.rows(), part.local
            reshape = part.box_shape
        else:
            src, rows, local = part
            at, reshape = tuple(local.T), None
        if status:
            values = status_values(src, name, rows, workers)
        else:
            info = src.infos.get(name)
            if info is None or info.mode == EMPTY:
                continue
            keep = src.present(name, rows)
            if not keep.any():
                continue
            if keep.all():
                values = src.fixed(name, rows)
            elif reshape is None:
                at, values = tuple(local[keep].T), src.fixed(name, rows[keep])
            else:  # a box is written whole: its missing runs get the fill value
                values = np.array(src.fixed(name, rows), dtype=dtype)
                values[~keep] = fill
        out[at] = values if reshape is None else np.reshape(values, reshape + vshape)
        if filled is not None:
            filled[at] = True
    if filled is not None and not filled.all():
        out[~filled] = fill
    return out


def ragged_block(name: str, mode: str, dtype: np.dtype, n: int,
                 items: list[tuple[Source, np.ndarray, np.ndarray]]) -> np.ndarray:
    """The ``<name>_obs`` values of ``n`` cells (C order): ``items`` are ``(source, rows,
    positions among the cells)``; pickled results give their bytes."""
    pieces: list[Any] = [None] * n
    for src, rows, order in items:
        info = src.infos.get(name)
        if info is None or info.mode == EMPTY:
            continue  # this source has no value of the result for these runs
        if mode == PICKLE:
            vals = [np.frombuffer(b, np.uint8) for b in src.as_blobs(name, rows)]
        else:
            vals = src.flat(name, rows)
        for o, v in zip(order, vals):
            pieces[o] = v
    got = [np.asarray(p).astype(dtype, copy=False) for p in pieces if p is not None]
    return np.concatenate(got) if got else np.zeros(0, dtype)


def failure_block(which: int, n: int, items: list[tuple[Source, np.ndarray, np.ndarray]]
                  ) -> np.ndarray:
    """Error messages (``which`` 0) or tracebacks (1) of ``n`` failures from their sources:
    ``items`` are ``(source, rows, positions in the block)``."""
    out = np.full(n, "", dtype=object).astype(FAILURE_VARS["failure_error"])
    for src, rows, order in items:
        out[order] = src.messages(rows)[which]
    return out


def as_slice(index: np.ndarray) -> slice | np.ndarray:
    """``index`` as a slice when it is consecutive and increasing (else itself)."""
    n = len(index)
    if n and index[-1] - index[0] == n - 1 and (n == 1 or (np.diff(index) == 1).all()):
        return slice(int(index[0]), int(index[0]) + n)
    return index


def range_boxes(c0: int, c1: int, shape: tuple[int, ...]
                ) -> Iterator[tuple[tuple[slice, ...], int, int]]:
    """Cover the C-order cells ``c0 .. c1-1`` of a grid of ``shape`` with boxes.

    Yields ``(slices, lo, hi)``: the box ``slices`` holds cells ``c0 + lo .. c0 + hi - 1``
    in C order; at most ``2 * len(shape) - 1`` boxes.
    """
    if c1 <= c0:
        return
    if len(shape) == 1:
        yield (slice(c0, c1),), 0, c1 - c0
        return
    inner = math.prod(shape[1:])
    i0, r0 = divmod(c0, inner)
    i1, r1 = divmod(c1, inner)
    if i0 == i1:  # inside one index of the outer dim
        for box, lo, hi in range_boxes(r0, r1, shape[1:]):
            yield (slice(i0, i0 + 1), *box), lo, hi
        return
    done = 0
    if r0:  # the head: the rest of outer index i0
        for box, lo, hi in range_boxes(r0, inner, shape[1:]):
            yield (slice(i0, i0 + 1), *box), lo, hi
        done, i0 = inner - r0, i0 + 1
    if i1 > i0:  # whole outer indices
        yield ((slice(i0, i1), *(slice(0, n) for n in shape[1:])), done,
               done + (i1 - i0) * inner)
        done += (i1 - i0) * inner
    if r1:  # the tail
        for box, lo, hi in range_boxes(0, r1, shape[1:]):
            yield (slice(i1, i1 + 1), *box), done + lo, done + hi
