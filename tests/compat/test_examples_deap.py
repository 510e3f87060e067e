"""pypet's DEAP example programs 19, 19c and 20, written as pypetx tests.

Each test follows the example's calls (a genetic algorithm for OneMax, one expansion of
the trajectory per generation) at a small size, on the synchronous cluster, and asserts
what pypet documents: run indices continue across generations, the fitness of every
evaluated individual is stored per run and readable after the evolution, the best
fitness does not get worse.
"""

from __future__ import annotations

import multiprocessing
import random

import pytest

deap = pytest.importorskip("deap", reason="deap is not installed (extra 'deap')")

from deap import base, creator, tools  # noqa: E402

from pypetx import (  # noqa: E402
    Environment,
    Trajectory,
    cartesian_product,
    manual_run,
    pypetconstants,
)

POPSIZE, NGEN, IND_LEN = 10, 4, 20
CXPB, MUTPB = 0.5, 0.2

if not hasattr(creator, "FitnessMaxCompat"):
    creator.create("FitnessMaxCompat", base.Fitness, weights=(1.0,))
    creator.create("IndividualCompat", list, fitness=creator.FitnessMaxCompat)


def _add_parameters(traj):
    traj.f_add_parameter("popsize", POPSIZE)
    traj.f_add_parameter("CXPB", CXPB)
    traj.f_add_parameter("MUTPB", MUTPB)
    traj.f_add_parameter("NGEN", NGEN)
    traj.f_add_parameter("generation", 0)
    traj.f_add_parameter("ind_idx", 0)
    traj.f_add_parameter("ind_len", IND_LEN)
    traj.f_add_parameter("indpb", 0.005)
    traj.f_add_parameter("tournsize", 3)
    traj.f_add_parameter("seed", 42)


def _toolbox(traj):
    toolbox = base.Toolbox()
    toolbox.register("attr_bool", random.randint, 0, 1)
    toolbox.register("individual", tools.initRepeat, creator.IndividualCompat,
                     toolbox.attr_bool, traj.ind_len)
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("mate", tools.cxTwoPoint)
    toolbox.register("mutate", tools.mutFlipBit, indpb=traj.indpb)
    toolbox.register("select", tools.selTournament, tournsize=traj.tournsize)
    return toolbox


def _next_generation(toolbox, pop):
    """DEAP's variation step of the examples: select, clone, mate, mutate."""
    offspring = list(map(toolbox.clone, toolbox.select(pop, len(pop))))
    for child1, child2 in zip(offspring[::2], offspring[1::2]):
        if random.random() < CXPB:
            toolbox.mate(child1, child2)
            del child1.fitness.values
            del child2.fitness.values
    for mutant in offspring:
        if random.random() < MUTPB:
            toolbox.mutate(mutant)
            del mutant.fitness.values
    pop[:] = offspring


# -- example 19: env.run_map per generation ------------------------------------------------------

def eval_one_max(traj, individual):
    traj.f_add_result("$set.$.individual", list(individual))
    fitness = sum(individual)
    traj.f_add_result("$set.$.fitness", fitness)
    return (fitness,)


def test_example_19_one_run_map_per_generation(tmp_path):
    filename = str(tmp_path / "example_19.hdf5")
    with pytest.warns(DeprecationWarning, match="no effect on Dask"):
        env = Environment(overwrite_file=True, multiproc=True, ncores=2, log_level=50,
                          log_stdout=False, wrap_mode="QUEUE", filename=filename,
                          cluster="synchronous")
    traj = env.v_traj
    _add_parameters(traj)
    toolbox = _toolbox(traj)
    toolbox.register("evaluate", lambda pop: env.f_run_map(eval_one_max, pop))
    random.seed(traj.seed)
    pop = toolbox.population(n=traj.popsize)
    best, generations, evaluated = [], [], []
    for g in range(traj.NGEN):
        eval_pop = [ind for ind in pop if not ind.fitness.valid]
        traj.f_expand(cartesian_product({"generation": [g], "ind_idx": range(len(eval_pop))}))
        start_idx = env.v_current_idx
        fitnesses = toolbox.evaluate(eval_pop)
        traj.res.f_remove()  # frees memory only: the runs' results stay in the file
        # run indices continue across generations: this generation's runs come next
        assert [idx for idx, _ in fitnesses] == list(range(start_idx, start_idx + len(eval_pop)))
        for idx, fitness in fitnesses:
            eval_pop[idx - start_idx].fitness.values = fitness
        assert all(ind.fitness.values == (sum(ind),) for ind in eval_pop)
        generations += [g] * len(eval_pop)
        evaluated += [list(ind) for ind in eval_pop]
        best.append(max(ind.fitness.values[0] for ind in pop))
        if g < traj.NGEN - 1:
            _next_generation(toolbox, pop)
    assert len(traj) == len(evaluated) == env.v_current_idx
    assert best == sorted(best) and best[-1] > best[0]  # tournament selection improves
    assert tools.selBest(pop, 1)[0].fitness.values == (best[-1],)

    # every generation's fitness is stored per run and readable after the evolution
    loaded = Trajectory(filename=filename)
    loaded.f_load(index=-1, load_results=pypetconstants.LOAD_DATA)
    fitness = loaded.f_get_from_runs("fitness", fast_access=True, use_indices=True)
    assert list(fitness) == list(range(len(evaluated)))
    assert list(fitness.values()) == [sum(ind) for ind in evaluated]
    for idx in (0, len(evaluated) - 1):
        loaded.v_idx = idx
        assert loaded.generation == generations[idx]
        assert list(loaded.crun.individual) == evaluated[idx]
    loaded.f_restore_default()
    ds = loaded.dataset  # the same as a cube: generations differ in size, so a run dim
    assert ds.fitness.dims == ("run",) and ds.generation.values.tolist() == generations
    assert ds.fitness.values.tolist() == [sum(ind) for ind in evaluated]


def test_run_map_takes_one_item_per_new_run_or_per_run(tmp_path):
    def scaled(traj, factor, offset=0):
        traj.f_add_result("z", traj.x * factor + offset)
        return traj.x * factor + offset

    env = Environment("t", filename=str(tmp_path / "m.h5"), cluster="synchronous")
    env.traj.f_add_parameter("x", 1)
    env.traj.f_explore({"x": [1, 2]})
    assert env.run_map(scaled, [10, 100], offset=iter([1, 2])) == [(0, 11), (1, 202)]
    env.traj.f_expand({"x": [3]})
    assert env.v_current_idx == 2
    assert env.f_run_map(scaled, [1000]) == [(2, 3000)]          # the new run only
    assert env.traj.f_get_from_runs("z", fast_access=True, use_indices=True) == {
        0: 11, 1: 202, 2: 3000}
    with pytest.raises(ValueError, match="differ in length"):
        env.run_map(scaled, [1], offset=[1, 2])
    with pytest.raises(ValueError, match="needs per-run arguments"):
        env.run_map(scaled)


# -- example 19c: post-processing expands the trajectory ------------------------------------------

def eval_individual(traj):
    return (sum(traj.individual),)


class Postprocessing:
    """Example 19c's post-processing: records fitnesses, breeds, expands the trajectory."""

    def __init__(self, pop, eval_pop, toolbox):
        self.g, self.pop, self.eval_pop, self.toolbox = 0, pop, eval_pop, toolbox
        self.best: list[float] = []

    def __call__(self, traj, fitnesses_results):
        while fitnesses_results:  # pypet hands over the runs not seen yet; consume them
            run_index, fitness = fitnesses_results.pop()
            traj.v_idx = run_index
            self.eval_pop[traj.par.ind_idx].fitness.values = fitness
        traj.v_idx = -1
        traj.fitnesses.extend([x.fitness.values[0] for x in self.eval_pop])
        self.best.append(max(ind.fitness.values[0] for ind in self.pop))
        if self.g < traj.NGEN - 1:
            _next_generation(self.toolbox, self.pop)
            self.eval_pop = [ind for ind in self.pop if not ind.fitness.valid]
            self.g += 1
            traj.f_expand(cartesian_product({"generation": [self.g],
                                             "ind_idx": range(len(self.eval_pop)),
                                             "individual": [list(x) for x in self.eval_pop]},
                                            [("ind_idx", "individual"), "generation"]))


def _example_19c(tmp_path, add_individual):
    filename = str(tmp_path / "example_19c.hdf5")
    with pytest.warns(DeprecationWarning, match="no effect on Dask"):
        env = Environment(trajectory="postproc_deap", overwrite_file=True, log_stdout=False,
                          log_level=50, automatic_storing=True, filename=filename,
                          comment="Using pypet and DEAP with less overhead",
                          cluster="synchronous")
    traj = env.traj
    _add_parameters(traj)
    add_individual(traj, "individual", [0 for _ in range(traj.ind_len)],
                   "An indivudal of the population")
    traj.f_add_result("fitnesses", [], comment="Fitnesses of all individuals")
    toolbox = _toolbox(traj)
    random.seed(traj.seed)
    pop = toolbox.population(n=traj.popsize)
    eval_pop = [ind for ind in pop if not ind.fitness.valid]
    traj.f_explore(cartesian_product({"generation": [0], "ind_idx": range(len(eval_pop)),
                                      "individual": [list(x) for x in eval_pop]},
                                     [("ind_idx", "individual"), "generation"]))
    postproc = Postprocessing(pop, eval_pop, toolbox)
    env.add_postprocessing(postproc)
    env.run(eval_individual)

    assert postproc.g == NGEN - 1
    assert postproc.best == sorted(postproc.best) and postproc.best[-1] > postproc.best[0]
    assert len(traj.fitnesses) == len(traj)  # one fitness per evaluated individual
    stored = Trajectory(filename=filename)
    stored.f_load(index=-1, load_results=pypetconstants.LOAD_DATA)
    assert stored.fitnesses == traj.fitnesses  # stored after the last post-processing
    ranges = stored.f_get("individual").f_get_range()
    assert stored.fitnesses == [float(sum(ind)) for ind in ranges]
    return filename, ranges


def test_example_19c_postprocessing_expands_generation_by_generation(tmp_path):
    _example_19c(tmp_path, lambda traj, *args: traj.f_add_parameter(*args))


def test_example_19c_explores_a_derived_parameter(tmp_path):
    filename, ranges = _example_19c(
        tmp_path, lambda traj, *args: traj.f_add_derived_parameter(*args))
    again = Trajectory("again", filename=filename)
    again.f_load(index=-1, as_new=True)  # derived parameters left out, the explored one kept
    assert "derived_parameters.individual" in again.f_get_explored_parameters()
    assert again.f_get("individual").f_get_range() == ranges


# -- example 20: manual runs with the trajectory and DEAP's map -------------------------------

@manual_run(store_meta_data=True)
def eval_manual(traj, individual):
    traj.f_add_result("$set.$.individual", list(individual))
    fitness = sum(individual)
    traj.f_add_result("$set.$.fitness", fitness)
    return (fitness,)


def eval_wrapper(the_tuple):
    return eval_manual(*the_tuple)


def _example_20(tmp_path, mapper):
    filename = str(tmp_path / "example_20.hdf5")
    traj = Trajectory("onemax", filename=filename, overwrite_file=True)
    _add_parameters(traj)
    traj.f_store()
    toolbox = _toolbox(traj)
    toolbox.register("evaluate", eval_wrapper)
    toolbox.register("map", mapper)
    random.seed(traj.seed)
    pop = toolbox.population(n=traj.popsize)
    start_idx, best = 0, []
    for g in range(traj.NGEN):
        eval_pop = [ind for ind in pop if not ind.fitness.valid]
        traj.f_expand(cartesian_product({"generation": [g], "ind_idx": range(len(eval_pop))}))
        zip_iterable = zip(traj.f_iter_runs(start_idx, yields="self"), eval_pop)
        for idx, fitness in enumerate(toolbox.map(eval_wrapper, zip_iterable)):
            eval_pop[idx].fitness.values = fitness
        start_idx += len(eval_pop)
        best.append(max(ind.fitness.values[0] for ind in pop))
        if g < traj.NGEN - 1:
            _next_generation(toolbox, pop)
    traj.f_store()
    return filename, best


def test_example_20_manual_runs_through_deaps_map(tmp_path):
    filename, best = _example_20(tmp_path, map)
    assert best == sorted(best) and best[-1] > best[0]
    loaded = Trajectory(filename=filename)
    loaded.f_load(index=-1, load_results=pypetconstants.LOAD_DATA)
    fitness = loaded.f_get_from_runs("fitness", fast_access=True, use_indices=True)
    assert list(fitness) == list(range(len(loaded)))
    for idx in fitness:
        loaded.v_idx = idx
        assert fitness[idx] == sum(loaded.crun.individual)
    assert max(fitness.values()) == best[-1]


def test_example_20_with_a_process_pool_is_refused_clearly(tmp_path):
    with multiprocessing.get_context("fork").Pool(1) as pool, \
            pytest.raises(NotImplementedError, match="another process"):
        _example_20(tmp_path, pool.imap)
