"""pypet's ``f_``/``v_`` names of the Environment, as a mixin over the plain core.

:class:`pypetx.compat.environment.Environment` mixes it in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class EnvironmentCompat:
    """pypet environment names: ``v_traj``, ``f_run``, ``f_run_map``, ``v_current_idx``,
    pipelines."""

    @property
    def v_trajectory(self) -> Any:
        return self.trajectory

    v_traj = v_trajectory

    def f_run(self, runfunc: Callable, *args: Any, **kwargs: Any) -> Any:
        return self.run(runfunc, *args, **kwargs)

    def f_run_map(self, runfunc: Callable, *iter_args: Any, **iter_kwargs: Any) -> Any:
        return self.run_map(runfunc, *iter_args, **iter_kwargs)

    def f_add_postprocessing(self, postproc: Callable, *args: Any, **kwargs: Any) -> None:
        self.add_postprocessing(postproc, *args, **kwargs)

    def f_disable_logging(self, remove_all_handlers: bool = True) -> None:
        self.disable_logging()

    @property
    def current_idx(self) -> int:
        """pypet's index of the next run to execute: the runs this environment already
        stored come first (after ``traj.f_expand`` it is the first new run)."""
        ds = self.dataset
        return 0 if ds is None or "completed" not in ds else int(ds["completed"].size)

    v_current_idx = current_idx

    def pipeline(self, pipeline: Callable[[Any], Any]) -> Any:
        """pypet's pipeline: ``pipeline(traj)`` declares the experiment and returns
        ``(runfunc, args, kwargs), (postproc, args, kwargs)``; the runs are then executed
        (see :mod:`pypetx.compat.pipeline`). Returns what ``env.run`` returns."""
        return self._run_pipeline(pipeline, mapped=False)

    def pipeline_map(self, pipeline: Callable[[Any], Any]) -> Any:
        """As :meth:`pipeline`, the run arguments being iterables (as ``run_map``)."""
        return self._run_pipeline(pipeline, mapped=True)

    f_pipeline = pipeline
    f_pipeline_map = pipeline_map

    def _run_pipeline(self, pipeline: Callable[[Any], Any], *, mapped: bool) -> Any:
        from pypetx.compat.pipeline import parse_pipeline

        run, post = parse_pipeline(pipeline(self.trajectory))
        if post is not None:
            self.add_postprocessing(post.fn, *post.args, **(post.kwargs or {}))
        runner = self.run_map if mapped else self.run
        return runner(run.fn, *run.args, **(run.kwargs or {}))
