# newsdq: `make run` curates the sample inbox; `make test` runs the tests. Both create .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME ?= $(CURDIR)/.prefect
# pytest-xdist workers of `make test`: the end-to-end tests are CLI runs that keep one core
# busy each (`make test PYTEST_WORKERS=0` runs everything in one process).
PYTEST_WORKERS ?= 2

.PHONY: run test lint typecheck check clean serve

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/newsdq run --inbox data/inbox --out data/published

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf data/published .prefect .pytest_cache

# A local Prefect server, the work pool, the deployments of prefect.yaml and a worker; Ctrl-C stops.
serve: $(STAMP)
	$(BIN)/newsdq serve
