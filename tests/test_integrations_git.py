"""Git provenance through the Environment, on a real temporary repository."""

from __future__ import annotations

import json
import subprocess

import pytest

git = pytest.importorskip("git", reason="GitPython is not installed")

from pypetx import Environment  # noqa: E402
from pypetx.provenance import GitDirtyError  # noqa: E402


@pytest.fixture
def repo(tmp_path):
    def run(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    run("init", "-q", "-b", "main")
    run("config", "user.email", "t@example.org")
    run("config", "user.name", "T")
    (tmp_path / "model.py").write_text("a = 1\n")
    (tmp_path / ".gitignore").write_text("*.h5\n*.pypetx\n")
    run("add", "model.py", ".gitignore")
    run("commit", "-q", "-m", "first")
    return tmp_path


def _square(traj):
    traj.f_add_result("y", traj.x ** 2)


def _run(repo, name, **options):
    env = Environment(name, filename=str(repo / f"{name}.h5"), cluster="synchronous",
                      git_repository=str(repo), **options)
    env.trajectory.f_add_parameter("x", 1)
    env.trajectory.f_explore({"x": [1, 2]})
    env.run(_square)
    return json.loads(env.dataset.attrs["provenance"])["git"]


def test_clean_repository_is_recorded(repo):
    head = git.Repo(repo).head.commit.hexsha
    info = _run(repo, "clean", git_fail_if_dirty=True)
    assert info["hexsha"] == head and info["branch"] == "main" and not info["dirty"]


def test_dirty_repository_is_recorded_never_committed(repo):
    head = git.Repo(repo).head.commit.hexsha
    (repo / "model.py").write_text("a = 2\n")
    info = _run(repo, "dirty")
    assert info["dirty"] and "+a = 2" in info["diff"] and info["hexsha"] == head
    assert git.Repo(repo).head.commit.hexsha == head and git.Repo(repo).is_dirty()


def test_fail_if_dirty(repo):
    (repo / "model.py").write_text("a = 3\n")
    with pytest.raises(GitDirtyError, match="uncommitted changes"):
        _run(repo, "refused", git_fail_if_dirty=True)
    assert not (repo / "refused.h5").exists()


def test_opt_in_commit_commits_tracked_files_only(repo):
    head = git.Repo(repo).head.commit.hexsha
    (repo / "model.py").write_text("a = 4\n")
    (repo / "notes.txt").write_text("untracked\n")
    info = _run(repo, "committed", git_commit="sweep of x", git_fail_if_dirty=True)
    r = git.Repo(repo)
    assert info["committed"] == r.head.commit.hexsha == info["hexsha"] != head
    assert r.head.commit.message == "sweep of x" and not info["dirty"]
    assert "notes.txt" in r.untracked_files  # never added
