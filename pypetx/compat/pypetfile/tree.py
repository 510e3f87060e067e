"""The part of a pypet trajectory outside the runs as a pypetx :class:`Trajectory`:
groups, parameters (with their explored ranges: the exploration), config, derived
parameters, results and links, with comments and annotations."""

from __future__ import annotations

import json
import keyword
import re
import warnings
from typing import Any

import numpy as np

from pypetx.compat.pypetfile.leaves import (
    PickleGate,
    is_parameter,
    parameter_value,
    result_items,
)
from pypetx.compat.pypetfile.reader import PypetFile, PypetFileError, TrajectoryIndex

__all__ = ["Renamer", "build_trajectory"]

#: pypet classes with a pypetx class of the same name (others: Parameter / Result).
PARAMETER_CLASSES = ("Parameter", "ArrayParameter", "SparseParameter", "PickleParameter")
RESULT_CLASSES = ("Result", "SparseResult", "PickleResult")
#: What pypet records about itself (its settings, each environment that ran): their
#: ``name`` nodes become ``name_value`` without a warning.
PYPET_RECORDS = ("config.environment.", "config.hdf5.")
_ADD = {"parameters": "add_parameter", "config": "add_config",
        "derived_parameters": "add_derived_parameter"}


class Renamer:
    """Node names pypet allowed but pypetx does not (``name``, ``comment``: members of
    the trajectory; not identifiers) get a valid name; :meth:`warn` lists them."""

    def __init__(self, where: str) -> None:
        from pypetx.compat.trajectory import ParameterGroup, ResultGroup, Trajectory
        from pypetx.core.tree import reserved_names

        self.where = where
        self.reserved = (reserved_names(Trajectory) | reserved_names(ParameterGroup)
                         | reserved_names(ResultGroup))
        self.renamed: dict[str, str] = {}

    def name(self, name: str) -> str:
        """A valid node name for ``name``."""
        new = re.sub(r"\W", "_", name)
        if new[:1].isdigit():
            new = "n" + new
        new = new.lstrip("_") or "node"
        if keyword.iskeyword(new) or new in self.reserved:
            new += "_value"
        return new

    def path(self, path: str) -> str:
        """``path`` with every component valid (the top group is kept)."""
        top, *parts = path.split(".")
        new = ".".join([top, *(self.name(p) for p in parts)])
        if new != path:
            self.renamed[path] = new
        return new

    def variable(self, var: str) -> str:
        """A per-run variable name with valid components."""
        new = ".".join(self.name(p) for p in var.split("."))
        if new != var:
            self.renamed[var] = new
        return new

    def warn(self) -> None:
        """One warning listing the renamed nodes (pypet's own records left out)."""
        renamed = {a: b for a, b in self.renamed.items() if not a.startswith(PYPET_RECORDS)}
        if renamed:
            pairs = ", ".join(f"{a} -> {b}" for a, b in list(renamed.items())[:10])
            more = f" and {len(renamed) - 10} more" if len(renamed) > 10 else ""
            warnings.warn(f"{self.where}: renamed (names pypetx reserves or cannot use): "
                          f"{pairs}{more}", stacklevel=3)


def _json_safe(annotations: dict[str, Any], where: str) -> dict[str, Any]:
    """Annotations as JSON-able values (pypetx stores them as JSON); others as repr."""
    out = {}
    for key, value in annotations.items():
        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            warnings.warn(f"{where}: annotation {key!r} kept as its repr (not JSON-able)",
                          stacklevel=4)
            value = repr(value)
        out[key] = value
    return out


def _leaf_class(module: Any, cls: str, known: tuple[str, ...], default: str) -> Any:
    return getattr(module, cls if cls in known else default)


def build_trajectory(pf: PypetFile, index: TrajectoryIndex, gate: PickleGate,
                     renamer: Renamer) -> Any:
    """A pypetx Trajectory with the tree and exploration of ``index``.

    Raises
    ------
    PypetFileError
        pypet never stored the parameters, or an explored range is missing or pickled
        without ``allow_pickle``.
    """
    from pypetx.compat import leaves
    from pypetx.core.explore import infer_exploration
    from pypetx.compat.trajectory import Trajectory

    where = f"{pf.path} trajectory {index.name!r}"
    if index.explored and not any(leaf.path.startswith("parameters.") for leaf in index.leaves):
        raise PypetFileError(f"{where} has no stored parameters: pypet stopped before it "
                             "stored the trajectory (an exception in a run without "
                             "multiprocessing?); there is nothing to import")
    traj = Trajectory(index.name, index.comment)
    if index.timestamp is not None:
        traj._timestamp = index.timestamp
    for ref in index.groups:
        top, _, rest = renamer.path(ref.path).partition(".")
        group = traj._children[top].add_group(rest, ref.comment)
        group._annotations = _json_safe(ref.annotations, where)
    explored = {renamer.path(p): p for p in index.explored}
    ranges: dict[str, list] = {}
    for leaf in index.leaves:
        path = renamer.path(leaf.path)
        top, _, rest = path.partition(".")
        try:
            node = _add_leaf(traj, pf, leaf, top, rest, gate, ranges, path, leaves)
        except (TypeError, ValueError) as exc:
            if path in explored:
                raise PypetFileError(f"{where}: explored parameter {leaf.path}: {exc}") from None
            warnings.warn(f"{where}: {leaf.path} skipped: {exc}", stacklevel=2)
            continue
        if node is None:
            if path in explored:
                why = gate.failed.get(leaf.path, "")
                raise PypetFileError(
                    f"{where}: cannot unpickle explored parameter {leaf.path} ({why})" if why
                    else f"{where}: explored parameter {leaf.path} is pickled; import with "
                         "allow_pickle=True (--allow-pickle) if you trust the file")
            continue
        node._annotations = _json_safe(leaf.annotations, where)
    for path, target in index.links:
        try:
            traj.add_link(renamer.path(path), renamer.path(target))
        except Exception as exc:  # noqa: BLE001 - a link to a skipped node: say so, go on
            warnings.warn(f"{where}: link {path} -> {target} skipped: {exc}", stacklevel=2)
    if explored:
        missing = [old for new, old in explored.items() if new not in ranges]
        if missing:
            raise PypetFileError(f"{where}: no explored values stored for {', '.join(missing)}")
        columns = {name: ranges[name] for name in explored}
        traj._set_exploration(infer_exploration(columns))  # pypet stores runs, not axes
    return traj


def _add_leaf(traj: Any, pf: PypetFile, leaf: Any, top: str, rest: str, gate: PickleGate,
              ranges: dict[str, list], path: str, leaves: Any) -> Any:
    """Add one stored leaf to ``traj``; ``None`` when all it held were skipped pickles."""
    items = pf.items(leaf)
    where = f"{pf.path} {leaf.path}"
    if is_parameter(leaf.cls) and top in _ADD:
        default, explored = parameter_value(leaf.cls, items, where)
        keep, default = gate.load(default, leaf.path)
        if not keep:
            return None
        if explored is not None:
            loaded = [gate.load(v, leaf.path) for v in explored]
            if not all(keep for keep, _ in loaded):
                return None
            ranges[path] = [v for _, v in loaded]
        cls = _leaf_class(leaves, leaf.cls, PARAMETER_CLASSES, "Parameter")
        return getattr(traj, _ADD[top])(cls, rest, default, comment=leaf.comment)
    kept = {}
    for item, value in result_items(leaf.cls, items, where).items():
        keep, value = gate.load(value, f"{leaf.path}.{item}" if item != rest else leaf.path)
        if keep:
            kept[item] = value
    if not kept:
        return None
    cls = _leaf_class(leaves, leaf.cls, RESULT_CLASSES, "Result")
    node = traj.add_result(cls, rest, comment=leaf.comment)
    for item, value in kept.items():
        node._put(item, value)
    return node
