"""Every script in examples/ runs, at its small size, as a real subprocess.

The scripts run in a temporary directory (they write ``HDF/...`` and their figure next to
themselves, as a user running them would see) on the default backend: an embedded Dask
LocalCluster with its dashboard on a free port.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pypetx.store.load import list_trajectories, open_results

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
#: example -> (results file, trajectory, figure or None); checked after the run.
OUTPUTS = {
    "multiply.py": ("multiply.h5", "Multiplication", "multiply.png"),
    "oscillator.py": ("HDF/oscillator.h5", "oscillator", "oscillator.png"),
    "lazy_cube.py": ("HDF/lazy_cube.h5", "blobs", "lazy_cube.png"),
    "resumed_sweep.py": ("HDF/resumed.h5", "squares", "resumed.png"),
    "custom_parameter.py": ("HDF/custom_parameter.h5", "rates", "custom_parameter.png"),
}
#: optional dependency of other examples, by a word of their file name
OPTIONAL = {"brian2": "brian2", "deap": "deap", "slurm": "dask_jobqueue", "pbs": "dask_jobqueue",
            "sumatra": "sumatra", "adaptive": "adaptive"}


def run_example(name: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYPETX_EXAMPLES_SMALL="1", MPLBACKEND="Agg",
               DASK_PYPETX__LOCAL__DASHBOARD_ADDRESS=":0")
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_example_runs(name, tmp_path):
    args = () if name == "multiply.py" else ("--small",)  # multiply is pypet's classic
    proc = run_example(name, tmp_path, *args)
    results, trajectory, figure = OUTPUTS[name]
    assert list_trajectories(tmp_path / results) == [trajectory]
    ds = open_results(tmp_path / results, trajectory)
    assert bool(ds.completed.all()), proc.stdout
    assert (tmp_path / figure).read_bytes()[:4] == b"\x89PNG"  # the gallery's thumbnail
    ds.close()


def test_example_docstrings_have_a_gallery_title():
    """sphinx-gallery titles each example by the reST heading its docstring starts with."""
    import ast

    sys.path.insert(0, str(EXAMPLES.parent / "docs"))
    import _gallery  # which scripts the gallery shows

    for path in (EXAMPLES / name for name in _gallery.gallery_scripts()):
        doc = ast.get_docstring(ast.parse(path.read_text()), clean=False) or ""
        lines = doc.lstrip("\n").splitlines()
        assert len(lines) >= 2 and lines[1] == "=" * len(lines[0]) and lines[0].strip(), \
            f"{path.name}: start the docstring with a title underlined with '='"


def test_multiply_values(tmp_path):
    proc = run_example("multiply.py", tmp_path)
    ds = open_results(tmp_path / "multiply.h5")
    assert float(ds.z.sel(x=3, y=8)) == 24
    assert ds.z.dims == ("x", "y") and ds.z.shape == (3, 3)
    assert f"Results: {tmp_path / 'multiply.h5'}" in proc.stdout


def test_oscillator_finds_the_resonance(tmp_path):
    run_example("oscillator.py", tmp_path, "--small")
    ds = open_results(tmp_path / "HDF/oscillator.h5")
    light = ds.amplitude.sel(zeta=0.05)
    # lightly damped: the amplitude peaks near omega0 = 1, at about F / (2 zeta omega0^2)
    assert 0.6 < float(light.idxmax("omega")) < 1.5
    assert ds.steady_state.dims == ("zeta", "omega", "t") and ds.amplitude.attrs["units"] == "m"


def test_resumed_sweep_runs_only_missing(tmp_path):
    proc = run_example("resumed_sweep.py", tmp_path, "--small")
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("the resume ran"))
    ran = int(line.split()[3])
    assert 0 < ran < 24, line  # the killed attempt had stored some runs
    ds = open_results(tmp_path / "HDF/resumed.h5")
    assert np.allclose(ds.z, ds.x**2 + ds.y)


OTHERS = [pytest.param(name, marks=pytest.mark.slurm) if "slurm" in name else name
          for name in sorted(p.name for p in EXAMPLES.glob("*.py") if p.name not in OUTPUTS)]


@pytest.mark.slow
@pytest.mark.parametrize("name", OTHERS)
def test_other_examples_run_small(name, tmp_path):
    """Examples written for integrations (Brian2, DEAP, HPC) run with ``--small`` too."""
    for word, module in OPTIONAL.items():
        if word in name:
            pytest.importorskip(module)
    run_example(name, tmp_path, "--small")


def test_the_demo_runs_with_the_core_install_only(tmp_path):
    """`make demo` installs no extra: the classic example must not need matplotlib."""
    code = ("import runpy, sys; sys.modules['matplotlib'] = None; "
            f"runpy.run_path({str(EXAMPLES / 'multiply.py')!r}, run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300,
                          env=dict(os.environ, DASK_PYPETX__LOCAL__DASHBOARD_ADDRESS=":0"))
    assert proc.returncode == 0, proc.stderr
    assert "Results:" in proc.stdout and "pip install matplotlib" in proc.stdout
    assert (tmp_path / "multiply.h5").exists()
