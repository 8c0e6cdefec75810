#!/usr/bin/env bash
# Install anodex into an environment that already has the FEniCSx stack
# (dolfinx, petsc4py, mpi4py, numpy): Debian's packages in a venv
# (tools/setup.sh), the official dolfinx Docker image (Dockerfile), conda.
#
#   tools/install-anodex.sh PYTHON [PIP-ARGS...]     e.g. .venv/bin/python -e
#
# Of anodex's own dependencies only those the environment lacks are
# installed, by name; anodex itself goes in with --no-deps, so pip never
# replaces the stack's numpy/petsc4py/mpi4py (ABI-bound to dolfinx).  Ends
# with `anodex info` as a smoke check.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${1:?usage: tools/install-anodex.sh PYTHON [PIP-ARGS...]}"
shift
missing="$("$py" - <<'PY'
import importlib.util
need = {"meshio": "meshio", "matplotlib": "matplotlib", "pandas": "pandas",
        "pytest": "pytest", "xdist": "pytest-xdist",
        "setuptools": "setuptools>=61"}
print(" ".join(pip for mod, pip in need.items() if importlib.util.find_spec(mod) is None))
PY
)"
if [ -n "$missing" ]; then
  echo "[install] from the package index: $missing"
  "$py" -m pip install -q $missing
fi
"$py" -m pip install -q --no-build-isolation --no-deps "$@" "$here"
"$py" -m anodex.cli info
