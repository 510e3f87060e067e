"""
A physics sweep: the resonance of a damped, driven oscillator
=============================================================

The equation of motion, integrated with scipy:

    x'' + 2 zeta omega0 x' + omega0**2 x = F cos(omega t)

The damping ratio ``zeta`` and the drive frequency ``omega`` are explored on a grid; each
run integrates the ODE with :func:`scipy.integrate.solve_ivp`, stores the steady-state
amplitude (a scalar) and the last stretch of the trajectory (an array with its own ``t``
dimension), and the script ends with a heatmap of the amplitude, the resonance ridge.

Run ``python examples/oscillator.py`` (20 x 30 points, a few seconds on a laptop) or
``python examples/oscillator.py --small`` (4 x 5 points, what the test suite runs).
Writes ``HDF/oscillator.h5`` and ``oscillator.png``.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from scipy.integrate import solve_ivp

from pypetx import Environment, cartesian_product


def oscillate(traj):
    """One run: integrate for ``t_end`` and measure the steady state of the last 20 %."""
    omega0, zeta, omega, force = traj.omega0, traj.zeta, traj.omega, traj.force

    def rhs(t, state):
        x, v = state
        return [v, force * np.cos(omega * t) - 2 * zeta * omega0 * v - omega0**2 * x]

    t_eval = np.linspace(0.8 * traj.t_end, traj.t_end, traj.n_samples)
    sol = solve_ivp(rhs, (0.0, traj.t_end), [0.0, 0.0], t_eval=t_eval, rtol=1e-6, atol=1e-9)
    traj.f_add_result("amplitude", float(np.abs(sol.y[0]).max()),
                      comment="steady-state amplitude", units="m")
    traj.f_add_result("steady_state", sol.y[0], dims=("t",), units="m",
                      comment="x over the last 20 % of the run")


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true",
                        default=bool(os.environ.get("PYPETX_EXAMPLES_SMALL")),
                        help="a 4 x 5 grid (what the test suite runs)")
    parser.add_argument("--filename", default="HDF/oscillator.h5")
    parser.add_argument("--figure", default="oscillator.png")
    args = parser.parse_args(argv)

    n_zeta, n_omega = (4, 5) if args.small else (20, 30)
    env = Environment(trajectory="oscillator", filename=args.filename, overwrite_file=True,
                      comment="resonance of a damped driven oscillator")
    traj = env.trajectory
    traj.f_add_parameter("omega0", 1.0, comment="natural angular frequency (rad/s)")
    traj.f_add_parameter("force", 1.0, comment="drive amplitude per mass (m/s^2)")
    traj.f_add_parameter("t_end", 120.0, comment="integration time (s)")
    traj.f_add_parameter("n_samples", 200, comment="samples stored of the steady state")
    traj.f_add_parameter("zeta", 0.1, comment="damping ratio")
    traj.f_add_parameter("omega", 1.0, comment="drive angular frequency (rad/s)")
    traj.f_explore(cartesian_product({
        "zeta": np.round(np.geomspace(0.05, 1.0, n_zeta), 4).tolist(),
        "omega": np.round(np.linspace(0.2, 2.0, n_omega), 4).tolist(),
    }))
    env.run(oscillate)

    ds = env.dataset  # lazy: nothing is read until it is needed
    peak = ds.amplitude.idxmax("omega").load()
    for zeta, omega in zip(peak.zeta.values, peak.values):
        # analytic resonance: omega0 * sqrt(1 - 2 zeta^2), none above zeta = 1/sqrt(2)
        exact = f"{np.sqrt(1 - 2 * zeta**2):.3f}" if zeta < 2**-0.5 else "none"
        print(f"zeta={zeta:<7g} amplitude peaks at omega={omega:.3f} (analytic {exact})")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    ds.amplitude.plot(ax=ax, x="omega", y="zeta", yscale="log", cmap="magma")
    ax.set_title("steady-state amplitude")
    fig.tight_layout()
    fig.savefig(args.figure, dpi=120)
    print(f"wrote {os.path.abspath(args.filename)} and {args.figure}")
    return args.filename


if __name__ == "__main__":
    main()
