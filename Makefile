# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
# Where `make run` listens, e.g. `make run HOST=0.0.0.0 PORT=9090`.
HOST ?= 127.0.0.1
PORT ?= 8080
# Set to a PostgreSQL URL to run the tests on Postgres, e.g.
#   make test TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test
TEST_DATABASE_URL ?=
# Node.js clients driven by the tests (twilio-node, twilio-cli, twilio-taskrouter); installed by `make node-clients`.
NODE_CLIENT_DIRS = tests/clients_node tests/clients_node/cli tests/node

.PHONY: install install-serve run test lint bench clean node-clients constraints

$(VENV)/bin/python:
	@echo "==> creating the virtual environment $(VENV)"
	$(PYTHON) -m venv $(VENV)

# Serving only: the emulator and its runtime dependencies, no test or lint tools.
$(BIN)/.installed-serve: pyproject.toml | $(VENV)/bin/python
	@echo "==> installing the emulator and what serving needs (pip prints each package)"
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -e .
	touch $@

# Everything: serving plus the dev extra (pytest, twilio, ruff, mypy, ...).
$(BIN)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(BIN)/.installed-serve

install-serve: $(BIN)/.installed-serve

install: $(BIN)/.installed

run: install-serve
	$(BIN)/taskrouter-emulator serve --host $(HOST) --port $(PORT)

test: install
	TASKROUTER_TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/mypy

# twilio-node and twilio-cli for tests/clients (exact versions from the package-lock.json files).
node-clients:
	@for dir in $(NODE_CLIENT_DIRS); do \
		echo "==> npm ci in $$dir"; \
		npm ci --prefix $$dir --no-audit --no-fund --ignore-scripts || exit 1; \
	done

# Regenerate the Docker image's pins from a clean venv with only the serving dependencies.
constraints:
	rm -rf .constraints-venv
	$(PYTHON) -m venv .constraints-venv
	.constraints-venv/bin/python -m pip install --quiet --disable-pip-version-check .
	{ echo "# Pins for the Docker image (pip install -c constraints.txt). Regenerate: make constraints"; \
	  .constraints-venv/bin/python -m pip freeze --exclude taskrouter-emulator; } > constraints.txt
	rm -rf .constraints-venv

clean:
	rm -rf $(VENV) taskrouter.db taskrouter.db-wal taskrouter.db-shm .pytest_cache .mypy_cache .ruff_cache .hypothesis
