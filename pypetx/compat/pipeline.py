"""pypet's pipelines and post-processing return values.

A pipeline (``env.pipeline(fn)``) is a function of the trajectory that declares the
whole experiment and returns what to run: ``(runfunc, args, kwargs), (postproc,
postproc_args, postproc_kwargs)``, or only the first tuple, or ``runfunc`` alone.

A post-processing function's return value (a dict to expand the trajectory with, or a
tuple that also replaces arguments) is read by :func:`pypetx.env.postproc.postproc_outcome`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pypetx.env.postproc import PostprocOutcome, postproc_outcome

__all__ = ["Call", "PostprocOutcome", "parse_pipeline", "postproc_outcome"]


@dataclass(frozen=True)
class Call:
    """A function with its positional and keyword arguments."""

    fn: Callable
    args: tuple = ()
    kwargs: Mapping[str, Any] | None = None


def _call(parts: Any, what: str) -> Call:
    if callable(parts):
        return Call(parts)
    parts = tuple(parts)
    if not 1 <= len(parts) <= 3 or not callable(parts[0]):
        raise RuntimeError(f"the pipeline's {what} is not understood: give (function, args, "
                           f"kwargs) with at most three entries, got {parts!r}")
    return Call(parts[0], tuple(parts[1]) if len(parts) > 1 else (),
                dict(parts[2]) if len(parts) > 2 else {})


def parse_pipeline(result: Any) -> tuple[Call, Call | None]:
    """(run call, post-processing call or None) from a pipeline's return value.

    Raises
    ------
    RuntimeError
        ``result`` is None (nothing to run) or not one of pypet's forms.
    """
    if result is None:
        raise RuntimeError("the pipeline returned None: return the run function, e.g. "
                           "(runfunc, args, kwargs), (postproc, args, kwargs)")
    if callable(result):
        return Call(result), None
    if len(result) == 2 and all(isinstance(r, tuple) for r in result):
        post = _call(result[1], "post-processing") if result[1] else None
        return _call(result[0], "run function"), post
    return _call(result, "run function"), None
