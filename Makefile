# productbreaks: `make run` serves the demo, `make test` checks everything.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help run test check lint migrate seed static messages venv dev-deps browser java node-deps clean bench soak

help:
	@echo "make run    install, migrate, seed the demo event and serve it on http://$(HOST):$(PORT)/"
	@echo "make test   ruff and the whole pytest suite"
	@echo "make check  ruff and the fast tests (no slow, browser or services marker): a few minutes"
	@echo "make bench  the benchmark harness: make bench SCENARIO=sockets [ARGS=--cluster] (BENCHMARKS.md)"
	@echo "make soak   the browser end-to-end and fault tests RUNS=10 times in a row"

# Finds a Python >= 3.12 (PATH first, then pyenv) and builds .venv with it.
$(VENV)/.created:
	@set -e; py="$$(scripts/find-python)"; \
	echo "Using $$py ($$($$py --version))"; \
	$$py -m venv $(VENV); \
	$(PY) -m pip install -q --upgrade pip; \
	touch $@

$(VENV)/.installed: $(VENV)/.created pyproject.toml
	$(PY) -m pip install -q -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed
dev-deps: $(VENV)/.installed-dev

migrate: venv
	DEBUG=1 $(PY) manage.py migrate --noinput

seed: migrate
	DEBUG=1 $(PY) manage.py seed_demo

# Hashed, compressed copies in staticfiles/ for WhiteNoise (the tests collect their own).
static: venv
	DEBUG=1 $(PY) manage.py collectstatic --noinput -v0

# The French (and any other) catalog: locale/*/LC_MESSAGES/*.po into the .mo Django reads, with
# Babel (pure Python: no GNU gettext needed to run or test). Updating the .po is makemessages's
# job, and needs gettext: README.md, "Languages".
messages: venv
	$(PY) scripts/compilemessages

run: seed static messages
	DEBUG=1 $(PY) manage.py demo_urls --base http://$(HOST):$(PORT)
	@# The background worker (email: manage.py mail_worker) runs beside daphne and stops with
	@# it. Under DEBUG email goes to the console (this terminal): nothing leaves the laptop.
	@# A listen queue of 4,096 and a 30 s handshake timeout: a room joining at once is a storm
	@# (deploy/README.md says why; Twisted's defaults are 50 and 5 s).
	export DEBUG=1 SITE_URL=http://$(HOST):$(PORT); \
	$(PY) manage.py mail_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/daphne -e tcp:port=$(PORT):interface=$(HOST):backlog=4096 \
		--websocket_connect_timeout 30 productbreaks.asgi:application

lint: dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Two pytest-xdist workers, one per core of the CI machine: the suite's real servers and
# browsers wait on sockets as much as they compute. --durations: the slowest, for the log.
test: dev-deps browser java node-deps messages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -n 2 --durations=15

# The quick loop while working: lint, then every test not marked slow, browser or services
# (pyproject.toml's markers). `make test` still runs them all.
check: dev-deps messages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -q -n 2 -m "not slow and not browser and not services"

# The browser end-to-end scenarios and the fault tests RUNS times in a row (scripts/soak).
RUNS ?= 10
soak: dev-deps browser java node-deps
	scripts/soak $(RUNS)

# Browser tests drive Debian's Chromium; a browser a tool downloads cannot be fetched here.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Debian's chromium for the browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "No /usr/bin/chromium: browser tests will be skipped (sudo apt-get install chromium)"; \
		fi; \
	fi

# The Nu HTML checker (vnu-jar, tests/security/test_valid_html.py) runs on Debian's Java.
java:
	@if ! command -v java >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Debian's Java for the HTML checker"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; \
		else \
			echo "No java: the HTML validation test will be skipped (sudo apt-get install default-jre-headless)"; \
		fi; \
	fi

# axe-core for the browser tests' accessibility checks and vnu-jar, pinned by package-lock.json.
# --ignore-scripts: vnu-jar's postinstall would download a Java of its own; Debian's is used.
node_modules/.installed: package.json package-lock.json
	@if ! command -v npm >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's npm for axe-core and vnu-jar"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	fi
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

node-deps: node_modules/.installed

# make bench SCENARIO=burst ARGS=--cluster ; scenarios and figures in BENCHMARKS.md.
SCENARIO ?= smoke
bench: dev-deps
	$(PY) -m bench.run $(SCENARIO) $(ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm .pytest_cache .ruff_cache
	rm -f locale/*/LC_MESSAGES/*.mo
