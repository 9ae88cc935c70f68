# The two commands a reader needs are `make book` and `make test` (see README.md).
# Everything else here is for authors.

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
# Notebooks, tests and builds run with the book's environment first on the PATH, so the
# Jupyter kernel they start is the one in .venv.
export PATH := $(BIN):$(PATH)
# One BLAS thread everywhere: results must not depend on the machine's core count.
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export PYTHONHASHSEED := 0
export PYDEVD_DISABLE_FILE_VALIDATION := 1

NOTEBOOK_DIRS := $(wildcard chapters labs solutions)
JOBS ?= 2

.PHONY: help install book test test-kernels execute export labs lint lock clean bench

help:
	@echo "make book     build the three editions into _build/html (installs what it needs)"
	@echo "make test     run every test (installs what it needs)"
	@echo "make test-kernels  every notebook under the machine's kernels and under the second set (authors)"
	@echo "make execute  re-run notebooks in place: all, or NB='chapters/en/01-*.ipynb'"
	@echo "make export   regenerate optbook/numpy_optim.py from the chapters' export cells"
	@echo "make labs     regenerate labs/ from solutions/ (stubs in place of the marked solutions)"
	@echo "make lint     ruff over the package, tools, tests and notebooks"
	@echo "make lock     re-resolve requirements.in into the pinned requirements.txt"
	@echo "make bench    time the optimizer step on this machine (about 5 min): optbook/results/bench.json"

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10 or newer is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

book: $(STAMP)
	$(BIN)/python tools/book.py build

# Notebooks run under two kernel sets (conftest.py, optbook/kernels.py): the English chapters under
# the machine's own, their Chinese twins (same code, same stored outputs) under the second set;
# the solutions, which are short, under both.
NBVAL := --nbval --nbval-current-env --nbval-cell-timeout=120

test: $(STAMP)
	$(BIN)/python -m ruff check optbook tools tests chapters $(wildcard labs solutions)
	OPTBOOK_KERNELS=twin $(BIN)/python -m pytest -n $(JOBS) --dist loadfile tests $(NOTEBOOK_DIRS) $(NBVAL)
	OPTBOOK_KERNELS=second $(BIN)/python -m pytest -n $(JOBS) --dist loadfile solutions $(NBVAL)

# For authors: every notebook under both kernel sets (twice the notebook time of `make test`).
test-kernels: $(STAMP)
	OPTBOOK_KERNELS=native $(BIN)/python -m pytest -n $(JOBS) --dist loadfile $(NOTEBOOK_DIRS) $(NBVAL)
	OPTBOOK_KERNELS=second $(BIN)/python -m pytest -n $(JOBS) --dist loadfile $(NOTEBOOK_DIRS) $(NBVAL)

NB ?= $(wildcard chapters/*/*.ipynb solutions/*.ipynb)
execute: $(STAMP)
	$(BIN)/python tools/execute.py $(NB)

export: $(STAMP)
	$(BIN)/python tools/export.py

labs: $(STAMP)
	$(BIN)/python tools/labs.py

lint: $(STAMP)
	$(BIN)/python -m ruff check optbook tools tests chapters $(wildcard labs solutions)

lock:
	$(BIN)/python tools/lock.py

clean:
	rm -rf _build

# The stored sweeps (several minutes): Chapters 10 and 11's comparisons, Chapter 8's
# L2-against-decoupled grid and Chapter 9's schedules; rewrites optbook/results/*.json.
sweeps: $(STAMP)
	$(BIN)/python tools/sweeps.py
	$(BIN)/python -m optbook.decay
	$(BIN)/python -m optbook.toolbox

# Chapter 13's benchmark (about 5 minutes, progress on stderr): memory bandwidth and the Adam
# step's variants on this machine; rewrites optbook/results/bench.json, which the chapter plots.
bench: $(STAMP)
	$(BIN)/python -m optbook.bench
