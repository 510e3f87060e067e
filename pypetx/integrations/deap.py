"""DEAP on Dask: each generation is one batch of runs, the whole evolution one Dataset.

``toolbox.register("map", EvolutionMap(env))`` replaces DEAP's ``map``: every call (one
generation of ``eaSimple``, ``eaMuPlusLambda``, CMA-ES's ``generate``/``update`` loop...)
expands the trajectory by one point per individual -- explored parameters ``generation``
and ``ind_idx`` -- and runs them with ``env.run``; each run stores the individual's
``genome`` (dim ``gene``) and ``fitness`` (dim ``objective``). The Dataset then has a
``run`` dimension with ``generation`` and ``ind_idx`` as coordinates, e.g.
``ds.fitness.sel(objective=0).groupby("generation").max()``.

Resuming: rerun the same script with ``Environment(..., resume=True)`` and the same
random seeds. DEAP's algorithms draw their random numbers in the driver, so the evolution
replays identically: generations already stored are answered from the file (their genomes
are checked against the stored ones), the interrupted generation runs only its missing
individuals, and the evolution continues from there.

The evaluation function receives the genome as a numpy array (DEAP's individual classes
live in ``deap.creator`` of the driver and are not importable on workers).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from pypetx.base.errors import PypetxError

__all__ = ["EvolutionMap", "ResumeMismatchError", "best_per_generation"]

_NAMES = ("parameters.generation", "parameters.ind_idx")


class ResumeMismatchError(PypetxError):
    """A resumed evolution produced other individuals than the stored ones."""


def _evaluate_run(traj: Any, evaluate: Callable, genomes: dict[int, np.ndarray]) -> None:
    genome = genomes[traj.v_idx]
    fitness = np.asarray(evaluate(genome), dtype=np.float64).reshape(-1)
    traj.f_add_result("genome", genome, dims=("gene",), comment="the individual")
    traj.f_add_result("fitness", fitness, dims=("objective",),
                      comment="fitness values returned by the evaluation")


class EvolutionMap:
    """A ``map`` for DEAP's toolbox that evaluates generations on the environment.

    Parameters
    ----------
    env : Environment
        The environment (its cluster, file and trajectory) the evolution runs in.
        With ``resume=True`` stored generations are replayed from its file.

    Attributes
    ----------
    generation : int
        The generation the next call evaluates (calls with no individuals do not count).
    """

    def __init__(self, env: Any) -> None:
        self.env = env
        self.generation = 0
        self._stored: dict[str, np.ndarray] | None = None
        if env.resume:
            self._stored = _read_stored(env.filename, env.trajectory.name)
        traj = env.trajectory
        for name in ("generation", "ind_idx"):
            if f"parameters.{name}" not in traj:
                traj.f_add_parameter(name, 0, comment=f"{name} of the evaluated individual")

    # -- the map ------------------------------------------------------------------------
    def __call__(self, evaluate: Callable, individuals: Iterable[Any]) -> list[tuple]:
        individuals = list(individuals)
        if not individuals:
            return []
        g, n = self.generation, len(individuals)
        genomes = [np.asarray(ind) for ind in individuals]
        replayed = self._replay(g, genomes)
        if replayed is not None:
            self.generation += 1
            return replayed
        start = self._rows(g, n)
        rows = range(start, start + n)
        by_run = dict(zip(rows, genomes))
        self.env.run(_evaluate_run, evaluate, by_run)
        self.env.resume = True  # later generations only add runs to the same file
        ds = self.env.dataset.isel(run=slice(start, start + n))
        if not bool(ds["completed"].all()):
            # runs that failed in an interrupted session are not re-run by resume
            self.env.rerun_failed(_evaluate_run, evaluate, by_run)
            ds = self.env.dataset.isel(run=slice(start, start + n))
        _check_genomes(ds, genomes, g)
        fitness = np.asarray(ds["fitness"].values, dtype=np.float64)
        self.generation += 1
        return [tuple(f) for f in fitness]

    # -- resume -----------------------------------------------------------------------------
    def _replay(self, g: int, genomes: list[np.ndarray]) -> list[tuple] | None:
        """Stored fitness of generation ``g`` when it was completed in an earlier session."""
        stored = self._stored
        if stored is None:
            return None
        mine = np.flatnonzero(stored["generation"] == g)
        if len(mine) != len(genomes) or not stored["completed"][mine].all():
            return None  # not stored, or interrupted: run it (only its missing runs run)
        for k, (row, genome) in enumerate(zip(mine, genomes)):
            if not np.array_equal(stored["genome"][row][: len(genome)], genome.ravel()):
                raise ResumeMismatchError(
                    f"generation {g}, individual {k} differs from the stored one: the "
                    "evolution does not replay. Seed every random generator the algorithm "
                    "uses (random.seed, numpy.random.seed) the same way as in the first "
                    "session, or start a new trajectory")
        return [tuple(stored["fitness"][row]) for row in mine]

    def _rows(self, g: int, n: int) -> int:
        """First run index of generation ``g``, adding its points to the trajectory."""
        traj = self.env.trajectory
        if traj.exploration is None and self._stored is not None:
            columns = self._stored["columns"]
            if columns:
                traj.f_explore({"generation": columns[_NAMES[0]], "ind_idx": columns[_NAMES[1]]})
        exploration = traj.exploration
        if exploration is not None:
            gens = np.asarray(exploration.columns[_NAMES[0]])
            mine = np.flatnonzero(gens == g)
            if len(mine):
                if len(mine) != n:
                    raise ResumeMismatchError(f"generation {g} has {len(mine)} stored "
                                              f"individuals, the algorithm gave {n}")
                return int(mine[0])
        start = 0 if exploration is None else exploration.n_runs
        points = {"generation": [g] * n, "ind_idx": list(range(n))}
        traj.f_expand(points) if exploration is not None else traj.f_explore(points)
        return start


def _check_genomes(ds: Any, genomes: list[np.ndarray], g: int) -> None:
    """Runs stored in an earlier session must have evaluated the same genomes."""
    if "genome" not in ds or ds["genome"].ndim != 2:
        return
    stored = np.asarray(ds["genome"].values)
    for k, genome in enumerate(genomes):
        if not np.array_equal(stored[k][: genome.size], genome.ravel()):
            raise ResumeMismatchError(
                f"generation {g}, individual {k}: the stored run evaluated another genome; "
                "seed the algorithm's random generators as in the first session")


def _read_stored(filename: str, name: str) -> dict[str, Any] | None:
    """Generations stored by an earlier session: columns of the newest exploration (the
    journal's, when the driver was interrupted) and completed runs from the file."""
    from pypetx.store.layout import decode_exploration
    from pypetx.store.load import list_trajectories, open_results

    columns: dict[str, list] = {}
    journal = os.path.join(filename + ".pypetx", name, "exploration.json")
    if os.path.exists(journal):
        with open(journal) as fh:
            desc = json.load(fh)
        folder = os.path.dirname(journal)
        columns = decode_exploration(desc, lambda ref: np.load(
            os.path.join(folder, f"exploration-{ref['sha1']}.npy")))["columns"]
    if not os.path.exists(filename) or name not in list_trajectories(filename):
        if not columns:
            return None
        empty = np.zeros(0)
        return {"columns": columns, "generation": empty, "completed": empty.astype(bool),
                "genome": empty, "fitness": empty}
    ds = open_results(filename, name)
    if not columns:
        columns = decode_exploration(json.loads(ds.attrs["pypetx_exploration"]), ds)["columns"]
    if "fitness" not in ds:
        return None
    return {"columns": columns,
            "generation": np.asarray(ds["generation"].values),
            "completed": np.asarray(ds["completed"].values, dtype=bool),
            "genome": np.asarray(ds["genome"].values),
            "fitness": np.asarray(ds["fitness"].values, dtype=np.float64)}


def best_per_generation(ds: Any, *, objective: int = 0, maximize: bool = True) -> Any:
    """The best fitness of each generation (an ``xarray.DataArray`` over ``generation``).

    Parameters
    ----------
    ds : xarray.Dataset
        The evolution's Dataset (``env.dataset`` or :func:`pypetx.open_results`).
    objective : int
        Which fitness value.
    maximize : bool
        Best means largest (DEAP weight > 0) or smallest.
    """
    # small (one value per evaluation): load it, grouping needs the generation labels
    fit = ds["fitness"].isel(objective=objective).where(ds["completed"]).compute()
    fit = fit.assign_coords(generation=fit["generation"].compute())
    grouped = fit.groupby("generation")
    return grouped.max() if maximize else grouped.min()
