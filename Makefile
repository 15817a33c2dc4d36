# Forecourt — `make run` serves the demo on SQLite; `make test` sets up and passes the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FORECOURT_DATABASE_URL ?= sqlite:///./var/forecourt.db

.PHONY: run setup test test-sqlite test-postgres lint services chromium bench demo messages clean

$(STAMP): pyproject.toml
	@echo "Forecourt: setting up a Python environment in $(VENV) (the first time takes a minute or two)…"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Forecourt: updating pip…"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Forecourt: installing Forecourt and its dependencies (pyproject.toml)…"
	@$(BIN)/python -m pip install --quiet --progress-bar on -e ".[test]"
	@touch $(STAMP)
	@echo "Forecourt: environment ready."

setup: $(STAMP)

# The demo's e-mails go to a development mail sink (the admin reads them at /admin/mail), never out.
MAILSINK_PORT ?= 8025
run: export FORECOURT_SMTP_HOST = 127.0.0.1
run: export FORECOURT_SMTP_PORT = $(MAILSINK_PORT)
run: export FORECOURT_SMTP_SECURITY = none
run: export FORECOURT_SMTP_USER =
run: $(STAMP)
	@echo "Forecourt: bringing the database up to date ($(FORECOURT_DATABASE_URL))…"
	@$(BIN)/forecourt db upgrade
	@echo "Forecourt: building the demo network if the database is empty (about a minute the first time)…"
	@$(BIN)/forecourt demo --if-empty
	@$(BIN)/forecourt mailsink --port $(MAILSINK_PORT) & sink=$$!; \
	trap 'kill $$sink 2>/dev/null; wait $$sink' EXIT; \
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

# Extract every marked text into src/forecourt/locale/messages.pot and update each language's .po;
# the .po files are compiled in memory when the app first speaks a language (no build step).
messages: $(STAMP)
	$(BIN)/python scripts/messages.py

bench: $(STAMP) services
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache
