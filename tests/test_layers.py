"""The package's layers: every import points down, none forms a cycle, no private name
crosses a package boundary.

Every ``import`` statement counts, those inside functions too (that is where an upward
dependency hides). The layers, top to bottom, are listed in docs/architecture.md.
"""

from __future__ import annotations

import ast
import collections
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "pypetx"

#: Layers, top to bottom: a module may import from its own layer and the ones below.
LAYERS = [
    ("face", ("pypetx", "pypetx._moved", "pypetx.sweep", "pypetx.api", "pypetx.cli",
              "pypetx.commands", "pypetx.pypetconstants", "pypetx.pypetexceptions",
              "pypetx.utils", "pypetx.brian2")),
    ("compat", ("pypetx.compat", "pypetx.integrations")),
    ("env", ("pypetx.env",)),
    ("engine", ("pypetx.engine",)),
    ("store", ("pypetx.store",)),
    ("core", ("pypetx.core",)),
    ("base", ("pypetx.base", "pypetx._version")),
]


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = path
    return mods


MODULES = _modules()


def layer_of(module: str) -> int:
    best, where = -1, None
    for k, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, where = len(prefix), k
    if where is None:
        raise AssertionError(f"{module} is in no layer: add it to tests/test_layers.py")
    return where


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) of every import in ``module``."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = ".".join(x for x in (base, node.module) if x)
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:
                    # ``from pkg import sub`` runs ``pkg/__init__.py`` too: count both
                    out += [(sub, None, node.lineno), (target, None, node.lineno)]
                else:
                    out.append((target, alias.name, node.lineno))
    return [(t, n, line) for t, n, line in out if t == "pypetx" or t.startswith("pypetx.")]


def _resolve(target: str) -> str | None:
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = collections.defaultdict(set)
    for module in MODULES:
        for target, _, _ in _imports(module):
            resolved = _resolve(target)
            if resolved and resolved != module:
                edges[module].add(resolved)
    return edges


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


def test_imports_point_down():
    upward = []
    for module in sorted(MODULES):
        for target, _, line in _imports(module):
            resolved = _resolve(target)
            if resolved and layer_of(resolved) < layer_of(module):
                upward.append(f"{MODULES[module].relative_to(ROOT.parent)}:{line} "
                              f"({LAYERS[layer_of(module)][0]}) imports {resolved} "
                              f"({LAYERS[layer_of(resolved)][0]})")
    assert not upward, "upward imports:\n" + "\n".join(upward)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for start in sorted(MODULES):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_import_cycles():
    cycles = _cycles(_edges())
    assert not cycles, "import cycles:\n" + "\n".join(", ".join(c) for c in cycles)


def _package(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def test_no_private_name_crosses_a_package():
    """``_name`` (a private module or a private member) is used only inside the package
    that defines it."""
    crossing = []
    for module in sorted(MODULES):
        for target, name, line in _imports(module):
            resolved = _resolve(target)
            if resolved is None:
                continue
            private_module = any(p.startswith("_") and not p.startswith("__")
                                 for p in resolved.split("."))
            private_name = name is not None and name.startswith("_") and not name.startswith("__")
            if not (private_module or private_name):
                continue
            owner = _package(resolved) if not private_name else resolved
            if private_module:
                # the package that holds the private module
                parts = resolved.split(".")
                first = next(i for i, p in enumerate(parts) if p.startswith("_")
                             and not p.startswith("__"))
                owner = ".".join(parts[:first])
            if private_name and not private_module:
                owner = _package(resolved)
            if not (module == owner or module.startswith(owner + ".")):
                crossing.append(f"{MODULES[module].relative_to(ROOT.parent)}:{line} uses "
                                f"{resolved}{'.' + name if name else ''}")
    assert not crossing, "private names used outside their package:\n" + "\n".join(crossing)


@pytest.mark.parametrize("module", ["pypetx.core.batch", "pypetx.engine.task"])
def test_worker_imports_stay_light(module):
    """What a worker imports to run a batch pulls in neither xarray nor the store."""
    import subprocess
    import sys

    code = (f"import sys, {module}; "
            "bad = [m for m in ('xarray', 'h5py', 'pypetx.store', 'pypetx.store.base') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]", f"importing {module} imports {out}"
