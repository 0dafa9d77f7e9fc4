# The two commands of the README: `make up` (whole pipeline) and `make test` (whole suite).
# Both install what is missing first: a virtualenv with the project, then (through `pakn`)
# Java/Maven/ClickHouse from Debian, the Kafka broker from Maven Central and the S3 store
# (s3s-fs, built with cargo from crates.io).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: install up test lint unit clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

up: install
	$(BIN)/pakn up

lint: install
	$(BIN)/ruff check .

test: lint
	$(BIN)/pakn services start
	$(BIN)/pytest

unit: install
	$(BIN)/pytest tests/unit

clean:
	-$(BIN)/pakn services stop
	rm -rf .pakn
