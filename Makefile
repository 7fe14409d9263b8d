# The two commands of the README: `make demo` and `make test`. Both work from a fresh clone
# with no network but the package registries, and are fast and idempotent when re-run.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
MELTANO := $(VENV)/bin/meltano
STAMP := $(VENV)/.installed-dev
DEMO_STAMP := .meltano/.installed-demo
TEST_STAMP := .meltano/.installed-test

# Only the plugins each command runs: target-snowflake is for production (the tests run its
# BATCH parsing and SQL rendering offline); the tests also build the dbt project on
# Snowflake's dialect (dbt-snowflake against fakesnow).
DEMO_PLUGINS := tap-partnerapi target-duckdb-bulk dbt-duckdb
TEST_PLUGINS := $(DEMO_PLUGINS) dbt-snowflake fakesnow target-snowflake

# Belt and braces next to meltano.yml: no version check, no telemetry, no prompts.
export MELTANO_CLI_DISABLE_VERSION_CHECK := 1
export MELTANO_SEND_ANONYMOUS_USAGE_STATS := false
export MELTANO_DISABLE_TRACKING := true
export UV_NO_PROGRESS := 1
# Every virtualenv installed with its bytecode compiled: where Python may not write it at run
# time (PYTHONDONTWRITEBYTECODE=1, as in CI here and in many container images; read-only
# installs) each process otherwise recompiles its imports - about 4.6 s for Meltano and 6 s
# for dbt, on every run of a 5-minute schedule (docs/benchmarks.md).
export UV_COMPILE_BYTECODE := 1

.PHONY: help install plugins demo test lint clean bench chaos

help:
	@echo "make demo   - sandbox -> tap -> DuckDB -> dbt, end to end, with a summary"
	@echo "make test   - install what is needed and run the whole test suite"
	@echo "make lint   - ruff"
	@echo "make bench  - benchmarks, ~10 min (BENCH_ARGS=--quick: ~3 min); docs/benchmarks.md"
	@echo "make chaos  - 20 cycles of the real pipeline under heavy faults vs ground truth (CHAOS_ARGS)"
	@echo "make clean  - remove the warehouse, run outputs and Meltano's installed plugins"

# The dev virtualenv: Python >= 3.11, uv, this repo editable with its dev extras.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python >= 3.11 required (set PYTHON=python3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(VENV)/bin/pip install --quiet uv
	$(UV) pip install --quiet --python $(PY) -e '.[dev]'
	touch $@

install: $(STAMP)

# Meltano's plugin virtualenvs (uv backend), re-installed only when meltano.yml or the
# packaging changed.
$(DEMO_STAMP): $(STAMP) meltano.yml pyproject.toml
	$(MELTANO) install $(DEMO_PLUGINS)
	@mkdir -p $(@D) && touch $@

$(TEST_STAMP): $(STAMP) meltano.yml pyproject.toml
	$(MELTANO) install $(TEST_PLUGINS)
	@mkdir -p $(@D) && touch $@

plugins: $(TEST_STAMP)

demo: $(DEMO_STAMP)
	$(PY) -m scripts.demo
	$(PY) -m scripts.readme_demo

# pytest exits 5 when it collects no test: that is a failure here, on purpose (a suite that
# runs nothing must not pass CI).
# Airflow has its own virtualenv (orchestrate/install.sh, idempotent) for the DAG tests.
# Two workers, one test file each at a time (module fixtures stay per file): the suite is
# mostly subprocesses (Meltano, dbt, the loader) waiting on each other. PYTEST_ARGS= runs it
# serially. --durations=25: CI's log names the slowest tests (the suite's budget is 15 min).
# Tests live in tests/<group>/ (tap, sandbox, webhooks, ops, transform, loader, pipeline):
# e.g. `.venv/bin/python -m pytest tests/tap -x -q`.
PYTEST_ARGS ?= -n 2 --dist loadfile
test: $(TEST_STAMP)
	bash orchestrate/install.sh
	$(PY) -m pytest --durations=25 $(PYTEST_ARGS)

bench: $(DEMO_STAMP)
	$(PY) -m bench $(BENCH_ARGS)

# docs/reliability.md; e.g. CHAOS_ARGS="--overlap-hours 0 --expect-mismatches --cycles 3".
chaos: $(DEMO_STAMP)
	$(PY) -m chaos $(CHAOS_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf output .meltano transform/target transform/logs
