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

.PHONY: relink demo test install lint typecheck audit pytest clean browser-deps

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

# known-vulnerability scan of the installed dependencies (see docs/RELIABILITY.md for what it can check here)
audit: install
	$(BIN)/pip-audit --skip-editable --progress-spinner off

test: lint typecheck audit browser-deps pytest

# headless Chromium for the browser test (Debian package; the test skips when it is missing)
browser-deps:
	@{ command -v chromium && fc-list | grep -qi wqy; } >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) || echo "chromium not installed: browser test will be skipped"; }

demo: install
	$(BIN)/ringwatch demo --dir $(DEMO_DIR) --persons $(DEMO_PERSONS) --seed $(DEMO_SEED) --port $(PORT)

clean:
	rm -rf $(VENV) build .stamp-install $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
