#!/usr/bin/env bash
# Set up anodex on Debian 12 (or newer): Debian's FEniCSx stack + a venv that
# sees it (--system-site-packages) + anodex installed editable with its test
# extras.  Idempotent: a second run only checks and returns.
# Usage: tools/setup.sh [VENV_DIR]   (default: .venv in the project root)
#        tools/setup.sh --debs-only  (only the Debian packages)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
debs_only=false
if [ "${1:-}" = "--debs-only" ]; then debs_only=true; shift; fi
venv="${1:-$here/.venv}"

# Debian packages: dolfinx and the ABI-bound numpy/petsc4py/mpi4py come from
# Debian, never from pip.  libopenblas0-pthread replaces the reference BLAS
# (MUMPS LU is ~3.5x faster with it on this stack).
debs=(python3-dolfinx-real python3-petsc4py-real python3-mpi4py mpi-default-bin
      python3-meshio python3-h5py python3-matplotlib python3-pandas python3-pytest python3-pytest-xdist python3-venv python3-gmsh
      python3-setuptools python3-wheel python3-pip python3-dev gcc libc6-dev
      libopenblas0-pthread procps)
# ParaView (pvpython) and a virtual X server for the ParaView test and
# postprocess/paraview_view.py; ANODEX_PARAVIEW=no leaves them out (the
# Debian 13 / unstable chroot legs of `make test-versions` do).
if [ "${ANODEX_PARAVIEW:-yes}" != "no" ]; then
  debs+=(paraview python3-paraview xvfb xauth)
fi
bash "$here/tools/apt-install.sh" "${debs[@]}"
# A dolfinx built with ADIOS2 (Debian 13 on) writes VTX files ([output]
# format = "vtx"); ADIOS2's Python bindings let the tests read them back.
if /usr/bin/python3 -c "import sys, dolfinx.common as c; sys.exit(not getattr(c, 'has_adios2', False))" \
     2>/dev/null; then
  bash "$here/tools/apt-install.sh" python3-adios2
fi

$debs_only && exit 0

# The venv is built from Debian's python (not a pyenv/conda python on PATH).
if [ ! -x "$venv/bin/python" ]; then
  echo "[setup] creating venv $venv"
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi

stamp="$venv/.anodex-setup"
want="$(cat "$here/pyproject.toml" "$here/tools/setup.sh" "$here/tools/install-anodex.sh" | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
   && "$venv/bin/python" -c "import anodex, dolfinx" 2>/dev/null; then
  exit 0
fi
echo "[setup] installing anodex (editable) into $venv"
# Every dependency is one of the Debian packages above, so nothing comes
# from the package index and Debian's numpy/petsc4py/mpi4py stay.
bash "$here/tools/install-anodex.sh" "$venv/bin/python" -e
echo "$want" >"$stamp"
