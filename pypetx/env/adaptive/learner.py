"""python-adaptive learners as a strategy of the ask/tell driver.

A learner's points become keyword points: ``Learner1D`` ``x`` -> ``{"x": x}``,
``Learner2D``/``LearnerND`` tuples -> one keyword per dimension, ``AverageLearner``
seeds -> ``{"seed": s}``, ``BalancingLearner`` ``(i, p)`` -> ``{"learner": i, **p}``;
``DataSaver`` is its inner learner's. A failed point stays pending in the learner
(as adaptive's own runners leave it): it is never asked again and never learned from.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any

from pypetx.env.adaptive.driver import python_value


def default_names(learner: Any) -> tuple[str, ...]:
    """The keyword names of a learner's points (see the module docstring)."""
    import adaptive

    if isinstance(learner, adaptive.DataSaver):
        return default_names(learner.learner)
    if isinstance(learner, adaptive.BalancingLearner):
        inner = {default_names(lrn) for lrn in learner.learners}
        if len(inner) != 1:
            raise TypeError("a BalancingLearner over learners of different point shapes: "
                            "pass names= (\"learner\" first, then the inner point's)")
        return ("learner", *inner.pop())
    if isinstance(learner, adaptive.Learner1D):
        return ("x",)
    if isinstance(learner, adaptive.Learner2D):
        return ("x", "y")
    if isinstance(learner, adaptive.LearnerND):
        ndim = len(learner._bounds_points[0]) if hasattr(learner, "_bounds_points") \
            else len(learner.bounds)
        return ("x", "y", "z")[:ndim] if ndim <= 3 else tuple(f"x{k}" for k in range(ndim))
    if isinstance(learner, adaptive.AverageLearner):
        return ("seed",)
    raise TypeError(f"pypetx.adaptive drives Learner1D, Learner2D, LearnerND, "
                    f"AverageLearner, BalancingLearner and DataSaver, not "
                    f"{type(learner).__name__}")


def _is_average(learner: Any) -> bool:
    import adaptive

    if isinstance(learner, adaptive.DataSaver):
        return _is_average(learner.learner)
    if isinstance(learner, adaptive.BalancingLearner):
        return all(_is_average(lrn) for lrn in learner.learners)
    return isinstance(learner, adaptive.AverageLearner)


def _is_balancing(learner: Any) -> bool:
    import adaptive

    return isinstance(learner, adaptive.BalancingLearner)


class PointCodec:
    """Learner points <-> keyword points."""

    def __init__(self, learner: Any, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self.balancing = _is_balancing(learner)
        inner = self.names[1:] if self.balancing else self.names
        self.scalar = len(inner) == 1
        # Learner1D/2D/ND coordinates are floats even where adaptive gives the integer
        # bounds (the corners): an int first round would make int parameters and results
        # (AverageLearner seeds stay ints).
        self.floats = not _is_average(learner)

    def to_kwargs(self, point: Any) -> dict[str, Any]:
        if self.balancing:
            index, inner = point
            return {self.names[0]: int(index), **self._inner_kwargs(inner, self.names[1:])}
        return self._inner_kwargs(point, self.names)

    def _inner_kwargs(self, point: Any, names: Sequence[str]) -> dict[str, Any]:
        cast = float if self.floats else python_value
        if self.scalar:
            return {names[0]: cast(point)}
        return {n: cast(v) for n, v in zip(names, point)}

    def to_point(self, kwargs: dict[str, Any]) -> Any:
        names = self.names[1:] if self.balancing else self.names
        inner = kwargs[names[0]] if self.scalar else tuple(kwargs[n] for n in names)
        return (kwargs[self.names[0]], inner) if self.balancing else inner


class LearnerCall:
    """The learner's own function, called with keyword points on the workers."""

    def __init__(self, function: Callable[[Any], Any], codec: PointCodec) -> None:
        self.function, self.codec = function, codec
        self.__name__ = getattr(function, "__name__", "result")

    def __call__(self, **point: Any) -> Any:
        return self.function(self.codec.to_point(point))


def make_goal(learner: Any, goal: Callable[[Any], bool] | None, *, loss_goal: float | None,
              npoints_goal: int | None, end_time_goal: datetime.datetime | None,
              duration_goal: datetime.timedelta | float | None) -> Callable[[Any], bool]:
    """The stopping rule, in adaptive's spelling (``adaptive.runner.auto_goal``)."""
    from adaptive.runner import auto_goal

    given = [g for g in (loss_goal, npoints_goal, end_time_goal, duration_goal)
             if g is not None]
    if goal is not None and given:
        raise ValueError("give either goal= or one of loss_goal=, npoints_goal=, "
                         "end_time_goal=, duration_goal=")
    if goal is not None:
        return goal
    if not given:
        raise ValueError("pypetx.adaptive needs a goal: goal=callable(learner) or one of "
                         "loss_goal=, npoints_goal=, end_time_goal=, duration_goal=")
    return auto_goal(loss=loss_goal, npoints=npoints_goal, end_time=end_time_goal,
                     duration=duration_goal, learner=learner, allow_running_forever=False)


class LearnerStrategy:
    """An adaptive learner behind the driver's ask/tell interface."""

    def __init__(self, learner: Any, goal: Callable[[Any], bool],
                 names: Sequence[str] | None = None, *,
                 npoints_goal: int | None = None) -> None:
        self.learner = learner
        self.goal = goal
        # with an npoints goal the last round asks only what is missing (no overshoot)
        self.npoints_goal = npoints_goal
        if npoints_goal is not None and _is_balancing(learner):
            # adaptive's npoints goal of a BalancingLearner holds for each of its learners
            self.npoints_goal = npoints_goal * len(learner.learners)
        self.names = tuple(names) if names is not None else default_names(learner)
        self.codec = PointCodec(learner, self.names)
        self.n_failed = 0

    def ask(self, n: int) -> list[dict[str, Any]]:
        if self.npoints_goal is not None:
            n = max(1, min(n, self.npoints_goal - int(self.learner.npoints)))
        points, _ = self.learner.ask(n, tell_pending=True)
        return [self.codec.to_kwargs(p) for p in points]

    def tell(self, point: dict[str, Any], value: Any) -> None:
        self.learner.tell(self.codec.to_point(point), value)

    def tell_failed(self, point: dict[str, Any]) -> None:
        # Pending forever: the learner does not propose it again (adaptive's runners
        # leave a point that raised the same way).
        self.learner.tell_pending(self.codec.to_point(point))
        self.n_failed += 1

    def done(self) -> bool:
        return bool(self.goal(self.learner))

    def describe(self) -> dict[str, Any]:
        """Points learned, failed and the learner's loss (the progress bar's postfix)."""
        info: dict[str, Any] = {"npoints": int(self.learner.npoints)}
        if self.n_failed:
            info["failed"] = self.n_failed
        try:
            info["loss"] = f"{float(self.learner.loss()):.3g}"
        except (ValueError, TypeError, ZeroDivisionError):  # too few points for a loss
            pass
        return info


__all__ = ["LearnerCall", "LearnerStrategy", "PointCodec", "default_names", "make_goal"]
