"""The trajectory users get: the plain core, its file operations, and pypet's names.

``pypetx.Trajectory`` (and pypet's ``Trajectory``) is :class:`Trajectory` here. It builds
its groups, leaves and run views from the classes with pypet's names (its
``node_classes`` table), so every node of its tree answers ``f_get``, ``v_name``, ...
"""

from __future__ import annotations

from typing import Any

from pypetx.compat.leaves import LEAF_CLASSES, Parameter, Result
from pypetx.compat.nodes import GroupCompat, NodeCompat
from pypetx.compat.runview import RunView
from pypetx.compat.trajnames import TrajectoryCompat
from pypetx.core import trajectory as core
from pypetx.core.trajectory import NodeClasses, run_name
from pypetx.core.tree import Group, Leaf
from pypetx.env.stored import StorageMethods

__all__ = ["NNGroupNode", "NNLeafNode", "ParameterGroup", "ResultGroup", "Trajectory",
           "run_name"]


class ParameterGroup(GroupCompat, core.ParameterGroup):
    """A group below ``parameters``/``derived_parameters``/``config``."""


class ResultGroup(GroupCompat, core.ResultGroup):
    """A group below ``results``."""


class NNGroupNode(GroupCompat, Group):
    """pypet's generic group node (``NNGroupNode(name, comment)``); also the groups added
    on the trajectory outside the four top groups."""

    @classmethod
    def _group_class(cls) -> type[Group]:
        return cls


class NNLeafNode(NodeCompat, Leaf):
    """pypet's base of leaves (subclass :class:`Parameter` or :class:`Result` instead)."""


class Trajectory(TrajectoryCompat, StorageMethods, core.Trajectory):
    __doc__ = core.Trajectory.__doc__

    node_classes = NodeClasses(
        parameter_group=ParameterGroup, result_group=ResultGroup, parameter=Parameter,
        result=Result, leaves=LEAF_CLASSES, run_view=RunView)

    @classmethod
    def _group_class(cls) -> type[Group]:
        return NNGroupNode

    @classmethod
    def from_records(cls, records: Any, attrs: Any) -> Any:
        # a stored tree may link in cycles (pypet's f_add_link allows them)
        from pypetx.compat.nodes import REBUILDING

        token = REBUILDING.set(True)
        try:
            return super().from_records(records, attrs)
        finally:
            REBUILDING.reset(token)

    @property
    def crun(self) -> str:
        """Name of the current run (``run_ALL`` when none); pypet scripts also read the
        run's results through it (``traj.crun.z``, see :mod:`pypetx.compat.runresults`)."""
        if self._dataset is None:
            return run_name(self._idx)
        from pypetx.compat.runresults import RunName

        return RunName(run_name(self._idx), self)

    # -- results and status of all runs (pypetx.compat.runinfo) ----------------------------
    def get_from_runs(self, name: str, *, use_indices: bool = False,
                      fast_access: bool = True) -> dict:
        """Result ``name`` of every completed run: run name (or index) -> value."""
        from pypetx.compat.runinfo import get_from_runs

        return get_from_runs(self, name, use_indices=use_indices, fast_access=fast_access)

    def run_information(self, name_or_idx: int | str | None = None) -> dict:
        """Status of a run (or of all runs): completed, failed, runtime, worker, error."""
        from pypetx.compat.runinfo import run_information

        return run_information(self, name_or_idx)

    def is_completed(self, name_or_idx: int | str | None = None) -> bool:
        """Whether run ``name_or_idx`` (default: every run) completed."""
        from pypetx.compat.runinfo import is_completed

        return is_completed(self, name_or_idx)
