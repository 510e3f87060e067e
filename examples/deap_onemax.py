"""
DEAP: OneMax with eaSimple, one Dask batch per generation
=========================================================

pypet's classic DEAP example. The whole evolution lands in one Dataset (``generation``
and ``ind_idx`` coordinates, ``genome`` and ``fitness`` variables); the best fitness per
generation is plotted from the stored file. Rerun with ``--resume`` after interrupting it (Ctrl-C): stored generations are
replayed from the file and only the missing evaluations run.
"""

from __future__ import annotations

import argparse
import os
import random

import numpy as np
from deap import algorithms, base, creator, tools

import pypetx
from pypetx import Environment
from pypetx.integrations.deap import EvolutionMap, best_per_generation


def onemax(genome):
    """Number of ones in the bit string (to maximise)."""
    return (float(np.sum(genome)),)


def make_toolbox(n_bits: int) -> base.Toolbox:
    if not hasattr(creator, "FitnessMax"):
        creator.create("FitnessMax", base.Fitness, weights=(1.0,))
        creator.create("Individual", list, fitness=creator.FitnessMax)
    toolbox = base.Toolbox()
    toolbox.register("attr_bool", random.randint, 0, 1)
    toolbox.register("individual", tools.initRepeat, creator.Individual, toolbox.attr_bool, n_bits)
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("evaluate", onemax)
    toolbox.register("mate", tools.cxTwoPoint)
    toolbox.register("mutate", tools.mutFlipBit, indpb=0.05)
    toolbox.register("select", tools.selTournament, tournsize=3)
    return toolbox


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="few bits, few generations")
    parser.add_argument("--resume", action="store_true", help="continue a stored evolution")
    parser.add_argument("--out", default="deap_onemax")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cluster", default=None, help="e.g. 'synchronous'")
    args = parser.parse_args(argv)
    n_bits, pop_size, ngen = (20, 16, 4) if args.small else (40, 40, 12)
    os.makedirs(args.out, exist_ok=True)
    filename = os.path.join(args.out, "onemax.h5")

    random.seed(42)  # the same seed replays stored generations on --resume
    # One cluster for the whole evolution (an Environment given only n_workers would
    # start a LocalCluster for every generation).
    client = None
    if args.cluster:
        cluster = {"cluster": args.cluster}
    else:
        from distributed import Client, LocalCluster

        client = Client(LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                      dashboard_address=":0"))
        cluster = {"client": client}
    env = Environment(trajectory="onemax", filename=filename, resume=args.resume,
                      overwrite_file=not args.resume, comment="OneMax with eaSimple", **cluster)
    env.trajectory.f_add_parameter("n_bits", n_bits)
    toolbox = make_toolbox(n_bits)
    toolbox.register("map", EvolutionMap(env))
    population = toolbox.population(n=pop_size)
    population, logbook = algorithms.eaSimple(population, toolbox, cxpb=0.5, mutpb=0.2,
                                              ngen=ngen, verbose=False)
    best = tools.selBest(population, 1)[0]
    print(f"best individual has {sum(best)} of {n_bits} ones")

    if client is not None:
        client.close()
        client.cluster.close()
    ds = pypetx.open_results(filename, "onemax")
    curve = best_per_generation(ds)
    print("best fitness per generation:", curve.values.tolist())
    plot(curve, os.path.join(args.out, "onemax.png"), f"OneMax, {n_bits} bits")
    return ds


def plot(curve, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
    curve.plot(ax=ax, marker="o")
    ax.set_ylabel("best fitness")
    ax.set_title(title)
    fig.savefig(path, dpi=100)
    print("saved", path)


if __name__ == "__main__":
    main()
