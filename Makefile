# `make run` and `make test` work on a fresh clone: they build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SOURCES := $(shell find augnet_mock pytest_plugin -type f -not -path '*/__pycache__/*') pyproject.toml
CALCULATOR := tests/calculator/node_modules/.package-lock.json

.PHONY: run test lint typecheck system-deps bench reliability clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Test and runtime dependencies, reinstalled only when pyproject.toml changes.
$(VENV)/.deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet '.[test]'
	touch $@

# The package itself, reinstalled whenever a source file changes. It is a regular
# install (not editable) because the plugin folder installs under another name.
$(VENV)/.installed: $(SOURCES) $(VENV)/.deps
	$(BIN)/python -m pip install --quiet --no-deps --force-reinstall .
	touch $@

$(CALCULATOR): tests/calculator/package.json tests/calculator/package-lock.json
	npm ci --prefix tests/calculator --no-audit --no-fund --silent

run: $(VENV)/.installed
	$(BIN)/augnet-mock serve

system-deps:
	bash scripts/system-deps.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint docker/Dockerfile

typecheck: $(VENV)/.installed
	$(BIN)/mypy

test: system-deps $(VENV)/.installed $(CALCULATOR) lint typecheck
	$(BIN)/pytest -n 2

bench: $(VENV)/.installed
	$(BIN)/python bench/send_throughput.py

# By hand, not in CI (about 10 minutes): regenerates docs/reliability.md and .png.
reliability: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet '.[bench]'
	$(BIN)/python bench/reliability.py --report-dir docs

clean:
	rm -rf $(VENV) tests/calculator/node_modules .artifacts
