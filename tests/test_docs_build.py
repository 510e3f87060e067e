"""The documentation: the site builds with warnings as errors, the reference covers the
public API, and the code of the user pages runs.

Pages run as one script each, in a temporary directory, on the synchronous backend (the
code is the same a user runs on the default local cluster; only the test is faster).
``` ```python ``` blocks are executed; ``` ```py ``` blocks are shown only (they need a
cluster); ``$ pypetx ...`` lines of ``` ```console ``` blocks run through the CLI.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import dask.config
import pytest

import pypetx
# its defaults must exist before the dask.config.set below, or leaving that context
# removes the whole "pypetx" namespace (dask restores keys it inserted by deleting them)
import pypetx.config

DOCS = Path(__file__).resolve().parent.parent / "docs"
#: pages whose examples run (trajectory.md and parameters.md: tests/test_docs_pages.py)
PAGES = ["index.md", "getting-started.md", "tutorial.md", "analysis.md", "cookbook.md",
         "lazy.md"]
BLOCK = re.compile(r"^```(python|console)\n(.*?)^```", flags=re.DOTALL | re.MULTILINE)


def blocks(page: str) -> list[tuple[str, str]]:
    return BLOCK.findall((DOCS / page).read_text())


@pytest.mark.parametrize("page", PAGES)
def test_page_code_runs(page, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    found = blocks(page)
    assert any(lang == "python" for lang, _ in found), f"docs/{page} has no python code"
    namespace: dict = {"__name__": "__docs__"}
    with dask.config.set({"pypetx.cluster": "synchronous", "pypetx.progress": False}):
        for i, (lang, code) in enumerate(found):
            if lang == "python":
                try:
                    exec(compile(code, f"docs/{page}[block {i}]", "exec"), namespace)  # noqa: S102
                except Exception as err:
                    raise AssertionError(f"docs/{page}, block {i} failed:\n{code}") from err
            else:
                run_console(page, i, code)
    import matplotlib.pyplot as plt

    plt.close("all")


def run_console(page: str, i: int, code: str) -> None:
    """Run the ``$ pypetx ...`` lines of a console block (others are install commands)."""
    from click.testing import CliRunner

    from pypetx.cli import cli

    for line in code.splitlines():
        if not line.startswith("$ pypetx "):
            continue
        args = shlex.split(line[len("$ pypetx "):].split("#")[0])
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, f"docs/{page} block {i}: {line}\n{result.output}"


def test_reference_lists_every_public_name():
    text = (DOCS / "api.rst").read_text()
    documented = set(re.findall(r"^\.\. auto(?:class|function|exception|data):: (\S+)",
                                text, flags=re.MULTILINE))
    missing = sorted(set(pypetx.__all__) - documented)
    assert not missing, f"add to docs/api.rst: {missing}"


def test_every_page_is_in_the_toctree():
    index = (DOCS / "index.md").read_text()
    listed = set(re.findall(r"^([\w-]+)$", index, flags=re.MULTILINE))
    pages = {p.stem for p in DOCS.glob("*.md")} | {p.stem for p in DOCS.glob("*.rst")}
    orphans = sorted(pages - listed - {"index"})
    assert not orphans, f"add to a toctree in docs/index.md: {orphans}"


@pytest.mark.slow
def test_sphinx_builds_without_warnings(tmp_path):
    """What ``make docs`` runs: ``sphinx-build -W`` (warnings are errors)."""
    pytest.importorskip("sphinx")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, check=False, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "html" / "api.html").read_text()
    assert "pypetx.Environment" in html and "cartesian_product" in html
    assert (tmp_path / "html" / "tutorial.html").exists()
