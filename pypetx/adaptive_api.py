"""Adaptive exploration: ``adaptive(fn, learner, loss_goal=...)`` and
``optimize(fn, space=..., n_trials=...)`` -> an xarray Dataset, stored like any sweep.

A python-adaptive learner or an Optuna study chooses the points; pypetx runs them on the
cluster in rounds (each round's points are batched into tasks, journaled as they finish,
failures recorded), and the result is a run layout: a ``run`` dimension in the order
the points were asked, one coordinate per parameter, the result and status variables.
``resume=True`` tells a fresh learner or study every stored point and continues toward
the goal; nothing stored runs again. See docs/adaptive.md.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pypetx.env.adaptive.driver import ALL, DriveOptions, drive
from pypetx.env.adaptive.grid import to_grid
from pypetx.sweep import in_memory, results_file

#: Points per round when not given: enough to batch cheap points into tasks for a few
#: workers, few enough that the strategy chooses from fresh information.
POINTS_PER_ROUND = 16


def _name(fn: Any, name: str | None, default: str) -> str:
    # a trajectory name may not start with "_" (as in sweep())
    return name or getattr(fn, "__name__", default).strip("<>").lstrip("_") or default


def _is_learner(obj: Any) -> bool:
    try:
        from adaptive.learner import BaseLearner
    except ImportError:
        return False
    return isinstance(obj, BaseLearner)


def _run(fn: Callable[..., Any], strategy: Any, *, filename: str | Path | None, name: str,
         value: Any, constants: Mapping[str, Any] | None, points_per_round: int,
         resume: bool, overwrite: bool, progress: bool, callback: Callable | None,
         env_options: dict[str, Any]) -> Any:
    if resume and filename is None:
        raise ValueError("resume=True needs the filename= the points are stored in")
    with results_file(filename, "adaptive") as (path, scratch):
        opts = DriveOptions(filename=str(path), name=name,
                            points_per_round=points_per_round, value=value,
                            constants=constants, resume=resume, overwrite=overwrite,
                            progress=progress, env_options=env_options)
        ds = drive(fn, strategy, opts, on_round=callback)
        if ds is None:
            raise ValueError(f"{name}: the goal was reached before the first point; "
                             f"nothing ran")
        return in_memory(ds) if scratch else ds


def adaptive(fn: Any, learner: Any = None, *, goal: Callable[[Any], bool] | None = None,
             loss_goal: float | None = None, npoints_goal: int | None = None,
             end_time_goal: datetime.datetime | None = None,
             duration_goal: datetime.timedelta | float | None = None,
             filename: str | Path | None = None, name: str | None = None,
             names: Sequence[str] | None = None, value: str | Sequence[str] | None = None,
             constants: Mapping[str, Any] | None = None, cluster: Any = None,
             client: Any = None, executor: Any = None,
             points_per_round: int = POINTS_PER_ROUND, batch_size: int | str = "auto",
             progress: bool = False, resume: bool = False, overwrite: bool = False,
             timeout: float | None = None, callback: Callable[[Any], None] | None = None,
             **env_options: Any) -> Any:
    """Sample ``fn`` where a python-adaptive learner asks, until its goal; the Dataset.

    Parameters
    ----------
    fn : callable or learner
        Called as ``fn(**point, **constants)`` with the point as keywords (``x`` for a
        ``Learner1D``, ``x, y`` for a ``Learner2D``, ``x, y, z`` or ``x0, x1...`` for a
        ``LearnerND``, ``seed`` for an ``AverageLearner``, ``learner`` + the inner
        keywords for a ``BalancingLearner``; ``names=`` renames them); returns what a
        :func:`pypetx.sweep` function returns. Or the learner itself: its own function
        is called the way adaptive calls it (``f(x)``, ``f((x, y))``).
    learner : adaptive learner
        ``Learner1D``, ``Learner2D``, ``LearnerND``, ``AverageLearner``,
        ``BalancingLearner`` or ``DataSaver``; it is told every completed point.
    goal, loss_goal, npoints_goal, end_time_goal, duration_goal
        When to stop, as :func:`adaptive.runner.simple` spells it: a callable of the
        learner, or ``learner.loss() <= loss_goal``, ``learner.npoints >= npoints_goal``,
        a wall-clock end or a duration (seconds or ``timedelta``). Checked between rounds.
    filename : path, optional
        HDF5 (or ``.zarr``) file; without it the Dataset is returned in memory.
    name : str, optional
        Trajectory name (default: the function's name).
    value : str or sequence of str, optional
        The result the learner learns when ``fn`` returns several (a dict); a
        ``DataSaver`` gets every result as a dict.
    constants : mapping, optional
        Fixed keyword arguments of every call.
    cluster, client, executor, batch_size, timeout, **env_options
        As for :class:`pypetx.Environment` (``n_workers``, ``n_jobs``, ``storage``,
        ``dask_config``...). One cluster serves every round.
    points_per_round : int
        Points asked at once: the bound on points in flight. Each round's points are
        batched into tasks (``batch_size``), so cheap points are not one task each.
    progress : bool
        A progress bar of points learned, with the learner's loss.
    resume : bool
        Continue the sweep stored in ``filename``: the learner (pass a fresh one) is told
        every stored point, the runs an interrupted round left undone run, then it goes
        on toward the goal. Nothing stored runs again.
    overwrite : bool
        Replace a sweep of the same name stored in ``filename``.
    callback : callable, optional
        Called with the Environment after every round (``env.dataset`` is the sweep so
        far).

    Returns
    -------
    xarray.Dataset
        A ``run`` dimension (the order the learner asked), the parameters as coordinates,
        the results, ``completed``/``failed`` and the failures. A failed point is recorded
        and never learned from (nor asked again). :func:`pypetx.to_grid` interpolates it
        onto a grid.

    Examples
    --------
    >>> import adaptive, numpy as np, pypetx
    >>> def peak(x, y):
    ...     return np.exp(-((x**2 + y**2 - 0.5) / 0.01) ** 2)
    >>> learner = adaptive.Learner2D(None, bounds=[(-1, 1), (-1, 1)])
    >>> ds = pypetx.adaptive(peak, learner, npoints_goal=200,
    ...                      cluster="synchronous")   # doctest: +SKIP
    """
    from pypetx.env.adaptive.learner import LearnerCall, LearnerStrategy, PointCodec, make_goal

    if learner is None and _is_learner(fn):
        fn, learner = None, fn
    if not _is_learner(learner):
        raise TypeError(f"pypetx.adaptive needs an adaptive learner, not "
                        f"{type(learner).__name__} (pip install 'pypetx[adaptive]')")
    stop = make_goal(learner, goal, loss_goal=loss_goal, npoints_goal=npoints_goal,
                     end_time_goal=end_time_goal, duration_goal=duration_goal)
    strategy = LearnerStrategy(learner, stop, names, npoints_goal=npoints_goal)
    if fn is None:
        if getattr(learner, "function", None) is None:
            raise TypeError("the learner has no function: pass fn= (called with keywords)")
        fn = LearnerCall(learner.function, PointCodec(learner, strategy.names))
    import adaptive as _adaptive

    if isinstance(learner, _adaptive.DataSaver) and value is None:
        value = ALL  # its arg_picker chooses from every result
    options = dict(env_options, cluster=cluster, client=client, executor=executor,
                   batch_size=batch_size, timeout=timeout)
    return _run(fn, strategy, filename=filename,
                name=_name(fn, name, "adaptive"), value=value,
                constants=constants, points_per_round=points_per_round, resume=resume,
                overwrite=overwrite, progress=progress, callback=callback,
                env_options=options)


def optimize(fn: Callable[..., Any], study: Any = None, *, space: Mapping[str, Any],
             n_trials: int | None = None, timeout: float | datetime.timedelta | None = None,
             objective: str | Sequence[str] | None = None, intermediate: str | None = None,
             filename: str | Path | None = None, name: str | None = None,
             constants: Mapping[str, Any] | None = None, cluster: Any = None,
             client: Any = None, executor: Any = None, points_per_round: int = 8,
             batch_size: int | str = "auto", progress: bool = False, resume: bool = False,
             overwrite: bool = False, run_timeout: float | None = None,
             callback: Callable[[Any], None] | None = None, **env_options: Any) -> Any:
    """Optimise ``fn`` with an Optuna study whose trials run on the cluster; the Dataset.

    Parameters
    ----------
    fn : callable
        Called as ``fn(**params, **constants)``; returns the objective (a number) or a
        dict of results (``objective=`` names the one(s) told to the study).
    study : optuna.Study, optional
        Its sampler and pruner are used (default ``optuna.create_study()``: TPE,
        minimise). Pass an in-memory study; the file is the record (``resume``).
    space : mapping
        Parameter -> an Optuna distribution, ``(low, high)`` (int when both are ints),
        ``(low, high, "log")`` or a list of choices.
    n_trials, timeout
        Stop after this many trials (completed, failed and pruned) or this long
        (seconds or ``timedelta``; checked between rounds).
    objective : str or sequence of str, optional
        Result(s) told as the trial's value(s) (a sequence: a multi-objective study).
    intermediate : str, optional
        A result with one value per step (e.g. a loss curve): reported to the trial step
        by step, the pruner asked after each; a pruned trial is told ``PRUNED``.
    points_per_round : int
        Trials asked at once (``study.ask()`` in batches): the bound on trials in flight.
    run_timeout : float, optional
        Seconds one trial's run may take (the Environment's ``timeout``).
    filename, name, constants, cluster, client, executor, batch_size, progress, resume,
    overwrite, callback, **env_options
        As for :func:`adaptive`. On resume every stored run is added to the study.

    Returns
    -------
    xarray.Dataset
        A ``run`` dimension (trial ``k`` is run ``k``), the parameters as coordinates, the
        results and status. With ``filename``, the trial history (state, value, best
        parameters, sampler, pruner) is stored in the tree as ``results.study``
        (``pypetx.load(filename).results.study``).

    Examples
    --------
    >>> import optuna, pypetx
    >>> study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=1))
    >>> ds = pypetx.optimize(lambda x: (x - 2) ** 2, study, space={"x": (-5.0, 5.0)},
    ...                      n_trials=40, cluster="synchronous")  # doctest: +SKIP
    >>> study.best_params                                          # doctest: +SKIP
    {'x': 2.01...}
    """
    try:
        import optuna
    except ImportError:
        raise ImportError("pypetx.optimize needs Optuna: pip install 'pypetx[optuna]'") from None
    from pypetx.env.adaptive.study import StudyStrategy

    if study is None:
        study = optuna.create_study()
    strategy = StudyStrategy(study, space, n_trials=n_trials, timeout=timeout,
                             objective=objective, intermediate=intermediate)
    options = dict(env_options, cluster=cluster, client=client, executor=executor,
                   batch_size=batch_size, timeout=run_timeout)
    return _run(fn, strategy, filename=filename, name=_name(fn, name, "optimize"),
                value=strategy.value, constants=constants,
                points_per_round=points_per_round, resume=resume, overwrite=overwrite,
                progress=progress, callback=callback, env_options=options)


__all__ = ["POINTS_PER_ROUND", "adaptive", "optimize", "to_grid"]
