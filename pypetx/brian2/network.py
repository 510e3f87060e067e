"""pypet's ``pypet.brian2.network``: the component/analyser/runner network framework."""

from __future__ import annotations

from pypetx.integrations.brian2.network import (
    NetworkAnalyser,
    NetworkComponent,
    NetworkManager,
    NetworkRunner,
    Subrun,
    run_network,
)

__all__ = ["NetworkAnalyser", "NetworkComponent", "NetworkManager", "NetworkRunner",
           "Subrun", "run_network"]
