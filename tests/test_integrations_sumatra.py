"""Sumatra records of sweeps, in a real project made with ``smt init`` (shelve store)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("sumatra", reason="sumatra is not installed (extra 'sumatra')")
pytest.importorskip("git", reason="Sumatra's git support needs GitPython")

SCRIPT = textwrap.dedent("""
    import sys
    from pypetx import Environment, cartesian_product

    def fn(traj):
        traj.f_add_result("z", traj.x * traj.y)

    env = Environment("smt_sweep", filename="Data/sweep.h5", cluster="synchronous",
                      sumatra_project=".", sumatra_label=sys.argv[1],
                      sumatra_reason="testing pypetx")
    env.trajectory.f_add_parameter("x", 1.0)
    env.trajectory.f_add_parameter("group.y", 2)
    env.trajectory.f_explore(cartesian_product({"x": [1.0, 2.0], "y": [1, 2, 3]}))
    env.run(fn)
""")


def _smt() -> str:
    smt = shutil.which("smt") or os.path.join(os.path.dirname(sys.executable), "smt")
    if not os.path.exists(smt):
        pytest.skip("the smt command of sumatra is not on PATH")
    return smt


@pytest.fixture
def project(tmp_path):
    def run(*args):
        subprocess.run(args, cwd=tmp_path, check=True, capture_output=True, text=True)

    run("git", "init", "-q", "-b", "main")
    run("git", "config", "user.email", "t@example.org")
    run("git", "config", "user.name", "T")
    (tmp_path / "sweep.py").write_text(SCRIPT)
    (tmp_path / ".gitignore").write_text("Data/\n.smt/\n")
    run("git", "add", "sweep.py", ".gitignore")
    run("git", "commit", "-q", "-m", "the sweep")
    run(_smt(), "init", "-d", "Data", "proj")
    (tmp_path / "Data").mkdir(exist_ok=True)
    return tmp_path


def test_sweep_is_a_sumatra_record(project):
    proc = subprocess.run([sys.executable, "sweep.py", "sweep-1"], cwd=project,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    from sumatra.projects import load_project

    record = load_project(str(project)).get_record("sweep-1")
    assert record.reason == "testing pypetx" and record.main_file == "sweep.py"
    assert record.script_arguments == "sweep-1" and record.executable.path == sys.executable
    assert record.parameters.as_dict() == {"x": [1.0, 1.0, 1.0, 2.0, 2.0, 2.0],
                                           "group.y": [1, 2, 3, 1, 2, 3]}
    assert [k.path for k in record.output_data] == ["sweep.h5"]
    assert record.duration > 0 and "6 completed, 0 failed" in record.outcome
    listed = subprocess.run([_smt(), "list"], cwd=project, capture_output=True, text=True)
    assert "sweep-1" in listed.stdout


def test_uncommitted_script_is_refused_before_a_record_is_made(project):
    (project / "other.py").write_text(SCRIPT)
    proc = subprocess.run([sys.executable, "other.py", "sweep-2"], cwd=project,
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "must be committed" in proc.stderr
    from sumatra.projects import load_project

    assert "sweep-2" not in [r.label for r in load_project(str(project)).find_records()]
