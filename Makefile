# The README's first two commands. Both are idempotent: the virtualenv is (re)built only
# when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export LOTLINE_DATABASE_URL ?= sqlite:///var/lotline.db

.PHONY: demo test lint typecheck check bench i18n clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	mkdir -p var
	$(BIN)/lotline db upgrade
	$(BIN)/lotline demo
	@echo ""
	@echo "  lotline demo: http://$(HOST):$(PORT)/   (API docs: http://$(HOST):$(PORT)/docs)"
	@echo "  sign in as admin / lotline-demo (other demo logins in the table above)"
	@echo ""
	$(BIN)/lotline serve --host $(HOST) --port $(PORT)

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

check: lint typecheck test

i18n: $(VENV)/.dev-installed
	scripts/i18n.sh

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench audit --db sqlite --scale ci

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
