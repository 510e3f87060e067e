"""Results and status of all runs by pypet's names (``f_get_from_runs``,
``f_get_run_information``, ``f_is_completed``)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from pypetx.base.errors import NotStoredError


#: Where pypet keeps results added outside of runs with ``$`` (the default run).
_DEFAULT_RUN_GROUPS = ("results.runs.run_ALL", "results.run_set_ALL.run_ALL",
                       "results.run_ALL")


def _default_run_value(traj: Any, var: str, fast_access: bool) -> Any:
    """The default run's result ``var`` (pypet's ``runs.run_ALL.<var>``), or None."""
    for group in _DEFAULT_RUN_GROUPS:
        node = traj.get(f"{group}.{var}", None, shortcuts=False)
        if node is not None and node.is_leaf:
            return node._fast_value() if fast_access else node
    return None


def _shortcut(ds: Any, var: str) -> str:
    """The result (variable or group of variables) ``var`` names with groups left out.

    Raises
    ------
    AmbiguousNameError
        Several results end in ``var``.
    """
    names = [v for v in ds.data_vars if not _ragged_helper(v, ds)]
    if any(v == var or v.startswith(var + ".") for v in names):
        return var
    want = var.split(".")
    found = set()
    for v in names:
        parts = v.split(".")
        for k in range(1, len(parts) - len(want) + 1):
            if parts[k:k + len(want)] == want:
                found.add(".".join(parts[:k + len(want)]))
    if len(found) > 1:
        from pypetx.base.errors import AmbiguousNameError

        raise AmbiguousNameError(f"{var!r} names several results of the runs: "
                                 f"{', '.join(sorted(found))}; give the full name")
    return found.pop() if found else var


def _ragged_helper(var: str, ds: Any) -> bool:
    """Whether ``var`` is the per-run count or shape of a ragged result, not a result."""
    base, _, tail = var.rpartition("_")
    return tail in ("count", "shape") and base in ds.data_vars


def _missing(value: Any) -> bool:
    """A cell no run filled: None, or the NaN fill of a numeric variable."""
    return value is None or (isinstance(value, float) and np.isnan(value))


def get_from_run_groups(traj: Any, name: str, *, where: str = "results",
                        use_indices: bool = False, fast_access: bool = False,
                        with_links: bool = True, include_default_run: bool = True
                        ) -> OrderedDict:
    """pypet's ``f_get_from_runs`` over nodes of the tree: for each run, the node below
    ``where`` in that run's group (``results.runs.run_00000003.sub.z``) whose path ends
    in ``name``; a run without one gets the ``run_ALL`` node with
    ``include_default_run``. Used when results were added by hand, not by runs."""
    tail = name.split(".")
    top = traj._children[where]
    by_run: dict[str, list] = {}
    groups = [top, *top.iter_groups()]
    entries = [(n.full_name, n) for n in top.iter_nodes()]
    if with_links:
        entries += [(f"{g.full_name}.{key}", link.target)
                    for g in groups for key, link in g._links.items()]
    for path, node in entries:
        parts = path.split(".")
        if parts[-len(tail):] != tail:
            continue
        for part in parts[:-len(tail)]:
            if part == "run_ALL" or part.startswith("run_") and part[4:].isdigit():
                by_run.setdefault(part, []).append(node)
                break
    out = OrderedDict()
    for idx in range(len(traj)):
        run = f"run_{idx:08d}"
        found = by_run.get(run) or (by_run.get("run_ALL") if include_default_run else None)
        if not found:
            continue
        node = found[0]
        value = node._fast_value() if fast_access and node.is_leaf else node
        out[idx if use_indices else run] = value
    return out


def get_from_runs(traj: Any, name: str, *, use_indices: bool = False,
                  fast_access: bool = False, include_default_run: bool = True,
                  shortcuts: bool = True) -> OrderedDict:
    """pypet's ``f_get_from_runs``: run name (or index) -> value of result ``name``, for
    every completed run that has it. Reads the variable once, not run by run.

    With ``include_default_run``, a run without a value of its own gets the result added
    outside of runs under pypet's default run (``traj.f_add_result("runs.$.z", ...)``
    with no run selected stores ``results.runs.run_ALL.z``). With ``shortcuts``, as in
    pypet, ``name`` may leave out the groups above it (``"rate"`` for
    ``statistics.rate``) when that names one result.
    """
    from pypetx.compat.runresults import cell_index
    from pypetx.engine.runview import result_variable

    Result = traj.node_classes.result

    ds = traj._dataset
    if ds is None:
        raise NotStoredError(f"trajectory {traj.name!r} has no results yet: run it "
                                    "(env.run) or load it (f_load)")
    var = result_variable(name)
    default = _default_run_value(traj, var, fast_access) if include_default_run else None
    if shortcuts:
        var = _shortcut(ds, var)
    if var not in ds.data_vars:
        items = sorted(v for v in ds.data_vars if v.startswith(var + ".")
                       and not _ragged_helper(v, ds))
        if not items:
            if default is None:
                return OrderedDict()
            completed = np.asarray(ds["completed"].values)
            return OrderedDict(
                (idx if use_indices else traj.f_idx_to_run(idx), default)
                for idx in range(len(traj)) if completed[tuple(cell_index(traj, idx).values())])
        values = {i: get_from_runs(traj, i, use_indices=True, fast_access=True,
                                   include_default_run=False) for i in items}
        out = OrderedDict()
        for idx in sorted(set().union(*values.values())):
            res = Result(var.rpartition(".")[2], **{
                i.rpartition(".")[2]: v[idx] for i, v in values.items() if idx in v})
            out[idx if use_indices else traj.f_idx_to_run(idx)] = res
        return out
    ragged = f"{var}_count" in ds.data_vars
    data = None if ragged else np.asarray(ds[var].values)
    completed = np.asarray(ds["completed"].values)
    out = OrderedDict()
    for idx in range(len(traj)):
        where = cell_index(traj, idx)
        pos = tuple(where.values())
        if not completed[pos]:
            continue
        if ragged:
            from pypetx.compat.runresults import cell_value

            value = cell_value(traj, var, idx)
        else:
            cell = data[pos]
            value = cell.item() if np.ndim(cell) == 0 and hasattr(cell, "item") else cell
        key = idx if use_indices else traj.f_idx_to_run(idx)
        if default is not None and _missing(value):
            out[key] = default
        else:
            out[key] = value if fast_access else Result(var.rpartition(".")[2], value)
    return out


def run_information(traj: Any, name_or_idx: Any = None) -> Any:
    """pypet's ``f_get_run_information``: a dict per run (all runs when no run is given)
    with ``name``, ``idx``, ``completed``, ``failed``, ``runtime`` (s), ``worker``, ``error``."""
    if name_or_idx is None:
        return OrderedDict((n, run_information(traj, i)) for i, n in enumerate(traj.run_names))
    idx = traj.f_idx_to_run(name_or_idx) if isinstance(name_or_idx, str) else int(name_or_idx)
    info = {"name": traj.f_idx_to_run(idx), "idx": idx, "completed": 0, "failed": 0,
            "runtime": float("nan"), "worker": "", "error": ""}
    ds = traj._dataset
    if ds is not None and "completed" in ds:
        from pypetx.compat.runresults import cell_index
        from pypetx.store.status import run_status

        info.update(run_status(ds, cell_index(traj, idx), idx))
    return info


def is_completed(traj: Any, name_or_idx: Any = None) -> bool:
    """Whether a run (or, with no argument, every run) completed."""
    ds = traj._dataset
    if ds is None or "completed" not in ds:
        return False
    if name_or_idx is None:
        return bool(ds["completed"].all())
    return bool(run_information(traj, name_or_idx)["completed"])
