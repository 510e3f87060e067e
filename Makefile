# make demo: run the classic example; make test: the full suite with every extra.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Stamps: reinstall only when pyproject.toml changes (the package itself is editable).
STAMP      := $(VENV)/.installed
STAMP_CORE := $(VENV)/.installed-core
PYTEST_ARGS ?=

.PHONY: demo test pypet-suite docs bench clean distclean install venv

# The demo starts afresh each time: a second run would otherwise (rightly) refuse to
# overwrite the stored trajectory without resume=True.
demo: $(STAMP_CORE)
	rm -rf multiply.h5 multiply.h5.pypetx
	$(PY) examples/multiply.py

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# pypet's own unit tests against pypetx: pypet's sdist is fetched with pip at run time
# (never committed), `import pypet` resolves to pypetx; fails below tests/pypet_suite/scope.py's FLOOR.
pypet-suite: $(STAMP)
	$(PY) tests/pypet_suite/run.py

install: $(STAMP)

venv: $(PY)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Every extra, so that no test is skipped for a missing optional dependency.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --progress-bar off -e '.[all]'
	touch $@

# The demo needs only the core; a full install newer than pyproject.toml will do.
$(STAMP_CORE): pyproject.toml | $(PY)
	if [ $(STAMP) -nt pyproject.toml ]; then :; else $(PIP) install -e .; fi
	touch $@

docs: $(STAMP)
	@if [ -f docs/conf.py ]; then \
		$(PY) -m sphinx -W -b html docs docs/_build/html; \
	else echo "docs/conf.py does not exist yet: nothing to build"; fi

bench: $(STAMP)
	@if [ -f benchmarks/run.py ]; then $(PY) benchmarks/run.py; \
	else echo "benchmarks/run.py does not exist yet: nothing to run"; fi

# Keeps .venv: it may be a shared dev environment; distclean removes it too.
clean:
	rm -rf build dist *.egg-info .pytest_cache docs/_build benchmarks/_work HDF
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
