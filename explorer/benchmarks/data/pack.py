"""Pack benchmark CSV tables into compressed Parquet, and prove the copy is exact.

``pack`` reads every ``*.csv`` of a folder, writes ``<name>.parquet`` (zstd) beside a
``MANIFEST.json``, then reads each Parquet file back and compares it with the CSV value by value
(integers and text equal, floats equal bit for bit, missing where the CSV cell is empty). Any
difference raises ``DataError`` and nothing is kept. ``unpack`` writes the CSVs back from Parquet
(the tests corrupt such copies; users can get plain CSV this way).

Column types are inferred from the text alone, so the script knows nothing about NAS-Bench-201:
a column whose cells are all integers is int64, one whose cells are numbers or empty is float64,
anything else is a string.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from explorer.core.errors import DataError

MANIFEST_NAME = "MANIFEST.json"
ZSTD_LEVEL = 19  # read once per build, written once: the smallest file wins
_INT = re.compile(r"-?\d+")


@dataclass(frozen=True)
class PackedTable:
    name: str  # the Parquet file name
    source: str  # the CSV it was made from
    rows: int
    columns: dict[str, str]  # column → int64 | float64 | string
    source_sha256: str
    source_bytes: int
    sha256: str
    bytes: int


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_csv_typed(path: Path) -> tuple[list[str], dict[str, str], list[list[Any]]]:
    """Header, inferred column types and the columns' values (Python ints, floats, strs)."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            raise DataError(f"{path}: empty file (expected a header row)")
        raw: list[list[str]] = [[] for _ in header]
        for n, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise DataError(f"{path}:{n}: expected {len(header)} fields, found {len(row)}")
            for col, cell in zip(raw, row, strict=True):
                col.append(cell)
    types: dict[str, str] = {}
    values: list[list[Any]] = []
    for name, cells in zip(header, raw, strict=True):
        kind = _infer(cells)
        types[name] = kind
        values.append([_convert(kind, c) for c in cells])
    return header, types, values


def _infer(cells: list[str]) -> str:
    if cells and all(_INT.fullmatch(c) for c in cells):
        return "int64"
    try:
        for c in cells:
            if c != "":
                float(c)
    except ValueError:
        return "string"
    return "float64"


def _convert(kind: str, cell: str) -> Any:
    if kind == "int64":
        return int(cell)
    if kind == "float64":
        return math.nan if cell == "" else float(cell)
    return cell


_ARROW = {"int64": pa.int64(), "float64": pa.float64(), "string": pa.string()}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a.hex() == b.hex()
    return type(a) is type(b) and a == b


def verify(csv_path: Path, parquet_path: Path) -> int:
    """Compare a Parquet file with its CSV value by value; return the number of rows checked."""
    header, types, values = read_csv_typed(csv_path)
    table = pq.read_table(parquet_path)
    if table.column_names != header:
        raise DataError(f"{parquet_path}: columns {table.column_names} differ from {csv_path}'s {header}")
    for name, expected in zip(header, values, strict=True):
        column = table.column(name)
        if str(column.type) != {"string": "string", "int64": "int64", "float64": "double"}[types[name]]:
            raise DataError(f"{parquet_path}: column {name} has type {column.type}, expected {types[name]}")
        got = [math.nan if v is None and types[name] == "float64" else v for v in column.to_pylist()]
        if len(got) != len(expected):
            raise DataError(f"{parquet_path}: {len(got)} rows, {csv_path} has {len(expected)}")
        for r, (a, b) in enumerate(zip(expected, got, strict=True)):
            if not _same(a, b):
                raise DataError(f"{parquet_path}: row {r} column {name}: {b!r} differs from the CSV's {a!r}")
    return table.num_rows


def _write_parquet(csv_path: Path, out: Path) -> tuple[int, dict[str, str]]:
    header, types, values = read_csv_typed(csv_path)
    arrays = [pa.array(v, type=_ARROW[types[n]], from_pandas=False) for n, v in zip(header, values, strict=True)]
    table = pa.Table.from_arrays(arrays, names=header)
    pq.write_table(table, out, compression="zstd", compression_level=ZSTD_LEVEL,
                   use_dictionary=[n for n in header if types[n] == "string"], write_statistics=False)
    return table.num_rows, types


def pack(source: Path, out_dir: Path) -> list[PackedTable]:
    """Pack every CSV of ``source`` into ``out_dir`` (replacing its Parquet files and manifest).

    Written to a temporary folder first and verified there, so a failed check leaves ``out_dir`` as it was."""
    csvs = sorted(source.glob("*.csv"))
    if not csvs:
        raise DataError(f"{source}: no .csv files to pack")
    out_dir.mkdir(parents=True, exist_ok=True)
    tables: list[PackedTable] = []
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        for csv_path in csvs:
            target = Path(tmp) / (csv_path.stem + ".parquet")
            rows, types = _write_parquet(csv_path, target)
            verify(csv_path, target)
            tables.append(PackedTable(target.name, csv_path.name, rows, types, sha256_of(csv_path),
                                      csv_path.stat().st_size, sha256_of(target), target.stat().st_size))
        for old in out_dir.glob("*.parquet"):
            old.unlink()
        for t in tables:
            os.replace(Path(tmp) / t.name, out_dir / t.name)
    write_manifest(out_dir, tables)
    return tables


def write_manifest(out_dir: Path, tables: list[PackedTable]) -> None:
    doc = {"format": "architecture-explorer/benchmark-pack", "version": 1,
           "verified": "every value of every table equals its source CSV (floats bit for bit)",
           "tables": [t.__dict__ for t in tables]}
    (out_dir / MANIFEST_NAME).write_text(json.dumps(doc, indent=2) + "\n")


def read_manifest(directory: Path) -> list[PackedTable]:
    path = directory / MANIFEST_NAME
    try:
        doc = json.loads(path.read_text())
        return [PackedTable(**t) for t in doc["tables"]]
    except FileNotFoundError:
        raise DataError(f"{path}: no manifest (the packed benchmark data is incomplete)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a benchmark-pack manifest ({exc})") from None


def check(directory: Path) -> list[PackedTable]:
    """Every file the manifest lists is present and unchanged (sha256)."""
    tables = read_manifest(directory)
    for t in tables:
        path = directory / t.name
        if not path.exists():
            raise DataError(f"{path}: missing (listed in {MANIFEST_NAME})")
        if sha256_of(path) != t.sha256:
            raise DataError(f"{path}: changed since it was packed (sha256 differs from {MANIFEST_NAME})")
    return tables


def unpack(directory: Path, out_dir: Path) -> list[Path]:
    """Write each packed table back as the CSV it came from (same name, header and values)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for t in read_manifest(directory):
        table = pq.read_table(directory / t.name)
        target = out_dir / t.source
        with target.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(table.column_names)
            cols = [c.to_pylist() for c in table.columns]
            for row in zip(*cols, strict=True):
                w.writerow(["" if v is None or (isinstance(v, float) and math.isnan(v)) else
                            (repr(v) if isinstance(v, float) else v) for v in row])
        written.append(target)
    return written
