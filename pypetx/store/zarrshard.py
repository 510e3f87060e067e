"""How a Zarr result array is cut along the explored dims: inner chunks inside shards.

Zarr format 3 stores an array as *shards*, one file each, that hold many *inner chunks*,
the unit a read decodes. pypetx cuts both along the explored dims as C-ordered blocks of
runs (whole trailing axes first, see :func:`~pypetx.store.layout.chunk_shape`), so a
shard is a contiguous range of run indices, as batches are: a worker whose batch covers a
shard writes it whole, and no two batches ever share a shard they both write.

* The inner chunk holds about ``chunk_bytes`` of one run block (at most 1/8 of a shard),
  so a lazy slice reads little.
* A shard holds about a quarter of the largest batch the planner sends
  (``pypetx.batching.max_batch`` runs, ``max_batch_bytes``): a batch of that size covers
  three shards or more and its worker writes them; the planner ends batches on shard
  boundaries (``ZarrStore.batch_boundary``), so only the first batches, sent before the
  arrays exist, travel to the driver. A store opened with a fixed ``batch_size`` gets
  shards of one batch, aligned with the batches.

Every result of a trajectory shares one layout along the explored dims (its value dims are
whole in each chunk), so a batch's runs are either written by the worker for all its
results or held by the driver for all of them. Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from dask.utils import parse_bytes

from pypetx.base import config
from pypetx.store.layout import chunk_shape

__all__ = ["ShardLayout", "ZarrOptions", "auto_shard_runs", "block_groups", "covered_blocks",
           "plan_layout",
           "zarr_major"]

#: A shard holds at least this many inner chunks (when the grid allows): fewer would make
#: the chunk, what a read fetches, nearly as large as the shard.
MIN_CHUNKS_PER_SHARD = 8
#: A batch of the largest size covers about this many shards.
SHARDS_PER_BATCH = 4


def zarr_major() -> int:
    """The major version of the installed zarr-python (2 writes format 2 only)."""
    import zarr

    return int(str(zarr.__version__).split(".")[0])


@dataclass(frozen=True)
class ZarrOptions:
    """The ``pypetx.zarr`` config section: how new Zarr stores and arrays are laid out.

    Attributes
    ----------
    format : int
        Zarr format of a new store: 3 (sharded arrays) or 2 (one file per chunk, no
        sharding). zarr-python 2 writes format 2 whatever is asked. An existing store
        keeps its format.
    shards : "auto", int or None
        Runs per shard along the explored dims (format 3): ``"auto"`` (see the module
        docstring), a number, or ``None`` for no sharding (one file per chunk, chunks of
        about one batch as in format 2).
    chunk_bytes : int
        Target bytes of an inner chunk of a sharded array (for its largest result).
    """

    format: int = 3
    shards: int | str | None = "auto"
    chunk_bytes: int = 2**20

    def __post_init__(self) -> None:
        if self.format not in (2, 3):
            raise ValueError(f"pypetx.zarr.format must be 2 or 3, got {self.format!r}")
        if isinstance(self.shards, str) and self.shards != "auto":
            raise ValueError(f"pypetx.zarr.shards must be 'auto', a number of runs or null, "
                             f"got {self.shards!r}")
        if not isinstance(self.shards, str) and self.shards is not None and self.shards < 1:
            raise ValueError(f"pypetx.zarr.shards must be >= 1 run, got {self.shards!r}")
        if self.chunk_bytes < 1:
            raise ValueError(f"pypetx.zarr.chunk_bytes must be >= 1, got {self.chunk_bytes!r}")

    @classmethod
    def from_config(cls, **overrides: Any) -> ZarrOptions:
        """The options of ``dask.config`` (``pypetx.zarr.*``), ``overrides`` (not None)
        taking precedence."""
        section = dict(config.get("zarr", {}) or {})
        section.update({k: v for k, v in overrides.items() if v is not None})
        shards = section.get("shards", "auto")
        if shards is False:
            shards = None
        elif not isinstance(shards, str) and shards is not None:
            shards = int(shards)
        return cls(format=int(section.get("format", 3)), shards=shards,
                   chunk_bytes=int(parse_bytes(section.get("chunk_bytes", cls.chunk_bytes))))


@dataclass(frozen=True)
class ShardLayout:
    """Chunks and shards of a result along the explored dims (``shards`` None: unsharded).

    ``block`` is what one writer writes whole: the shard, or the chunk without sharding.
    """

    chunks: tuple[int, ...]
    shards: tuple[int, ...] | None = None

    @property
    def block(self) -> tuple[int, ...]:
        return self.shards if self.shards is not None else self.chunks

    def encoding(self, value_shape: Sequence[int] = ()) -> dict[str, tuple[int, ...]]:
        """The ``chunks``/``shards`` encoding of a variable with these value dims."""
        vshape = tuple(int(s) for s in value_shape)
        enc = {"chunks": self.chunks + vshape}
        if self.shards is not None:
            enc["shards"] = self.shards + vshape
        return enc


def auto_shard_runs(run_bytes: int) -> int:
    """Runs per shard for results of ``run_bytes`` per run: a ``SHARDS_PER_BATCH``-th of
    the largest batch (``pypetx.batching.max_batch``, ``max_batch_bytes``)."""
    section = config.get("batching")
    max_runs = int(section["max_batch"])
    max_bytes = int(parse_bytes(section.get("max_batch_bytes", 64 * 2**20)))
    largest = min(max_runs, max(1, max_bytes // max(int(run_bytes), 1)))
    return max(1, largest // SHARDS_PER_BATCH)


def plan_layout(shape: Sequence[int], *, chunk_runs: int, shard_runs: int | None
                ) -> ShardLayout:
    """Inner chunks of about ``chunk_runs`` runs inside shards of about ``shard_runs``.

    Both are C-ordered blocks of runs (:func:`~pypetx.store.layout.chunk_shape`); the shard
    is a whole multiple of the chunk along every dim (Zarr requires it), taking whole rows
    of chunks from the last axis on while they fit, so it stays a contiguous range of
    runs. It may extend past the end of an axis (the last shard is then partial).
    ``shard_runs`` None: no sharding, chunks of ``chunk_runs``.
    """
    shape = tuple(max(1, int(s)) for s in shape)
    if shard_runs is None:
        return ShardLayout(chunk_shape(shape, chunk_runs), None)
    shard_runs = max(1, int(shard_runs))
    chunk_runs = max(1, min(int(chunk_runs), shard_runs // MIN_CHUNKS_PER_SHARD or 1))
    inner = chunk_shape(shape, chunk_runs)
    shard = list(inner)
    count = math.prod(inner)
    for k in range(len(shape) - 1, -1, -1):
        along = -(-shape[k] // inner[k])  # chunks along axis k
        m = max(1, min(along, shard_runs // count))
        shard[k] = inner[k] * m
        count *= m
        if m < along:
            break  # a partial axis: the axes before it stay one chunk deep
    return ShardLayout(tuple(inner), tuple(shard))


def covered_blocks(pos: np.ndarray, shape: Sequence[int], block: Sequence[int]
                   ) -> tuple[list[tuple[tuple[slice, ...], np.ndarray, np.ndarray]], np.ndarray]:
    """The write blocks (shards or chunks) that the cells ``pos`` fill completely.

    Returns ``([(block slices, rows, local positions)], covered)``: ``rows`` index
    ``pos``, ``local`` are their positions inside the block (clipped at the array's end),
    ``covered`` is a bool per row: its block is among them. A block only partly filled is
    left out: writing it would be a read-modify-write another writer could race with.
    """
    pos = np.asarray(pos, dtype=np.int64)
    covered = np.zeros(len(pos), bool)
    if not len(pos):
        return [], covered
    shape_a = np.asarray([int(s) for s in shape], dtype=np.int64)
    ch = np.asarray([int(b) for b in block], dtype=np.int64)
    nblocks = -(-shape_a // ch)
    key = np.ravel_multi_index(tuple((pos // ch).T), tuple(int(n) for n in nblocks))
    order = np.argsort(key, kind="stable")
    keys, starts, counts = np.unique(key[order], return_index=True, return_counts=True)
    out = []
    for k, start, count in zip(keys.tolist(), starts.tolist(), counts.tolist()):
        lo = np.asarray(np.unravel_index(k, tuple(int(n) for n in nblocks)), dtype=np.int64) * ch
        hi = np.minimum(lo + ch, shape_a)
        if count != int(np.prod(hi - lo)):
            continue
        rows = order[start:start + count]
        covered[rows] = True
        out.append((tuple(slice(int(a), int(b)) for a, b in zip(lo, hi)), rows, pos[rows] - lo))
    return out, covered


def block_groups(pos: np.ndarray, block: Sequence[int]) -> list[np.ndarray]:
    """Rows of ``pos`` grouped by the write block they fall in (one array per block)."""
    pos = np.asarray(pos, dtype=np.int64)
    if not len(pos):
        return []
    ch = np.asarray([int(b) for b in block], dtype=np.int64)
    key = pos // ch
    top = key.max(axis=0) + 1
    flat = np.ravel_multi_index(tuple(key.T), tuple(int(t) for t in top))
    order = np.argsort(flat, kind="stable")
    _, starts = np.unique(flat[order], return_index=True)
    return np.split(order, starts[1:])
