"""Value kinds: detection, type compatibility and the registry of extra kinds.

See :mod:`pypetx.core.kinds` for the conventions; :mod:`pypetx.core.kinds.codecs` stores values.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = (
    "scalar",
    "string",
    "array",
    "list",
    "tuple",
    "dict",
    "dataframe",
    "series",
    "sparse",
    "pickle",
)

#: scipy.sparse formats stored natively (others: convert, e.g. ``.tocsr()``).
SPARSE_FORMATS = ("csr", "csc", "coo", "bsr", "dia")

# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class KindCodec:
    """A value kind contributed by an integration (e.g. Brian2 quantities).

    Attributes
    ----------
    name : str
        The kind name stored in ``pypetx_kind``.
    detect : callable
        ``detect(value) -> bool``; tried before the built-in kinds.
    encode : callable
        ``encode(value) -> (np.ndarray, attrs)``; ``attrs`` are strings and may hold
        ``units``.
    decode : callable
        ``decode(data, attrs) -> value``.
    check : callable, optional
        ``check(name, default, value)`` raising ``TypeError`` when ``value`` cannot
        replace ``default`` (e.g. other physical dimensions).
    coords : callable, optional
        ``coords(values) -> (1-d np.ndarray, attrs)``: an explored column as a plain
        coordinate (e.g. magnitudes plus a ``units`` attribute).
    """

    name: str
    detect: Callable[[Any], bool]
    encode: Callable[[Any], tuple[np.ndarray, dict]]
    decode: Callable[[Any, dict], Any]
    check: Callable[[str, Any, Any], None] | None = None
    coords: Callable[[Sequence[Any]], tuple[np.ndarray, dict]] | None = None


_REGISTRY: dict[str, KindCodec] = {}
# Integrations that define kinds, imported on first need so that importing pypetx never
# imports them: top-level package of a value's type -> module registering its kind, and
# kind name -> that module (to decode a file written with the integration).
_PROVIDERS = {"brian2": "pypetx.integrations.brian2.quantities"}
_KIND_MODULES = {"quantity": "pypetx.integrations.brian2.quantities"}


def register_kind(codec: KindCodec) -> None:
    """Add (or replace) a value kind; see :class:`KindCodec`."""
    if codec.name in KINDS:
        raise ValueError(f"{codec.name!r} is a built-in kind")
    _REGISTRY[codec.name] = codec


def registered_kind(value: Any) -> KindCodec | None:
    """The kind an integration registered for ``value`` (e.g. Brian2 quantities), or
    ``None`` for built-in kinds; imports the integration's module the first time."""
    package = type(value).__module__.partition(".")[0]
    module = _PROVIDERS.get(package)
    if module is None:
        return None
    if module not in sys.modules:
        import importlib

        importlib.import_module(module)
    for codec in _REGISTRY.values():
        if codec.detect(value):
            return codec
    return None


def _codec(kind: str) -> KindCodec | None:
    if kind not in _REGISTRY and kind in _KIND_MODULES:
        import importlib

        importlib.import_module(_KIND_MODULES[kind])
    return _REGISTRY.get(kind)


def coord_values(values: Sequence[Any]) -> tuple[np.ndarray, dict] | None:
    """An explored column of a registered kind as ``(array, attrs)``, else ``None``."""
    if not len(values):
        return None
    codec = registered_kind(values[0])
    if codec is None or codec.coords is None:
        return None
    return codec.coords(values)


# --------------------------------------------------------------------------- detection


def _pandas():
    """The pandas module if it is already imported (a pandas object implies it is)."""
    return sys.modules.get("pandas")


def _is_sparse(value: Any) -> bool:
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(value)


def _is_number(value: Any) -> bool:
    # Not numbers.Number: Fraction or Decimal would come back as float, a silent change.
    return isinstance(value, (bool, int, float, complex, np.bool_, np.number))


_PICKLE_ADVICE = (
    "to store it pickled, ask for it explicitly with kind='pickle' (or a PickleParameter / "
    "PickleResult)"
)


def _pickle_hint(value: Any) -> str:
    return (
        f"values of type {type(value).__module__}.{type(value).__qualname__} cannot be stored "
        f"as arrays; {_PICKLE_ADVICE}"
    )


def kind_of(value: Any) -> str:
    """The kind of ``value``, one of :data:`KINDS` except ``"pickle"``.

    Parameters
    ----------
    value : object
        A Python or numpy number (``"scalar"``), ``str``/``bytes`` (``"string"``), numpy
        array (``"array"``; 0-d arrays are ``"scalar"`` or ``"string"``), ``list`` or
        ``tuple`` of scalars and strings, flat ``dict`` with ``str`` keys and scalar, string
        or array values, pandas ``DataFrame``/``Series``, or a scipy sparse matrix or array
        in one of :data:`SPARSE_FORMATS`.

    Returns
    -------
    str

    Raises
    ------
    TypeError
        For any other value. Nothing is pickled silently: the message says how to ask for
        ``kind="pickle"``.
    """
    codec = registered_kind(value)
    if codec is not None:
        return codec.name
    if _is_number(value):
        return "scalar"
    if isinstance(value, (str, bytes)):
        return "string"
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "O":
            raise TypeError(
                "numpy arrays of dtype object cannot be stored as arrays; convert them to a "
                "numeric or str dtype, or " + _PICKLE_ADVICE
            )
        if value.dtype.kind == "V":
            raise TypeError("structured numpy arrays are not supported; " + _PICKLE_ADVICE)
        if value.ndim == 0 and value.dtype.kind in "biufcUS":
            return "string" if value.dtype.kind in "US" else "scalar"
        return "array"
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if not (_is_number(item) or isinstance(item, (str, bytes))):
                raise TypeError(
                    f"{type(value).__name__} items must be numbers or strings, item {i} is "
                    f"{type(item).__name__}; use a numpy array for nested numbers, or "
                    + _PICKLE_ADVICE
                )
        return type(value).__name__ if type(value) in (list, tuple) else _raise(value)
    if type(value) is dict:
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"dict keys must be str, got {type(key).__name__} {key!r}")
            try:
                item_kind = kind_of(item)
            except TypeError:
                item_kind = None
            if item_kind not in ("scalar", "string", "array", "list", "tuple"):
                raise TypeError(
                    f"dict values must be numbers, strings, numpy arrays, lists or tuples; key {key!r} holds "
                    f"{type(item).__name__}; " + _PICKLE_ADVICE
                )
        return "dict"
    pd = _pandas()
    if pd is not None:
        if isinstance(value, pd.DataFrame):
            return "dataframe"
        if isinstance(value, pd.Series):
            return "series"
    if _is_sparse(value):
        if value.format not in SPARSE_FORMATS:
            raise TypeError(
                f"sparse format {value.format!r} is not stored natively; convert it with "
                f".tocsr() (stored formats: {', '.join(SPARSE_FORMATS)})"
            )
        return "sparse"
    return _raise(value)


def _raise(value: Any) -> str:
    raise TypeError(_pickle_hint(value))


# --------------------------------------------------------------------------- compatibility

_NUMBER_RANK = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}
_RANK_NAME = {0: "a bool", 1: "an integer", 2: "a float", 3: "a complex number"}


def _number_rank(value: Any) -> int:
    for rank, python_type in enumerate((bool, int, float, complex)):
        if isinstance(value, python_type):  # also ints beyond int64
            return rank
    return _NUMBER_RANK[np.asarray(value).dtype.kind]


def check_compatible(name: str, default: Any, value: Any) -> None:
    """Raise if ``value`` cannot replace ``default`` of parameter ``name``.

    The rules are pypet's "same type" rule, with one widening for numbers:

    * the kinds must be equal (a string cannot replace a number, a list not a tuple);
    * numbers: bool accepts only bool; an integer default accepts integers; a float default
      accepts integers and floats; a complex default any number (no narrowing: ``1.5``
      cannot replace ``1``, and ``True`` is not an integer here);
    * strings: ``str`` and ``bytes`` do not mix;
    * arrays: the same dtype kind (``int`` and ``uint`` count as one); shapes may differ;
    * lists, tuples, dicts, DataFrames, Series and sparse matrices: the same kind (items,
      keys, columns and shapes may differ);
    * a default with no detectable kind (stored pickled) accepts instances of its type.

    Raises
    ------
    TypeError
        Naming the parameter, the value, and what the default expects.
    """
    try:
        expected = kind_of(default)
    except TypeError:
        if not isinstance(value, type(default)):
            raise TypeError(
                f"{name}: value {_short(value)} of type {type(value).__name__} does not match "
                f"the default's type {type(default).__name__}"
            ) from None
        return
    try:
        got = kind_of(value)
    except TypeError as err:
        raise TypeError(f"{name}: value {_short(value)} cannot be explored: {err}") from None
    if got != expected:
        raise TypeError(
            f"{name}: value {_short(value)} ({type(value).__name__}) is of kind {got!r} but "
            f"the default {_short(default)} ({type(default).__name__}) is of kind "
            f"{expected!r}; use values of the default's kind, or change the default"
        )
    codec = _REGISTRY.get(expected)
    if codec is not None:
        if codec.check is not None:
            codec.check(name, default, value)
        return
    if expected == "scalar":
        have, want = _number_rank(value), _number_rank(default)
        if (want == 0) != (have == 0) or have > want:
            raise TypeError(
                f"{name}: value {_short(value)} is {_RANK_NAME[have]} but the default "
                f"{_short(default)} is {_RANK_NAME[want]}; give the parameter "
                f"{_RANK_NAME[have]} default to use such values"
            )
    elif expected == "string":
        if isinstance(np.asarray(value).item(), bytes) != isinstance(
            np.asarray(default).item(), bytes
        ):
            raise TypeError(
                f"{name}: value {_short(value)} and default {_short(default)} mix str and bytes"
            )
    elif expected == "array":
        have, want = np.asarray(value).dtype, np.asarray(default).dtype
        if _NUMBER_RANK.get(have.kind, have.kind) != _NUMBER_RANK.get(want.kind, want.kind):
            raise TypeError(
                f"{name}: array of dtype {have} does not match the default's dtype {want}; "
                "explored arrays need the same kind of dtype (bool, integer, float, complex, "
                "str, ...)"
            )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
