# supportbot: `make run` serves the bot on http://127.0.0.1:8000, `make test` runs every check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck install dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
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
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: dev
	$(BIN)/mypy

test: lint typecheck tests/node/node_modules/.installed
	$(BIN)/pytest -q

bench: dev
	$(BIN)/python bench/webchat.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
