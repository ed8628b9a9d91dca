# bmsflasher — the two commands a new machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export QT_QPA_PLATFORM ?= offscreen

.PHONY: venv demo demo-cli test lint typecheck contracts unit reliability bench dist translations clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

translations: $(STAMP)
	$(PY) -m bmsflasher.gui.i18n_build

demo: $(STAMP)
	env -u QT_QPA_PLATFORM $(PY) -m bmsflasher.cli.main gui --demo

demo-cli: $(STAMP)
	$(PY) -m bmsflasher.cli.main demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src

typecheck: $(STAMP)
	$(VENV)/bin/mypy src

contracts: $(STAMP)
	$(VENV)/bin/lint-imports

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy src
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -m "not slow and not hil" -p no:cacheprovider

reliability: $(STAMP)
	$(PY) -m pytest -m slow tests/reliability -p no:cacheprovider

bench: $(STAMP)
	$(PY) -m benchmarks

dist: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dist]'
	$(PY) installer/build.py

clean:
	rm -rf build dist .mypy_cache .ruff_cache .pytest_cache
