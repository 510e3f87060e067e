"""pypet's ``pypet.utils.explore``: the builders live in :mod:`pypetx.core.explore`."""

from pypetx.core.explore import cartesian_product, find_unique_points

__all__ = ["cartesian_product", "find_unique_points"]
