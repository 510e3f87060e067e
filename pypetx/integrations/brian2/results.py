"""Brian2 parameters and results: quantities and monitors stored with CF ``units``.

Inside a run, :func:`add_result` records a quantity (magnitudes in a readable unit plus
a ``units`` attribute), a monitor (one variable per recorded array) or a plain value::

    add_result(traj, "rate", rate)                 # 12.5 * Hz -> rate, units "Hz"
    add_result(traj, "spikes", spike_monitor)      # spikes.t (ms), spikes.i, spikes.count
    add_result(traj, "v", state_monitor)           # v.t, v.record, v.v (time x index)
    add_result(traj, "pop", rate_monitor)          # pop.t, pop.rate

Spike trains differ in length from run to run, so ``spikes.t`` and ``spikes.i`` become CF
ragged arrays by themselves: read them with :func:`pypetx.store.ragged.get_ragged`, and
turn any stored variable back into a Quantity with :func:`as_quantity`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from pypetx.integrations.brian2.quantities import display_unit, split_quantity, units_string
from pypetx.compat.leaves import Parameter, Result

__all__ = ["Brian2MonitorResult", "Brian2Parameter", "Brian2Result", "add_result",
           "monitor_items"]

#: One stored variable: (item name, values, units or None, own dims or None).
Item = tuple[str, np.ndarray, "str | None", "tuple[str, ...] | None"]


class Brian2Parameter(Parameter):
    """A parameter that may hold a Brian2 quantity (``10*ms``, an array of quantities).

    Quantities are a pypetx value kind of their own, so a plain ``add_parameter("tau",
    10*ms)`` works too; this class (pypet's name) records a quantity's readable unit as
    ``units``. As in pypet, it holds any other value a parameter holds too (scripts set
    ``traj.v_standard_parameter = Brian2Parameter`` and add equations and sizes with it).
    Explored values must have the same physical dimensions as the default; the run
    function receives real quantities.
    """

    def __init__(self, name: str, value: Any = None, comment: str = "", *,
                 units: str | None = None, kind: str | None = None) -> None:
        from brian2 import Quantity

        if isinstance(value, Quantity):
            if units is None:
                units = units_string(display_unit(value))
            kind = kind or "quantity"
        super().__init__(name, value, comment, units=units, kind=kind)


def _dims_prefix(name: str) -> str:
    return name.replace(".", "_")


def monitor_items(name: str, monitor: Any) -> list[Item]:
    """The arrays of a Brian2 monitor as stored variables below ``name``.

    * ``SpikeMonitor``/``EventMonitor``: ``t`` (ms) and ``i`` (ragged across runs),
      ``count`` per neuron (dim ``<name>_neuron``);
    * ``StateMonitor``: ``t`` (dim ``<name>_time``), ``record`` (``<name>_index``) and one
      ``time x index`` array per recorded variable;
    * ``PopulationRateMonitor``: ``t`` and ``rate`` (Hz) along ``<name>_time``.

    Raises
    ------
    TypeError
        For other objects.
    """
    from brian2 import EventMonitor, PopulationRateMonitor, StateMonitor, ms

    p = _dims_prefix(name)
    if isinstance(monitor, EventMonitor):
        t, t_units = split_quantity(monitor.t, unit=ms)
        items = [(f"{name}.t", t, t_units, None),
                 (f"{name}.i", np.asarray(monitor.i, dtype=np.int32), None, None),
                 (f"{name}.count", np.asarray(monitor.count, dtype=np.int32), None,
                  (f"{p}_neuron",))]
        # SpikeMonitor(variables=[...]): one value per event, like t and i
        for var in getattr(monitor, "record_variables", ()):
            if var not in ("t", "i"):
                values, units = split_quantity(getattr(monitor, var))
                items.append((f"{name}.{var}", np.asarray(values), units, None))
        return items
    if isinstance(monitor, StateMonitor):
        time, index = f"{p}_time", f"{p}_index"
        t, t_units = split_quantity(monitor.t, unit=ms)
        items: list[Item] = [(f"{name}.t", t, t_units, (time,)),
                             (f"{name}.record", np.asarray(monitor.record, dtype=np.int64), None,
                              (index,))]
        for var in monitor.record_variables:
            values, units = split_quantity(getattr(monitor, var))
            # Brian2 holds index x time; time first reads as a time series per neuron.
            items.append((f"{name}.{var}", np.ascontiguousarray(np.asarray(values).T), units,
                          (time, index)))
        return items
    if isinstance(monitor, PopulationRateMonitor):
        from brian2 import Hz

        time = (f"{p}_time",)
        t, t_units = split_quantity(monitor.t, unit=ms)
        rate, r_units = split_quantity(monitor.rate, unit=Hz)
        return [(f"{name}.t", t, t_units, time), (f"{name}.rate", rate, r_units, time)]
    raise TypeError(f"{name}: {type(monitor).__name__} is not a SpikeMonitor, EventMonitor, "
                    "StateMonitor or PopulationRateMonitor")


def _items(name: str, value: Any) -> Iterator[Item]:
    from brian2 import BrianObject, Quantity

    if isinstance(value, BrianObject):
        yield from monitor_items(name, value)
    elif isinstance(value, Quantity):
        values, units = split_quantity(value)
        yield name, values[()] if values.ndim == 0 else values, units, None
    else:
        yield name, value, None, None


def add_result(traj: Any, name: str, value: Any = None, comment: str = "", **items: Any) -> None:
    """Record a Brian2 quantity, a monitor, or a plain value as result(s) of the run.

    Parameters
    ----------
    traj : RunView or Trajectory
        The ``traj`` a run function receives.
    name : str
        Result name (``"spikes"``, ``"monitors.v"``).
    value : Quantity, monitor or object, optional
        What to store; see :func:`monitor_items` for the variables of a monitor.
    comment : str
        Stored as the ``comment`` attribute of every variable.
    **items
        Several named values instead of ``value``: ``add_result(traj, "stats",
        rate=r, cv=cv)`` stores ``stats.rate`` and ``stats.cv``.
    """
    pairs = [(name, value)] if not items else [(f"{name}.{k}", v) for k, v in items.items()]
    for base, val in pairs:
        for item, values, units, dims in _items(base, val):
            kwargs: dict[str, Any] = {"comment": comment} if comment else {}
            if units is not None:
                kwargs["units"] = units
            if dims is not None:
                kwargs["dims"] = dims
            traj.add_result(item, values, **kwargs)


class Brian2Result(Result):
    """A result holding Brian2 quantities, kept with their units in the tree.

    Inside runs, pypet's ``traj.f_add_result(Brian2Result, "v", quantity)`` goes through
    :func:`add_result`, which stores the magnitudes in the cube with a ``units`` attribute.
    """

    IDENTIFIER = "__brn2__"  # pypet's marker: no item name may contain it

    @staticmethod
    def record_in_run(traj: Any, name: str, value: Any = None, comment: str = "",
                      **items: Any) -> None:
        add_result(traj, name, value, comment, **items)


class Brian2MonitorResult(Result):
    """pypet's monitor result, outside of runs: the monitor's arrays as items.

    ``Brian2MonitorResult("spikes", spike_monitor)`` holds ``t`` (ms magnitudes), ``i``
    and ``count``; :attr:`item_units` gives the units of each item. Inside runs use
    :func:`add_result` (``traj.f_add_result(Brian2MonitorResult, "spikes", mon)`` does).
    """

    record_in_run = Brian2Result.record_in_run

    def __init__(self, name: str, monitor: Any = None, comment: str = "", **kwargs: Any) -> None:
        super().__init__(name, comment=comment, **kwargs)
        # plain attributes, not items (assigning a public name adds an item, as in pypet)
        object.__setattr__(self, "item_units", {})
        #: pypet's name of the monitor's class (``"SpikeMonitor"``), None without one
        object.__setattr__(self, "v_monitor_type",
                           None if monitor is None else type(monitor).__name__)
        if monitor is not None:
            for item, values, units, _dims in monitor_items(name, monitor):
                key = item.rpartition(".")[2]
                self._put(key, values)
                self.item_units[key] = units
