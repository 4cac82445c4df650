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

$(STAMP): pyproject.toml package.json
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[dev,ml]' --config-settings editable_mode=compat
	npm install --no-audit --no-fund --loglevel=error
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

demo: $(STAMP) ## Run the platform end to end locally on embedded defaults
	$(VENV)/bin/rillflow demo

test: $(STAMP) ## Run the test suite (unit, parity and end-to-end against local services)
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

lint: $(STAMP) ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP) ## Apply ruff's formatting and autofixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP) ## Run the benchmarks (BENCH=<prefix> selects ids) and print the table
	$(PY) -m bench $(if $(BENCH),--only $(BENCH),)

clean: ## Remove local state (.rillflow) and benchmark results
	rm -rf .rillflow .bench

.PHONY: help setup browser demo test lint format bench clean
