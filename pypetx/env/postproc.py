"""What a post-processing function's return value asks the Environment to do.

A post-processing function (``env.add_postprocessing``) may return a dict to expand the
trajectory with (the new points then run), or, as in pypet, a tuple ``(expand_dict, args,
kwargs, postproc_args, postproc_kwargs)`` that also replaces the arguments of the
following runs and calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["PostprocOutcome", "postproc_outcome"]


@dataclass(frozen=True)
class PostprocOutcome:
    """What a post-processing function asked for by its return value."""

    expand: Mapping[str, Any] | None = None
    args: tuple | None = None
    kwargs: Mapping[str, Any] | None = None
    postproc_args: tuple | None = None
    postproc_kwargs: Mapping[str, Any] | None = None


def postproc_outcome(value: Any) -> PostprocOutcome:
    """Read a post-processing function's return value as pypet does (None: nothing)."""
    if value is None:
        return PostprocOutcome()
    if isinstance(value, Mapping):
        return PostprocOutcome(expand=value or None)
    if isinstance(value, tuple) and 1 <= len(value) <= 5:
        parts = [*value, *([None] * (5 - len(value)))]
        expand, args, kwargs, pargs, pkwargs = parts
        return PostprocOutcome(expand or None, None if args is None else tuple(args),
                               kwargs, None if pargs is None else tuple(pargs), pkwargs)
    raise TypeError(f"a post-processing function returned {type(value).__name__}; return "
                    "None, a dict to expand the trajectory with, or (expand_dict, args, "
                    "kwargs, postproc_args, postproc_kwargs)")
