"""Sphinx configuration of the pypetx documentation (``make docs``: warnings are errors).

Sphinx + numpydoc + pydata-sphinx-theme + myst-parser, as xarray and dask do: the
reference is generated from the numpydoc docstrings the code already has, the user pages
stay plain Markdown (readable on GitHub too), and the theme is maintained.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import pypetx

project = "pypetx"
author = "the pypetx developers"
copyright = "the pypetx developers"
release = pypetx.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
templates_path: list[str] = []

# Markdown: ```python fences, definition lists, heading anchors for [text](page.md#anchor)
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

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
