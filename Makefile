# Two commands do everything: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
FLASK  := $(BIN)/flask --app app
TEST_DB_URL := $(PORTAL_TEST_DATABASE_URL)

.PHONY: install install-test run test lint translations compile-translations screenshots browser bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

## install: the virtual environment with the runtime dependencies, compiled translations
install: $(VENV)/.installed compile-translations

compile-translations: $(BIN)/python
	$(BIN)/pybabel -q compile -d portal/translations

## run: install, migrate, load demo data on first run, serve with Granian on 127.0.0.1:$(PORT)
run: install
	$(FLASK) init-db
	$(FLASK) seed-demo --first-run
	$(BIN)/granian --interface wsgi --http 1 --host 127.0.0.1 --port $(PORT) --workers 2 --blocking-threads 4 \
	  --respawn-failed-workers --workers-kill-timeout 10 --access-log app:app

## browser: Debian's Chromium (and CJK fonts for screenshots) when missing
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

## node_modules: axe-core for the accessibility checks in the browser tests (npm, from package-lock.json)
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm ci --no-audit --no-fund --silent
	touch $@

install-test: $(VENV)/.installed-test compile-translations browser node_modules/.installed

## test: ruff, then the whole suite on SQLite, then again on PostgreSQL when PORTAL_TEST_DATABASE_URL is set
test: install-test lint
	env -u PORTAL_TEST_DATABASE_URL $(BIN)/pytest
	@if [ -n "$(TEST_DB_URL)" ]; then \
	  echo "== again on PostgreSQL ($(TEST_DB_URL))"; \
	  PORTAL_TEST_DATABASE_URL=$(TEST_DB_URL) $(BIN)/pytest -m "not browser"; \
	fi

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## translations: extract every UI string and merge it into the catalogues (then translate en)
translations: $(VENV)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -o portal/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel -q update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching

## screenshots: the main pages at desktop and phone width, into docs/screenshots/
screenshots: install-test
	$(BIN)/python -m tests.browser.screenshots docs/screenshots

bench: install
	$(BIN)/python bench/trace_verify.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache node_modules
