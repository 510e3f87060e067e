"""pyproject.toml is the single source of dependencies; conda-env.yml must mirror it."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]

CONTRACT_EXTRAS = {"brian2", "deap", "sumatra", "hpc", "tables", "docs", "test", "all"}

# conda-forge name -> PyPI name, where they differ
CONDA_TO_PYPI = {
    "dask-core": "dask",
    "matplotlib-base": "matplotlib",
    "pytables": "tables",
}
# (package, extra) -> the packages that extra pulls in; conda has no extras, so
# conda-env.yml lists them by name. An extra missing here fails the test on purpose.
EXTRA_PACKAGES = {
    ("h5netcdf", "h5py"): {"h5py"},
}
# conda-env.yml entries that are not dependencies of pypetx
CONDA_ONLY = {"python", "pip"}

_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*([^;]*)")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse(req: str) -> tuple[str, set[str], str]:
    """Name, extras and version specifier of a pip or conda requirement string."""
    m = _REQ.match(req)
    assert m, f"cannot parse requirement {req!r}"
    name, extras, spec = m.groups()
    extras = {normalize(e) for e in (extras or "").split(",") if e.strip()}
    spec = ",".join(sorted(s.strip() for s in spec.replace(" ", "").split(",") if s))
    return normalize(name), extras, spec


@pytest.fixture(scope="module")
def project() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


@pytest.fixture(scope="module")
def conda() -> dict:
    with open(ROOT / "conda-env.yml") as f:
        return yaml.safe_load(f)


def expand_extras(project: dict, extra: str, seen: frozenset = frozenset()) -> list[str]:
    """Requirements of one extra, following self-references such as pypetx[test]."""
    out = []
    for req in project["optional-dependencies"][extra]:
        name, extras, _ = parse(req)
        if name == normalize(project["name"]):
            for e in extras - seen:
                out += expand_extras(project, e, seen | {extra})
        else:
            out.append(req)
    return out


def pypi_specs(project: dict) -> dict[str, str]:
    """Every package pypetx can depend on (core and all extras) -> its specifier."""
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"]:
        reqs += expand_extras(project, extra)
    specs: dict[str, str] = {}
    for req in reqs:
        name, extras, spec = parse(req)
        specs[name] = spec
        for e in extras:
            assert (name, e) in EXTRA_PACKAGES, (
                f"{req!r}: add what {name}[{e}] pulls in to EXTRA_PACKAGES "
                "and list it in conda-env.yml"
            )
            for pkg in EXTRA_PACKAGES[name, e]:
                specs.setdefault(pkg, "")
    return specs


def conda_specs(conda: dict) -> dict[str, str]:
    specs: dict[str, str] = {}
    for dep in conda["dependencies"]:
        for req in dep["pip"] if isinstance(dep, dict) else [dep]:
            name, _, spec = parse(req)
            name = CONDA_TO_PYPI.get(name, name)
            if name not in CONDA_ONLY:
                specs[name] = spec
    return specs


def test_conda_env_lists_same_packages(project, conda):
    pypi, env = set(pypi_specs(project)), set(conda_specs(conda))
    assert not pypi - env, f"in pyproject.toml but not in conda-env.yml: {sorted(pypi - env)}"
    assert not env - pypi, f"in conda-env.yml but not in pyproject.toml: {sorted(env - pypi)}"


def test_conda_env_has_same_bounds(project, conda):
    # packages that only come in through an extra (h5py via h5netcdf[h5py]) have no bound
    pypi = {k: v for k, v in pypi_specs(project).items() if v}
    env = conda_specs(conda)
    differ = {k: (v, env.get(k)) for k, v in pypi.items() if env.get(k) != v}
    assert not differ, f"version bounds differ (pyproject, conda): {differ}"


def test_contract_extras_exist(project):
    missing = CONTRACT_EXTRAS - set(project["optional-dependencies"])
    assert not missing, f"extras missing from pyproject.toml: {sorted(missing)}"


def test_all_covers_every_extra(project):
    extras = project["optional-dependencies"]
    covered = {parse(r)[0] for r in expand_extras(project, "all")}
    for extra in set(extras) - {"all"}:
        names = {parse(r)[0] for r in expand_extras(project, extra)}
        assert names <= covered, f"'all' lacks {sorted(names - covered)} from [{extra}]"


def test_version_single_source(project):
    assert "version" in project.get("dynamic", [])
    text = (ROOT / "pypetx" / "_version.py").read_text()
    version = re.search(r'__version__\s*=\s*"([^"]+)"', text).group(1)
    try:
        installed = metadata.version("pypetx")
    except metadata.PackageNotFoundError:
        pytest.skip("pypetx is not installed")
    assert installed == version, "installed metadata is stale: reinstall (make test does)"
