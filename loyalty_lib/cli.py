"""The ``loyalty`` command line: it parses arguments and calls the library, nothing more."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from loyalty_lib.synth.scenario import SCENARIOS


def _generate(args: argparse.Namespace) -> int:
    from loyalty_lib import io, outdir, synth

    if args.force:
        try:
            outdir.check_regenerable(args.out)
        except outdir.OutputFolderError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    t0 = time.perf_counter()
    ds = synth.generate(args.scenario, n_customers=args.customers, seed=args.seed, progress=not args.quiet)
    io.save(ds, args.out, fmt=args.format, force=args.force)
    n_tx = len(ds.transactions)
    print(
        f"wrote {args.scenario} (seed {args.seed}): {len(ds.customers):,} customers, "
        f"{n_tx:,} transactions to {args.out} as {args.format} in {time.perf_counter() - t0:.1f} s"
    )
    return 0


def _validate(args: argparse.Namespace) -> int:
    from loyalty_lib import io, outdir, validation

    try:
        if args.quarantine:  # before anything is read: the data folder is never written to
            outdir.refuse_data_overlap(args.quarantine, [args.dir], what="--quarantine")
            outdir.check_replaceable(args.quarantine, force=True, what="--quarantine", kind="quarantine")
        tables, report = io.check_folder(args.dir, mapping=args.mapping)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if report.ok:
        sizes = ", ".join(f"{n} {len(t):,}" for n, t in tables.items())
        print(f"{args.dir}: all contract rules pass ({sizes})")
        if not report.warnings.empty:
            print(report.warning_message(), file=sys.stderr)
        return 0
    print(report.message(), file=sys.stderr)
    if args.quarantine:
        out = Path(args.quarantine)
        clean, _ = validation.quarantine(tables, report, out_dir=out)
        counts = validation.set_aside_counts(tables, clean)
        n = int(counts["rows_set_aside"].sum())
        print(f"quarantined {n:,} row(s) into {out}; {validation.set_aside_message(counts)}", file=sys.stderr)
    return 1


def _study(args: argparse.Namespace) -> int:
    import tempfile

    from loyalty_lib import io, report, validation
    from loyalty_lib.params import check_params
    from loyalty_lib.study import Study, format_study, merge_parameters

    try:
        common, per_notebook = report.read_params(args.params)
        check_params(common, per_notebook, report.find_notebooks())
        params, notes = merge_parameters(common, per_notebook)
        with tempfile.TemporaryDirectory() as qdir:  # rows that break the contract are counted, not kept
            ds = io.load(args.dir, mapping=args.mapping, on_error="quarantine", quarantine_dir=qdir)
        study = Study.from_data(ds, params)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"Study derived from {args.dir}" + (f" with the parameters in {args.params}" if args.params else ""))
    for note in notes:
        print(f"  parameters: {note}")
    if ds.set_aside is not None and len(ds.set_aside):
        n = int(ds.set_aside["rows_set_aside"].sum())
        print(
            f"  {n:,} row(s) break the data contract and are left out here (see: loyalty validate {args.dir}); "
            + validation.set_aside_message(ds.set_aside)
        )
    print()
    print(format_study(study))
    return 0


def _report(args: argparse.Namespace) -> int:
    from loyalty_lib import report

    return report.run_from_cli(args)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``loyalty`` command."""
    ap = argparse.ArgumentParser(prog="loyalty", description="Loyalty-program analytics suite.")
    sub = ap.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write synthetic data (the Sergey case) to a folder")
    g.add_argument("--out", required=True, type=Path, help="target folder")
    g.add_argument("--customers", type=int, default=25_000, help="number of customers (default 25000)")
    g.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    g.add_argument(
        "--scenario",
        default="sergey_branch",
        choices=list(SCENARIOS),
        metavar="NAME",
        help=f"scenario: {', '.join(SCENARIOS)} (default sergey_branch)",
    )
    g.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    g.add_argument("--force", action="store_true", help="overwrite earlier generated data (never exports)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=_generate)

    v = sub.add_parser("validate", help="check a data folder against the data contract")
    v.add_argument("dir", type=Path, help="folder of <table>.csv / <table>.parquet files")
    v.add_argument("--mapping", type=Path, help="column-mapping YAML for own exports")
    v.add_argument(
        "--quarantine",
        type=Path,
        help="write rows that break rules to this folder (outside the data folder; a new folder "
        "or an earlier quarantine, whose files alone are replaced)",
    )
    v.set_defaults(func=_validate)

    st = sub.add_parser(
        "study",
        help="show what the suite derives from a data folder and which analyses it supports",
        description="Derive the study from the data and the parameters (observation window, program "
        "launch or 'older than the data', currency, tiers, who is observed when, CLV split, horizons) "
        "and list which analyses the data support, with the reason for those they do not. "
        "Exit status: 0 shown, 2 unreadable folder or bad parameters.",
    )
    st.add_argument("dir", type=Path, help="folder of <table>.csv / <table>.parquet files")
    st.add_argument("--mapping", type=Path, help="column-mapping YAML for own exports")
    st.add_argument("--params", type=Path, help="YAML of parameters, as for loyalty report")
    st.set_defaults(func=_study)

    r = sub.add_parser(
        "report",
        help="run every stage notebook and write the HTML report",
        description="Check the data, run every stage notebook (NN_*.ipynb) with papermill and "
        "write one HTML page per stage (a manager's page without code and an analyst's page "
        "with code) plus index.html with the KPI scorecard. The report is built beside the "
        "report folder and swapped in whole; the folder is locked while a run writes it. "
        "Exit status: 0 all stages ran, 1 broken data or a stage failed (named on stderr), "
        "2 bad arguments or parameters (nothing written), 130/143 stopped by Ctrl-C/SIGTERM "
        "(the folder left as it was).",
    )
    r.add_argument("--data", type=Path, help="data folder (default: the committed teaching sample)")
    r.add_argument("--out", type=Path, help="report folder (default: new outputs/runs/YYYYmmdd-HHMMSS)")
    r.add_argument("--params", type=Path, help="YAML of notebook parameters (see docs/own_data.md)")
    r.add_argument("--mapping", type=Path, help="column-mapping YAML for own exports")
    r.add_argument("--jobs", type=int, default=2, help="notebooks run at once (default 2)")
    r.add_argument(
        "--force",
        action="store_true",
        help="replace the earlier report in --out (only the files its manifest lists are removed)",
    )
    r.add_argument(
        "--quarantine",
        action="store_true",
        help="set rows that break the data contract aside (into <out>/quarantine) and go on",
    )
    r.add_argument("--notebooks", type=Path, help="folder of stage notebooks (default: the suite's notebooks/)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=_report)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``loyalty`` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
