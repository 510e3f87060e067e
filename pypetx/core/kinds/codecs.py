"""Value kinds: encoding values into netCDF/Zarr-storable arrays and back.

See :mod:`pypetx.core.kinds` for the storage conventions.
"""

from __future__ import annotations

import json
import numbers
import pickle
import sys
from typing import Any

import numpy as np

from pypetx.base.errors import PickleNotAllowedError
from pypetx.core.kinds.detect import _REGISTRY, KINDS, _codec, _pandas, _pickle_hint, kind_of

# --------------------------------------------------------------------------- arrays


def _store_array(a: np.ndarray) -> tuple[np.ndarray, str]:
    """``a`` as a dtype every netCDF4/HDF5/Zarr backend writes, and ``a``'s dtype string."""
    dtype = a.dtype
    kind = dtype.kind
    if kind == "O" or kind == "V":
        raise TypeError(f"numpy dtype {dtype} cannot be stored as an array")
    if kind == "b":
        stored = a.astype(np.int8)
    elif kind == "c":
        stored = np.stack([a.real, a.imag], axis=-1)
    elif kind in "mM":
        stored = a.view(np.int64)
    elif kind == "S":  # latin-1 maps every byte to one character, so this is lossless
        stored = np.char.decode(a, "latin-1") if a.size else a.astype("U1")
    elif dtype == np.float16:
        stored = a.astype(np.float32)
    else:
        stored = a
    # (np.ascontiguousarray would turn 0-d arrays into 1-d ones)
    return (stored if stored.flags.c_contiguous else stored.copy(order="C")), dtype.str


def _load_array(stored: Any, dtype_str: str) -> np.ndarray:
    """Inverse of :func:`_store_array` (``stored`` may come back from a file)."""
    dtype = np.dtype(dtype_str)
    a = np.asarray(stored)
    if dtype.kind == "c":
        return (a[..., 0] + 1j * a[..., 1]).astype(dtype)
    if dtype.kind in "mM":
        return a.astype(np.int64).view(dtype)
    if dtype.kind == "S":
        return np.char.encode(a.astype(str), "latin-1").astype(dtype)
    if dtype.kind == "U" or a.dtype.kind == "O":  # backends return vlen strings as objects
        return a.astype(dtype)
    return a.astype(dtype, copy=False)


# --------------------------------------------------------------------------- encoders


def _attrs(kind: str, **extra: Any) -> dict[str, str]:
    attrs = {"pypetx_kind": kind}
    for key, value in extra.items():
        attrs[f"pypetx_{key}"] = value if isinstance(value, str) else json.dumps(value)
    return attrs


def _encode_scalar(value: Any) -> tuple[np.ndarray, dict]:
    if isinstance(value, np.ndarray):
        data, dtype = _store_array(value)
        return data, _attrs("scalar", type="numpy0d", dtype=dtype)
    if isinstance(value, np.generic):
        data, dtype = _store_array(np.asarray(value))
        return data, _attrs("scalar", type="numpy", dtype=dtype)
    if isinstance(value, bool):
        return np.asarray(value, dtype=np.int8), _attrs("scalar", type="bool", dtype="|b1")
    if isinstance(value, numbers.Integral):
        if -(2**63) <= value < 2**63:
            return np.asarray(value, dtype=np.int64), _attrs("scalar", type="int", dtype="<i8")
        return np.asarray(str(int(value))), _attrs("scalar", type="bigint", dtype="<U1")
    if isinstance(value, numbers.Real):
        return np.asarray(float(value)), _attrs("scalar", type="float", dtype="<f8")
    if isinstance(value, numbers.Complex):
        data, dtype = _store_array(np.asarray(complex(value)))
        return data, _attrs("scalar", type="complex", dtype=dtype)
    raise TypeError(_pickle_hint(value))


def _decode_scalar(data: Any, attrs: dict) -> Any:
    kind = attrs["pypetx_type"]
    if kind == "bigint":
        return int(str(np.asarray(data).item()))
    a = _load_array(data, attrs["pypetx_dtype"])
    if kind == "numpy0d":
        return a
    if kind == "numpy":
        return a[()]
    return {"bool": bool, "int": int, "float": float, "complex": complex}[kind](a.item())


def _encode_string(value: Any) -> tuple[np.ndarray, dict]:
    if isinstance(value, np.ndarray):  # 0-d str or bytes array
        data, dtype = _store_array(value)
        return data, _attrs("string", type="numpy0d", dtype=dtype)
    if isinstance(value, (np.str_, np.bytes_)):
        data, dtype = _store_array(np.asarray(value))
        return data, _attrs("string", type="numpy", dtype=dtype)
    if isinstance(value, bytes):  # uint8 keeps every byte, also trailing NULs
        return np.frombuffer(value, dtype=np.uint8).copy(), _attrs("string", type="bytes")
    return np.asarray(value, dtype=str), _attrs("string", type="str")


def _decode_string(data: Any, attrs: dict) -> Any:
    kind = attrs["pypetx_type"]
    if kind == "bytes":
        return np.asarray(data).astype(np.uint8).tobytes()
    if kind == "str":
        return str(np.asarray(data).item())
    a = _load_array(data, attrs["pypetx_dtype"])
    return a if kind == "numpy0d" else a[()]


# Python item types a list/tuple can hold, and the numpy dtype of their array.
_ITEM_DTYPES = {
    bool: np.bool_,
    int: np.int64,
    float: np.float64,
    complex: np.complex128,
    str: np.str_,
}


def _item_tag(item: Any) -> list:
    """One list item as a JSON-able ``[tag, payload]`` pair."""
    if isinstance(item, np.generic):
        payload = item.item()
        if isinstance(payload, complex):
            payload = [payload.real, payload.imag]
        elif isinstance(payload, bytes):
            payload = payload.decode("latin-1")
        return ["numpy:" + item.dtype.str, payload]
    if isinstance(item, complex):
        return ["complex", [item.real, item.imag]]
    if isinstance(item, bytes):
        return ["bytes", item.decode("latin-1")]
    for t in (bool, int, float, str):
        if type(item) is t:
            return [t.__name__, item]
    raise TypeError(_pickle_hint(item))


def _item_from_tag(tag: str, payload: Any) -> Any:
    if tag.startswith("numpy:"):
        dtype = np.dtype(tag[6:])
        if dtype.kind == "c":
            payload = complex(*payload)
        elif dtype.kind == "S":
            payload = payload.encode("latin-1")
        return np.asarray(payload, dtype=dtype)[()]
    if tag == "complex":
        return complex(*payload)
    if tag == "bytes":
        return payload.encode("latin-1")
    return {"bool": bool, "int": int, "float": float, "str": str}[tag](payload)


def _encode_sequence(value: list | tuple, kind: str) -> tuple[np.ndarray, dict]:
    types = {type(item) for item in value}
    if len(types) == 1:
        (t,) = types
        if t in _ITEM_DTYPES and not (t is int and any(not -(2**63) <= v < 2**63 for v in value)):
            data, dtype = _store_array(np.array(value, dtype=_ITEM_DTYPES[t]))
            return data, _attrs(kind, type="typed", item=t.__name__, dtype=dtype)
        if issubclass(t, np.generic) and len({item.dtype for item in value}) == 1:
            data, dtype = _store_array(np.array(value))
            return data, _attrs(kind, type="typed", item="numpy", dtype=dtype)
    if not value:
        return np.zeros(0, dtype=np.float64), _attrs(kind, type="typed", item="float", dtype="<f8")
    # Mixed item types: one JSON string per item keeps each item's exact type.
    items = [json.dumps(_item_tag(item)) for item in value]
    return np.array(items, dtype=str), _attrs(kind, type="json")


def _decode_sequence(data: Any, attrs: dict) -> list | tuple:
    if attrs["pypetx_type"] == "json":
        items = [_item_from_tag(*json.loads(str(text))) for text in np.asarray(data).tolist()]
    else:
        a = _load_array(data, attrs["pypetx_dtype"])
        items = list(a) if attrs["pypetx_item"] == "numpy" else a.tolist()
    return tuple(items) if attrs["pypetx_kind"] == "tuple" else items


def _encode_dict(value: dict) -> tuple[dict[str, np.ndarray], dict]:
    data: dict[str, np.ndarray] = {}
    parts = []
    for i, item in enumerate(value.values()):
        data[f"v{i}"], sub = encode(item)
        parts.append(sub)
    return data, _attrs("dict", meta={"keys": list(value), "attrs": parts})


def _decode_dict(data: dict, attrs: dict) -> dict:
    meta = json.loads(attrs["pypetx_meta"])
    return {
        key: decode(data[f"v{i}"], sub)
        for i, (key, sub) in enumerate(zip(meta["keys"], meta["attrs"]))
    }


# --------------------------------------------------------------------------- pandas


def _encode_values(values: Any, label: str, prefix: str, data: dict) -> dict:
    """Store one pandas column/index level as ``data[prefix]`` (+ mask); return its meta."""
    pd = _pandas()
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biufcmM":
        data[prefix], stored = _store_array(np.asarray(values))
        return {"pandas": str(dtype), "dtype": stored}
    if isinstance(dtype, np.dtype) and dtype.kind == "O" or pd.api.types.is_string_dtype(dtype):
        objects = np.asarray(values, dtype=object)
        missing = np.asarray(pd.isna(objects), dtype=bool)
        present = objects[~missing]
        if all(isinstance(v, str) for v in present):
            filled = np.where(missing, "", objects)
            strings = np.array(filled.tolist(), dtype=str) if len(filled) else np.zeros(0, "U1")
            data[prefix] = strings
            meta = {"pandas": str(dtype), "dtype": strings.dtype.str, "mask": bool(missing.any())}
            if missing.any():
                data[prefix + "_mask"] = missing.astype(np.int8)
            return meta
    raise TypeError(
        f"{label} has dtype {dtype}, which pypetx cannot store as arrays (numbers, bool, "
        "datetimes and strings can); convert it, or ask for kind='pickle'"
    )


def _decode_values(data: dict, prefix: str, meta: dict) -> Any:
    pd = _pandas()
    a = _load_array(data[prefix], meta["dtype"])
    if meta.get("mask"):
        a = a.astype(object)
        a[np.asarray(data[prefix + "_mask"]).astype(bool)] = None
    elif meta["pandas"] in ("object", "str", "string"):
        a = a.astype(object)
    # pd.array also for object: pandas 3 would infer its str dtype from a bare object array
    return pd.array(a, dtype=meta["pandas"])


def _json_label(label: Any, what: str) -> Any:
    if isinstance(label, np.generic):
        label = label.item()
    if label is None or isinstance(label, (str, int, float, bool)):
        return label
    raise TypeError(f"{what} {label!r} must be a str, number or None to be stored")


def _encode_index(index: Any, prefix: str, data: dict, what: str) -> dict:
    pd = _pandas()
    names = [_json_label(n, f"{what} name") for n in index.names]
    if type(index) is pd.RangeIndex:
        return {
            "type": "range",
            "start": index.start,
            "stop": index.stop,
            "step": index.step,
            "names": names,
        }
    levels = [index.get_level_values(j) for j in range(index.nlevels)]
    metas = [_encode_values(level, what, f"{prefix}{j}", data) for j, level in enumerate(levels)]
    return {"type": "multi" if index.nlevels > 1 else "index", "names": names, "levels": metas}


def _decode_index(data: dict, prefix: str, meta: dict) -> Any:
    pd = _pandas()
    if meta["type"] == "range":
        return pd.RangeIndex(meta["start"], meta["stop"], meta["step"], name=meta["names"][0])
    levels = [_decode_values(data, f"{prefix}{j}", m) for j, m in enumerate(meta["levels"])]
    if meta["type"] == "multi":
        return pd.MultiIndex.from_arrays(levels, names=meta["names"])
    return pd.Index(levels[0], name=meta["names"][0], dtype=meta["levels"][0]["pandas"])


def _encode_dataframe(frame: Any) -> tuple[dict[str, np.ndarray], dict]:
    data: dict[str, np.ndarray] = {}
    columns = [
        _encode_values(frame.iloc[:, i], f"column {frame.columns[i]!r}", f"c{i}", data)
        for i in range(frame.shape[1])
    ]
    meta = {
        "columns": columns,
        "index": _encode_index(frame.index, "index", data, "index"),
        "labels": _encode_index(frame.columns, "label", data, "column label"),
    }
    return data, _attrs("dataframe", meta=meta)


def _decode_dataframe(data: dict, attrs: dict) -> Any:
    pd = _pandas() or __import__("pandas")
    meta = json.loads(attrs["pypetx_meta"])
    index = _decode_index(data, "index", meta["index"])
    columns = {i: _decode_values(data, f"c{i}", m) for i, m in enumerate(meta["columns"])}
    frame = pd.DataFrame(columns, index=index)
    # The constructor infers pandas' string dtype for object columns of str: undo that.
    objects = {i: object for i, m in enumerate(meta["columns"]) if m["pandas"] == "object"}
    if objects:
        frame = frame.astype(objects)
    frame.columns = _decode_index(data, "label", meta["labels"])
    return frame


def _encode_series(series: Any) -> tuple[dict[str, np.ndarray], dict]:
    data: dict[str, np.ndarray] = {}
    meta = {
        "values": _encode_values(series, f"series {series.name!r}", "values", data),
        "index": _encode_index(series.index, "index", data, "index"),
        "name": _json_label(series.name, "series name"),
    }
    return data, _attrs("series", meta=meta)


def _decode_series(data: dict, attrs: dict) -> Any:
    pd = _pandas() or __import__("pandas")
    meta = json.loads(attrs["pypetx_meta"])
    index = _decode_index(data, "index", meta["index"])
    values = _decode_values(data, "values", meta["values"])
    return pd.Series(values, index=index, name=meta["name"])


# --------------------------------------------------------------------------- scipy.sparse


def _encode_sparse(matrix: Any) -> tuple[dict[str, np.ndarray], dict]:
    sparse = sys.modules["scipy.sparse"]
    fmt = matrix.format
    if fmt in ("csr", "csc", "bsr"):
        parts = {"data": matrix.data, "indices": matrix.indices, "indptr": matrix.indptr}
    elif fmt == "coo":
        coords = getattr(matrix, "coords", None) or (matrix.row, matrix.col)
        parts = {"data": matrix.data, **{f"coord{j}": c for j, c in enumerate(coords)}}
    else:  # dia
        parts = {"data": matrix.data, "offsets": matrix.offsets}
    data: dict[str, np.ndarray] = {}
    dtypes = {}
    for key, part in parts.items():
        data[key], dtypes[key] = _store_array(np.asarray(part))
    meta = {
        "format": fmt,
        "shape": [int(s) for s in matrix.shape],
        "container": "array" if isinstance(matrix, sparse.sparray) else "matrix",
        "dtypes": dtypes,
    }
    return data, _attrs("sparse", meta=meta)


def _decode_sparse(data: dict, attrs: dict) -> Any:
    from scipy import sparse

    meta = json.loads(attrs["pypetx_meta"])
    parts = {key: _load_array(data[key], dtype) for key, dtype in meta["dtypes"].items()}
    fmt, shape = meta["format"], tuple(meta["shape"])
    cls = getattr(sparse, f"{fmt}_{meta['container']}")
    if fmt in ("csr", "csc", "bsr"):
        return cls((parts["data"], parts["indices"], parts["indptr"]), shape=shape)
    if fmt == "coo":
        coords = tuple(parts[f"coord{j}"] for j in range(len(parts) - 1))
        return cls((parts["data"], coords), shape=shape)
    return cls((parts["data"], parts["offsets"]), shape=shape)


# --------------------------------------------------------------------------- public


def encode(
    value: Any, kind: str | None = None
) -> tuple[np.ndarray | dict[str, np.ndarray], dict[str, str]]:
    """Turn ``value`` into storable numpy arrays and string attributes.

    Parameters
    ----------
    value : object
        The value to store.
    kind : str, optional
        One of :data:`KINDS`; detected with :func:`kind_of` when omitted. ``"pickle"`` must
        be given explicitly; for other kinds it must match the detected kind.

    Returns
    -------
    data : numpy.ndarray or dict of str to numpy.ndarray
        One array (scalar, string, array, list, tuple, pickle) or named component arrays
        (dict, dataframe, series, sparse), each of a numeric or ``str`` dtype.
    attrs : dict of str to str
        Always holds ``pypetx_kind``; pass it back to :func:`decode` unchanged.

    Raises
    ------
    TypeError
        When ``value`` has no storable kind, or ``kind`` does not match it.
    ValueError
        When ``kind`` is not one of :data:`KINDS`.
    """
    if kind is not None and kind not in KINDS and _codec(kind) is None:
        raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    if kind == "pickle":
        import cloudpickle

        return np.frombuffer(cloudpickle.dumps(value), dtype=np.uint8).copy(), _attrs("pickle")
    detected = kind_of(value)
    if kind is not None and kind != detected:
        raise TypeError(
            f"value of type {type(value).__name__} has kind {detected!r}, not {kind!r}; "
            f"pass kind={detected!r} (or kind='pickle' to store it pickled)"
        )
    if detected in _REGISTRY:
        data, attrs = _REGISTRY[detected].encode(value)
        return data, dict(attrs, pypetx_kind=detected)
    if detected == "scalar":
        return _encode_scalar(value)
    if detected == "string":
        return _encode_string(value)
    if detected == "array":
        data, dtype = _store_array(value)
        return data, _attrs("array", dtype=dtype)
    if detected in ("list", "tuple"):
        return _encode_sequence(value, detected)
    if detected == "dict":
        return _encode_dict(value)
    if detected == "dataframe":
        return _encode_dataframe(value)
    if detected == "series":
        return _encode_series(value)
    return _encode_sparse(value)


def decode(data: Any, attrs: dict, allow_pickle: bool = False) -> Any:
    """Rebuild the value :func:`encode` stored.

    Parameters
    ----------
    data : numpy.ndarray or dict of str to numpy.ndarray
        What :func:`encode` returned, or the same arrays read back from a file (anything
        ``numpy.asarray`` accepts, e.g. ``xarray.DataArray``).
    attrs : dict
        The attributes :func:`encode` returned.
    allow_pickle : bool, default False
        Whether pickled values may be loaded. Unpickling can run arbitrary code: only allow
        it for files you trust.

    Returns
    -------
    object
        A value of the type that was encoded.

    Raises
    ------
    PickleNotAllowedError
        For a pickled value when ``allow_pickle`` is False.
    ValueError
        When ``attrs`` were not written by :func:`encode`.
    """
    kind = attrs.get("pypetx_kind")
    if isinstance(kind, bytes):
        kind = kind.decode()
    codec = None if kind in KINDS or kind is None else _codec(kind)
    if codec is not None:
        return codec.decode(data, attrs)
    if kind not in KINDS:
        raise ValueError(
            f"attrs have no valid pypetx_kind (got {kind!r}); they were not written by "
            "pypetx.core.kinds.encode"
        )
    if kind == "pickle":
        if not allow_pickle:
            raise PickleNotAllowedError(
                "this value is stored pickled; loading it can run arbitrary code. Pass "
                "allow_pickle=True if you trust the file"
            )
        return pickle.loads(np.asarray(data).astype(np.uint8).tobytes())
    if kind == "scalar":
        return _decode_scalar(data, attrs)
    if kind == "string":
        return _decode_string(data, attrs)
    if kind == "array":
        return _load_array(data, attrs["pypetx_dtype"])
    if kind in ("list", "tuple"):
        return _decode_sequence(data, attrs)
    if kind == "dict":
        return _decode_dict(data, attrs)
    if kind == "dataframe":
        return _decode_dataframe(data, attrs)
    if kind == "series":
        return _decode_series(data, attrs)
    return _decode_sparse(data, attrs)
