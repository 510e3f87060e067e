"""Record a sweep in a Sumatra project (an electronic lab notebook).

``Environment(sumatra_project=path, sumatra_label=..., sumatra_reason=...)`` creates one
Sumatra record per environment: the trajectory's parameters (explored ones as their value
lists), the launch command (``sys.executable`` and ``sys.argv``), the git version Sumatra
sees, the results file as output data, the duration and an outcome line. The record is
created before the first run and saved again after every round of runs, so an expanded
trajectory (post-processing that adds points) updates the same record.

Sumatra 0.8.1 without Django keeps records in a shelve file (``.smt/records``). Sumatra
refuses to create a record when the project's repository has uncommitted changes and its
code change policy is ``error`` (the default of ``smt init``); ``smt configure
--on-changed=store-diff`` stores the diff instead.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import sys
import time
from typing import Any

__all__ = ["SumatraRecorder", "sumatra_parameters"]


def _plain(value: Any) -> Any:
    """A parameter value as Sumatra's parameter sets hold them (numbers, str, lists)."""
    import numpy as np

    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)) and all(isinstance(v, (bool, int, float, str))
                                                for v in value):
        return list(value)
    return repr(value)  # quantities, arrays: readable, not re-evaluated by Sumatra


def sumatra_parameters(traj: Any) -> dict[str, Any]:
    """``{dotted name: value}`` of the trajectory's parameters; explored parameters give
    the list of their explored values."""
    out: dict[str, Any] = {}
    for leaf in traj.parameters.iter_leaves():
        name = leaf.full_name.partition(".")[2]
        if getattr(leaf, "is_explored", False):
            out[name] = [_plain(v) for v in leaf.range]
        else:
            out[name] = _plain(leaf.default)
    return out


class SumatraRecorder:
    """Creates and updates the Sumatra record of one environment.

    Parameters
    ----------
    project : path-like
        Directory of the Sumatra project (where ``smt init`` was run).
    filename : path-like
        The results file, recorded as output data.
    label : str, optional
        Record label (Sumatra's label generator when None).
    reason : str, optional
        Why the sweep was run.
    """

    def __init__(self, project: str | os.PathLike[str], filename: str | os.PathLike[str], *,
                 label: str | None = None, reason: str | None = None) -> None:
        self.project_path = os.fspath(project)
        self.filename = os.path.abspath(os.fspath(filename))
        self.label = label
        self.reason = reason
        self.record: Any = None
        self._project: Any = None
        self._t0 = 0.0

    def start(self, traj: Any) -> None:
        """Create the record (hook: ``env.add_pre_run``)."""
        if self.record is not None:
            return
        from sumatra.parameters import SimpleParameterSet
        from sumatra.programs import PythonExecutable
        from sumatra.projects import load_project

        self._project = load_project(self.project_path)
        main_file = _tracked_main(self._project)
        # flat dotted names: SimpleParameterSet has no nesting
        params = SimpleParameterSet(sumatra_parameters(traj))
        self.record = self._project.new_record(
            parameters=params,
            main_file=main_file,
            executable=PythonExecutable(path=sys.executable, version=sys.version.split()[0]),
            script_args=" ".join(sys.argv[1:]),
            label=self.label,
            reason=self.reason or "",
        )
        self._t0 = time.perf_counter()

    def finish(self, traj: Any, results: Any = None, *, outcome: str | None = None) -> None:
        """Save duration, output data and outcome (hook: ``env.add_postprocessing``)."""
        if self.record is None:
            self.start(traj)
        rec = self.record
        rec.duration = time.perf_counter() - self._t0
        rec.output_data = _output_keys(rec, self.filename)
        if outcome is None:
            outcome = f"trajectory {traj.name}: {len(traj)} points"
            ds = getattr(traj, "_dataset", None)
            if ds is not None and "completed" in ds:
                outcome += (f", {int(ds['completed'].sum())} completed, "
                            f"{int(ds['failed'].sum())} failed")
            outcome += f"; results in {self.filename}"
        rec.outcome = outcome
        self._project.save_record(rec)
        self._project.save()


def _tracked_main(project: Any) -> str:
    """The running script relative to the project's working copy.

    Sumatra only records scripts under version control (it checks, and it lists their
    imports as dependencies); checking first gives a clear error before a half-made
    record is added to the project.
    """
    from pypetx.base.errors import PypetxError

    script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    working_copy = project.default_repository.get_working_copy()
    root = os.path.realpath(working_copy.path)
    rel = os.path.relpath(os.path.realpath(script), root) if script else ".."
    if rel.startswith("..") or not os.path.isfile(script) or not working_copy.contains(rel):
        raise PypetxError(
            f"Sumatra records the script that runs the sweep, and it must be committed in "
            f"the project's repository {root}; {script or 'this session (no script)'} is "
            "not. Run a committed script, or leave sumatra_project=None")
    return rel


def _output_keys(record: Any, path: str) -> list[Any]:
    """Data keys of the new files in the project's data store plus the results file (a
    Zarr store is a directory: recorded as one key with the digest of its metadata)."""
    from sumatra.datastore.base import DataKey

    keys = list(record.datastore.find_new_data(record.timestamp))
    if any(os.path.abspath(os.path.join(record.datastore.root, k.path)) == path for k in keys):
        return keys
    if os.path.exists(path):
        digest = hashlib.sha1()
        if os.path.isfile(path):
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        else:
            digest.update(path.encode())
        creation = _dt.datetime.fromtimestamp(os.path.getmtime(path), _dt.timezone.utc)
        keys.append(DataKey(path, digest.hexdigest(), creation.replace(microsecond=0),
                            mimetype="application/x-hdf5" if os.path.isfile(path) else None))
    return keys
