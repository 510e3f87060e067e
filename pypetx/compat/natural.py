"""pypet's natural-naming extras: run results by run names, links by shortcut, and
adding or linking nodes by assignment (``traj.par.x = Parameter("x", 1)``).

Called by :class:`pypetx.compat.nodes.GroupCompat` when plain natural naming finds no node.
"""

from __future__ import annotations

from typing import Any

#: What the run-dependent lookups return when a name is no run result either.
MISSING = object()


def run_dependent(group: Any, name: str) -> Any:
    """A run view or a run's result value for ``name``, or ``MISSING``."""
    root = group.root
    if name.startswith("_"):
        return MISSING
    # pypet finds links by shortcut too (traj.mylink2 for parameters.group.mylink2)
    links = [g._links[name].target for g in [group, *group.iter_groups()] if name in g._links] \
        if root.__dict__.get("_with_links", True) else []
    if len(links) == 1:
        return group._access(links[0])
    if not links and root.__dict__.get("_with_links", True):
        through = _through_links(group, name)
        if len(through) == 1:
            return group._access(through[0])
    if getattr(root, "_dataset", None) is None:
        return MISSING
    from pypetx.compat.runresults import resolve
    from pypetx.base.errors import NodeNotFoundError

    try:
        return resolve(root, group.full_name, name)
    except NodeNotFoundError:
        return MISSING


def _through_links(group: Any, name: str) -> list:
    """Nodes called ``name`` below the groups that links below ``group`` point to (pypet's
    shortcuts pass through links: ``traj.test2.test3`` for a link ``test2.l -> test``)."""
    found: dict[int, Any] = {}
    for g in [group, *group.iter_groups()]:
        for link in g._links.values():
            target = link.target
            if target.is_leaf or target is group:
                continue
            for node in [target._children.get(name), *target._find_below(name)]:
                if node is not None:
                    found[id(node)] = node
    return list(found.values())


def walk_run_dependent(group: Any, path: str) -> Any:
    """Follow ``path`` through nodes, then through run views (``runs.run_00000001.z``)."""
    node: Any = group
    parts = path.split(".")
    for part in parts:
        if hasattr(node, "_child"):  # a group of the tree
            try:
                node = node.get(part)
                continue
            except AttributeError:
                node = run_dependent(node, part)
                if node is MISSING:
                    return MISSING
        else:
            node = getattr(node, part)
    if getattr(node, "is_leaf", False):
        return node._fast_value() if getattr(group.root, "_fast_access", False) else node
    return node


def assign_node(group: Any, name: str, value: Any) -> None:
    """pypet's ``group.name = node``: a new leaf is added below ``group`` (an empty leaf
    name takes ``name``; a dotted one is a path), a node already in the tree is linked."""
    if value._parent is not None or value is group.root:
        group.add_link(name, value)
        return
    from pypetx.core.parameters import Parameter

    path = value.name or name
    if not group.full_name:  # on the trajectory: a parameter goes below parameters
        top = "parameters" if isinstance(value, Parameter) else "results"
        path = f"{top}.{path}"
    parent, _, last = path.rpartition(".")
    value._name = last
    target = group._ensure_group(parent) if parent else group
    target._add_child(value)
