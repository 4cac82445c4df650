# Rillflow — run `make help` for the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.rillflow-installed
BENCH ?=
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# The whole Python dependency set is locked: requirements.lock (exact versions with hashes, every
# platform), requirements-ml.txt (the same plus torch, as constraints: the CPU wheel of torch some
# machines ship is not PyPI's file, so it has no hash to check) and functions/requirements.txt.
# Installs never resolve anew; `make lock` does, on purpose.
LOCK := requirements.lock
ML_LOCK := requirements-ml.txt
FUNCTIONS_LOCK := functions/requirements.txt
UV_COMPILE = $(VENV)/bin/uv pip compile --universal --python-version 3.11 --quiet --upgrade

$(STAMP): pyproject.toml package.json package-lock.json $(LOCK) $(ML_LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing the locked Python packages ($(LOCK)); a fresh install takes about 3 minutes"
	$(PY) -m pip install -q --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install -q -c $(ML_LOCK) torch
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@echo "installing the npm tools (package-lock.json)"
	npm ci --no-audit --no-fund --loglevel=error
	@$(MAKE) --no-print-directory browser
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv, install the project (editable) and the npm tools (idempotent)

browser: ## Install Debian's Chromium for the dashboard browser tests, if missing (needs root or sudo)
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium (dashboard browser tests)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo -n"; fi; \
	  $$SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null 2>&1 && $$SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null; } || \
	  echo "warning: could not install chromium; the browser tests will be skipped"; }

# The BigQuery emulator of the parity tier (localgcp/services/bigquery/README.md) in its own venv:
# it needs sqlglot<30.12, the project pins a newer one. Locked with hashes, installed once.
BQEMU_VENV := .venv-tools/bqemulator
BQEMU_LOCK := tools/bqemulator/requirements.lock
BQEMU_STAMP := $(BQEMU_VENV)/.installed

$(BQEMU_STAMP): $(BQEMU_LOCK)
	@test -x $(BQEMU_VENV)/bin/python || $(PYTHON) -m venv $(BQEMU_VENV)
	@echo "installing bqemulator ($(BQEMU_LOCK)) into $(BQEMU_VENV)"
	$(BQEMU_VENV)/bin/python -m pip install -q --require-hashes --no-deps -r $(BQEMU_LOCK)
	@touch $(BQEMU_STAMP)

tools-bqemulator: $(BQEMU_STAMP) ## Install the BigQuery emulator (parity tier) into .venv-tools/bqemulator

lock-bqemulator: ## Re-resolve tools/bqemulator/requirements.lock (then `make tools-bqemulator`)
	@test -x $(VENV)/bin/uv || $(MAKE) --no-print-directory setup
	$(VENV)/bin/uv pip compile --universal --python-version 3.11 --quiet --upgrade --generate-hashes \
	  tools/bqemulator/requirements.in -o $(BQEMU_LOCK)

.PHONY: tools-bqemulator lock-bqemulator

demo: $(STAMP) ## Run the platform end to end locally on embedded defaults
	$(VENV)/bin/rillflow demo

test: $(STAMP) $(BQEMU_STAMP) ## Run the test suite (unit, parity and end-to-end against local services)
	$(PY) -m pytest --durations=25 $(PYTEST_ARGS)

# The fast tier (tests/README.md): no local service, stack, browser, Google emulator or subprocess-
# heavy run. tests/conftest.py sets `service` and `browser` from the fixtures a test uses and `fuzz`
# for tests/fuzz/; pytest exits 5 (a failure) when the selection collects nothing.
FAST_TESTS := not e2e and not parity and not slow and not service and not browser and not fuzz and not drills

test-fast: $(STAMP) ## Run the unit and logic tests only (no services, browser or emulators; < 2 min)
	$(PY) -m pytest -m "$(FAST_TESTS)" $(PYTEST_ARGS)

lint: $(STAMP) ## ruff, mypy, the import contracts (pyproject.toml) and the terraform gates
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	PYTHONPATH=functions $(VENV)/bin/lint-imports --no-cache
	@$(MAKE) --no-print-directory lint-terraform

# The terraform gates, none of which needs a provider binary or the registry: formatting; every
# resource, data source, argument and block against the pinned providers' 6.50.0 schemas (read from
# the npm packages @cdktf/provider-google{,-beta} by tests/terraform/provider_schema.py); checkov, in
# its own venv (its pins conflict with the project lock), locked with hashes and installed once.
CHECKOV_VENV := .venv-tools/checkov
CHECKOV_LOCK := tools/checkov/requirements.lock
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

$(CHECKOV_STAMP): $(CHECKOV_LOCK)
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	@echo "installing checkov ($(CHECKOV_LOCK)) into $(CHECKOV_VENV)"
	$(CHECKOV_VENV)/bin/python -m pip install -q --require-hashes --no-deps -r $(CHECKOV_LOCK)
	@touch $(CHECKOV_STAMP)

lint-terraform: $(STAMP) $(CHECKOV_STAMP) ## terraform fmt, the provider schema check and checkov on terraform/
	@command -v terraform >/dev/null || { echo "lint-terraform needs terraform >= 1.11 on PATH (only fmt runs: no provider is downloaded)"; exit 2; }
	terraform fmt -check -recursive -diff terraform
	$(PY) -m tests.terraform.provider_schema terraform
	$(CHECKOV_VENV)/bin/checkov --directory terraform --framework terraform --skip-download --quiet --compact

.PHONY: lint-terraform

format: $(STAMP) ## Apply ruff's formatting and autofixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP) ## Run the benchmarks (BENCH=<prefix>[,<prefix>…] selects ids) and print the table
	$(PY) -m bench $(if $(BENCH),--only $(BENCH),)

PROJECT ?=
REGION ?= europe-west1
DRY_RUN ?=

package: $(STAMP) ## Build every deploy artifact into dist/ (functions zip, image contexts, templates)
	$(PY) -m rillflow.deploy.package

deploy: $(STAMP) ## Deploy to Google Cloud: make deploy PROJECT=<id> [REGION=europe-west1] [DRY_RUN=1]
	@test -n "$(PROJECT)" || { echo "make deploy needs PROJECT=<project id> (see docs/DEPLOY.md)"; exit 2; }
	$(VENV)/bin/rillflow deploy --project "$(PROJECT)" --region "$(REGION)" $(if $(DRY_RUN),--dry-run,)

.PHONY: package deploy

lock: ## Re-resolve every dependency to its newest allowed version, reinstall, and run the tests
	@test -x $(VENV)/bin/uv || $(MAKE) --no-print-directory setup
	$(UV_COMPILE) pyproject.toml --extra dev --generate-hashes -o $(LOCK)
	$(UV_COMPILE) pyproject.toml --extra dev --extra ml -c $(LOCK) -o $(ML_LOCK)
	$(UV_COMPILE) functions/requirements.in -c $(LOCK) --generate-hashes -o $(FUNCTIONS_LOCK)
	$(VENV)/bin/rillflow ml compile
	@$(MAKE) --no-print-directory setup test

drills: $(STAMP) ## Run the load and crash drills at full volume, print their table and write .drills/results.json
	$(PY) -m tests.drills.report

clean: ## Remove local state (.rillflow), benchmark and drill results
	rm -rf .rillflow .bench .drills

.PHONY: help setup browser demo test test-fast lint format bench drills lock clean
