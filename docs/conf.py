"""Sphinx configuration of the pypetx documentation (``make docs``: warnings are errors).

Sphinx + numpydoc + pydata-sphinx-theme + myst-nb, as xarray and dask do: the
reference is generated from the numpydoc docstrings the code already has, the user pages
stay plain Markdown (readable on GitHub too), and the theme is maintained.

Why myst-nb for the executed pages: the pages already were MyST Markdown, and myst-nb
(the Executable Books project, what Jupyter Book is built on) runs a page written as a
text notebook (``file_format: mystnb`` front matter and ``{code-cell}`` blocks) in a real
Jupyter kernel and shows what each cell produces -- printed values, xarray's HTML repr of
a Dataset, matplotlib figures -- with a cache so unchanged pages are not run again. It
replaces myst-parser (it includes it), so the pages that do not run stay as they were.
jupyter-sphinx needs reST directives; sphinx-gallery wants ``.py`` scripts: it builds the
examples gallery below instead, where scripts are what we have.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..")))
sys.path.insert(0, HERE)  # _gallery.py

# The executed pages and the gallery run real sweeps while the site builds. Set before
# pypetx (and dask) are imported, so this process and the pages' kernels (which inherit
# the environment) both see it: dashboards on free ports (CI may run two builds, and
# 8787 may be taken), no progress bars in the outputs, and `!pypetx ...` in a page is
# the CLI of this environment.
os.environ["DASK_PYPETX__LOCAL__DASHBOARD_ADDRESS"] = ":0"
os.environ["DASK_PYPETX__PROGRESS"] = "False"
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

import pypetx

import _gallery

project = "pypetx"
author = "the pypetx developers"
copyright = "the pypetx developers"
release = pypetx.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_nb",
    "sphinx_gallery.gen_gallery",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
]

# .md pages are read by myst-nb (which registers the suffix itself)
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
# gallery/*.ipynb: the notebooks sphinx-gallery writes for download, not pages
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints",
                    "gallery/*.ipynb", "_gallery.py"]
templates_path: list[str] = []

# Markdown: ```python fences, definition lists, heading anchors for [text](page.md#anchor)
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# Executed pages (myst-nb). "cache": a page runs again only when its code changed
# (jupyter-cache, in <build dir>/.jupyter_cache unless PYPETX_DOCS_CACHE says where); each
# page runs in a temporary directory, so the files its sweeps write never land in docs/;
# a cell that raises fails the build (-W), as does one that runs longer than the timeout.
nb_execution_mode = "cache"
nb_execution_cache_path = os.environ.get("PYPETX_DOCS_CACHE", "")
nb_execution_in_temp = True
nb_execution_timeout = 180
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# The examples gallery (sphinx-gallery): every script of examples/ but the ones
# _gallery.EXCLUDED names with a reason (SLURM, the adaptive page's own), run at build
# time with their --small size, with a thumbnail of the figure each draws and its run
# time. The scripts run in this process, and all of them run there as they are (checked:
# no exclusion for that reason). pypetx's embedded clusters fork their workers (its
# default); the scripts that start a LocalCluster themselves (deap_*, lazy_sweep) get
# distributed's spawn, which works because sphinx-gallery's stand-in __main__ has no file
# for a worker to re-import and cloudpickle sends the scripts' functions by value. Every
# script closes its cluster. They run from a temporary copy of examples/ (_gallery.py),
# so the files they write never land in the repository.
sphinx_gallery_conf = {
    "examples_dirs": _gallery.examples_copy(),
    "gallery_dirs": "gallery",
    "filename_pattern": r".*\.py$",  # execute every script shown
    "ignore_pattern": _gallery.IGNORE_PATTERN,
    "reset_argv": "_gallery.reset_argv",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "abort_on_example_error": True,  # a failing example fails the build
    "min_reported_time": 0,
    "show_signature": False,
    "remove_config_comments": True,
    # the run times go into a table on the gallery's index (_gallery.add_run_times),
    # not a page of their own loading jQuery from CDNs
    "write_computation_times": False,
}


def setup(app):
    app.connect("source-read", _gallery.add_run_times)

# Reference pages: one page per section, no stub files written into the source tree
autosummary_generate = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections say it better
numpydoc_show_class_members = False  # members are listed by autodoc's :members:
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"pypetx {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
