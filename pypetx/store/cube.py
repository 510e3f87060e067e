"""Assemble the result cube lazily from sources (journal batch files, an earlier cube).

Every variable is a dask array whose blocks are chunks along the explored dimensions; the
task of a block reads only the sources holding runs of that block (with batches of C
ordered runs: one batch file), so writing the cube streams through the driver with memory
bounded by a few batches. Ragged and pickled results become CF contiguous ragged arrays:
``<name>`` along ``<name>_obs`` (values of all cells in C order) and ``<name>_count``.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from pypetx.store.layout import (
    EMPTY,
    FIXED,
    PICKLE,
    STATUS_VARS,
    ResultInfo,
    chunk_shape,
    explored_coords,
    explored_dims,
    fill_value,
    merge_infos,
    result_dims,
    variable_attrs,
)
from pypetx.store.sources import Source

__all__ = ["Cube", "build_cube"]

_counter = itertools.count()


def _dask_array(name: str, blocks: dict[tuple[int, ...], tuple], chunks, dtype) -> Any:
    """A dask array from one task per block (no argument hashing: the plans can be big)."""
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    key = f"pypetx-{name}-{next(_counter)}"
    dsk = {(key, *idx): task for idx, task in blocks.items()}
    graph = HighLevelGraph.from_collections(key, dsk, dependencies=())
    ndim = len(chunks)
    return da.Array(graph, key, chunks, dtype=dtype, meta=np.empty((0,) * ndim, dtype))


def _fixed_block(name: str, status: bool, shape: tuple[int, ...], dtype: np.dtype, fill: Any,
                 parts: list[tuple[Source, np.ndarray, np.ndarray]]) -> np.ndarray:
    out = np.full(shape, fill, dtype=dtype)
    if dtype == object:
        out = out.astype(dtype)  # keep the vlen-str marker on the block
    for src, rows, local in parts:
        if status:
            out[tuple(local.T)] = src.status(name, rows)
            continue
        info = src.infos.get(name)
        if info is None or info.mode == EMPTY:
            continue
        keep = src.present(name, rows)
        if keep.any():
            out[tuple(local[keep].T)] = src.fixed(name, rows[keep])
    return out


def _ragged_block(name: str, mode: str, dtype: np.dtype, n: int,
                  items: list[tuple[Source, np.ndarray, np.ndarray]]) -> np.ndarray:
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


class Cube:
    """The plan of one assembled cube: which source holds which run, chunk by chunk.

    Parameters
    ----------
    exploration : Exploration
        The points (``names``, ``axes``, ``shape``, ``positions``, ...).
    sources : list of Source
        In order of age; a later source wins for a run it shares with an earlier one.
    batch_size : int
        Runs per chunk along the explored dims.
    """

    def __init__(self, exploration: Any, sources: Sequence[Source], batch_size: int):
        self.exploration = exploration
        self.sources = list(sources)
        self.dims = explored_dims(exploration)
        self.shape = tuple(int(s) for s in exploration.shape)
        self.positions = np.asarray(exploration.positions, dtype=np.int64)
        self.chunks = chunk_shape(self.shape, batch_size)
        n = exploration.n_runs
        self.owner = np.full(n, -1, np.int64)
        self.row = np.zeros(n, np.int64)
        for sid, src in enumerate(self.sources):
            keep = src.runs < n  # a shrunk exploration is refused earlier; be safe anyway
            self.owner[src.runs[keep]] = sid
            self.row[src.runs[keep]] = np.flatnonzero(keep)
        self.infos: dict[str, ResultInfo] = {}
        for src in self.sources:
            for name, info in src.infos.items():
                self.infos[name] = merge_infos(self.infos.get(name), info)
        self._plan = self._block_plan()
        # C-order cell -> run (-1: a cell no run maps to cannot happen for a grid)
        cells = np.ravel_multi_index(self.positions.T, self.shape)
        self.run_of_cell = np.full(math.prod(self.shape), -1, np.int64)
        self.run_of_cell[cells] = np.arange(n)

    @property
    def dask_chunks(self) -> tuple[tuple[int, ...], ...]:
        return tuple(
            tuple(min(c, s - i) for i in range(0, s, c)) for s, c in zip(self.shape, self.chunks)
        )

    def _block_plan(self) -> dict[tuple[int, ...], list[tuple[Source, np.ndarray, np.ndarray]]]:
        """Block index -> [(source, rows, positions within the block)]."""
        runs = np.flatnonzero(self.owner >= 0)
        plan: dict[tuple[int, ...], list] = defaultdict(list)
        if len(runs) == 0:
            return plan
        chunks = np.array(self.chunks)
        blk = self.positions[runs] // chunks
        order = np.lexsort((self.owner[runs], *blk.T[::-1]))
        runs, blk = runs[order], blk[order]
        keys = np.column_stack([blk, self.owner[runs]])
        bounds = np.flatnonzero((np.diff(keys, axis=0) != 0).any(axis=1)) + 1
        for group in np.split(np.arange(len(runs)), bounds):
            r = runs[group]
            idx = tuple(int(x) for x in blk[group[0]])
            local = self.positions[r] - np.array(idx) * chunks
            plan[idx].append((self.sources[self.owner[r[0]]], self.row[r], local))
        return plan

    def _blocks(self, name: str, status: bool, dtype: np.dtype, fill: Any,
                value_shape: tuple[int, ...]) -> Any:
        blocks = {}
        nblocks = [len(c) for c in self.dask_chunks]
        for idx in itertools.product(*(range(b) for b in nblocks)):
            bshape = tuple(c[i] for c, i in zip(self.dask_chunks, idx)) + value_shape
            task = (_fixed_block, name, status, bshape, dtype, fill, self._plan.get(idx, []))
            blocks[idx + (0,) * len(value_shape)] = task
        chunks = self.dask_chunks + tuple((s,) for s in value_shape)
        return _dask_array(name, blocks, chunks, dtype)

    def status_variable(self, name: str) -> xr.Variable:
        dtype = STATUS_VARS[name]
        fill = {"completed": False, "failed": False, "duration": np.nan}.get(name, "")
        data = self._blocks(name, True, dtype, fill, ())
        return xr.Variable(self.dims, data)

    def _present_all(self, name: str) -> np.ndarray:
        """Whether each run has a value of ``name`` (read eagerly: flags are small)."""
        out = np.zeros(self.exploration.n_runs, bool)
        for sid, src in enumerate(self.sources):
            mine = np.flatnonzero(self.owner[src.runs] == sid) if len(src.runs) else []
            if len(mine):
                out[src.runs[mine]] = src.present(name, np.asarray(mine))
        return out

    def result_variables(self, info: ResultInfo) -> dict[str, xr.Variable]:
        """The variable(s) of one result: one fixed variable, or values + counts (+ shapes)."""
        name = info.name
        attrs = dict(variable_attrs(info), pypetx_mode=info.mode)
        if info.mode in (FIXED, EMPTY):
            dtype = info.dtype
            shape = tuple(info.shape or ()) if info.mode == FIXED else ()
            fill = fill_value(dtype)
            data = self._blocks(name, False, dtype, fill, shape)
            var = xr.Variable(self.dims + result_dims(info)[: len(shape)], data, attrs)
            if dtype.kind in "iu" and not self._present_all(name).all():
                var.encoding["_FillValue"] = fill  # CF readers then mask missing runs
            return {name: var}
        return self._ragged_variables(info, attrs)

    def _ragged_variables(self, info: ResultInfo, attrs: dict[str, Any]) -> dict[str, xr.Variable]:
        name, mode = info.name, info.mode
        counts = np.zeros(self.exploration.n_runs, np.int64)
        shapes = np.zeros((self.exploration.n_runs, max(info.ndim, 1)), np.int64)
        for sid, src in enumerate(self.sources):
            mine = np.flatnonzero(self.owner[src.runs] == sid)
            if not len(mine):
                continue
            counts[src.runs[mine]] = src.as_counts(name, mine, mode)
            if mode != PICKLE and info.ndim > 1 and name in src.infos:
                for r, s in zip(src.runs[mine], src.shapes(name, mine)):
                    if s is not None:
                        shapes[r, info.ndim - len(s):] = s
                        shapes[r, : info.ndim - len(s)] = 1
        cell_counts = np.zeros(len(self.run_of_cell), np.int64)
        valid = self.run_of_cell >= 0
        cell_counts[valid] = counts[self.run_of_cell[valid]]
        per_chunk = max(1, math.prod(self.chunks))
        blocks, sizes = {}, []
        for k, c0 in enumerate(range(0, len(cell_counts), per_chunk)):
            cells = np.arange(c0, min(c0 + per_chunk, len(cell_counts)))
            runs = self.run_of_cell[cells]
            items = []
            owners = np.where(runs >= 0, self.owner[np.maximum(runs, 0)], -1)
            for sid in np.unique(owners[owners >= 0]):
                order = np.flatnonzero(owners == sid)
                items.append((self.sources[sid], self.row[runs[order]], order))
            blocks[(k,)] = (_ragged_block, name, mode, info.dtype, len(cells), items)
            sizes.append(int(cell_counts[cells].sum()))
        obs = f"{name}_obs"
        data = _dask_array(name, blocks, (tuple(sizes),), info.dtype)
        if mode == PICKLE:
            attrs["pypetx_kind"] = PICKLE
        out = {name: xr.Variable(obs, data, attrs)}
        count_grid = cell_counts.reshape(self.shape)
        out[f"{name}_count"] = xr.Variable(
            self.dims, count_grid, {"sample_dimension": obs, "long_name": f"number of {name} values per run"}
        )
        if mode != PICKLE and info.ndim > 1:
            grid = np.zeros(self.shape + (info.ndim,), np.int64)
            grid[tuple(self.positions.T)] = shapes
            out[f"{name}_shape"] = xr.Variable(self.dims + (f"{name}_ndim",), grid)
        return out

    def dataset(self, attrs: dict[str, Any] | None = None) -> xr.Dataset:
        """The whole cube: coordinates, status variables, result variables."""
        variables: dict[str, xr.Variable] = {n: self.status_variable(n) for n in STATUS_VARS}
        for info in self.infos.values():
            variables.update(self.result_variables(info))
        ds = xr.Dataset(variables, coords=explored_coords(self.exploration), attrs=attrs or {})
        return ds


def build_cube(exploration: Any, sources: Sequence[Source], *, batch_size: int,
               attrs: dict[str, Any] | None = None) -> xr.Dataset:
    """Lazily assembled Dataset of ``exploration`` from ``sources`` (see :class:`Cube`)."""
    return Cube(exploration, sources, batch_size).dataset(attrs)
