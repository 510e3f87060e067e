"""``pypetx resume`` and ``pypetx expand``: continue or grow a stored sweep without its script."""

from __future__ import annotations

import ast

import click


def _env_options(cluster: str | None, workers: int | None) -> dict:
    options: dict = {"progress": "auto"}
    if cluster:
        options["cluster"] = cluster
    if workers:
        options["n_workers"] = workers
    return options


def _report(env) -> None:
    s = env.summary
    click.echo(f"{env.trajectory.name}: {s.n_completed} runs completed, {s.n_failed} failed "
               f"in this call; results in {env.filename}")


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=True))
@click.option("--group", "-g", "name", help="Trajectory (group) name; needed when the file "
              "holds several.")
@click.option("--function", "-f", "function", help="module:function to run instead of the "
              "recorded one.")
@click.option("--rerun-failed", is_flag=True, help="Also re-run the runs that failed.")
@click.option("--allow-pickle", is_flag=True, help="Load a function stored pickled "
              "(runs code from the file: only for files you trust).")
@click.option("--force", is_flag=True, help="Resume even if the function signature changed.")
@click.option("--cluster", help="local, synchronous, slurm, pbs, sge (default: dask config).")
@click.option("--workers", type=int, help="Workers of the local cluster.")
def resume(path, name, function, rerun_failed, allow_pickle, force, cluster, workers):
    """Continue a sweep stored in PATH: run only the runs without a completed result.

    The function is the one recorded in the file (an importable module:function), or
    --function. Example:

        pypetx resume results.h5 --rerun-failed
    """
    from pypetx.api import resume_file

    fn = _import(function) if function else None
    env = resume_file(path, name, fn, allow_pickle=allow_pickle, rerun_failed=rerun_failed,
                      force=force, **_env_options(cluster, workers))
    _report(env)


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=True))
@click.argument("values", nargs=-1, required=True)
@click.option("--group", "-g", "name", help="Trajectory (group) name.")
@click.option("--function", "-f", "function", help="module:function instead of the recorded one.")
@click.option("--allow-pickle", is_flag=True, help="Load a function stored pickled.")
@click.option("--cluster", help="local, synchronous, slurm, pbs, sge (default: dask config).")
@click.option("--workers", type=int, help="Workers of the local cluster.")
def expand(path, values, name, function, allow_pickle, cluster, workers):
    """Add points to the sweep stored in PATH and run only the new ones.

    VALUES are NAME=V1,V2,... (Python literals). On a grid, the new values of a parameter
    are combined with every stored value of the others, so the grid grows along that axis;
    otherwise give every explored parameter, with equal numbers of values. Example:

        pypetx expand results.h5 x=4.0,5.0
    """
    from pypetx.compat.environment import Environment
    from pypetx.compat.trajectory import Trajectory
    from pypetx.core.explore import cartesian_product
    from pypetx.env.resume import load_for_resume, recorded_function

    traj = load_for_resume(path, name, cls=Trajectory)
    new = _parse_values(values)
    exploration = traj.exploration
    if exploration is not None and exploration.is_grid:
        grid = {}
        for k, axis in enumerate(exploration.axes):
            for full in axis:
                short = full.rpartition(".")[2]
                given = new.get(short, new.get(full))
                grid[full] = given if given is not None else exploration.axis_values(k)[full]
        unknown = set(new) - {n.rpartition(".")[2] for n in grid} - set(grid)
        if unknown:
            raise click.BadParameter(f"{sorted(unknown)} are not explored in {path}")
        traj.expand(cartesian_product(grid))
    else:
        traj.expand(new)
    fn = _import(function) if function else recorded_function(path, traj.name,
                                                              allow_pickle=allow_pickle)
    env = Environment(traj, filename=str(path), resume=True, **_env_options(cluster, workers))
    env.run_missing(fn)
    _report(env)


def _parse_values(items: tuple[str, ...]) -> dict[str, list]:
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: expected NAME=V1,V2,...")
        try:
            parsed = ast.literal_eval(f"[{raw}]")
        except (SyntaxError, ValueError):
            raise click.BadParameter(f"{item!r}: values must be Python literals") from None
        out[key] = parsed
    return out


def _import(ref: str):
    import importlib

    module, _, attr = ref.partition(":")
    if not attr:
        raise click.BadParameter(f"{ref!r}: expected module:function")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
