"""Brian2 integration on the real package: quantities as an explorable kind, monitors
stored with units, the network framework, numpy and cython targets on Dask workers."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2", reason="brian2 is not installed (extra 'brian2')")

from brian2 import Hz, NeuronGroup, PopulationRateMonitor, SpikeMonitor, StateMonitor, mV, ms  # noqa: E402

from pypetx import Environment, cartesian_product  # noqa: E402
from pypetx.integrations.brian2 import (  # noqa: E402
    Brian2MonitorResult,
    Brian2Parameter,
    NetworkAnalyser,
    NetworkComponent,
    NetworkManager,
    NetworkRunner,
    add_result,
    as_quantity,
    parse_units,
)
from pypetx.kinds import check_compatible, decode, encode, kind_of  # noqa: E402
from pypetx.store.load import read_tree  # noqa: E402
from pypetx.store.ragged import get_ragged  # noqa: E402


def test_importing_pypetx_does_not_import_brian2():
    code = "import sys, pypetx, pypetx.integrations; print('brian2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("value", [10 * ms, np.array([1.0, 2.5]) * mV, 3 * mV / ms, 5 * Hz])
def test_quantity_kind_round_trip(value):
    assert kind_of(value) == "quantity"
    data, attrs = encode(value)
    assert attrs["pypetx_kind"] == "quantity" and attrs["units"]
    back = decode(data, attrs)
    assert isinstance(back, brian2.Quantity) and back.dim == value.dim
    assert np.array_equal(np.asarray(back), np.asarray(value)) and np.ndim(back) == np.ndim(value)


def test_quantities_must_keep_their_dimensions():
    check_compatible("tau", 10 * ms, 20 * ms)
    with pytest.raises(TypeError, match="dimensions"):
        check_compatible("tau", 10 * ms, 20 * mV)
    with pytest.raises(TypeError, match="kind .quantity."):
        check_compatible("tau", 10 * ms, 0.02)
    plain = Brian2Parameter("threshold", "v > 1")  # pypet's Brian2Parameter holds any value
    assert plain.value == "v > 1" and plain.kind != "quantity" and plain.units is None
    assert Brian2Parameter("tau", 10 * ms).units == "ms"


def test_parse_units_is_safe_and_reads_cf():
    assert parse_units("ms") == ms and parse_units("mV/ms") == mV / ms
    assert parse_units("m^2 kg s^-3 A^-1") == brian2.volt
    with pytest.raises(ValueError):
        parse_units("__import__('os').system('true')")


def _rates(traj):
    # the run view hands real quantities (explored and default) to the function
    assert isinstance(traj.tau, brian2.Quantity) and traj.tau.dim == ms.dim
    assert isinstance(traj.v0, brian2.Quantity)
    add_result(traj, "rate", 1 / traj.tau, comment="inverse")
    add_result(traj, "v", traj.v0 * float(traj.tau / ms))


@pytest.mark.parametrize("storage", ["h5", "zarr"])
def test_explored_quantities_keep_units(tmp_path, storage):
    env = Environment("q", filename=str(tmp_path / f"q.{storage}"), cluster="synchronous")
    traj = env.trajectory
    traj.f_add_parameter(Brian2Parameter, "tau", 10 * ms, comment="time constant")
    traj.f_add_parameter("v0", np.array([1.0, 2.0]) * mV)
    traj.f_explore(cartesian_product({"tau": [5 * ms, 7 * ms, 10 * ms]}))
    env.run(_rates)
    ds = env.dataset
    assert ds.tau.attrs["units"] == "ms" and ds.tau.values.tolist() == [5.0, 7.0, 10.0]
    assert ds.rate.attrs["units"] == "Hz"
    rate = as_quantity(ds.rate)
    assert np.allclose(np.asarray(rate), 1 / np.array([5e-3, 7e-3, 10e-3]))
    assert ds.v.attrs["units"] == "mV" and as_quantity(ds.v.sel(tau=10))[1] == 20 * mV
    records, _ = read_tree(tmp_path / f"q.{storage}", "q")
    tau = next(r for r in records if r["path"] == "parameters.tau")
    assert tau["value"] == 10 * ms and tau["units"] == "ms"


def _monitors(traj):
    group = NeuronGroup(4, "dv/dt = (drive - v) / (10*ms) : 1", threshold="v > 1",
                        reset="v = 0", method="exact", namespace={"drive": traj.drive})
    group.v = np.linspace(0, 0.9, 4)
    spikes, state, rate = SpikeMonitor(group), StateMonitor(group, "v", record=[0, 2]), \
        PopulationRateMonitor(group)
    net = brian2.Network(group, spikes, state, rate)
    net.run(traj.duration)
    add_result(traj, "spikes", spikes)
    add_result(traj, "state", state)
    add_result(traj, "pop", rate)


def test_monitors_are_stored_with_units_and_ragged_spikes(tmp_path):
    env = Environment("m", filename=str(tmp_path / "m.h5"), cluster="synchronous")
    traj = env.trajectory
    traj.f_add_parameter("drive", 1.5)
    traj.f_add_parameter("duration", 50 * ms)
    traj.f_explore(cartesian_product({"drive": [1.2, 3.0]}))
    env.run(_monitors)
    ds = env.dataset
    low, high = get_ragged(ds, "spikes.t", drive=1.2), get_ragged(ds, "spikes.t", drive=3.0)
    assert ds["spikes.t"].attrs["units"] == "ms" and 0 < len(low) < len(high)
    assert len(get_ragged(ds, "spikes.i", drive=3.0)) == len(high)
    assert ds["spikes.count"].sel(drive=3.0).sum() == len(high)
    assert ds["state.v"].dims == ("drive", "state_time", "state_index")
    assert ds["state.t"].attrs["units"] == "ms" and ds.sizes["state_index"] == 2
    assert ds["pop.rate"].attrs["units"] == "Hz"
    assert float(as_quantity(ds["pop.t"].sel(drive=3.0))[-1] / ms) == pytest.approx(49.9)


def _pypet_style_monitors(traj):
    from pypetx.integrations.brian2 import Brian2MonitorResult, Brian2Result

    group = NeuronGroup(3, "dv/dt = (drive - v) / (10*ms) : 1", threshold="v > 1",
                        reset="v = 0", namespace={"drive": traj.drive}, method="exact")
    spikes = SpikeMonitor(group)
    net = brian2.Network(group, spikes)
    net.run(traj.duration)
    traj.f_add_result(Brian2MonitorResult, "spikes", spikes, comment="pypet's form")
    traj.f_add_result(Brian2Result, "window", traj.duration)


def test_pypet_result_classes_inside_runs(tmp_path):
    env = Environment("p", filename=str(tmp_path / "p.h5"), cluster="synchronous")
    traj = env.trajectory
    traj.f_add_parameter("drive", 1.5)
    traj.f_add_parameter("duration", 30 * ms)
    traj.f_explore(cartesian_product({"drive": [1.2, 3.0]}))
    env.run(_pypet_style_monitors)
    ds = env.dataset
    assert ds["spikes.t"].attrs["units"] == "ms" and ds["spikes.t"].attrs["comment"] == "pypet's form"
    assert len(get_ragged(ds, "spikes.t", drive=3.0)) > len(get_ragged(ds, "spikes.t", drive=1.2))
    assert ds["window"].attrs["units"] == "ms"
    np.testing.assert_allclose(ds["window"].values, [30.0, 30.0])


def test_monitor_result_outside_runs():
    group = NeuronGroup(2, "dv/dt = (2 - v) / (10*ms) : 1", threshold="v > 1", reset="v = 0",
                        method="exact")
    mon = SpikeMonitor(group)
    brian2.Network(group, mon).run(30 * ms)
    res = Brian2MonitorResult("spikes", mon)
    assert res.item_units == {"t": "ms", "i": None, "count": None}
    assert len(res.t) == len(res.i) == mon.num_spikes


# -- the network framework -----------------------------------------------------------------

class Neurons(NetworkComponent):
    def add_parameters(self, traj):
        traj.f_add_parameter("neurons.N", 8)
        traj.f_add_parameter("neurons.tau", 10 * ms)
        traj.f_add_parameter("neurons.drive", 1.5)

    def pre_build(self, traj, brian_list, network_dict):
        network_dict["log"] = network_dict.get("log", []) + ["pre_build"]

    def build(self, traj, brian_list, network_dict):
        p = traj.parameters.neurons
        group = NeuronGroup(p.N, "dv/dt = (drive - v) / tau : 1", threshold="v > 1",
                            reset="v = 0", method="exact",
                            namespace={"drive": p.drive, "tau": p.tau})
        brian_list.append(group)
        network_dict["neurons"] = group


class Recorder(NetworkAnalyser):
    def build(self, traj, brian_list, network_dict):
        network_dict["spikes"] = SpikeMonitor(network_dict["neurons"])
        network_dict["subruns"] = []

    def add_to_network(self, traj, network, current_subrun, subrun_list, network_dict):
        network_dict["subruns"].append(current_subrun.name)
        if current_subrun.name == "measure":
            network.add(network_dict["spikes"])

    def analyse(self, traj, network, current_subrun, subrun_list, network_dict):
        if current_subrun.name == "measure":
            mon = network_dict["spikes"]
            add_result(traj, "spikes", mon)
            add_result(traj, "rate", mon.num_spikes / len(network_dict["neurons"])
                       / current_subrun.duration)
            traj.f_add_result("order", ",".join(network_dict["subruns"]))
            traj.f_add_result("t_end", float(network.t / ms))


def _framework(tmp_path, cluster, target="numpy", pre_build=False, **options):
    env = Environment("net", filename=str(tmp_path / "net.h5"), cluster=cluster, **options)
    traj = env.trajectory
    manager = NetworkManager(NetworkRunner(), [Neurons()], [Recorder()], codegen_target=target,
                             cython_cache_dir=str(tmp_path / "cython"))
    manager.add_parameters(traj)
    # declared out of order: the order annotation decides
    traj.f_add_parameter("simulation.durations.measure", 40 * ms)
    traj.f_add_parameter("simulation.durations.init", 20 * ms)
    traj.f_get("simulation.durations.measure").set_annotations(order=1)
    traj.f_get("simulation.durations.init").set_annotations(order=0)
    traj.f_explore(cartesian_product({"neurons.tau": [5 * ms, 20 * ms],
                                      "simulation.durations.measure": [40 * ms, 60 * ms]}))
    if pre_build:
        manager.pre_build(traj)
    env.run(manager.run_network)
    return env.dataset


def test_network_framework_subruns_in_order(tmp_path):
    ds = _framework(tmp_path, "synchronous")
    assert set(np.asarray(ds.order.values).ravel()) == {"init,measure"}
    # explored sub-run durations: the network ran init + measure
    assert ds.t_end.sel(tau=5, measure=60).values.item() == pytest.approx(80.0)
    assert ds.measure.attrs["units"] == "ms"
    fast = ds.rate.sel(tau=5, measure=40).values.item()
    slow = ds.rate.sel(tau=20, measure=40).values.item()
    assert fast > slow > 0 and ds.rate.attrs["units"] == "Hz"


def test_network_framework_pre_build_on_local_cluster_numpy(tmp_path):
    ds = _framework(tmp_path, "local", pre_build=True, n_workers=2)
    assert bool(ds.completed.all()) and ds.t_end.sel(tau=20, measure=40).values.item() == \
        pytest.approx(60.0)
    assert len(set(np.asarray(ds.worker.values).ravel())) >= 1


def test_cython_target_uses_a_cache_per_worker(tmp_path):
    pytest.importorskip("Cython", reason="the cython target needs Cython")
    ds = _framework(tmp_path, "local", target="cython", n_workers=2)
    assert bool(ds.completed.all())
    caches = sorted(p.name for p in (tmp_path / "cython").iterdir())
    assert caches and all(name.startswith("worker-") for name in caches)
    assert any((tmp_path / "cython" / c).iterdir() for c in caches)  # compiled there
