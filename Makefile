# One task runner (STYLE.md). `make demo` and `make test` are the README's quick start: each creates the
# virtual environment and installs on first use, so they work on a fresh machine with only Python and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast check fix lint type contracts test-unit test-spec test-property test-integration \
        test-functional bench bench-ingest bench-measures bench-interactive bench-scale clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,plans]'
	@touch $(STAMP)

# The tests also run every spec on Spark (local mode): the spark extra and a Java runtime, installed here so
# `make demo` never waits for them (DESIGN "Installs").
TEST_STAMP := $(VENV)/.installed-test
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,plans,spark]'
	scripts/system-packages java
	@touch $(TEST_STAMP)

demo: $(STAMP)  ## the main job on the bundled synthetic data
	@scripts/system-packages pango
	$(BIN)/gpaccess demo

test: $(TEST_STAMP)  ## the whole test suite, with branch coverage (DuckDB and Spark)
	@scripts/system-packages pango
	$(BIN)/python -m pytest --cov --cov-report=term $(PYTEST_ARGS)

test-fast: $(TEST_STAMP)  ## everything but the tests marked slow (main job, browser, Spark): under 5 minutes
	@scripts/system-packages pango
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

check: lint type contracts  ## everything CI checks besides the tests

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)

fix: $(STAMP)
	$(BIN)/ruff check --fix src tests $(wildcard bench)
	$(BIN)/ruff format src tests $(wildcard bench)

type: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

test-unit test-spec test-property test-integration test-functional: $(TEST_STAMP)
	$(BIN)/python -m pytest tests/$(subst test-,,$@) $(PYTEST_ARGS)

bench: bench-ingest bench-measures bench-interactive  ## national-size benchmarks (minutes; not part of the tests; bench-scale apart)

bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest.py $(BENCH_ARGS)

bench-measures: $(STAMP)
	$(BIN)/python bench/measures.py $(BENCH_ARGS)

bench-scale: $(TEST_STAMP)  ## 60 national months on DuckDB, 6 on Spark, measures vs pandas (half an hour)
	nice -n 10 $(BIN)/python bench/scale.py $(BENCH_ARGS)

bench-interactive: $(STAMP)  ## against the commit before the interactive-speed work, in a git worktree
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/interactive.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage* htmlcov
