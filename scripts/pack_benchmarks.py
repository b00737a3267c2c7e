#!/usr/bin/env python3
"""Re-make the shipped benchmark tables from a CSV release of them, and prove the copy exact.

    .venv/bin/python scripts/pack_benchmarks.py --source PATH/TO/nasbench201 \
        [--out explorer/benchmarks/data/nasbench201]

Every ``*.csv`` in the source folder becomes ``<name>.parquet`` (zstd) in the output folder; each
file is read back and compared with its CSV value by value (floats bit for bit) before it replaces
the old copy, and ``MANIFEST.json`` records rows, column types and the sha256 of both files.
``--check`` only verifies an existing pack against its manifest (and, with ``--source``, against the
CSVs). The provenance (``PROVENANCE.md``) is written by hand: update it when the source changes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from explorer.benchmarks.data import NB201_DIR  # noqa: E402
from explorer.benchmarks.data.pack import check, pack, verify  # noqa: E402
from explorer.core.errors import DataError  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, help="folder with the CSV tables")
    ap.add_argument(
        "--out", type=Path, default=NB201_DIR, help=f"output folder (default {NB201_DIR.relative_to(REPO)})"
    )
    ap.add_argument("--check", action="store_true", help="verify the existing pack instead of re-making it")
    args = ap.parse_args()
    try:
        if args.check:
            tables = check(args.out)
            if args.source:
                for t in tables:
                    verify(args.source / t.source, args.out / t.name)
            what = "checksums" + (" and every value against the CSVs" if args.source else "")
            print(f"{args.out}: {len(tables)} tables OK ({what})")
            return 0
        if not args.source:
            ap.error("--source is required (the folder of CSV tables to pack)")
        tables = pack(args.source, args.out)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    total_csv = sum(t.source_bytes for t in tables)
    total = sum(t.bytes for t in tables)
    for t in tables:
        print(f"{t.source:40s} {t.rows:>7,} rows  {t.source_bytes / 1e6:6.2f} MB → {t.bytes / 1e6:5.2f} MB  verified")
    print(f"{len(tables)} tables: {total_csv / 1e6:.1f} MB of CSV → {total / 1e6:.2f} MB of Parquet in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
