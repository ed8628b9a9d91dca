# bmsflasher — the two commands a new machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export QT_QPA_PLATFORM ?= offscreen
# Test processes for `make test` (pytest-xdist). The suite mostly waits on virtual devices (timeouts, line
# rates, reboots), not on the CPU: on this 2-core machine two workers took 13 min 55 s at load ~0.9; four took
# about 8 min, but at load 2-3 the timing-bound rack power-cut test failed in two runs of three. Three is
# the middle: 10 min 35 s, green. TEST_WORKERS=1 runs it serially.
TEST_WORKERS ?= 3

.PHONY: venv demo demo-cli test slow lint typecheck contracts unit reliability bench dist dist-test translations clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

translations: $(STAMP)
	$(PY) -m bmsflasher.gui.i18n_build

demo: $(STAMP)
	@env -u QT_QPA_PLATFORM $(PY) -m bmsflasher.gui.display_setup
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
	$(PY) -m pytest -m "not slow and not hil" -p no:cacheprovider -n $(TEST_WORKERS)

# The slow variants outside the reliability sweeps (Modbus transfer cases, the 8-module broadcast, rack pictures).
slow: $(STAMP)
	$(PY) -m pytest -m "slow and not hil" -p no:cacheprovider tests/contract tests/integration tests/gui tests/unit

# Full sweeps (slow marker); figures land in docs/reliability.md between the tool-level markers.
RELIABILITY_FIGURES := build/reliability/figures.jsonl
reliability: $(STAMP)
	mkdir -p build/reliability && rm -f $(RELIABILITY_FIGURES)
	start=$$(date +%s); \
	BMSFLASHER_RELIABILITY_OUT=$(CURDIR)/$(RELIABILITY_FIGURES) \
		$(PY) -m pytest -m slow tests/reliability -p no:cacheprovider; status=$$?; \
	$(PY) tests/reliability/rel_report.py $(RELIABILITY_FIGURES) --pytest-status $$status \
		--elapsed-s $$(( $$(date +%s) - start )); \
	exit $$status

# Every benchmarks/bench_*.py; prints a table and rewrites its sections of docs/performance.md.
bench: $(STAMP)
	$(PY) -m benchmarks

# Frozen desktop build for this OS into dist/ (installer/README.md has the per-OS details).
dist: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dist]'
	$(PY) installer/build.py

# The frozen-app test: --version, a virtual BMS scanned and flashed, the GUI offscreen, the tarball.
dist-test: dist
	BMSFLASHER_FROZEN_DIST=dist $(PY) -m pytest -m slow tests/integration/test_frozen_app.py -p no:cacheprovider

clean:
	rm -rf build dist .mypy_cache .ruff_cache .pytest_cache
