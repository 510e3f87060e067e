"""Fixtures of the pypet-example tests: a finished multiplication sweep on disk."""

from __future__ import annotations

import pytest

from pypetx import Environment
from pypetx.utils.explore import cartesian_product


def multiply(traj):
    """pypet's first example: z = x * y, one result per run."""
    traj.f_add_result("z", traj.x * traj.y, comment="Result of our simulation!")


@pytest.fixture(scope="module")
def multiplied(tmp_path_factory):
    """(env, filename) of a stored 4 x 3 multiplication sweep (x in 1..4, y in 6..8)."""
    filename = str(tmp_path_factory.mktemp("pypet") / "example_01.hdf5")
    with pytest.warns(DeprecationWarning, match="file_title"):
        env = Environment(trajectory="Multiplication", filename=filename, overwrite_file=True,
                          file_title="Example_01_First_Steps", comment="The first example!",
                          cluster="synchronous")
    traj = env.trajectory
    traj.f_add_parameter("x", 1, comment="I am the first dimension!")
    traj.f_add_parameter("y", 1, comment="I am the second dimension!")
    traj.f_explore(cartesian_product({"x": [1, 2, 3, 4], "y": [6, 7, 8]}))
    env.run(multiply)
    return env, filename
