"""pypet's leaf classes read back: a parameter's default and explored range, a result's
items.

Each pypet class lays its items out its own way (the item names below are pypet's):

* ``Parameter``: ``data`` (a one-row table, column ``data``) and ``explored_data`` (the
  range, one row per run);
* ``ArrayParameter``: ``data__rr__`` (the array) and ``explored_data__rr__`` (column
  ``idx``: which stored array each run uses; the arrays are items whose names end in
  that number);
* ``SparseParameter``: as ``ArrayParameter`` with ``__spsp__``; a matrix is a hex string
  of the ``.npz`` bytes ``scipy.sparse.save_npz`` writes;
* ``PickleParameter``: ``data`` (a pickle dump), ``__pckl_prtcl__``, ``explored_data``
  (column ``idx`` into the dumps);
* ``Result`` items as they are; ``SparseResult`` items end in ``__spsp__``;
  ``PickleResult`` items are pickle dumps.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

from pypetx.compat.pypetfile.nodes import Columns

PROTOCOL = "__pckl_prtcl__"
ARRAY_ID = "__rr__"
SPARSE_ID = "__spsp__"
_NUMBER = re.compile(r"(\d+)$")


@dataclass(frozen=True)
class Pickled:
    """A pickle dump from the file; :meth:`load` unpickles it (that can run code)."""

    dump: bytes

    def load(self) -> Any:
        import pickle

        return pickle.loads(self.dump)  # only through PickleGate, with allow_pickle


def is_parameter(cls: str) -> bool:
    """Whether pypet class ``cls`` is a parameter (else a result)."""
    return cls.endswith("Parameter")


def _sparse(text: Any) -> Any:
    """A matrix from pypet's hex text of ``save_npz`` bytes (``load_npz`` does not unpickle)."""
    from io import BytesIO

    from scipy import sparse

    return sparse.load_npz(BytesIO(bytes.fromhex(str(text))))


def _referenced(items: dict[str, Any], table: str, skip: set[str]) -> list:
    """The range of a parameter that stores each distinct value once: ``items[table]``
    says, per run, the number that ends the name of the item holding its value."""
    by_number = {}
    for key, value in items.items():
        match = _NUMBER.search(key)
        if key not in skip and match:
            by_number[int(match.group(1))] = value
    try:
        return [by_number[int(i)] for i in items[table]["idx"]]
    except KeyError as exc:
        raise ValueError(f"explored value {exc} is missing") from None


def parameter_value(cls: str, items: dict[str, Any], where: str) -> tuple[Any, list | None]:
    """``(default, explored range or None)`` of a stored pypet parameter.

    Pickle dumps come back as :class:`Pickled`; ``where`` names the parameter in errors.
    """
    for ident, convert in ((SPARSE_ID, _sparse), (ARRAY_ID, None)):
        data_key, table = f"data{ident}", f"explored_data{ident}"
        if data_key in items:
            conv = convert or (lambda v: v)
            default = conv(items[data_key])
            if table not in items:
                return default, None
            values = _referenced(items, table, {data_key, table})
            return default, [conv(v) for v in values]
    if cls == "PickleParameter" or PROTOCOL in items:
        default = Pickled(bytes(items["data"])) if "data" in items else None
        if "explored_data" not in items:
            return default, None
        values = _referenced(items, "explored_data", {"data", "explored_data", PROTOCOL})
        return default, [Pickled(bytes(v)) for v in values]
    if isinstance(items.get("data"), Columns):
        default = items["data"]["data"][0]
        explored = items.get("explored_data")
        return default, None if explored is None else list(explored["data"])
    if len(items) == 1:  # a parameter class of pypet's extensions storing one item
        return next(iter(items.values())), None
    raise ValueError(f"{where}: a {cls} with items {sorted(items)} is not a layout the "
                     "importer knows")


def result_items(cls: str, items: dict[str, Any], where: str) -> dict[str, Any]:
    """The items of a stored pypet result: name -> value (pickles as :class:`Pickled`,
    tables as pandas DataFrames, sparse matrices decoded)."""
    out: dict[str, Any] = {}
    pickled = cls == "PickleResult" or PROTOCOL in items
    for key, value in items.items():
        if key == PROTOCOL:
            continue
        if pickled:
            out[key] = Pickled(bytes(value))
        elif key.endswith(SPARSE_ID):
            out[key[: -len(SPARSE_ID)]] = _sparse(value)
        elif SPARSE_ID in key:  # older pypet versions split matrices into parts: not read
            warnings.warn(f"{where}: item {key!r} skipped (a sparse matrix in an old pypet "
                          "layout)", stacklevel=2)
        elif isinstance(value, Columns):
            import pandas as pd

            out[key] = pd.DataFrame(dict(value))
        else:
            out[key] = value
    return out


class PickleGate:
    """Unpickles :class:`Pickled` values when allowed; else remembers what it skipped.

    Parameters
    ----------
    allow : bool
        Whether unpickling is allowed (the user trusts the file).
    where : str
        The file and trajectory, for warnings.
    """

    def __init__(self, allow: bool, where: str) -> None:
        self.allow = allow
        self.where = where
        self.skipped: dict[str, None] = {}  # ordered sets of names
        self.failed: dict[str, str] = {}  # name -> why it could not be unpickled

    def load(self, value: Any, name: str) -> tuple[bool, Any]:
        """``(keep, value)``: unpickled when allowed, ``(False, None)`` when skipped."""
        if not isinstance(value, Pickled):
            return True, value
        if not self.allow:
            self.skipped[name] = None
            return False, None
        try:
            return True, value.load()
        except Exception as exc:  # noqa: BLE001 - e.g. its class is not importable here
            self.failed.setdefault(name, f"{type(exc).__name__}: {exc}")
            return False, None

    def warn(self) -> None:
        """One warning naming the skipped pickles, one for those that failed, if any."""
        if self.skipped:
            warnings.warn(f"{self.where}: pickled values skipped (unpickling can run code; "
                          f"pass allow_pickle=True / --allow-pickle if you trust the file): "
                          f"{_some(list(self.skipped))}", stacklevel=3)
        if self.failed:
            why = [f"{k} ({v})" for k, v in self.failed.items()]
            warnings.warn(f"{self.where}: pickled values that could not be unpickled here "
                          f"(are their classes importable?) skipped: {_some(why)}",
                          stacklevel=3)


def _some(names: list[str], shown: int = 10) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
