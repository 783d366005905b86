# `make run` serves on SQLite; `make test` runs the suite on SQLite and PostgreSQL.
# Each target creates the virtual environment and installs what it needs first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test soak lint format bench screenshot clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/reviewer serve

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

# The model of GitHub's truth, with many more and longer stories than `make test` plays.
soak: $(STAMP)
	HYPOTHESIS_PROFILE=soak $(BIN)/pytest -q tests/test_github_truth.py $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m tests.bench

# docs/dashboard.png, the README's picture of the dashboard, made by its page test.
screenshot: $(STAMP)
	UPDATE_SCREENSHOTS=1 REVIEWER_TEST_BACKENDS=sqlite $(BIN)/pytest -q tests/test_dashboard_page.py -k shows_who

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
