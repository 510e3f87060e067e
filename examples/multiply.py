"""The classic pypet sweep with only the import changed: z = x * y on a 3 x 3 grid.

Run it with ``make demo`` or ``python examples/multiply.py``. Every point runs as Dask work
on an embedded LocalCluster; the results land in ``multiply.h5`` as an xarray Dataset with
one dimension per explored parameter.
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
