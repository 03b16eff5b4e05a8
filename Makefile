# yaan-sim: the two commands of README.md.
#   make run    set up .venv, run the default scenarios, write results, charts, goal table and report to out/
#   make test   set up .venv with the test and lint extras, lint, type-check and run the tests
#   make mutation  mutation testing of the core modules (slow; not part of make test)
#   make lint   ruff (lint and format check) and mypy on src/ (make test runs them first)
# Everything is installed into .venv by these targets; nothing is needed by hand but
# Python 3.11+ with venv and pip, and make.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Versions the project is tested with; `make run CONSTRAINTS=` installs the newest allowed.
CONSTRAINTS ?= requirements/constraints.txt
PIP_C := $(if $(CONSTRAINTS),-c $(CONSTRAINTS),)
PYTEST_ARGS ?=
# `make test` runs on every core (pytest-xdist), each test module on one worker, so that its
# module-scoped fixtures are built once (tests/conftest.py). `make test XDIST=` runs serially.
# (Not --dist loadgroup: pytest-xdist 3.8 cannot group tests under pytest 9.)
XDIST ?= -n auto --dist loadscope

.PHONY: help run test lint mutation references posterior venv venv-test venv-lint venv-mutation clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "yaan-sim needs Python 3.11 or newer; found $$($(PYTHON) --version). Set PYTHON=python3.X"; exit 2; }
	@$(PYTHON) -m venv $(VENV) || \
	  { echo "could not create $(VENV): on Debian/Ubuntu install venv with 'apt-get install python3-venv'"; exit 2; }
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-installed: $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/python -m pip install -q $(PIP_C) -e .
	@touch $@

$(VENV)/.test-installed: $(VENV)/.run-installed
	$(BIN)/python -m pip install -q $(PIP_C) -e '.[test]'
	@touch $@

$(VENV)/.mutation-installed: $(VENV)/.test-installed
	$(BIN)/python -m pip install -q $(PIP_C) -e '.[test,mutation]'
	@touch $@

$(VENV)/.lint-installed: $(VENV)/.test-installed
	$(BIN)/python -m pip install -q $(PIP_C) -e '.[test,lint]'
	@touch $@

venv: $(VENV)/.run-installed  ## create .venv with the package

venv-test: $(VENV)/.test-installed  ## create .venv with the test extras

venv-lint: $(VENV)/.lint-installed  ## create .venv with the test and lint extras

# Python may keep the bytecode it compiles (in __pycache__, git-ignored) even where the
# environment says not to (PYTHONDONTWRITEBYTECODE, set on some machines): else every
# process compiles yaan-sim again (~0.4 s an import) and every pytest worker its tests'
# rewritten asserts (~6 s on 2 cores).
KEEP_BYTECODE := PYTHONDONTWRITEBYTECODE=

run: venv  ## run the default scenarios; write results, charts, goal table and report to out/
	$(KEEP_BYTECODE) $(BIN)/yaan-sim run --out-dir out --force

# mypy (~20 s on one core, cold) runs beside the tests; its report follows theirs, and
# either failing fails the target.
test: venv-lint  ## lint and type-check (ruff, mypy), then run the tests
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@echo "$(BIN)/mypy src  (beside the tests; its report follows them)"
	@$(BIN)/mypy src > $(VENV)/.mypy-report 2>&1 & mypy=$$!; \
	  $(KEEP_BYTECODE) $(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS); tests=$$?; \
	  wait $$mypy; types=$$?; echo "mypy src:"; cat $(VENV)/.mypy-report; \
	  test $$tests -eq 0 && test $$types -eq 0

# MODULES=outputs/rules.py limits the run to some modules (pyproject [tool.yaan-sim.mutation]);
# each module's score and surviving mutants are printed and kept in build/mutation/.
MODULES ?=
mutation: $(VENV)/.mutation-installed  ## mutation testing of the core modules (slow; see docs/testing.md)
	$(BIN)/python tests/support/mutation.py $(MODULES)

# PySD's runs that the engine tests compare with, stored so that `make test` need not run
# PySD (tests/support/pysd_reference.py): rewrite them after editing the .mdl or the pins.
references: venv-test  ## re-run PySD for the stored references (tests/data/pysd_reference)
	YAAN_WRITE_PYSD_REFERENCES=1 $(BIN)/python -m pytest $(XDIST) -q \
	  tests/test_vector_engine.py tests/test_vector_conformance.py

lint: venv-lint  ## ruff check, ruff format --check and mypy (configured in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src

# The shipped posterior: every compared ledger figure through 2020 (--cutoff 2020), with a
# model discrepancy added in quadrature to the ledger's stated errors (assumed: the size of
# the misfits): 0.2 on the log scale for levels, 3 points for growth rates (H 1 -> 3.2,
# M 2 -> 3.6, L 5 -> 5.8). Differential-evolution moves (--moves de: they mix here in half
# the steps of the stretch move), 100 walkers x 8,000 steps, the second half kept, thinned to
# 400 draws (about 17 minutes on two cores alone). models/README.md, "Calibration and
# posterior", reads it.
posterior: venv  ## sample the calibrated constants' posterior into models/data/posterior.nc
	mkdir -p out
	$(BIN)/yaan-sim calibrate --cutoff 2020 --model-error 0.2 \
	  --growth-error H=3.2,M=3.6,L=5.8 --moves de --walkers 100 --steps 8000 \
	  --burn 4000 --thin 1000 --seed 0 --no-progress --force \
	  -o out/calibrated-posterior.yaml --posterior models/data/posterior.nc

clean:  ## remove out/ and caches (not .venv)
	rm -rf out .pytest_cache .hypothesis build/mutation
