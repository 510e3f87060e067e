"""pypet's ``f_``/``v_`` names of nodes and groups, as mixins over the plain-named core
(the user-facing classes in :mod:`pypetx.compat.trajectory` and
:mod:`pypetx.compat.leaves` mix them in)."""

from __future__ import annotations

import contextlib
import contextvars
import keyword
import functools
import warnings
from typing import Any, Callable, Iterator

from pypetx.compat.annotations import AnnotationsView
from pypetx.compat.prefixes import Kids, PrefixedNames
from pypetx.compat.natural import MISSING, assign_node, run_dependent, walk_run_dependent
from pypetx.base.errors import AmbiguousNameError, NodeNotFoundError
from pypetx.core.tree import Node, validate_name


@contextlib.contextmanager
def member_names_allowed(node: Any) -> Iterator[None]:
    """While pypet's methods add nodes, names that clash with a member (``name``,
    ``comment``, ``f_get``...) are accepted with a warning, and links may make cycles,
    as in pypet (the plain methods refuse both)."""
    root = node.root
    before = root.__dict__.get("_member_names_allowed", False)
    object.__setattr__(root, "_member_names_allowed", True)
    try:
        yield
    finally:
        object.__setattr__(root, "_member_names_allowed", before)


#: True while a stored tree is rebuilt: the links it holds were made through pypet's
#: names, cycles among them included (see :meth:`GroupCompat._check_cycle`)
REBUILDING = contextvars.ContextVar("pypetx_compat_rebuilding", default=False)


@contextlib.contextmanager
def links_hidden(node: Any, hide: bool = True) -> Iterator[None]:
    """While a lookup runs with pypet's ``with_links=False``: links are not followed."""
    root = node.root
    before = root.__dict__.get("_with_links", True)
    if hide:
        object.__setattr__(root, "_with_links", False)
    try:
        yield
    finally:
        object.__setattr__(root, "_with_links", before)


def follows_links(node: Any) -> bool:
    """Whether natural naming follows links (pypet's ``v_with_links``, default True)."""
    return node.root.__dict__.get("_with_links", True)


def run_filter(runs: Any) -> Callable[[Any], bool]:
    """pypet's ``predicate`` given as run names or indices (``("run_00000001", -1)``):
    a node below another run's group (``run_XXXXXXXX``, ``run_ALL`` for -1) is left out."""
    wanted = {("run_ALL" if r == -1 else f"run_{r:08d}") if isinstance(r, int) else r
              for r in runs}

    def keep(node: Any) -> bool:
        parts = node.full_name.split(".")
        return not any(p.startswith("run_") and (p == "run_ALL" or p[4:].isdigit())
                       and p not in wanted for p in parts)

    return keep


def _found_by_run_dependent(group: Any, name: str) -> bool:
    """Whether pypet's extra lookups (links by shortcut, run results) find ``name``."""
    try:
        return run_dependent(group, name) is not MISSING
    except AttributeError:
        return False


def pypet_naming(method: Callable) -> Callable:
    """Run ``method`` (one of pypet's adding methods) under :func:`member_names_allowed`."""
    @functools.wraps(method)
    def adding(self: Any, *args: Any, **kwargs: Any) -> Any:
        with member_names_allowed(self):
            return method(self, *args, **kwargs)

    return adding


#: pypet's methods that add nodes (wrapped by :func:`pypet_naming` in the group classes)
ADDING = ("f_add_parameter", "f_add_parameter_group", "f_add_derived_parameter",
          "f_add_derived_parameter_group", "f_add_config", "f_add_config_group",
          "f_add_result", "f_add_result_group", "f_add_group", "f_add_leaf", "f_add_link",
          "__setitem__")


def accept_member_names(cls: type) -> type:
    """Class decorator: pypet's adding methods ``cls`` defines accept member names."""
    for name in ADDING:
        if name in cls.__dict__:
            setattr(cls, name, pypet_naming(cls.__dict__[name]))
    return cls


class NodeCompat:
    """Names every pypet node has."""

    @property
    def v_name(self) -> str:
        # a leaf not in a tree yet may carry its path (pypet's Result("group.x", ...))
        return self.name.rpartition(".")[2]

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
    def vars(self) -> Any:
        """pypet's ``v_`` names without prefix (``node.vars.name`` is ``node.v_name``)."""
        return PrefixedNames(self, "v_")

    @property
    def func(self) -> Any:
        """pypet's ``f_`` names without prefix (``node.func.get(...)`` is ``node.f_get``)."""
        return PrefixedNames(self, "f_")

    #: pypet: True for parameters (and groups below ``parameters``, see GroupCompat)
    v_is_parameter = False

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
    def v_depth(self) -> int:
        """How deep the node is below the trajectory (the trajectory is 0)."""
        return len(self.full_name.split(".")) if self.full_name else 0

    @property
    def v_branch(self) -> str:
        """The top group the node is in (``parameters``, ``results``...; '' for the root)."""
        return self.full_name.partition(".")[0]

    @property
    def v_run_branch(self) -> str:
        """The ``run_XXXXXXXX`` (or ``run_ALL``) group the node is below, else
        ``"trajectory"`` (pypet's ``v_run_branch``)."""
        parts = self.full_name.split(".")
        return next((p for p in parts[:-1] if p.startswith("run_") and
                     (p == "run_ALL" or p[4:].isdigit())), "trajectory")

    @property
    def v_root(self) -> Any:
        return self.root

    @property
    def v_location(self) -> str:
        return self.full_name.rpartition(".")[0]

    def f_set_annotations(self, *args: Any, **kwargs: Any) -> None:
        self.v_annotations.f_set(*args, **kwargs)

    def f_get_annotations(self, *names: Any) -> Any:
        return self.v_annotations.f_get(*names)

    def f_ann_to_str(self) -> str:
        return self.v_annotations.f_ann_to_str()

    def f_get_root(self) -> Any:
        return self.root

    def f_get_parent(self) -> Any:
        if self._parent is None:
            raise TypeError("the trajectory (root) has no parent")
        return self._parent


@accept_member_names
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
            with member_names_allowed(self):
                assign_node(self, name, value)
            return
        if not name.startswith("_") and not hasattr(type(self), name):
            node = self._get_node(name)
            if hasattr(node, "f_supports_fast_access") and not node.f_supports_fast_access():
                raise AttributeError(  # pypet: only a result of one item takes a value
                    f"cannot assign to result {node.full_name!r}: it holds "
                    f"{sorted(node._data) or 'no items'}; set an item (res.f_set(...))")
        super().__setattr__(name, value)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, Node):  # pypet: this very node is in the tree
            return self.get(item.full_name, None, shortcuts=False) is item
        if super().__contains__(item):
            return True
        # pypet finds links by shortcut too ('circle1' in traj for test.circle1)
        if not isinstance(item, str):
            return False
        if "." not in item:
            return _found_by_run_dependent(self, item)
        try:  # 'results.runs' in traj: pypet's run groups, views of the cube here
            return walk_run_dependent(self, item) is not MISSING
        except AttributeError:
            return False

    def __str__(self) -> str:
        # pypet: "<class> <full name> (`comment`): (child: type), ... (six at most, '...')"
        shown = []
        for i, (key, child) in enumerate(self._children.items()):
            shown.append(f"({key}: {type(child)})")
            if i == 5:
                shown.append("...")
                break
        comment = f" (`{self.comment}`)" if self.comment else ""
        return f"{type(self).__name__} {self.full_name}{comment}: {', '.join(shown)}"

    def __iter__(self) -> Iterator[Any]:
        if self.root.__dict__.get("_iter_recursive", False):  # pypet's v_iter_recursive
            return self.f_iter_nodes(recursive=True)
        return super().__iter__()

    def f_load_child(self, name: str, recursive: bool = False, load_data: Any = None,
                     max_depth: Any = None) -> Any:
        """Load the child ``name`` of this group from the file (pypet's ``f_load_child``);
        return it."""
        full = f"{self.full_name}.{name}" if self.full_name else name
        self.root.f_load_item(full)
        return self.root.f_get(full)

    def f_dir_data(self) -> list:
        """The names of this group's children (pypet's ``f_dir_data``)."""
        return list(self._children)

    # -- pypet's natural naming over the core's ------------------------------------
    def _validate_name(self, name: str) -> None:
        if not self.root.__dict__.get("_member_names_allowed", False):
            super()._validate_name(name)
            return
        # pypet: keywords and member names are fine (reached by traj[...] and f_get)
        validate_name(f"{name}_" if keyword.iskeyword(name) else name, self._where(), set())

    def _add_child(self, node: Any) -> Any:
        if self.root.__dict__.get("_member_names_allowed", False) and \
                (node.name in self._reserved() or keyword.iskeyword(node.name)):
            warnings.warn(
                f"{node.name!r} in {self.full_name or 'the trajectory'} is a member name or a "
                f"keyword: natural naming cannot reach it; reach the node with "
                f"[{node.name!r}] or f_get({node.name!r})", UserWarning, stacklevel=4)
        return super()._add_child(node)

    def _check_cycle(self, name: str, target: Any, parent_path: str) -> None:
        # pypet's f_add_link and assignments allow links that make cycles
        # (traj.par.test.circle = traj.par): the tree's walks never follow links.
        if not (self.root.__dict__.get("_member_names_allowed", False) or REBUILDING.get()):
            super()._check_cycle(name, target, parent_path)

    def _child(self, name: str, *, shortcuts: bool = True) -> Any:
        # pypet: of several nodes a shortcut matches, the shallowest one wins; only
        # matches at the same depth are ambiguous.
        shortcuts = shortcuts and self.root.__dict__.get("_shortcuts", True)
        if name in self._links and name not in self._children and not follows_links(self):
            raise NodeNotFoundError(f"{name!r} in {self._where()} is a link and links are "
                                    f"not followed (v_with_links is False)")
        try:
            return super()._child(name, shortcuts=shortcuts)
        except NodeNotFoundError as err:
            if name in ("crun", "$"):  # pypet names the run the wildcard stood for
                idx = getattr(self.root, "idx", -1)
                run = "run_ALL" if idx < 0 else f"run_{idx:08d}"
                raise NodeNotFoundError(f"{err} ({name!r} stands for {run})") from None
            raise
        except AmbiguousNameError:
            matches = self._find_below(name)
            depth = min(m.full_name.count(".") for m in matches)
            shallowest = [m for m in matches if m.full_name.count(".") == depth]
            if len(shallowest) == 1:
                return shallowest[0]
            raise

    def __setitem__(self, path: str, value: Any) -> None:
        """pypet's ``group["x"] = Parameter(...)`` (or a node of the tree: a link)."""
        if not isinstance(value, Node):
            raise TypeError(f"only nodes can be assigned to a group, not {type(value).__name__}")
        assign_node(self, path, value)

    def __getitem__(self, path: Any) -> Any:
        if isinstance(path, tuple):  # pypet: traj["group", "leaf"]
            path = ".".join(path)
        try:
            return super().__getitem__(path)
        except AttributeError:
            found = walk_run_dependent(self, path)
            if found is MISSING:
                raise
            return found

    def f_get(self, name: str, fast_access: bool = False, with_links: bool = True,
              **_ignored: Any) -> Any:
        if not with_links:
            with links_hidden(self):
                return self.f_get(name, fast_access=fast_access)
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
        with links_hidden(self, hide=not with_links):
            if self.get(name, None, shortcuts=shortcuts) is not None:
                return True
            return isinstance(item, str) and "." not in item and with_links and \
                shortcuts and _found_by_run_dependent(self, item)

    def f_find(self, pattern: str | None = None, *, tag: str | None = None,
               leaves_only: bool = False) -> list:
        return self.find(pattern, tag=tag, leaves_only=leaves_only)

    def f_get_children(self, copy: bool = True) -> dict:
        return self.children() if copy else self._children

    @property
    def kids(self) -> Any:
        """pypet's ``group.kids.x``: child ``x`` of this group only (no shortcut)."""
        return Kids(self)

    def f_links(self) -> int:
        return len(self._links)

    def f_has_links(self) -> bool:
        return bool(self._links)

    def f_get_links(self, copy: bool = True) -> dict:
        return self.links

    def f_is_empty(self) -> bool:
        """Whether no leaf is below this group (on the trajectory: nothing was added)."""
        return next(iter(self.iter_leaves()), None) is None

    def f_children(self) -> int:
        return len(self._children)

    def f_has_children(self) -> bool:
        return bool(self._children)

    def f_iter_leaves(self, with_links: bool = True) -> Any:
        return self.iter_leaves()

    def f_iter_nodes(self, recursive: bool = True, with_links: bool = True,
                     max_depth: int | None = None, predicate: Any = None,
                     **_ignored: Any) -> Iterator[Any]:
        """pypet's iteration: breadth first; ``predicate(node)`` False skips a node and
        what is below it; links give their targets (never followed further down);
        on the trajectory, a top group appears once something was added below it."""
        if predicate is not None and not callable(predicate):
            predicate = run_filter(predicate)
        depth_left = max_depth if max_depth is not None else (None if recursive else 1)
        level = [self]
        while level and (depth_left is None or depth_left > 0):
            below = []
            for group in level:
                nodes = list(group._children.values())
                if with_links:
                    nodes += [link.target for link in group._links.values()]
                for node in nodes[:len(group._children)]:
                    if group._parent is None and not node.is_leaf and not node._children \
                            and not node._links:
                        continue  # pypet creates a top group with its first node
                    if predicate is None or predicate(node):
                        yield node
                        if not node.is_leaf:
                            below.append(node)
                for node in nodes[len(group._children):]:
                    if predicate is None or predicate(node):
                        yield node
            level = below
            depth_left = None if depth_left is None else depth_left - 1

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
        return self.root.f_add_derived_parameter(*self._below(args), **kwargs)

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

    def f_add_leaf(self, *args: Any, **kwargs: Any) -> Any:
        """pypet's generic leaf: a result below ``results``, a (derived) parameter or
        config below those groups (on the trajectory: by the first part of the name)."""
        top = self.full_name.partition(".")[0]
        if not top:
            name = next((a for a in args[:2] if isinstance(a, str)), "")
            top = name.partition(".")[0]
        adder = {"parameters": self.f_add_parameter, "config": self.f_add_config,
                 "derived_parameters": self.f_add_derived_parameter}.get(top, self.f_add_result)
        return adder(*args, **kwargs)

    def f_add_group(self, name: str, comment: str = "") -> Any:
        return self.add_group(name, comment)


    def f_to_dict(self, fast_access: bool = False, short_names: bool = False,
                  nested: bool = False, **_ignored: Any) -> dict:
        """The leaves below this group by full name (``short_names``: by their own name,
        which must then be unique), values with ``fast_access`` (pypet's ``f_to_dict``)."""
        if short_names and nested:
            raise ValueError("f_to_dict: short_names and nested exclude each other")
        out: dict = {}
        prefix = len(self.full_name) + 1 if self.full_name else 0
        for leaf in self.iter_leaves():
            if nested:  # a dict per group, relative to this group
                *groups, last = leaf.full_name[prefix:].split(".")
                inner = out
                for part in groups:
                    inner = inner.setdefault(part, {})
                inner[last] = leaf._fast_value() if fast_access else leaf
                continue
            key = leaf.name if short_names else leaf.full_name
            if short_names and key in out:
                raise ValueError(f"short name {key!r} is not unique below "
                                 f"{self.full_name or 'trajectory'!r}; use full names")
            out[key] = leaf._fast_value() if fast_access else leaf
        return out


# pypet's abbreviations of its adding methods (after the decorator wrapped them)
GroupCompat.f_apar = GroupCompat.f_add_parameter
GroupCompat.f_adpar = GroupCompat.f_add_derived_parameter
GroupCompat.f_ares = GroupCompat.f_add_result
