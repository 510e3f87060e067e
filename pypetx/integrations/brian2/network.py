"""pypet's Brian2 network framework on Dask: components, analysers, a runner, a manager.

A model is written once as :class:`NetworkComponent` objects (neurons, synapses, inputs)
and :class:`NetworkAnalyser` objects (monitors and what is computed from them). A
:class:`NetworkRunner` runs the network in *sub-runs* whose durations are parameters in
``parameters.simulation.durations`` (ordered by their ``order`` annotation), and the
:class:`NetworkManager` ties the phases together; ``env.run(manager.run_network)`` sweeps
it.

Phases of one run (as in pypet):

1. *pre-build* (optional, :meth:`NetworkManager.pre_build`): components that do not depend
   on explored parameters build their objects once, and
2. *pre-run* (optional, :meth:`NetworkManager.pre_run_network`): the pre-built network is
   simulated once (sub-runs from ``parameters.simulation.pre_durations``), e.g. to reach a
   steady state; every run starts from that state.
3. *build*: the remaining objects are built for the run's parameters;
4. *run*: for each sub-run, components, analysers and the runner add their objects to the
   network (``add_to_network``), the network runs for the sub-run's duration, the
   analysers ``analyse`` it, and everything is asked to ``remove_from_network``.

pypet pre-built in the main process and copied the network to its workers. Brian2 objects
do not pickle, so here pre-build and pre-run happen once *per Dask worker process* (the
first run a worker executes), after which the state is stored with ``Network.store`` and
every later run on that worker starts from ``Network.restore``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pypetx.integrations.brian2.codegen import use_target

__all__ = ["NetworkAnalyser", "NetworkComponent", "NetworkManager", "NetworkRunner", "Subrun",
           "run_network"]

_PRE_STATE = "pypetx_pre_run"
# Per worker process: manager token -> (network, network_dict) after pre-build/pre-run.
_WORKER_NETWORKS: dict[str, tuple[Any, dict]] = {}


class NetworkComponent:
    """A part of the model. Override the phases you need; all default to doing nothing.

    ``brian_list`` collects Brian2 objects for the network; ``network_dict`` is shared by
    all components of a run (put objects there that others need, e.g. the neuron group).
    ``self._logger`` logs under the class's module and name (pypet's ``HasLogger``).
    """

    _logger = logging.getLogger("pypetx.integrations.brian2.network")

    def _set_logger(self, name: str | None = None) -> None:
        """pypet's ``HasLogger._set_logger``: ``self._logger`` named ``name`` (default:
        the class's module and name)."""
        if name is None:
            name = f"{type(self).__module__}.{type(self).__name__}"
        self._logger = logging.getLogger(name)

    def add_parameters(self, traj: Any) -> None:
        """Declare the parameters of this component (driver, before exploring)."""

    def pre_build(self, traj: Any, brian_list: list, network_dict: dict) -> None:
        """Build objects that do not depend on explored parameters (once per worker)."""

    def build(self, traj: Any, brian_list: list, network_dict: dict) -> None:
        """Build the objects of one run."""

    def add_to_network(self, traj: Any, network: Any, current_subrun: Subrun,
                       subrun_list: list[Subrun], network_dict: dict) -> None:
        """Add objects to ``network`` before ``current_subrun`` runs."""

    def remove_from_network(self, traj: Any, network: Any, current_subrun: Subrun,
                            subrun_list: list[Subrun], network_dict: dict) -> None:
        """Remove objects after ``current_subrun`` ran."""


class NetworkAnalyser(NetworkComponent):
    """A component that also analyses the network after every sub-run (e.g. stores
    monitors with :func:`~pypetx.integrations.brian2.add_result`)."""

    def analyse(self, traj: Any, network: Any, current_subrun: Subrun,
                subrun_list: list[Subrun], network_dict: dict) -> None:
        """Look at the network after ``current_subrun``; record results."""


@dataclass(frozen=True)
class Subrun:
    """One sub-run: a duration parameter of the durations group.

    ``v_name``, ``f_get()`` and ``v_annotations`` keep pypet code that inspects the
    current sub-run working.
    """

    name: str
    duration: Any
    order: float
    full_name: str
    annotations: dict

    @property
    def v_name(self) -> str:
        return self.name

    @property
    def v_full_name(self) -> str:
        return self.full_name

    @property
    def v_annotations(self) -> Any:
        from types import SimpleNamespace

        return SimpleNamespace(**self.annotations)

    def f_get(self) -> Any:
        return self.duration


class NetworkRunner(NetworkComponent):
    """Runs the network sub-run by sub-run.

    Parameters
    ----------
    report : str or callable, optional
        Brian2's ``report`` argument of ``Network.run`` (``"text"``, ``"stdout"``).
    report_period : Quantity, optional
        Brian2's ``report_period``.
    durations_group : str
        Group whose parameters are the durations of the sub-runs of every run.
    pre_durations_group : str
        Group of the pre-run's sub-runs.
    durations_group_name, pre_durations_group_name : str, optional
        pypet's names of the two above (pypet's positional order is the same).
    """

    def __init__(self, report: str | Callable | None = None, report_period: Any = None,
                 durations_group: str = "simulation.durations",
                 pre_durations_group: str = "simulation.pre_durations", *,
                 durations_group_name: str | None = None,
                 pre_durations_group_name: str | None = None) -> None:
        self.durations_group = durations_group_name or durations_group
        self.pre_durations_group = pre_durations_group_name or pre_durations_group
        self.report = report
        self.report_period = report_period

    def subruns(self, traj: Any, *, pre_run: bool = False) -> list[Subrun]:
        """The sub-runs of the run ``traj`` is at, sorted by their ``order`` annotation
        (parameters without one keep their declaration order, after the ordered ones)."""
        group_name = self.pre_durations_group if pre_run else self.durations_group
        try:
            group = traj.f_get(group_name)
        except Exception as err:  # noqa: BLE001 - any lookup error means: not declared
            raise LookupError(
                f"no sub-run durations: declare duration parameters in "
                f"parameters.{group_name} (e.g. traj.f_add_parameter("
                f"'{group_name}.run', 500*ms) with annotation order=0)") from err
        out = []
        for k, leaf in enumerate(group.iter_leaves()):
            order = leaf.annotations.get("order", 1e9 + k)
            out.append(Subrun(leaf.name, leaf.value, float(order), leaf.full_name,
                              dict(leaf.annotations)))
        out.sort(key=lambda s: s.order)
        return out

    def _run(self, traj: Any, network: Any, network_dict: dict,
             components: Sequence[NetworkComponent], analysers: Sequence[NetworkAnalyser],
             *, pre_run: bool) -> None:
        subrun_list = self.subruns(traj, pre_run=pre_run)
        parts = [*components, *analysers, self]
        while subrun_list:
            current = subrun_list.pop(0)
            for part in parts:
                part.add_to_network(traj, network, current, subrun_list, network_dict)
            kwargs: dict[str, Any] = {}
            if self.report is not None:
                kwargs["report"] = self.report
            if self.report_period is not None:
                kwargs["report_period"] = self.report_period
            network.run(current.duration, **kwargs)
            for analyser in analysers:
                analyser.analyse(traj, network, current, subrun_list, network_dict)
            for part in reversed(parts):
                part.remove_from_network(traj, network, current, subrun_list, network_dict)

    def execute_network_pre_run(self, traj: Any, network: Any, network_dict: dict,
                                component_list: Sequence[NetworkComponent],
                                analyser_list: Sequence[NetworkAnalyser]) -> None:
        """Run the pre-run sub-runs (``pre_durations_group``)."""
        self._run(traj, network, network_dict, component_list, analyser_list, pre_run=True)

    def execute_network_run(self, traj: Any, network: Any, network_dict: dict,
                            component_list: Sequence[NetworkComponent],
                            analyser_list: Sequence[NetworkAnalyser]) -> None:
        """Run the sub-runs of one run (``durations_group``)."""
        self._run(traj, network, network_dict, component_list, analyser_list, pre_run=False)


class NetworkManager:
    """Builds and runs a network of components for each explored point.

    Parameters
    ----------
    network_runner : NetworkRunner
    component_list : sequence of NetworkComponent
    analyser_list : sequence of NetworkAnalyser
    network_constructor : callable, optional
        Makes the network from the built objects (default ``brian2.Network``).
    codegen_target : {"numpy", "cython", "auto"}
        Brian2's code generation target on the workers.
    cython_cache_dir : path-like, optional
        Base of the per-worker Cython caches (see
        :func:`~pypetx.integrations.brian2.codegen.worker_cache_dir`).

    Examples
    --------
    >>> manager = NetworkManager(NetworkRunner(), [Neurons(), Synapses()], [Monitors()])
    >>> manager.add_parameters(traj)          # doctest: +SKIP
    >>> traj.f_explore(cartesian_product({"J": [...], "tau": [...]}))  # doctest: +SKIP
    >>> env.run(manager.run_network)          # doctest: +SKIP
    """

    def __init__(self, network_runner: NetworkRunner,
                 component_list: Sequence[NetworkComponent],
                 analyser_list: Sequence[NetworkAnalyser] = (),
                 network_constructor: Callable[..., Any] | None = None, *,
                 codegen_target: str = "numpy", cython_cache_dir: str | None = None) -> None:
        self.network_runner = network_runner
        self.component_list = list(component_list)
        self.analyser_list = list(analyser_list)
        self.network_constructor = network_constructor
        self.codegen_target = codegen_target
        self.cython_cache_dir = cython_cache_dir
        self._pre_built = False
        self._pre_run = False
        # Identifies this manager's pre-built networks in the worker cache.
        self._token = uuid.uuid4().hex

    @property
    def components(self) -> list[NetworkComponent]:
        """pypet's name of ``component_list``."""
        return self.component_list

    @property
    def analysers(self) -> list[NetworkAnalyser]:
        """pypet's name of ``analyser_list``."""
        return self.analyser_list

    def _parts(self) -> list[NetworkComponent]:
        return [*self.component_list, *self.analyser_list, self.network_runner]

    def add_parameters(self, traj: Any) -> None:
        """Let every component, analyser and the runner declare its parameters."""
        for part in self._parts():
            part.add_parameters(traj)

    def pre_build(self, traj: Any = None) -> None:
        """Build the pre-build phase once per worker instead of once per run."""
        self._pre_built = True
        self._token = uuid.uuid4().hex

    def pre_run_network(self, traj: Any = None) -> None:
        """Pre-build and simulate the pre-run sub-runs once per worker; every run then
        starts from the network's state at the end of the pre-run."""
        self.pre_build(traj)
        self._pre_run = True

    def _new_network(self, objects: list) -> Any:
        if self.network_constructor is not None:
            return self.network_constructor(*objects)
        from brian2 import Network

        return Network(*objects)

    def _prepared(self, traj: Any) -> tuple[Any, dict]:
        """The pre-built (and pre-run) network of this worker, restored to its state."""
        cached = _WORKER_NETWORKS.get(self._token)
        if cached is not None:
            network, network_dict = cached
            network.restore(_PRE_STATE)
            return network, network_dict
        objects: list = []
        network_dict: dict = {}
        for part in self._parts():
            part.pre_build(traj, objects, network_dict)
        network = self._new_network(objects)
        if self._pre_run:
            self.network_runner.execute_network_pre_run(traj, network, network_dict,
                                                        self.component_list, self.analyser_list)
        network.store(_PRE_STATE)
        _WORKER_NETWORKS.clear()  # one sweep at a time per worker: free older networks
        _WORKER_NETWORKS[self._token] = (network, network_dict)
        return network, network_dict

    def run_network(self, traj: Any) -> None:
        """Build and run the network for the run ``traj`` is at (pass to ``env.run``)."""
        use_target(self.codegen_target, cache_dir=self.cython_cache_dir)
        objects: list = []
        if self._pre_built:
            network, network_dict = self._prepared(traj)
        else:
            network_dict = {}
            network = None
        for part in self._parts():
            part.build(traj, objects, network_dict)
        if network is None:
            network = self._new_network(objects)
        elif objects:
            network.add(*objects)
        pre_built = set(network.objects) - set(objects) if self._pre_built else set()
        try:
            self.network_runner.execute_network_run(traj, network, network_dict,
                                                    self.component_list, self.analyser_list)
        finally:
            if self._pre_built:
                # Back to the pre-built objects: restore() refuses objects it did not store,
                # and the next run on this worker builds its own.
                extra = [obj for obj in network.objects if obj not in pre_built]
                if extra:
                    network.remove(*extra)

    __call__ = run_network


def run_network(traj: Any, network_manager: NetworkManager) -> None:
    """pypet's module-level form: ``env.run(run_network, manager)``."""
    network_manager.run_network(traj)
