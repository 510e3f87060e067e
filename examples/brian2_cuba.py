"""
Brian2: a CUBA network swept with pypet's network framework
===========================================================

A CUBA network (Vogels & Abbott 2005) swept over 2 parameters with pypet's network
framework: mean firing rate and CV of the inter-spike intervals per point, plus a plot.

Run ``python examples/brian2_cuba.py`` (about 30 s on 4 cores) or with ``--small``.
Brian2's numpy target is used (``--target cython`` compiles, once per worker).
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from brian2 import NeuronGroup, PopulationRateMonitor, SpikeMonitor, Synapses, mV, ms

from pypetx import Environment, cartesian_product, get_ragged_at
from pypetx.integrations.brian2 import (
    NetworkAnalyser,
    NetworkComponent,
    NetworkManager,
    NetworkRunner,
    add_result,
)

EQS = """
dv/dt  = (ge + gi - (v - El)) / taum : volt (unless refractory)
dge/dt = -ge / taue : volt
dgi/dt = -gi / taui : volt
"""


class CUBANeurons(NetworkComponent):
    """Leaky integrate-and-fire neurons with current-based synapses."""

    def add_parameters(self, traj):
        traj.f_add_parameter("neurons.N", 1000, comment="number of neurons")
        traj.f_add_parameter("neurons.taum", 20 * ms)
        traj.f_add_parameter("neurons.El", -49 * mV, comment="resting potential (drive)")
        traj.f_add_parameter("neurons.Vt", -50 * mV)
        traj.f_add_parameter("neurons.Vr", -60 * mV)
        traj.f_add_parameter("neurons.refractory", 5 * ms)

    def build(self, traj, brian_list, network_dict):
        p = traj.parameters.neurons
        namespace = {"taum": p.taum, "El": p.El, "taue": 5 * ms, "taui": 10 * ms}
        group = NeuronGroup(p.N, EQS, threshold=f"v > {float(p.Vt / mV)}*mV",
                            reset=f"v = {float(p.Vr / mV)}*mV", refractory=p.refractory,
                            method="exact", namespace=namespace, name="neurons")
        rng = np.random.default_rng(traj.v_idx)
        group.v = (p.Vr + rng.random(p.N) * (p.Vt - p.Vr))
        brian_list.append(group)
        network_dict["neurons"] = group


class CUBAConnections(NetworkComponent):
    """Sparse random excitatory (80 %) and inhibitory (20 %) connections."""

    def add_parameters(self, traj):
        traj.f_add_parameter("connections.p", 0.05, comment="connection probability")
        traj.f_add_parameter("connections.we", 1.62 * mV, comment="excitatory weight")
        traj.f_add_parameter("connections.wi", -9.0 * mV, comment="inhibitory weight")

    def build(self, traj, brian_list, network_dict):
        c, group = traj.parameters.connections, network_dict["neurons"]
        n_exc = int(0.8 * len(group))
        exc = Synapses(group[:n_exc], group, on_pre="ge += we", namespace={"we": c.we})
        inh = Synapses(group[n_exc:], group, on_pre="gi += wi", namespace={"wi": c.wi})
        exc.connect(p=c.p)
        inh.connect(p=c.p)
        brian_list.extend([exc, inh])


class SpikeAnalyser(NetworkAnalyser):
    """Records spikes only during the ``measure`` sub-run, then rate and CV of ISIs."""

    def build(self, traj, brian_list, network_dict):
        network_dict["spikes"] = SpikeMonitor(network_dict["neurons"], name="spikes")
        network_dict["rate"] = PopulationRateMonitor(network_dict["neurons"], name="rate")

    def add_to_network(self, traj, network, current_subrun, subrun_list, network_dict):
        if current_subrun.name == "measure":
            network.add(network_dict["spikes"], network_dict["rate"])

    def remove_from_network(self, traj, network, current_subrun, subrun_list, network_dict):
        if current_subrun.name == "measure":
            network.remove(network_dict["spikes"], network_dict["rate"])

    def analyse(self, traj, network, current_subrun, subrun_list, network_dict):
        if current_subrun.name != "measure":
            return
        mon = network_dict["spikes"]
        duration = current_subrun.duration
        rate = mon.num_spikes / len(network_dict["neurons"]) / duration
        add_result(traj, "spikes", mon, comment="spikes of the measure sub-run")
        add_result(traj, "rate", rate, comment="mean firing rate")
        add_result(traj, "cv", cv_isi(mon), comment="mean CV of inter-spike intervals")


def cv_isi(mon) -> float:
    """Mean over neurons with >= 3 spikes of std(ISI)/mean(ISI) (NaN if none)."""
    cvs = []
    for times in mon.spike_trains().values():
        isi = np.diff(np.asarray(times))
        if len(isi) >= 2 and isi.mean() > 0:
            cvs.append(isi.std() / isi.mean())
    return float(np.mean(cvs)) if cvs else float("nan")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="tiny network, 2x2 grid")
    parser.add_argument("--target", default="numpy", choices=["numpy", "cython"])
    parser.add_argument("--out", default="brian2_cuba")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    filename = os.path.join(args.out, "cuba.h5")

    env = Environment(trajectory="cuba", filename=filename, overwrite_file=True,
                      n_workers=args.workers, comment="CUBA network sweep")
    traj = env.trajectory
    manager = NetworkManager(NetworkRunner(), [CUBANeurons(), CUBAConnections()],
                             [SpikeAnalyser()], codegen_target=args.target)
    manager.add_parameters(traj)
    traj.f_add_parameter("simulation.durations.init", 50 * ms, comment="transient")
    traj.f_add_parameter("simulation.durations.measure", 250 * ms, comment="recorded")
    traj.f_get("simulation.durations.init").set_annotations(order=0)
    traj.f_get("simulation.durations.measure").set_annotations(order=1)
    if args.small:
        traj.f_get("neurons.N").set(200)
        traj.f_get("simulation.durations.measure").set(100 * ms)
        grid = {"neurons.El": [-49 * mV, -47 * mV], "connections.we": [1.0 * mV, 2.0 * mV]}
    else:
        grid = {"neurons.El": [-49.5 * mV, -49 * mV, -48 * mV, -47 * mV],
                "connections.we": [0.5 * mV, 1.0 * mV, 1.62 * mV, 2.5 * mV]}
    traj.f_explore(cartesian_product(grid))
    env.run(manager.run_network)

    ds = env.dataset
    print(ds[["rate", "cv"]].load())
    first = get_ragged_at(ds, "spikes.t", El=0, we=0)
    print(f"run 0: {len(first)} spikes, units of spikes.t: {ds['spikes.t'].attrs['units']}")
    plot(ds, os.path.join(args.out, "cuba.png"))
    return ds


def plot(ds, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), constrained_layout=True)
    for ax, name in zip(axes, ["rate", "cv"]):
        ds[name].plot(ax=ax, x="we", y="El")
        ax.set_title(f"{name} [{ds[name].attrs.get('units', '')}]")
    fig.savefig(path, dpi=100)
    print("saved", path)


if __name__ == "__main__":
    main()
