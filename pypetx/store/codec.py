"""The trajectory tree (records + attributes) <-> a small Dataset stored in ``<name>/_tree``.

The records go into one JSON attribute (everything but the values); each value is turned
into netCDF-storable arrays by :func:`pypetx.core.kinds.encode` and stored as variables
``v<i>`` (one array) or ``v<i>.<key>`` (several arrays). Keeping the tree in a sub-group
leaves ``xr.open_dataset(path, group=name)`` showing just the result cube; simple
non-explored parameters are repeated as attributes of the cube (``parameters.x.n = 42``)
so a plain xarray user sees them too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from pypetx.base.errors import PickleNotAllowedError

__all__ = ["TREE_GROUP", "decode_tree", "encode_tree", "parameter_attrs"]

TREE_GROUP = "_tree"


def _kinds() -> Any:
    from pypetx.core import kinds

    return kinds


def _encode(value: Any, kind: str | None) -> tuple[Any, dict[str, Any]]:
    try:
        kinds = _kinds()
    except ImportError:  # kinds.py not written yet: plain numbers, strings and arrays only
        arr = np.asarray(value)
        if arr.dtype == object:
            raise TypeError(f"cannot store a {type(value).__name__} without pypetx.core.kinds") from None
        return arr, {"py_type": type(value).__name__}
    return kinds.encode(value, kind)


def _decode(data: Any, attrs: dict[str, Any], allow_pickle: bool) -> Any:
    try:
        kinds = _kinds()
    except ImportError:
        arr = np.asarray(data)
        py = attrs.get("py_type")
        if arr.ndim == 0 and py in ("int", "float", "bool", "str", "complex"):
            return arr.item()
        return arr
    return kinds.decode(data, attrs, allow_pickle=allow_pickle)


def _json_safe(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def encode_tree(records: Sequence[Mapping[str, Any]], attrs: Mapping[str, Any]) -> xr.Dataset:
    """The tree as a Dataset: JSON records in attrs, encoded values as variables."""
    variables: dict[str, xr.Variable] = {}
    meta = []
    for i, rec in enumerate(records):
        rec = dict(rec)
        value = rec.pop("value", None)
        entry = _json_safe(rec)
        if value is not None and rec.get("type") not in ("group", "link"):
            data, vattrs = _encode(value, rec.get("kind"))
            parts = data if isinstance(data, Mapping) else {None: data}
            names = {}
            for key, arr in parts.items():
                arr = np.asarray(arr)
                vname = f"v{i}" if key is None else f"v{i}.{key}"
                dims = tuple(f"{vname}_dim_{k}" for k in range(arr.ndim))
                variables[vname] = xr.Variable(dims, arr)
                names["" if key is None else str(key)] = vname
            entry["value_vars"] = names
            entry["value_attrs"] = _json_safe(vattrs)
        meta.append(entry)
    tree_attrs = {
        "pypetx_records": json.dumps(meta),
        "pypetx_attrs": json.dumps(_json_safe(dict(attrs))),
    }
    return xr.Dataset(variables, attrs=tree_attrs)


def decode_tree(tree: xr.Dataset, *, allow_pickle: bool = False, where: str = ""
                ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Records (values decoded) and trajectory attrs from a ``_tree`` Dataset.

    Raises
    ------
    PickleNotAllowedError
        A value was stored pickled and ``allow_pickle`` is False (names the node).
    """
    records = []
    for entry in json.loads(tree.attrs["pypetx_records"]):
        names = entry.pop("value_vars", None)
        vattrs = entry.pop("value_attrs", {})
        rec = dict(entry, value=None)
        if names is not None:
            kind = rec.get("kind")
            if (kind == "pickle" or vattrs.get("pypetx_kind") == "pickle") and not allow_pickle:
                raise PickleNotAllowedError(
                    f"{rec['path']} in {where} is stored pickled; loading it could run code: "
                    "pass allow_pickle=True if you trust this file"
                )
            if list(names) == [""]:
                data: Any = tree[names[""]].values
            else:
                data = {key: tree[v].values for key, v in names.items()}
            rec["value"] = _decode(data, vattrs, allow_pickle)
        records.append(rec)
    return records, json.loads(tree.attrs.get("pypetx_attrs", "{}"))


def parameter_attrs(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Non-explored parameters with a plain scalar value, as cube attributes."""
    out: dict[str, Any] = {}
    for rec in records:
        if rec.get("type") not in ("parameter", "derived", "config") or rec.get("explored"):
            continue
        value = rec.get("value")
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, (bool, int, float, str)) and not isinstance(value, complex):
            out[rec["path"]] = int(value) if isinstance(value, bool) else value
    return out
