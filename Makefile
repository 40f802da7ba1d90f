# The two commands of this repo (see README):  make book  and  make test.
# Both create (or reuse) .venv from the pinned requirements.lock, offline-friendly: every
# package is installed without dependency resolution from the lock, which pins all of them.
PY ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

$(STAMP): requirements.lock pyproject.toml
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --no-deps -r requirements.lock
	$(VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

.PHONY: venv book test bench
venv: $(STAMP)

book: $(STAMP)  ## execute every chapter (training only what runs/ lacks), then build the HTML
	$(VENV)/bin/python scripts/build_book.py

test: $(STAMP)  ## the test suite
	$(VENV)/bin/python -m pytest -q

bench: $(STAMP)  ## training throughput, fit speed and sparse-kernel speed, as ratios measured here
	$(VENV)/bin/python scripts/benchmark.py
	$(VENV)/bin/python scripts/bench_fits.py
	$(VENV)/bin/python scripts/bench_sparse.py
