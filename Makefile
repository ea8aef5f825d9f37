# ringwatch — two entry points for a fresh machine:
#   make demo   venv + install + generate synthetic data + load + detect + report + dashboard
#   make test   venv + install + ruff + mypy + pytest
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo
DEMO_PERSONS ?= 20000
DEMO_SEED ?= 7
PORT ?= 8501

.PHONY: relink demo test install lint typecheck pytest clean demo-data demo-run dashboard browser-deps

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel

# (re)install when the project metadata or the set of source files changes
.stamp-install: $(BIN)/python pyproject.toml $(shell find core graph loaders detectors dashboard synth -name '*.py' 2>/dev/null)
	flock /tmp/ringwatch-install.lock $(BIN)/python -m pip install -q -e '.[dev]' --config-settings editable_mode=strict
	touch $@

# after adding a module: refresh the editable link tree (no dependency changes)
relink: $(BIN)/python
	flock /tmp/ringwatch-install.lock $(BIN)/python -m pip install -q --no-deps -e . --config-settings editable_mode=strict

install: .stamp-install

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy -p ringwatch

pytest: install
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

demo-data: install
	$(BIN)/ringwatch generate --seed $(DEMO_SEED) --persons $(DEMO_PERSONS) --out $(DEMO_DIR)/data --truth $(DEMO_DIR)/truth.jsonl

demo-run: demo-data
	$(BIN)/ringwatch run $(DEMO_DIR)/data --out $(DEMO_DIR)/out --store $(DEMO_DIR)/ringwatch.lbug

demo: demo-run
	$(BIN)/ringwatch demo-summary $(DEMO_DIR)/out
	$(BIN)/ringwatch dashboard --store $(DEMO_DIR)/ringwatch.lbug --alerts $(DEMO_DIR)/out --port $(PORT)

clean:
	rm -rf $(VENV) build .stamp-install $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
