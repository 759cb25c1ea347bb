# One task runner (STYLE.md). `make demo` and `make test` are the README's quick start: each creates the
# virtual environment and installs on first use, so they work on a fresh machine with only Python and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BASE_STAMP := $(VENV)/.installed-base
STAMP := $(VENV)/.installed
WEB_STAMP := $(VENV)/.installed-web
WEB_ASSETS := src/gpaccess/web/vendor/nhsuk-frontend.min.css

.PHONY: demo test test-fast check fix lint type contracts test-unit test-spec test-property test-integration \
        test-functional bench bench-ingest bench-measures bench-interactive bench-scale bench-web web-assets \
        serve-demo screenshots clean

# The main job installs only what it runs (DESIGN "Installs"): plans' PDF packs and the evaluation included;
# test tools, Spark, the web extra and browsers come with the targets that use them.
$(BASE_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[plans,evaluation]'
	@touch $(BASE_STAMP)

$(STAMP): $(BASE_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[plans,evaluation,dev]'
	@touch $(STAMP)

demo: $(BASE_STAMP)  ## the main job on the bundled synthetic data
	@scripts/system-packages pango
	$(BIN)/gpaccess demo

# The web application's extra, its front end (npm, from web-assets/package-lock.json) and, for the browser
# tests and screenshots, Debian's chromium: only the targets that need them install them.
$(WEB_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[plans,evaluation,web,dev]'
	@touch $(WEB_STAMP)

# The tests also run every spec on Spark (local mode): the spark extra and a Java runtime.
TEST_STAMP := $(VENV)/.installed-test
$(TEST_STAMP): $(WEB_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[plans,evaluation,web,spark,dev]'
	@touch $(TEST_STAMP)

$(WEB_ASSETS): web-assets/package-lock.json
	scripts/web-assets

web-assets: $(WEB_ASSETS)  ## fetch the pinned NHS.UK frontend and axe-core (npm) for the web application

serve-demo: $(WEB_STAMP) $(WEB_ASSETS)  ## serve the demo store with one demo user per role (after make demo)
	@test -f "$${GPACCESS_HOME:-$$HOME/.local/share/gpaccess}/demo/store/manifest.json" || $(BIN)/gpaccess demo
	$(BIN)/gpaccess serve --demo

screenshots: $(WEB_STAMP) $(WEB_ASSETS)  ## the main pages as PNGs in docs/screenshots/ (after make demo)
	scripts/system-packages chromium
	$(BIN)/python scripts/screenshots.py

test: $(TEST_STAMP) $(WEB_ASSETS)  ## the whole test suite, with branch coverage (DuckDB and Spark, browser)
	@scripts/system-packages pango java chromium
	$(BIN)/python -m pytest -n auto --dist loadfile --cov --cov-report=term --durations=25 $(PYTEST_ARGS)

test-fast: $(TEST_STAMP) $(WEB_ASSETS)  ## everything but the tests marked slow (main job, browser, Spark): under 5 minutes
	@scripts/system-packages pango java chromium
	$(BIN)/python -m pytest -n auto --dist loadfile -m "not slow" $(PYTEST_ARGS)

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

test-unit test-spec test-property test-integration test-functional: $(TEST_STAMP) $(WEB_ASSETS)
	$(BIN)/python -m pytest tests/$(subst test-,,$@) $(PYTEST_ARGS)

bench: bench-ingest bench-measures bench-interactive  ## national-size benchmarks (minutes; not part of the tests; bench-scale apart)

bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest.py $(BENCH_ARGS)

bench-measures: $(STAMP)
	$(BIN)/python bench/measures.py $(BENCH_ARGS)

bench-scale: $(TEST_STAMP)  ## 60 national months on DuckDB, 6 on Spark, measures vs pandas (half an hour)
	nice -n 10 $(BIN)/python bench/scale.py $(BENCH_ARGS)

bench-interactive: $(STAMP)  ## against the commit before the interactive-speed work, in a git worktree
	$(BIN)/python -m pip install --quiet -e '.[plans,evaluation,dev,bench]'
	$(BIN)/python bench/interactive.py $(BENCH_ARGS)

bench-web: $(WEB_STAMP) $(WEB_ASSETS)  ## 20 clients for 60 s against gpaccess serve on a national store
	$(BIN)/python bench/web.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage* htmlcov
