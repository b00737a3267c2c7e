"""The benchmark data this repository ships: NAS-Bench-201 tables as compressed Parquet.

``nasbench201/`` holds the eight tables (see its ``PROVENANCE.md`` for sources, commits and
licences; ``MANIFEST.json`` for rows, columns and checksums). They were made from the CSV release by
``scripts/pack_benchmarks.py``, which proves every value equal to its CSV. The warehouse builds from
here unless a user names another copy (``--nb201-dir`` / ``nb201_dir``).
"""

from __future__ import annotations

from pathlib import Path

from explorer.benchmarks.data.pack import check

NB201_DIR = Path(__file__).resolve().parent / "nasbench201"


def shipped_nb201_dir() -> Path:
    """The shipped NAS-Bench-201 folder, checked against its manifest (a ``DataError`` says what is wrong)."""
    check(NB201_DIR)
    return NB201_DIR

