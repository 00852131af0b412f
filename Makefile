# The two quick-start commands: `make demo` and `make test`. Each installs what it needs first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/responder plan check
	$(BIN)/responder drill run config/drills/sanjian-flood.yaml --out drill-output

lint: $(STAMP)
	$(BIN)/ruff check responder tests benchmarks
	$(BIN)/mypy responder

unit: $(STAMP)
	$(BIN)/pytest

test: lint unit

bench: $(STAMP)
	for b in outbox workers feed_cycle drill; do $(BIN)/python benchmarks/bench_$$b.py || exit 1; done

clean:
	rm -rf $(VENV) responder.db responder.db-wal responder.db-shm
