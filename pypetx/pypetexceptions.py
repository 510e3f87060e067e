"""pypet's ``pypet.pypetexceptions`` under pypetx."""

from pypetx.compat.exceptions import *  # noqa: F403
from pypetx.compat.exceptions import __all__  # noqa: F401
