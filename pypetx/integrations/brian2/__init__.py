"""Brian2 integration: quantities as parameters, monitors as results, pypet's network
framework, and code generation on Dask workers. See ``docs/brian2.md``.

Importing this package imports brian2.
"""

from __future__ import annotations

from pypetx.integrations.brian2.codegen import use_target, worker_cache_dir
from pypetx.integrations.brian2.network import (
    NetworkAnalyser,
    NetworkComponent,
    NetworkManager,
    NetworkRunner,
    Subrun,
    run_network,
)
from pypetx.integrations.brian2.quantities import as_quantity, parse_units
from pypetx.integrations.brian2.results import (
    Brian2MonitorResult,
    Brian2Parameter,
    Brian2Result,
    add_result,
    monitor_items,
)

__all__ = [
    "Brian2MonitorResult",
    "Brian2Parameter",
    "Brian2Result",
    "NetworkAnalyser",
    "NetworkComponent",
    "NetworkManager",
    "NetworkRunner",
    "Subrun",
    "add_result",
    "as_quantity",
    "monitor_items",
    "parse_units",
    "run_network",
    "use_target",
    "worker_cache_dir",
]
