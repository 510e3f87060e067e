"""pypet's ``pypet.utils`` paths, kept so ``from pypetx.utils.explore import ...`` works."""
