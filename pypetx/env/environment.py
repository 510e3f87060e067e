"""Environment: runs a trajectory's points on Dask and streams results into the store."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import dask
import numpy as np

from pypetx.base.errors import ExplorationError, PypetxError, StorageError, SweepFailed
from pypetx.core.explore import Exploration
from pypetx.core.trajectory import Trajectory
from pypetx.core.runs import pending_runs
from pypetx.env.faillog import FailureLog
from pypetx.env.resulttypes import ResultTypes
from pypetx.env.postproc import postproc_outcome
from pypetx.env.returns import RunReturns

log = logging.getLogger("pypetx")


class Environment:
    """Runs every explored point of a trajectory as Dask work and stores the results.

    Plain names only; ``pypetx.Environment`` is the subclass in
    :mod:`pypetx.compat.environment` that adds pypet's names and options.

    Parameters
    ----------
    trajectory : str or Trajectory
        A name for a new trajectory, or an existing :class:`~pypetx.core.trajectory.Trajectory`.
    filename : str, optional
        Results file (``.h5`` for HDF5, ``.zarr`` for Zarr). Default
        ``hdf5/<trajectory>.hdf5`` as in pypet. Several trajectories can share one file.
    comment : str
        Comment of a new trajectory.
    cluster : str or cluster object, optional
        ``"local"`` (an embedded LocalCluster, the default), ``"synchronous"``
        (in-process, in order: for pdb), ``"slurm"``/``"pbs"``/``"sge"`` (dask-jobqueue),
        or any Dask cluster object. The default comes from ``dask.config``
        (``pypetx.cluster``).
    client : distributed.Client, optional
        Use this client (it is not closed at the end).
    executor : concurrent.futures.Executor, optional
        Any submit-style executor.
    n_workers : int, optional
        Workers of the embedded LocalCluster (pypet's ``ncores`` maps here).
    batch_size : int or "auto"
        Runs per Dask task; ``"auto"`` measures the first runs and batches cheap ones.
    progress : bool or "auto"
        Progress bar (``"auto"``: only on a terminal or in Jupyter).
    timeout : float, optional
        Seconds one run may take (default ``pypetx.timeout``: no limit): a run over it is
        stopped, its process replaced, and it is recorded as failed ("timed out after N
        s"). See docs/failures.md.
    on_error : {"raise", "continue"}
        After all runs: raise :class:`~pypetx.base.errors.SweepFailed` when some failed, or
        just log the summary.
    resume : bool, optional
        Default ``pypetx.env.resume`` from ``dask.config`` (False; ``DASK_PYPETX__RESUME=true``
        in a job script). Continue a sweep stored in ``filename``: only runs without a completed result run
        (failed runs only with :meth:`rerun_failed`). A trajectory whose non-explored
        parameters or function differ from the stored one is refused unless ``force``.
    overwrite_file : bool
        Remove an existing results file first.
    storage : {"auto", "hdf5", "zarr"}
        Backend; ``"auto"`` picks by the file suffix.
    record_packages : sequence of str
        Extra packages whose versions go into the provenance.
    git_repository : str, optional
        Record the commit, branch, dirty flag and diff of this git repository (nothing is
        committed unless ``git_commit``).
    git_fail_if_dirty : bool
        Refuse to run when tracked files of ``git_repository`` have uncommitted changes.
    git_commit : bool or str
        Opt-in (pypet did it always): commit changes of tracked files before running; a
        str is the commit message. See docs/provenance.md.
    complevel : int, optional
        zlib level of stored arrays (0: none); default: compress only what a sample shows
        compresses well (see ``pypetx.store.compression``).
    force : bool
        Resume even when the trajectory or the function changed.
    store_function : bool
        Also store a cloudpickle copy of the function, so ``pypetx resume`` works for
        functions that are not importable (loading it needs ``allow_pickle=True``).
    n_jobs : int, optional
        Worker jobs of a ``"slurm"``/``"pbs"``/``"sge"`` cluster (default
        ``pypetx.jobqueue.n_jobs``); jobs that die are resubmitted. See docs/hpc.md.
    adapt : (int, int), optional
        Instead of ``n_jobs``: scale between ``min`` and ``max`` jobs with the work queued.
    scheduler : str, optional
        Address or scheduler-file of a running Dask scheduler to use.
    dask_config : dict, optional
        :mod:`dask.config` settings in force while the sweep runs (the workers of the
        embedded cluster read them as they start), e.g.
        ``{"distributed.worker.memory.pause": 0.8}``.
    """

    #: The class of the trajectory a name given as ``trajectory`` creates.
    trajectory_class: type[Trajectory] = Trajectory

    def __init__(self, trajectory: str | Trajectory = "trajectory", filename: str | None = None,
                 comment: str = "", *, cluster: Any = None, client: Any = None,
                 executor: Any = None, n_workers: int | None = None,
                 batch_size: int | str = "auto", progress: bool | str = "auto",
                 on_error: str = "raise", resume: bool | None = None, overwrite_file: bool = False,
                 storage: str = "auto", record_packages: Sequence[str] = (),
                 git_repository: str | None = None, complevel: int | None = None,
                 retries: int | None = None, cluster_options: dict | None = None,
                 force: bool = False, store_function: bool = False,
                 git_fail_if_dirty: bool = False, git_commit: bool | str = False,
                 n_jobs: int | None = None, adapt: tuple[int, int] | None = None,
                 scheduler: str | None = None, dask_config: dict[str, Any] | None = None,
                 timeout: float | None = None) -> None:
        if isinstance(trajectory, Trajectory):
            self.trajectory = trajectory
        else:
            self.trajectory = self.trajectory_class(trajectory, comment)
        self._dask_config: dict[str, Any] = dict(dask_config or {})
        if on_error not in ("raise", "continue"):
            raise ValueError(f"on_error must be 'raise' or 'continue', not {on_error!r}")
        self.filename = filename or os.path.join("hdf5", f"{self.trajectory.name}.hdf5")
        self.trajectory._store_path = self.filename
        self._cluster = cluster
        self._client = client
        self._executor = executor
        self._cluster_options = dict(cluster_options or {})
        if n_workers is not None:
            self._cluster_options.setdefault("n_workers", n_workers)
        # -- HPC (docs/hpc.md): jobqueue scaling, a running scheduler, resume from config
        # (``pypetx submit`` sets DASK_PYPETX__RESUME=true so re-submitted jobs continue).
        if n_jobs is not None:
            self._cluster_options["n_jobs"] = n_jobs
        if adapt is not None:
            self._cluster_options["adapt"] = adapt
        self._scheduler = scheduler
        if resume is None:
            from pypetx.base import config

            resume = bool(config.get("resume", False))
        # -- end HPC
        self.batch_size = batch_size
        self.progress = progress
        self.on_error = on_error
        self.resume = resume
        self.overwrite_file = overwrite_file
        self.storage = storage
        self.record_packages = tuple(record_packages)
        self.git_repository = git_repository
        self.complevel = complevel
        self.retries = retries
        self.timeout = timeout
        self.force = force
        self.store_function = store_function
        self._postprocessing: list[tuple[Callable, tuple, dict]] = []
        self._pre_run: list[tuple[Callable, tuple, dict]] = []
        # provenance (pypetx/env/provenance.py)
        self.git_fail_if_dirty = git_fail_if_dirty
        self.git_commit = git_commit
        self.summary = None
        self.dataset = None
        self._backend = None
        self._keep_backend = False
        # Once this environment stored its trajectory, later runs continue it (pypet: a
        # second env.run after traj.f_expand runs the new points only).
        self._stored_here = False

    # -- keeping the cluster across runs -------------------------------------------------
    def __enter__(self) -> Environment:
        """Inside ``with Environment(...) as env:`` the cluster pypetx starts is kept
        across ``env.run`` calls (e.g. one per generation of an optimisation) and closed
        when the block ends; outside it, each run starts and closes its own."""
        self._keep_backend = True
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the cluster pypetx started for this environment (never the user's)."""
        self._keep_backend = False
        if self._backend is not None:
            backend, self._backend = self._backend, None
            backend.close()

    @property
    def dashboard_link(self) -> str | None:
        """The sweep map of this environment's last run (docs/dashboard.md) while its Dask
        cluster runs (e.g. inside ``with env:``), else ``None``."""
        monitor = getattr(self, "_sweep_monitor", None)
        return monitor.link if monitor is not None else None

    @property
    def traj(self) -> Trajectory:
        """The trajectory (short name)."""
        return self.trajectory

    def add_postprocessing(self, fn: Callable, *args: Any, **kwargs: Any) -> None:
        """Call ``fn(traj, results, *args, **kwargs)`` after the runs; if it expands the
        trajectory (or returns a dict to expand it with, as in pypet), the new points run
        too: how adaptive/DEAP-style loops work.

        ``results`` is pypet's list of ``(run_index, return_value)`` of the runs not yet
        handed to post-processing (a hook may consume it); see
        :func:`pypetx.env.postproc.postproc_outcome` for the return values understood.
        """
        self._postprocessing.append((fn, args, kwargs))

    def add_pre_run(self, fn: Callable, *args: Any, **kwargs: Any) -> None:
        """Call ``fn(traj, *args, **kwargs)`` once in the driver before the runs start."""
        self._pre_run.append((fn, args, kwargs))

    # -- running ------------------------------------------------------------------------------
    def run(self, fn: Callable, *args: Any, **kwargs: Any) -> list[tuple[int, Any]]:
        """Run ``fn(traj, *args, **kwargs)`` for every explored point.

        Returns pypet's list of ``(run_index, return_value)`` for the runs of this call;
        the results Dataset is ``env.dataset`` (also ``traj.dataset``).
        """
        return self._run(fn, args, kwargs)

    def run_map(self, fn: Callable, *iter_args: Any, **iter_kwargs: Any) -> list[tuple[int, Any]]:
        """pypet's ``run_map``: like :meth:`run`, with per-run arguments.

        Each of ``iter_args`` (positional) and ``iter_kwargs`` (keyword) is an iterable
        with one item per run this call executes (the runs not stored yet, in run order;
        after ``traj.f_expand`` the new ones), or one item per run of the trajectory:
        run ``i`` calls ``fn(traj, *(a[i] for a in iter_args), **{k: v[i]})``.
        """
        if not iter_args and not iter_kwargs:
            raise ValueError("run_map needs per-run arguments; use run() without them")
        mapped = ([list(a) for a in iter_args], {k: list(v) for k, v in iter_kwargs.items()})
        return self._run(fn, (), {}, mapped=mapped)

    def rerun_failed(self, fn: Callable, *args: Any, **kwargs: Any) -> list[tuple[int, Any]]:
        """Run again only the runs whose last attempt failed (after fixing ``fn``)."""
        return self._run(fn, args, kwargs, rerun_failed=True, resume=True)

    def run_missing(self, fn: Callable | None = None, *args: Any, rerun_failed: bool = False,
                    **kwargs: Any) -> list[tuple[int, Any]]:
        """Continue the stored sweep: only runs without a completed result run (with
        ``rerun_failed``, the failed ones too).

        ``fn`` defaults to the function recorded in the file when it is importable
        (``module:function``). (``env.resume`` is the ``resume=`` option's flag.)
        """
        if fn is None:
            from pypetx.env.resume import recorded_function

            fn = recorded_function(self.filename, self.trajectory.name)
        return self._run(fn, args, kwargs, rerun_failed=rerun_failed, resume=True)

    def to_dataset(self, fn: Callable, args: Sequence[Any] = (), kwargs: dict | None = None,
                   *, chunks: Any = None, template: Any = None) -> Any:
        """The sweep of ``fn(traj, *args, **kwargs)`` as a lazy Dataset: a Dask graph with
        one task per block of the grid, run by ``.compute()``, ``dask.compute``,
        ``.to_zarr()``... (see docs/lazy.md); store it with :func:`pypetx.save`.

        ``chunks`` (xarray's spelling, default: the auto batching's runs per task) and
        ``template`` (what one run gives, e.g. ``{"z": 0.0}``; default: run 0 is run once
        now to learn it) are as in ``pypetx.sweep(..., lazy=True)``.
        """
        from pypetx.env.lazy import lazy_dataset

        return lazy_dataset(self, fn, tuple(args), kwargs, chunks=chunks, template=template)

    def _run(self, fn: Callable, args: tuple, kwargs: dict, *, resume: bool | None = None,
             rerun_failed: bool = False, plain: bool = False,
             mapped: tuple[list, dict] | None = None) -> list[tuple[int, Any]]:
        from pypetx.engine.task import RunSpec

        if not callable(fn):
            raise TypeError(f"env.run needs a function, got {type(fn).__name__}")
        traj = self.trajectory
        for hook, a, kw in self._pre_run:
            hook(traj, *a, **kw)
        returns = RunReturns()
        handed: list[tuple[int, Any]] = []  # pypet's results list of post-processing
        if resume is None:
            resume = self.resume or self._stored_here
        while True:
            spec = RunSpec(token=uuid.uuid4().hex, skeleton=None, fn=fn, args=args,
                           kwargs=kwargs, plain=plain)
            this_round = RunReturns()
            self._execute(spec, this_round, resume=resume, rerun_failed=rerun_failed,
                          mapped=mapped)
            returns._merge(this_round)
            if not self._postprocessing:
                break
            handed.extend(this_round)
            expanded, args, kwargs = self._postprocess(handed, args, kwargs)
            if not expanded:  # pypet stores what post-processing added to the tree
                from pypetx.env.loading import store

                store(traj, self.filename, storage=self.storage, complevel=self.complevel)
                break
            resume = True  # post-processing expanded the trajectory: run only new points
            mapped = None  # run_map's arguments covered the first round only
        return returns

    def _postprocess(self, results: list, args: tuple, kwargs: dict
                     ) -> tuple[bool, tuple, dict]:
        """Run post-processing hooks; whether they expanded the trajectory, and the run
        arguments for the new points (a hook may replace them, as in pypet)."""
        before = len(self.trajectory)
        for k, (hook, a, kw) in enumerate(self._postprocessing):
            outcome = postproc_outcome(hook(self.trajectory, results, *a, **kw))
            if outcome.expand:
                self.trajectory.expand(outcome.expand)
            args = args if outcome.args is None else outcome.args
            kwargs = kwargs if outcome.kwargs is None else dict(outcome.kwargs)
            if outcome.postproc_args is not None or outcome.postproc_kwargs is not None:
                self._postprocessing[k] = (
                    hook, a if outcome.postproc_args is None else outcome.postproc_args,
                    kw if outcome.postproc_kwargs is None else dict(outcome.postproc_kwargs))
        return len(self.trajectory) > before, args, kwargs

    def _execute(self, spec: Any, returns: RunReturns, *, resume: bool,
                 rerun_failed: bool, mapped: tuple[list, dict] | None = None) -> None:
        from pypetx.engine.executors import resolve_backend
        from pypetx.engine.runner import run_batches
        from pypetx.engine.task import pack_spec, run_batch
        from pypetx.env.provenance import collect
        from pypetx.env.resume import check_compatible, finished_sweep, function_attrs
        from pypetx.store import open_store

        traj = self.trajectory
        exploration = traj.exploration or _single_run()
        _check_run_count(traj.name, exploration.n_runs)
        traj.lock_parameters()
        traj.lock_derived_parameters()
        if self.overwrite_file and not resume:
            _remove_path(self.filename)
        if resume and not self.force:
            check_compatible(self.filename, traj, spec.fn)
        provenance = collect(record_packages=self.record_packages,
                             git_repository=self.git_repository,
                             git_fail_if_dirty=self.git_fail_if_dirty, git_commit=self.git_commit)
        store = open_store(self.filename, traj.name, storage=self.storage,
                           complevel=self.complevel)
        attrs = {"name": traj.name, "comment": traj.comment, "timestamp": traj._timestamp,
                 "provenance": provenance, **function_attrs(spec.fn, self.store_function)}
        failed = FailureLog(traj.name)
        types = ResultTypes(traj.name)
        try:
            try:
                store.open(exploration, traj.to_records(), attrs, resume=resume)
            except OSError as exc:
                # a read-only place is fine when the stored sweep has nothing left to run
                done = resume and finished_sweep(self.filename, traj.name, exploration,
                                                 store.journal_dir, rerun_failed)
                if not done:
                    raise StorageError(
                        f"cannot open {self.filename} to store runs ("
                        f"{os.strerror(exc.errno) if exc.errno else exc}): it (and its "
                        f"journal directory next to it) must be writable") from exc
                from pypetx.engine.runner import RunSummary

                self.dataset = traj._dataset = done
                self.summary = RunSummary()
                log.info("%s: every run is stored in %s (read-only): nothing to run",
                         traj.name, self.filename)
                return
            self._stored_here = True
            todo = ~store.done()
            if not rerun_failed:
                todo &= ~store.failed_runs()
            elif not store.failed_runs().any():
                log.info("%s: no failed runs to re-run", traj.name)
            # ranges, not an int64 per run: a fresh sweep's pending runs are one range
            pending = pending_runs(todo)
            if mapped is not None:
                spec.map_args, spec.map_kwargs = _per_run(mapped, pending, exploration.n_runs)
            returns._add_runs(pending)
            if resume:
                log.info("%s: %d of %d runs already stored, %d to run", traj.name,
                         exploration.n_runs - len(pending), exploration.n_runs, len(pending))
            spec.skeleton = traj
            spec.worker_sink = store.worker_sink()

            def sink(batch: Any) -> None:
                # stop at the first result pypetx cannot store, or of another kind of value
                types.check(batch)
                try:
                    store.write_batch(batch)  # durable before it counts as done
                except OSError as exc:
                    raise StorageError(
                        f"cannot write the results journal of {self.filename} ({exc.strerror or exc}); "
                        f"{int(store.done().sum())} runs are stored safely: fix the cause "
                        f"(e.g. free disk space) and resume with Environment(..., resume=True) "
                        f"or 'pypetx resume {self.filename}'"
                    ) from exc
                if batch.returns is not None:
                    for i, r in zip(batch.indices.tolist(), batch.returns):
                        if r is not None:
                            returns._values[i] = r
                if batch.failed.any():
                    errors = np.asarray(batch.error, dtype=object)
                    for i, err in zip(batch.indices[batch.failed].tolist(), errors[batch.failed]):
                        failed.add(i, str(err))

            backend = self._backend or resolve_backend(
                cluster=self._cluster, client=self._client, executor=self._executor,
                scheduler=self._scheduler, **self._cluster_options)
            # The embedded cluster starts on first use, inside run_batches: workers read
            # this configuration as they start.
            config = dask.config.set(self._dask_config)
            try:
                payload = _pack_without_dataset(traj, spec, pack_spec)
                from pypetx.engine.dashboard import SweepMonitor  # the sweep map

                self._sweep_monitor = SweepMonitor(
                    exploration, name=traj.name, filename=self.filename, pending=pending,
                    done=~todo & store.done(), failed=~todo & store.failed_runs())
                self.summary = run_batches(
                    run_batch, payload, pending, backend, sink,
                    batch_size=self.batch_size, progress=self.progress, retries=self.retries,
                    timeout=self.timeout,
                    resume_hint=f"resume with Environment(..., resume=True) or "
                                f"'pypetx resume {self.filename}'",
                    monitor=self._sweep_monitor,
                    align=getattr(store, "batch_boundary", None),  # Zarr: whole shards
                )
            finally:
                config.__exit__(None, None, None)
                if self._keep_backend:
                    self._backend = backend  # reused by the next run inside ``with env:``
                else:
                    backend.close()
        except BaseException:
            # The sweep stopped (Ctrl-C, a storage or cluster error): consolidate what is
            # journaled if possible, but never let that hide the original error.
            try:
                self._finalize(store, collect)
            except Exception as exc:  # noqa: BLE001
                log.warning("%s: results stay in the journal (consolidation failed: %s); "
                            "resume to consolidate them", traj.name, exc)
            raise
        else:
            self._finalize(store, collect)
        finally:
            store.close()
        self._report(failed)

    def _finalize(self, store: Any, collect: Callable) -> None:
        if store.journal is not None:
            try:
                self.dataset = store.finalize({"provenance_end": collect(times_only=True)})
            except OSError as exc:  # e.g. a full disk while the file is rewritten
                # HDF5's own message spans lines: the errno's text is the cause
                reason = os.strerror(exc.errno) if exc.errno else str(exc).splitlines()[0]
                raise StorageError(
                    f"cannot write {self.filename} ({reason}); every completed run is kept "
                    f"in its journal ({store.journal_dir}): fix the cause (e.g. free disk "
                    f"space) and resume with Environment(..., resume=True) or "
                    f"'pypetx resume {self.filename}'") from exc
            self.trajectory._dataset = self.dataset

    def _report(self, log_of_failures: FailureLog) -> None:
        s = self.summary
        log.info("%s: %d runs completed, %d failed", self.trajectory.name,
                 s.n_completed, s.n_failed)
        log_of_failures.log_summary("every error and traceback: pypetx.failures() of the "
                                    "results Dataset")
        failed = sorted(log_of_failures.runs)
        if failed and self.on_error == "raise":
            raise SweepFailed(
                f"{len(failed)} of {s.n_completed + s.n_failed} runs of "
                f"{self.trajectory.name!r} failed (runs {failed[:10]}"
                f"{'...' if len(failed) > 10 else ''}); the completed results are stored in "
                f"{self.filename}; see pypetx.failures(env.dataset) or 'pypetx failed {self.filename}', "
                f"and re-run them with env.rerun_failed(fn)",
                summary=s, failed=failed,
            )


def _per_run(mapped: tuple[list, dict], pending: np.ndarray, n_runs: int
             ) -> tuple[list | None, list | None]:
    """run_map's iterables as per-run-index argument lists (see :meth:`Environment.run_map`)."""
    per_args, per_kwargs = mapped
    columns = [*(("positional argument", a) for a in per_args),
               *((f"keyword {k!r}", v) for k, v in per_kwargs.items())]
    lengths = sorted({len(values) for _, values in columns})
    if len(lengths) > 1:
        sizes = ", ".join(f"{what}: {len(values)}" for what, values in columns)
        raise ValueError(f"run_map: the iterables differ in length ({sizes})")
    if lengths[0] == len(pending):
        runs: list[int] | range = pending.tolist()
    elif lengths[0] == n_runs:
        runs = range(n_runs)  # one item per run of the trajectory
    else:
        raise ValueError(f"run_map: {columns[0][0]} has {lengths[0]} items; give one per run "
                         f"to execute ({len(pending)}) or per run of the trajectory ({n_runs})")
    args: list | None = None
    kwargs: list | None = None
    if per_args:
        args = [()] * n_runs
        for k, i in enumerate(runs):
            args[i] = tuple(a[k] for a in per_args)
    if per_kwargs:
        kwargs = [{}] * n_runs
        for k, i in enumerate(runs):
            kwargs[i] = {key: v[k] for key, v in per_kwargs.items()}
    return args, kwargs


#: Driver bytes per run whatever the results: done/failed masks, pending indices, and the
#: status variables (completed, failed, duration, worker) the cube is written with.
_STATUS_BYTES_PER_RUN = 24


def _check_run_count(name: str, n_runs: int) -> None:
    """Refuse, before anything runs, a sweep whose per-run status alone cannot fit in
    the driver's memory (the exploration itself is its axes and costs nothing)."""
    need = n_runs * _STATUS_BYTES_PER_RUN
    try:
        avail = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not POSIX: no limit known
        return
    if need > avail // 2:
        raise ExplorationError(
            f"trajectory {name!r} has {n_runs:,} points; their status alone (done, failed, "
            f"duration, worker) would need {need / 2**30:,.1f} GiB in the driver (this "
            f"machine has {avail / 2**30:,.1f} GiB): explore fewer points, or split the "
            f"sweep into several trajectories")


def _pack_without_dataset(traj: Trajectory, spec: Any, pack: Callable) -> Any:
    """Serialise the spec with the trajectory as workers need it: without its Dataset."""
    dataset, traj._dataset = traj._dataset, None
    try:
        return pack(spec)
    finally:
        traj._dataset = dataset


def _single_run() -> Exploration:
    """A trajectory that is not explored runs once, with its defaults (as in pypet)."""
    return Exploration({"run": [0]})


def _remove_path(path: str) -> None:
    import shutil

    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)
    journal = path + ".pypetx"
    if os.path.isdir(journal):
        shutil.rmtree(journal)


__all__ = ["Environment", "PypetxError"]
