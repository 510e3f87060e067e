"""The unit of work that flows from the engine to a store: one finished batch of runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class ResultMeta:
    """What a result variable carries besides its values.

    Attributes
    ----------
    comment : str
        The comment given to ``f_add_result``.
    units : str or None
        Units string (Brian2 quantities or the user's own), stored as ``units`` attribute.
    dims : tuple of str or None
        Names of the result's own dimensions (from an ``xarray.DataArray`` or ``dims=``);
        ``None`` lets the store name them ``<result>_dim_0``, ...
    kind : str
        The value kind (see :mod:`pypetx.core.kinds`), e.g. ``"scalar"``, ``"array"``, ``"pickle"``.
    attrs : dict
        Extra attributes (annotations, coordinates of DataArray results as ``coords``).
    """

    comment: str = ""
    units: str | None = None
    dims: tuple[str, ...] | None = None
    kind: str = "scalar"
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class BatchResult:
    """Results and status of one batch of runs, in run-index order.

    ``results`` maps a result name (dotted path below ``results``, e.g. ``"z"`` or
    ``"stats.mean"``) to one value per run of ``indices``: a stacked ``np.ndarray`` of shape
    ``(len(indices), *value_shape)`` when every run produced the same shape and dtype, else a
    ``list`` (ragged, or objects). A run that did not produce a result (it failed, or it
    skipped that result) holds ``None`` in a list, or a fill value in an array with
    ``present[name][i] == False``.
    """

    indices: np.ndarray
    results: dict[str, Any]
    present: dict[str, np.ndarray]
    completed: np.ndarray
    failed: np.ndarray
    duration: np.ndarray
    worker: str = ""
    error: list[str] = field(default_factory=list)
    traceback: list[str] = field(default_factory=list)
    result_meta: dict[str, ResultMeta] = field(default_factory=dict)
    returns: list[Any] | None = None

    def __len__(self) -> int:
        return len(self.indices)
