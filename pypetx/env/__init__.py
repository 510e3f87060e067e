"""The environment layer: orchestrating sweeps (Environment, resume, merge), loading and
storing trajectories, and provenance. Builds on the engine, the store and the core."""
