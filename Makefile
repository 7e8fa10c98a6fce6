# Trupeo — `make run` for a working app on embedded defaults, `make test` for the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell ./scripts/find-python)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# `make run` is a local trial: debug mode, SQLite, a file broker, mail on the console.
RUN_ENV := DEBUG=$${DEBUG:-True}

.PHONY: help install run test lint format bench messages translations clean

help:
	@echo "make run     install, migrate, seed the demo and start web + worker + scheduler"
	@echo "make test    lint and the whole test suite"
	@echo "make install the environment only (.venv, node_modules, translations)"
	@echo "make lint    ruff (lint and format check)"
	@echo "make bench   the benchmarks in bench/"

install: $(VENV)/.installed node_modules/.installed messages

$(VENV)/.installed: requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Compiled catalogues are build output (git ignores them); polib needs no system gettext.
messages: $(VENV)/.installed
	@$(BIN)/python scripts/compile_messages.py

# Refresh the French catalogue after changing UI strings (needs GNU gettext).
translations: $(VENV)/.installed
	$(RUN_ENV) $(BIN)/python manage.py makemessages --locale fr --no-obsolete --ignore '.venv/*' --ignore 'node_modules/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'bench/*'

run: install
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py seed_demo
	$(RUN_ENV) PORT=$(PORT) $(BIN)/python scripts/run_local.py

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: install lint
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) node_modules var
