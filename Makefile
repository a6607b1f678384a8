# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
# Set to a PostgreSQL URL to run the tests on Postgres, e.g.
#   make test TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test
TEST_DATABASE_URL ?=

.PHONY: install run test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/taskrouter-emulator serve

test: install
	TASKROUTER_TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) taskrouter.db taskrouter.db-wal taskrouter.db-shm .pytest_cache .mypy_cache .ruff_cache .hypothesis
