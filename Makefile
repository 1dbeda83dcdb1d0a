# One command per check, the same locally and in CI.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STAMP := $(VENV)/.installed

# The test suite runs twice: on PostgreSQL + Redis (every test), then on the embedded
# default (SQLite + file-system broker) for the tests marked `embedded`.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal
TEST_REDIS_URL ?= redis://127.0.0.1:6379/14
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15
SERVICE_VARS := DATABASE_URL REDIS_URL CELERY_BROKER_URL CELERY_RESULT_BACKEND

.PHONY: install demo test test-services test-embedded coverage coverage-erase lint format messages lock clean bench

$(STAMP): requirements/lock.txt requirements/dev-lock.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev-lock.txt
	touch $@

install: $(STAMP)

messages: install
	$(PY) manage.py compilemessages --ignore '$(VENV)/*' --ignore 'var/*' -v 0

demo: install messages
	env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL -u CELERY_RESULT_BACKEND $(MAKE) --no-print-directory _demo

_demo:
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py demo_setup
	$(PY) manage.py rundemo --port $(PORT)

# ruff (lint + format), mypy (settings in pyproject.toml: strict on services, selectors and
# apis) and the import contracts (lint-imports, [tool.importlinter]).
lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports --no-cache

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# Both runs record branch coverage (settings in pyproject.toml, worker processes included);
# `coverage` combines them, reports, and enforces the floor on services, selectors and tasks.
test: lint messages coverage-erase test-services test-embedded coverage

test-services: install
	rm -rf var/test-services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	CELERY_BROKER_URL=$(TEST_BROKER_URL) CELERY_RESULT_BACKEND=$(TEST_BROKER_URL) \
	PORTAL_TEST_CONFIG=services VAR_DIR=$(CURDIR)/var/test-services \
	$(PY) -m coverage run -m pytest -m "not embedded_only" $(PYTEST_ARGS)

test-embedded: install
	rm -rf var/test-embedded
	env $(addprefix -u ,$(SERVICE_VARS)) PORTAL_TEST_CONFIG=embedded VAR_DIR=$(CURDIR)/var/test-embedded \
	$(PY) -m coverage run -m pytest -m embedded $(PYTEST_ARGS)

COVERAGE_DATA := var/coverage

coverage-erase:
	rm -rf $(COVERAGE_DATA)

coverage: install
	$(PY) -m coverage combine --quiet
	$(PY) -m coverage report --skip-covered
	$(PY) tools/coverage_floor.py

lock:
	rm -rf var/lockenv && $(PYTHON) -m venv var/lockenv
	var/lockenv/bin/pip install --quiet -r requirements/base.in
	{ head -2 requirements/lock.txt; var/lockenv/bin/pip freeze | grep -v '^-e'; } > requirements/lock.txt.new
	mv requirements/lock.txt.new requirements/lock.txt
	@echo "lock.txt rewritten; regenerate dev-lock.txt from a full install the same way."

clean:
	rm -rf var/test-services var/test-embedded var/coverage .pytest_cache .ruff_cache .mypy_cache

.PHONY: licenses audit

# THIRD_PARTY_LICENSES.md from the installed, locked packages; tests/repo checks it.
licenses: install
	$(PY) tools/licenses.py generate
	$(PY) tools/licenses.py check

# pip-audit over both locks against PyPI's advisories (network). AUDIT_ARGS passes options,
# e.g. AUDIT_ARGS=--allow-missing-data where the registry serves no vulnerability data.
audit: install
	$(PY) tools/audit_deps.py $(AUDIT_ARGS)

BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal_bench
BENCH_REDIS ?= redis://127.0.0.1:6379

bench: install
	@psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='portal_bench'" | grep -q 1 \
		|| psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE portal_bench"
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS)/8 \
	CELERY_BROKER_URL=$(BENCH_REDIS)/9 CELERY_RESULT_BACKEND=$(BENCH_REDIS)/9 \
	$(PY) -m bench.inference $(BENCH_ARGS)
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS)/8 $(PY) -m bench.forum
