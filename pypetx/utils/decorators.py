"""pypet's ``pypet.utils.decorators.manual_run``."""

from pypetx.compat.manual import manual_run

__all__ = ["manual_run"]
