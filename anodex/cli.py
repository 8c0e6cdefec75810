"""Command line: anodex run [--restart] | check | info | materials [NAME] |
sweep expand|run|status|slurm|prewarm SWEEP | summarize RUNS_DIR."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tomllib
from pathlib import Path


def _positive(text):
    """argparse type: a whole number >= 1."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return n


def _overrides(pairs):
    """--set section.key=VALUE (VALUE parsed as TOML, else taken as a string)."""
    from .case import SET_KEY, CaseError, short
    out = {}
    for item in pairs or []:
        key, sep, value = item.partition("=")
        if not sep or not SET_KEY.fullmatch(key.strip()):
            raise CaseError(f"--set {short(item)}: expected SECTION.KEY=VALUE, e.g. "
                            "--set 'time.end=\"2 s\"' (keys: anodex check --reference)")
        try:
            out[key.strip()] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = value
    return out


def _parser():
    ap = argparse.ArgumentParser(prog="anodex", description="Phase-field simulation of metal "
                                 "anode / solid electrolyte interfaces (FEniCSx).")
    from . import __version__
    ap.add_argument("--version", action="version", version=f"anodex {__version__}")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a case (no CASE: the embedded default case)")
    r.add_argument("case", nargs="?", help="case file (TOML, SI units)")
    r.add_argument("-o", "--output", help="output directory (default runs/<case name>)")
    level = r.add_mutually_exclusive_group()
    level.add_argument("-q", "--quiet", action="store_true", help="print warnings and errors "
                       "only (run.log keeps every line)")
    level.add_argument("-v", "--verbose", action="store_true", help="print every line, "
                       "rejected steps too (as run.log)")
    r.add_argument("--progress", choices=("auto", "line", "lines"), default="auto",
                   help="line: one progress line refreshed in place (use it under mpirun on "
                   "a terminal, whose output reaches you through a pipe); lines: a line every "
                   "10 s; auto (default): line when stderr is a terminal")
    r.add_argument("--overwrite", action="store_true", help="replace the anodex run in a "
                   "non-empty output directory (only anodex's own files; see README)")
    r.add_argument("--restart", metavar="RUN_DIR", help="continue the run in RUN_DIR from its "
                   "last checkpoint (on any number of ranks; --set may extend time.end)")
    r.add_argument("--rerun", metavar="RUN_DIR", help="start the run in RUN_DIR again from "
                   "the beginning, from its own case.toml (replaces that run's files)")
    r.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                   help="override a case value, e.g. --set 'time.end=\"2 s\"'")
    r.add_argument("--ignore-memory-limit", action="store_true", help="run even if the "
                   "estimated memory exceeds what this machine has (e.g. across cluster nodes)")
    c = sub.add_parser("check", help="validate a case file without running it")
    c.add_argument("case", nargs="?")
    c.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE")
    c.add_argument("-n", "--ranks", type=_positive, default=1, help="MPI ranks the memory estimate "
                   "is for")
    c.add_argument("--ignore-memory-limit", action="store_true")
    c.add_argument("--reference", action="store_true", help="print the case-file reference (Markdown)")
    sub.add_parser("info", help="versions of anodex and the FEniCSx/PETSc/MPI stack")
    m = sub.add_parser("materials", help="list the materials library, or show one entry "
                       "with its sources")
    m.add_argument("name", nargs="?", help="a metal (Li, Mg, ...) or an electrolyte (LLZO, ...)")
    _sweep_parser(sub)
    me = sub.add_parser("mesh", help="make the Gmsh meshes (.msh) of .geo sources (default: "
                        "all of meshes/)")
    me.add_argument("geo", nargs="*", help=".geo files")
    su = sub.add_parser("summarize", help="gather final metrics and time series of the runs "
                        "in a directory into CSV files and plots")
    su.add_argument("runs_dir")
    return ap


def _sweep_parser(sub):
    from . import MAX_CASES
    sw = sub.add_parser("sweep", help="parameter sweeps: expand, run (J cases at a time), "
                        "status, SLURM job-array scripts")
    ssub = sw.add_subparsers(dest="action", required=True)
    for action, text in (("expand", "write <runs_dir>/<name>/<id>/case.toml and manifest.csv"),
                         ("run", "run the cases, each as its own MPI job"),
                         ("status", "refresh and print the manifest"),
                         ("slurm", "write SLURM job-array scripts"),
                         ("prewarm", "compile the forms every case needs into the JIT cache")):
        a = ssub.add_parser(action, help=text)
        a.add_argument("sweep", help="sweep file (TOML)")
        a.add_argument("--max-cases", type=_positive, default=MAX_CASES,
                       help=f"refuse a sweep of more cases (default {MAX_CASES})")
        if action == "expand":
            a.add_argument("--strict", action="store_true",
                           help="refuse a varied key that has no effect on a case (default: warn)")
        if action in ("run", "slurm"):
            a.add_argument("-n", "--ranks", type=_positive, default=1, help="MPI ranks per case")
        if action == "run":
            a.add_argument("-j", "--jobs", type=_positive, default=1, help="cases at a time")
            a.add_argument("--resume", action="store_true",
                           help="run only what is not DONE (continue interrupted cases)")
        if action == "slurm":
            a.add_argument("--site", metavar="FILE", help="a site file (TOML) with the "
                           "cluster's settings: time, partition, account, qos, gres, "
                           "mem_per_cpu, sbatch, setup, image, local_scratch, srun_args, binds "
                           "(the options below override it)")
            a.add_argument("--time", help="time limit per case (H:M:S, D-H:M:S or minutes; "
                           "default 01:00:00)")
            a.add_argument("--partition")
            a.add_argument("--account")
            a.add_argument("--qos")
            a.add_argument("--gres", help="generic resources, e.g. gpu:1")
            a.add_argument("--mem-per-cpu", help="e.g. 4G (default: the largest case's memory "
                           "estimate per rank, times 1.5)")
            a.add_argument("--sbatch", action="append", default=[], metavar="OPTION",
                           help="a further #SBATCH option, written --sbatch=--constraint=skylake "
                           "(repeatable)")
            a.add_argument("--setup", action="append", default=[], metavar="LINE",
                           help="a shell line that sets up the environment before anodex runs, "
                           "e.g. 'module load openmpi' or 'source ~/venv/bin/activate' "
                           "(repeatable)")
            a.add_argument("--max-parallel", type=_positive, help="at most this many tasks at once (%%M)")
            a.add_argument("--image", help="Apptainer image: run `apptainer exec IMAGE anodex`")
            a.add_argument("--bind", action="append", default=[], metavar="DIR",
                           help="a further directory the image must see, e.g. scratch "
                           "(repeatable; the sweep's and its mesh files' are bound anyway)")
            a.add_argument("--local-scratch", help="node-local directory for each task's JIT "
                           "cache (default ${TMPDIR:-/tmp})")
            a.add_argument("--srun-args", help="extra srun arguments, e.g. --mpi=pmix")


def main(argv=None):
    # (--version and --help answer before the physics loads: they work where
    # the FEniCSx stack is broken)
    args = _parser().parse_args(argv)
    if args.cmd in ("info", "materials"):  # (no physics: they work on a broken stack)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        return {"info": _info, "materials": _materials}[args.cmd](args)
    from .blocks import BlockError, load
    try:
        load()  # every block module and entry point, before anything reads a case
    except BlockError as e:  # (the ranks agree on it: blocks.load)
        mpi = sys.modules.get("mpi4py.MPI")
        if mpi is None or not mpi.Is_initialized() or mpi.COMM_WORLD.rank == 0:
            print(f"anodex: {e}", file=sys.stderr)
        return 2
    commands = {"sweep": _sweep, "summarize": _summarize, "check": _check, "mesh": _mesh}
    if args.cmd in commands:
        # a reader that closes the pipe early (`anodex materials | head`) ends
        # the listing quietly, as for any Unix tool; PETSc's handler, which
        # importing the blocks installed, printed an error and MPI_ABORT
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        return commands[args.cmd](args)
    return _run(args, argv)


def _mesh(args):
    from .meshes import MeshingError, generate, sources
    try:
        geos = sources(args.geo)
        if not geos:
            raise MeshingError("no .geo files given, and no meshes/ directory beside the "
                               "installed code: name the .geo files to mesh")
        for geo in geos:
            print(f"{geo} -> {generate(geo)}")
    except MeshingError as e:
        print(f"anodex: {e}", file=sys.stderr)
        return 2
    return 0


def postprocess_module(name):
    """The module postprocess/<name>.py: anodex.postprocess.<name> once
    installed, the checkout's top-level postprocess.<name> in a checkout."""
    import importlib
    try:
        return importlib.import_module(f"{__package__}.postprocess.{name}")
    except ModuleNotFoundError as e:
        if e.name not in (f"{__package__}.postprocess", f"{__package__}.postprocess.{name}"):
            raise
        return importlib.import_module(f"postprocess.{name}")


def _summarize(args):
    from pathlib import Path
    if not Path(args.runs_dir).is_dir():
        print(f"anodex: {args.runs_dir[:200]}: not a directory of runs (e.g. runs/<sweep "
              "name>)", file=sys.stderr)
        return 2
    # (matplotlib: only when needed)
    for line in postprocess_module("summarize").summarize(args.runs_dir):
        print(line)
    return 0


def _materials(args):
    from . import materials
    try:
        print(materials.describe(args.name) if args.name else materials.listing())
    except materials.MaterialError as e:
        print(f"anodex: {e}", file=sys.stderr)
        return 2
    return 0


def _check(args):
    from .case import CaseError, load_case, reference_markdown
    if args.reference:
        print(reference_markdown())
        return 0
    try:
        case = load_case(args.case, _overrides(args.set))
        need = _preflight(case, args.ranks, args.ignore_memory_limit)
    except CaseError as e:
        print(f"anodex: {e}", file=sys.stderr)
        return 2
    from .blocks import Note
    for warning in case.warnings:
        print(f"{'note' if isinstance(warning, Note) else 'warning'}: {warning}")
    from .memory import gib
    print(f"{case.source}: OK ({case.si['case']['name']}; about {gib(need)} of memory "
          f"on {args.ranks} rank(s))")
    return 0


def _info(args):
    """The versions, or which part of the stack cannot be imported and why
    (exit 1): the command to run when nothing else works."""
    from . import __version__
    print(f"anodex {__version__}")
    try:
        from . import compat
        stack = compat.versions()
    except Exception as e:  # (ImportError, or a binary mismatch raised as another error)
        import importlib
        for name in ("numpy", "mpi4py", "petsc4py", "ufl", "basix", "ffcx", "dolfinx"):
            try:
                module = importlib.import_module(name)
                print(f"{name:12s} {getattr(module, '__version__', 'unknown')}")
            except Exception as why:
                print(f"{name:12s} cannot be imported: {type(why).__name__}: {why}")
        print(f"anodex: the FEniCSx stack does not load ({type(e).__name__}: {e}); "
              "see the README's installation section", file=sys.stderr)
        return 1
    for k, v in stack.items():
        print(f"{k:12s} {v}")
    print(f"{'jit cache':12s} {compat.jit_cache_dir()}")
    return 0


def _warnings_only(record) -> bool:
    return record.levelno >= logging.WARNING


def _run(args, argv):
    from mpi4py import MPI

    from .case import CaseError
    comm = MPI.COMM_WORLD
    try:
        case, outdir = _prepare_run(args, comm)
    except (CaseError, OSError) as e:  # identical on every rank: all exit cleanly
        if comm.rank == 0:
            print(f"anodex: {_oserror(e) if isinstance(e, OSError) else e}", file=sys.stderr)
        return 2
    # silence JIT build chatter (setuptools sets the root logger to INFO when
    # it first compiles, so a filter rather than a level)
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger().addFilter(_warnings_only)  # (the same object: added once per process)
    from petsc4py import PETSc

    from .checkpoint import CheckpointError
    from .output import OutputError
    from . import output
    from .simulation import describe, run_case
    from .signals import SIGNAL_REASONS, Terminated, interrupted, terminate_on_signals
    if args.progress != "auto":
        output.CONSOLE_IS_TERMINAL = args.progress == "line"
    output.CONSOLE_LEVEL = (logging.WARNING if args.quiet else logging.DEBUG if args.verbose
                            else logging.INFO)
    terminate_on_signals(comm.size)
    try:
        result = run_case(case, outdir, overwrite=args.overwrite, comm=comm,
                          command_line=["anodex"] + (argv if argv is not None else sys.argv[1:]),
                          restart=bool(args.restart))
    except (OutputError, CheckpointError) as e:
        if comm.rank == 0:
            print(f"anodex: {e}", file=sys.stderr)
        return 2
    except Terminated as e:  # (on several ranks: every rank, together)
        if interrupted() or str(e) == SIGNAL_REASONS[signal.SIGINT]:
            return _interrupted(comm, outdir)
        if comm.rank == 0:
            print(f"anodex: run ended: {e}; {outdir}/status.json records it; `anodex run "
                  f"--restart {outdir}` continues from its checkpoint", file=sys.stderr)
        return 1
    except (PETSc.Error, KeyboardInterrupt) as e:
        if interrupted() or isinstance(e, KeyboardInterrupt):
            return _interrupted(comm, outdir)
        if comm.rank == 0:
            print(f"anodex: run failed: {describe(e)}; {outdir}/status.json records it",
                  file=sys.stderr)
        _abort_others(comm)
        return 1
    except Exception:
        if comm.size > 1:
            import traceback
            traceback.print_exc()
        _abort_others(comm)
        raise
    if interrupted():  # (the signal surfaced as failed solves: the run gave up)
        return _interrupted(comm, outdir)
    return 0 if result["status"] in ("completed", "stopped") else 1


def _interrupted(comm, outdir) -> int:
    """Ctrl-C: one line, exit status 130 (every rank got the signal)."""
    if comm.rank == 0:
        from . import CHECKPOINT_FILE
        resume = (f"; `anodex run --restart {outdir}` continues from its last checkpoint"
                  if (Path(outdir) / CHECKPOINT_FILE).exists() else "")
        print(f"anodex: interrupted (Ctrl-C); {outdir}/status.json records it{resume}",
              file=sys.stderr)
    return 130


def _abort_others(comm):
    """Never leave the other ranks hanging (they may be inside a collective call)."""
    if comm.size > 1:
        sys.stderr.flush()
        comm.Abort(1)


def _oserror(e: OSError) -> str:
    from .case import short
    return f"{short(str(e.filename or ''), 200)}: {e.strerror or type(e).__name__}"


def _preflight(case, ranks, ignore_memory_limit, names=None) -> int:
    """Checks that need more than the case file: memory against this machine,
    PETSc options against this PETSc.  Returns the estimated bytes."""
    from . import memory, petsc_options, rundir
    from .case import CaseError
    flag = (names or rundir.COMMAND_LINE)["ignore_memory_limit"]
    problem = memory.check(case, ranks, ignore_memory_limit, flag)
    if problem:
        raise CaseError(problem)
    bad = petsc_options.problems(case.si["solver"]["petsc_options"])
    if bad:
        raise CaseError(f"{case.source}: invalid case file:\n  - " + "\n  - ".join(bad))
    return memory.estimate(case, ranks)


def _on_rank0(comm, check):
    """Run a file-system check on rank 0; every rank raises its CaseError alike."""
    from .case import CaseError
    from .checkpoint import CheckpointError
    from .rundir import OutputDirError
    error = None
    if comm.rank == 0:
        try:
            check()
        except (CaseError, OutputDirError, CheckpointError) as e:
            error = str(e)
    error = comm.bcast(error, root=0)
    if error:
        raise CaseError(error)


def _prepare_run(args, comm):
    """Everything checked before a run touches the disk: the case, --set, the
    output or run directory, the checkpoint, memory and PETSc options.
    Returns (case, output directory)."""
    from pathlib import Path

    from . import checkpoint, rundir
    from .case import CaseError, load_case, name_too_long, short
    given = [flag for flag, on in (("CASE", args.case), ("-o", args.output is not None),
                                   ("--overwrite", args.overwrite)) if on]
    if args.restart and args.rerun:
        raise CaseError("--restart and --rerun exclude each other")
    which = "--restart" if args.restart else "--rerun" if args.rerun else None
    if which and given:
        raise CaseError(f"{which} takes no {', '.join(given)} (the run directory holds the "
                        "case)")
    overrides = _overrides(args.set)

    if which:
        run_dir = Path(args.restart or args.rerun)
        if name_too_long(run_dir):
            raise CaseError(f"{short(str(run_dir), 200)}: File name too long (a name in the path "
                            "is longer than 255 bytes)")
        needs = ["case.toml"] + ([checkpoint.FILE] if args.restart else [])
        if not all((run_dir / f).is_file() for f in needs):
            raise CaseError(f"{short(str(run_dir), 200)}: not a run directory"
                            f"{' with a checkpoint' * bool(args.restart)}"
                            f" (needs {' and '.join(needs)})")
        _on_rank0(comm, lambda: rundir.refuse_if_running(run_dir, which))
        case = load_case(run_dir / "case.toml", overrides, rederive=True)
        _preflight(case, comm.size, args.ignore_memory_limit)
        if args.restart:
            _on_rank0(comm, lambda: checkpoint.check(run_dir, case))
            try:
                checkpoint.check_parts(run_dir, case, comm)
            except checkpoint.CheckpointError as e:
                raise CaseError(str(e)) from None
            _on_rank0(comm, lambda: rundir.claim(run_dir, which))  # (until the run ends)
        else:
            _on_rank0(comm, lambda: rundir.clear(rundir.rerun_plan(run_dir, hold=True)))
        return case, run_dir
    case = load_case(args.case, overrides)
    outdir = args.output if args.output is not None else f"runs/{case.si['case']['name']}"
    check_new_run(case, outdir, args.overwrite, comm, args.ignore_memory_limit)
    return case, outdir


def check_new_run(case, outdir, overwrite, comm, ignore_memory_limit=False, ranks=None,
                  names=None):
    """Before a new run of a valid case touches the disk: memory (for
    `ranks`, default comm's), PETSc options and the output directory
    (CaseError on every rank alike, naming the options as `names` does:
    rundir.COMMAND_LINE or rundir.PYTHON)."""
    from . import rundir
    names = names or rundir.COMMAND_LINE
    _preflight(case, ranks or comm.size, ignore_memory_limit, names)
    _on_rank0(comm, lambda: rundir.plan(outdir, overwrite, case.source, names))


def _site_options(args, from_file: dict) -> dict:
    """The Site fields: the site file's, then the command line's (options
    given override; repeatable ones add to the file's lists)."""
    given = {"time_limit": args.time, "partition": args.partition, "account": args.account,
             "qos": args.qos, "gres": args.gres, "mem_per_cpu": args.mem_per_cpu,
             "image": args.image, "local_scratch": args.local_scratch,
             "srun_args": args.srun_args}
    out = {**from_file, **{k: v for k, v in given.items() if v is not None}}
    for key, extra in (("sbatch", args.sbatch), ("setup", args.setup), ("binds", args.bind)):
        out[key] = [*from_file.get(key, []), *extra]
    return out


def _sweep(args):
    from .sweep import SweepError, expand, load_sweep
    try:
        sweep = load_sweep(args.sweep, args.max_cases)
        if args.action == "expand":
            for line in expand(sweep, args.strict):
                print(line)
        elif args.action == "run":
            from .sweep_run import run_sweep
            counts = run_sweep(sweep, args.jobs, args.ranks, args.resume)
            return 0 if counts["FAILED"] == 0 else 1
        elif args.action == "status":
            from .sweep import MANIFEST
            from .sweep_run import refresh
            if not (sweep.directory / MANIFEST).exists():  # (not expanded yet)
                for line in expand(sweep):
                    print(line)
            for r in refresh(sweep.directory):
                print(f"{r['status']:8s} {r['id']}  {r['reason']}")
        elif args.action == "slurm":
            from .slurm import Site, SlurmError, read_site_file, write_scripts
            try:
                site = Site(**_site_options(args, read_site_file(args.site) if args.site else {}))
                site.check()
            except SlurmError as e:
                print(f"anodex: {e}", file=sys.stderr)
                return 2
            for line in expand(sweep):
                print(line)
            paths = write_scripts(sweep, args.ranks, site, args.max_parallel)
            for p in paths.values():
                print(f"wrote {p}")
            print(f"submit with: bash {paths['submit.sh']}")
        elif args.action == "prewarm":
            from .slurm import prewarm
            prewarm(sweep)
    except SweepError as e:
        print(f"anodex: {e}", file=sys.stderr)
        return 2
    return 0


def console():
    """The `anodex` command (also `python -m anodex.cli`)."""
    code = main()
    mpi = sys.modules.get("mpi4py.MPI")
    if code and mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized():
        # Every rank returns the same code here (the checks are collective).
        # Under `python -m mpi4py` a non-zero SystemExit becomes MPI_Abort, with
        # its noise and whichever rank's code comes first; end MPI cleanly instead.
        sys.stdout.flush()
        sys.stderr.flush()
        mpi.Finalize()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    console()
