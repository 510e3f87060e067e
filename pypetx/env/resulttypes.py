"""What a result may hold: a kind pypetx stores, and one kind of value whatever the batching.

Values pypetx has no kind for (see :mod:`pypetx.core.kinds`) are refused unless the result
was added with the pickle kind (``PickleResult`` or ``kind="pickle"``).

A result whose runs give values of different kinds (a number in one run, a string in
another) used to be stored as strings in one batching and silently pickled in another.
The rule now: every run of a result gives the same *family* of value (see
:func:`family`); arrays of numbers may differ in shape (a ragged result) and numbers in
dtype (they are promoted), but a result never mixes families unless it was added with
``kind="pickle"`` (then any Python objects are stored pickled, read back with
``allow_pickle=True``). The first run that breaks the rule stops the sweep with an error
naming both runs and both types; the runs before it stay stored.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pypetx.base.errors import StorageError
from pypetx.core.kinds import kind_of

__all__ = ["ResultTypes", "family"]

_NUMBER_KINDS = "biufc"


def _of_dtype(dtype: np.dtype) -> str:
    if dtype.kind in _NUMBER_KINDS:
        return "number"
    if dtype.kind in "US":
        return "string"
    if dtype.kind in "mM":
        return "time"
    return "object"


def family(value: Any) -> str:
    """The family of one run's value: ``"number"`` (numbers and arrays of them, any
    shape), ``"string"``, ``"time"``, or the type's name for anything else."""
    if isinstance(value, (bool, int, float, complex, np.number, np.bool_)):
        return "number"
    if isinstance(value, (str, bytes, np.str_, np.bytes_)):
        return "string"
    if isinstance(value, np.ndarray):
        return _of_dtype(value.dtype)
    if hasattr(value, "dims") and hasattr(value, "values"):  # xarray.DataArray
        return family(np.asarray(value.values))
    if isinstance(value, (list, tuple)):
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError):
            return type(value).__name__
        return _of_dtype(arr.dtype) if arr.dtype != object else type(value).__name__
    return type(value).__name__


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


class ResultTypes:
    """Checks each finished batch against the families its results had so far.

    Parameters
    ----------
    name : str
        The trajectory's name, for messages.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._seen: dict[str, tuple[str, int, str]] = {}  # result -> (family, run, what)

    def check(self, batch: Any) -> None:
        """Raise :class:`StorageError` at the first run of ``batch`` whose value pypetx
        cannot store, or whose value is not of its result's family (one pass over the
        per-run values: stacked numeric results need no look at their runs)."""
        indices = np.asarray(batch.indices).tolist()
        for var, values in batch.results.items():
            meta = batch.result_meta.get(var)
            if meta is not None and meta.kind == "pickle":
                continue
            if isinstance(values, np.ndarray):
                present = batch.present.get(var)
                at = (np.flatnonzero(present) if present is not None
                      else np.arange(len(values)))
                if len(at):
                    k = int(at[0])
                    one = values[k]
                    self._see(var, _of_dtype(values.dtype), indices[k],
                              _describe(one.item() if np.ndim(one) == 0 else one))
                continue
            for idx, value in zip(indices, values):
                if value is None:
                    continue
                if not hasattr(value, "dims"):  # an xarray.DataArray is stored as such
                    try:
                        kind_of(value)
                    except TypeError as exc:
                        raise StorageError(f"trajectory {self.name!r}: result {var!r} of run "
                                           f"{idx} cannot be stored: {exc}") from None
                self._see(var, family(value), idx, _describe(value))

    def _see(self, var: str, fam: str, run: int, what: str) -> None:
        first = self._seen.setdefault(var, (fam, run, what))
        if first[0] != fam:
            raise StorageError(
                f"trajectory {self.name!r}: result {var!r} of run {run} is {what}, but run "
                f"{first[1]} gave {first[2]}: every run of a result must give the same kind "
                "of value (numbers, or strings, or arrays of them); convert them, or add the "
                "result with kind='pickle' to store any Python objects pickled (read back "
                "with allow_pickle=True)")
