"""Brian2 quantities as a pypetx value kind (``"quantity"``) and as CF ``units``.

Parameter values in the tree are stored exactly: SI magnitudes with the SI ``units``
string (``"m^2 kg s^-3 A^-1"`` for volts, which CF/udunits reads), plus the unit the
value was shown in (``pypetx_display_units``). User-facing variables (explored
coordinates, results) use a readable unit instead (``"ms"``, ``"mV"``): magnitudes in that
unit with a ``units`` attribute. :func:`as_quantity` turns either back into a Quantity.

This module is imported by :mod:`pypetx.core.kinds` the first time it meets a value whose type
comes from brian2, so users need not import it.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

import numpy as np

from pypetx.core.kinds import KindCodec, register_kind

__all__ = ["as_quantity", "display_unit", "parse_units", "preferred_unit", "split_quantity",
           "units_string"]

# SI base symbols as Brian2 prints dimensions (str(q.dim)) -> Brian2 unit names.
_BASE = {"m": "metre", "kg": "kilogram", "s": "second", "A": "amp", "K": "kelvin",
         "mol": "mole", "cd": "candela"}
#: Significant digits kept for explored coordinates, so 7*ms is 7.0 (not 7.000000000000001)
#: and ``ds.sel(tau=7)`` finds it.
COORD_DIGITS = 12


def _is_quantity(value: Any) -> bool:
    from brian2 import Quantity

    return isinstance(value, Quantity)


def display_unit(q: Any) -> Any:
    """The unit a quantity reads best in: a named Brian2 unit (``ms``), else SI."""
    from brian2 import Unit
    from brian2.units.fundamentalunits import get_unit

    best = q.get_best_unit()
    return best if isinstance(best, Unit) else get_unit(q.dim)


def units_string(unit: Any) -> str:
    """A unit as CF/udunits text: ``"ms"``, ``"mV"``, ``"1"``; compound SI units as
    ``"m^2 kg s^-4 A^-1"``."""
    from brian2.core.namespace import DEFAULT_UNITS

    text = str(unit)
    if text in DEFAULT_UNITS or text == "1":
        return text
    return str(unit.dim) or "1"


def _safe_eval(node: ast.AST, names: dict[str, Any]) -> Any:
    # Only unit names, numbers and * / ** : a units attribute from a file must not run code.
    if isinstance(node, ast.Expression):
        return _safe_eval(node.body, names)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_safe_eval(node.operand, names)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div, ast.Pow)):
        a, b = _safe_eval(node.left, names), _safe_eval(node.right, names)
        return a * b if isinstance(node.op, ast.Mult) else a / b if isinstance(node.op, ast.Div) \
            else a**b
    raise ValueError(f"not a unit expression: {ast.dump(node)}")


def parse_units(text: str) -> Any:
    """The Brian2 unit (or unit quantity) of a ``units`` string.

    Accepts Brian2 unit names (``"ms"``, ``"mV/ms"``, ``"siemens * metre ** -2"``), CF/SI
    products (``"m^2 kg s^-3 A^-1"``) and ``"1"``/``""`` (dimensionless).

    Raises
    ------
    ValueError
        For text that is not a unit expression (nothing is evaluated beyond unit names,
        numbers, ``*``, ``/`` and ``**``).
    """
    from brian2 import Quantity
    from brian2.core.namespace import DEFAULT_UNITS

    text = (text or "").strip()
    if text in ("", "1"):
        return Quantity(1.0)
    if text in DEFAULT_UNITS:
        return DEFAULT_UNITS[text]
    tokens = text.split()
    if all(t.partition("^")[0] in _BASE for t in tokens):  # CF: "m^2 kg s^-3 A^-1"
        out = Quantity(1.0)
        for t in tokens:
            sym, _, exp = t.partition("^")
            out = out * DEFAULT_UNITS[_BASE[sym]] ** (int(exp) if exp else 1)
        return out
    return _safe_eval(ast.parse(text.replace("^", "**"), mode="eval"), DEFAULT_UNITS)


def get_unit_fast(x: Any) -> Any:
    """pypet's ``get_unit_fast``: a quantity of value 1 with the dimensions of ``x``."""
    from brian2.units.fundamentalunits import Quantity, get_dimensions

    return Quantity.with_dimensions(1, get_dimensions(x))


def preferred_unit(q: Any) -> Any:
    """The unit results of ``q``'s physical dimension are stored in.

    It depends on the dimension only, never on the value: every run of a sweep stores a
    result in the same unit (a per-value "best unit" could give kHz in one run and Hz in
    another under one ``units`` attribute). Neuroscience's usual units (ms, mV, nA, nS,
    pF, Hz, um, Mohm) where they apply, else SI.
    """
    import brian2
    from brian2.units.fundamentalunits import get_dimensions, get_unit

    dim = get_dimensions(q)
    for name in ("ms", "mV", "nA", "nS", "pF", "Hz", "um", "Mohm"):
        unit = getattr(brian2, name)
        if unit.dim == dim:
            return unit
    return get_unit(dim)


def split_quantity(value: Any, *, unit: Any = None) -> tuple[np.ndarray, str | None]:
    """``(magnitude array, units string)`` of a quantity in ``unit`` (default:
    :func:`preferred_unit`); plain values pass through with ``None`` units."""
    from brian2.core.variables import VariableView

    if isinstance(value, VariableView):  # monitor.t, group.v: a view, not yet a Quantity
        value = value[:]
    if not _is_quantity(value):
        return np.asarray(value), None
    unit = preferred_unit(value) if unit is None else unit
    if units_string(unit) == (str(unit.dim) or "1"):  # SI: Brian2 holds the magnitudes
        return np.asarray(value, dtype=np.float64), units_string(unit)
    return np.asarray(value / unit, dtype=np.float64), units_string(unit)


def as_quantity(data: Any, units: str | None = None) -> Any:
    """A stored variable (``xarray.DataArray``, array) as a Brian2 Quantity.

    Parameters
    ----------
    data : xarray.DataArray or array-like
        Magnitudes; a DataArray's ``units`` attribute is used when ``units`` is not given.
    units : str, optional
        The units string (see :func:`parse_units`).

    Returns
    -------
    brian2.Quantity
    """
    if units is None:
        units = getattr(data, "attrs", {}).get("units", "1")
    values = np.asarray(getattr(data, "values", data))
    return values * parse_units(units)


# --------------------------------------------------------------------------- the kind


def _encode(value: Any) -> tuple[np.ndarray, dict[str, str]]:
    # Exact: SI magnitudes (what Brian2 holds internally), SI units; the readable unit is
    # kept so repr/rebuild can show 10. * msecond again.
    return (np.array(np.asarray(value), dtype=np.float64),
            {"units": str(value.dim) or "1", "pypetx_display_units": units_string(display_unit(value)),
             "pypetx_shape": "scalar" if np.ndim(value) == 0 else "array"})


def _decode(data: Any, attrs: dict) -> Any:
    from brian2 import Quantity
    from brian2.units.fundamentalunits import get_dimensions

    unit = parse_units(str(attrs.get("units", "1")))
    values = np.asarray(data, dtype=np.float64)
    if attrs.get("pypetx_shape") == "scalar":
        values = values.reshape(())
    return Quantity(values, dim=get_dimensions(unit))


def _check(name: str, default: Any, value: Any) -> None:
    from brian2.units.fundamentalunits import get_dimensions

    if not _is_quantity(value):
        raise TypeError(f"{name}: value {value!r} has no units but the default {default!r} "
                        "is a Brian2 quantity; give it units")
    if get_dimensions(value) != get_dimensions(default):
        raise TypeError(f"{name}: value {value!r} has dimensions {get_dimensions(value)} but "
                        f"the default {default!r} has {get_dimensions(default)}")


def _coords(values: Sequence[Any]) -> tuple[np.ndarray, dict[str, str]] | None:
    from brian2 import Quantity

    if any(np.ndim(v) != 0 for v in values):
        return None  # arrays of quantities per run: the generic repr coordinate
    column = Quantity(list(values))
    unit = display_unit(column)
    mags = np.asarray(column / unit, dtype=np.float64)
    rounded = np.array([float(f"{m:.{COORD_DIGITS}g}") for m in mags])
    return rounded, {"units": units_string(unit)}


register_kind(KindCodec("quantity", _is_quantity, _encode, _decode, check=_check,
                        coords=_coords))
