"""Typed leaves: parameters (inputs) and results (outputs).

A :class:`Parameter` holds one value of one *kind* (see :mod:`pypetx.core.kinds`) with a
default, a comment and optional units; it is locked once runs start. A :class:`Result`
holds one or several named values. Plain names only: the classes users get
(``pypetx.Parameter``, pypet's ``ArrayParameter``, ``PickleResult``, ...) are subclasses
in :mod:`pypetx.compat.leaves` that add pypet's ``f_``/``v_`` names.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from pypetx.base.errors import ParameterLockedError
from pypetx.core.tree import Leaf


def _kind_of(value: Any) -> str:
    from pypetx.core.kinds import kind_of  # kinds imports pandas/scipy lazily itself

    return kind_of(value)


class Parameter(Leaf):
    """An input of the simulation.

    Parameters
    ----------
    name : str
        Node name (one path component).
    value : object
        The default value; its kind (scalar, string, array, list, tuple, dict, DataFrame,
        Series, sparse matrix) is detected, or must be given as ``kind="pickle"``.
    comment : str
        Human description, stored with the parameter.
    units : str, optional
        Units of the value (stored as the ``units`` attribute).
    kind : str, optional
        Force a kind; ``"pickle"`` is the only way to store arbitrary objects.
    """

    _fixed_kind: str | None = None  # a subclass may fix the kind (pypet's PickleParameter)

    def __init__(self, name: str, value: Any = None, comment: str = "", *,
                 units: str | None = None, kind: str | None = None) -> None:
        super().__init__(name, comment)
        self._kind = kind or type(self)._fixed_kind or (_kind_of(value) if value is not None else None)
        self._default = value
        self._value = value
        self._units = units
        self._locked = False
        self._range: list | None = None

    # -- value ------------------------------------------------------------------------
    @property
    def value(self) -> Any:
        """The current value: the default, or the explored value of the current run."""
        return self._value

    @value.setter
    def value(self, value: Any) -> None:
        self.set(value)

    def set(self, value: Any) -> None:
        """Set the default value (refused once the parameter is locked or explored)."""
        if self._locked:
            raise ParameterLockedError(
                f"parameter {self.full_name!r} is locked (runs have started or it was locked "
                f"explicitly); call unlock() first if you really mean to change it"
            )
        if self._range is not None:
            raise ParameterLockedError(
                f"parameter {self.full_name!r} is explored; change its values with "
                f"explore()/expand(), not by assignment"
            )
        if self._kind is None and value is not None:
            self._kind = _kind_of(value)
        elif self._kind != "pickle" and value is not None:
            from pypetx.core.kinds import check_compatible

            if self._default is not None:
                check_compatible(self.full_name, self._default, value)
                value = _keep_number_type(self._default, value)
        self._default = value
        self._value = value

    @property
    def default(self) -> Any:
        return self._default

    @property
    def kind(self) -> str | None:  # type: ignore[override]
        return self._kind

    @property
    def units(self) -> str | None:
        return self._units

    # -- exploration ------------------------------------------------------------------
    @property
    def is_explored(self) -> bool:
        return self._range is not None

    @property
    def range(self) -> list:
        """Explored values, one per run (empty tuple semantics: error when not explored)."""
        if self._range is None:
            raise TypeError(f"parameter {self.full_name!r} is not explored")
        return self._range

    def _set_current(self, value: Any) -> None:
        self._value = value

    def restore_default(self) -> None:
        self._value = self._default

    def _fast_value(self) -> Any:
        return self._value

    # -- locking ----------------------------------------------------------------------
    @property
    def locked(self) -> bool:
        return self._locked

    def lock(self) -> None:
        self._locked = True

    def unlock(self) -> None:
        self._locked = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.full_name}={self._value!r}>"


class Result(Leaf):
    """An output of the simulation: one value or several named values.

    ``Result("z", 42)`` holds one item named ``z``; ``Result("stats", mean=1.0, std=0.1)``
    holds two.
    """

    def __init__(self, name: str, *args: Any, comment: str = "", units: str | None = None,
                 dims: tuple[str, ...] | None = None, kind: str | None = None,
                 **items: Any) -> None:
        super().__init__(name, comment)
        self._data: dict[str, Any] = {}
        self._kinds: dict[str, str] = {}
        self._units = units
        self._dims = tuple(dims) if dims is not None else None
        self._forced_kind = kind or getattr(type(self), "forced_kind", None)
        self.set(*args, **items)

    def set(self, *args: Any, **items: Any) -> None:
        """Add items: positional values are named after the result (``z``, ``z_1``...)."""
        for i, value in enumerate(args):
            self._put(self.name if i == 0 else f"{self.name}_{i}", value)
        for key, value in items.items():
            self._put(key, value)

    def _put(self, key: str, value: Any) -> None:
        kind = self._forced_kind
        if kind is None and not _is_dataarray(value):
            kind = _kind_of(value)
        self._data[key] = value
        self._kinds[key] = kind or "dataarray"

    def get(self, name: str | None = None) -> Any:
        """One item's value; with no name, the single item (error when several)."""
        if name is None:
            if len(self._data) != 1:
                raise ValueError(
                    f"result {self.full_name or self.name!r} holds {sorted(self._data)}; "
                    f"say which one"
                )
            return next(iter(self._data.values()))
        try:
            return self._data[name]
        except KeyError:
            raise KeyError(
                f"result {self.full_name or self.name!r} has no item {name!r}; "
                f"it has {sorted(self._data)}"
            ) from None

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.__dict__["_data"][name]
        except KeyError:
            raise AttributeError(
                f"result {self._name!r} has no item {name!r}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def items(self) -> dict[str, Any]:
        return dict(self._data)

    @property
    def kinds(self) -> dict[str, str]:
        return dict(self._kinds)

    @property
    def units(self) -> str | None:
        return self._units

    @property
    def dims(self) -> tuple[str, ...] | None:
        return self._dims

    def _fast_value(self) -> Any:
        return self._data[self.name] if self.supports_fast_access() else self

    def supports_fast_access(self) -> bool:
        """True when the result holds exactly one item named like itself (pypet's rule)."""
        return len(self._data) == 1 and self.name in self._data

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.full_name} {sorted(self._data)}>"


def _keep_number_type(default: Any, value: Any) -> Any:
    """``value`` as the type of a number ``default`` (``2`` set on a ``1.0`` default is
    ``2.0``), so that assignments never narrow the declared type."""
    if isinstance(default, (numbers.Number, np.generic)) and type(value) is not type(default):
        return type(default)(value)
    return value


def _is_dataarray(value: Any) -> bool:
    return type(value).__name__ == "DataArray" and hasattr(value, "dims")
