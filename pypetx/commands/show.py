"""``pypetx show``: what a results file holds, as plain text that reads well in a log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np

from pypetx.commands._common import (
    explored_dims,
    explored_names,
    group_option,
    journal_path,
    open_cube,
    open_tree,
    pypetx_errors,
    result_vars,
    trajectory_names,
)

__all__ = ["describe", "show"]

#: Longest value shown for a parameter before it is shortened with "...".
WIDTH = 60


class _NotLoaded:
    """Stands in for a pickled value (its repr is what ``show`` prints)."""

    def __repr__(self) -> str:
        return "<pickled: not loaded>"


NOT_LOADED = _NotLoaded()


def _short(value: Any, width: int = WIDTH) -> str:
    """A one-line description of a parameter value: containers by shape, not content."""
    shape = getattr(value, "shape", None)
    kind = type(value).__name__
    if hasattr(value, "nnz") and shape is not None:  # scipy.sparse
        return f"{kind} {shape[0]} x {shape[1]}, {value.nnz} stored values"
    if kind == "DataFrame":
        cols = ", ".join(map(str, list(value.columns)[:5]))
        return _cut(f"DataFrame {shape[0]} rows x {shape[1]} columns ({cols})", width)
    if kind == "Series" or (kind == "ndarray" and value.size > 6):
        return f"{kind} {value.dtype} shape {tuple(shape)}"
    return _cut(" ".join(repr(value).split()), width)  # multi-line reprs on one line


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _fmt(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _values_summary(values: np.ndarray) -> str:
    """``n values: a .. b`` for numbers, the values themselves when there are few."""
    uniq = list(dict.fromkeys(values.ravel().tolist()))
    if len(uniq) <= 6:
        body = ", ".join(_fmt(v) for v in uniq)
    elif values.dtype.kind in "iufM":
        body = f"{_fmt(np.min(values))} .. {_fmt(np.max(values))}"
    else:
        body = ", ".join(_fmt(v) for v in uniq[:3]) + ", ..."
    return f"{len(uniq)} values: {body}"


def _records(path: Path, name: str) -> list[dict[str, Any]]:
    """Tree records with their values, except values stored pickled: ``show`` never
    unpickles (that could run code from the file); those read ``<pickled: not loaded>``."""
    from pypetx.store.codec import decode_tree

    tree = open_tree(path, name)
    entries = json.loads(tree.attrs["pypetx_records"])
    pickled = set()
    for entry in entries:
        kind = entry.get("kind") or (entry.get("value_attrs") or {}).get("pypetx_kind")
        if kind == "pickle" or (entry.get("value_attrs") or {}).get("pypetx_kind") == "pickle":
            entry.pop("value_vars", None)  # decoded as "no value"
            pickled.add(entry["path"])
    tree.attrs["pypetx_records"] = json.dumps(entries)
    records, _ = decode_tree(tree, where=f"{path} group {name}")
    for rec in records:
        if rec["path"] in pickled:
            rec["value"] = NOT_LOADED
    return records


def _status_counts(ds: Any) -> tuple[int, int, int, int]:
    completed = np.asarray(ds["completed"].values, dtype=bool)
    failed = np.asarray(ds["failed"].values, dtype=bool) & ~completed
    total = completed.size
    return total, int(completed.sum()), int(failed.sum()), total - int((completed | failed).sum())


def describe(path: str | Path, name: str) -> str:
    """The plain-text description of trajectory ``name`` in ``path`` (what ``show`` prints).

    Parameters
    ----------
    path : path-like
        HDF5 results file or Zarr store.
    name : str
        Trajectory (group) name.

    Returns
    -------
    str
        Several lines, no trailing newline.
    """
    path = Path(path)
    ds = open_cube(path, name)
    with pypetx_errors():
        records = _records(path, name)
    lines = [f"Trajectory {name}"]
    if ds.attrs.get("comment"):
        lines.append(f"  comment: {ds.attrs['comment']}")

    dims = explored_dims(ds)
    total, done, failed, missing = _status_counts(ds)
    shape = " x ".join(str(ds.sizes[d]) for d in dims)
    layout = f"grid {shape}" if dims != ("run",) else "list of points"
    lines.append(f"  runs: {total} ({layout}): {done} completed, {failed} failed, "
                 f"{missing} missing")
    if failed:
        lines.append(f"    see the failures with: pypetx failed {path} --group {name}")
    if missing:
        lines.append("    resume with Environment(..., resume=True)")

    lines.append("  explored parameters:")
    by_coord = {r["path"].removeprefix("parameters."): r for r in records}
    by_short = {r["path"].rsplit(".", 1)[-1]: r for r in records if r.get("explored")}
    for coord in explored_names(ds):
        rec = by_coord.get(coord) or by_short.get(coord) or {}
        along = ds[coord].dims[0] if ds[coord].dims else ""
        unit = f" [{rec['units']}]" if rec.get("units") else ""
        comment = f"  # {rec['comment']}" if rec.get("comment") else ""
        lines.append(f"    {coord} (dim {along}, {ds[coord].dtype}){unit}: "
                     f"{_values_summary(np.asarray(ds[coord].values))}{comment}")

    fixed = [r for r in records
             if r.get("type") in ("parameter", "derived", "config") and not r.get("explored")]
    if fixed:
        lines.append("  other parameters:")
        for rec in fixed:
            unit = f" [{rec['units']}]" if rec.get("units") else ""
            comment = f"  # {rec['comment']}" if rec.get("comment") else ""
            lines.append(f"    {rec['path']} = {_short(rec.get('value'))}{unit}{comment}")

    names = result_vars(ds)
    lines.append("  results:" if names else "  results: none")
    for var in names:
        da = ds[var]
        attrs = da.attrs
        if f"{var}_count" in ds.data_vars:  # CF ragged array: one array per run
            kind = attrs.get("pypetx_kind")
            what = "pickled objects" if kind == "pickle" else f"ragged {da.dtype} arrays"
            desc = f"({', '.join(dims)}) {what}, {da.size} values in all"
        else:
            desc = (f"({', '.join(map(str, da.dims))}) {da.dtype} "
                    f"shape {tuple(int(s) for s in da.shape)}")
        unit = f" [{attrs['units']}]" if attrs.get("units") else ""
        comment = f"  # {attrs['comment']}" if attrs.get("comment") else ""
        lines.append(f"    {var} {desc}{unit}{comment}")

    if done or failed:
        duration = np.asarray(ds["duration"].values, dtype=float)
        ran = np.isfinite(duration) & (duration > 0)
        if ran.any():
            codes = np.asarray(ds["worker"].values).ravel()
            if codes.dtype.kind in "iu":  # format 2: worker codes, -1 for none
                workers = set(np.unique(codes[codes >= 0]).tolist())
            else:
                workers = {str(w) for w in codes if str(w)}
            lines.append(f"  timing: {duration[ran].sum():.3g} s of run time, "
                         f"{duration[ran].mean():.3g} s per run (max {duration[ran].max():.3g} s), "
                         f"{len(workers)} worker(s)")
    lines.extend(_provenance(ds.attrs))
    return "\n".join(lines)


def _json_attr(attrs: dict[str, Any], key: str) -> dict[str, Any]:
    raw = attrs.get(key)
    if not raw:
        return {}
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _provenance(attrs: dict[str, Any]) -> list[str]:
    prov = _json_attr(attrs, "provenance")
    end = _json_attr(attrs, "provenance_end")
    if not prov:
        return ["  provenance: none recorded"]
    versions = prov.get("versions", {})
    lines = ["  provenance:"]
    when = prov.get("start_time", "?")
    if end.get("time"):
        when += f" -> {end['time']}"
    lines.append(f"    run: {when} on {prov.get('hostname', '?')} by {prov.get('user', '?')}")
    if prov.get("command_line"):
        lines.append(f"    command: {' '.join(map(str, prov['command_line']))}")
    if attrs.get("pypetx_function") or attrs.get("pypetx_function_signature"):
        fn = attrs.get("pypetx_function") or "(not importable)"
        lines.append(f"    function: {attrs.get('pypetx_function_signature', '')} {fn}".rstrip())
    lines.append(f"    python {prov.get('python', '?')}, "
                 + ", ".join(f"{k} {v}" for k, v in versions.items()))
    git = prov.get("git")
    if isinstance(git, dict) and git:
        dirty = " (uncommitted changes)" if git.get("dirty") else ""
        lines.append(f"    git: {git.get('commit', '?')}{dirty}")
    origin = _json_attr(attrs, "imported_from")  # pypetx import-pypet
    if origin:
        lines.append(f"    imported from {origin.get('file', '?')} (written by pypet "
                     f"{origin.get('pypet_version') or '?'}, python "
                     f"{origin.get('python') or '?'})")
    return lines


@click.command("show")
@click.argument("path", type=click.Path())
@group_option
@click.option("--html", "html_out", metavar="OUT.html", type=click.Path(dir_okay=False),
              help="Write the sweep map (docs/dashboard.md) as a standalone HTML file "
                   "instead; with several trajectories, one file each (OUT-<name>.html).")
def show(path: str, group: str | None, html_out: str | None) -> None:
    """Describe a results file: trajectories, parameters, results, progress, provenance.

    \b
    Example:
      pypetx show HDF/example_01.hdf5
      pypetx show results.h5 --group my_sweep
      pypetx show results.h5 --html map.html
    """
    if html_out is not None:
        _write_maps(path, group, html_out)
        return
    names = trajectory_names(path, group)
    if group is None:
        noun = "trajectory" if len(names) == 1 else "trajectories"
        click.echo(f"{path}: {len(names)} {noun}: {', '.join(names)}")
    for name in names:
        click.echo("")
        click.echo(describe(path, name))
    journal = journal_path(path)
    if journal.exists() and any(journal.iterdir()):
        click.echo(f"\nnote: {journal} holds runs not consolidated into the file yet "
                   "(an interrupted sweep); resume it to include them")


def _write_maps(path: str, group: str | None, out: str) -> None:
    """``show --html``: the sweep map of each trajectory, including what only its journal
    holds (a sweep that crashed or is still running; nothing is written next to it)."""
    from pypetx.engine.dashboard.export import write_html
    from pypetx.engine.dashboard.stored import journal_trajectories, stored_state

    journaled = journal_trajectories(path)
    if group is not None and group in journaled:
        names = [group]
    elif group is None and not Path(path).exists() and journaled:
        names = journaled  # the sweep never consolidated: only its journal exists
    else:
        names = trajectory_names(path, group)
        names += [n for n in journaled if group is None and n not in names]
    target = Path(out)
    for name in names:
        dest = target if len(names) == 1 else target.with_name(
            f"{target.stem}-{name}{target.suffix or '.html'}")
        with pypetx_errors():
            state = stored_state(path, name)
        write_html(state, dest)
        counts = state.counts()
        click.echo(f"{dest}: sweep map of {name} ({counts['done']} done, "
                   f"{counts['failed']} failed, {counts['pending']} not run)")
