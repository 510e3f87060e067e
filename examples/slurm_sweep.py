"""A parameter sweep on SLURM worker jobs (dask-jobqueue's SLURMCluster).

Each point integrates a damped oscillator for a while and stores its final amplitude.
The workers are SLURM jobs: ``n_jobs`` fixed ones (resubmitted when one ends) or
``--adapt MIN MAX`` to grow and shrink with the work. Scheduler, workers and client talk
TLS; the dashboard listens on 127.0.0.1 (see docs/hpc.md for the SSH tunnel).

    python examples/slurm_sweep.py                    # 40 x 40 points on 2 jobs
    python examples/slurm_sweep.py --adapt 0 8        # adaptive
    pypetx submit examples/slurm_sweep.py --time 01:00:00   # the driver as a job too

Worker jobs are sized by ~/.config/dask/jobqueue.yaml; the options below are small
defaults that fit any cluster (and the 2-core CI machine). Without ``sbatch`` on PATH
(a laptop) it runs on a local cluster instead, so the script can be tried anywhere.
Writes ``HDF/slurm_sweep.h5``.
"""

from __future__ import annotations

import argparse
import shutil

import numpy as np

from pypetx import Environment, cartesian_product


def oscillate(traj):
    """Final amplitude of x'' + 2 zeta x' + omega^2 x = 0 after t = 10 (x0 = 1)."""
    t = np.linspace(0.0, 10.0, 2001)
    dt = t[1] - t[0]
    x, v = 1.0, 0.0
    for _ in t[1:]:  # semi-implicit Euler: cheap and stable
        v -= dt * (2 * traj.zeta * v + traj.omega**2 * x)
        x += dt * v
    traj.f_add_result("amplitude", abs(x), comment="|x(t=10)|")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="8 x 8 points (tests)")
    parser.add_argument("--jobs", type=int, default=2, help="worker jobs (default 2)")
    parser.add_argument("--adapt", type=int, nargs=2, metavar=("MIN", "MAX"))
    args = parser.parse_args()

    n = 8 if args.small else 40
    if shutil.which("sbatch"):
        scaling = {"adapt": tuple(args.adapt)} if args.adapt else {"n_jobs": args.jobs}
        where = dict(cluster="slurm", **scaling, cluster_options=dict(
            cores=1, memory="1GB", processes=1, walltime="00:10:00"))
    else:
        print("no sbatch here: running on a local Dask cluster instead")
        where = dict(cluster="local")
    env = Environment("oscillators", filename="HDF/slurm_sweep.h5", overwrite_file=True,
                      **where)
    traj = env.traj
    traj.f_add_parameter("omega", 1.0, comment="natural frequency")
    traj.f_add_parameter("zeta", 0.1, comment="damping ratio")
    traj.f_explore(cartesian_product({"omega": list(np.linspace(0.5, 3.0, n)),
                                      "zeta": list(np.linspace(0.01, 0.5, n))}))
    env.run(oscillate)
    ds = env.dataset
    print(f"{int(ds.completed.sum())} of {ds.completed.size} points on "
          f"{len(np.unique(ds.worker.values))} workers; largest final amplitude "
          f"{float(ds.amplitude.max()):.3f}")


if __name__ == "__main__":
    main()
