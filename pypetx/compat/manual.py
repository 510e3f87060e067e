"""pypet's manual runs (``manual_run``) and ``MultiprocContext`` on pypetx.

pypet lets a script run points itself, without an Environment: it selects a run
(``traj.v_idx = i``, or a copy from ``traj.f_iter_runs(yields="copy")``), calls a
function decorated with ``@manual_run`` and stores with ``traj.f_store()``. Here the
decorated function runs through the engine's own per-run code (the same ``RunView`` and
result collection as ``env.run``); its results wait in the driver until ``traj.f_store()``
writes them into the cube.

The Dask way to do the same is ``env.run(fn)`` with ``env.add_postprocessing`` expanding
the trajectory (generation after generation, as in an evolutionary algorithm): the runs
then execute on the cluster and are stored as they finish.
"""

from __future__ import annotations

import copy
import functools
import os
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["MultiprocContext", "manual_run", "run_copy"]


def run_copy(traj: Any) -> Any:
    """A copy of ``traj`` at its current run that manual runs can report back from."""
    dataset, traj._dataset = traj._dataset, None
    try:
        twin = copy.deepcopy(traj)
    finally:
        traj._dataset = dataset
    twin._manual_origin = getattr(traj, "_manual_origin", traj)
    twin._manual_pid = os.getpid()
    return twin


def _origin(traj: Any) -> Any:
    origin = getattr(traj, "_manual_origin", None)
    # f_iter_runs stamps the trajectory (and run_copy its copies) with the driver's pid
    if getattr(traj, "_manual_pid", os.getpid()) != os.getpid():
        raise NotImplementedError(
            "a manual_run function received a trajectory copy in another process "
            "(multiprocessing pool); pypetx cannot bring its results back from there. "
            "Call it in this process (map(...) or a thread pool), or let Dask run the "
            "points: env.run(fn) with env.add_postprocessing(...) expanding the trajectory "
            "(see docs/migrating.md)")
    return origin if origin is not None else traj


def manual_run(turn_into_run: bool = True, store_meta_data: bool = True,
               clean_up: bool = True) -> Callable[[Callable], Callable]:
    """Decorate ``fn(traj, *args, **kwargs)`` to run it by hand for the selected run.

    Inside ``env.run`` the function is called as it is. Called with a
    :class:`~pypetx.core.trajectory.Trajectory` whose run is selected, it runs as run
    ``traj.v_idx``: ``traj.f_add_result`` inside records that run's results, which
    ``traj.f_store()`` (outside the function) writes into the file. Exceptions propagate.
    pypet's options are accepted (the run is always isolated and timed).
    """
    del turn_into_run, store_meta_data, clean_up

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(traj: Any, *args: Any, **kwargs: Any) -> Any:
            if not hasattr(traj, "_children"):  # a RunView: executed by env.run already
                return fn(traj, *args, **kwargs)
            return _run_manually(fn, traj, args, kwargs)

        run.__pypetx_manual_run__ = True
        return run

    return decorate


def _run_manually(fn: Callable, traj: Any, args: tuple, kwargs: dict) -> Any:
    from pypetx.engine.task import RunSpec, run_batch

    origin = _origin(traj)
    if traj.idx < 0:
        raise ValueError(f"select a run of {traj.name!r} before a manual run "
                         "(traj.v_idx = i, or iterate traj.f_iter_runs(yields='copy'))")
    outcome: dict[str, Any] = {}

    def call(view: Any, *a: Any, **kw: Any) -> None:
        try:
            outcome["value"] = fn(view, *a, **kw)
        except BaseException as exc:  # re-raised below, with its traceback
            outcome["error"] = exc
            raise

    spec = RunSpec(token=uuid.uuid4().hex, skeleton=traj, fn=call, args=args, kwargs=kwargs)
    traj._manual_run = True  # traj.f_store() inside the function is a no-op
    try:
        batch = run_batch(spec, np.array([traj.idx], dtype=np.int64))
    finally:
        traj._manual_run = False
    if "error" in outcome:
        raise outcome["error"]
    origin.add_pending_batch(batch)  # written by the next traj.f_store()
    return outcome.get("value")


class MultiprocContext:
    """pypet's context for storing from several processes: not needed on pypetx.

    Accepted so scripts run unchanged; ``f_start``/``f_finalize`` do nothing. Manual runs
    collect their results in the driver process and ``traj.f_store()`` writes them.
    """

    def __init__(self, trajectory: Any = None, wrap_mode: str | None = None,
                 full_copy: Any = None, manager: Any = None, use_manager: bool = True,
                 lock: Any = None, queue: Any = None, queue_maxsize: int = 0,
                 port: Any = None, timeout: Any = None, gc_interval: Any = None,
                 log_config: Any = None, log_stdout: bool = False,
                 graceful_exit: bool = False) -> None:
        self.trajectory = trajectory
        warnings.warn(
            "MultiprocContext has no effect in pypetx: runs store through the driver "
            "(see docs/migrating.md)", DeprecationWarning, stacklevel=2)

    def f_start(self) -> None:
        """Nothing to start."""

    def f_finalize(self) -> None:
        """Nothing to finalize."""

    start = f_start
    finalize = f_finalize

    def __enter__(self) -> MultiprocContext:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None
