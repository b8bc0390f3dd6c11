# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/cairn: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $(BIN)/cairn

demo: $(BIN)/cairn
	PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo.sh

lint: $(BIN)/cairn
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)
	$(BIN)/mypy

# PYTEST_ARGS="-m 'not compat'" leaves out the tests that need the cmx4mlops wheel (PyPI).
PYTEST_ARGS ?=
test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

# The fast subset: no cmx4mlops wheel, browser, container engine or Dask cluster.
.PHONY: test-fast
test-fast: lint
	$(BIN)/pytest -m "not compat and not browser and not containers and not cluster" $(PYTEST_ARGS)

bench: $(BIN)/cairn
	$(BIN)/python bench/run.py

.PHONY: bench-scripts
bench-scripts: $(BIN)/cairn
	$(BIN)/python bench/script_chain.py

.PHONY: bench-cm
bench-cm: $(BIN)/cairn
	$(BIN)/python bench/cm_repo.py

.PHONY: bench-probe
bench-probe: $(BIN)/cairn
	$(BIN)/python bench/cache_probe.py

.PHONY: bench-pareto
bench-pareto: $(BIN)/cairn
	PYTHONPATH=src $(BIN)/python bench/pareto.py

.PHONY: bench-dask
bench-dask: $(BIN)/cairn
	$(BIN)/python bench/dask_overhead.py

.PHONY: bench-watch
bench-watch: $(BIN)/cairn
	$(BIN)/python bench/watch.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache

# The screenshots of docs/serve.md, taken by the browser tests in headless Chromium.
.PHONY: screenshots
screenshots: $(BIN)/cairn
	CAIRN_SCREENSHOTS=$(CURDIR)/docs/images $(BIN)/pytest -n0 tests/test_web_browser.py
