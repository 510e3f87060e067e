"""The examples gallery (sphinx-gallery over ``examples/``): which scripts, how they run.

Imported by ``docs/conf.py`` and by ``tests/test_docs_build.py`` (which checks that the
built gallery lists every script not excluded here), so the list lives in one place.

sphinx-gallery executes each script inside the Sphinx process, with the script's folder as
the working directory: the scripts write ``HDF/...`` files and figures next to
themselves. So that a docs build never writes into the repository, the gallery is built
from a copy of ``examples/`` in a temporary directory (:func:`examples_copy`).
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: scripts left out of the gallery, with the reason (a regex of file names -> why)
EXCLUDED = {
    r"slurm_sweep\.py": "needs a SLURM cluster (sbatch); tests/test_examples.py runs it "
                        "under the `slurm` marker",
    r"adaptive.*\.py": "shown and run on its own page, docs/adaptive.md, which documents "
                       "the `adaptive` extra it needs",
}
#: sphinx-gallery's ``ignore_pattern``: matched against the full path of each script
IGNORE_PATTERN = r"(^|/)(" + "|".join(EXCLUDED) + r")$"

#: arguments each script runs with in the gallery: the small size the test suite runs
#: (seconds each); multiply.py is pypet's classic and takes no arguments
ARGS = {
    "multiply.py": [],
    "brian2_cuba.py": ["--small", "--workers", "2"],  # 2 cores on CI
}


def gallery_scripts() -> list[str]:
    """The file names of the scripts the gallery shows (every example not excluded)."""
    return sorted(p.name for p in EXAMPLES.glob("*.py")
                  if not re.search(IGNORE_PATTERN, p.as_posix()))


def reset_argv(gallery_conf: dict, script_vars: dict) -> list[str]:
    """sphinx-gallery's ``reset_argv``: the command line of one script."""
    name = Path(script_vars["src_file"]).name
    return list(ARGS.get(name, ["--small"]))


def examples_copy() -> str:
    """Copy ``examples/`` (scripts and the gallery header) into a fresh temporary directory,
    removed when the build ends; returns its path (sphinx-gallery's ``examples_dirs``)."""
    root = Path(tempfile.mkdtemp(prefix="pypetx-gallery-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    target = root / "examples"
    target.mkdir()
    for path in EXAMPLES.iterdir():
        if path.is_file() and (path.suffix == ".py" or path.name.startswith("GALLERY_HEADER")):
            shutil.copy2(path, target / path.name)
    return str(target)


TIMING = re.compile(r"\*\*Total running time of the script:\*\*\s*\(\s*(\d+)\s*minutes\s*"
                    r"([\d.]+)\s*seconds\)")


def run_times_table(gallery_dir: str | Path) -> str:
    """reST of a table: every example of the built gallery with its run time (each
    example's page states it; this puts them on the page of thumbnails)."""
    rows = []
    for page in sorted(Path(gallery_dir).glob("*.rst")):
        found = TIMING.search(page.read_text())
        if found:
            seconds = 60 * int(found.group(1)) + float(found.group(2))
            rows.append(f"   * - :ref:`sphx_glr_gallery_{page.stem}.py`\n"
                        f"     - ``{page.stem}.py``\n     - {seconds:.1f} s")
    if not rows:
        return ""
    return ("\n\nRun times\n---------\n\nAs measured when this site was built (the scripts' "
            "``--small`` size):\n\n.. list-table::\n   :header-rows: 1\n\n"
            "   * - Example\n     - Script\n     - Run time\n" + "\n".join(rows) + "\n")


def add_run_times(app, docname: str, source: list[str]) -> None:
    """Sphinx ``source-read`` hook: append :func:`run_times_table` to the gallery index."""
    if docname == "gallery/index":
        source[0] += run_times_table(Path(app.srcdir) / "gallery")
