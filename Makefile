# Two commands: `make live` (set up, then start the demo show) and `make test` (set up, then test).
SHELL := /bin/bash
PORT ?= 8080
SCENE ?= scenes/demo
VENV := .venv/bin

.PHONY: setup live test lint unit bench lock clean

setup: .venv/.ready

.venv/.ready: requirements.lock pyproject.toml overrides.txt scripts/setup.sh
	bash scripts/setup.sh
	touch $@

live: setup
	$(VENV)/avatar live --scene $(SCENE) --port $(PORT)

lint: setup
	$(VENV)/ruff check avatar tests scripts
	$(VENV)/ruff format --check avatar tests scripts
	$(VENV)/mypy avatar

# Everything, slow tests (real voices, real browser) included.
test: lint
	$(VENV)/pytest -q -p no:cacheprovider

# The fast unit tests only, for the edit-test loop.
unit: setup
	$(VENV)/pytest -q -m "not slow"

bench: setup
	$(VENV)/avatar bench --scene $(SCENE)

# Re-resolve the pinned set after changing dependencies in pyproject.toml.
lock:
	uv pip compile -q pyproject.toml --extra dev --python-version 3.11 --override overrides.txt -o requirements.lock

clean:
	rm -rf .venv .cache .mypy_cache .ruff_cache .pytest_cache
