# release_assets: `make demo` sets up and runs the demo release; `make test` sets up and runs the tests.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
# pytest-xdist workers of the slow layer; a test file stays on one worker (its module fixtures,
# e.g. a pair of running Airflows, are started once).
SLOW_WORKERS ?= 2
# The Airflow runtime virtualenvs of the demo and the tests live in the checkout (built once by
# `make runtime`, reused by every test); `release-assets validate` elsewhere uses the per-user cache.
export RELEASE_ASSETS_RUNTIMES_DIR ?= $(CURDIR)/.state/runtimes
# Longest first (longest processing time first: the last modules to start are short ones, so
# no worker idles while another finishes a long one). The two release-graph modules (each a pair
# of running Airflows) start first, one on each worker; then the other long modules, longest
# first (per-module seconds of the slow layer in the last CI log, 2026-12-01); then every other
# test file in path order. The layer is CPU-bound (one release-graph module alone keeps 1.1 of
# the 2 cores busy), so this order only trims the tail. Files are passed one by one: pytest
# collects a file named before a folder holding it in the folder's order, which would undo this.
SLOW_FIRST := tests/defs/test_release_stops.py tests/defs/test_release_graph.py \
	tests/defs/test_data_safety.py tests/local/test_schedules.py \
	tests/runtimes/airflow/test_blue_green_airflow.py \
	tests/aws_profile/test_profile_up.py tests/validation/test_baseline.py \
	tests/validation/gates/test_dbt_build.py tests/runtimes/airflow/test_mwaa_airflow.py \
	tests/examples/test_foreign_repository.py tests/cli/test_validate.py \
	tests/examples/test_adding_a_dag.py tests/examples/test_northstar.py \
	tests/local/test_stack.py tests/deploy/test_production_instance.py \
	tests/validation/gates/test_dbt.py tests/runtimes/airflow/test_self_hosted.py \
	tests/runtimes/airflow/test_airflow3.py tests/validation/test_change_agreement.py \
	tests/defs/assets/test_release_candidate.py tests/validation/gates/test_terraform.py
SLOW_FILES = $(SLOW_FIRST) $(filter-out $(SLOW_FIRST),$(shell find tests -name 'test_*.py' | sort))
SLOW_PYTEST = $(BIN)/pytest -m slow -q -n $(SLOW_WORKERS) --dist loadfile --no-loadscope-reorder \
	--durations=40 $(SLOW_FILES)
FAST_PYTEST := $(BIN)/pytest -m "not slow" -q

# $(call part,NAME): when CI_PARTS_LOG names a file (.ci/run sets it), record that part NAME of
# the run starts now; .ci/run prints how long each part took.
part = @if [ -n "$${CI_PARTS_LOG:-}" ]; then echo "$(1) $$EPOCHREALTIME" >> "$$CI_PARTS_LOG"; fi
# Appended to a pytest command: "no tests ran" (exit 5) fails loudly, never passes.
no_tests_fails = || { rc=$$?; [ $$rc -ne 5 ] || echo "pytest collected no tests (exit 5)" >&2; exit $$rc; }

.PHONY: setup java postgres runtime aws-profile aws-profile-down demo demo-run test test-fast test-slow lint bench clean down

## setup: the Dagster virtualenv (cached: reinstalls only when pyproject.toml changes)
setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

## java: Spark's JVM (present on most machines; installed from Debian's packages if not)
java:
	$(call part,setup)
	@command -v java >/dev/null || { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; }

## postgres: PostgreSQL's server binaries (every local Airflow 2 keeps its metadata in a cluster
## of its own, release_assets/local/postgres_cluster.py; the slow tests run the orchestrator's
## instance on a real PostgreSQL, tests/postgres_server.py); installed from Debian's packages if
## missing
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; }

## runtime: the Airflow runtime virtualenv of the pipelines repository (cached by content), and
## the virtualenvs the tests share (the runtime's test overlay, checkov), built here once so that
## parallel test workers only ever read them
runtime: setup java postgres
	$(BIN)/release-assets local runtime
	@$(BIN)/python -c "$$PREBUILD"

# The runtime's test overlay (python_quality gate, tests/examples) and checkov's tool virtualenv.
define PREBUILD
from release_assets.config import load_release_config
from release_assets.local.stack import runtime_for
from release_assets.runtimes.airflow.venv import ensure_test_runtime
from release_assets.settings import settings
from release_assets.validation.scanners.tools import checkov_bin

s = settings()
reqs = load_release_config(s.pipelines_repo).tests.requirements
ensure_test_runtime(runtime_for(s), s.pipelines_repo / reqs if reqs else None)
print(checkov_bin(s.runtimes_dir / "tools"))
endef
export PREBUILD

## demo: environments up and seeded, the Dagster UI, then releases v1, v2 (live), v3 and v4 (stopped),
## the on-call and flag stories, v5 (rolled back by the monitor) and v6 (a blue/green cutover)
# The stack lock is taken first: a second `make demo` is refused at once, before the runtime check.
demo: setup
	@$(BIN)/python -m release_assets.local.stack_lock "make demo" -- $(MAKE) --no-print-directory runtime demo-run

# The demo under the state directory's stack lock, which `make demo` holds until `dg dev` exits:
# a second `make demo` stops at once, naming this one's PID (no second daemon, its log intact).
demo-run: postgres
	$(BIN)/release-assets demo prepare
	@set -m; export DAGSTER_HOME=$$($(BIN)/release-assets local path dagster_home); \
	  $(BIN)/dg dev -w workspace.yaml -h 127.0.0.1 -p 3000 > .state/dagster-dev.log 2>&1 & dev=$$!; \
	  trap 'kill -TERM -$$dev 2>/dev/null; wait $$dev' INT TERM EXIT; \
	  echo "Dagster UI: http://127.0.0.1:3000 (log: .state/dagster-dev.log; Ctrl-C stops it)"; \
	  $(BIN)/release-assets demo drive || echo "the UI stays up to look into it (Ctrl-C stops it)"; \
	  wait $$dev

## aws-profile: the AWS-shaped profile on this machine (moto for S3, Secrets Manager, SSM and EMR
## Serverless; fakesnow for Snowflake; the MWAA stand-in in front of Airflow 2.11 for staging;
## Airflow 3 for prod; the instance on PostgreSQL) and the Dagster UI on it
aws-profile: runtime postgres
	@if $(BIN)/python -c "import socket, sys; sys.exit(socket.socket().connect_ex(('127.0.0.1', 3000)) != 0)"; then \
	  echo "error: 127.0.0.1:3000, the UI's port, is taken by a running process ($$(ss -Hltnp 'sport = :3000' 2>/dev/null | grep -o 'users:.*' || echo 'ss cannot say which')); stop it, then run make aws-profile again" >&2; exit 1; fi
	$(BIN)/python -m tests.aws_profile up
	@set -m; set -a; . .state/aws-profile/profile.env; set +a; \
	  $(BIN)/dg dev -w workspace.yaml -h 127.0.0.1 -p 3000 >> .state/aws-profile/dagster-dev.log 2>&1 & dev=$$!; \
	  trap 'kill -TERM -$$dev 2>/dev/null; wait $$dev' INT TERM EXIT; \
	  echo "Dagster UI (AWS-shaped profile): http://127.0.0.1:3000 (log: .state/aws-profile/dagster-dev.log; Ctrl-C stops the UI, make aws-profile-down the profile)"; \
	  wait $$dev

## aws-profile-down: stop every server of the AWS-shaped profile and delete its state
aws-profile-down:
	$(BIN)/python -m tests.aws_profile down

## test: lint, type-check, the fast layer, then the slow layer (real Airflow, dbt, Spark)
test: lint runtime postgres
	$(call part,fast)
	$(FAST_PYTEST) $(no_tests_fails)
	$(call part,slow)
	$(SLOW_PYTEST) $(no_tests_fails)

test-fast: setup
	$(FAST_PYTEST) $(no_tests_fails)

test-slow: runtime postgres
	$(SLOW_PYTEST) $(no_tests_fails)

lint: setup
	$(call part,lint)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@if grep -q '^\[tool\.importlinter\]' pyproject.toml; then $(BIN)/lint-imports; fi
	$(call part,mypy)
	$(BIN)/mypy

bench: runtime
	$(BIN)/python benchmarks/local_up.py
	$(BIN)/python benchmarks/validation_scale.py
	$(BIN)/python benchmarks/release_latency.py --runs 3

down:
	@test -x $(BIN)/release-assets && $(BIN)/release-assets local down || true

clean: down
	rm -rf .state
