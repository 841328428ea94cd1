# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test check test-pg lint types format install install-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Install, migrate, create the admin and the demo project, then run the web
# server and one Celery worker until Ctrl-C.
run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py serve

# The whole test suite. SQLite and the filesystem broker by default; with
# DATABASE_URL and CELERY_BROKER_URL set, PostgreSQL, Redis and a real worker.
# Tests keep their data (test database, broker folders) apart from `make run`'s.
test: $(VENV)/.installed-dev
	TAGWISE_DATA_DIR=$${TAGWISE_DATA_DIR:-$(CURDIR)/data/test} $(BIN)/python -m pytest

# The fast lane while working: everything but the browser and real-worker
# tests, in two parallel processes (each with a data directory of its own).
check: $(VENV)/.installed-dev
	TAGWISE_DATA_DIR=$${TAGWISE_DATA_DIR:-$(CURDIR)/data/check} $(BIN)/python -m pytest -m "not browser and not worker" -n 2 -q

# The whole suite on the local PostgreSQL and Redis (the machine's defaults;
# override PG_URL and REDIS_URL), in a database of its own that is dropped after.
PG_URL ?= postgres://postgres@127.0.0.1:5432
REDIS_URL ?= redis://127.0.0.1:6379
test-pg: $(VENV)/.installed-dev
	psql "$(PG_URL)/postgres" -q -c "DROP DATABASE IF EXISTS tagwise_local" -c "CREATE DATABASE tagwise_local"
	DATABASE_URL=$(PG_URL)/tagwise_local CELERY_BROKER_URL=$(REDIS_URL)/3 CACHE_URL=$(REDIS_URL)/4 \
	  TAGWISE_DATA_DIR=$(CURDIR)/data/test-pg $(BIN)/python -m pytest; \
	  status=$$?; psql "$(PG_URL)/postgres" -q -c "DROP DATABASE IF EXISTS tagwise_local"; exit $$status

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	@# SQL that differs by database has one owner, annotate/db.py (docs/architecture.md).
	@! grep -rn "connection.vendor" --include=*.py annotate learner config | grep -v "^annotate/db.py:" | grep -v "/migrations/"
	@# The pure layers import no Django (also an import contract; this names the line).
	@! grep -rnE "^\s*(from|import) (django|rest_framework|celery)" learner/ml annotate/stats

types: $(VENV)/.installed-dev
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
