"""Command line: anodex run [--restart] | check | info | materials [NAME] |
sweep expand|run|status|slurm|prewarm SWEEP | summarize RUNS_DIR."""
from __future__ import annotations

import argparse
import logging
import sys
import tomllib


def _overrides(pairs):
    """--set section.key=VALUE (VALUE parsed as TOML, else taken as a string)."""
    out = {}
    for item in pairs or []:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise SystemExit(f"anodex: --set expects section.key=VALUE, got '{item}'")
        try:
            out[key] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = value
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="anodex", description="Phase-field simulation of metal "
                                 "anode / solid electrolyte interfaces (FEniCSx).")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a case (no CASE: the embedded default case)")
    r.add_argument("case", nargs="?", help="case file (TOML, SI units)")
    r.add_argument("-o", "--output", help="output directory (default runs/<case name>)")
    r.add_argument("--overwrite", action="store_true", help="replace a non-empty output directory")
    r.add_argument("--restart", metavar="RUN_DIR", help="continue the run in RUN_DIR from its "
                   "last checkpoint (on any number of ranks; --set may extend time.end)")
    r.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                   help="override a case value, e.g. --set 'time.end=\"2 s\"'")
    c = sub.add_parser("check", help="validate a case file without running it")
    c.add_argument("case", nargs="?")
    c.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE")
    c.add_argument("--reference", action="store_true", help="print the case-file reference (Markdown)")
    sub.add_parser("info", help="versions of anodex and the FEniCSx/PETSc/MPI stack")
    m = sub.add_parser("materials", help="list the materials library, or show one entry "
                       "with its sources")
    m.add_argument("name", nargs="?", help="a metal (Li, Mg, ...) or an electrolyte (LLZO, ...)")
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
        if action == "run":
            a.add_argument("-j", "--jobs", type=int, default=1, help="cases at a time")
            a.add_argument("-n", "--ranks", type=int, default=1, help="MPI ranks per case")
            a.add_argument("--resume", action="store_true",
                           help="run only what is not DONE (continue interrupted cases)")
        if action == "slurm":
            a.add_argument("-n", "--ranks", type=int, default=1, help="MPI ranks per case")
            a.add_argument("--time", default="01:00:00", help="time limit per case")
            a.add_argument("--partition")
            a.add_argument("--max-parallel", type=int, help="at most this many tasks at once (%%M)")
            a.add_argument("--image", help="Apptainer image: run `apptainer exec IMAGE anodex`")
            a.add_argument("--local-scratch", default="${TMPDIR:-/tmp}",
                           help="node-local directory for each task's JIT cache")
            a.add_argument("--srun-args", default="", help="extra srun arguments, e.g. --mpi=pmix")
    su = sub.add_parser("summarize", help="gather final metrics and time series of the runs "
                        "in a directory into CSV files and plots")
    su.add_argument("runs_dir")
    args = ap.parse_args(argv)

    if args.cmd == "sweep":
        return _sweep(args)
    if args.cmd == "summarize":
        from postprocess.summarize import summarize
        for line in summarize(args.runs_dir):
            print(line)
        return 0
    if args.cmd == "materials":
        from . import materials
        try:
            print(materials.describe(args.name) if args.name else materials.listing())
        except materials.MaterialError as e:
            print(f"anodex: {e}", file=sys.stderr)
            return 2
        return 0

    from .case import CaseError, load_case, reference_markdown
    if args.cmd == "check":
        if args.reference:
            print(reference_markdown())
            return 0
        try:
            case = load_case(args.case, _overrides(args.set))
        except CaseError as e:
            print(f"anodex: {e}", file=sys.stderr)
            return 2
        for w in case.warnings:
            print(f"warning: {w}")
        print(f"{case.source}: OK ({case.si['case']['name']})")
        return 0
    if args.cmd == "info":
        from . import __version__, compat
        print(f"anodex {__version__}")
        for k, v in compat.versions().items():
            print(f"{k:12s} {v}")
        print(f"{'jit cache':12s} {compat.jit_cache_dir()}")
        return 0

    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    from pathlib import Path
    from .checkpoint import FILE as CHECKPOINT
    if args.restart:
        run_dir = Path(args.restart)
        problem = None
        if args.case or args.output or args.overwrite:
            problem = "--restart takes no CASE, -o or --overwrite (the run directory holds the case)"
        elif not (run_dir / "case.toml").is_file() or not (run_dir / CHECKPOINT).is_file():
            problem = (f"{run_dir}: not a run directory with a checkpoint "
                       f"(needs case.toml and {CHECKPOINT})")
        if problem:
            if comm.rank == 0:
                print(f"anodex: {problem}", file=sys.stderr)
            return 2
        args.case, args.output = run_dir / "case.toml", run_dir
    try:
        case = load_case(args.case, _overrides(args.set))
    except CaseError as e:  # identical on every rank: all exit cleanly
        if comm.rank == 0:
            print(f"anodex: {e}", file=sys.stderr)
        return 2
    logging.getLogger().setLevel(logging.WARNING)  # silence JIT build chatter
    from .checkpoint import CheckpointError
    from .output import OutputError
    from .run import run_case
    outdir = args.output or f"runs/{case.si['case']['name']}"
    try:
        result = run_case(case, outdir, overwrite=args.overwrite, comm=comm,
                          command_line=["anodex"] + (argv if argv is not None else sys.argv[1:]),
                          restart=bool(args.restart))
    except (OutputError, CheckpointError) as e:
        if comm.rank == 0:
            print(f"anodex: {e}", file=sys.stderr)
        return 2
    except Exception:
        if comm.size > 1:  # never leave the other ranks hanging
            import traceback
            traceback.print_exc()
            sys.stderr.flush()
            comm.Abort(1)
        raise
    return 0 if result["status"] in ("completed", "stopped") else 1


def _sweep(args):
    from .sweep import SweepError, expand, load_sweep
    try:
        sweep = load_sweep(args.sweep)
        if args.action == "expand":
            for line in expand(sweep):
                print(line)
        elif args.action == "run":
            from .sweep_run import run_sweep
            counts = run_sweep(sweep, args.jobs, args.ranks, args.resume)
            return 0 if counts["FAILED"] == 0 else 1
        elif args.action == "status":
            from .sweep_run import refresh
            for line in expand(sweep):
                print(line)
            for r in refresh(sweep.directory):
                print(f"{r['status']:8s} {r['id']}  {r['reason']}")
        elif args.action == "slurm":
            from .slurm import write_scripts
            for line in expand(sweep):
                print(line)
            paths = write_scripts(sweep, args.ranks, args.time, args.partition, args.max_parallel,
                                  args.image, args.local_scratch, args.srun_args)
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


if __name__ == "__main__":
    sys.exit(main())
