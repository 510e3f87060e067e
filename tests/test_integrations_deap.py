"""DEAP on the real package: the evolution as one Dataset, and resuming by replay."""

from __future__ import annotations

import random

import numpy as np
import pytest

deap = pytest.importorskip("deap", reason="deap is not installed (extra 'deap')")

from deap import algorithms, base, creator, tools  # noqa: E402

import pypetx  # noqa: E402
from pypetx import Environment  # noqa: E402
from pypetx.integrations.deap import EvolutionMap, ResumeMismatchError, best_per_generation  # noqa: E402

CALLS: list[int] = []


def onemax(genome):
    CALLS.append(1)
    return (float(np.sum(genome)),)


def _toolbox(n_bits=12):
    if not hasattr(creator, "FitnessMaxT"):
        creator.create("FitnessMaxT", base.Fitness, weights=(1.0,))
        creator.create("IndividualT", list, fitness=creator.FitnessMaxT)
    tb = base.Toolbox()
    tb.register("bit", random.randint, 0, 1)
    tb.register("individual", tools.initRepeat, creator.IndividualT, tb.bit, n_bits)
    tb.register("population", tools.initRepeat, list, tb.individual)
    tb.register("evaluate", onemax)
    tb.register("mate", tools.cxTwoPoint)
    tb.register("mutate", tools.mutFlipBit, indpb=0.1)
    tb.register("select", tools.selTournament, tournsize=3)
    return tb


def _evolve(path, ngen, *, resume=False, seed=1, **options):
    random.seed(seed)
    env = Environment("onemax", filename=str(path), resume=resume,
                      **(options or {"cluster": "synchronous"}))
    tb = _toolbox()
    emap = EvolutionMap(env)
    tb.register("map", emap)
    pop = tb.population(n=10)
    pop, log = algorithms.eaSimple(pop, tb, cxpb=0.5, mutpb=0.3, ngen=ngen, verbose=False)
    return env, emap, log


def test_evolution_is_one_dataset(tmp_path):
    env, emap, log = _evolve(tmp_path / "e.h5", 3)
    ds = pypetx.open_results(tmp_path / "e.h5", "onemax")
    assert ds.sizes["gene"] == 12 and ds.sizes["objective"] == 1
    gens = np.asarray(ds.generation.values)
    assert sorted(set(gens.tolist())) == [0, 1, 2, 3] and emap.generation == 4
    # the stored fitness is the evaluation of the stored genome, evaluation counts agree
    assert np.array_equal(ds.fitness.values[:, 0], ds.genome.values.sum(axis=1))
    assert [int((gens == g).sum()) for g in range(4)] == [e["nevals"] for e in log]
    best = best_per_generation(ds)
    assert best.values.tolist() == [
        float(ds.fitness.values[gens == g, 0].max()) for g in range(4)]


def test_resume_replays_stored_generations(tmp_path):
    path = tmp_path / "r.h5"
    _, _, full_log = _evolve(tmp_path / "full.h5", 4)
    _evolve(path, 2)  # "interrupted" after generation 2
    CALLS.clear()
    env, emap, log = _evolve(path, 4, resume=True)
    ds = pypetx.open_results(path, "onemax")
    new = int((np.asarray(ds.generation.values) >= 3).sum())
    assert len(CALLS) == new  # generations 0-2 came from the file
    assert [e["nevals"] for e in log] == [e["nevals"] for e in full_log]
    assert bool(ds.completed.all()) and emap.generation == 5


def test_resume_with_another_seed_is_refused(tmp_path):
    _evolve(tmp_path / "s.h5", 1)
    with pytest.raises(ResumeMismatchError, match="seed"):
        _evolve(tmp_path / "s.h5", 2, resume=True, seed=2)


def test_generations_run_on_a_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.Client(distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                                     dashboard_address=":0")) as client:
        env, emap, log = _evolve(tmp_path / "c.h5", 2, client=client)
    ds = env.dataset
    assert bool(ds.completed.all()) and emap.generation == 3
    assert np.array_equal(ds.fitness.values[:, 0], ds.genome.values.sum(axis=1))
