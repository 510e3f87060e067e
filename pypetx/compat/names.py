"""pypet's ``f_``/``v_`` member names as thin mixins over the plain-named core.

The user-facing classes (:mod:`pypetx.compat.trajectory`, :mod:`pypetx.compat.leaves`,
:mod:`pypetx.compat.environment`, :mod:`pypetx.compat.runview`) mix these into the core
classes, so a pypet script calling ``traj.f_add_parameter`` or reading ``traj.v_idx``
works unchanged while the documentation teaches the plain names (``traj.add_parameter``,
``traj.idx``). They live in one module per kind of object; this module gathers them.
"""

from __future__ import annotations

from pypetx.compat.annotations import AnnotationsView
from pypetx.compat.envnames import EnvironmentCompat
from pypetx.compat.leaves import ParameterCompat, ResultCompat
from pypetx.compat.nodes import MISSING, GroupCompat, NodeCompat
from pypetx.compat.trajnames import TrajectoryCompat

__all__ = ["MISSING", "AnnotationsView", "EnvironmentCompat", "GroupCompat", "NodeCompat",
           "ParameterCompat", "ResultCompat", "TrajectoryCompat"]
