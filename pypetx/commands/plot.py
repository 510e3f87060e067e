"""``pypetx plot``: a heatmap or line plot of one result variable, via xarray's plotting;
scattered samples (an adaptive sweep's ``run`` layout) as a scatter coloured by it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from pypetx.commands._common import check_variable, group_option, open_cube, parse_value

__all__ = ["plot", "prepare"]


def prepare(ds: Any, var: str, *, x: str, y: str | None = None,
            sel: tuple[str, ...] = (), mean: tuple[str, ...] = ()) -> Any:
    """The 1-d or 2-d DataArray to plot: failed runs masked, ``sel``/``mean`` applied.

    Parameters
    ----------
    ds : xarray.Dataset
        A pypetx result cube.
    var : str
        Result variable.
    x, y : str
        Dimensions on the axes (``y`` only for a heatmap).
    sel : tuple of str
        ``"name=value"`` selections (nearest value for numeric coordinates).
    mean : tuple of str
        Dimensions averaged over (NaN of failed runs skipped).

    Returns
    -------
    xarray.DataArray
    """
    check_variable(ds, var)
    da = ds[var]
    if da.dtype.kind in "iufc":
        da = da.where(ds["completed"])  # a failed run is a gap, not a fill value
    for item in sel:
        key, eq, text = item.partition("=")
        if not eq or key not in da.coords:
            raise click.ClickException(
                f"--sel {item}: expected NAME=VALUE with NAME one of {', '.join(map(str, da.coords))}")
        coord = da[key]
        value = parse_value(text, coord)
        numeric = coord.dtype.kind in "iufM"
        try:
            da = da.sel({key: value}, method="nearest" if numeric and key in da.dims else None)
        except KeyError:
            raise click.ClickException(f"--sel {item}: {key} has no value {text}") from None
    for dim in mean:
        if dim not in da.dims:
            raise click.ClickException(f"--mean {dim}: not a dimension of {var} "
                                       f"(dims: {', '.join(map(str, da.dims))})")
        da = da.mean(dim, keep_attrs=True)
    wanted = []
    for name in (x, y):
        if not name:
            continue
        if name in da.dims:
            wanted.append(name)
        elif name in da.coords and da[name].ndim == 1:  # a coordinate along `run` (no grid)
            wanted.append(da[name].dims[0])
        else:
            raise click.ClickException(f"{name!r} is not a dimension of {var} "
                                       f"(dims left: {', '.join(map(str, da.dims))})")
    if len(set(wanted)) < len(wanted) and (x in da.dims or y in da.dims):
        raise click.ClickException(
            f"{x} and {y} vary along the same dimension {wanted[0]} (the points are not a "
            "grid): plot one of them with --x only")
    # --x and --y both coordinates along one dimension (adaptive samples): a scatter
    extra = [str(d) for d in da.dims if d not in wanted]
    # one extra dimension without --y becomes line colours; more must be chosen
    if len(extra) > (0 if y else 1):
        raise click.ClickException(
            f"{var} still has dimensions {', '.join(extra)} besides the axes: choose a value "
            f"with --sel {extra[0]}=VALUE or average with --mean {extra[0]}")
    return da


@click.command("plot")
@click.argument("path", type=click.Path())
@click.argument("var")
@click.option("--x", "x", required=True, metavar="DIM", help="Dimension on the x axis.")
@click.option("--y", "y", metavar="DIM", help="Dimension on the y axis (a heatmap).")
@click.option("--sel", multiple=True, metavar="NAME=VALUE",
              help="Fix another dimension (nearest value); repeatable.")
@click.option("--mean", multiple=True, metavar="DIM",
              help="Average over a dimension; repeatable.")
@click.option("-o", "--output", type=click.Path(), metavar="FILE",
              help="Image file (.png, .pdf, .svg); default <VAR>.png.")
@click.option("--dpi", default=120, show_default=True, help="Resolution of raster images.")
@group_option
def plot(path: str, var: str, x: str, y: str | None, sel: tuple[str, ...],
         mean: tuple[str, ...], output: str | None, dpi: int, group: str | None) -> None:
    """Plot result VAR: a heatmap over --x and --y, or lines along --x.

    Failed runs are left blank. Other explored dimensions are fixed with --sel or averaged
    with --mean; a single leftover dimension without --y gives one line per value.

    \b
    Example:
      pypetx plot HDF/example_01.hdf5 z --x x --y y -o z.png
      pypetx plot results.h5 rate --x tau --sel I=2.5 --mean seed
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed (clusters, CI)
    import matplotlib.pyplot as plt

    ds = open_cube(Path(path), group)
    da = prepare(ds, var, x=x, y=y, sel=sel, mean=mean).load()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    note = ""
    if y and y not in da.dims:
        _scatter(ax, da, x, y)
        note = f" ({da.sizes[da[x].dims[0]]} samples)"
    elif y:
        da.plot(ax=ax, x=x, y=y)
    else:
        extra = [d for d in da.dims if d != x and d not in da[x].dims]
        da.plot.line(ax=ax, x=x, hue=extra[0] if extra else None, marker="o")
    where = ax.get_title()  # xarray's "y = 7.0" for selections
    ax.set_title(f"{ds.attrs.get('name', '')}: {var}" + (f" ({where})" if where else ""))
    fig.tight_layout()
    out = Path(output or f"{var}.png")
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    click.echo(f"wrote {out}{note}")


def _scatter(ax: Any, da: Any, x: str, y: str) -> None:
    """The samples where they are, coloured by the value (failed runs hollow)."""
    values = da.values
    ok = ~_isnan(values)
    points = ax.scatter(da[x].values[ok], da[y].values[ok], c=values[ok], s=9,
                        cmap="viridis", linewidths=0)
    if (~ok).any():
        ax.scatter(da[x].values[~ok], da[y].values[~ok], s=12, facecolors="none",
                   edgecolors="red", linewidths=0.8, label="failed")
        ax.legend(loc="upper right", fontsize="small")
    ax.figure.colorbar(points, ax=ax, label=da.attrs.get("units") and
                       f"{da.name} [{da.attrs['units']}]" or str(da.name))
    ax.set_xlabel(x)
    ax.set_ylabel(y)


def _isnan(values: Any) -> Any:
    import numpy as np

    return np.isnan(values) if values.dtype.kind in "fc" else np.zeros(values.shape, bool)
