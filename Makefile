# Quick start: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow test-all venv bench typecheck fuzz clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

# make test: the quick suite, in parallel (the slow property, fuzz, crash and end-to-end tests are
# left out and counted in the summary: make test-slow runs them, make test-all runs everything; CI both).
test: $(STAMP)
	$(BIN)/python -m pytest -n auto -m "not slow"
	@echo "make test left out the tests marked slow: run them with make test-slow (CI runs them)"

test-slow: $(STAMP)
	$(BIN)/python -m pytest -n auto -m slow

test-all: $(STAMP)
	$(BIN)/python -m pytest -n auto

typecheck: $(STAMP)
	$(BIN)/python -m mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# Hostile-input fuzzing (issue 11): FUZZ_POLICIES random and mutated policies and FUZZ_RECORDS record
# files, 2 workers, 10 s and 1 GB per case; findings and summary in build/fuzz (exit 1 on findings).
FUZZ_POLICIES ?= 20000
FUZZ_RECORDS  ?= 2000
FUZZ_SEED     ?= 0
fuzz: $(STAMP)
	$(BIN)/python -m dunning_engine.testing.hostile --policies $(FUZZ_POLICIES) --records $(FUZZ_RECORDS) \
		--seed $(FUZZ_SEED) --workers 2 --out build/fuzz

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build dist
