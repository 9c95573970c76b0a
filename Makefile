# `make run` and `make test` work on a fresh clone: they build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CALCULATOR := tests/calculator/node_modules/.package-lock.json
SMPP_NODE := tests/smpp_node/node_modules/.package-lock.json
IMAGE ?= augnet-mock:latest
# The image's base; empty: python:3.11-slim, or the Debian stand-in where it cannot be pulled.
BASE ?=

.PHONY: run test lint typecheck system-deps image bench reliability dist clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The package, editable, with its test dependencies: reinstalled only when the project's
# metadata (dependencies, entry points, version) changes; source edits need nothing.
$(VENV)/.installed: pyproject.toml augnet_mock/_version.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(CALCULATOR): tests/calculator/package.json tests/calculator/package-lock.json
	npm ci --prefix tests/calculator --no-audit --no-fund --silent

$(SMPP_NODE): tests/smpp_node/package.json tests/smpp_node/package-lock.json
	npm ci --prefix tests/smpp_node --no-audit --no-fund --silent

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

# Branch coverage of the package, with a floor set just under what the suite measures (65% when it
# was set; the servers the suite starts as subprocesses, CLI and container, are not counted).
COVERAGE_FLOOR := 64

test: system-deps $(VENV)/.installed $(CALCULATOR) $(SMPP_NODE) lint typecheck
	$(BIN)/pytest -n 2 --cov=augnet_mock --cov-branch --cov-report=term:skip-covered \
		--cov-fail-under=$(COVERAGE_FLOOR)

# docker/Dockerfile, built with docker where a daemon answers, else podman.
image:
	IMAGE='$(IMAGE)' BASE='$(BASE)' bash scripts/build-image.sh

bench: $(VENV)/.installed
	$(BIN)/python bench/send_throughput.py

# An sdist and a wheel in $(DIST), for `pip install dist/augnet_mock-*.whl` in another
# project; twine checks their metadata and that the README renders.
DIST ?= dist
dist: $(VENV)/.installed
	rm -rf $(DIST)
	$(BIN)/python -m build --outdir $(DIST) .
	$(BIN)/twine check --strict $(DIST)/*

# By hand, not in CI (about 10 minutes): regenerates docs/reliability.md and .png.
reliability: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/reliability.py --report-dir docs

clean:
	rm -rf $(VENV) tests/calculator/node_modules .artifacts dist
