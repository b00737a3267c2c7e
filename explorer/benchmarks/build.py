"""Build the warehouse: validate every input, compute each cell's metrics, write a new file atomically.

Inputs are NAS-Bench-201 tables (``ingest.read_nb201``) and NDS files (``nds_sources.nds_sources``
finds them in zips, folders, .json and .json.gz; ``nds.read_nds`` checks each; ``nds_tables`` makes
the rows); the rows go to ``db.warehouse.write_warehouse``. The meta table records what the build read and a
fingerprint of it (``explorer.benchmarks.ensure`` compares it to decide whether to rebuild).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from db.warehouse import SCHEMA_VERSION, TABLE_ORDER, write_warehouse
from explorer.benchmarks import ingest
from explorer.benchmarks.data.pack import sha256_of
from explorer.benchmarks.nds import NDSFile, read_nds, summary
from explorer.benchmarks.nds_sources import nds_sources, split_selector
from explorer.benchmarks.nds_tables import nds_tables
from explorer.core.errors import UserError

# Bump when what a build computes changes (metrics, conversions) without a schema change: a warehouse
# whose recorded fingerprint differs is rebuilt by ``explorer serve`` (explorer.benchmarks.ensure).
BUILD_VERSION = 3


@dataclass(frozen=True)
class BuildReport:
    db: Path
    counts: dict[str, int]
    nb201_files: list[str]
    nds_files: list[str]
    seconds: float
    nds: dict[str, Any] | None = None  # nds.summary: entries, diverged, incomplete, warnings

    def to_dict(self) -> dict[str, Any]:
        return {"db": str(self.db), "counts": self.counts, "nb201_files": self.nb201_files,
                "nds_files": self.nds_files, "nds": self.nds, "seconds": round(self.seconds, 2)}


def build_warehouse(db: str | Path, nb201_dir: str | Path | None = None, nds: Sequence[str | Path] = (),
                    *, progress: bool = False, nb201_label: str | None = None) -> BuildReport:
    """Validate every input, then write a new warehouse at ``db`` atomically.

    On any problem (``DataError``) or interruption the existing file at ``db`` is left untouched.
    The meta table records the inputs (``nb201_label`` instead of the folder's path when given, e.g.
    'shipped') and their fingerprint, so a later check can tell whether the file is current.
    """
    t0 = time.perf_counter()
    db = Path(db)
    if nb201_dir is None and not nds:
        raise UserError("nothing to build: give --nb201-dir and/or --nds files")
    problems = ingest.Problems()
    frames: dict[str, pd.DataFrame] = {}
    with tqdm(desc="validating", unit="file", disable=not progress, leave=False) as bar:
        if nb201_dir is not None:
            frames = ingest.read_nb201(Path(nb201_dir), problems, bar.update)
        problems.raise_if_any()
    sources = nds_sources(nds)  # a missing file or a space given twice stops here
    nds_files: list[NDSFile] = []
    for source in sources:
        # One bar per file: the release's largest files hold thousands of entries.
        with tqdm(desc=source.label.rsplit("/", 1)[-1], unit="entry", disable=not progress, leave=False) as bar:
            nds_files.append(read_nds(source, problems, bar.update))
    problems.raise_if_any()

    tables = ingest.Tables()
    n_cells = (ingest.NB201_CELLS if frames else 0) + sum(len(f.runs) for f in nds_files)
    with tqdm(total=n_cells, desc="computing metrics", unit="cell", disable=not progress) as bar:
        if frames:
            ingest.nb201_tables(frames, tables, bar.update)
        nds_tables(nds_files, tables, bar.update)
    nb201_paths = [ingest.nb201_file(Path(nb201_dir), name) for name in frames] if nb201_dir is not None else []
    nds_paths = list(dict.fromkeys(s.container for s in sources))
    for kind, paths in (("nb201", nb201_paths), ("nds", nds_paths)):
        for path in paths:
            tables.sources.append({"path": str(path), "kind": kind, "bytes": path.stat().st_size,
                                   "sha256": sha256_of(path)})
    inputs = {"fingerprint": fingerprint_of(tables.sources),
              "nb201_dir": nb201_label or ("" if nb201_dir is None else str(Path(nb201_dir).resolve())),
              "nds_files": json.dumps([_resolved(p) for p in nds])}

    meta = {"k0": str(ingest.DEFAULT_K0), "build_version": str(BUILD_VERSION), **inputs}
    if nds_files:
        meta["nds_summary"] = json.dumps(summary(nds_files))
    counts = write_warehouse(db, {name: getattr(tables, name) for name in TABLE_ORDER}, meta, progress=progress)
    return BuildReport(db, counts, list(frames), [str(p) for p in nds], time.perf_counter() - t0,
                       summary(nds_files) if nds_files else None)


def _resolved(spec: str | Path) -> str:
    """An --nds argument with its file part made absolute (a zip's member selector kept)."""
    path, wanted = split_selector(spec)
    return str(path.resolve()) + (":" + ",".join(wanted) if wanted else "")


def fingerprint_of(sources: Sequence[Mapping[str, Any]]) -> str:
    """What a build's result depends on: schema and build version, and each input's kind, name and content."""
    h = hashlib.sha256(f"schema {SCHEMA_VERSION} build {BUILD_VERSION}\n".encode())
    for s in sorted(sources, key=lambda s: (s["kind"], Path(s["path"]).name, s["sha256"])):
        h.update(f"{s['kind']} {Path(s['path']).name} {s['sha256']}\n".encode())
    return h.hexdigest()[:16]


def input_fingerprint(nb201_paths: Sequence[Path], nds: Sequence[Path]) -> str:
    """``fingerprint_of`` for files on disk (what a build from them now would record): NDS folders
    count by their files, a zip with a member selector by the zip."""
    nds_paths = list(dict.fromkeys(s.container for s in nds_sources(nds)))
    return fingerprint_of([{"kind": kind, "path": str(p), "sha256": sha256_of(p)}
                           for kind, paths in (("nb201", nb201_paths), ("nds", nds_paths)) for p in paths])
