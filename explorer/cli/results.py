"""``explorer results export``: write finished ``train`` runs to the Parquet results set."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("results", help="your train runs as a Parquet results set (shown on the browse page)")
    sub = p.add_subparsers(dest="results_command", metavar="ACTION", required=True)
    e = sub.add_parser("export", help="write every succeeded train job to the results set (the worker does this "
                                      "after each train job)")
    e.add_argument("--out", help="Parquet file (default <EXPLORER_DATA_DIR>/results/train_runs.parquet)")
    e.add_argument("--json", action="store_true", help="print the file and row count as JSON")
    e.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from explorer.jobs.queue import open_store
    from explorer.jobs.user_results import export_train_results, results_path

    out = args.out or results_path()
    store = open_store()
    try:
        frame = export_train_results(store, out)
    finally:
        store.close()
    if args.json:
        print(json.dumps({"path": str(out), "rows": len(frame), "job_ids": [int(i) for i in frame["job_id"]]}))
    else:
        print(f"wrote {len(frame)} train run{'s' * (len(frame) != 1)} to {out}")
    return 0
