"""pypet's ``pypet.brian2`` paths (``from pypetx.brian2.parameter import Brian2Parameter``).

The code lives in :mod:`pypetx.integrations.brian2`; importing this package imports brian2.
"""

from __future__ import annotations

from pypetx.integrations.brian2 import *  # noqa: F403
from pypetx.integrations.brian2 import __all__  # noqa: F401
