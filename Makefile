# release_assets: `make demo` sets up and runs the demo release; `make test` sets up and runs the tests.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: setup java runtime demo test test-fast test-slow lint bench clean down

## setup: the Dagster virtualenv (cached: reinstalls only when pyproject.toml changes)
setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

## java: Spark's JVM (present on most machines; installed from Debian's packages if not)
java:
	@command -v java >/dev/null || { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; }

## runtime: the Airflow runtime virtualenv of the pipelines repository (cached by content)
runtime: setup java
	$(BIN)/release-assets local runtime

## demo: environments up and seeded, the Dagster UI, then releases v1, v2 (live) and v3 (stopped)
demo: runtime
	$(BIN)/release-assets demo prepare
	@set -m; export DAGSTER_HOME=$$($(BIN)/release-assets local path dagster_home); \
	  $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000 > .state/dagster-dev.log 2>&1 & dev=$$!; \
	  trap 'kill -TERM -$$dev 2>/dev/null; wait $$dev' INT TERM EXIT; \
	  echo "Dagster UI: http://127.0.0.1:3000 (log: .state/dagster-dev.log; Ctrl-C stops it)"; \
	  $(BIN)/release-assets demo drive && wait $$dev

## test: lint, type-check, the fast layer, then the slow layer (real Airflow, dbt, Spark)
test: lint runtime
	$(BIN)/pytest -m "not slow" -q
	$(BIN)/pytest -m slow -q

test-fast: setup
	$(BIN)/pytest -m "not slow" -q

test-slow: runtime
	$(BIN)/pytest -m slow -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: runtime
	$(BIN)/python benchmarks/local_up.py
	$(BIN)/python benchmarks/validation_scale.py
	$(BIN)/python benchmarks/release_latency.py --runs 3

down:
	@test -x $(BIN)/release-assets && $(BIN)/release-assets local down || true

clean: down
	rm -rf .state
