"""The tree: groups and leaves, natural naming, links, annotations and tags.

A tree is addressed with dotted paths (``"parameters.traffic.ncars"``). Every group keeps
its own children; the root keeps one index ``short name -> full paths`` so that shortcut
lookups (``traj.ncars``) are a dict access, not a walk of the tree.
"""

from __future__ import annotations

import difflib
import fnmatch
import keyword
from collections.abc import Iterator
from typing import Any

from pypetx.base.errors import (
    AmbiguousNameError,
    InvalidNameError,
    LinkError,
    NodeExistsError,
    NodeNotFoundError,
)

#: Abbreviations accepted in paths, as pypet does (``traj.par.x``, ``traj.res.z``).
ABBREVIATIONS = {
    "par": "parameters",
    "dpar": "derived_parameters",
    "res": "results",
    "conf": "config",
}


class Node:
    """Base of groups and leaves: a name, a parent, a comment, annotations and tags."""

    def __init__(self, name: str, comment: str = "") -> None:
        self._name = name
        self._parent: Group | None = None
        self._comment = comment
        self._annotations: dict[str, Any] = {}
        self._tags: set[str] = set()

    # -- identity -----------------------------------------------------------------
    @property
    def name(self) -> str:
        """The node's own name (last path component)."""
        return self._name

    @property
    def full_name(self) -> str:
        """Dotted path from the root (the root itself has ``""``; a leaf not in a tree
        yet has its name)."""
        if self._parent is None and self.is_leaf:
            return self._name
        parts = []
        node: Node | None = self
        while node is not None and node._parent is not None:
            parts.append(node._name)
            node = node._parent
        return ".".join(reversed(parts))

    @property
    def root(self) -> Node:
        node = self
        while node._parent is not None:
            node = node._parent
        return node

    # -- metadata -----------------------------------------------------------------
    @property
    def comment(self) -> str:
        return self._comment

    @comment.setter
    def comment(self, text: str) -> None:
        self._comment = str(text)

    @property
    def annotations(self) -> dict[str, Any]:
        """Free key/value metadata (stored as attributes)."""
        return self._annotations

    def set_annotations(self, *args: dict, **kwargs: Any) -> None:
        """Set annotations from dicts and/or keywords."""
        for mapping in args:
            self._annotations.update(mapping)
        self._annotations.update(kwargs)

    def get_annotations(self, *names: str) -> Any:
        """Return one annotation (one name) or a tuple of them (several names)."""
        missing = [n for n in names if n not in self._annotations]
        if missing:
            raise NodeNotFoundError(
                f"{self.full_name or 'trajectory'!s} has no annotation {missing[0]!r}; "
                f"it has {sorted(self._annotations)}"
            )
        values = tuple(self._annotations[n] for n in names)
        return values[0] if len(values) == 1 else values

    @property
    def tags(self) -> set[str]:
        """Tags for filtering with :meth:`Group.find`."""
        return self._tags

    def add_tags(self, *tags: str) -> None:
        self._tags.update(tags)

    is_leaf = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.full_name or self._name!r}>"


class Leaf(Node):
    """A node that holds data (parameters and results derive from it)."""

    is_leaf = True

    def _fast_value(self) -> Any:
        """What natural naming returns for this leaf under fast access."""
        return self


class Link:
    """A named reference from a group to another node of the same tree."""

    __slots__ = ("name", "target")

    def __init__(self, name: str, target: Node) -> None:
        self.name = name
        self.target = target


def reserved_names(cls: type) -> set[str]:
    """Member names of ``cls`` that a child node may not shadow."""
    return {n for n in dir(cls) if not n.startswith("__")}


def validate_name(name: str, where: str, reserved: set[str]) -> None:
    """Raise :class:`InvalidNameError` saying what to rename, or return."""
    if not isinstance(name, str) or not name:
        raise InvalidNameError(f"node names must be non-empty strings, got {name!r} in {where}")
    if "/" in name or ".." in name:
        raise InvalidNameError(
            f"{name!r} in {where}: names may not contain '/' or '..'; use dots to nest groups"
        )
    if not name.isidentifier() or keyword.iskeyword(name):
        raise InvalidNameError(
            f"{name!r} in {where} is not a valid Python identifier; rename it "
            f"(letters, digits and '_', not starting with a digit, not a keyword)"
        )
    if name.startswith("_"):
        raise InvalidNameError(
            f"{name!r} in {where}: names starting with '_' are reserved for pypetx; "
            f"rename it (e.g. {name.lstrip('_') or 'node'!r})"
        )
    if name in reserved:
        raise InvalidNameError(
            f"{name!r} in {where} clashes with a reserved member name of the trajectory; "
            f"rename it (e.g. {name.strip('_') + '_value'!r})"
        )


def validate_path(path: str, where: str) -> None:
    """Raise :class:`InvalidNameError` for a dotted path with empty components."""
    if not isinstance(path, str) or not path:
        raise InvalidNameError(f"node paths must be non-empty strings, got {path!r} in {where}")
    if ".." in path or path.startswith(".") or path.endswith("."):
        raise InvalidNameError(
            f"{path!r} in {where}: paths may not contain '..' or start or end with '.'; "
            f"rename it to dotted names like 'group.name'"
        )


class Group(Node):
    """A node with children; natural naming resolves attributes to children or shortcuts."""

    def __init__(self, name: str, comment: str = "") -> None:
        super().__init__(name, comment)
        self._children: dict[str, Node] = {}
        self._links: dict[str, Link] = {}

    # -- natural naming -----------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails; dunder/private names must fail fast so
        # that pickle, copy and IPython introspection never recurse into the tree.
        if name.startswith("_"):
            raise AttributeError(name)
        return self._access(self._get_node(name))

    def __setattr__(self, name: str, value: Any) -> None:
        # pypet's natural-naming assignment: ``traj.x = 2`` sets parameter ``x`` (and so
        # fails when it is locked); private names and class members (properties) are
        # ordinary attributes; new nodes are never created by assignment.
        if name.startswith("_") or hasattr(type(self), name):
            object.__setattr__(self, name, value)
            return
        node = self._get_node(name)
        if isinstance(node, Group) or not hasattr(node, "set"):
            raise AttributeError(
                f"cannot assign to {node.full_name!r}: it is a group; assign to its leaves"
            )
        node.set(value)

    def __getitem__(self, path: str) -> Any:
        return self._access(self._get_node(path))

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, str):
            return False
        try:
            self._get_node(path)
        except (NodeNotFoundError, AmbiguousNameError):
            return False
        return True

    def __iter__(self) -> Iterator[Node]:
        return iter(self._children.values())

    def __len__(self) -> int:
        return len(self._children)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._children) | set(self._links))

    def _access(self, node: Node) -> Any:
        """What attribute access returns for ``node`` (fast access: the value of a leaf)."""
        if node.is_leaf and getattr(self.root, "_fast_access", False):
            return node._fast_value()
        return node

    # -- lookup ---------------------------------------------------------------------
    def get(self, path: str, default: Any = ..., *, shortcuts: bool = True) -> Node:
        """Return the node at ``path`` (dotted, relative to this group).

        Parameters
        ----------
        path : str
            Dotted path; each component may be a child, a link, an abbreviation
            (``par``, ``dpar``, ``res``, ``conf``) or, when ``shortcuts``, the unique
            name of a node anywhere below.
        default
            Returned instead of raising when nothing is found.
        """
        try:
            return self._get_node(path, shortcuts=shortcuts)
        except NodeNotFoundError:
            if default is ...:
                raise
            return default

    def _get_node(self, path: str, *, shortcuts: bool = True) -> Node:
        node: Node = self
        for part in path.split("."):
            if not isinstance(node, Group):
                raise NodeNotFoundError(
                    f"{node.full_name!r} is a leaf; it has no child {part!r} (path {path!r})"
                )
            node = node._child(part, shortcuts=shortcuts)
        return node

    def _child(self, name: str, *, shortcuts: bool = True) -> Node:
        child = self._children.get(name)
        if child is not None:
            return child
        link = self._links.get(name)
        if link is not None:
            return link.target
        alias = ABBREVIATIONS.get(name)
        if alias is not None and alias in self._children:
            return self._children[alias]
        if shortcuts:
            matches = self._find_below(name)
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                listed = ", ".join(sorted(m.full_name for m in matches))
                raise AmbiguousNameError(
                    f"{name!r} is ambiguous below {self._where()}: it matches {listed}; "
                    f"use a longer path"
                )
        raise NodeNotFoundError(self._not_found_message(name))

    def _find_below(self, name: str) -> list[Node]:
        root = self.root
        index: dict[str, list[Node]] = getattr(root, "_name_index", None) or {}
        prefix = self.full_name
        found = index.get(name, ())
        if not prefix:
            return list(found)
        return [n for n in found if n.full_name.startswith(prefix + ".")]

    def _where(self) -> str:
        return repr(self.full_name) if self.full_name else "the trajectory"

    def _not_found_message(self, name: str) -> str:
        index: dict[str, list[Node]] = getattr(self.root, "_name_index", None) or {}
        candidates = list(dict.fromkeys([*self._children, *self._links, *index]))
        close = difflib.get_close_matches(name, candidates, n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        return f"no node named {name!r} in {self._where()}{hint}"

    # -- building -------------------------------------------------------------------
    def _add_child(self, node: Node) -> Node:
        self._validate_name(node.name)
        if node.name in self._children or node.name in self._links:
            raise NodeExistsError(
                f"{self.full_name + '.' if self.full_name else ''}{node.name} already exists"
            )
        node._parent = self
        self._children[node.name] = node
        root = self.root
        index = getattr(root, "_name_index", None)
        if index is not None:
            index.setdefault(node.name, []).append(node)
        return node

    def _validate_name(self, name: str) -> None:
        validate_name(name, self._where(), self._reserved())

    def _reserved(self) -> set[str]:
        root = self.root
        return reserved_names(type(root)) | reserved_names(type(self))

    def _ensure_group(self, path: str, factory: type[Group] | None = None) -> Group:
        """Walk ``path`` below this group creating missing groups; return the last one."""
        group: Group = self
        if not path:
            return group
        for part in path.split("."):
            child = group._children.get(part)
            if child is None:
                child = group._add_child((factory or group._group_class())(part))
            if not isinstance(child, Group):
                raise NodeExistsError(f"{child.full_name!r} is a leaf, not a group")
            group = child
        return group

    def add_group(self, path: str, comment: str = "") -> Group:
        """Create the group at ``path`` (and any missing parents); return it."""
        validate_path(path, self._where())
        parent, _, last = path.rpartition(".")
        group = self._ensure_group(parent)
        existing = group._children.get(last)
        if isinstance(existing, Group):
            if comment:
                existing.comment = comment
            return existing
        new = group._add_child(group._group_class()(last, comment))
        return new

    @classmethod
    def _group_class(cls) -> type[Group]:
        return Group

    def add_link(self, name: str, target: Node | str) -> Link:
        """Link ``target`` (a node or a path) under ``name`` in this group.

        ``name`` may be dotted: missing groups are created. Cycles (a group linked
        under one of its own descendants) are rejected.
        """
        if isinstance(target, str):
            target = self.root._get_node(target) if isinstance(self.root, Group) else None
        if not isinstance(target, Node):
            raise LinkError(f"link {name!r}: target must be a node or a path")
        validate_path(name, self._where())
        if target.root is not self.root:
            raise LinkError(f"link {name!r}: target belongs to another tree")
        parent_path, _, last = name.rpartition(".")
        self._validate_name(last)
        self._check_cycle(name, target, parent_path)
        group = self._ensure_group(parent_path)
        if last in group._children or last in group._links:
            raise NodeExistsError(f"{group._where()} already has a child or link {last!r}")
        link = Link(last, target)
        group._links[last] = link
        return link

    def _check_cycle(self, name: str, target: Node, parent_path: str) -> None:
        """Refuse a link that would be reachable from its own target (the tree's walks
        never follow links, but a path through such links never ends)."""
        if isinstance(target, Group) and _reaches(target, self, parent_path):
            raise LinkError(
                f"linking {target.full_name or 'the trajectory'!r} as {name!r} would make a "
                f"cycle: the link would be reachable from its own target; link a leaf or a "
                f"group that is not above it"
            )

    @property
    def links(self) -> dict[str, Node]:
        """This group's links: name -> target node."""
        return {k: v.target for k, v in self._links.items()}

    def remove(self, name: str) -> None:
        """Remove a child (and its subtree) or a link of this group."""
        if name in self._links:
            del self._links[name]
            return
        node = self._children.pop(name, None)
        if node is None:
            raise NodeNotFoundError(self._not_found_message(name))
        root = self.root
        removed = [node, *(_walk(node) if isinstance(node, Group) else ())]
        index = getattr(root, "_name_index", None)
        if index is not None:
            for sub in removed:
                bucket = index.get(sub.name, [])
                if sub in bucket:
                    bucket.remove(sub)
        # Links into the removed subtree would dangle: drop them with it.
        gone = set(map(id, removed))
        for group in [root, *(_walk(root) if isinstance(root, Group) else ())]:
            if isinstance(group, Group):
                for key in [k for k, v in group._links.items() if id(v.target) in gone]:
                    del group._links[key]
        node._parent = None

    # -- iteration and search ---------------------------------------------------------
    def children(self) -> dict[str, Node]:
        """Direct children (links excluded)."""
        return dict(self._children)

    def iter_nodes(self, *, recursive: bool = True) -> Iterator[Node]:
        """All groups and leaves below this group, depth first, in insertion order."""
        return _walk(self) if recursive else iter(self._children.values())

    def iter_leaves(self) -> Iterator[Leaf]:
        """All leaves below this group."""
        return (n for n in _walk(self) if isinstance(n, Leaf))

    def iter_groups(self) -> Iterator[Group]:
        return (n for n in _walk(self) if isinstance(n, Group))

    def find(self, pattern: str | None = None, *, tag: str | None = None,
             leaves_only: bool = False) -> list[Node]:
        """Nodes below this group whose name or path matches ``pattern`` and/or carry ``tag``.

        ``pattern`` is a shell-style wildcard matched against the node name and its full
        path (``"*.ncars"``, ``"traffic.*"``, ``"n*"``).
        """
        out = []
        for node in _walk(self):
            if leaves_only and not node.is_leaf:
                continue
            if tag is not None and tag not in node.tags:
                continue
            if pattern is not None and not (
                fnmatch.fnmatchcase(node.name, pattern)
                or fnmatch.fnmatchcase(node.full_name, pattern)
            ):
                continue
            out.append(node)
        return out


def _reaches(start: Group, group: Group, path: str) -> bool:
    """Whether ``group`` or the (maybe not yet created) group ``path`` below it can be
    reached from ``start`` by following children and links."""
    seen: set[int] = set()
    stack: list[Node] = [start]
    while stack:
        node = stack.pop()
        if id(node) in seen or not isinstance(node, Group):
            continue
        seen.add(id(node))
        if node is group:
            return True
        stack.extend(node._children.values())
        stack.extend(link.target for link in node._links.values())
    # A group created by the link's path is new, so only existing groups on it matter.
    node = group
    for part in path.split(".") if path else ():
        node = node._children.get(part) if isinstance(node, Group) else None
        if node is None:
            return False
        if id(node) in seen:
            return True
    return False


def _walk(group: Group) -> Iterator[Node]:
    for child in group._children.values():
        yield child
        if isinstance(child, Group):
            yield from _walk(child)
