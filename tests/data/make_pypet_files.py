"""Write small pypet HDF5 files for the tests of ``pypetx import-pypet``.

Run it with a Python that has *pypet* and PyTables installed (not pypetx)::

    python tests/data/make_pypet_files.py OUT_DIR [--full]

The committed files were written so by pypet 0.6.1 (Python 3.11: ``pip install
pypet==0.6.1 'tables<3.10' 'numpy<2' 'pandas<2.2'``) and pypet 0.7.0 (Python 3.12).
Without ``--full`` the environment and HDF5 settings pypet records under ``config`` are
removed afterwards and the file repacked (they are most of a small file's size); the
slow test writes full files. It writes, for pypet version V:

``OUT_DIR/pypet-V-sweep.h5``, trajectory ``sweep``
    a cartesian product x in (1, 2, 3) by y in (6.0, 7.0), pypet's ``cartesian_product``
    order; every run adds ``z = x * y`` (scalar), ``trace`` (a fixed-shape array),
    ``spikes`` (``arange(x) * y``: ragged over the runs), ``label`` (a string),
    ``stats`` (two items), ``$set.$.w`` (a result in pypet's run-set buckets), ``obj`` (a
    PickleResult) and the derived parameter ``xy_sum``; the trajectory also has config,
    string, array, sparse and pickle parameters (``model.name``: a name pypetx reserves),
    a group comment, a derived parameter, a link, annotations and results added after
    the runs (one of them a pandas DataFrame).
``OUT_DIR/pypet-V-misc.h5``, three trajectories:
    ``points``: three (x, y, model) points zipped, not a grid, compressed with blosc;
    each run adds ``z`` and ``flags`` (a bool and a list). ``crashed``: a 2 x 2 grid run
    with multiprocessing whose third run raises: pypet goes on and stores the other
    three. ``unstored``: the same without multiprocessing: the exception stops pypet
    before it stores the trajectory's tree.

The tests (tests/compat/test_import_pypet.py) assert the values written here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pypet
from pypet import (
    ArrayParameter,
    Environment,
    PickleParameter,
    PickleResult,
    SparseParameter,
    cartesian_product,
)
from scipy import sparse


def sweep_run(traj):
    """One point of ``sweep``: every kind of per-run result pypet users write."""
    x, y = traj.x, traj.y
    traj.f_add_result("z", x * y, comment="x times y")
    traj.f_add_result("trace", np.linspace(0.0, x * y, 4), comment="a fixed-shape array")
    traj.f_add_result("spikes", np.arange(x, dtype=np.int64) * y, comment="x values")
    traj.f_add_result("label", f"x={x}", comment="a string")
    traj.f_add_result("stats", mean=(x + y) / 2, spread=abs(x - y), comment="two items")
    traj.f_add_result("$set.$.w", x - y, comment="in a run set")
    traj.f_add_result(PickleResult, "obj", {"x": x, "pair": (x, y)}, comment="pickled")
    traj.f_add_derived_parameter("xy_sum", x + y, comment="derived in a run")


def points_run(traj):
    traj.f_add_result("z", traj.x * traj.y, comment="x times y")
    traj.f_add_result("flags", ok=bool(traj.x > 1), pair=[traj.x, 2 * traj.x],
                      comment="a bool and a list")


def crashing_run(traj):
    if traj.v_idx == 2:
        raise RuntimeError("run 2 fails on purpose")
    traj.f_add_result("z", traj.x * traj.y, comment="x times y")


def _env(name: str, filename: Path, comment: str, overwrite: bool,
         complib: str = "zlib") -> Environment:
    return Environment(trajectory=name, filename=str(filename), comment=comment,
                       overwrite_file=overwrite, log_config=None, multiproc=False,
                       complevel=9, complib=complib)


def make_sweep(filename: Path) -> None:
    env = _env("sweep", filename, "a cartesian sweep", overwrite=True)
    traj = env.trajectory
    traj.f_add_config("seed", 42, comment="random seed")
    traj.f_add_parameter("x", 1, comment="first dimension")
    traj.f_add_parameter("y", 1.0, comment="second dimension, in µs.")
    traj.f_get("x").v_annotations.f_set(source="survey", scale=2.5, tags={"a": [1, 2]})
    traj.f_add_parameter_group("model", comment="the neuron model")
    traj.f_add_parameter("model.name", "lif", comment="a string parameter")
    traj.f_add_parameter(ArrayParameter, "model.weights", np.arange(4.0), comment="an array")
    traj.f_add_parameter(SparseParameter, "model.coupling",
                         sparse.csr_matrix(np.eye(3) * 2.0), comment="a sparse matrix")
    traj.f_add_parameter(PickleParameter, "model.extra", {"a": [1, 2], "b": "c"},
                         comment="a pickled dict")
    traj.f_add_derived_parameter("area", 3.5, comment="derived before the runs")
    traj.parameters.f_add_link("w_link", traj.f_get("model.weights"))
    traj.f_explore(cartesian_product({"x": [1, 2, 3], "y": [6.0, 7.0]}))
    env.run(sweep_run)
    traj.f_add_result("summary.total", 63.0, comment="added after the runs")
    traj.f_add_result("summary.table", pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]}),
                      comment="a DataFrame")
    traj.f_store()
    env.disable_logging()


def make_points(filename: Path) -> None:
    # blosc: a compression h5py cannot read (the importer falls back to PyTables)
    env = _env("points", filename, "points, not a grid", overwrite=True, complib="blosc")
    traj = env.trajectory
    traj.f_add_parameter("x", 1, comment="first")
    traj.f_add_parameter("y", 1.0, comment="second")
    traj.f_add_parameter("model", "lif", comment="explored strings")
    traj.f_explore({"x": [1, 2, 5], "y": [3.0, 1.0, 1.0], "model": ["lif", "adex", "lif"]})
    env.run(points_run)
    env.disable_logging()


def make_crashed(filename: Path) -> None:
    # multiproc: the failing run dies in its own process and pypet goes on, then stores
    # the trajectory with that run not completed (in-process, the exception stops pypet
    # before it stores the tree: see make_unstored)
    env = Environment(trajectory="crashed", filename=str(filename), comment="one run failed",
                      log_config=None, multiproc=True, ncores=1, use_pool=False,
                      wrap_mode="LOCK", complevel=9)
    traj = env.trajectory
    traj.f_add_parameter("x", 1)
    traj.f_add_parameter("y", 1)
    traj.f_explore(cartesian_product({"x": [1, 2], "y": [1, 2]}))
    try:
        env.run(crashing_run)
    except RuntimeError:
        pass
    env.disable_logging()


def make_unstored(filename: Path) -> None:
    env = _env("unstored", filename, "stopped before pypet stored it", overwrite=False)
    traj = env.trajectory
    traj.f_add_parameter("x", 1)
    traj.f_add_parameter("y", 1)
    traj.f_explore(cartesian_product({"x": [1, 2], "y": [1, 2]}))
    try:
        env.run(crashing_run)
    except RuntimeError:
        pass
    env.disable_logging()


def trim(filename: Path) -> None:
    """Drop the environment/HDF5 settings pypet adds to ``config`` (a hundred tiny tables,
    most of a small file's size) and repack the file."""
    import tables

    tmp = filename.with_suffix(".tmp")
    with tables.open_file(str(filename), "a") as f:
        for traj in f.root:
            for sub in ("environment", "hdf5"):
                if f"/{traj._v_name}/config/{sub}" in f:
                    f.remove_node(f"/{traj._v_name}/config/{sub}", recursive=True)
        f.copy_file(str(tmp), overwrite=True)
    tmp.replace(filename)


def main(out_dir: str, full: bool = False) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sweep = out / f"pypet-{pypet.__version__}-sweep.h5"
    misc = out / f"pypet-{pypet.__version__}-misc.h5"
    make_sweep(sweep)
    make_points(misc)
    make_crashed(misc)
    make_unstored(misc)
    for filename in (sweep, misc):
        if not full:
            trim(filename)
        print(filename, filename.stat().st_size)
    return [sweep, misc]


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--full"]
    main(args[0] if args else str(Path(__file__).parent), full="--full" in sys.argv)
