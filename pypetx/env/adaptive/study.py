"""An Optuna study as a strategy of the ask/tell driver.

Each round asks the study for trials (``study.ask(space)``, so its sampler chooses the
parameters), the driver runs them on the cluster, and each stored value is told back
(``study.tell``). A failed run is a ``FAIL`` trial. With ``intermediate=`` (a result
holding one value per step, e.g. a learning curve) the values are reported to the trial
step by step and the study's pruner is asked after each: a pruned trial is told
``PRUNED`` (its run has finished by then: the pruner shapes what the study learns and
what it reports, not the run's cost).

On resume a stored point is not one of this study's trials: it is enqueued
(``study.enqueue_trial``) and asked back, so it takes the same path as a new trial
(reports, pruning) and the study's trial ``k`` is the trajectory's run ``k``.
"""

from __future__ import annotations

import datetime
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: The tree result holding the trial history (``results.<RESULT>.state`` etc.).
RESULT = "study"


def as_distribution(name: str, spec: Any) -> Any:
    """An Optuna distribution from ``spec``: a distribution, ``(low, high)`` (float, or
    int when both are ints), ``(low, high, "log")`` or a list of choices."""
    from optuna.distributions import (
        BaseDistribution,
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if isinstance(spec, BaseDistribution):
        return spec
    if isinstance(spec, list):
        return CategoricalDistribution(spec)
    if isinstance(spec, tuple) and len(spec) in (2, 3):
        low, high = spec[:2]
        log = len(spec) == 3 and spec[2] == "log"
        if len(spec) == 3 and not log:
            raise ValueError(f"space {name!r}: the third item of {spec!r} can only be 'log'")
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (low, high)):
            return IntDistribution(int(low), int(high), log=log)
        return FloatDistribution(float(low), float(high), log=log)
    raise TypeError(f"space {name!r}: {spec!r} is no Optuna distribution, (low, high), "
                    f"(low, high, 'log') or list of choices")


def _key(point: Mapping[str, Any], names: Sequence[str]) -> tuple:
    # Stored floats read back exactly (float64), ints as ints: the point itself is the key.
    return tuple(point[n] for n in names)


class StudyStrategy:
    """An Optuna study behind the driver's ask/tell interface.

    Parameters
    ----------
    study : optuna.Study
        Its sampler proposes, its pruner prunes; single- or multi-objective.
    space : mapping
        Parameter name -> distribution (see :func:`as_distribution`).
    n_trials : int, optional
        Stop after this many trials (completed, failed and pruned).
    timeout : float or timedelta, optional
        Stop asking after this long (seconds), counted from the first round.
    objective : str or sequence of str, optional
        The result variable(s) told as the trial's value(s); default: the only one.
    intermediate : str, optional
        A result with one value per step, reported to the trial for pruning.
    """

    def __init__(self, study: Any, space: Mapping[str, Any], *, n_trials: int | None = None,
                 timeout: float | datetime.timedelta | None = None,
                 objective: str | Sequence[str] | None = None,
                 intermediate: str | None = None) -> None:
        if n_trials is None and timeout is None:
            raise ValueError("pypetx.optimize needs n_trials= or timeout= (or both)")
        if not space:
            raise ValueError("pypetx.optimize needs a search space: space={'x': (-5.0, 5.0)}")
        self.study = study
        self.space = {n: as_distribution(n, s) for n, s in space.items()}
        self.names = tuple(self.space)
        self.n_trials = n_trials
        if isinstance(timeout, datetime.timedelta):
            timeout = timeout.total_seconds()
        self.timeout = timeout
        self.objectives = [objective] if isinstance(objective, str) else (
            list(objective) if objective is not None else None)
        if intermediate is not None and self.objectives is None:
            raise ValueError("intermediate= needs objective= (the result told as value)")
        self.intermediate = intermediate
        self._pending: dict[tuple, list[Any]] = {}
        self._start: float | None = None
        #: per told run, in run order: (trial number, state name, value or NaN)
        self.history: list[tuple[int, str, float]] = []

    @property
    def value(self) -> str | list[str] | None:
        """What the driver reads back for each run (its ``value=``)."""
        if self.objectives is None:
            return None
        wanted = [*self.objectives, *([self.intermediate] if self.intermediate else [])]
        return wanted[0] if len(wanted) == 1 else wanted

    # -- the driver's interface ----------------------------------------------------------
    def ask(self, n: int) -> list[dict[str, Any]]:
        if self.n_trials is not None:
            n = min(n, self.n_trials - len(self.history) - self._n_pending())
        points = []
        for _ in range(max(n, 0)):
            trial = self.study.ask(self.space)
            point = {name: trial.params[name] for name in self.names}
            self._pending.setdefault(_key(point, self.names), []).append(trial)
            points.append(point)
        return points

    def tell(self, point: dict[str, Any], value: Any) -> None:
        from optuna.trial import TrialState

        trial = self._trial_of(point)
        objective, curve = self._split(value)
        if curve is not None:
            for step, v in enumerate(np.ravel(np.asarray(curve, dtype=float))):
                if math.isnan(v):
                    continue
                trial.report(float(v), step)
                if trial.should_prune():
                    self.study.tell(trial, state=TrialState.PRUNED)
                    self.history.append((trial.number, "PRUNED", math.nan))
                    return
        if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in objective):
            self.study.tell(trial, state=TrialState.FAIL)
            self.history.append((trial.number, "FAIL", math.nan))
            return
        told = objective[0] if len(objective) == 1 else objective
        self.study.tell(trial, told)
        self.history.append((trial.number, "COMPLETE", float(objective[0])))

    def tell_failed(self, point: dict[str, Any]) -> None:
        from optuna.trial import TrialState

        trial = self._trial_of(point)
        self.study.tell(trial, state=TrialState.FAIL)
        self.history.append((trial.number, "FAIL", math.nan))

    def done(self) -> bool:
        if self._start is None:
            self._start = time.monotonic()
        if self.n_trials is not None and len(self.history) >= self.n_trials:
            return True
        return self.timeout is not None and time.monotonic() - self._start >= self.timeout

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"trials": len(self.history)}
        try:
            if len(self.study.directions) == 1:
                info["best"] = f"{self.study.best_value:.4g}"
        except ValueError:  # no completed trial yet
            pass
        return info

    def record(self, traj: Any) -> None:
        """The trial history as ``results.study`` of the tree: per run the trial number,
        state and value; the best value and parameters; sampler and pruner."""
        number, state, value = (list(c) for c in zip(*self.history)) if self.history \
            else ([], [], [])
        items: dict[str, Any] = {
            "trial": np.asarray(number, dtype=np.int64),
            "state": np.asarray(state, dtype=str) if state else np.zeros(0, dtype="U8"),
            "value": np.asarray(value, dtype=float),
            "sampler": type(self.study.sampler).__name__,
            "pruner": type(self.study.pruner).__name__,
            "directions": ",".join(d.name.lower() for d in self.study.directions),
        }
        best = self._best()
        if best is not None:
            items["best_value"] = float(best.value)
            items["best_params"] = dict(best.params)
        result = traj.get(f"results.{RESULT}", None, shortcuts=False)
        if result is None:
            traj.add_result(RESULT, comment="Optuna trial history (pypetx.optimize)", **items)
        else:
            result.set(**items)

    # -- helpers ---------------------------------------------------------------------------
    def _n_pending(self) -> int:
        return sum(len(v) for v in self._pending.values())

    def _trial_of(self, point: dict[str, Any]) -> Any:
        trials = self._pending.get(_key(point, self.names))
        if trials:
            return trials.pop(0)
        # A stored point (resume): enqueue it and ask it back, so it is this study's trial.
        self.study.enqueue_trial({n: point[n] for n in self.names})
        return self.study.ask(self.space)

    def _split(self, value: Any) -> tuple[list[Any], Any]:
        if isinstance(value, dict):
            objective = [value.get(n) for n in (self.objectives or [])]
            return objective, value.get(self.intermediate) if self.intermediate else None
        return [value], None

    def _best(self) -> Any:
        if len(self.study.directions) != 1:
            return None
        try:
            return self.study.best_trial
        except ValueError:
            return None


__all__ = ["RESULT", "StudyStrategy", "as_distribution"]
