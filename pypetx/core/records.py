"""The tree as plain records and back (what the store persists; see docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pypetx.core.parameters import Parameter, Result
from pypetx.core.tree import Group

_TYPE_OF_TOP = {
    "parameters": "parameter",
    "derived_parameters": "derived",
    "config": "config",
    "results": "result",
}


def _base_record(node: Any, type_: str) -> dict[str, Any]:
    return {
        "path": node.full_name,
        "type": type_,
        "kind": None,
        "value": None,
        "comment": node.comment,
        "units": None,
        "annotations": dict(node.annotations),
        "tags": sorted(node.tags),
        "target": None,
        "explored": False,
        "class": type(node).__name__,
    }


def tree_to_records(traj: Any) -> list[dict[str, Any]]:
    """One record per group, leaf and link below the trajectory, parents first.

    A result with several items gives one record per item (``path`` of the item is
    ``<result path>`` with ``item`` naming it).
    """
    records = []
    for node in traj.iter_nodes():
        top = node.full_name.partition(".")[0]
        if isinstance(node, Group):
            records.append(_base_record(node, "group"))
            for name, target in node.links.items():
                records.append(_link_record(f"{node.full_name}.{name}", target))
        elif isinstance(node, Parameter):
            rec = _base_record(node, _TYPE_OF_TOP[top])
            rec.update(kind=node.kind, value=node.default, units=node.units,
                       explored=node.is_explored)
            records.append(rec)
        elif isinstance(node, Result):
            for item, value in node.items().items():
                rec = _base_record(node, "result")
                rec.update(kind=node.kinds[item], value=value, units=node.units, item=item)
                records.append(rec)
    for name, target in traj.links.items():
        records.append(_link_record(name, target))
    return records


def _link_record(path: str, target: Any) -> dict[str, Any]:
    # A link has no metadata of its own: only its path and its target's path.
    rec = _base_record(target, "link")
    rec.update(path=path, target=target.full_name, comment="", annotations={}, tags=[],
               **{"class": "Link"})
    return rec


def tree_from_records(cls: type, records: Sequence[Mapping[str, Any]],
                      attrs: Mapping[str, Any]) -> Any:
    """Rebuild a trajectory of class ``cls`` from :func:`tree_to_records` output."""
    traj = cls(attrs.get("name", "trajectory"), attrs.get("comment", ""))
    classes = traj.node_classes
    if attrs.get("timestamp") is not None:
        traj._timestamp = float(attrs["timestamp"])
    links = []
    for rec in records:
        path, type_ = rec["path"], rec["type"]
        if type_ == "link":
            links.append(rec)
            continue
        if type_ == "group":
            parent, _, last = path.rpartition(".")
            node = traj._ensure_group(path) if path else traj
        elif type_ == "result":
            node = traj.get(path, None, shortcuts=False)
            if node is None:
                res_cls = classes.leaves.get(rec.get("class", "Result"), classes.result)
                node = traj.add_result(res_cls, path.partition(".")[2], comment=rec["comment"],
                                       units=rec.get("units"))
            node._put(rec.get("item", node.name), rec["value"])
            if rec.get("kind"):
                node._kinds[rec.get("item", node.name)] = rec["kind"]
        else:
            add = {"parameter": traj.add_parameter, "derived": traj.add_derived_parameter,
                   "config": traj.add_config}[type_]
            par_cls = classes.leaves.get(rec.get("class", "Parameter"), classes.parameter)
            node = add(par_cls, path.partition(".")[2], rec["value"], comment=rec["comment"],
                       units=rec.get("units"), kind=rec.get("kind"))
        node._comment = rec.get("comment", "")
        node._annotations = dict(rec.get("annotations") or {})
        node._tags = set(rec.get("tags") or ())
    for rec in links:
        parent, _, last = rec["path"].rpartition(".")
        group = traj._ensure_group(parent) if parent else traj
        Group.add_link(group, last, traj.get(rec["target"], shortcuts=False))
    return traj
