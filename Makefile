# The workbook's commands. `make run` executes every notebook; `make test` runs every test.
# Both create .venv and start the local cloud on their own. See README.md.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help install up down status run test check-report unit integration notebooks lab strip lock clean

help:
	@echo "make run    execute every notebook against the local cloud (build/executed/, build/report.html and .json)"
	@echo "make test   unit and integration tests, nbval over every notebook, then make run and its report checked"
	@echo "make check-report   check the last make run's report (tests/after_run)"
	@echo "make lab    start the local cloud and JupyterLab"
	@echo "make up | down | status   the local cloud on its own"
	@echo "make strip  remove outputs from notebooks before committing"
	@echo "make clean  stop the local cloud, remove .venv, build/ and the local cloud's state"

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed, found " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt -e .
	@touch $@

install: $(STAMP)

up: install
	@$(PY) -m helpers.localcloud up

down:
	@if [ -x $(PY) ]; then $(PY) -m helpers.localcloud down; fi

status: install
	@$(PY) -m helpers.localcloud status

run: up
	$(PY) -m helpers.runner

unit: install
	$(PY) -m pytest -q tests/unit

integration: install
	$(PY) -m pytest -q tests/integration

notebooks: up
	$(PY) -m pytest -q --nbval-lax --nbval-cell-timeout=900 -p no:cacheprovider notebooks

# Tests, then nbval over every notebook, then a full `make run` whose report is checked
# (tests/after_run) and after whose teardown (notebook 99) nothing may be left (cloud_census).
test: up
	$(PY) -m pytest -q tests
	$(PY) -m pytest -q --nbval-lax --nbval-cell-timeout=900 -p no:cacheprovider notebooks
	$(PY) -m helpers.runner
	$(PY) -m pytest -q -p no:cacheprovider tests/after_run
	$(PY) -m helpers.cloud_census

check-report: install
	$(PY) -m pytest -q -p no:cacheprovider tests/after_run

lab: up
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

strip: install
	$(PY) -m jupyter nbconvert --clear-output --inplace notebooks/*.ipynb

lock: install
	$(PY) -m pip freeze --exclude-editable | sed '1i # Every package the workbook installs, pinned (pip freeze of a clean install of requirements.txt).\n# Regenerate with: make lock' > constraints.txt

clean: down
	rm -rf $(VENV) build .localcloud
