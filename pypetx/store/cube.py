"""Assemble the result cube from sources (journal batch files, an earlier cube).

A cube within the ``pypetx.store.eager_bytes`` budget (``dask.config``, default 256 MiB) is
assembled eagerly: each source is read once per variable and its rows scattered into
preallocated numpy arrays (many small batches cost no scheduler overhead). A larger cube
is lazy: every variable is a dask array whose blocks are whole storage chunks along the
explored dimensions (about ``_TASK_BYTES`` each); the task of a block reads only the
sources holding runs of that block, so writing the cube streams through the driver with
memory bounded by a few blocks. Ragged and pickled results become CF contiguous ragged arrays:
``<name>`` along ``<name>_obs`` (values of all cells in C order) and ``<name>_count``.

Status: ``completed``, ``failed``, ``duration`` and the ``worker`` code over the explored
dims (the worker names, collected from all sources first, are an attribute); error
messages and tracebacks only of the failed runs, along ``failure`` (``failure_run``,
``failure_error``, ``failure_traceback``), so a sweep with few failures stores (and every
reader decodes) few strings.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

import numpy as np
import xarray as xr

from pypetx.store.layout import (
    EMPTY,
    FAILURE_DIM,
    FAILURE_VARS,
    FIXED,
    NO_WORKER,
    PICKLE,
    STATUS_VARS,
    WORKER_NAMES,
    ResultInfo,
    chunk_shape,
    explored_coords,
    explored_dims,
    fill_value,
    merge_infos,
    result_dims,
    variable_attrs,
)
from pypetx.store.blocks import (
    as_slice,
    dask_array,
    failure_block,
    fixed_block,
    ragged_block,
    range_boxes,
    status_values,
)
from pypetx.store.plan import AllRows, disjoint_spans, ownership, scatter_plan, span_plan
from pypetx.store.sources import Source

__all__ = ["Cube", "build_cube", "eager_budget"]

#: Lazy path: aim for dask tasks of about this many bytes (whole storage chunks each).
_TASK_BYTES = 64 * 2**20
#: In-memory bytes of one cell's status variables (2 bools, float64, int32 worker code).
_STATUS_CELL_BYTES = 1 + 1 + 8 + 4
#: Rough in-memory bytes of one failed run's message and traceback.
_FAILURE_BYTES = 4096
#: Failures per lazy block of the failure variables.
_FAILURES_PER_BLOCK = 16384
_DEFAULT_EAGER_BYTES = 256 * 2**20
_STATUS_FILL = {"completed": False, "failed": False, "duration": np.nan, "worker": NO_WORKER}


def eager_budget() -> int:
    """Bytes below which a cube is assembled in memory (``pypetx.store.eager_bytes``)."""
    import dask.config
    from dask.utils import parse_bytes

    value = dask.config.get("pypetx.store.eager_bytes", _DEFAULT_EAGER_BYTES)
    return int(parse_bytes(value)) if isinstance(value, str) else int(value)


class Cube:
    """The plan of one assembled cube: which source holds which run.

    Small cubes (below the ``pypetx.store.eager_bytes`` budget of :mod:`dask.config`) are
    assembled eagerly: every source is read once per variable and its rows are scattered
    into preallocated numpy arrays. Larger cubes become dask arrays whose tasks each read
    the sources of one block (a whole number of storage chunks, about ``_TASK_BYTES``), so
    writing them streams with memory bounded by a few blocks.

    Parameters
    ----------
    exploration : Exploration
        The points (``names``, ``axes``, ``shape``, ``positions``, ...).
    sources : list of Source
        In order of age; a later source wins for a run it shares with an earlier one.
    batch_size : int
        Runs per storage chunk along the explored dims.
    """

    def __init__(self, exploration: Any, sources: Sequence[Source], batch_size: int):
        self.exploration = exploration
        self.sources = list(sources)
        self.dims = explored_dims(exploration)
        self.shape = tuple(int(s) for s in exploration.shape)
        self.chunks = chunk_shape(self.shape, batch_size)
        n = exploration.n_runs
        self.n_cells = math.prod(self.shape)
        # run -> C-order cell, and C-order cell -> run (-1: no run, impossible for a grid);
        # None when run i is cell i (C-order grids, run layouts): no O(runs) arrays then
        self._cell_of_run: np.ndarray | None = None
        self._run_of_cell: np.ndarray | None = None
        if exploration.axes is not None and not exploration.is_c_order:
            self._cell_of_run = np.asarray(exploration.cells(), np.int64)
            self._run_of_cell = np.full(self.n_cells, -1, np.int64)
            self._run_of_cell[self._cell_of_run] = np.arange(n)
        # Who owns which run: nothing per run when every source is a range of its own
        # (a fresh sweep), else per-run owner and row arrays (:mod:`pypetx.store.plan`).
        self.spans = self._cell_of_run is None and disjoint_spans(self.sources, n)
        self._owner: tuple[np.ndarray, np.ndarray] | None = None
        if self.spans:
            self.mine: Sequence[np.ndarray] = AllRows(self.sources)
        else:
            owner, row, self.mine = ownership(self.sources, n)
            self._owner = (owner, row)
        self.infos: dict[str, ResultInfo] = {}
        for src in self.sources:
            for name, info in src.infos.items():
                self.infos[name] = merge_infos(self.infos.get(name), info)
        self.task_chunks = self.chunks
        self._plan: dict[tuple[int, ...], list] | None = None
        self._eager_data: dict[str, np.ndarray] = {}
        self._present: dict[str, np.ndarray] = {}

    @property
    def owner(self) -> np.ndarray:
        """Per run: the index of the source that owns it (-1: none)."""
        return self._ownership()[0]

    @property
    def row(self) -> np.ndarray:
        """Per run: its row in the source that owns it."""
        return self._ownership()[1]

    def _ownership(self) -> tuple[np.ndarray, np.ndarray]:
        if self._owner is None:  # span plan: made only for what needs it (ragged results)
            owner, row, _ = ownership(self.sources, self.exploration.n_runs)
            self._owner = (owner, row)
        return self._owner

    def cells_of(self, runs: np.ndarray) -> np.ndarray:
        """The C-order cell of each of ``runs``."""
        return runs if self._cell_of_run is None else self._cell_of_run[runs]

    def runs_of(self, cells: np.ndarray) -> np.ndarray:
        """The run of each C-order cell of ``cells`` (-1: no run)."""
        return cells if self._run_of_cell is None else self._run_of_cell[cells]

    @cached_property
    def positions(self) -> np.ndarray:
        """``(n_runs, ndim)``: each run's index along each explored dim."""
        return np.asarray(self.exploration.positions, dtype=np.int64)

    # sizes and chunking ----------------------------------------------------------------

    def _run_bytes(self, info: ResultInfo) -> int:
        """Bytes one cell of a fixed result takes in memory."""
        shape = tuple(info.shape or ()) if info.mode == FIXED else ()
        return max(1, math.prod(shape)) * info.dtype.itemsize

    def nbytes(self, *, fixed_results: bool = True) -> int:
        """Estimated in-memory size of the assembled cube (strings counted roughly)."""
        cells = math.prod(self.shape)
        total = cells * _STATUS_CELL_BYTES + len(self.failures[0]) * _FAILURE_BYTES
        for info in self.infos.values():
            if info.mode in (FIXED, EMPTY):
                if fixed_results:
                    total += cells * self._run_bytes(info)
            else:
                total += self._ragged_counts(info)[0].sum() * info.dtype.itemsize
        return int(total)

    def sample(self, name: str, nbytes: int) -> np.ndarray | None:
        """About ``nbytes`` of values of variable ``name`` (a status variable or a result),
        flattened, read from the first, a middle and the last source holding it: what
        judging its compression needs, without assembling it. ``None``: no values."""
        status = name in STATUS_VARS
        info = self.infos.get(name)
        if not status and (info is None or info.mode == EMPTY):
            return None
        holders = []
        for src, rows in zip(self.sources, self.mine):
            own = src.infos.get(name)
            if len(rows) and (status or (own is not None and own.mode != EMPTY)):
                holders.append((src, rows))
        if len(holders) > 3:
            holders = [holders[0], holders[len(holders) // 2], holders[-1]]
        if status:
            per_run = STATUS_VARS[name].itemsize
        elif info.mode == FIXED:
            per_run = self._run_bytes(info)
        else:
            per_run = 64 * info.dtype.itemsize  # a guess: ragged values per run vary
        pieces = []
        for src, rows in holders:
            rows = rows[: max(1, nbytes // (len(holders) * per_run))]
            if status:
                pieces.append(status_values(src, name, rows, self.workers))
                continue
            rows = rows[src.present(name, rows)]
            if not len(rows):
                continue
            if info.mode == FIXED:
                pieces.append(np.asarray(src.fixed(name, rows)).reshape(-1))
            elif info.mode == PICKLE:
                pieces.append(np.frombuffer(b"".join(src.as_blobs(name, rows)), np.uint8))
            else:
                pieces.extend(v for v in src.flat(name, rows) if v is not None)
        pieces = [np.asarray(p).reshape(-1) for p in pieces if np.size(p)]
        return np.concatenate(pieces) if pieces else None

    def _set_task_chunks(self, fixed_results: bool = True) -> None:
        """Lazy path: blocks of whole storage chunks holding about ``_TASK_BYTES`` each."""
        per_run = max([_STATUS_CELL_BYTES] + [
            self._run_bytes(i) for i in self.infos.values()
            if i.mode in (FIXED, EMPTY) and fixed_results])
        target = max(1, min(_TASK_BYTES, eager_budget()) // per_run)
        chunks = list(self.chunks)
        for k in range(len(chunks) - 1, -1, -1):
            runs = math.prod(chunks)
            grow = max(1, target // runs)
            chunks[k] = min(self.shape[k], chunks[k] * grow)
            if chunks[k] < self.shape[k]:
                break
        self.task_chunks = tuple(max(1, c) for c in chunks)
        self._plan = None

    @property
    def dask_chunks(self) -> tuple[tuple[int, ...], ...]:
        return tuple(
            tuple(min(c, s - i) for i in range(0, s, c))
            for s, c in zip(self.shape, self.task_chunks)
        )

    @property
    def plan(self) -> dict[tuple[int, ...], list[Any]]:
        if self._plan is None:
            self._plan = self._block_plan()
        return self._plan

    def _block_plan(self) -> dict[tuple[int, ...], list[Any]]:
        """Block index -> the parts of its sources (:mod:`pypetx.store.plan`)."""
        if self.spans:
            return span_plan(self.sources, self.shape, self.task_chunks)
        return scatter_plan(self.sources, self.mine, self.cells_of, self.shape,
                            self.task_chunks)

    # fixed-shape variables -------------------------------------------------------------

    def _eager_all(self, specs: list[tuple[str, bool, np.dtype, Any, tuple[int, ...]]]) -> None:
        """Assemble variables as numpy arrays: each source read once, its rows scattered.

        ``specs`` are ``(name, status, dtype, fill, value_shape)``; the arrays land in
        ``self._eager_data`` and, for results, per-run present flags in ``self._present``.
        """
        ncells = self.n_cells
        outs = {}
        for name, status, dtype, fill, vshape in specs:
            out = np.full((ncells, *vshape), fill, dtype=dtype)
            if dtype == object:
                out = out.astype(dtype)  # keep the vlen-str marker
            outs[name] = out
            if not status:
                self._present[name] = np.zeros(self.exploration.n_runs, bool)
        for src, rows in zip(self.sources, self.mine):
            if not len(rows):
                continue
            src.preload()
            try:
                runs = src.runs[rows]
                cells = self.cells_of(runs)
                at = as_slice(cells)  # consecutive cells (C-order batches): copy, no scatter
                for name, status, _, _, _ in specs:
                    out = outs[name]
                    if status:
                        out[at] = status_values(src, name, rows, self.workers)
                        continue
                    info = src.infos.get(name)
                    if info is None or info.mode == EMPTY:
                        continue
                    keep = src.present(name, rows)
                    self._present[name][runs] = keep
                    if keep.all():
                        out[at] = src.fixed(name, rows)
                    elif keep.any():
                        out[cells[keep]] = src.fixed(name, rows[keep])
            finally:
                src.release()
        for name, _, _, _, vshape in specs:
            self._eager_data[name] = outs[name].reshape(self.shape + vshape)

    def write_fixed(self, name: str, put: Callable[[tuple[slice, ...], np.ndarray], None],
                    max_bytes: int = _TASK_BYTES) -> None:
        """Write fixed result ``name`` with ``put(box, values)`` straight from the sources.

        The lazy alternative to computing its blocks: each source's rows go out as they
        are read (runs of consecutive cells as whole boxes, at most ``max_bytes`` at a
        time), with no assembled block in between. ``box`` holds slices over the explored
        dims, ``values`` the box's values ``(*box shape, *value shape)``. A run without the
        result gets the fill value; cells no run holds are not written.
        """
        info = self.infos[name]
        vshape = tuple(info.shape or ())
        fill = fill_value(info.dtype)
        step = max(1, max_bytes // self._run_bytes(info))
        for src, mine in zip(self.sources, self.mine):
            own = src.infos.get(name)
            if not len(mine) or own is None or own.mode == EMPTY:
                continue
            cells = self.cells_of(src.runs[mine])
            order = np.argsort(cells, kind="stable")
            rows, cells = mine[order], cells[order]
            cuts = np.flatnonzero(np.diff(cells) != 1) + 1
            try:
                for seg_rows, seg_cells in zip(np.split(rows, cuts), np.split(cells, cuts)):
                    for k in range(0, len(seg_rows), step):
                        part = seg_rows[k : k + step]
                        values = np.asarray(src.fixed(name, part), dtype=info.dtype)
                        keep = np.asarray(src.present(name, part), bool)
                        if not keep.all():
                            values = values.copy()  # may be a read-only view of the source
                            values[~keep] = fill
                        c0 = int(seg_cells[k])
                        for box, lo, hi in range_boxes(c0, c0 + len(part), self.shape):
                            bshape = tuple(b.stop - b.start for b in box)
                            put(box, values[lo:hi].reshape(bshape + vshape))
                        del values
            finally:
                src.release()  # unmap what was read: mapped pages count as the driver's RSS

    def _blocks(self, name: str, status: bool, dtype: np.dtype, fill: Any,
                value_shape: tuple[int, ...]) -> Any:
        blocks = {}
        nblocks = [len(c) for c in self.dask_chunks]
        plan = self.plan
        workers = self.workers if name == "worker" and status else None
        for idx in itertools.product(*(range(b) for b in nblocks)):
            bshape = tuple(c[i] for c, i in zip(self.dask_chunks, idx)) + value_shape
            task = (fixed_block, name, status, bshape, dtype, fill, plan.get(idx, []), workers)
            blocks[idx + (0,) * len(value_shape)] = task
        chunks = self.dask_chunks + tuple((s,) for s in value_shape)
        return dask_array(name, blocks, chunks, dtype)

    def _data(self, eager: bool, *args: Any) -> Any:
        if not eager:
            return self._blocks(*args)
        if args[0] not in self._eager_data:
            self._eager_all([args])
        return self._eager_data.pop(args[0])

    def status_variable(self, name: str, eager: bool = False) -> xr.Variable:
        dtype = STATUS_VARS[name]
        fill = _STATUS_FILL.get(name, "")
        attrs = {}
        if name == "worker":
            attrs = {"long_name": "worker that ran the run (index into worker_names; "
                                  f"{NO_WORKER}: none)",
                     WORKER_NAMES: json.dumps(list(self.workers))}
        elif name == "duration":
            # not ``units``: CF readers would decode seconds to timedeltas
            attrs = {"long_name": "run time in seconds"}
        return xr.Variable(self.dims, self._data(eager, name, True, dtype, fill, ()), attrs)

    # status strings: worker names, failures ---------------------------------------------

    @property
    def workers(self) -> dict[str, int]:
        """Worker name -> code, over the runs every source owns (oldest source first)."""
        if "_workers" not in self.__dict__:
            table: dict[str, int] = {}
            for src, rows in zip(self.sources, self.mine):
                if not len(rows):
                    continue
                names, codes = src.workers(rows)
                for c in np.unique(codes[codes >= 0]):
                    if names[c]:
                        table.setdefault(names[c], len(table))
            self._workers = table
        return self._workers

    @property
    def failures(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The failed runs in run order: ``(runs, source ids, rows in their sources)``."""
        if "_failures" not in self.__dict__:
            runs, sids, rows = [], [], []
            for sid, (src, mine) in enumerate(zip(self.sources, self.mine)):
                if not len(mine):
                    continue
                bad = mine[np.asarray(src.status("failed", mine), bool)]
                runs.append(src.runs[bad])
                sids.append(np.full(len(bad), sid, np.int64))
                rows.append(bad)
            if runs:
                r, s, w = (np.concatenate(a).astype(np.int64) for a in (runs, sids, rows))
                order = np.argsort(r, kind="stable")
                self._failures = (r[order], s[order], w[order])
            else:
                self._failures = (np.zeros(0, np.int64),) * 3
        return self._failures

    def failure_coord(self) -> xr.Variable:
        """The ``failure`` coordinate: C-order cell of each failed run in the explored dims
        (CF "compression by gathering": ``compress`` lists the dims)."""
        cells = self.cells_of(self.failures[0]).astype(np.int64)
        return xr.Variable(FAILURE_DIM, cells, {
            "compress": " ".join(self.dims),
            "long_name": "cell of each failed run (C-order index into the compressed dims)"})

    def failure_variables(self, eager: bool = False) -> dict[str, xr.Variable]:
        """``failure_run``, ``failure_error``, ``failure_traceback`` along ``failure``."""
        runs, sids, rows = self.failures
        per_block = max(1, len(runs) if eager else _FAILURES_PER_BLOCK)
        blocks: dict[int, list] = {}
        for k, f0 in enumerate(range(0, len(runs), per_block)):
            sl = slice(f0, min(f0 + per_block, len(runs)))
            items = []
            for sid in np.unique(sids[sl]):
                order = np.flatnonzero(sids[sl] == sid)
                items.append((self.sources[sid], rows[sl][order], order))
            blocks[k] = (sl.stop - sl.start, items)
        dtype = FAILURE_VARS["failure_error"]
        out = {"failure_run": xr.Variable(FAILURE_DIM, runs, {
            "long_name": "run index of each failed run (its cell: the exploration's positions)"})}
        for which, name in enumerate(("failure_error", "failure_traceback")):
            if eager or not blocks:
                data = (failure_block(which, *blocks[0]) if blocks
                        else np.zeros(0, object).astype(dtype))
            else:
                data = dask_array(name, {(k,): (failure_block, which, *b)
                                          for k, b in blocks.items()},
                                   (tuple(b[0] for b in blocks.values()),), dtype)
            what = "error message" if which == 0 else "traceback"
            out[name] = xr.Variable(FAILURE_DIM, data, {"long_name": f"{what} of the failed run"})
        return out

    def _present_all(self, name: str) -> np.ndarray:
        """Whether each run has a value of ``name`` (read eagerly: flags are small)."""
        if name in self._present:
            return self._present[name]
        out = np.zeros(self.exploration.n_runs, bool)
        for src, rows in zip(self.sources, self.mine):
            if len(rows):
                out[src.runs[rows]] = src.present(name, rows)
        return out

    def result_variables(self, info: ResultInfo, eager: bool = False) -> dict[str, xr.Variable]:
        """The variable(s) of one result: one fixed variable, or values + counts (+ shapes)."""
        name = info.name
        attrs = dict(variable_attrs(info), pypetx_mode=info.mode)
        if info.mode in (FIXED, EMPTY):
            dtype = info.dtype
            shape = tuple(info.shape or ()) if info.mode == FIXED else ()
            fill = fill_value(dtype)
            data = self._data(eager, name, False, dtype, fill, shape)
            var = xr.Variable(self.dims + result_dims(info)[: len(shape)], data, attrs)
            if dtype.kind in "iu" and not self._present_all(name).all():
                var.encoding["_FillValue"] = fill  # CF readers then mask missing runs
            return {name: var}
        return self._ragged_variables(info, attrs, eager)

    # ragged and pickled variables ------------------------------------------------------

    def _ragged_counts(self, info: ResultInfo) -> tuple[np.ndarray, np.ndarray]:
        """Per C-order cell: elements (or bytes) in ``<name>_obs``; per run: its shape."""
        cache = self.__dict__.setdefault("_counts_cache", {})
        if info.name in cache:
            return cache[info.name]
        name, mode = info.name, info.mode
        counts = np.zeros(self.exploration.n_runs, np.int64)
        shapes = np.zeros((self.exploration.n_runs, max(info.ndim, 1)), np.int64)
        for src, mine in zip(self.sources, self.mine):
            if not len(mine):
                continue
            counts[src.runs[mine]] = src.as_counts(name, mine, mode)
            if mode != PICKLE and info.ndim > 1 and name in src.infos:
                for r, s in zip(src.runs[mine], src.shapes(name, mine)):
                    if s is not None:
                        shapes[r, info.ndim - len(s):] = s
                        shapes[r, : info.ndim - len(s)] = 1
        if self._run_of_cell is None:
            cell_counts = counts
        else:
            cell_counts = np.zeros(self.n_cells, np.int64)
            valid = self._run_of_cell >= 0
            cell_counts[valid] = counts[self._run_of_cell[valid]]
        cache[name] = (cell_counts, shapes)
        return cell_counts, shapes

    def _ragged_variables(self, info: ResultInfo, attrs: dict[str, Any],
                          eager: bool = False) -> dict[str, xr.Variable]:
        name, mode = info.name, info.mode
        cell_counts, shapes = self._ragged_counts(info)
        per_block = max(1, len(cell_counts) if eager else math.prod(self.task_chunks))
        blocks, sizes = {}, []
        for k, c0 in enumerate(range(0, len(cell_counts), per_block)):
            cells = np.arange(c0, min(c0 + per_block, len(cell_counts)))
            runs = self.runs_of(cells)
            items = []
            owners = np.where(runs >= 0, self.owner[np.maximum(runs, 0)], -1)
            for sid in np.unique(owners[owners >= 0]):
                order = np.flatnonzero(owners == sid)
                items.append((self.sources[sid], self.row[runs[order]], order))
            blocks[(k,)] = (ragged_block, name, mode, info.dtype, len(cells), items)
            sizes.append(int(cell_counts[cells].sum()))
        obs = f"{name}_obs"
        if eager:
            data = ragged_block(*blocks[(0,)][1:]) if blocks else np.zeros(0, info.dtype)
        else:
            data = dask_array(name, blocks, (tuple(sizes),), info.dtype)
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

    # the whole cube --------------------------------------------------------------------

    def dataset(self, attrs: dict[str, Any] | None = None, *, eager: bool | None = None,
                fixed_results: bool = True) -> xr.Dataset:
        """The whole cube: coordinates, status variables, result variables.

        Parameters
        ----------
        eager : bool, optional
            numpy-backed variables (``True``) or dask arrays reading the sources when
            computed (``False``); default: eager when :meth:`nbytes` is within the
            ``pypetx.store.eager_bytes`` budget.
        fixed_results : bool, default True
            ``False``: fixed-shape results stay lazy whatever ``eager`` says (Zarr writes
            them elsewhere and never computes them from this Dataset).
        """
        if eager is None:
            eager = self.nbytes(fixed_results=fixed_results) <= eager_budget()
        self.eager = eager
        if not eager:
            self._set_task_chunks(fixed_results)
        else:
            specs = [(n, True, dt, _STATUS_FILL[n], ()) for n, dt in STATUS_VARS.items()]
            if fixed_results:
                specs += [(i.name, False, i.dtype, fill_value(i.dtype),
                           tuple(i.shape or ()) if i.mode == FIXED else ())
                          for i in self.infos.values() if i.mode in (FIXED, EMPTY)]
            self._eager_all(specs)
        variables: dict[str, xr.Variable] = {
            n: self.status_variable(n, eager) for n in STATUS_VARS}
        variables.update(self.failure_variables(eager))
        for info in self.infos.values():
            lazy_fixed = not fixed_results and info.mode in (FIXED, EMPTY)
            variables.update(self.result_variables(info, eager and not lazy_fixed))
        coords = dict(explored_coords(self.exploration), **{FAILURE_DIM: self.failure_coord()})
        ds = xr.Dataset(variables, coords=coords, attrs=attrs or {})
        return ds


def build_cube(exploration: Any, sources: Sequence[Source], *, batch_size: int,
               attrs: dict[str, Any] | None = None) -> xr.Dataset:
    """Lazily assembled Dataset of ``exploration`` from ``sources`` (see :class:`Cube`)."""
    return Cube(exploration, sources, batch_size).dataset(attrs)
