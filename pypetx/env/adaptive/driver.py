"""The ask/tell loop on the pypetx engine, shared by every strategy (adaptive, Optuna).

A strategy proposes points; each round, its points become new runs of the trajectory's
run layout (``Trajectory.expand``), the Environment runs them on the cluster (batched into
tasks, journaled as they finish, failures recorded) and the stored values go back to the
strategy. Round ``k`` holds at most ``points_per_round`` points: the bound on points in
flight. Resume reads the stored runs back, finishes the runs an interrupted round left
undone (nothing stored is run again) and tells the strategy everything stored.

A strategy may also have ``describe() -> dict`` (shown on the progress bar, logged per
round) and ``record(traj)`` (its own history as results of the trajectory's tree, e.g.
Optuna's trial states: written with every round's tree and once more at the end).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from pypetx.core.trajectory import Trajectory
from pypetx.env.environment import Environment

log = logging.getLogger("pypetx")

#: Status variables of a stored sweep (not results): see pypetx.store.layout.ALL_STATUS.
#: ``value=ALL``: the strategy learns a dict of every result variable (``DataSaver``).
ALL = "*"

_STATUS = {"completed", "failed", "duration", "worker", "failure_run", "failure_error",
           "failure_traceback", "error", "traceback"}


class Strategy(Protocol):
    """What the driver needs of a point-proposing strategy."""

    names: tuple[str, ...]

    def ask(self, n: int) -> list[dict[str, Any]]:
        """Up to ``n`` new points, as keyword dicts; ``[]`` when it has none."""

    def tell(self, point: dict[str, Any], value: Any) -> None:
        """The stored value of a completed point."""

    def tell_failed(self, point: dict[str, Any]) -> None:
        """A point whose run failed: never asked again, never learned from."""

    def done(self) -> bool:
        """Whether the goal is reached."""


@dataclass
class Stored:
    """The runs of a sweep as the store holds them, in run order."""

    points: list[dict[str, Any]]
    values: list[Any]
    completed: np.ndarray
    failed: np.ndarray


def python_value(v: Any) -> Any:
    """A numpy scalar as the Python scalar a parameter (and a learner) expects."""
    return v.item() if isinstance(v, np.generic) else v


def result_names(ds: Any, names: Sequence[str]) -> list[str]:
    """The result variables of a stored run layout (not status, not parameters)."""
    return [v for v in ds.data_vars if v not in _STATUS and v not in names
            and not v.endswith(("_count", "_shape"))]


def read_stored(ds: Any, names: Sequence[str], value: str | Sequence[str] | None,
                rows: np.ndarray) -> Stored:
    """Points, values and status of runs ``rows`` of the stored Dataset ``ds``.

    ``value`` names the result variable the strategy learns (a sequence: a dict of
    them; :data:`ALL`: a dict of every result variable); ``None``: the only result
    variable.
    """
    dim = "run"
    sub = ds.isel({dim: rows}).load()
    coords = {n: sub[n].values for n in names}
    points = [{n: python_value(coords[n][k]) for n in names} for k in range(len(rows))]
    if value is None:
        found = result_names(sub, names)
        if len(found) != 1 and len(rows) and bool(sub["completed"].values.any()):
            raise ValueError(f"the function returns {found}: pass value= to name the "
                             f"result the strategy learns (or a list of names for a dict)")
        value = found[0] if found else None
    elif value == ALL:
        value = result_names(sub, names)
    values: list[Any] = []
    for k in range(len(rows)):
        if value is None:
            values.append(None)
        elif isinstance(value, str):
            values.append(python_value(sub[value].values[k]))
        else:
            values.append({v: python_value(sub[v].values[k]) for v in value})
    return Stored(points, values, sub["completed"].values.astype(bool),
                  sub["failed"].values.astype(bool))


def _columns(points: list[dict[str, Any]], names: Sequence[str]) -> dict[str, list]:
    return {n: [p[n] for p in points] for n in names}


def _default(values: list[Any]) -> Any:
    # A float anywhere makes a float parameter (so that 0 then 0.5 is not a type change).
    first = values[0]
    if isinstance(first, (int, np.integer)) and not isinstance(first, bool) \
            and any(isinstance(v, (float, np.floating)) for v in values):
        return float(first)
    return first


@dataclass
class DriveOptions:
    """How the loop runs: the Environment's options and the round size."""

    filename: str
    name: str
    points_per_round: int = 16
    value: str | Sequence[str] | None = None
    constants: Mapping[str, Any] | None = None
    resume: bool = False
    overwrite: bool = False
    progress: bool = False
    env_options: Mapping[str, Any] | None = None


def drive(fn: Callable[..., Any], strategy: Strategy, opts: DriveOptions,
          on_round: Callable[[Any], None] | None = None) -> Any:
    """Run ``strategy`` until it is done; return the stored Dataset (a run layout).

    Parameters
    ----------
    fn : callable
        Called on the workers as ``fn(**point, **constants)``.
    strategy : Strategy
        Proposes the points and learns the values.
    opts : DriveOptions
        File, trajectory name, round size, resume/overwrite and Environment options.
    on_round : callable, optional
        Called with the Environment after each round (progress reports, tests).
    """
    if opts.points_per_round < 1:
        raise ValueError(f"points_per_round must be >= 1, not {opts.points_per_round}")
    names = tuple(strategy.names)
    traj = stored_trajectory(opts.filename, opts.name) if opts.resume else None
    resuming = traj is not None
    if traj is None and opts.resume:
        log.info("%s: nothing stored in %s yet; starting", opts.name, opts.filename)
    env_options = {"progress": False, **(opts.env_options or {})}
    env_options["on_error"] = "continue"  # a failed point is told to the strategy, not raised
    constants = dict(opts.constants or {})
    n_told = 0
    first = True
    bar = _Progress(opts.name, opts.progress)
    with _Env(traj, opts, env_options) as holder, bar:
        if resuming:
            # Finish what an interrupted round left undone (only runs without a stored
            # result run), then tell the strategy every stored run.
            holder.env._run(fn, (), constants, plain=True, resume=True)
            n_told = _tell_new(holder.env, strategy, names, opts.value, 0)
            first = False
            log.info("%s: resumed with %d stored points", opts.name, n_told)
            bar.update(n_told, strategy)
        while not strategy.done():
            points = strategy.ask(opts.points_per_round)
            if not points:
                log.info("%s: the strategy has no more points to propose", opts.name)
                break
            holder.expand(points, names)
            _record(strategy, holder.traj)
            holder.env._run(fn, (), constants, plain=True, resume=not first or opts.resume)
            first = False
            before = n_told
            n_told = _tell_new(holder.env, strategy, names, opts.value, n_told)
            bar.update(n_told, strategy)
            if on_round is not None:
                on_round(holder.env)
            if not _any_completed(holder.env, before, n_told):
                log.warning("%s: every point of the last round failed; stopping "
                            "(see pypetx.failures(ds))", opts.name)
                break
        if holder.env is not None and _record(strategy, holder.traj):
            _store_tree(holder.env)
    return holder.env.dataset if holder.env is not None else None


def _record(strategy: Strategy, traj: Trajectory | None) -> bool:
    """Let the strategy put its history into the tree; whether it has one."""
    record = getattr(strategy, "record", None)
    if record is None or traj is None:
        return False
    record(traj)
    return True


def _store_tree(env: Environment) -> None:
    # The final history: the tree is rewritten, the result cube kept.
    from pypetx.env.loading.writing import store

    _close_dataset(env)
    store(env.trajectory, env.filename, storage=env.storage, complevel=env.complevel)
    from pypetx.store.load import open_results

    env.dataset = open_results(env.filename, env.trajectory.name)
    env.trajectory._dataset = env.dataset


class _Progress:
    """A progress bar of points told to the strategy, its ``describe()`` as postfix
    (tqdm: the points to go are unknown, so it counts up)."""

    def __init__(self, name: str, enabled: bool) -> None:
        self.name, self.bar = name, None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(desc=name, unit="pt")

    def update(self, n: int, strategy: Strategy) -> None:
        describe = getattr(strategy, "describe", None)
        info = describe() if describe is not None else {}
        log.info("%s: %d points%s", self.name, n,
                 "".join(f", {k} {v}" for k, v in info.items()))
        if self.bar is not None:
            self.bar.update(n - self.bar.n)
            self.bar.set_postfix(info, refresh=True)

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.close()


class _Env:
    """Holds the Environment (created with the first points, the cluster kept across
    rounds) and the trajectory it runs."""

    def __init__(self, traj: Trajectory | None, opts: DriveOptions,
                 env_options: dict[str, Any]) -> None:
        self.traj, self.opts, self.env_options = traj, opts, env_options
        self.env: Environment | None = None
        if traj is not None:
            self._start()

    def _start(self) -> None:
        overwrite = self.opts.overwrite and not self.opts.resume
        self.env = Environment(self.traj, filename=self.opts.filename,
                               overwrite_file=overwrite, **self.env_options)
        self.env.__enter__()

    def expand(self, points: list[dict[str, Any]], names: Sequence[str]) -> None:
        columns = _columns(points, names)
        if self.traj is None:
            self.traj = Trajectory(self.opts.name)
            for n in names:
                self.traj.add_parameter(n, _default(columns[n]))
            self.traj.explore(columns)
            self._start()
        else:
            _close_dataset(self.env)
            self.traj.expand(columns)

    def __enter__(self) -> _Env:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.env is not None:
            self.env.__exit__(*exc)


def stored_trajectory(filename: str, name: str) -> Trajectory | None:
    """The trajectory to resume: the file's, grown by the points of a round that was
    journaled but never consolidated (the driver was killed during it); ``None``."""
    opts = DriveOptions(filename=str(filename), name=name)
    from pypetx.env.resume import load_for_resume

    traj = None
    if os.path.exists(opts.filename):
        try:
            traj = load_for_resume(opts.filename, opts.name)
        except (KeyError, ValueError, LookupError) as exc:
            log.info("%s: no stored trajectory to resume (%s)", opts.name, exc)
    journaled = _journaled_exploration(opts)
    if journaled is None or (traj is not None and journaled.n_runs <= len(traj)):
        return traj
    start = 0 if traj is None else len(traj)
    columns = {n.partition(".")[2]: list(journaled.column(n))[start:] for n in journaled.names}
    if traj is None:
        traj = Trajectory(opts.name)
        for n, values in columns.items():
            traj.add_parameter(n, _default(values))
        traj.explore(columns)
    else:
        traj.expand(columns)
    log.info("%s: %d points of an interrupted round are journaled", opts.name,
             journaled.n_runs - start)
    return traj


def _journaled_exploration(opts: DriveOptions) -> Any:
    """The exploration a round wrote into the journal before its runs (``None``: none).

    ``load_for_resume`` reads the file, which holds the points up to the last finished
    round; the journal may hold the next round's points already."""
    import json

    from pypetx.core.explore import Exploration
    from pypetx.store.registry import open_store

    directory = open_store(opts.filename, opts.name).journal_dir
    text = directory / "exploration.json"
    if not text.exists():
        return None
    return Exploration.decode(
        json.loads(text.read_text()),
        lambda ref: np.load(directory / f"exploration-{ref['sha1']}.npy", allow_pickle=False))


def _close_dataset(env: Environment) -> None:
    # The previous round's Dataset reads the file the next round writes: close it first.
    if env.dataset is not None:
        env.dataset.close()


def _tell_new(env: Environment, strategy: Strategy, names: Sequence[str],
              value: str | Sequence[str] | None, start: int) -> int:
    """Tell the strategy the runs ``start:`` of the stored Dataset; the new run count."""
    ds = env.dataset
    n = ds.sizes["run"]
    if n <= start:
        return start
    stored = read_stored(ds, names, value, np.arange(start, n))
    for point, v, ok, bad in zip(stored.points, stored.values, stored.completed, stored.failed):
        if ok:
            strategy.tell(point, v)
        elif bad:
            strategy.tell_failed(point)
    return n


def _any_completed(env: Environment, start: int, stop: int) -> bool:
    if stop <= start:
        return False
    return bool(env.dataset["completed"].isel(run=slice(start, stop)).any())


__all__ = ["ALL", "DriveOptions", "Stored", "Strategy", "drive", "python_value", "read_stored",
           "result_names", "stored_trajectory"]
