"""pypet's Brian2 example programs 23 (an AdEx network) and 24 (the network framework),
written as pypetx tests at a size that runs in seconds (Brian2's numpy target).

pypet's example 23 builds and runs a network in the run function, storing its monitors
with ``Brian2MonitorResult``; example 24 writes the model as ``NetworkComponent``s run by
a ``NetworkRunner`` in ordered sub-runs and a ``NetworkManager`` (CUBA-like here). The
tests assert what pypet stores: spikes and states of every run, with their units.
"""

from __future__ import annotations

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2", reason="brian2 is not installed (extra 'brian2')")

from brian2 import (  # noqa: E402
    Network,
    NeuronGroup,
    SpikeMonitor,
    StateMonitor,
    Synapses,
    linspace,
    ms,
    mV,
    nA,
    nS,
    pF,
)

from pypetx import Trajectory, pypetconstants  # noqa: E402
from pypetx.environment import Environment  # noqa: E402
from pypetx.integrations.brian2 import (  # noqa: E402
    Brian2MonitorResult,
    Brian2Parameter,
    NetworkAnalyser,
    NetworkComponent,
    NetworkManager,
    NetworkRunner,
    as_quantity,
)
from pypetx.store.ragged import get_ragged  # noqa: E402
from pypetx.utils.explore import cartesian_product  # noqa: E402



@pytest.fixture(autouse=True)
def numpy_target():
    """Brian2's numpy target (no compilation), as example 24's runscript sets it."""
    old, brian2.prefs.codegen.target = brian2.prefs.codegen.target, "numpy"
    yield
    brian2.prefs.codegen.target = old


# -- example 23: an AdEx network built in the run function --------------------------------------

def add_params(traj):
    traj.v_standard_parameter = Brian2Parameter
    traj.v_fast_access = True
    traj.f_add_parameter("Net.C", 281 * pF)
    traj.f_add_parameter("Net.gL", 30 * nS)
    traj.f_add_parameter("Net.EL", -70.6 * mV)
    traj.f_add_parameter("Net.VT", -50.4 * mV)
    traj.f_add_parameter("Net.DeltaT", 2 * mV)
    traj.f_add_parameter("Net.tauw", 40 * ms)
    traj.f_add_parameter("Net.a", 4 * nS)
    traj.f_add_parameter("Net.b", 0.08 * nA)
    traj.f_add_parameter("Net.I", 0.8 * nA)
    traj.f_add_parameter("Net.Vcut", "vm > 0*mV")  # Brian2Parameter holds strings too
    traj.f_add_parameter("Net.N", 5)
    eqs = """
    dvm/dt=(gL*(EL-vm)+gL*DeltaT*exp((vm-VT)/DeltaT)+I-w)/C : volt
    dw/dt=(a*(vm-EL)-w)/tauw : amp
    Vr:volt
    """
    traj.f_add_parameter("Net.eqs", eqs)
    traj.f_add_parameter("reset", "vm=Vr;w+=b")


def _adex(traj):
    namespace = traj.Net.f_to_dict(short_names=True, fast_access=True)
    neuron = NeuronGroup(traj.N, model=traj.eqs, threshold=traj.Vcut, reset=traj.reset,
                         namespace=namespace, method="euler")
    neuron.vm = traj.EL
    neuron.w = traj.a * (neuron.vm - traj.EL)
    neuron.Vr = linspace(-48.3 * mV, -47.7 * mV, traj.N)
    net = Network(neuron)
    net.run(10 * ms)  # discard the first spikes
    spikes = SpikeMonitor(neuron)
    state = StateMonitor(neuron, variables=["vm"], record=[1, 2, 3])
    net.add(spikes, state)
    net.run(50 * ms)
    return spikes, state


def run_net(traj):
    spikes, state = _adex(traj)
    traj.f_add_result(Brian2MonitorResult, "SpikeMonitor", spikes)
    traj.f_add_result(Brian2MonitorResult, "StateMonitorV", state)


def run_net_standard_result(traj):
    """Example 23 verbatim: the standard result class set inside the run."""
    spikes, state = _adex(traj)
    traj.v_standard_result = Brian2MonitorResult
    traj.f_add_result("SpikeMonitor", spikes)
    traj.f_add_result("StateMonitorV", state)


def _example_23(tmp_path, run_function):
    filename = str(tmp_path / "example_23.hdf5")
    with pytest.warns(DeprecationWarning, match="no effect on Dask"):
        env = Environment(trajectory="Example_23_BRIAN2", filename=filename,
                          file_title="Example_23_Brian2", comment="Go Brian2!",
                          dynamically_imported_classes=[Brian2MonitorResult, Brian2Parameter],
                          cluster="synchronous")
    traj = env.trajectory
    add_params(traj)
    traj.f_explore(cartesian_product({traj.f_get("N").v_full_name: [5, 6],
                                      traj.f_get("tauw").v_full_name: [30 * ms, 40 * ms]}))
    env.run(run_function)
    env.disable_logging()
    return env, filename


@pytest.mark.slow
def test_example_23_brian2_network(tmp_path):
    env, filename = _example_23(tmp_path, run_net)
    traj, ds = env.trajectory, env.dataset
    assert bool(ds.completed.all()) and ds.completed.dims == ("N", "tauw")
    assert ds.tauw.attrs["units"] == "ms" and ds.tauw.values.tolist() == [30.0, 40.0]
    totals = {}
    for run_name in traj.f_iter_runs():
        n, tauw = traj.N, traj.tauw
        spikes = traj.crun.SpikeMonitor            # the monitor's arrays, read from the cube
        assert len(spikes.count) == n              # one spike count per neuron
        assert int(spikes.count.sum()) == len(spikes.t) == len(spikes.i) > 0
        assert set(spikes.i.tolist()) <= set(range(n))
        assert 10.0 <= spikes.t.min() and spikes.t.max() <= 60.0   # ms, the measured part
        state = traj.res.runs.f_get(run_name).StateMonitorV
        assert state.record.tolist() == [1, 2, 3] and state.vm.shape == (500, 3)  # time x neuron
        totals[int(n), float(tauw / ms)] = int(spikes.count.sum())
    # a slower adaptation current (larger tauw) accumulates: fewer spikes
    assert totals[5, 40.0] < totals[5, 30.0] and totals[6, 40.0] < totals[6, 30.0]
    # units stay with the stored monitors
    assert ds["SpikeMonitor.t"].attrs["units"] == "ms"
    assert ds["StateMonitorV.vm"].attrs["units"] == "mV"
    assert as_quantity(ds["StateMonitorV.vm"]).dim == mV.dim
    assert len(get_ragged(ds, "SpikeMonitor.t", N=6, tauw=40.0)) == totals[6, 40.0]
    counts = traj.f_get_from_runs("SpikeMonitor.count", fast_access=True)
    assert [int(c.sum()) for c in counts.values()] == [
        totals[5, 30.0], totals[5, 40.0], totals[6, 30.0], totals[6, 40.0]]
    assert set(traj.f_get_from_runs("SpikeMonitor")["run_00000000"].f_to_dict()) == {
        "t", "i", "count"}

    loaded = Trajectory(filename=filename)
    loaded.f_load(index=-1, load_results=pypetconstants.LOAD_DATA)
    assert loaded.f_get("C").f_get() == 281 * pF           # quantities come back as such
    assert loaded.f_get("Vcut").f_get() == "vm > 0*mV"
    assert loaded.f_get("C").units == "pF"
    assert int(loaded.dataset["SpikeMonitor.count_count"].sel(N=6, tauw=40.0)) == 6


@pytest.mark.slow
def test_example_23_standard_result_set_inside_the_run(tmp_path):
    env, _ = _example_23(tmp_path, run_net_standard_result)
    assert "SpikeMonitor.t" in env.dataset


@pytest.mark.slow
def test_example_23_loaded_exploration_of_quantities(tmp_path):
    _, filename = _example_23(tmp_path, run_net)
    loaded = Trajectory(filename=filename)
    loaded.f_load(index=-1)
    assert loaded.f_get("tauw").f_get_range() == (30 * ms, 40 * ms, 30 * ms, 40 * ms)
    assert loaded.res.runs.run_00000003.SpikeMonitor.count.size == 6


# -- example 24: the network framework (a small CUBA network) ------------------------------------

def _explored_parameters_in_group(traj, group_node):
    return any(name.startswith(group_node.v_full_name + ".")
               for name in traj.f_get_explored_parameters())


class CUBANeurons(NetworkComponent):
    """Integrate-and-fire neurons; pre-built when none of their parameters is explored."""

    @staticmethod
    def add_parameters(traj):
        traj.v_standard_parameter = Brian2Parameter
        traj.f_add_parameter("model.N", 100, comment="number of neurons")
        traj.f_add_parameter("model.taum", 20 * ms, comment="membrane time constant")
        traj.f_add_parameter("model.taue", 5 * ms)
        traj.f_add_parameter("model.taui", 10 * ms)
        traj.f_add_parameter("model.El", -49 * mV, comment="resting potential (drive)")
        traj.f_add_parameter("model.eqs", """
            dv/dt  = (ge + gi - (v - El)) / taum : volt (unless refractory)
            dge/dt = -ge / taue : volt
            dgi/dt = -gi / taui : volt
            """)
        traj.f_add_parameter("model.V_th", "v > -50*mV", comment="threshold")
        traj.f_add_parameter("model.reset_func", "v = -60*mV")
        traj.f_add_parameter("model.refractory", 5 * ms)

    def pre_build(self, traj, brian_list, network_dict):
        self._pre_build = not _explored_parameters_in_group(traj, traj.parameters.model)
        if self._pre_build:
            self._build_model(traj, brian_list, network_dict)

    def build(self, traj, brian_list, network_dict):
        if not getattr(self, "_pre_build", False):
            self._build_model(traj, brian_list, network_dict)

    def _build_model(self, traj, brian_list, network_dict):
        model = traj.parameters.model
        namespace = model.f_to_dict(short_names=True, fast_access=True)
        neurons = NeuronGroup(model.N, model.eqs, threshold=model.V_th, reset=model.reset_func,
                              refractory=model.refractory, method="exact", namespace=namespace)
        neurons.v = -60 * mV + np.random.default_rng(1).random(model.N) * 10 * mV
        brian_list.append(neurons)
        network_dict["neurons"] = neurons
        network_dict.setdefault("built", []).append("neurons")


class CUBAConnections(NetworkComponent):
    """Random excitatory and inhibitory synapses (their weight is explored: built per run)."""

    @staticmethod
    def add_parameters(traj):
        traj.v_standard_parameter = Brian2Parameter
        traj.f_add_parameter("connections.p", 0.05, comment="connection probability")
        traj.f_add_parameter("connections.we", 1.62 * mV, comment="excitatory weight")
        traj.f_add_parameter("connections.wi", -9 * mV, comment="inhibitory weight")

    def build(self, traj, brian_list, network_dict):
        conn, neurons = traj.connections, network_dict["neurons"]
        n_exc = int(0.8 * len(neurons))
        exc = Synapses(neurons[:n_exc], neurons, on_pre="ge += we", namespace={"we": conn.we})
        inh = Synapses(neurons[n_exc:], neurons, on_pre="gi += wi", namespace={"wi": conn.wi})
        exc.connect(p=conn.p)
        inh.connect(p=conn.p)
        brian_list.extend([exc, inh])
        network_dict["connections"] = [exc, inh]


class CUBARunner(NetworkRunner):
    """An initial sub-run, then the measured one (pypet orders them by annotation)."""

    def add_parameters(self, traj):
        par = traj.f_add_parameter(Brian2Parameter, "simulation.durations.initial_run",
                                   20 * ms, comment="initialisation")
        par.v_annotations.order = 0
        par = traj.f_add_parameter(Brian2Parameter, "simulation.durations.measurement_run",
                                   100 * ms, comment="measured")
        par.v_annotations.order = 1


class CUBAMonitorAnalysis(NetworkAnalyser):
    """Monitors added for the measurement sub-run; stored when the last sub-run ended."""

    @staticmethod
    def add_parameters(traj):
        traj.f_add_parameter("analysis.neuron_records", (0, 1, 50), comment="recorded neurons")

    def add_to_network(self, traj, network, current_subrun, subrun_list, network_dict):
        if current_subrun.v_annotations.order == 1:
            self.spike_monitor = SpikeMonitor(network_dict["neurons"])
            self.V_monitor = StateMonitor(network_dict["neurons"], "v",
                                          record=list(traj.neuron_records))
            network.add(self.spike_monitor, self.V_monitor)
            network_dict["monitors"] = [self.spike_monitor, self.V_monitor]

    def remove_from_network(self, traj, network, current_subrun, subrun_list, network_dict):
        if current_subrun.v_annotations.order == 1:
            network.remove(*network_dict.pop("monitors"))

    def analyse(self, traj, network, current_subrun, subrun_list, network_dict):
        if len(subrun_list) == 0:
            traj.f_add_result(Brian2MonitorResult, "monitors.spikes_e", self.spike_monitor,
                              comment="The spiketimes of the excitatory population")
            traj.f_add_result(Brian2MonitorResult, "monitors.V", self.V_monitor,
                              comment="Membrane voltage of three neurons")
            rate = self.spike_monitor.num_spikes / len(network_dict["neurons"]) / \
                current_subrun.f_get()
            traj.f_add_result("statistics.rate", float(rate / brian2.Hz),
                              comment="mean rate (Hz) of " + current_subrun.v_name)
            traj.f_add_result("statistics.t_end", float(network.t / ms))
            traj.f_add_result("statistics.built", ",".join(network_dict["built"]))


class CUBAFanoFactor(NetworkAnalyser):
    """pypet example 24's second analyser reads the first one's result back in the run."""

    def analyse(self, traj, network, current_subrun, subrun_list, network_dict):
        if len(subrun_list) == 0:
            spikes = traj.results.monitors.spikes_e
            traj.f_add_result("statistics.n_spikes", len(spikes.t))


def _example_24(tmp_path, analysers, cluster="synchronous", **options):
    env = Environment(trajectory="Clustered_Network", add_time=False,
                      filename=str(tmp_path / "example_24.hdf5"), continuable=False,
                      lazy_debug=False, overwrite_file=True, cluster=cluster, **options)
    traj = env.trajectory
    traj.f_add_parameter("simulation.scale", 1.0, comment="meta parameter")
    manager = NetworkManager(network_runner=CUBARunner(),
                             component_list=(CUBANeurons(), CUBAConnections()),
                             analyser_list=analysers)
    manager.add_parameters(traj)
    traj.f_explore({"we": [0.5 * mV, 3.0 * mV]})
    manager.pre_build(traj)
    traj.f_store()  # store the parameters before the runs, as example 24 does
    env.run(manager.run_network)
    return env


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_example_24_network_framework_cuba(tmp_path):
    env = _example_24(tmp_path, (CUBAMonitorAnalysis(),))
    ds = env.dataset
    assert bool(ds.completed.all()) and ds.completed.dims == ("run",)  # explored by a dict
    traj = env.trajectory
    # the sub-runs ran in their order: 20 ms initial, then 100 ms measured
    assert traj.f_get_from_runs("statistics.t_end", fast_access=True, use_indices=True) == {
        0: 120.0, 1: 120.0}
    # neurons were pre-built once (their parameters are not explored) and reused
    assert set(ds["statistics.built"].values.tolist()) == {"neurons"}
    rates = traj.f_get_from_runs("rate", fast_access=True, use_indices=True)
    assert 0 < rates[0] < rates[1]        # stronger excitation, higher rate
    assert ds["statistics.rate"].attrs["comment"] == "mean rate (Hz) of measurement_run"
    for idx in (0, 1):
        traj.v_idx = idx
        spikes = traj.crun.monitors.spikes_e
        assert int(spikes.count.sum()) == len(spikes.t) == \
            round(rates[idx] * traj.N * 0.1)  # rate * neurons * 100 ms
        assert 20.0 <= spikes.t.min() and spikes.t.max() < 120.0  # only the measured part
        v = traj.crun.monitors.V
        assert v.record.tolist() == [0, 1, 50] and v.v.shape == (1000, 3)
    traj.f_restore_default()
    assert ds["monitors.V.v"].attrs["units"] == "mV" and ds["monitors.spikes_e.t"].attrs[
        "units"] == "ms"
    assert ds.we.attrs["units"] == "mV"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_example_24_analyser_reads_a_result_of_the_same_run(tmp_path):
    env = _example_24(tmp_path, (CUBAMonitorAnalysis(), CUBAFanoFactor()))
    assert "statistics.n_spikes" in env.dataset


def test_network_runner_takes_pypets_arguments():
    runner = NetworkRunner("text", 5 * ms, durations_group_name="sim.durations",
                           pre_durations_group_name="sim.pre")
    assert (runner.report, runner.report_period) == ("text", 5 * ms)
    assert (runner.durations_group, runner.pre_durations_group) == ("sim.durations", "sim.pre")
    manager = NetworkManager(runner, [CUBANeurons()], [CUBAMonitorAnalysis()])
    assert manager.components == manager.component_list and len(manager.analysers) == 1
    component = CUBANeurons()
    component._set_logger()
    assert component._logger.name.endswith("CUBANeurons")
