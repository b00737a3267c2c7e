"""``explorer warehouse build|query|info``: build the benchmark warehouse, query it read-only."""

from __future__ import annotations

import argparse
import json
import sys

from explorer.core.settings import get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("warehouse", help="build or query the benchmark warehouse (DuckDB)")
    sub = p.add_subparsers(dest="warehouse_command", metavar="ACTION", required=True)
    default_db = str(get_settings().warehouse_path)

    b = sub.add_parser("build", help="validate the benchmark files and (re)build the warehouse atomically")
    b.add_argument("--nb201-dir", help="folder with your own copy of the NAS-Bench-201 tables (.parquet or .csv; "
                   "default: the data this repository ships, or the nb201_dir setting)")
    b.add_argument("--no-nb201", action="store_true", help="leave NAS-Bench-201 out (NDS files only)")
    b.add_argument("--nds", nargs="+", default=[], metavar="PATH",
                   help="NDS files as released: data.zip (all its files; data.zip:DARTS,ResNet for some), "
                        "folders, .json or .json.gz files")
    b.add_argument("--db", default=default_db, help=f"warehouse file (default {default_db})")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.add_argument("--json", action="store_true", help="print the build report as JSON")
    b.set_defaults(handler=_build)

    q = sub.add_parser("query", help="run one read-only SQL statement")
    q.add_argument("sql", help='one SELECT statement, e.g. "SELECT count(*) FROM architectures"')
    q.add_argument("--db", default=default_db, help=f"warehouse file (default {default_db})")
    q.add_argument("--limit", type=int, default=1000, help="row limit (default 1000)")
    q.add_argument("--timeout", type=float, default=10.0, help="seconds before the query is stopped (default 10)")
    q.add_argument("--json", action="store_true", help="print rows as JSON")
    q.set_defaults(handler=_query)

    i = sub.add_parser("info", help="what a warehouse holds")
    i.add_argument("--db", default=default_db, help=f"warehouse file (default {default_db})")
    i.add_argument("--json", action="store_true")
    i.set_defaults(handler=_info)


def _build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from explorer.benchmarks.ensure import Inputs, build, default_inputs
    from explorer.core.errors import UserError

    if args.no_nb201 and args.nb201_dir:
        raise UserError("--no-nb201 and --nb201-dir contradict each other: give one")
    nds = [Path(p) for p in args.nds]
    if args.no_nb201:
        if not nds:
            raise UserError("nothing to build: --no-nb201 needs --nds files")
        inputs = Inputs(None, tuple(nds))
    else:
        inputs = default_inputs(args.nb201_dir or get_settings().nb201_dir, nds)
    report = build(Path(args.db), inputs, progress=not args.no_progress and not args.json)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        counts = ", ".join(f"{n:,} {t}" for t, n in report.counts.items())
        print(f"built {report.db} in {report.seconds:.1f} s: {counts}")
        if report.nds:
            s = report.nds
            print(f"NDS: {s['entries']:,} entries from {s['files']} file(s) ({s['cell']:,} cells, "
                  f"{s['network']:,} networks); {s['diverged']:,} diverged and {s['incomplete']:,} incomplete "
                  "runs stored (NULL where NaN / missing)")
            for kind, n in s["warnings"].items():
                print(f"  warning: {n:,} × {kind}, e.g. {'; '.join(s['examples'][kind][:2])}", file=sys.stderr)
    return 0


def _query(args: argparse.Namespace) -> int:
    from explorer.benchmarks.warehouse import Warehouse, to_json_records

    wh = Warehouse(args.db)
    try:
        res = wh.query(args.sql, row_limit=args.limit, timeout_s=args.timeout)
    finally:
        wh.close()
    if args.json:
        print(json.dumps({"columns": list(res.frame.columns), "rows": to_json_records(res.frame),
                          "truncated": res.truncated, "row_limit": res.row_limit}, indent=2))
    else:
        print(res.frame.to_string(index=False, max_colwidth=80) if len(res.frame.columns) else "(no columns)")
        if res.truncated:
            print(f"(first {res.row_limit} rows; raise --limit for more)", file=sys.stderr)
    return 0


def _info(args: argparse.Namespace) -> int:
    from explorer.benchmarks.warehouse import Warehouse, to_json_records

    wh = Warehouse(args.db)
    try:
        info = wh.info()
        sets = wh.result_sets()
    finally:
        wh.close()
    if args.json:
        print(json.dumps({**info, "result_sets": to_json_records(sets)}, indent=2))
    else:
        print(f"{info['path']} (schema {info['meta'].get('schema_version')}, built {info['meta'].get('built_at')})")
        print("  " + ", ".join(f"{n:,} {t}" for t, n in info["counts"].items()))
        print(sets.to_string(index=False))
    return 0
