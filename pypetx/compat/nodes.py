"""pypet's ``f_``/``v_`` names of nodes and groups, as mixins over the plain-named core
(the user-facing classes in :mod:`pypetx.compat.trajectory` and
:mod:`pypetx.compat.leaves` mix them in)."""

from __future__ import annotations

from typing import Any

from pypetx.compat.annotations import AnnotationsView
from pypetx.compat.natural import MISSING, assign_node, run_dependent, walk_run_dependent
from pypetx.core.tree import Node


class NodeCompat:
    """Names every pypet node has."""

    @property
    def v_name(self) -> str:
        return self.name

    @property
    def v_full_name(self) -> str:
        return self.full_name

    @property
    def v_comment(self) -> str:
        return self.comment

    @v_comment.setter
    def v_comment(self, text: str) -> None:
        self.comment = text

    @property
    def v_annotations(self) -> Any:
        return AnnotationsView(self)

    @property
    def v_is_leaf(self) -> bool:
        return self.is_leaf

    @property
    def v_is_group(self) -> bool:
        return not self.is_leaf

    @property
    def v_is_root(self) -> bool:
        return self._parent is None

    @property
    def v_location(self) -> str:
        return self.full_name.rpartition(".")[0]

    def f_set_annotations(self, *args: Any, **kwargs: Any) -> None:
        self.v_annotations.f_set(*args, **kwargs)

    def f_get_annotations(self, *names: Any) -> Any:
        return self.v_annotations.f_get(*names)

    def f_get_root(self) -> Any:
        return self.root

    def f_get_parent(self) -> Any:
        if self._parent is None:
            raise TypeError("the trajectory (root) has no parent")
        return self._parent


class GroupCompat(NodeCompat):
    """pypet group names: ``f_get``, ``f_iter_leaves``, ``f_add_*`` relative to the group.

    Also pypet's run-dependent names (``runs``, ``run_00000001``, ``crun``, ``$set``...):
    when a name is no node, the results of runs are looked up in the result cube
    (see :mod:`pypetx.compat.runresults`), and assigning a node by natural naming adds it
    (``traj.par.x = Parameter("x", 1)``) or links it (``traj.mylink = traj.f_get("x")``).
    """

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # pickle/copy probe these before __init__ ran
            raise AttributeError(name)
        try:
            return super().__getattr__(name)
        except AttributeError:
            found = run_dependent(self, name)
            if found is MISSING:
                raise
            return found

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_") and isinstance(value, Node):
            assign_node(self, name, value)
            return
        super().__setattr__(name, value)

    def __getitem__(self, path: str) -> Any:
        try:
            return super().__getitem__(path)
        except AttributeError:
            found = walk_run_dependent(self, path)
            if found is MISSING:
                raise
            return found

    def f_get(self, name: str, fast_access: bool = False, **_ignored: Any) -> Any:
        try:
            node = self.get(name)
        except AttributeError:
            found = walk_run_dependent(self, name)
            if found is MISSING:
                raise
            return found
        return node._fast_value() if fast_access and node.is_leaf else node

    def f_get_all(self, name: str, **_ignored: Any) -> list:
        """Every node named or ending in ``name`` below this group (pypet's ``f_get_all``)."""
        tail = name.split(".")
        return [n for n in self.iter_nodes()
                if n.full_name.split(".")[-len(tail):] == tail]

    def f_contains(self, item: Any, with_links: bool = True, shortcuts: bool = False,
                   **_ignored: Any) -> bool:
        name = item if isinstance(item, str) else item.full_name
        return self.get(name, None, shortcuts=shortcuts) is not None

    def f_find(self, pattern: str | None = None, *, tag: str | None = None,
               leaves_only: bool = False) -> list:
        return self.find(pattern, tag=tag, leaves_only=leaves_only)

    def f_get_children(self, copy: bool = True) -> dict:
        return self.children()

    def f_children(self) -> int:
        return len(self._children)

    def f_has_children(self) -> bool:
        return bool(self._children)

    def f_iter_leaves(self, with_links: bool = True) -> Any:
        return self.iter_leaves()

    def f_iter_nodes(self, recursive: bool = True, **_ignored: Any) -> Any:
        return self.iter_nodes(recursive=recursive)

    def f_get_leaves(self, copy: bool = True) -> dict:
        return {n.full_name: n for n in self.iter_leaves()}

    def f_get_groups(self, copy: bool = True) -> dict:
        return {n.name: n for n in self._children.values() if not n.is_leaf}

    def f_add_link(self, name_or_item: Any, full_name_or_item: Any = None) -> Any:
        if full_name_or_item is None:  # pypet: f_add_link(node) links it under its own name
            return self.add_link(name_or_item.name, name_or_item)
        return self.add_link(name_or_item, full_name_or_item)

    def f_remove_link(self, name: str) -> None:
        if name not in self._links:
            raise ValueError(f"group {self.full_name or 'trajectory'!r} has no link {name!r}")
        self.remove(name)

    # -- removing (from memory; the file keeps its data: see f_delete_items) -----------
    def f_remove_child(self, name: str, recursive: bool = False, predicate: Any = None) -> None:
        """Remove the child ``name`` from the tree in memory (pypet's semantics: a group
        with children needs ``recursive=True``; ``predicate(node)`` picks what goes)."""
        from pypetx.compat.removal import remove_child

        remove_child(self, name, recursive=recursive, predicate=predicate)

    def f_remove(self, recursive: bool = True, predicate: Any = None) -> None:
        """Remove this group (and what is below it) from the tree in memory."""
        self.f_get_parent().f_remove_child(self.name, recursive=recursive, predicate=predicate)

    # -- adding below a group adds relative to it (traj.par.traffic.f_add_parameter) ------
    def f_add_group(self, name: str, comment: str = "") -> Any:
        return self.add_group(name, comment)

    def _below(self, args: tuple) -> tuple:
        # The name is the first string argument (a leaf class may come before it).
        prefix = self.full_name.partition(".")[2]
        for i, a in enumerate(args[:2]):
            if isinstance(a, str):
                return args[:i] + (f"{prefix}.{a}" if prefix else a,) + args[i + 1:]
        return args

    def f_add_parameter(self, *args: Any, **kwargs: Any) -> Any:
        return self.root.add_parameter(*self._below(args), **kwargs)

    def f_add_parameter_group(self, name: str, comment: str = "") -> Any:
        return self.add_group(name, comment)

    def f_add_derived_parameter(self, *args: Any, **kwargs: Any) -> Any:
        return self.root.add_derived_parameter(*self._below(args), **kwargs)

    def f_add_derived_parameter_group(self, name: str, comment: str = "") -> Any:
        return self.add_group(name, comment)

    def f_add_config(self, *args: Any, **kwargs: Any) -> Any:
        return self.root.add_config(*self._below(args), **kwargs)

    def f_add_config_group(self, name: str, comment: str = "") -> Any:
        return self.add_group(name, comment)

    def f_add_result(self, *args: Any, **kwargs: Any) -> Any:
        return self.root.f_add_result(*self._below(args), **kwargs)

    def f_add_result_group(self, name: str, comment: str = "") -> Any:
        return self.add_group(name, comment)

    def f_to_dict(self, fast_access: bool = False, short_names: bool = False,
                  nested: bool = False, **_ignored: Any) -> dict:
        """The leaves below this group by full name (``short_names``: by their own name,
        which must then be unique), values with ``fast_access`` (pypet's ``f_to_dict``)."""
        out: dict = {}
        for leaf in self.iter_leaves():
            key = leaf.name if short_names else leaf.full_name
            if short_names and key in out:
                raise ValueError(f"short name {key!r} is not unique below "
                                 f"{self.full_name or 'trajectory'!r}; use full names")
            out[key] = leaf._fast_value() if fast_access else leaf
        return out
