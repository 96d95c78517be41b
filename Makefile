# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install install-test lint bench lock clean-data

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Locked runtime dependencies, then the project itself (editable, so data/ and assets/ stay in place).
$(VENV)/.installed: $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.lock
	$(BIN)/pip install --quiet -r requirements-test.lock
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test
	@if command -v npm >/dev/null 2>&1 && [ -f tests/browser/package-lock.json ]; then \
		cd tests/browser && npm ci --silent --no-audit --no-fund; \
	else echo "npm not found: browser accessibility checks will be skipped"; fi

# Install, create demo data on the embedded database when it is empty, start the dashboard.
run: install
	$(BIN)/perispiegel demo-data
	$(BIN)/perispiegel serve

# Install what the tests need and run the whole suite: style, the layers of docs/architecture.md (import-linter
# contracts in pyproject.toml), the type check, then the tests.
test: install-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadgroup

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: install-test
	$(BIN)/python benchmarks/bench_load.py
	$(BIN)/python benchmarks/bench_queries.py

# Re-pin the lock files from pyproject.toml (needs the registry).
lock: $(BIN)/python
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --strip-extras --output-file requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --strip-extras --extra test --output-file requirements-test.lock pyproject.toml

clean-data:
	rm -f data/perispiegel.db data/perispiegel.db-wal data/perispiegel.db-shm
	rm -rf data/deliveries
