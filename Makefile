PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test serve bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/credwatch demo

test: install
	$(BIN)/pytest

serve: install
	$(BIN)/credwatch serve

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
