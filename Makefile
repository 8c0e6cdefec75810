# anodex: the README's commands.  `make demo` and `make test` set up first.
VENV ?= .venv
PY    = $(VENV)/bin/python
# OpenMPI refuses root without these; harmless for MPICH and normal users.
export OMPI_ALLOW_RUN_AS_ROOT = 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM = 1
export OMPI_MCA_rmaps_base_oversubscribe = 1
# Open MPI 5 (PRRTE, Debian 13+): the same permission to run more ranks than cores
export PRTE_MCA_rmaps_default_mapping_policy = :oversubscribe
export OMP_NUM_THREADS = 1
export OPENBLAS_NUM_THREADS = 1

.PHONY: setup demo test test-serial test-mpi test-versions bench clean

setup:
	@bash tools/setup.sh $(VENV)

demo: setup
	mpirun -n 2 $(PY) -m mpi4py -m solver.cli run -o runs/default --overwrite
	$(PY) -m postprocess.plot_run runs/default
	@echo "Open runs/default/eta.xdmf, c.xdmf, phi.xdmf in ParaView; the plot is runs/default/summary.png"

test: setup
	@$(PY) -c "import dolfinx; print('[test] dolfinx', dolfinx.__version__)"
	$(MAKE) --no-print-directory test-serial test-mpi

# `make test` natively and in Debian 13 / unstable chroots (needs root)
test-versions:
	bash tools/test-versions.sh

test-serial:
	$(PY) -m pytest -q -p no:cacheprovider tests

test-mpi:
	mpirun -n 2 $(PY) -m mpi4py -m pytest -q -p no:cacheprovider -m "not serial" tests

bench: setup
	mpirun -n 2 $(PY) -m mpi4py benchmarks/hong2018.py --end-time 20

clean:
	rm -rf runs
