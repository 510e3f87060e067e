"""Per-run arguments that must reach the workers: DEAP individuals as their plain data.

pypet's DEAP examples hand DEAP individuals to ``env.run_map``. Their classes are made at
run time by ``deap.creator`` and pickle through DEAP's own class reducer, which cannot
rebuild them in another interpreter (a metaclass conflict); pypet pickled them with
``pickle``, which refers to the class by name instead. So each individual travels as the
data it holds, in the type DEAP built it on (``list``, ``array.array``, ``numpy.ndarray``...):
what the evaluation functions of the examples read (``sum(individual)``,
``list(individual)``); the fitness stays in the driver, where DEAP sets it.
"""

from __future__ import annotations

from typing import Any

_CREATOR = "deap.creator"


def portable(value: Any) -> Any:
    """``value``, or its data in its DEAP base type when its class was made by DEAP's
    ``creator``."""
    cls = type(value)
    if cls.__module__ != _CREATOR:
        return value
    base = next(b for b in cls.__mro__[1:] if b.__module__ != _CREATOR)
    import array

    import numpy as np

    if issubclass(base, np.ndarray):
        return np.array(value)
    if issubclass(base, array.array):
        return array.array(value.typecode, value)
    try:
        return base(value)
    except TypeError:  # a base that cannot be built from its own instances
        return value
