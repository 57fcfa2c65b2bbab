# newsfold: `make demo` runs the main job on the sample articles; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DATABASE_URL ?=

.PHONY: demo test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/scrapy crawl files -a path=seeds/articles
	@echo
	@echo "Stories found:"
	@$(BIN)/scrapy stories

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/ruff check crawler pipelines storage tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) newsfold.db newsfold.db-wal newsfold.db-shm
