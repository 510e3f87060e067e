"""
Parameters that are not numbers: DataFrames, sparse matrices, objects
=====================================================================

Parameters that are not numbers: a pandas DataFrame, a scipy sparse matrix and a
pickled object of your own class.

A small rate model: ``n`` populations with rates ``r' = -r + W r + input``, where the
coupling ``W`` is a sparse matrix, the per-population settings are a DataFrame and the
input is a callable object kept as a ``PickleParameter``. The coupling strength ``g`` is
explored. DataFrames and sparse matrices are stored natively (plain arrays in the file);
the pickled object is stored as bytes and only loaded back with ``allow_pickle=True``.

Run ``python examples/custom_parameter.py`` or ``--small``. Writes
``HDF/custom_parameter.h5`` and ``custom_parameter.png`` (the final rates against ``g``).
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pypetx import (
    Environment,
    PickleParameter,
    SparseParameter,
    cartesian_product,
    load,
    open_results,
)


class StepInput:
    """The external input: ``amplitude`` to the populations in ``targets`` after ``t_on``."""

    def __init__(self, amplitude: float, targets: list[int], t_on: float):
        self.amplitude, self.targets, self.t_on = amplitude, targets, t_on

    def __call__(self, t: float, n: int) -> np.ndarray:
        drive = np.zeros(n)
        if t >= self.t_on:
            drive[self.targets] = self.amplitude
        return drive

    def __repr__(self) -> str:
        return f"StepInput({self.amplitude}, {self.targets}, t_on={self.t_on})"


def simulate(traj):
    """Euler-integrate the rate model; store the final rates and their mean."""
    table = traj.populations  # a DataFrame, as it was added
    coupling = traj.g * traj.coupling  # a scipy.sparse matrix
    stimulus = traj.stimulus  # the StepInput instance
    n, dt = len(table), 0.01
    tau = table["tau"].to_numpy()
    rates = table["r0"].to_numpy(dtype=float).copy()
    for k in range(int(traj.t_end / dt)):
        drive = coupling @ rates + stimulus(k * dt, n)
        rates += dt / tau * (-rates + np.maximum(drive, 0.0))
    traj.f_add_result("rates", rates, dims=("population",), comment="final rates", units="Hz")
    traj.f_add_result("mean_rate", float(rates.mean()), units="Hz")


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true",
                        default=bool(os.environ.get("PYPETX_EXAMPLES_SMALL")),
                        help="fewer populations and couplings (what the test suite runs)")
    parser.add_argument("--filename", default="HDF/custom_parameter.h5")
    parser.add_argument("--figure", default="custom_parameter.png")
    args = parser.parse_args(argv)
    n, n_g = (5, 4) if args.small else (40, 16)

    rng = np.random.default_rng(1)
    populations = pd.DataFrame({"tau": rng.uniform(0.5, 2.0, n), "r0": np.zeros(n)},
                               index=[f"pop{i}" for i in range(n)])
    coupling = sp.random(n, n, density=0.3, random_state=2, format="csr") / n

    env = Environment(trajectory="rates", filename=args.filename, overwrite_file=True)
    traj = env.trajectory
    traj.f_add_parameter("populations", populations, comment="tau and initial rate per population")
    traj.f_add_parameter(SparseParameter, "coupling", coupling, comment="sparse coupling W")
    traj.f_add_parameter(PickleParameter, "stimulus", StepInput(1.0, [0, 1], t_on=1.0),
                         comment="input to the first two populations")
    traj.f_add_parameter("t_end", 5.0)
    traj.f_add_parameter("g", 1.0, comment="coupling strength")
    # cartesian_product (even of one parameter) makes g a dimension; a plain dict of
    # values would give a `run` dimension with g as a coordinate
    traj.f_explore(cartesian_product({"g": np.linspace(0.0, 3.0, n_g).round(3).tolist()}))
    env.run(simulate)
    print(env.dataset.mean_rate.load().to_series().round(3).to_string())

    # The values come back with their types. The pickled object needs allow_pickle=True:
    # unpickling runs code, so pypetx never does it for a file you did not vouch for.
    stored = load(args.filename, "rates", allow_pickle=True)  # the trajectory, rebuilt
    values = {name: stored.f_get(name).f_get()
              for name in ("parameters.populations", "parameters.coupling",
                           "parameters.stimulus")}
    assert isinstance(values["parameters.populations"], pd.DataFrame)
    assert values["parameters.populations"].equals(populations)
    assert sp.issparse(values["parameters.coupling"])
    assert (values["parameters.coupling"] != coupling).nnz == 0
    assert isinstance(values["parameters.stimulus"], StepInput)
    print("reloaded:", type(values["parameters.populations"]).__name__,
          type(values["parameters.coupling"]).__name__, values["parameters.stimulus"])
    ds = open_results(args.filename, "rates")
    print(f"rates per population at the strongest coupling: "
          f"{np.round(ds.rates.isel(g=-1).values, 3).tolist()}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ds.rates.plot.line(ax=ax, x="g", hue="population", add_legend=False, color="0.6", lw=1)
    ds.mean_rate.plot(ax=ax, color="tab:red", lw=2.5, label="mean over populations")
    ax.set_title("final rate of each population")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.figure, dpi=100)
    print(f"wrote {os.path.abspath(args.filename)} and {args.figure}")
    return args.filename


if __name__ == "__main__":
    main()
