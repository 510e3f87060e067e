"""Adaptive sampling on the pypetx engine: a strategy proposes points, the Environment
runs them (batched, journaled, resumable) and the stored values go back to it.

Modules (import them by their full path): ``driver`` (the ask/tell loop), ``learner``
(python-adaptive learners), ``study`` (Optuna studies), ``grid`` (scattered samples onto
a regular grid). The public functions are :func:`pypetx.adaptive`,
:func:`pypetx.optimize` and :func:`pypetx.to_grid` (``pypetx/adaptive_api.py``).
"""
