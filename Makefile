# Ningju: `make run` serves the demo street, `make test` runs every check. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run serve test check lint format messages demo clean browser

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Regenerate the lock file after changing pyproject.toml's dependencies.
lock:
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

# `ningju serve` collects the static files first (what is left out: STATIC_IGNORE in ningju/core/management/commands/collect.py).
run: install
	$(BIN)/ningju migrate --noinput -v0
	$(BIN)/ningju demo --if-empty
	$(BIN)/ningju serve --host $(HOST) --port $(PORT)

# Debian's chromium for the Playwright browser tests (no browser download: the network is closed).
browser:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy ningju
	$(BIN)/ningju makemigrations --check --dry-run -v0
	$(BIN)/ningju check

# pytest exits 5 when it selects no test (e.g. `make test PYTEST_ARGS="-m postgres"` on SQLite): not a failure.
PYTEST_ARGS ?=
test: install browser check
	$(BIN)/pytest -n 2 --dist loadfile -q $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest selected no tests"; exit 0; fi; exit $$rc

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Chinese is the source language of every string; this refreshes the English catalogue.
messages: install
	cd ningju && ../$(BIN)/ningju makemessages -l en --no-obsolete -i "*/migrations/*"
	cd ningju && ../$(BIN)/ningju compilemessages -l en

clean:
	rm -rf $(VENV) node_modules staticfiles
