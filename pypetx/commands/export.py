"""``pypetx export``: copy result cubes between HDF5 and Zarr, or flatten them to tables.

Cubes are copied with xarray (lazily, chunk by chunk), together with each trajectory's
stored tree, so the copy is a complete pypetx results file (``pypetx show``,
``pypetx.load`` and ``resume`` work on it). Tables (CSV, Parquet) hold one row per run:
the explored parameters, the status and every result with one value per run.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

import click
import numpy as np

from pypetx.commands._common import (
    check_variable,
    explored_dims,
    group_option,
    journal_path,
    open_cube,
    open_tree,
    pypetx_errors,
    result_vars,
    trajectory_names,
)

__all__ = ["copy_results", "export", "to_table"]

#: Output names that get a whole results file (its backend: the store registry's choice).
CUBE_FORMATS = (".zarr", ".h5", ".hdf5", ".nc", ".nc4")
TABLE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
#: Status columns of a table (tracebacks are multi-line: see ``pypetx failed``).
TABLE_STATUS = ("completed", "failed", "duration", "error")


def _plain(ds: Any) -> Any:
    """``ds`` without the source backend's encodings (chunk sizes, filters), which the
    other backend does not understand; dtype-defining keys are kept."""
    keep = {"_FillValue", "units", "calendar"}
    ds = ds.copy()
    for name, var in ds.variables.items():
        var.encoding = {k: v for k, v in var.encoding.items() if k in keep}
        if var.dtype.kind in "US":
            # fixed-width strings have no stable Zarr v3 type; variable-length ones have
            # (status strings are small: loading them is cheap)
            ds[name] = var.load().astype(object)
    return ds


def copy_results(src: str | Path, dst: str | Path, names: list[str], *,
                 complevel: int = 4) -> None:
    """Copy trajectories ``names`` of ``src`` into a new results file ``dst``.

    Parameters
    ----------
    src, dst : path-like
        HDF5 file or Zarr store; the format of ``dst`` follows its name (``.zarr``:
        Zarr, else HDF5; see :func:`pypetx.store.registry.backend_for`).
    names : list of str
        Trajectories to copy.
    complevel : int
        zlib level of numeric arrays in an HDF5 copy.
    """
    import dask

    from pypetx.store.registry import backend_for

    src, dst = Path(src), Path(dst)
    backend = backend_for(dst)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")  # dst appears only when complete
    _remove(tmp)
    try:
        # threads: the copy happens here, not on someone's distributed client
        with dask.config.set(scheduler="threads"):
            backend.write_copy(tmp, {name: (_plain(open_cube(src, name)),
                                            _plain(open_tree(src, name)))
                                     for name in names}, complevel=complevel)
        _remove(dst)
        os.replace(tmp, dst)
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def to_table(ds: Any, variables: tuple[str, ...] = ()) -> Any:
    """One row per run: explored parameters, status and per-run results.

    Parameters
    ----------
    ds : xarray.Dataset
        A pypetx result cube.
    variables : tuple of str
        Results to include; default every result with one value per run (results with
        dimensions of their own are skipped unless named here: they give one row per
        element).

    Returns
    -------
    pandas.DataFrame
    """
    dims = set(explored_dims(ds))
    if variables:
        for var in variables:
            check_variable(ds, var)
        chosen = list(variables)
    else:
        chosen = [v for v in result_vars(ds) if set(ds[v].dims) <= dims]
        chosen += [s for s in TABLE_STATUS if s in ds.data_vars]
    error = not variables and "error" in TABLE_STATUS and "failure_run" in ds.variables
    order = list(explored_dims(ds))
    if error:
        table = ds[chosen].to_dataframe(dim_order=order).reset_index()
    else:
        table = ds[chosen].to_dataframe().reset_index()
    if error:  # format 2 keeps the messages of failed runs only: one column, "" if none
        from pypetx.store.status import failure_cells

        cells, _, errors, _ = failure_cells(ds)
        column = np.full(len(table), "", dtype=object)
        if len(table) == int(np.prod([ds.sizes[d] for d in order])):
            column[cells] = errors  # rows are the cells in C order of the explored dims
        table["error"] = column
    # strings come back as bytes/objects from some backends; plain str for CSV/Parquet
    for col in table.columns:
        if table[col].dtype == object:
            table[col] = table[col].map(lambda v: v.decode() if isinstance(v, bytes) else v)
    return table


def skipped_variables(ds: Any) -> list[str]:
    """Results a default table leaves out (they have dimensions of their own)."""
    dims = set(explored_dims(ds))
    return [v for v in result_vars(ds) if not set(ds[v].dims) <= dims]


@click.command("export")
@click.argument("path", type=click.Path())
@click.argument("output", type=click.Path())
@group_option
@click.option("--var", "variables", multiple=True, metavar="NAME",
              help="Tables only: a result to include (repeatable); default every result "
                   "with one value per run.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
def export(path: str, output: str, group: str | None, variables: tuple[str, ...],
           overwrite: bool) -> None:
    """Copy results to another format; the suffix of OUTPUT chooses it.

    .zarr, .h5/.hdf5/.nc: the whole cube and tree of every trajectory (or --group),
    readable by pypetx and plain xarray. .csv, .parquet: a flat table of one
    trajectory, one row per run (parquet needs pyarrow).

    \b
    Example:
      pypetx export results.h5 results.zarr
      pypetx export results.h5 table.csv --group my_sweep
    """
    out = Path(output)
    suffix = out.suffix.lower()
    if suffix not in CUBE_FORMATS and suffix not in TABLE_FORMATS:
        raise click.ClickException(
            f"cannot export to {output}: use a suffix among "
            f"{', '.join(sorted(CUBE_FORMATS) + sorted(TABLE_FORMATS))}")
    if out.exists() and not overwrite:
        raise click.ClickException(f"{output} exists; pass --overwrite to replace it")
    if Path(path).resolve() == out.resolve():
        raise click.ClickException("OUTPUT is the input file")
    names = trajectory_names(path, group)
    journal = journal_path(path)
    if journal.exists() and any(journal.iterdir()):
        click.echo(f"warning: {journal} holds runs not consolidated yet; they are not "
                   "exported (resume the sweep first)", err=True)

    if suffix in CUBE_FORMATS:
        if variables:
            raise click.ClickException("--var applies to table exports (.csv, .parquet)")
        with pypetx_errors():
            copy_results(path, out, names)
        click.echo(f"wrote {output} ({', '.join(names)})")
        return

    if len(names) > 1:
        raise click.ClickException(
            f"{path} holds several trajectories ({', '.join(names)}); a table holds one: "
            "choose it with --group")
    fmt = TABLE_FORMATS[suffix]
    if fmt == "parquet" and not any(importlib.util.find_spec(m) for m in ("pyarrow",
                                                                          "fastparquet")):
        raise click.ClickException("writing Parquet needs pyarrow: pip install pyarrow "
                                   "(or export to .csv)")
    ds = open_cube(Path(path), names[0])
    table = to_table(ds, variables)
    if not variables:
        for var in skipped_variables(ds):
            click.echo(f"note: {var} {tuple(map(str, ds[var].dims))} has dimensions of its "
                       f"own: add it with --var {var} (one row per element)", err=True)
    if fmt == "csv":
        table.to_csv(out, index=False)
    else:
        table.to_parquet(out, index=False)
    click.echo(f"wrote {output} ({len(table)} rows, {len(table.columns)} columns)")
