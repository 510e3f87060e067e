"""The code examples of the user pages run, in order, and their asserts hold.

An example of an error is written ``try: ... except SomeError as err: assert ...``; the
test also checks that every such ``except`` clause was reached (the error was raised).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import types
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ["trajectory.md", "parameters.md"]
EXCEPT = re.compile(r"^(\s*)except (\w+) as err:\n", flags=re.MULTILINE)


def code_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page):
    blocks = code_blocks(DOCS / page)
    assert blocks, f"docs/{page} has no python examples"
    namespace: dict = {"__raised__": []}
    expected = 0
    for i, block in enumerate(blocks):
        expected += len(EXCEPT.findall(block))
        code = EXCEPT.sub(r"\1except \2 as err:\n\1    __raised__.append(err)\n", block)
        try:
            exec(compile(code, f"docs/{page}[block {i}]", "exec"), namespace)  # noqa: S102
        except Exception as err:  # pragma: no cover - the message points at the block
            raise AssertionError(f"docs/{page}, example {i} failed:\n{block}") from err
    assert len(namespace["__raised__"]) == expected, "an example's error was not raised"


# --- every name the examples and the pages use is public and in the reference ----------

ROOT = DOCS.parent
#: documented namespaces besides ``pypetx`` itself: the optional integrations and the
#: engine (their names must be in the module's __all__ and in docs/api.rst as module.name)
NAMESPACES = {"pypetx.integrations.brian2", "pypetx.integrations.deap", "pypetx.engine"}
#: pypet's module paths, kept for pypet scripts (docs/migrating.md): their names are
#: pypet's, listed in the module's __all__ and on the migrating page, not in the reference
PYPET_PATHS = {"pypetx.compat", "pypetx.utils.explore", "pypetx.utils.decorators",
               "pypetx.brian2.parameter", "pypetx.brian2.network"}
#: contributor pages, about the internals
INTERNAL_PAGES = {"architecture.md", "changelog.md"}
CODE = re.compile(r"^```(?:python|py|\{code-cell\}[^\n]*)\n(.*?)^```",
                  flags=re.DOTALL | re.MULTILINE)


def code_sources() -> list[tuple[str, str]]:
    """(where, code) of every example script and every code block of the user pages."""
    found = [(f"examples/{p.name}", p.read_text()) for p in sorted((ROOT / "examples").glob("*.py"))]
    for page in sorted(DOCS.glob("*.md")):
        if page.name not in INTERNAL_PAGES:
            found += [(f"docs/{page.name}", code) for code in CODE.findall(page.read_text())]
    return found


def parse_code(code: str):
    import ast

    try:
        return ast.parse(code)
    except SyntaxError:  # doctest prompts, shell escapes, `...` placeholders in fragments
        lines = []
        for line in code.splitlines():
            line = re.sub(r"^(>>> |\.\.\. )", "", line)
            lines.append("" if line.lstrip().startswith(("!", "$", ":")) else line)
        try:
            return ast.parse("\n".join(lines))
        except SyntaxError:
            return None


def used_names(code: str) -> set[tuple[str, str]]:
    """(module, name) of every ``from pypetx... import name`` and ``pypetx.name`` use."""
    import ast

    tree = parse_code(code)
    if tree is None:  # not Python: read the import lines only
        return {(m, n.strip().split(" as ")[0])
                for m, names in re.findall(r"^\s*from (pypetx[\w.]*) import ([\w, ]+)$", code,
                                           flags=re.MULTILINE)
                for n in names.split(",") if n.strip()}
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pypetx":
            used |= {(node.module, alias.name) for alias in node.names}
        elif isinstance(node, ast.Attribute):
            chain, inner = [node.attr], node.value
            while isinstance(inner, ast.Attribute):
                chain.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id == "pypetx":
                chain.reverse()  # pypetx.a.b.c: the first part that is not a module
                module, obj = "pypetx", importlib.import_module("pypetx")
                for part in chain:
                    value = getattr(obj, part, None)  # pypetx.sweep: the function
                    if value is None and is_module(f"{module}.{part}"):
                        value = importlib.import_module(f"{module}.{part}")
                    if not isinstance(value, types.ModuleType):
                        used.add((module, part))
                        break
                    module, obj = f"{module}.{part}", value
    return used


def is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # the parent is a module, not a package
        return False


def test_every_name_used_is_public_and_documented():
    import pypetx

    api = (DOCS / "api.rst").read_text()
    migrating = (DOCS / "migrating.md").read_text()
    problems = []
    for where, code in code_sources():
        for module, name in sorted(used_names(code)):
            if module == "pypetx":
                if name in pypetx.__all__:
                    ok = re.search(rf"^\.\. auto\w+:: (pypetx\.)?{re.escape(name)}$", api,
                                   flags=re.MULTILINE)
                    why = "missing from docs/api.rst"
                else:  # pypet's names resolve from pypetx.compat (docs/migrating.md)
                    import pypetx.compat

                    ok = name in pypetx.compat.__all__ and name in migrating
                    why = "not in pypetx.__all__"
            elif module in NAMESPACES:
                mod = importlib.import_module(module)
                ok = name in getattr(mod, "__all__", ()) and f":: {module}.{name}" in api
                why = f"not in {module}.__all__ and docs/api.rst"
            elif module in PYPET_PATHS:
                mod = importlib.import_module(module)
                ok = name in getattr(mod, "__all__", ()) and name in migrating
                why = f"not a pypet name of {module} named in docs/migrating.md"
            else:
                ok, why = False, f"imported from the internal {module}: use `from pypetx import {name}`"
            if not ok:
                problems.append(f"{where}: {module}.{name}: {why}")
    assert not problems, "\n".join(problems)


def test_the_check_sees_imports_and_attributes():
    used = used_names("import pypetx\nfrom pypetx.store.ragged import get_ragged_at\n"
                      "pypetx.sweep(f, x=[1])\npypetx.integrations.deap.EvolutionMap\n"
                      "d = {'pypetx.cluster': 1}\n")
    assert used == {("pypetx.store.ragged", "get_ragged_at"), ("pypetx", "sweep"),
                    ("pypetx.integrations.deap", "EvolutionMap")}
