"""pypet's ``f_``/``v_`` names of parameters and results over the plain core leaves, and
the leaf classes users get (``pypetx.Parameter``, pypet's ``ArrayParameter``, ...).
"""

from __future__ import annotations

from typing import Any

from pypetx.compat.nodes import NodeCompat
from pypetx.core import parameters as core


class MissingItemError(KeyError, AttributeError):
    """A result has no such item (a KeyError in pypetx, an AttributeError in pypet)."""


class ItemList(list):
    """Several items of ``res.f_get("a", "b")``: a list, as in pypet, that also equals the
    tuple of the same values (what pypetx returned before)."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, tuple):
            return tuple(self) == other
        return list.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]


class ParameterCompat(NodeCompat):
    """pypet parameter names."""

    v_is_parameter = True

    def __init__(self, name: str, value: Any = None, comment: str = "", **kwargs: Any) -> None:
        # pypet's constructor sets the value through f_set: a subclass overriding f_set,
        # _set or _convert_data (pypet's examples 5 and 6) sees the value first
        custom = any(getattr(type(self), hook) is not getattr(ParameterCompat, hook)
                     for hook in ("f_set", "_set", "_convert_data"))
        super().__init__(name, None if custom else value, comment, **kwargs)
        if custom and value is not None:
            self.f_set(value)

    def f_get(self) -> Any:
        return self.value

    @property
    def data(self) -> Any:
        """pypet's ``param.data``: the parameter's value (as ``f_get()``)."""
        return self.value

    def f_set(self, value: Any) -> None:
        self._set(value)

    def _set(self, value: Any) -> None:
        self.set(self._convert_data(value))

    def _convert_data(self, value: Any) -> Any:
        """pypet's hook: turns a value into what the parameter keeps (here: itself)."""
        return value

    def f_val_to_str(self) -> str:
        return repr(self.value)

    def __str__(self) -> str:
        # pypet: "<class> <full name> (len:N, `comment`): value"
        extra = ", ".join(filter(None, [
            f"len:{len(self.range)}" if self.is_explored else "",
            f"`{self.comment}`" if self.comment else ""]))
        extra = f" ({extra})" if extra else ""
        return f"{type(self).__name__} {self.full_name}{extra}: {self.f_val_to_str()}"

    def f_get_default(self) -> Any:
        return self.default

    def f_get_range(self, copy: bool = True) -> tuple:
        return tuple(self.range)

    def f_has_range(self) -> bool:
        return self.is_explored

    def f_is_explored(self) -> bool:
        return self.is_explored

    @property
    def v_explored(self) -> bool:
        return self.is_explored

    def f_lock(self) -> None:
        self.lock()

    def f_unlock(self) -> None:
        self.unlock()

    @property
    def v_locked(self) -> bool:
        return self.locked

    def f_is_empty(self) -> bool:
        return self.value is None

    def f_supports(self, data: Any) -> bool:
        from pypetx.core.kinds import kind_of

        try:
            kind_of(data)
        except TypeError:
            return False
        return True

    def f_restore_default(self) -> None:
        self.restore_default()

    def f_get_range_length(self) -> int:
        if not self.is_explored:
            raise TypeError(f"{self.full_name!r} is not explored: it has no range")
        return len(self.range)

    # pypet's hooks for custom parameters: how two values compare (explore, merge, tests)
    def _values_of_same_type(self, val1: Any, val2: Any) -> bool:
        supported = self.f_supports(val1), self.f_supports(val2)
        if supported[0] != supported[1]:
            return False
        if not any(supported):
            raise TypeError(f"{type(self).__name__} supports neither {type(val1).__name__} "
                            f"nor {type(val2).__name__}: it cannot compare their types")
        from pypetx.compat.equality import same_type

        return same_type(val1, val2)

    def _equal_values(self, val1: Any, val2: Any) -> bool:
        supported = self.f_supports(val1), self.f_supports(val2)
        if supported[0] != supported[1]:
            return False
        if not any(supported):
            raise TypeError(f"{type(self).__name__} supports neither {type(val1).__name__} "
                            f"nor {type(val2).__name__}: it cannot compare them")
        from pypetx.compat.equality import values_equal

        return values_equal(val1, val2)


class ResultCompat(NodeCompat):
    """pypet result names: ``res.f_get(0)``, ``res[1]``, ``res["x"] = v``, ``res.x = v``."""

    def f_translate_key(self, key: Any) -> str:
        """pypet's item names: an int ``i`` is the ``i``-th positional item (``name_i``)."""
        if isinstance(key, int):
            name = self.v_name
            return name if key == 0 else f"{name}_{key}"
        return key

    def set(self, *args: Any, **items: Any) -> None:
        # positional items are named after the leaf's own name, also while a free
        # result still carries its path (pypet's Result("group.x", 1) holds x)
        named = {self.f_translate_key(i): value for i, value in enumerate(args)}
        marker = getattr(type(self), "IDENTIFIER", None)
        if marker:  # pypet marks its stored arrays with it: no item may contain it
            clash = [key for key in [*named, *items] if marker in key]
            if clash:
                raise AttributeError(f"item name {clash[0]!r} of {self.full_name!r} contains "
                                     f"{marker!r}, which {type(self).__name__} reserves")
        super().set(**named, **items)

    def f_get(self, *names: Any) -> Any:
        if not names:
            if not self._data:
                raise AttributeError(f"result {self.full_name!r} is empty, cannot access data")
            return self.get()
        keys = [self.f_translate_key(n) for n in names]
        if keys == ["data"] and "data" not in self._data and len(self._data) == 1:
            return self.get()  # pypet: ``data`` names the single item
        missing = [k for k in keys if k not in self._data]
        if missing:
            raise MissingItemError(f"{missing[0]!r} is not part of result {self.full_name!r}")
        values = ItemList(self._data[k] for k in keys)
        return values[0] if len(values) == 1 else values

    def __getitem__(self, name: Any) -> Any:
        if name == "data" and "data" not in self._data and len(self._data) == 1:
            return self.get()  # pypet: ``data`` names the single item
        try:
            return self.get(self.f_translate_key(name))
        except KeyError as err:  # pypet raises AttributeError, pypetx KeyError: both
            raise MissingItemError(*err.args) from None

    def f_val_to_str(self) -> str:
        """``key=repr(value), ...`` of the items, cut to pypet's 64 characters."""
        from pypetx.compat.constants import HDF5_STRCOL_MAX_VALUE_LENGTH as most

        text = ", ".join(f"{key}={value!r}" for key, value in self._data.items())
        return text if len(text) <= most else text[:most - 3] + "..."

    def __str__(self) -> str:
        # pypet: "<class> <full name> (`comment`): key=value, ..."
        comment = f" (`{self.comment}`)" if self.comment else ""
        data = self.f_val_to_str()
        return f"{type(self).__name__} {self.full_name}{comment}{': ' + data if data else ''}"

    def __setitem__(self, name: Any, value: Any) -> None:
        self.set(**{self.f_translate_key(name): value})

    def __setattr__(self, name: str, value: Any) -> None:
        # pypet: assigning a public attribute that is no class attribute sets an item
        if name.startswith("_") or hasattr(type(self), name):
            object.__setattr__(self, name, value)
        else:
            self.set(**{name: value})

    def __iter__(self) -> Any:
        return iter(self._data)

    def __delattr__(self, name: str) -> None:
        if name.startswith("_") or hasattr(type(self), name):
            object.__delattr__(self, name)
        else:
            self.f_remove(name)

    def __contains__(self, name: object) -> bool:
        return self.f_translate_key(name) in self._data

    def __delitem__(self, name: Any) -> None:
        self.f_remove(self.f_translate_key(name))

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._data))

    def f_set(self, *args: Any, **kwargs: Any) -> None:
        self.set(*args, **kwargs)

    def f_set_single(self, name: str, value: Any) -> None:
        self.set(**{name: value})

    def f_to_dict(self, copy: bool = True) -> dict:
        return self.items()

    def f_is_empty(self) -> bool:
        return not self._data

    def f_supports_fast_access(self) -> bool:
        return self.supports_fast_access()

    def f_empty(self) -> None:
        self._data.clear()

    def f_remove(self, *names: str) -> None:
        """Remove items of this result from memory (pypet's ``Result.f_remove``)."""
        for name in names:
            if name not in self._data:
                raise AttributeError(f"result {self.full_name!r} has no item {name!r}")
            del self._data[name]
            self._kinds.pop(name, None)


class Parameter(ParameterCompat, core.Parameter):
    __doc__ = core.Parameter.__doc__


class Result(ResultCompat, core.Result):
    __doc__ = core.Result.__doc__


# pypet's typed leaves: the same classes with the kind fixed.
class ArrayParameter(Parameter):
    """A parameter holding a numpy array (or list/tuple)."""

    IDENTIFIER = "__rr__"  # pypet's marker of stored arrays


class SparseParameter(Parameter):
    """A parameter holding a scipy.sparse matrix."""

    IDENTIFIER = "__spsp__"  # pypet's marker of stored sparse matrices


class PickleParameter(Parameter):
    """A parameter holding any picklable object (stored pickled; loading needs
    ``allow_pickle=True``). ``protocol`` is pypet's pickle protocol (``v_protocol``)."""

    _fixed_kind = "pickle"

    def __init__(self, name: str, value: Any = None, comment: str = "", *,
                 protocol: int = 2, **kwargs: Any) -> None:
        super().__init__(name, value, comment, **kwargs)
        self.v_protocol = protocol


class SparseResult(Result):
    """A result holding scipy.sparse matrices."""

    IDENTIFIER = "__spsp__"  # pypet's marker of stored sparse matrices: no item name has it


class PickleResult(Result):
    """A result whose items are stored pickled (loading needs ``allow_pickle=True``).
    ``protocol`` is pypet's pickle protocol (``v_protocol``)."""

    forced_kind = "pickle"
    v_protocol = 2

    def __init__(self, name: str, *args: Any, protocol: int = 2, **kwargs: Any) -> None:
        object.__setattr__(self, "v_protocol", protocol)
        super().__init__(name, *args, **kwargs)


#: The leaf classes a stored tree names, by class name (see ``NodeClasses.leaves``).
LEAF_CLASSES = {cls.__name__: cls for cls in (
    Parameter, Result, ArrayParameter, SparseParameter, PickleParameter, SparseResult,
    PickleResult)}
