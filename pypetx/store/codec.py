"""The trajectory tree (records + attributes) <-> a small Dataset stored in ``<name>/_tree``.

The records go into one JSON attribute (everything but the values); each value is turned
into netCDF-storable arrays by :func:`pypetx.core.kinds.encode` and stored as variables
named by the node's tree path: ``parameters.n`` (one array) or ``parameters.w[data]``
(several arrays; the key in brackets, as a path never holds them), so a file opened with
plain ``xr.open_datatree`` says what each value is (format version 3 and older named
them ``v<i>``; the records map names to variables, so those read the same). The
trajectory ``timestamp`` is stored as ISO 8601 UTC text, as CF expects of times (a float
epoch before version 4; both read back as the float epoch). Keeping the tree in a sub-group
leaves ``xr.open_dataset(path, group=name)`` showing just the result cube; simple
non-explored parameters are repeated as attributes of the cube (``parameters.x.n = 42``)
so a plain xarray user sees them too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
import xarray as xr

from pypetx.base.errors import PickleNotAllowedError

__all__ = ["TREE_GROUP", "decode_tree", "encode_tree", "parameter_attrs", "stored_attrs",
           "timestamp_seconds", "timestamp_text"]

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


def timestamp_text(seconds: float) -> str:
    """A POSIX time as ISO 8601 UTC text with microseconds: ``2026-12-03T12:00:00.250000Z``."""
    stamp = datetime.fromtimestamp(float(seconds), timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def timestamp_seconds(value: Any) -> float:
    """A stored timestamp (ISO 8601 text, or a float epoch in format version 3 and older)
    as POSIX seconds."""
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if stamp.tzinfo is None:  # CF: a time without a zone is UTC
            stamp = stamp.replace(tzinfo=timezone.utc)
        return stamp.timestamp()
    seconds = float(np.asarray(value).ravel()[0])
    return seconds if math.isfinite(seconds) else 0.0


def stored_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Trajectory attributes as stored: the ``timestamp`` as ISO 8601 text."""
    out = dict(attrs)
    if isinstance(out.get("timestamp"), (int, float, np.number)):
        out["timestamp"] = timestamp_text(out["timestamp"])
    return out


def _read_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    # in memory the timestamp is a float epoch, as pypet's v_timestamp
    if attrs.get("timestamp") is not None:
        attrs["timestamp"] = timestamp_seconds(attrs["timestamp"])
    return attrs


def _value_name(path: str, key: Any) -> str:
    return path if key is None else f"{path}[{key}]"


def _json_safe(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def encode_tree(records: Sequence[Mapping[str, Any]], attrs: Mapping[str, Any]) -> xr.Dataset:
    """The tree as a Dataset: JSON records in attrs, encoded values as variables."""
    variables: dict[str, xr.Variable] = {}
    meta = []
    for rec in records:
        rec = dict(rec)
        value = rec.pop("value", None)
        entry = _json_safe(rec)
        if value is not None and rec.get("type") not in ("group", "link"):
            data, vattrs = _encode(value, rec.get("kind"))
            parts = data if isinstance(data, Mapping) else {None: data}
            names = {}
            path = str(rec["path"])
            item = rec.get("item")
            if item is not None and item != path.rpartition(".")[2]:
                path = f"{path}.{item}"  # a result's items share its path: name each
            for key, arr in parts.items():
                arr = np.asarray(arr)
                vname = _value_name(path, key)
                dims = tuple(f"{vname}.dim_{k}" for k in range(arr.ndim))
                variables[vname] = xr.Variable(dims, arr)
                names["" if key is None else str(key)] = vname
            entry["value_vars"] = names
            entry["value_attrs"] = _json_safe(vattrs)
        meta.append(entry)
    tree_attrs = {
        "pypetx_records": json.dumps(meta),
        "pypetx_attrs": json.dumps(_json_safe(stored_attrs(attrs))),
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
    return records, _read_attrs(json.loads(tree.attrs.get("pypetx_attrs", "{}")))


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
