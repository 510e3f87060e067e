"""Helpers shared by the CLI commands: opening result files with one-line errors.

Every command turns pypetx's own errors (missing file, unknown group, unknown variable)
into :class:`click.ClickException`, so both the console entry point and
:class:`click.testing.CliRunner` report them as ``Error: ...`` with exit status 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import numpy as np

__all__ = [
    "group_option",
    "journal_path",
    "open_cube",
    "open_tree",
    "parse_value",
    "pypetx_errors",
    "result_vars",
    "trajectory_names",
]

#: Status variables of a cube, either format (see pypetx.store.layout.ALL_STATUS).
STATUS = ("completed", "failed", "duration", "worker", "failure_run", "failure_error",
          "failure_traceback", "error", "traceback")

group_option = click.option(
    "--group", "-g", "group", metavar="NAME",
    help="Trajectory (group) in the file; needed only when it holds several.",
)


@contextmanager
def pypetx_errors() -> Iterator[None]:
    """Re-raise pypetx's errors as one-line click errors (tracebacks only with --debug)."""
    from pypetx.base.errors import PypetxError

    try:
        yield
    except PypetxError as exc:
        if _debug():
            raise
        raise click.ClickException(str(exc)) from exc


def _debug() -> bool:
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if isinstance(ctx.obj, dict) and ctx.obj.get("debug"):
            return True
        ctx = ctx.parent
    return False


def trajectory_names(path: str | Path, group: str | None) -> list[str]:
    """The trajectories to act on: ``[group]`` if given (checked), else all in the file."""
    from pypetx.store.load import check_group, list_trajectories

    with pypetx_errors():
        if group is not None:
            return [check_group(path, group)]
        names = list_trajectories(path)
        if not names:
            raise click.ClickException(f"{path} holds no pypetx trajectory "
                                       "(not written by pypetx?)")
        return names


def open_cube(path: str | Path, group: str | None) -> Any:
    """The lazily opened result cube of ``group`` (the only trajectory when None)."""
    from pypetx.store.load import check_group, open_results

    with pypetx_errors():
        name = check_group(path, group)
        return open_results(path, name)


def open_tree(path: Path, name: str) -> Any:
    """The stored ``_tree`` group as a Dataset, values still encoded (nothing unpickled)."""
    from pypetx.store.load import open_tree as stored_tree

    with pypetx_errors():
        return stored_tree(path, name)


def journal_path(path: str | Path) -> Path:
    """Where the crash-safe journal of a results file lives (runs not consolidated yet)."""
    return Path(f"{path}.pypetx")


def explored_names(ds: Any) -> list[str]:
    """Coordinate names of the explored parameters, in exploration order."""
    from pypetx.store.layout import dim_name

    raw = ds.attrs.get("pypetx_exploration")
    if raw:
        names = json.loads(raw).get("names", [])
        coords = [dim_name(n, names) for n in names]
        return [c for c in coords if c in ds.coords]
    return [str(c) for c in ds.coords if c != "run_name"]


def explored_dims(ds: Any) -> tuple[str, ...]:
    """The explored dimensions of a cube (those of its ``completed`` variable)."""
    return tuple(str(d) for d in ds["completed"].dims)


def result_vars(ds: Any) -> list[str]:
    """Result variable names, without status variables and the helper arrays of ragged
    results (``<name>_count``, ``<name>_shape``)."""
    helpers = set()
    for name in ds.data_vars:
        for suffix in ("_count", "_shape"):
            base = str(name)[: -len(suffix)]
            if str(name).endswith(suffix) and base in ds.data_vars:
                helpers.add(str(name))
    return [str(n) for n in ds.data_vars if n not in STATUS and n not in helpers]


def check_variable(ds: Any, var: str) -> None:
    """Fail with the list of result variables when ``var`` is not one of them."""
    if var not in ds.data_vars:
        raise click.ClickException(
            f"no variable {var!r} in trajectory {ds.attrs.get('name', '?')!r}; "
            f"variables: {', '.join(result_vars(ds) + list(STATUS))}"
        )


def parse_value(text: str, coord: Any) -> Any:
    """``text`` converted to the dtype of coordinate ``coord`` (for ``--sel x=2``)."""
    kind = coord.dtype.kind
    try:
        if kind in "iu":
            value = float(text)
            return int(value) if value.is_integer() else value
        if kind in "fc":
            return float(text)
        if kind == "b":
            return text.lower() in ("1", "true", "yes")
        if kind == "M":
            return np.datetime64(text)
    except ValueError:
        raise click.ClickException(
            f"--sel {coord.name}={text}: not a value of {coord.name} ({coord.dtype})"
        ) from None
    return text
