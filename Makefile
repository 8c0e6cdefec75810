# anodex: the README's commands.  `make demo` and `make test` set up first.
VENV ?= .venv
PY   ?= $(VENV)/bin/python
# OpenMPI refuses root without these; harmless for MPICH and normal users.
export OMPI_ALLOW_RUN_AS_ROOT = 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM = 1
export OMPI_MCA_rmaps_base_oversubscribe = 1
# Open MPI 5 (PRRTE, Debian 13+): the same permission to run more ranks than cores
export PRTE_MCA_rmaps_default_mapping_policy = :oversubscribe
# Ranks that wait yield their core: the tests start 2- and 3-rank jobs next
# to a second pytest worker on a 2-core machine (busy-polling made a 3-rank
# job 3x slower there, measured).
export OMPI_MCA_mpi_yield_when_idle = 1
# Open MPI 5 (Debian 13+) loads UCX at every MPI_Init: 1.5 s per process on
# Debian unstable against 0.6 s without it (measured), paid by every process
# the tests start.  One machine needs only shared memory (ob1 over self, sm).
ifneq ($(shell command -v prterun 2>/dev/null),)
export OMPI_MCA_pml = ob1
export OMPI_MCA_osc = ^ucx
export OMPI_MCA_btl = self,sm
endif
export OMP_NUM_THREADS = 1
export OPENBLAS_NUM_THREADS = 1

# pytest workers of the serial leg (pytest-xdist): one per core
WORKERS ?= auto
# a pytest -m expression that narrows both legs (test-compat: "not slow and not serial")
MARK ?=

.PHONY: setup demo test test-compat test-serial test-mpi test-versions bench clean

# With the default PY, set up Debian's stack and the venv (apt through sudo);
# with PY given (conda, a module's python), only check it: no apt.
setup:
ifeq ($(PY),$(VENV)/bin/python)
	@bash tools/setup.sh $(VENV)
else
	@$(PY) -c "import dolfinx, anodex" 2>/dev/null || { echo "[setup] $(PY) lacks dolfinx or anodex: install anodex with 'bash tools/install-anodex.sh $(PY)' (conda: environment.yml)"; exit 1; }
endif

demo: setup
	mpirun -n 2 $(PY) -m mpi4py -m anodex.cli run cases/li_llzo.toml -o runs/demo --overwrite
	$(PY) -m postprocess.plot_run runs/demo
	@echo "Open runs/demo/eta.xdmf, phi_s.xdmf, phi_e.xdmf in ParaView; the plot is runs/demo/summary.png"

test: setup
	@$(PY) -c "import dolfinx; print('[test] dolfinx', dolfinx.__version__)"
	$(MAKE) --no-print-directory test-serial test-mpi

# `make test` natively and in Debian 13 / unstable chroots (needs root)
test-versions:
	bash tools/test-versions.sh

# The other dolfinx generations in the chroots of `make test-versions`: the
# tests that run in one process, without the long verification runs (`slow`,
# each a repeat of a faster test's code path on a finer or longer problem),
# plus the `compat` few of the `serial` tests (1-vs-2-rank comparisons of
# each model, restarts across rank counts, mesh files and 3-D), which start
# their own MPI jobs.  The other serial tests (the hostile corpus, sweeps,
# the command line, ParaView) exercise anodex's own Python, the same on every
# dolfinx; the native leg runs everything.
test-compat: setup
	@$(PY) -c "import dolfinx; print('[test] dolfinx', dolfinx.__version__)"
	$(MAKE) --no-print-directory test-serial MARK="not slow and (not serial or compat)"

# Two passes: the tests named *rank* (1-vs-2-and-3-rank comparisons, which
# start their own MPI jobs) run after the rest, one at a time, so that
# their ranks have the cores.  Beside a busy process one of them took 737 s
# against 20 s alone (measured; benchmarks/RESULTS.md).  pytest's exit code
# 5 (nothing selected) is not a failure here.
KEEP = $(if $(SELECT),($(SELECT)) and )
test-serial:
	$(PY) -m pytest -q -p no:cacheprovider -n $(WORKERS) $(if $(MARK),-m "$(MARK)") \
		-k "$(KEEP)not rank" tests || [ $$? -eq 5 ]
	$(PY) -m pytest -q -p no:cacheprovider -n 1 $(if $(MARK),-m "$(MARK)") \
		-k "$(KEEP)rank" tests || [ $$? -eq 5 ]

test-mpi:
	mpirun -n 2 $(PY) -m mpi4py -m pytest -q -p no:cacheprovider -m "not serial$(if $(MARK), and $(MARK))" tests

bench: setup
	mpirun -n 2 $(PY) -m mpi4py benchmarks/hong2018.py --end-time 20

clean:
	rm -rf runs
