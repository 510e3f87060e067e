"""
DEAP: Rastrigin minimised with CMA-ES
=====================================

Rastrigin minimised with DEAP's CMA-ES on Dask; best fitness per generation plotted
from the stored Dataset (one point per evaluated individual).
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from deap import algorithms, base, benchmarks, cma, creator

import pypetx
from pypetx import Environment
from pypetx.integrations.deap import EvolutionMap, best_per_generation


def rastrigin(genome):
    return benchmarks.rastrigin(genome)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--out", default="deap_rastrigin")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cluster", default=None)
    args = parser.parse_args(argv)
    n_dim, ngen, lambda_ = (3, 5, 8) if args.small else (5, 15, 16)
    os.makedirs(args.out, exist_ok=True)
    filename = os.path.join(args.out, "rastrigin.h5")

    np.random.seed(7)  # CMA-ES samples with numpy: the same seed replays on --resume
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
    env = Environment(trajectory="rastrigin", filename=filename, resume=args.resume,
                      overwrite_file=not args.resume, comment="CMA-ES on Rastrigin", **cluster)
    env.trajectory.f_add_parameter("n_dim", n_dim)
    if not hasattr(creator, "FitnessMin"):
        creator.create("FitnessMin", base.Fitness, weights=(-1.0,))
        creator.create("Individual", list, fitness=creator.FitnessMin)
    strategy = cma.Strategy(centroid=[2.5] * n_dim, sigma=2.0, lambda_=lambda_)
    toolbox = base.Toolbox()
    toolbox.register("evaluate", rastrigin)
    toolbox.register("generate", strategy.generate, creator.Individual)
    toolbox.register("update", strategy.update)
    toolbox.register("map", EvolutionMap(env))
    algorithms.eaGenerateUpdate(toolbox, ngen=ngen, verbose=False)

    if client is not None:
        client.close()
        client.cluster.close()
    ds = pypetx.open_results(filename, "rastrigin")
    curve = best_per_generation(ds, maximize=False)
    print("best fitness per generation:", np.round(curve.values, 3).tolist())
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
    curve.plot(ax=ax, marker=".")
    ax.set_yscale("symlog", linthresh=1e-2)
    ax.set_ylabel("best Rastrigin value")
    ax.set_title(f"CMA-ES, {n_dim} dimensions")
    path = os.path.join(args.out, "rastrigin.png")
    fig.savefig(path, dpi=100)
    print("saved", path)
    return ds


if __name__ == "__main__":
    main()
