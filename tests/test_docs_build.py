"""The documentation: the site builds with warnings as errors, the reference covers the
public API, and the code of the user pages runs.

Pages run as one script each, in a temporary directory, on the synchronous backend (the
code is the same a user runs on the default local cluster; only the test is faster).
Pages written as text notebooks (``file_format: mystnb``, executed by the docs build with
myst-nb) run their ``{code-cell}`` blocks, where ``!pypetx ...`` lines go to the CLI;
other pages run their ``` ```python ``` blocks. ``` ```py ``` blocks are shown only (they
need a cluster); ``$ pypetx ...`` lines of ``` ```console ``` blocks run through the CLI.
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
sys.path.insert(0, str(DOCS))
import _gallery  # noqa: E402  (docs/_gallery.py: which examples the gallery shows)

#: pages whose examples run (trajectory.md and parameters.md: tests/test_docs_pages.py)
PAGES = ["index.md", "getting-started.md", "tutorial.md", "analysis.md", "cookbook.md",
         "lazy.md", "failures.md", "brian2.md", "deap.md"]
#: the executed pages (text notebooks): the build must show their figures / Dataset reprs
EXECUTED = ["getting-started.md", "tutorial.md", "analysis.md", "failures.md", "lazy.md",
            "brian2.md", "deap.md"]
#: optional dependency of a page
NEEDS = {"brian2.md": "brian2", "deap.md": "deap"}
#: pages whose points kill their own process: they need the default (isolating) backend
DEFAULT_BACKEND = {"failures.md"}
BLOCK = re.compile(r"^```(python|console|\{code-cell\}[^\n]*)\n(.*?)^```",
                   flags=re.DOTALL | re.MULTILINE)


def is_notebook(page: str) -> bool:
    return (DOCS / page).read_text().startswith("---\nfile_format: mystnb\n")


def blocks(page: str) -> list[tuple[str, str]]:
    """(``python`` or ``console``, code) of the blocks of ``page`` that run, in order."""
    notebook, found = is_notebook(page), []
    for lang, code in BLOCK.findall((DOCS / page).read_text()):
        if lang.startswith("{code-cell}"):
            lines = code.splitlines(keepends=True)
            while lines and lines[0].startswith(":"):  # cell options (:tags: ...)
                lines.pop(0)
            python = "".join("\n" if ln.startswith("!") else ln for ln in lines)
            found.append(("python", python))
            shell = "".join("$ " + ln[1:] for ln in lines if ln.startswith("!"))
            if shell:
                found.append(("console", shell))
        elif lang == "console" or not notebook:  # a notebook's python fences are shown only
            found.append((lang, code))
    return found


def test_executed_pages_are_notebooks():
    for page in EXECUTED:
        assert is_notebook(page), f"docs/{page}: add the `file_format: mystnb` front matter"
        assert "```{code-cell}" in (DOCS / page).read_text(), f"docs/{page} has no code-cell"


@pytest.mark.parametrize("page", PAGES)
def test_page_code_runs(page, tmp_path, monkeypatch):
    import matplotlib

    if page in NEEDS:
        pytest.importorskip(NEEDS[page])
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    found = blocks(page)
    assert any(lang == "python" for lang, _ in found), f"docs/{page} has no python code"
    namespace: dict = {"__name__": "__docs__"}
    backend = {} if page in DEFAULT_BACKEND else {"pypetx.cluster": "synchronous"}
    with dask.config.set({**backend, "pypetx.progress": False,
                          "pypetx.local.dashboard_address": ":0"}):
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
    out = tmp_path / "html"
    html = (out / "api.html").read_text()
    assert "pypetx.Environment" in html and "cartesian_product" in html
    # the executed pages show what their code produced: figures and xarray's HTML repr
    for page in EXECUTED:
        text = (out / page.replace(".md", ".html")).read_text()
        assert 'class="cell_output' in text, f"{page}: no cell outputs"
        if page != "failures.md":  # a table of failed runs, no figure
            assert text.count("<img") > 0, f"{page}: no figure"
    start = (out / "getting-started.html").read_text()
    assert "xr-wrap" in start and "<img" in start  # the Dataset's HTML repr, the heatmap
    # the gallery: a thumbnail and a page for every example not excluded, with run times
    gallery = (out / "gallery" / "index.html").read_text()
    scripts = _gallery.gallery_scripts()
    assert scripts and gallery.count("sphx-glr-thumbcontainer") == len(scripts)
    assert gallery.count("<img") >= len(scripts) and "Run times" in gallery
    for name in scripts:
        stem = name.removesuffix(".py")
        assert f'href="{stem}.html' in gallery, f"gallery misses {name}"
        assert "<img" in (out / "gallery" / f"{stem}.html").read_text(), f"{name}: no figure"
    assert 'href="slurm_sweep.html' not in gallery  # excluded: needs SLURM
