# Two entry points for a fresh machine: `make demo` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench gallery clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[http,test,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/llmobs-mapping map examples/seed-exchange.json --settings examples/seed-settings.json --pretty

test: lint typecheck pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check llmobs_mapping tests bench tools
	$(VENV)/bin/ruff format --check llmobs_mapping tests bench tools

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) bench/run.py

gallery: $(STAMP)
	$(PY) tools/gallery.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis
