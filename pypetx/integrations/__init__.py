"""Optional integrations: Brian2, DEAP, Sumatra (git provenance is in :mod:`pypetx.env.provenance`).

Each submodule imports its package lazily; importing :mod:`pypetx` or this package never
imports brian2, deap or sumatra.
"""
