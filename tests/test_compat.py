"""anodex/compat.py is the only module that knows dolfinx versions."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# version checks and the feature probes compat.py uses
VERSION_KNOWLEDGE = re.compile(
    r"dolfinx\.__version__|basix\.__version__|ffcx\.__version__|ufl\.__version__"
    r"|hasattr\((dolfinx|fem|mesh|u\.x|basix)\b|inspect\.signature\(")


def test_no_version_knowledge_outside_compat():
    offenders = []
    for path in sorted((ROOT / "anodex").rglob("*.py")) + sorted((ROOT / "postprocess").rglob("*.py")):
        if path.name == "compat.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if VERSION_KNOWLEDGE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "move into anodex/compat.py:\n" + "\n".join(offenders)


def test_compat_helpers_work_on_this_dolfinx():
    """The helpers the rest of the code relies on, on whatever dolfinx runs."""
    from mpi4py import MPI
    from anodex import compat
    mesh = compat.create_rectangle(MPI.COMM_WORLD, [[0.0, 0.0], [1.0, 1.0]], [4, 4])
    V = compat.p1_space(mesh, 3)
    Q, dofs = compat.collapse(V.sub(1))
    im = Q.dofmap.index_map
    assert dofs.ndim == 1 and dofs.size == im.size_local + im.num_ghosts
    assert (dofs % 3 == 1).all()
    assert compat.cell_dofs(Q).shape == (mesh.topology.index_map(2).size_local
                                         + mesh.topology.index_map(2).num_ghosts, 4)
    S = compat.p1_space(mesh)
    assert S.dofmap.index_map_bs == 1
    versions = compat.versions()
    for key in ("dolfinx", "basix", "ufl", "ffcx", "petsc", "petsc4py", "mpi4py", "mpi_library"):
        assert versions[key] and versions[key] != "unknown", key


def test_set_ups_leave_no_petsc_options_behind():
    """Each set-up's initial linear solve puts its options under a prefix of
    its own on dolfinx 0.5.2; left there, the tests of one worker filled
    PETSc 3.18's table of 512 options (error 55).  Measured before the fix:
    3 more options per set-up."""
    from petsc4py import PETSc

    from conftest import one_d_case
    from helpers import Simulation
    Simulation(one_d_case())
    before = len(PETSc.Options().getAll())
    for _ in range(3):
        Simulation(one_d_case())
    assert len(PETSc.Options().getAll()) == before
