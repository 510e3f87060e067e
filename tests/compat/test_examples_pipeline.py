"""pypet's example programs 12 and 13 (sharing data with the runs, post-processing and
pipelines), written as pypetx tests."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

from pypetx import Environment, Trajectory, pypetconstants
from pypetx.utils.explore import cartesian_product

# -- example 12: a multiprocessing list shared with the runs ---------------------------------------

def multiply(traj, result_list):
    z = traj.x * traj.y
    result_list[traj.v_idx] = z


def test_example_12_runs_fill_a_managed_list(tmp_path):
    with pytest.warns(DeprecationWarning, match="no effect on Dask"):
        env = Environment(trajectory="Multiplication",
                          filename=str(tmp_path / "example_12.hdf5"),
                          file_title="Example_12_Sharing_Data",
                          log_folder=str(tmp_path / "LOGS"), comment="The first example!",
                          continuable=False, multiproc=True, ncores=2)
    traj = env.v_trajectory
    traj.f_add_parameter("x", 1, comment="I am the first dimension!")
    traj.f_add_parameter("y", 1, comment="I am the second dimension!")
    traj.f_explore(cartesian_product({"x": [1, 2, 3, 4], "y": [6, 7, 8]}))
    with multiprocessing.Manager() as manager:
        result_list = manager.list()
        result_list[:] = [0 for _dummy in range(len(traj))]
        env.f_run(multiply, result_list)
        traj.f_add_result("z", np.array(result_list))
    assert traj.z.tolist() == [x * y for x in (1, 2, 3, 4) for y in (6, 7, 8)]
    traj.f_store()
    loaded = Trajectory(filename=env.filename)
    loaded.f_load(index=-1, load_results=pypetconstants.LOAD_DATA)
    np.testing.assert_array_equal(loaded.z, traj.z)


# -- example 13: post-processing and pipelines ------------------------------------------------------

def run_neuron(traj):
    """Example 13's leaky integrate-and-fire neuron (Euler), shortened."""
    V_init, I = traj.par.neuron.V_init, traj.par.neuron.I
    tau_V, tau_ref = traj.par.neuron.tau_V, traj.par.neuron.tau_ref
    dt, duration = traj.par.simulation.dt, traj.par.simulation.duration
    steps = int(duration / float(dt))
    V_array = np.zeros(steps)
    V_array[0] = V_init
    spiketimes = []
    for step in range(1, steps):
        if V_array[step - 1] >= 1:
            V_array[step] = 0
            spiketimes.append((step - 1) * dt)
        elif spiketimes and step * dt - spiketimes[-1] <= tau_ref:
            V_array[step] = 0
        else:
            dV = -1 / tau_V * V_array[step - 1] + I
            V_array[step] = V_array[step - 1] + dV * dt
    traj.f_add_result("neuron.$", V=V_array, nspikes=len(spiketimes),
                      comment="Contains the development of the membrane potential over time "
                              "as well as the number of spikes.")
    return len(spiketimes) / float(traj.par.simulation.duration) * 1000


def neuron_postproc(traj, result_list):
    I_range = traj.par.neuron.f_get("I").f_get_range()
    ref_range = traj.par.neuron.f_get("tau_ref").f_get_range()
    I_index, ref_index = sorted(set(I_range)), sorted(set(ref_range))
    rates = np.zeros((len(I_index), len(ref_index)))
    for run_idx, firing_rate in result_list:
        rates[I_index.index(I_range[run_idx]), ref_index.index(ref_range[run_idx])] = firing_rate
    traj.f_add_result("summary.firing_rates", rates_frame=rates,
                      comment="Contains a table with all firing rates.")


def add_parameters(traj):
    traj.f_add_parameter("neuron.V_init", 0.0, comment="initial membrane potential")
    traj.f_add_parameter("neuron.I", 0.0, comment="externally applied current")
    traj.f_add_parameter("neuron.tau_V", 10.0, comment="membrane time constant (ms)")
    traj.f_add_parameter("neuron.tau_ref", 5.0, comment="refractory period (ms)")
    traj.f_add_parameter("simulation.duration", 100.0, comment="duration (ms)")
    traj.f_add_parameter("simulation.dt", 0.1, comment="Euler step (ms)")


def add_exploration(traj):
    explore_dict = {"neuron.I": [0.0, 0.1, 0.2, 0.5], "neuron.tau_ref": [5.0, 10.0]}
    traj.f_explore(cartesian_product(explore_dict, ("neuron.tau_ref", "neuron.I")))


def mypipeline(traj):
    add_parameters(traj)
    add_exploration(traj)
    return (run_neuron, (), {}), (neuron_postproc, (), {})


def _check_firing_rates(filename, name):
    traj = Trajectory(filename=filename)
    traj.f_load(name=name, load_results=pypetconstants.LOAD_DATA)
    rates = traj.firing_rates.rates_frame               # stored after post-processing
    assert rates.shape == (4, 2) and (rates[0] == 0).all()
    assert (np.diff(rates, axis=0) >= 0).all()          # more current, more spikes
    assert (rates[1:, 0] >= rates[1:, 1]).all()         # longer refractoriness, fewer
    nspikes = traj.f_get_from_runs("neuron.nspikes", fast_access=True, use_indices=True)
    for idx, n in nspikes.items():
        traj.v_idx = idx
        assert rates[[0.0, 0.1, 0.2, 0.5].index(traj.I), [5.0, 10.0].index(traj.tau_ref)] \
            == n * 10                                     # spikes in 100 ms, as Hz
    assert traj.crun.neuron.V.shape == (1000,)


def test_example_13_postprocessing_stores_a_summary(tmp_path):
    filename = str(tmp_path / "FiringRate.hdf5")
    with pytest.warns(DeprecationWarning, match="no effect on Dask"):
        env = Environment(trajectory="FiringRate", comment="firing rate of a LIF neuron",
                          add_time=False, log_folder=str(tmp_path / "logs"), log_level=20,
                          log_stdout=True, multiproc=True, ncores=2, wrap_mode="QUEUE",
                          filename=filename, overwrite_file=True, cluster="synchronous")
    traj = env.v_trajectory
    add_parameters(traj)
    add_exploration(traj)
    env.f_add_postprocessing(neuron_postproc)
    results = env.f_run(run_neuron)
    env.f_disable_logging()
    assert [idx for idx, _ in results] == list(range(8))
    _check_firing_rates(filename, "FiringRate")


def test_example_13_pipeline(tmp_path):
    filename = str(tmp_path / "FiringRate.hdf5")
    with pytest.warns(DeprecationWarning, match="no effect on Dask"):
        env = Environment(trajectory="FiringRatePipeline", comment="firing rate, pipeline",
                          add_time=False, log_stdout=True, multiproc=True, ncores=2,
                          filename=filename, overwrite_file=True, cluster="synchronous")
    results = env.pipeline(mypipeline)
    env.disable_logging()
    assert len(results) == 8
    _check_firing_rates(filename, "FiringRatePipeline")


def test_postprocessing_return_values_expand_as_in_pypet(tmp_path):
    def square(traj, power=2):
        return traj.x ** power

    def grow(traj, results, seen):
        seen.append(sorted(results))
        if len(traj) < 3:
            return {"x": [len(traj) + 1]}             # a dict: expand with it
        if len(traj) < 4:
            return {"x": [10]}, (3,), {}              # ... and new run arguments
        return None

    seen: list = []
    env = Environment("t", filename=str(tmp_path / "p.h5"), cluster="synchronous")
    env.traj.f_add_parameter("x", 1)
    env.traj.f_explore({"x": [1, 2]})
    env.add_postprocessing(grow, seen)
    results = env.run(square)
    assert seen == [[(0, 1), (1, 4)], [(0, 1), (1, 4), (2, 9)],
                    [(0, 1), (1, 4), (2, 9), (3, 1000)]]
    assert list(results) == [(0, 1), (1, 4), (2, 9), (3, 1000)]


def test_pipeline_declares_runs_and_postprocessing(tmp_path):
    """pypet example 13's ``env.pipeline``: the pipeline adds parameters and returns the
    run function and the post-processing, whose result is stored too."""
    def run_neuron(traj):
        rate = traj.par.neuron.I * 1000 / traj.par.neuron.tau_ref
        traj.f_add_result("neuron.$", nspikes=int(rate), comment="spikes of the run")
        return rate

    def neuron_postproc(traj, result_list, scale):
        rates = {traj.f_get("I").f_get_range()[idx]: rate * scale for idx, rate in result_list}
        traj.f_add_result("summary.firing_rates", rates=np.array(list(rates.values())),
                          comment="all firing rates")

    def mypipeline(traj):
        traj.f_add_parameter("neuron.I", 0.0, comment="input current")
        traj.f_add_parameter("neuron.tau_ref", 5.0, comment="refractory period")
        traj.f_explore({"neuron.I": [0.0, 0.5, 1.0]})
        return (run_neuron, (), {}), (neuron_postproc, (2,), {})

    filename = str(tmp_path / "FiringRate.hdf5")
    with pytest.warns(DeprecationWarning, match="no effect on Dask"):
        env = Environment(trajectory="FiringRatePipeline", add_time=False, log_stdout=True,
                          multiproc=True, ncores=2, filename=filename, overwrite_file=True,
                          cluster="synchronous")
    assert env.pipeline(mypipeline) == [(0, 0.0), (1, 100.0), (2, 200.0)]
    stored = Trajectory(filename=filename)
    stored.f_load(index=-1, load_results=pypetconstants.LOAD_DATA)
    np.testing.assert_array_equal(stored.firing_rates.rates, [0.0, 200.0, 400.0])
    assert stored.f_get_from_runs("neuron.nspikes", fast_access=True, use_indices=True) == {
        0: 0, 1: 100, 2: 200}


def test_pipeline_return_forms(tmp_path):
    from pypetx.compat.pipeline import parse_pipeline

    def fn(traj):
        return None

    assert parse_pipeline(fn)[0].fn is fn
    assert parse_pipeline((fn, (1,)))[0].args == (1,)
    run, post = parse_pipeline(((fn,), (fn, (2,), {"k": 3})))
    assert run.fn is fn and post.args == (2,) and post.kwargs == {"k": 3}
    with pytest.raises(RuntimeError, match="returned None"):
        parse_pipeline(None)
    with pytest.raises(RuntimeError, match="not understood"):
        parse_pipeline((fn, (), {}, "extra"))


def test_pipeline_map_hands_out_per_run_arguments(tmp_path):
    def scaled(traj, factor):
        return traj.x * factor

    def pipeline(traj):
        traj.f_add_parameter("x", 1)
        traj.f_explore({"x": [1, 2, 3]})
        return scaled, ([10, 100, 1000],)

    env = Environment("mapped", filename=str(tmp_path / "pm.h5"), cluster="synchronous")
    assert env.f_pipeline_map(pipeline) == [(0, 10), (1, 200), (2, 3000)]

