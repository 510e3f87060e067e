"""pypet's ``pypet.brian2.parameter``: Brian2 quantities as parameters, monitors as results."""

from __future__ import annotations

from pypetx.integrations.brian2.quantities import get_unit_fast, parse_units
from pypetx.integrations.brian2.results import Brian2MonitorResult, Brian2Parameter, Brian2Result

__all__ = ["Brian2MonitorResult", "Brian2Parameter", "Brian2Result", "get_unit_fast",
           "parse_units"]
