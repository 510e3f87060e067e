"""pypet compatibility: pypet's names over the pypetx core (see docs/migrating.md)."""
