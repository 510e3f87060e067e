"""pypet's removal calls: ``f_remove_child``/``f_remove_items`` (memory) and
``f_delete_items`` (the file).

pypet removes nodes from the tree in memory only ("to free RAM"); deleting stored data is
a separate call. Both keep that meaning here:

* removing takes nodes out of the tree in memory; the file keeps them, and since
  ``f_store`` adds to what is stored, a later ``f_store`` does not delete them either;
* deleting rewrites the stored tree without the items (parameters, derived parameters,
  config and results of the tree). Results of runs live in the result cube, as variables
  over the explored dimensions; they are not deleted in place (a clear error says how to
  write a copy without them).

pypetx always keeps the four top groups (``config``, ``parameters``,
``derived_parameters``, ``results``): removing one empties it. Explored parameters cannot
be removed (the exploration is made of them).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

from pypetx.compat.exceptions import DataNotInStorageError
from pypetx.core.tree import Group, Node

_TOPS = ("config", "parameters", "derived_parameters", "results")

Predicate = Callable[[Node], bool]


def _is_top(node: Node) -> bool:
    parent = node._parent
    return parent is not None and parent._parent is None and node.name in _TOPS


def _doomed(node: Node, predicate: Predicate) -> list[Node]:
    """The leaves below (or at) ``node`` that removing it with ``predicate`` removes."""
    if not predicate(node):
        return []
    if isinstance(node, Group):
        return [leaf for child in node._children.values() for leaf in _doomed(child, predicate)]
    return [node]


def _remove(parent: Group, node: Node, predicate: Predicate) -> bool:
    """Remove ``node`` (what ``predicate`` allows of it); whether it went as a whole."""
    if not predicate(node):
        return False
    if isinstance(node, Group):
        for child in list(node._children.values()):
            _remove(node, child, predicate)
        if node._children or _is_top(node):
            return False  # pypet keeps a group some of whose children stay
        node._links.clear()
    parent.remove(node.name)
    return True


def remove_child(group: Group, name: str, *, recursive: bool = False,
                 predicate: Predicate | None = None) -> None:
    """pypet's ``group.f_remove_child(name, recursive, predicate)`` (memory only).

    Raises
    ------
    ValueError
        ``group`` has no child (or link) ``name``.
    TypeError
        The child is a group with children and ``recursive`` is False, or an explored
        parameter would be removed.
    """
    if name in group._links:
        group.remove(name)
        return
    child = group._children.get(name)
    if child is None:
        raise ValueError(f"group {group.full_name or 'trajectory'!r} has no child {name!r}")
    if isinstance(child, Group) and child._children and not recursive:
        raise TypeError(f"{child.full_name!r} is a group with children; remove it with "
                        "recursive=True")
    predicate = predicate or (lambda node: True)
    explored = [leaf.full_name for leaf in _doomed(child, predicate)
                if getattr(leaf, "is_explored", False)]
    if explored:
        raise TypeError(f"cannot remove explored parameters {explored}: the trajectory's "
                        "exploration is made of them (remove them before exploring)")
    _remove(group, child, predicate)


def remove_all(traj: Any, *, recursive: bool = True, predicate: Predicate | None = None) -> None:
    """pypet's ``traj.f_remove()``: every node of the tree (the top groups stay, empty)."""
    if not recursive:
        raise ValueError("the trajectory's tree can only be removed recursively")
    for top in _TOPS:
        remove_child(traj, top, recursive=True, predicate=predicate)


def _find(traj: Any, item: Any) -> Node | None:
    """The node ``item`` (a node or a name) stands for in ``traj``, or None."""
    if isinstance(item, Node):
        return item if item.root is traj else None
    return traj.get(str(item), None)


def remove_items(traj: Any, items: Iterable[Any], *, recursive: bool = False) -> None:
    """pypet's ``traj.f_remove_items(items, recursive)``: take nodes out of the tree in
    memory (the file keeps them). A name nothing matches is skipped with a warning."""
    found = 0
    for item in items:
        node = _find(traj, item)
        if node is None or node._parent is None:
            continue
        remove_child(node._parent, node.name, recursive=recursive)
        found += 1
    if not found:
        warnings.warn(f"trajectory {traj.name!r}: none of the items to remove is a node of "
                      "the tree (results of runs are read lazily from the result cube and "
                      "take no memory)", stacklevel=3)


def _stored_path(traj: Any, item: Any) -> str:
    if isinstance(item, Node):
        return item.full_name
    node = traj.get(str(item), None)
    return node.full_name if node is not None else str(item)


def _not_deletable(traj: Any, stored: Any, full: str) -> Exception:
    """The error for an item that is no stored node: a run result, or nothing stored."""
    from pypetx.engine.runview import result_variable

    ds = stored.dataset
    try:
        var = result_variable(full)
    except ValueError:
        var = full
    if ds is not None and any(v == var or v.startswith(var + ".") for v in ds.data_vars):
        return NotImplementedError(
            f"{full!r} is a result of the runs: a variable of the result cube of "
            f"{traj.name!r}, which pypetx does not delete in place. Write a copy without it: "
            f"pypetx.open_results(path, {traj.name!r}).drop_vars([...]).to_netcdf(new_path)")
    return DataNotInStorageError(f"{stored._store_path} group {traj.name}: {full!r} is not stored")


def _delete_one(traj: Any, stored: Any, item: Any, *, recursive: bool,
                delete_only: Iterable[str] | None) -> None:
    full = _stored_path(traj, item)
    node = stored.get(full, None, shortcuts=False)
    if node is None:
        raise _not_deletable(traj, stored, full)
    if delete_only is None:
        if node._parent is None:
            raise TypeError("the trajectory itself cannot be deleted; delete its items")
        remove_child(node._parent, node.name, recursive=recursive)
        return
    data = getattr(node, "_data", None)
    if data is None:
        raise TypeError(f"delete_only needs a result; {full!r} is not one")
    for name in delete_only:
        if name not in data:
            warnings.warn(f"{full!r} has no stored item {name!r}", stacklevel=4)
            continue
        del data[name]
        node._kinds.pop(name, None)


def delete_items(traj: Any, items: Iterable[Any], *, remove_from_trajectory: bool = False,
                 recursive: bool = False, delete_only: Iterable[str] | None = None,
                 remove_from_item: bool = False) -> None:
    """pypet's ``traj.f_delete_items(items, ...)``: delete stored items from the file.

    The stored tree is rewritten without them (atomically, as ``f_store`` writes it).
    In memory the items stay unless ``remove_from_trajectory`` (or, with
    ``delete_only``, ``remove_from_item``).

    Raises
    ------
    DataNotInStorageError
        The trajectory or an item is not stored.
    NotImplementedError
        An item is a result of the runs (a variable of the result cube).
    """
    items = list(items)
    if isinstance(delete_only, str):
        delete_only = [delete_only]

    def edit(stored: Any) -> None:
        for item in items:
            _delete_one(traj, stored, item, recursive=recursive, delete_only=delete_only)

    _rewrite_stored(traj, edit)
    if delete_only is not None:
        if remove_from_item:
            for item in items:
                node = _find(traj, item)
                for name in delete_only:
                    getattr(node, "_data", {}).pop(name, None)
    elif remove_from_trajectory:
        remove_items(traj, items, recursive=recursive)


def _rewrite_stored(traj: Any, edit: Any) -> None:
    """Load ``traj``'s stored tree, apply ``edit(stored)`` and write it back (atomically,
    as ``f_store`` writes it); ``traj`` reopens its results afterwards."""
    from pypetx.env.loading import load, replace_stored
    from pypetx.store.load import list_trajectories

    path = traj._store_path
    if path is None or not _exists(path) or traj.name not in list_trajectories(path):
        raise DataNotInStorageError(f"trajectory {traj.name!r} is not stored "
                                    f"({path or 'no file'}): nothing to delete")
    # as f_store re-reads stored data; of the user-facing class: its links may make cycles
    stored = load(path, traj.name, allow_pickle=True, cls=type(traj))
    try:
        edit(stored)
        if traj._dataset is not None:  # HDF5: no writer while a reader has the file open
            traj._dataset.close()
        replace_stored(stored, path)
    finally:
        if stored._dataset is not None:
            stored._dataset.close()
    if traj._dataset is not None:
        from pypetx.store.load import open_results

        traj._dataset = open_results(path, traj.name)


def delete_links(traj: Any, links: Iterable[Any], *,
                 remove_from_trajectory: bool = False) -> None:
    """pypet's ``traj.f_delete_links(links)``: delete stored links (by full name, e.g.
    ``"parameters.gg"`` or ``"par.gg"``) from the file; with ``remove_from_trajectory``
    from the tree in memory too.

    Raises
    ------
    DataNotInStorageError
        The trajectory is not stored.
    ValueError
        A name is no link of the stored tree.
    """
    names = [str(link) for link in links]

    def where(tree: Any, name: str) -> tuple[Any, str]:
        parent, _, last = name.rpartition(".")
        group = tree.get(parent, None, shortcuts=False) if parent else tree
        if group is None or last not in getattr(group, "_links", {}):
            raise ValueError(f"{name!r} is no link of trajectory {traj.name!r}")
        return group, last

    def edit(stored: Any) -> None:
        for name in names:
            group, last = where(stored, name)
            group.remove(last)

    _rewrite_stored(traj, edit)
    if remove_from_trajectory:
        for name in names:
            group, last = where(traj, name)
            group.remove(last)


def _exists(path: Any) -> bool:
    import os

    return os.path.exists(path)
