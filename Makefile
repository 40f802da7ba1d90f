# The two commands of this repo (see README):  make book  and  make test.
# Both create (or reuse) .venv from the pinned requirements.lock, offline-friendly: every
# package is installed without dependency resolution from the lock, which pins all of them.
PY ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

# JAX's persistent compilation cache, for everything make runs (train loops and law fits compile
# once per machine): JAX reads these variables itself. .jax_cache is git-ignored; the engine
# (kit.engine.cache) uses the same folder when it runs outside make.
export JAX_COMPILATION_CACHE_DIR ?= $(CURDIR)/.jax_cache
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS ?= 0
export JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES ?= 0

# The pycode corpus (kit.engine.data.load_corpus("pycode")): the pinned wheels of data/corpora/pycode.txt,
# downloaded (hash-checked, never installed) into .corpora/pycode when one is missing or the pins
# change; the comment ending each pin names its file. Nothing downloads them at run time.
PYCODE_REQ := data/corpora/pycode.txt
PYCODE_WHEELS := $(addprefix .corpora/pycode/,$(shell sed -n 's/^[^#].*\#[[:space:]]*\([^[:space:]]*\.whl\)[[:space:]]*$$/\1/p' $(PYCODE_REQ)))

$(STAMP): requirements.lock pyproject.toml
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --no-deps -r requirements.lock
	$(VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(PYCODE_WHEELS) &: $(PYCODE_REQ) | $(STAMP)
	$(VENV)/bin/python -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
	    --python-version 3.11 --platform any -r $(PYCODE_REQ) -d .corpora/pycode
	touch $(PYCODE_WHEELS)

.PHONY: venv book test bench chapter
venv: $(STAMP) $(PYCODE_WHEELS)  ## the environment and the corpora: what book, test and bench need

book: venv  ## execute every chapter (training only what runs/ lacks), then build the HTML
	$(VENV)/bin/python scripts/build_book.py

test: venv  ## the test suite
	$(VENV)/bin/python -m pytest -q

bench: venv  ## training throughput, fit speed and sparse-kernel speed, as ratios measured here
	$(VENV)/bin/python scripts/benchmark.py
	$(VENV)/bin/python scripts/bench_fits.py
	$(VENV)/bin/python scripts/bench_sparse.py

chapter: venv  ## rerun one chapter with other parameters into _build/reruns and render it: make chapter NB=03 ARGS='-p n_boot 50'
	$(if $(NB),,$(error name the chapter: make chapter NB=03 ARGS='-p NAME VALUE ...'))
	$(VENV)/bin/python scripts/render_chapter.py $(NB) $(ARGS)
