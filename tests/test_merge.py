"""f_merge of two stored trajectories (real sweeps, real files)."""

from __future__ import annotations

import numpy as np
import pytest

from pypetx import Environment, cartesian_product
from pypetx.merge import MergeError


def _spikes(traj):
    traj.f_add_result("z", traj.x * traj.y, comment="product")
    traj.f_add_result("train", np.arange(int(traj.x)) * traj.y)  # ragged: length varies


def _stored(path, name, xs, ys, *, scale=1):
    env = Environment(trajectory=name, filename=str(path), cluster="synchronous",
                      progress=False)
    traj = env.traj
    traj.f_add_parameter("x", 1.0)
    traj.f_add_parameter("y", 1.0)
    traj.f_add_parameter("scale", scale)
    traj.f_explore(cartesian_product({"x": xs, "y": ys}))
    env.run(_spikes)
    return traj


def test_merge_grows_the_grid_and_keeps_results(tmp_path):
    a = _stored(tmp_path / "a.h5", "A", [1.0, 2.0], [5.0, 6.0])
    b = _stored(tmp_path / "b.h5", "B", [3.0], [5.0, 6.0])
    ds = a.f_merge(b) or a.dataset
    assert ds.z.dims == ("x", "y") and ds.z.shape == (3, 2)
    np.testing.assert_array_equal(ds.z.values, [[5, 6], [10, 12], [15, 18]])
    from pypetx.store.ragged import get_ragged

    np.testing.assert_array_equal(get_ragged(ds, "train", x=3.0, y=6.0), [0, 6, 12])
    assert len(a) == 6 and bool(ds.completed.all())


def test_merge_removes_duplicates_on_request(tmp_path):
    a = _stored(tmp_path / "a.h5", "A", [1.0, 2.0], [5.0])
    b = _stored(tmp_path / "b.h5", "B", [2.0, 3.0], [5.0])
    a.merge(b, remove_duplicates=True)
    assert len(a) == 3
    np.testing.assert_array_equal(np.sort(a.dataset.z.values.ravel()), [5, 10, 15])


def test_merge_refuses_different_parameters(tmp_path):
    a = _stored(tmp_path / "a.h5", "A", [1.0], [5.0])
    b = _stored(tmp_path / "b.h5", "B", [2.0], [5.0], scale=2)
    with pytest.raises(MergeError, match=r"parameters.scale: 1 in 'A', 2 in 'B'"):
        a.merge(b)
