"""pypet's ``node.vars``, ``node.func`` and ``node.kids``: the ``v_`` and ``f_`` names
without prefix, and the children of a group by name only.

``traj.vars.name`` is ``traj.v_name``; ``traj.func.add_result(...)`` is
``traj.f_add_result(...)``. pypet offers them so that a tree may hold nodes whose names
would otherwise clash with its members.
"""

from __future__ import annotations

from typing import Any


class PrefixedNames:
    """Attribute ``x`` of this object is attribute ``<prefix>x`` of the node."""

    __slots__ = ("_node", "_prefix")

    def __init__(self, node: Any, prefix: str) -> None:
        self._node = node
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        full = self._prefix + name
        if not hasattr(type(self._node), full):  # never a child found by natural naming
            raise AttributeError(f"{type(self._node).__name__} has no {full!r}")
        return getattr(self._node, full)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in PrefixedNames.__slots__:
            object.__setattr__(self, name, value)
        else:
            setattr(self._node, self._prefix + name, value)

    def __dir__(self) -> list[str]:
        n = len(self._prefix)
        return [a[n:] for a in dir(type(self._node)) if a.startswith(self._prefix)]


class Kids:
    """pypet's ``group.kids``: the group's own children and links, nothing else (no
    shortcuts, no members), so ``group.kids.name`` reaches a child called ``name``."""

    __slots__ = ("_group",)

    def __init__(self, group: Any) -> None:
        self._group = group

    def __getattr__(self, name: str) -> Any:
        group = self._group
        # pypet: the node itself (no fast access to a leaf's value)
        if name in group._children:
            return group._children[name]
        if name in group._links:
            return group._links[name].target
        raise AttributeError(f"{group.full_name or 'the trajectory'} has no child {name!r}")

    def __dir__(self) -> list[str]:
        return sorted([*self._group._children, *self._group._links])
