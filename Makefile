# Two commands do all set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export DEBUG ?= 1
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: install run test lint format migrate demo bench bench-foundation bench-uom bench-prices bench-matching bench-matching-online bench-stewardship bench-sync clean browser

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	MDM_SYNC_KICK=0 $(PY) manage.py demo_load --if-empty
	MDM_SYNC_KICK=0 $(PY) manage.py uom_load_codes
	$(PY) manage.py sync_demo_targets

## run: install, migrate, load demo data if the database is empty, start web + worker + scheduler
run: demo
	@echo ""
	@echo "  MDM hub: http://$(HOST):$(PORT)/   (API: /api/v1/   docs: /api/docs/   admin: /admin/)"
	@echo "  Demo logins (password for all: demo-password-2026): admin, steward, approver, approver2, devices.approver, viewer, integration"
	@$(PY) manage.py mdm_token create --user integration --name "make run" --scope read --scope ingest --scope match --scope changes --expires-days 7 --secret-only 2>/dev/null | sed 's/^/  API token of the integration account (7 days): /' || true
	@echo ""
	$(VENV)/bin/honcho -f Procfile start

CHROMIUM ?= /usr/bin/chromium
export CHROMIUM

# The browser tests need Debian's chromium; install it when missing (these machines run as root).
browser:
	@test -x $(CHROMIUM) || { echo "installing chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || { echo "Could not install chromium: install Debian's 'chromium' package or set CHROMIUM=/path/to/chromium"; exit 1; }; }

## test: the whole suite against DATABASE_URL (default: SQLite under var/)
test: install browser
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Benchmarks (figures with machine and date go in bench/RESULTS.md). The latency targets are set on PostgreSQL:
# BENCH_DATABASE_URL is the server the scratch databases are created on.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mdm_bench

## bench: every benchmark (about 40 minutes on 2 cores: 1M-record matching with Splink, 1M price lines)
bench: bench-foundation bench-uom bench-prices bench-matching bench-matching-online bench-stewardship bench-sync

bench-foundation: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) -m bench.run

bench-uom: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) -m bench.uom

bench-prices: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) -m bench.prices

## bench-matching: our engine vs Splink (installed into bench/.venv-splink only) on Febrl3/4 and generated data
bench-matching: install
	$(PY) -m bench.matching.run $(BENCH_MATCHING_ARGS)

bench-matching-online: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) -m bench.matching_online

clean:
	rm -rf $(VENV) var

bench-stewardship: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) -m bench.stewardship

## bench-sync: 10,000 changes to the Odoo test server, batched and one call per record; approval-to-delivered p95
bench-sync: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) -m bench.sync
