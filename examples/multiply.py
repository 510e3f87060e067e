"""
The classic sweep: z = x * y
============================

pypet's first example with only the import changed: ``z = x * y`` on a 3 x 3 grid.

Run it with ``make demo`` or ``python examples/multiply.py``. Every point runs as Dask work
(the driver runs the first cheap batches itself); the results land in ``multiply.h5`` as
an xarray Dataset with one dimension per explored parameter, drawn as a heatmap to
``multiply.png``.
"""
import os

from pypetx import Environment, cartesian_product


def multiply(traj):
    """One run: read the point's parameters, store their product."""
    traj.f_add_result("z", traj.x * traj.y, comment="product of x and y")


env = Environment(trajectory="Multiplication", filename="multiply.h5",
                  comment="the classic first sweep")
traj = env.trajectory
traj.f_add_parameter("x", 1.0, comment="first factor")
traj.f_add_parameter("y", 1.0, comment="second factor")
traj.f_explore(cartesian_product({"x": [1, 2, 3], "y": [6, 7, 8]}))
env.run(multiply)

print(env.dataset.z.load())
path = os.path.abspath(env.filename)
print(f"\nResults: {path} (group {traj.name!r})")
print(f"  pypetx show {env.filename}")
print(f"  xr.open_dataset({env.filename!r}, engine='h5netcdf', group={traj.name!r}, chunks={{}})")

# The cube is an xarray Dataset: two explored parameters, so z is a heatmap over (x, y).
# matplotlib is not a core dependency: the sweep above needs none of it.
try:
    import matplotlib
except ImportError:
    print("  (pip install matplotlib to draw z as a heatmap: env.dataset.z.plot())")
else:
    matplotlib.use("Agg")  # a file, no window: also runs over ssh
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    env.dataset.z.plot(ax=ax, x="x", y="y", cmap="viridis")
    ax.set_title("z = x * y")
    fig.tight_layout()
    fig.savefig("multiply.png", dpi=100)
    print("  figure: multiply.png")
