"""How an exploration and its results map onto one xarray Dataset (pure xarray, no I/O).

A grid exploration gets one dimension per grid axis (a zip axis: its first parameter is the
dimension coordinate, the others are non-dimension coordinates along it); any other
exploration gets a ``run`` dimension with every explored parameter as a coordinate plus
``run_name``. Per-run status variables and result variables live over these explored
dimensions. Result *kinds* of storage (fixed-shape, ragged, pickled) are decided here from
what the batches carried, so every backend lays the cube out identically.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from pypetx.core.explore import Exploration, codec
from pypetx.core.trajectory import run_name  # one definition of pypet's run names
from pypetx.core.values import EMPTY, FIXED, PICKLE, RAGGED, fill_value

__all__ = [
    "ALL_STATUS",
    "EMPTY",
    "FAILURE_DIM",
    "FAILURE_VARS",
    "FIXED",
    "FORMAT_VERSION",
    "NO_WORKER",
    "PICKLE",
    "RAGGED",
    "RUN_DIM",
    "STATUS_VARS",
    "WORKER_NAMES",
    "ResultInfo",
    "RunPositions",
    "chunk_shape",
    "dim_name",
    "decode_exploration",
    "describe_exploration",
    "exploration_columns",
    "exploration_from_json",
    "exploration_json",
    "explored_coords",
    "explored_dims",
    "fill_value",
    "merge_infos",
    "result_dims",
    "run_name",
    "var_name",
]

#: Version of the on-disk layout; readers refuse files with a higher one.
#: 1: ``worker``, ``error``, ``traceback`` were strings over the explored dims.
#: 2: ``worker`` is an integer code (names in its ``worker_names`` attribute); error
#: messages and tracebacks are stored for failed runs only, along ``failure``.
#: 3: ``pypetx_exploration`` is the compact description (grid axes and their values, long
#: numeric value lists read from the coordinates; see ``describe_exploration``).
#: 4: the ``_tree`` group names stored values by tree path (``parameters.n``, not ``v2``);
#: the trajectory ``timestamp`` is ISO 8601 UTC text (was a float epoch).
FORMAT_VERSION = 4
RUN_DIM = "run"
#: Variable-length string dtype (object marked as str: netCDF4/Zarr writers then know the
#: type without computing the data).
VLEN_STR = np.dtype("O", metadata={"element_type": str})
#: Per-run status variables over the explored dims: name -> numpy dtype.
STATUS_VARS: dict[str, np.dtype] = {
    "completed": np.dtype(bool),
    "failed": np.dtype(bool),
    "duration": np.dtype("float64"),
    "worker": np.dtype("int32"),
}
#: ``worker`` code of a run that never ran (or whose worker is unknown).
NO_WORKER = -1
#: Attribute of ``worker``: JSON list of worker names, indexed by code.
WORKER_NAMES = "worker_names"
#: The dimension of the failed runs' messages, and its variables: name -> dtype.
FAILURE_DIM = "failure"
FAILURE_VARS: dict[str, np.dtype] = {
    "failure_run": np.dtype("int64"),
    "failure_error": VLEN_STR,
    "failure_traceback": VLEN_STR,
}
#: Format 1 status strings over the explored dims (still read).
LEGACY_STATUS = ("error", "traceback")
#: Every status variable name of either format (not results).
ALL_STATUS = (*STATUS_VARS, *FAILURE_VARS, *LEGACY_STATUS)
# Storage modes of a result variable (FIXED, RAGGED, PICKLE, EMPTY) and fill_value come
# from pypetx.core.values, where per-run values are classified.


def dim_name(full_name: str, all_names: Sequence[str]) -> str:
    """The dimension/coordinate name of an explored parameter.

    Its short name (last path component) when no other explored name shares it, else the
    path without the leading ``"parameters."``.

    >>> dim_name("parameters.x", ["parameters.x", "parameters.y"])
    'x'
    >>> dim_name("parameters.a.x", ["parameters.a.x", "parameters.b.x"])
    'a.x'
    """
    short = full_name.rsplit(".", 1)[-1]
    if sum(1 for n in all_names if n.rsplit(".", 1)[-1] == short) == 1:
        return short
    return full_name[len("parameters.") :] if full_name.startswith("parameters.") else full_name


def var_name(result_name: str) -> str:
    """The variable name of a result: its dotted path below ``results`` (dots are kept;
    netCDF4/HDF5 and Zarr store them as they are)."""
    return result_name[len("results.") :] if result_name.startswith("results.") else result_name


# An exploration's stored form is its own codec (pypetx.core.explore.codec); these are the
# store's names for it: references name the coordinate that holds the values (dim_name),
# and the arrays to resolve them may be the Dataset holding those coordinates.
INLINE_VALUES = codec.INLINE_VALUES
EXPLORATION_VERSION = codec.VERSION


def describe_exploration(exploration: Exploration
                         ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The stored description of ``exploration`` and the arrays it refers to
    (:meth:`Exploration.encode <pypetx.core.explore.Exploration.encode>`; a reference
    names the coordinate of its values, :func:`dim_name`)."""
    names = list(exploration.names)
    return exploration.encode(coord_name=lambda name: dim_name(name, names))


def exploration_json(exploration: Exploration) -> dict[str, Any]:
    """The stored description of ``exploration`` (see :func:`describe_exploration`), to
    store and to compare on resume."""
    return describe_exploration(exploration)[0]


def exploration_from_json(desc: Mapping[str, Any], arrays: codec.Arrays | None = None
                          ) -> Exploration:
    """The exploration of a stored description (any version), a grid rebuilt from its
    axes (:meth:`Exploration.decode <pypetx.core.explore.Exploration.decode>`); ``arrays``
    may be the Dataset holding the referenced coordinates."""
    return Exploration.decode(desc, arrays)


#: An explored value as the description holds it, back as the value it was.
decode_explored_value = codec.decode_value
#: Every run's values as stored, ``{name: array or list}`` (what resume compares).
exploration_columns = codec.stored_columns
#: A stored description as version 1, ``{"names", "columns", "axes", "repr"}``.
decode_exploration = codec.version1


def explored_dims(exploration: Any) -> tuple[str, ...]:
    """The explored dimensions: one per grid axis (named after its first parameter), or
    ``("run",)``."""
    names = list(exploration.names)
    if exploration.axes is None:
        return (RUN_DIM,)
    return tuple(dim_name(axis[0], names) for axis in exploration.axes)


def _coord_values(values: Sequence[Any]) -> tuple[np.ndarray, dict[str, Any]]:
    """Values of one explored parameter as a coordinate array.

    Numbers, booleans and strings keep their type; anything else (tuples, arrays, objects)
    becomes its ``repr`` so the coordinate stays a plain netCDF type; the exact values live
    in the stored exploration. Values of a kind registered by an integration (Brian2
    quantities) become their magnitudes with a ``units`` attribute.
    """
    from pypetx.core.kinds import coord_values

    registered = coord_values(values)
    if registered is not None:
        return registered
    try:
        arr = np.asarray(values)
        if arr.ndim == 1 and arr.dtype.kind in "biufcUS":
            return arr, {}
    except (ValueError, TypeError):
        pass
    return np.array([repr(v) for v in values], dtype=str), {"pypetx_repr": 1}


def explored_coords(exploration: Any) -> dict[str, xr.Variable]:
    """Coordinates of the explored dimensions (and ``run_name`` for a run layout)."""
    names = list(exploration.names)
    coords: dict[str, xr.Variable] = {}
    if exploration.axes is None:
        n = exploration.n_runs
        columns = exploration.columns
        for name in names:
            arr, attrs = _coord_values(columns[name])
            coords[dim_name(name, names)] = xr.Variable(RUN_DIM, arr, dict(attrs, full_name=name))
        coords[RUN_DIM] = xr.Variable(RUN_DIM, np.arange(n, dtype=np.int64))
        coords["run_name"] = xr.Variable(RUN_DIM, np.array([run_name(i) for i in range(n)]))
        return coords
    for i, axis in enumerate(exploration.axes):
        dim = dim_name(axis[0], names)
        values = exploration.axis_values(i)
        for name in axis:
            arr, attrs = _coord_values(values[name])
            coords[dim_name(name, names)] = xr.Variable(dim, arr, dict(attrs, full_name=name))
    return coords


def chunk_shape(shape: Sequence[int], batch_size: int) -> tuple[int, ...]:
    """Chunk sizes along the explored dims holding about ``batch_size`` runs.

    Runs of a batch are consecutive run indices, i.e. consecutive cells in C order, so the
    chunk takes whole trailing axes while they fit and part of the next one: a batch of C
    ordered runs then fills whole chunks and a lazy slice reads only the chunks it needs.
    """
    left = max(1, int(batch_size))
    chunks = [1] * len(shape)
    for k in range(len(shape) - 1, -1, -1):
        size = max(1, int(shape[k]))
        if left >= size:
            chunks[k] = size
            left //= size
        else:
            chunks[k] = left
            break
    return tuple(chunks)


class RunPositions:
    """Each run's index along each explored dim, computed from the run indices asked for.

    ``positions[runs]`` is ``exploration.positions[runs]`` (``(len(runs), ndim)`` int64)
    without the ``(n_runs, ndim)`` array: a C-order grid or a run layout needs only its
    shape (10^7 runs of a 2-D grid: 160 MB less, in the driver and in every worker a sink
    is shipped to); another grid keeps each run's C-order cell (8 B per run).
    """

    def __init__(self, exploration: Any) -> None:
        self.grid = tuple(int(s) for s in exploration.shape)
        c_order = exploration.axes is None or exploration.is_c_order
        self.cells = None if c_order else np.asarray(exploration.cells(), np.int64)
        self.shape = (int(exploration.n_runs), len(self.grid))

    def __getitem__(self, runs: Any) -> np.ndarray:
        runs = np.asarray(runs, np.int64).reshape(-1)
        cells = runs if self.cells is None else self.cells[runs]
        return np.stack(np.unravel_index(cells, self.grid), axis=-1).astype(np.int64, copy=False)


@dataclass
class ResultInfo:
    """What the store knows about one result across all batches seen.

    Attributes
    ----------
    name : str
        Variable name (dotted path below ``results``).
    mode : str
        ``"fixed"`` (one same-shaped array per run), ``"ragged"`` (1-d or n-d arrays whose
        shape varies), ``"pickle"`` (objects, stored as cloudpickle bytes) or ``"empty"``
        (no run produced a value yet).
    dtype : numpy.dtype
        Common dtype of the values (``uint8`` for pickle).
    shape : tuple of int or None
        Per-run value shape for fixed results.
    ndim : int
        Largest per-run ``ndim`` seen (ragged n-d results also store their shapes).
    meta : dict
        ``comment``, ``units``, ``dims``, ``kind``, ``attrs`` of :class:`ResultMeta`.
    """

    name: str
    mode: str
    dtype: np.dtype
    shape: tuple[int, ...] | None = None
    ndim: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode,
            "dtype": self.dtype.str if self.dtype != object else "O",
            "shape": None if self.shape is None else list(self.shape),
            "ndim": self.ndim,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResultInfo:
        shape = data.get("shape")
        return cls(
            name=data["name"],
            mode=data["mode"],
            dtype=np.dtype(data["dtype"]),
            shape=None if shape is None else tuple(shape),
            ndim=int(data.get("ndim", 0)),
            meta=dict(data.get("meta") or {}),
        )


def _common_dtype(a: np.dtype, b: np.dtype) -> np.dtype:
    try:
        return np.result_type(a, b)
    except TypeError:
        return np.dtype(object)


def merge_infos(a: ResultInfo | None, b: ResultInfo) -> ResultInfo:
    """Combine what two batches said about one result into what the cube must hold.

    Shapes that differ make a result ragged; values that are objects in any batch make it
    pickled; dtypes are promoted; the first non-empty metadata wins.
    """
    if a is None or a.mode == EMPTY:
        return b if b.mode != EMPTY or a is None else a
    if b.mode == EMPTY:
        return a
    meta = a.meta if any(a.meta.get(k) for k in ("comment", "units", "dims")) else b.meta
    if PICKLE in (a.mode, b.mode):
        return ResultInfo(a.name, PICKLE, np.dtype(np.uint8), None, 0, meta)
    dtype = _common_dtype(a.dtype, b.dtype)
    if dtype == object or (dtype.kind in "US") != (a.dtype.kind in "US"):
        return ResultInfo(a.name, PICKLE, np.dtype(np.uint8), None, 0, meta)
    if a.mode == FIXED and b.mode == FIXED and a.shape == b.shape:
        return ResultInfo(a.name, FIXED, dtype, a.shape, len(a.shape or ()), meta)
    return ResultInfo(a.name, RAGGED, dtype, None, max(a.ndim, b.ndim), meta)


def result_dims(info: ResultInfo) -> tuple[str, ...]:
    """Own dimensions of a fixed result: from its metadata, else ``<name>_dim_<k>``."""
    ndim = len(info.shape or ())
    dims = info.meta.get("dims")
    if dims and len(dims) == ndim:
        return tuple(dims)
    return tuple(f"{info.name}_dim_{k}" for k in range(ndim))


def variable_attrs(info: ResultInfo) -> dict[str, Any]:
    """``units``/``comment`` and the pypetx kind of a result variable (netCDF-safe types)."""
    attrs: dict[str, Any] = {}
    meta = info.meta
    if meta.get("units"):
        attrs["units"] = str(meta["units"])
    if meta.get("comment"):
        attrs["comment"] = str(meta["comment"])
    if meta.get("kind"):
        attrs["pypetx_kind"] = str(meta["kind"])
    extra = meta.get("attrs") or {}
    if extra:
        attrs["pypetx_attrs"] = json.dumps(extra, default=str)
    return attrs


def n_cells(shape: Sequence[int]) -> int:
    """Number of cells of the explored dims."""
    return int(math.prod(shape))
