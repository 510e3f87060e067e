"""One stored item of a pypet leaf (an array, a table, a pandas group...) as the Python
value pypet stored.

pypet writes every item of a parameter or result as its own HDF5 node (through
PyTables) and says how in node attributes: ``SRVC_STORE`` names the storage (``ARRAY``,
``CARRAY``, ``TABLE``, ``DICT``, ``FRAME``...), ``<prefix>COLL_TYPE`` and
``<prefix>SCALAR_TYPE`` the Python container and element type to turn the numpy data back
into (prefix ``SRVC_DATA_`` for arrays, ``SRVC_COLUMN_<column>_`` per table column).

Nodes are read with h5py, not PyTables: PyTables unpickles any attribute that looks like
a pickle as soon as it is read, and unpickling a file's content must stay an explicit
choice (``allow_pickle``). Only pandas objects go through pandas (and so PyTables), after
:func:`holds_pickles` checked that they hold no pickles, and so do arrays compressed
with a filter h5py lacks (blosc, lzo, bzip2).
"""

from __future__ import annotations

import pickletools
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np

STORE = "SRVC_STORE"
SHARED_TYPE = "SRVC_SHARED_TYPE"
ARRAYS = ("ARRAY", "CARRAY", "EARRAY", "VLARRAY")
PANDAS = ("FRAME", "SERIES", "PANEL")
NESTED = "NESTED_GROUP"
SPLIT_TABLE = "SPLIT_TABLE"
DATA_PREFIX = "SRVC_DATA_"

#: Element type names pypet records -> Python types (older files name Python 2 types).
_BUILTIN: dict[str, Callable[[Any], Any]] = {
    "int": int, "long": int, "float": float, "bool": bool, "complex": complex,
    "str": str, "unicode": str,
}
#: Pickle opcodes that import or call something: a pickle without them only builds
#: None, numbers, strings and containers, so loading it cannot run code.
_CODE_OPCODES = {"GLOBAL", "STACK_GLOBAL", "REDUCE", "BUILD", "INST", "OBJ", "NEWOBJ",
                 "NEWOBJ_EX", "EXT1", "EXT2", "EXT4", "PERSID", "BINPERSID"}


class Columns(dict):
    """A table item read column by column: ``{column: [values]}``."""


class UnreadableItem(Exception):
    """An item stored in a way the importer does not read (the message says how)."""


def text(value: Any) -> str:
    """An HDF5 string (bytes from PyTables' files) as ``str``."""
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def attr(node: Any, name: str, default: Any = None) -> Any:
    """Attribute ``name`` of ``node`` as a plain Python value (str, int, bool...)."""
    try:
        value = node.attrs[name]
    except KeyError:
        return default
    if isinstance(value, (bytes, np.bytes_)):
        return text(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def plain_pickle(dump: bytes) -> bool:
    """Whether ``dump`` is a pickle that loads without importing or calling anything."""
    try:
        return not any(op.name in _CODE_OPCODES for op, _, _ in pickletools.genops(dump))
    except Exception:  # noqa: BLE001 - not a pickle at all
        return False


def _element(value: Any, type_name: str | None) -> Any:
    """One element as the type pypet recorded (``int``, ``float64``, ``str``...)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if type_name is None:
        return value.item() if isinstance(value, np.generic) else value
    if type_name in ("str", "unicode"):
        return text(value)
    if type_name == "bytes":
        return bytes(value)
    if type_name == "NoneType":
        return None
    make = _BUILTIN.get(type_name)
    if make is not None:
        return make(value.item() if isinstance(value, np.generic) else value)
    try:
        return np.dtype(type_name).type(value)  # numpy scalar types: int16, float32...
    except TypeError:
        return value


def native(value: Any, types: Mapping[str, Any] | _Attrs, prefix: str) -> Any:
    """``value`` as read from the file, turned back into what pypet stored.

    Parameters
    ----------
    value : object
        A numpy array or scalar.
    types : mapping
        Attributes holding ``<prefix>COLL_TYPE`` and ``<prefix>SCALAR_TYPE`` (as str).
    prefix : str
        ``"SRVC_DATA_"`` for arrays, ``"SRVC_COLUMN_<name>_"`` for a table column.
    """
    coll = types.get(prefix + "COLL_TYPE")
    scalar = types.get(prefix + "SCALAR_TYPE")
    if coll == "COLL_SCALAR":
        return _element(value, scalar)
    if coll in ("COLL_LIST", "COLL_TUPLE"):
        items = [_element(v, scalar) for v in np.atleast_1d(np.asarray(value))]
        return tuple(items) if coll == "COLL_TUPLE" else items
    if coll == "COLL_EMPTY_DICT":
        return {}
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "S" and scalar in ("str", "unicode"):
            return np.char.decode(value, "utf-8")
        return value  # COLL_NDARRAY, and COLL_MATRIX as a plain array
    return _element(value, None)


class _Attrs:
    """A node's attributes, read when asked for (a node has a dozen; two are needed)."""

    def __init__(self, node: Any) -> None:
        self.node = node

    def get(self, name: str, default: Any = None) -> Any:
        return attr(self.node, name, default)


def _structured(data: np.ndarray, types: Mapping[str, Any], out: Columns) -> None:
    for name in data.dtype.names:
        prefix = f"SRVC_COLUMN_{name}_"
        out[name] = [native(v, types, prefix) for v in data[name]]


def read_table(node: Any, source: Source) -> Columns:
    """A table (or pypet's group of split tables) as ``{column: [values]}``."""
    import h5py

    out = Columns()
    if attr(node, SPLIT_TABLE):
        types_name = f"{node.name.rsplit('/', 1)[-1]}__{STORE}"
        types: dict[str, Any] = {}
        if types_name in node:
            rows = source.data(node[types_name])
            types = {text(r["field_name"]): text(r["data_type"]) for r in rows}
        for name in sorted(node):
            child = node[name]
            if name != types_name and isinstance(child, h5py.Dataset):
                _structured(source.data(child), types, out)
        return out
    _structured(source.data(node), _Attrs(node), out)
    return out


class Source(Protocol):
    """Reads the data of nodes (the importer's file: h5py, PyTables where h5py cannot)."""

    def data(self, node: Any) -> Any:
        """The node's numpy data (``None`` for an empty dataspace)."""

    def pandas(self, node: Any) -> Any:
        """The pandas object pypet stored at ``node``."""


def read_item(node: Any, source: Source) -> Any:
    """The value of one stored item (a node below a leaf group).

    Raises
    ------
    UnreadableItem
        The item uses a storage the importer does not read.
    """
    flag = attr(node, STORE)
    if flag == "SHARED_DATA":  # pypet's shared data keeps the original storage aside
        flag = attr(node, SHARED_TYPE)
    if flag in ARRAYS:
        data = source.data(node)
        if flag == "VLARRAY":
            if attr(node, "PSEUDOATOM") not in (None, "vlstring"):
                raise UnreadableItem(f"a PyTables {attr(node, 'PSEUDOATOM')!r} array")
            return [v if isinstance(v, bytes) else np.asarray(v) for v in data]
        return native(data, _Attrs(node), DATA_PREFIX)
    if flag == "TABLE":
        return read_table(node, source)
    if flag == "DICT":
        return {k: v[0] for k, v in read_table(node, source).items()}
    if flag in PANDAS:
        return source.pandas(node)
    raise UnreadableItem(f"storage {flag!r} is not one the importer reads")


def read_items(group: Any, source: Source, where: str, prefix: str = "") -> dict[str, Any]:
    """Every item of a leaf group: name -> value (nested groups give dotted names).

    Items that cannot be read are left out with a warning naming them.
    """
    import h5py

    items: dict[str, Any] = {}
    for name in group:
        node = group.get(name)
        if node is None:  # a dangling link
            continue
        key = f"{prefix}{name}"
        if isinstance(node, h5py.Group) and attr(node, STORE) == NESTED:
            items.update(read_items(node, source, where, prefix=f"{key}."))
            continue
        try:
            items[key] = read_item(node, source)
        except UnreadableItem as exc:
            warnings.warn(f"{where}: item {key!r} skipped: {exc}", stacklevel=2)
    return items


def _pickled_attrs(obj: Any) -> bool:
    if attr(obj, "PSEUDOATOM") == "object":  # a PyTables array of pickled objects
        return True
    for key in obj.attrs:
        value = obj.attrs[key]
        if isinstance(value, (bytes, np.bytes_)) and _is_pickle(bytes(value)) \
                and not plain_pickle(bytes(value)):
            return True
    return False


def holds_pickles(node: Any) -> bool:
    """Whether PyTables would unpickle something to read ``node``: a pickle (one that
    imports or calls code) in the attributes of ``node``, its subtree or its parents, or
    an array of pickled objects (pandas stores object columns so)."""
    import h5py

    found = [_pickled_attrs(node)]
    parent = node.parent
    while parent.name != "/":
        found.append(_pickled_attrs(parent))
        parent = parent.parent
    if isinstance(node, h5py.Group):
        node.visititems(lambda _, obj: found.append(_pickled_attrs(obj)) or None)
    return any(found)


def _is_pickle(dump: bytes) -> bool:
    if not dump.endswith(b"."):
        return False
    try:
        for _ in pickletools.genops(dump):
            pass
        return True
    except Exception:  # noqa: BLE001 - not a pickle: text that ends in "."
        return False
