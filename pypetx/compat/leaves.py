"""pypet's ``f_``/``v_`` names of parameters and results over the plain core leaves, and
the leaf classes users get (``pypetx.Parameter``, pypet's ``ArrayParameter``, ...).
"""

from __future__ import annotations

from typing import Any

from pypetx.compat.nodes import NodeCompat
from pypetx.core import parameters as core


class ParameterCompat(NodeCompat):
    """pypet parameter names."""

    def f_get(self) -> Any:
        return self.value

    def f_set(self, value: Any) -> None:
        self.set(value)

    def f_val_to_str(self) -> str:
        return repr(self.value)

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


class ResultCompat(NodeCompat):
    """pypet result names."""

    def f_get(self, *names: str) -> Any:
        if not names:
            return self.get()
        values = tuple(self.get(n) for n in names)
        return values[0] if len(values) == 1 else values

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


class SparseParameter(Parameter):
    """A parameter holding a scipy.sparse matrix."""


class PickleParameter(Parameter):
    """A parameter holding any picklable object (stored pickled; loading needs
    ``allow_pickle=True``)."""

    _fixed_kind = "pickle"


class SparseResult(Result):
    """A result holding scipy.sparse matrices."""


class PickleResult(Result):
    """A result whose items are stored pickled (loading needs ``allow_pickle=True``)."""

    forced_kind = "pickle"


#: The leaf classes a stored tree names, by class name (see ``NodeClasses.leaves``).
LEAF_CLASSES = {cls.__name__: cls for cls in (
    Parameter, Result, ArrayParameter, SparseParameter, PickleParameter, SparseResult,
    PickleResult)}
