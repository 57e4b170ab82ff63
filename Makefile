# ServiceDesk: `make run` serves the API with sample data on port 5001, with a background worker
# beside it; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test lint check-migrations clean

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(BIN)/.installed

# The worker runs in the background of the recipe's shell, which stops it (SIGTERM: it finishes
# what it is doing) when the server ends, Ctrl-C included.
run: install
	$(BIN)/flask --app app seed
	$(BIN)/flask --app app worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	PORT=$${PORT:-5001} $(BIN)/python app.py

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check-migrations: install
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app db check

clean:
	rm -rf $(VENV) instance/*.db instance/*.db-shm instance/*.db-wal .pytest_cache
