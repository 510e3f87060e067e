"""The stored form of an exploration: the one codec its writers and readers share.

:func:`encode` describes an exploration as a JSON-able dict plus the numpy arrays it
refers to; :func:`read` parses any stored description back into its :class:`Parts`, from
which :meth:`Exploration.decode <pypetx.core.explore.Exploration.decode>` builds the
exploration (a grid from its axes, never from per-run columns). Three forms are read:

* version 2, what :func:`encode` writes (file format 3): ``{"version": 2, "names",
  "axes", "n_runs", "values", "cells", "repr"}``; ``values`` holds, per name, its values
  along its grid axis (a grid) or per run (a run layout), a long numeric list as a
  reference to an array;
* the compact form of ``Exploration.to_dict(compact=True)``: ``{"names", "axes",
  "n_runs", "axis_values", "positions"}``;
* version 1, ``Exploration.to_dict()`` (file formats 1 and 2): ``{"names", "columns",
  "axes"}``, every run's values.

The module knows descriptions and the public face of an exploration, not its class (the
class builds itself from :class:`Parts`), so that :mod:`~pypetx.core.explore.exploration`
can use it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from pypetx.core.explore._values import Axes, _json_column, _numeric_array

__all__ = [
    "INLINE_VALUES",
    "VERSION",
    "Arrays",
    "Parts",
    "decode_value",
    "encode",
    "plain",
    "read",
    "refers_to_arrays",
    "stored_columns",
    "version1",
]

#: Value lists (grid axis values, run-layout columns) longer than this are not written into
#: the description when numeric: they are referenced and read from an array (a coordinate
#: variable in the file, an ``.npy`` file next to the journal's ``exploration.json``).
INLINE_VALUES = 1000
#: Version of the description :func:`encode` writes (1: every run's values in ``columns``).
VERSION = 2

#: Where the arrays a description refers to are: a mapping by ``sha1`` (what
#: :func:`encode` returns) or by coordinate name (an :class:`xarray.Dataset`), or a
#: callable taking the reference ``{"coord", "dtype", "size", "sha1"}``.
Arrays = Mapping[str, Any] | Callable[[Mapping[str, Any]], Any]

#: JSON values that may be shared between runs of a ``to_dict`` column (immutable).
_SHAREABLE_JSON = frozenset({float, int, bool, str, type(None)})


class Parts(NamedTuple):
    """A stored exploration, parsed (see :func:`read`).

    Attributes
    ----------
    names : tuple of str
        Explored names in exploration order.
    axes : tuple of tuple of str or None
        Grid axes, or ``None`` for a run layout.
    values : dict of str to list
        Per name: its values along its axis (a grid) or per run (a run layout, and the
        grids of version 1, see ``per_run``).
    cells : numpy.ndarray or None
        Each run's C-order cell when a grid's runs are not in C order, else ``None``.
    per_run : bool
        ``values`` are per run although ``axes`` is given: a version 1 grid, which only
        its runs describe.
    as_repr : bool
        The values are ``repr`` strings (they had no JSON form when stored).
    """

    names: tuple[str, ...]
    axes: Axes | None
    values: dict[str, list]
    cells: np.ndarray | None
    per_run: bool
    as_repr: bool


# --------------------------------------------------------------------------- writing


def encode(exploration: Any, *, coord_name: Callable[[str], str] | None = None
           ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The stored description of ``exploration`` and the arrays it refers to.

    Parameters
    ----------
    exploration : Exploration
    coord_name : callable, optional
        Full name -> the name of the coordinate that holds its values in the file (written
        into references, read back when the arrays are given as a Dataset); default the
        full name.

    Returns
    -------
    description : dict
        ``{"version": 2, "names", "axes", "n_runs", "values", "cells", "repr"}``:
        ``values`` holds, per name, its values along its grid axis (a grid) or per run (a
        run layout); ``cells`` is ``None`` unless a grid's runs are not in C order (after
        ``expand``), else each run's C-order cell (a list, or delta-encoded,
        zlib-compressed base64 text when long). A numeric value list longer than
        :data:`INLINE_VALUES` is a reference ``{"coord", "dtype", "size", "sha1"}`` to an
        array. Values of a kind an integration registers (Brian2 quantities) are stored
        encoded (:func:`decode_value`); when some values have no JSON form at all, every
        value is replaced by its ``repr`` (``"repr": True``), which is enough to
        recognise the same points again.
    arrays : dict of str to numpy.ndarray
        The referenced arrays by ``sha1``.
    """
    names = list(exploration.names)
    axes = exploration.axes
    lists = _value_lists(exploration)
    values: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    as_repr = False
    for name in names:
        vals = lists[name]
        arr = _numeric_array(vals) if len(vals) > INLINE_VALUES else None
        if arr is not None:
            digest = hashlib.sha1(arr.tobytes()).hexdigest()
            values[name] = {"coord": name if coord_name is None else coord_name(name),
                            "dtype": arr.dtype.str, "size": int(arr.size), "sha1": digest}
            arrays[digest] = arr
            continue
        try:
            values[name] = _json_column(name, vals)
            json.dumps(values[name])
        except (TypeError, ValueError):
            encoded = _encoded_column(vals)
            if encoded is None:
                as_repr = True
                break
            values[name] = encoded
    if as_repr:
        values = {name: [repr(v) for v in lists[name]] for name in names}
        arrays = {}
    cells = None
    if axes is not None and not exploration.is_c_order:
        cells = _encode_cells(exploration.cells())
    return {
        "version": VERSION,
        "names": names,
        "axes": None if axes is None else [list(a) for a in axes],
        "n_runs": int(exploration.n_runs),
        "values": values,
        "cells": cells,
        "repr": as_repr,
    }, arrays


def plain(exploration: Any, *, compact: bool = False) -> dict[str, Any]:
    """The plain JSON description ``Exploration.to_dict`` gives (every value inline).

    ``{"names", "columns", "axes"}`` (version 1: every run's values); with ``compact`` a
    grid is ``{"names", "axes", "n_runs", "axis_values", "positions"}`` (``positions``:
    ``None`` in C order, else each run's C-order cell), a run layout as without it.

    Raises
    ------
    TypeError
        A value has no JSON form.
    """
    names = list(exploration.names)
    axes = exploration.axes
    if axes is None:
        columns = {name: _json_column(name, exploration.column(name)) for name in names}
        return {"names": names, "columns": columns, "axes": None}
    lists = _value_lists(exploration)
    values = {name: _json_column(name, lists[name]) for name in names}
    axes_json = [list(axis) for axis in axes]
    if compact:
        return {
            "names": names,
            "axes": axes_json,
            "n_runs": exploration.n_runs,
            "axis_values": {name: values[name] for axis in axes for name in axis},
            "positions": None if exploration.is_c_order else exploration.cells().tolist(),
        }
    columns = {}
    for name in names:
        if set(map(type, values[name])) <= _SHAREABLE_JSON:
            columns[name] = exploration._spread(name, values[name])  # converted once per value
        else:  # mutable JSON (lists): one per run, as a per-run conversion gives
            columns[name] = _json_column(name, exploration._spread(name, lists[name]))
    return {"names": names, "columns": columns, "axes": axes_json}


def _value_lists(exploration: Any) -> dict[str, Sequence]:
    """Per name, the values the description holds: along its axis, or per run."""
    if exploration.axes is None:
        return {name: exploration.column(name) for name in exploration.names}
    lists: dict[str, Sequence] = {}
    for k in range(len(exploration.axes)):
        lists.update(exploration.axis_values(k))
    return lists


def _encoded_column(values: Sequence) -> list[dict[str, Any]] | None:
    """Values of a kind an integration registers (Brian2 quantities) in their stored
    form, ``{"pypetx_encoded": attrs, "data": ...}`` each (what :func:`decode_value`
    reads back); ``None`` for anything else."""
    from pypetx.core.kinds import encode as encode_value, registered_kind

    if not len(values) or registered_kind(values[0]) is None:
        return None
    out = []
    for value in values:
        try:
            data, attrs = encode_value(value)
        except (TypeError, ValueError):
            return None
        if not isinstance(data, np.ndarray):
            return None
        out.append({"pypetx_encoded": attrs, "data": data.tolist()})
    return out


def _encode_cells(cells: np.ndarray) -> list[int] | dict[str, Any]:
    if cells.size <= INLINE_VALUES:
        return cells.tolist()
    delta = np.diff(cells, prepend=np.int64(0)).astype("<i8")
    return {"encoding": "delta-zlib-base64", "size": int(cells.size),
            "data": base64.b64encode(zlib.compress(delta.tobytes(), 6)).decode()}


# --------------------------------------------------------------------------- reading


def decode_value(value: Any) -> Any:
    """An explored value as a description holds it, back as the value it was (a value of
    a registered kind is stored encoded); plain JSON values are returned unchanged."""
    if isinstance(value, Mapping) and "pypetx_encoded" in value:
        from pypetx.core.kinds import decode

        return decode(np.asarray(value["data"]), dict(value["pypetx_encoded"]))
    return value


def read(desc: Mapping[str, Any], arrays: Arrays | None = None) -> Parts:
    """The parts of a stored description (any of the three forms, see the module).

    Referenced arrays come back as lists of Python numbers, encoded values decoded
    (:func:`decode_value`); other values as JSON gives them (tuples and arrays as lists).

    Raises
    ------
    KeyError
        The description refers to an array that ``arrays`` does not hold.
    """
    names = tuple(desc.get("names") or desc["columns"])
    axes = desc.get("axes")
    axes = None if axes is None else tuple(
        (axis,) if isinstance(axis, str) else tuple(axis) for axis in axes)
    if "values" in desc:
        entries, cells, per_run = desc["values"], _decode_cells(desc.get("cells")), False
    elif "axis_values" in desc:
        entries, per_run = desc["axis_values"], False
        cells = None if desc.get("positions") is None else np.asarray(desc["positions"],
                                                                      dtype=np.int64)
    else:
        entries, cells, per_run = desc["columns"], None, axes is not None
    values = {}
    for name in names:
        vals = _value_list(entries[name], arrays)
        values[name] = vals.tolist() if isinstance(vals, np.ndarray) else _decoded(vals)
    return Parts(names, axes, values, cells, per_run, bool(desc.get("repr", False)))


def _decoded(values: Sequence) -> list:
    if len(values) and isinstance(values[0], Mapping) and "pypetx_encoded" in values[0]:
        return [decode_value(v) for v in values]
    return list(values)


def stored_columns(desc: Mapping[str, Any], arrays: Arrays | None = None
                   ) -> dict[str, np.ndarray | list]:
    """Every run's values as stored: name -> numpy array for referenced numeric values,
    else a list of JSON values (encoded values left encoded), in run order.

    What two stored explorations are compared by (resume: the same points, or an
    expansion of them?); to rebuild the exploration use
    :meth:`Exploration.decode <pypetx.core.explore.Exploration.decode>`.
    """
    if "values" not in desc and "axis_values" not in desc:  # version 1: every run's values
        return dict(desc["columns"])
    compact = "values" not in desc
    names = desc["names"]
    entries = desc["axis_values"] if compact else desc["values"]
    lists = {name: _value_list(entries[name], arrays) for name in names}
    axes = desc.get("axes")
    if axes is None:
        return lists
    sizes = tuple(len(lists[axis[0]]) for axis in axes)
    cells = (np.asarray(desc["positions"], dtype=np.int64)
             if compact and desc.get("positions") is not None
             else None if compact else _decode_cells(desc.get("cells")))
    if cells is None:
        cells = np.arange(math.prod(sizes), dtype=np.int64)
    positions = np.unravel_index(cells, sizes)
    out: dict[str, np.ndarray | list] = {}
    for k, axis in enumerate(axes):
        pos = positions[k]
        for name in axis:
            vals = lists[name]
            if isinstance(vals, np.ndarray):
                out[name] = vals[pos]
            else:
                out[name] = list(map(list(vals).__getitem__, pos.tolist()))
    return {name: out[name] for name in names}


def version1(desc: Mapping[str, Any], arrays: Arrays | None = None) -> dict[str, Any]:
    """A stored description (any form) as version 1 ``{"names", "columns", "axes",
    "repr"}``: every run's values as lists of JSON values (see :func:`stored_columns`)."""
    columns = stored_columns(desc, arrays)
    return {
        "names": list(desc.get("names") or columns),
        "columns": {n: c.tolist() if isinstance(c, np.ndarray) else list(c)
                    for n, c in columns.items()},
        "axes": desc.get("axes"),
        "repr": bool(desc.get("repr", False)),
    }


def refers_to_arrays(desc: Mapping[str, Any]) -> bool:
    """Whether reading ``desc`` needs the arrays it refers to."""
    return any(isinstance(v, Mapping) for v in (desc.get("values") or {}).values())


def _decode_cells(cells: Any) -> np.ndarray | None:
    if cells is None:
        return None
    if isinstance(cells, Mapping):
        raw = zlib.decompress(base64.b64decode(cells["data"]))
        return np.cumsum(np.frombuffer(raw, dtype="<i8")).astype(np.int64)
    return np.asarray(cells, dtype=np.int64)


def _value_list(entry: Any, arrays: Arrays | None) -> np.ndarray | Sequence:
    """A value list of a description: the list, or the referenced array."""
    if not isinstance(entry, Mapping):
        return entry
    if arrays is None:
        raise KeyError(f"the exploration refers to coordinate {entry['coord']!r} but no "
                       "arrays were given to read it from")
    if callable(arrays):
        found = arrays(entry)
    elif entry["sha1"] in arrays:
        found = arrays[entry["sha1"]]
    else:  # a Dataset: the coordinate holding the values
        found = arrays[entry["coord"]]
    arr = np.asarray(getattr(found, "values", found))
    return arr.astype(np.dtype(entry["dtype"]), copy=False)
