"""Sweep functions of the dashboard tests (no tests here): workers import them by name,
so they live in an importable module (``tests/`` is on the workers' PYTHONPATH)."""

from __future__ import annotations

import time

#: Points (x, y) that raise, and the x whose points are slow.
FAILING = {(3, 1), (5, 4)}
SLOW_X = 6


def flaky(traj):
    """z = x * y; the FAILING points raise, the points at x == SLOW_X take a while."""
    x, y = int(traj.x), int(traj.y)
    if (x, y) in FAILING:
        raise ValueError(f"x={x}, y={y} is unstable")
    if x == SLOW_X:
        time.sleep(float(getattr(traj, "slow", 0.6)))
    traj.f_add_result("z", float(x * y))
    return x * y
