"""pypet's names on the per-run view (``traj.f_add_result``, ``traj.v_idx``, ...).

The engine builds the run view class that the trajectory's ``node_classes`` table names;
pypetx's user-facing trajectory names :class:`RunView` here. The names are class
attributes bound to the plain methods, so the per-run path costs what the plain one does.
"""

from __future__ import annotations

from typing import Any

from pypetx.core import parameters as core
from pypetx.engine import runview as plain
from pypetx.engine.runview import result_variable

__all__ = ["RunView", "result_variable"]


def add_result_node(run: Any, path: str, result: Any) -> None:
    """Record a ready :class:`~pypetx.core.parameters.Result` as results of ``run``."""
    items = result.items()
    kwargs = {"comment": result.comment} if result.comment else {}
    leaf = path.rpartition(".")[2]
    if list(items) == [result.name.rpartition(".")[2]] or list(items) == [leaf]:
        run.add_result(path, next(iter(items.values())), **kwargs)
    else:
        run.add_result(path, **items, **kwargs)


def linked_value(run: Any, target: Any) -> Any:
    """The value an in-run ``f_add_link(name, target)`` links: ``target`` names a result
    this run added (its name, or what ``f_add_result`` returned)."""
    from pypetx.base.errors import LinkError, NodeNotFoundError

    name = target if isinstance(target, str) else \
        getattr(target, "v_full_name", None) or getattr(target, "name", None)
    if not isinstance(name, str) or not name:
        raise LinkError(
            f"inside a run, f_add_link links a result this run added: give its name "
            f"(f_add_link('alias', 'z')), not {type(target).__name__}")
    added = run._added()
    var = result_variable(name)
    if var not in added:
        raise NodeNotFoundError(
            f"this run added no result {var!r} to link (it added {sorted(added) or 'none'})")
    return added[var]


def add_run_link(run: Any, path: str, target: Any) -> None:
    """pypet's link inside a run: the run's results are cells of the cube, not nodes, so
    the link becomes a result of its own (same value) under the link's name."""
    run.add_result(path, linked_value(run, target))


class GroupView(plain.GroupView):
    f_add_result = plain.GroupView.add_result


class RunResultsView(plain.RunResultsView):
    f_add_result = plain.RunResultsView.add_result
    f_add_leaf = plain.RunResultsView.add_result

    def f_add_group(self, name: str, comment: str = "") -> RunResultsView:
        """pypet's group of results inside a run: results added to it get its path."""
        return type(self)(self._run, f"{self._prefix}{name}.")

    f_add_result_group = f_add_group

    def f_add_link(self, name: str, target: Any = None) -> None:
        """pypet's link to a result of this run (recorded as a result under ``name``)."""
        add_run_link(self._run, self._prefix + name, target)

    def __contains__(self, path: object) -> bool:
        # the results this run added so far, then those stored outside runs
        if not isinstance(path, str):
            return False
        try:
            self[path]
        except (AttributeError, KeyError):
            return False
        return True


class RunView(plain.RunView):
    """What ``fn(traj)`` gets for one run, with pypet's names: ``traj.f_add_result``,
    ``traj.v_idx``, ``traj.v_crun``, ``traj.f_get``, ..."""

    group_view_class = GroupView
    results_view_class = RunResultsView

    f_add_result = plain.RunView.add_result
    f_add_leaf = plain.RunView.add_result
    f_add_derived_parameter = plain.RunView.add_derived_parameter

    def f_add_result_group(self, name: str, comment: str = "") -> RunResultsView:
        """pypet's group of results inside a run: results added to it get its path."""
        return self.results_view_class(self, f"{name}.")
    v_idx = plain.RunView.idx
    v_crun = plain.RunView.crun
    v_name = plain.RunView.name

    def f_add_link(self, name: str, target: Any = None) -> None:
        """pypet's link to a result of this run (recorded as a result under ``name``)."""
        add_run_link(self, name, target)

    def f_get(self, name: str, fast_access: bool = False, **_ignored: Any) -> Any:
        self._sync()
        return self._skeleton.f_get(name, fast_access=fast_access)

    def __setattr__(self, name: str, value: Any) -> None:
        # pypet's ``traj.hi = Result("hi", 5)`` in a run: the result is this run's
        if not name.startswith("_") and not hasattr(type(self), name) \
                and isinstance(value, core.Result):
            add_result_node(self, value.name or name, value)
            return
        super().__setattr__(name, value)

    def f_get_explored_parameters(self, fast_access: bool = False, copy: bool = True) -> dict:
        self._sync()
        return self._skeleton.f_get_explored_parameters(fast_access=fast_access)

    @property
    def v_standard_result(self) -> Any:
        """pypet's class for results added by name alone (see ``standard_result``)."""
        return self._standard_result or self._skeleton.v_standard_result

    @v_standard_result.setter
    def v_standard_result(self, cls: Any) -> None:
        self.standard_result = cls
