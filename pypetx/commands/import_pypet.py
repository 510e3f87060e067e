"""``pypetx import-pypet``: a trajectory of a pypet HDF5 file as a pypetx results file."""

from __future__ import annotations

import warnings

import click

from pypetx.commands._common import pypetx_errors

__all__ = ["import_pypet"]


@click.command("import-pypet")
@click.argument("src", type=click.Path())
@click.argument("dst", type=click.Path())
@click.option("--name", "-n", metavar="NAME",
              help="Trajectory to import; default the only one (the newest of several).")
@click.option("--allow-pickle", is_flag=True,
              help="Unpickle pypet's pickled values (PickleParameter, PickleResult...). "
                   "Unpickling can run code: only for files you trust.")
@click.option("--overwrite", is_flag=True, help="Replace DST if it exists.")
def import_pypet(src: str, dst: str, name: str | None, allow_pickle: bool,
                 overwrite: bool) -> None:
    """Convert a trajectory of a pypet HDF5 file SRC into the pypetx results file DST.

    Parameters, config, derived parameters and results keep their values and comments;
    explored parameters become dimensions (a grid when pypet explored a cartesian
    product); each per-run result becomes one variable over the runs. Needs PyTables
    (pip install 'pypetx[tables]'). DST gets the trajectory added if it exists.

    \b
    Example:
      pypetx import-pypet HDF/old_study.hdf5 study.h5
      pypetx import-pypet old.h5 new.h5 --name my_sweep --allow-pickle
    """
    from pypetx.compat.pypetfile import PypetFile
    from pypetx.compat.pypetfile import import_pypet as convert
    from pypetx.compat.pypetfile.reader import require_tables
    from pypetx.store.load import open_results

    with pypetx_errors():
        require_tables()
        with PypetFile(src) as pf:
            names = pf.trajectories()
            chosen = pf.pick(name)
        if name is None and len(names) > 1:
            click.echo(f"note: {src} holds {len(names)} trajectories ({', '.join(names)}); "
                       f"importing {chosen!r}, the newest (choose with --name)", err=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            convert(src, dst, chosen, allow_pickle, overwrite=overwrite)
        for warning in caught:  # what was skipped or renamed (not third-party noise)
            if issubclass(warning.category, UserWarning):
                click.echo(f"warning: {warning.message}", err=True)
        with open_results(dst, chosen) as ds:
            dims = ", ".join(f"{d}: {ds.sizes[d]}" for d in ds["completed"].dims)
            done = int(ds["completed"].sum())
            total = int(ds["completed"].size)
    click.echo(f"wrote {dst}: trajectory {chosen} ({dims}; {done} of {total} runs completed)")
