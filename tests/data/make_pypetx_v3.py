"""Write ``pypetx-v3.h5``: a small file in pypetx's format version 3, for the test that
older pypetx files keep opening (tests/test_store_tree_names.py).

Version 3 named the stored values of the ``_tree`` group ``v<i>`` (``v2``, ``v3.data``)
and stored the trajectory ``timestamp`` as a float epoch. The committed file was written
by pypetx at format version 3 (commit d30bc85) with::

    python tests/data/make_pypetx_v3.py tests/data

Trajectory ``sweep``: x in (1, 2, 3) by y in (6.0, 7.0); each run stores ``z = x * y``;
non-explored parameters ``n = 42``, ``label = "cuba"``, ``weights = [0.5, 1.5, 2.5]``
(with comment "synaptic weights"), and ``model.tau = 0.01`` (unit comment "s").
"""

from __future__ import annotations

import sys
from pathlib import Path

import dask.config
import numpy as np

from pypetx import Environment, cartesian_product


def multiply(traj):
    traj.f_add_result("z", traj.x * traj.y, comment="product")


def main(out: Path) -> None:
    with dask.config.set({"pypetx.cluster": "synchronous", "pypetx.progress": False}):
        env = Environment(trajectory="sweep", filename=str(out / "pypetx-v3.h5"),
                          comment="format version 3")
        traj = env.trajectory
        traj.f_add_parameter("x", 1, comment="first factor")
        traj.f_add_parameter("y", 1.0, comment="second factor")
        traj.f_add_parameter("n", 42)
        traj.f_add_parameter("label", "cuba")
        traj.f_add_parameter("weights", np.array([0.5, 1.5, 2.5]), comment="synaptic weights")
        traj.f_add_parameter("model.tau", 0.01, comment="s")
        traj.f_explore(cartesian_product({"x": [1, 2, 3], "y": [6.0, 7.0]}))
        env.run(multiply)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
