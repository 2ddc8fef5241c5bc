# fpsolve: `make demo` and `make test` bootstrap everything from a fresh clone.
#
# The virtual environment .venv is created with Python 3.12 (pyenv picks 3.12.1 from .python-version)
# and gets fpsolve with the PyPI binary DOLFINx stack (dolfinx-solver-real: PETSc, SLEPc, MPICH).

PYTHON ?= python3.12
VENV := .venv
PY := $(VENV)/bin/python
MPIEXEC := $(VENV)/bin/mpiexec
NP ?= 2
STAMP := $(VENV)/.installed

export PYVISTA_OFF_SCREEN := true
export OMP_NUM_THREADS := 1

.PHONY: all install demo test test-serial test-mpi clean

all: test

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 12), sys.version' || \
		{ echo "need Python >= 3.12 as $(PYTHON) (set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[wheel,test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(MPIEXEC) -n $(NP) $(VENV)/bin/fpsolve demo --overwrite

test: test-serial test-mpi

test-serial: $(STAMP)
	$(VENV)/bin/ruff check fpsolve tests
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

test-mpi: $(STAMP)
	$(MPIEXEC) -n $(NP) $(PY) -m pytest -q

clean:
	rm -rf $(VENV) out .pytest_cache
