"""Provenance: versions, host and time; git state read (never written) from a real repo."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest

from pypetx.provenance import GitRepositoryError, collect, git_info

git = pytest.importorskip("git")


def test_collect_basics():
    info = collect(record_packages=["pytest", "surely-not-installed-pkg"], seeds={"numpy": 42})
    json.dumps(info)
    assert {"numpy", "dask", "distributed", "xarray", "h5py", "pytest"} <= set(info["versions"])
    assert "surely-not-installed-pkg" not in info["versions"]
    assert info["seeds"] == {"numpy": 42} and info["pid"] > 0 and info["hostname"]
    start = dt.datetime.fromisoformat(info["start_time"])
    assert start.utcoffset() == dt.timedelta(0)
    assert "git" not in info and isinstance(info["command_line"], list)
    assert set(collect(times_only=True)) == {"time"}


@pytest.fixture
def repo(tmp_path):
    def run(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    run("init", "-q", "-b", "main")
    run("config", "user.email", "t@example.org")
    run("config", "user.name", "T")
    (tmp_path / "model.py").write_text("a = 1\n")
    run("add", "model.py")
    run("commit", "-q", "-m", "first")
    return tmp_path


def test_git_clean_and_dirty(repo):
    head = git.Repo(repo).head.commit.hexsha
    info = collect(git_repository=repo)["git"]
    assert info == {"repository": str(repo), "hexsha": head, "branch": "main", "dirty": False,
                    "diff": "", "diff_truncated": False}
    (repo / "model.py").write_text("a = 2\n")
    (repo / "untracked.txt").write_text("x")
    info = git_info(repo / "model.py")
    assert info["dirty"] and "+a = 2" in info["diff"] and "untracked" not in info["diff"]
    assert git.Repo(repo).head.commit.hexsha == head  # nothing committed
    assert not git.Repo(repo).index.diff("HEAD")  # nothing staged
    (repo / "model.py").write_text("b = 3\n" * 1000)
    capped = git_info(repo, max_diff=100)
    assert len(capped["diff"]) == 100 and capped["diff_truncated"]


def test_not_a_repository(tmp_path):
    with pytest.raises(GitRepositoryError, match=f"{tmp_path} is not inside a git repository"):
        collect(git_repository=tmp_path)
