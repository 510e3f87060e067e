"""pypet's ``pypet.pypetconstants`` under pypetx (``from pypetx import pypetconstants``)."""

from pypetx.compat.constants import *  # noqa: F403
from pypetx.compat.constants import __all__  # noqa: F401
