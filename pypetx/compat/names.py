"""pypet's ``f_``/``v_`` member names as thin mixins over the plain-named core.

The core classes mix these in, so a pypet script calling ``traj.f_add_parameter`` or
reading ``traj.v_idx`` works unchanged while the documentation teaches the plain names
(``traj.add_parameter``, ``traj.idx``). The mixins import nothing from the pypetx core at
module level (the core imports them: that would be a circle). They live in one module
per kind of object; this module gathers them.
"""

from __future__ import annotations

from pypetx.compat.annotations import AnnotationsView
from pypetx.compat.envnames import EnvironmentCompat
from pypetx.compat.leaves import ParameterCompat, ResultCompat
from pypetx.compat.nodes import MISSING, GroupCompat, NodeCompat
from pypetx.compat.trajnames import TrajectoryCompat

__all__ = ["MISSING", "AnnotationsView", "EnvironmentCompat", "GroupCompat", "NodeCompat",
           "ParameterCompat", "ResultCompat", "TrajectoryCompat"]
