# Forecourt — `make run` serves the demo on SQLite; `make test` sets up and passes the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FORECOURT_DATABASE_URL ?= sqlite:///./var/forecourt.db

.PHONY: run setup test test-sqlite test-postgres lint services chromium bench demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/forecourt db upgrade
	$(BIN)/forecourt demo --if-empty
	$(BIN)/forecourt serve --simulate 8 --worker

demo: $(STAMP)
	$(BIN)/forecourt demo

services:
	@bash scripts/services.sh

chromium:
	@bash scripts/chromium.sh

lint: $(STAMP)
	$(BIN)/lint-imports

test-sqlite: $(STAMP) chromium
	FORECOURT_TEST_DB=sqlite $(BIN)/python -m pytest -q -p no:cacheprovider

test-postgres: $(STAMP) services
	FORECOURT_TEST_DB=postgresql $(BIN)/python -m pytest -q -p no:cacheprovider -m "not browser"

test: lint services test-sqlite test-postgres

bench: $(STAMP) services
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache
