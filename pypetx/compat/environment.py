"""The Environment users get: the plain one with pypet's names and options.

``pypetx.Environment`` (and pypet's ``Environment``) is :class:`Environment` here: it
creates the user-facing :class:`~pypetx.compat.trajectory.Trajectory`, accepts pypet's
options (``multiproc``/``ncores`` size the embedded cluster, ``memory_cap`` maps onto Dask's
pause threshold, the others are ignored with one warning) and the Sumatra integration.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

from pypetx.compat.envnames import EnvironmentCompat
from pypetx.compat.options import IGNORED_ENVIRONMENT_OPTIONS
from pypetx.compat.portable import portable
from pypetx.compat.trajectory import Trajectory
from pypetx.env import environment as plain
from pypetx.env.returns import RunReturns

__all__ = ["Environment", "RunReturns"]

_PLAIN_OPTIONS = frozenset(inspect.signature(plain.Environment.__init__).parameters) - {"self"}

_PYPET_DOC = """
    sumatra_project : str, optional
        Record the sweep in this Sumatra project (see docs/provenance.md).
    sumatra_label, sumatra_reason : str, optional
        Label and reason of the Sumatra record.
    **pypet_options
        pypet's options: ``multiproc=True`` with ``ncores=n`` sizes the embedded
        LocalCluster, ``memory_cap`` (percent) pauses workers above that share of their
        memory limit; those that have no meaning on Dask are accepted with a warning.
    """


def _trajectory_property(cls: type, key: str) -> str | None:
    """The trajectory's settable v_ property that pypet's option ``key`` names, or None."""
    name = key if key.startswith("v_") else f"v_{key}"
    prop = getattr(cls, name, None)
    return name if isinstance(prop, property) and prop.fset is not None else None


class Environment(EnvironmentCompat, plain.Environment):
    __doc__ = (plain.Environment.__doc__ or "").rstrip().removesuffix('"""').rstrip() \
        + "\n" + _PYPET_DOC

    trajectory_class = Trajectory

    def __init__(self, trajectory: str | Trajectory = "trajectory", filename: str | None = None,
                 comment: str = "", *, sumatra_project: str | None = None,
                 sumatra_label: str | None = None, sumatra_reason: str | None = None,
                 **options: Any) -> None:
        if filename is None and not isinstance(trajectory, str):
            # pypet: an environment of an existing trajectory uses its storage (file)
            filename = getattr(trajectory, "_store_path", None)
        pypet_options = {k: options.pop(k) for k in list(options) if k not in _PLAIN_OPTIONS}
        # pypet: the other keyword arguments set the trajectory's v_ properties
        # (``v_auto_load=False``, ``with_links=False``)
        traj_props = {k: pypet_options.pop(k) for k in list(pypet_options)
                      if _trajectory_property(self.trajectory_class, k)}
        memory_cap = pypet_options.pop("memory_cap", None)
        unknown = set(pypet_options) - IGNORED_ENVIRONMENT_OPTIONS
        if unknown:
            raise TypeError(f"Environment() got unexpected keyword arguments {sorted(unknown)}")
        if pypet_options:
            warnings.warn(
                f"pypet options {sorted(pypet_options)} have no effect on Dask and are "
                f"ignored (parallelism comes from the cluster; see docs/migrating.md)",
                DeprecationWarning, stacklevel=2,
            )
        ncores = pypet_options.get("ncores")
        embedded = options.get("cluster") in (None, "local") and options.get("client") is None \
            and options.get("executor") is None
        if options.get("n_workers") is None and ncores and pypet_options.get("multiproc") \
                and embedded:
            options["n_workers"] = int(ncores)  # pypet's process count sizes the cluster
        if memory_cap is not None and float(memory_cap) < 100:
            # Dask's own throttle: a worker whose memory use passes that fraction of its
            # limit pauses (takes no new tasks) until it drops.
            options["dask_config"] = {**(options.get("dask_config") or {}),
                                      "distributed.worker.memory.pause": float(memory_cap) / 100}
        super().__init__(trajectory, filename, comment, **options)
        for key, value in traj_props.items():
            setattr(self.trajectory, _trajectory_property(self.trajectory_class, key), value)
        self.sumatra_project = sumatra_project
        if sumatra_project is not None:
            from pypetx.integrations.sumatra import SumatraRecorder

            self.sumatra = SumatraRecorder(sumatra_project, self.filename,
                                           label=sumatra_label, reason=sumatra_reason)
            self.add_pre_run(self.sumatra.start)
            self.add_postprocessing(self.sumatra.finish)

    def _continue_loaded(self) -> None:
        # pypet: running a trajectory loaded with its results (then expanded) runs the
        # runs it lacks, as pypetx's resume does
        if not self.resume and getattr(self.trajectory, "_dataset", None) is not None:
            self.resume = True

    def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self._continue_loaded()
        return super().run(fn, *args, **kwargs)

    run.__doc__ = plain.Environment.run.__doc__

    def run_map(self, fn: Any, *iter_args: Any, **iter_kwargs: Any) -> Any:
        self._continue_loaded()
        # pypet's DEAP examples map DEAP individuals: they travel as their plain data
        return super().run_map(fn, *(map(portable, a) for a in iter_args),
                               **{k: map(portable, v) for k, v in iter_kwargs.items()})

    run_map.__doc__ = plain.Environment.run_map.__doc__

    def disable_logging(self) -> None:
        """pypet compatibility: pypetx only uses the ``pypetx`` logger; nothing to undo."""
