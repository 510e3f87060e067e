"""Importable sweep functions for tests/test_resume.py (a recorded ``module:function``)."""


def fail_on_y5(traj):
    if traj.y == 5.0:
        raise RuntimeError("y=5 is broken")
    traj.f_add_result("z", traj.x * traj.y)


def fixed(traj):
    traj.f_add_result("z", traj.x * traj.y)
