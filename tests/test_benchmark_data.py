"""The benchmark data the repository ships: complete, unchanged, exactly the CSV release it was packed
from, and nothing in the repository reaches outside the clone for data."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from explorer.benchmarks.data import NB201_DIR, shipped_nb201_dir
from explorer.benchmarks.data.pack import check, pack, read_manifest, sha256_of, unpack, verify
from explorer.core.errors import DataError
from tests.conftest import REPO

TABLES = {"nb201_acc200_natsbench": 15_625, "nb201_cifar10_naswot": 15_625, "nb201_acc12_minibench": 15_625,
          "nb201_naslib_single_seed_zen": 15_625, "nb201_zc_proxies_cifar10": 9_445,
          "nb201_zc_proxies_imagenet16": 9_445, "nb201_hw_metrics": 46_875, "nb201_main": 15_625}


def test_every_table_is_shipped_with_its_row_count():
    tables = check(shipped_nb201_dir())
    assert {t.name.removesuffix(".parquet"): t.rows for t in tables} == TABLES
    for t in tables:
        assert pq.read_metadata(NB201_DIR / t.name).num_rows == t.rows


def test_the_shipped_data_is_small():
    total = sum(p.stat().st_size for p in NB201_DIR.parent.rglob("*") if p.is_file())
    assert total < 6_000_000, f"{total:,} bytes: keep the shipped copy compact"


def test_written_back_as_csv_it_is_the_release_byte_for_byte(nb201_csv_dir: Path):
    """The manifest holds the sha256 of each source CSV; the CSV made from the Parquet copy matches it,
    so the copy holds every value of the release exactly."""
    for t in read_manifest(NB201_DIR):
        assert sha256_of(nb201_csv_dir / t.source) == t.source_sha256, t.source


def test_pack_proves_every_value_and_refuses_a_difference(nb201_csv_dir: Path, tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(nb201_csv_dir / "nb201_acc200_natsbench.csv", src)
    tables = pack(src, tmp_path / "out")
    assert [t.rows for t in tables] == [15_625]
    shipped = pq.read_table(NB201_DIR / "nb201_acc200_natsbench.parquet")
    assert pq.read_table(tmp_path / "out" / "nb201_acc200_natsbench.parquet").equals(shipped)
    # one digit changed in the CSV: the comparison names the row and column
    csv = src / "nb201_acc200_natsbench.csv"
    csv.write_text(csv.read_text().replace("85.86333333333334", "85.8633333333334", 1))
    with pytest.raises(DataError, match=r"row 0 column cifar10_test_acc"):
        verify(csv, tmp_path / "out" / "nb201_acc200_natsbench.parquet")


def test_a_changed_file_fails_the_checksum(tmp_path: Path):
    copy = tmp_path / "nb201"
    shutil.copytree(NB201_DIR, copy)
    target = copy / "nb201_main.parquet"
    target.write_bytes(target.read_bytes()[:-100] + bytes(100))
    with pytest.raises(DataError, match="nb201_main.parquet: changed since it was packed"):
        check(copy)
    (copy / "nb201_hw_metrics.parquet").unlink()
    with pytest.raises(DataError, match="nb201_hw_metrics.parquet: missing"):
        check(copy)


def test_the_pack_script_checks_the_shipped_copy():
    out = subprocess.run([str(REPO / ".venv/bin/python") if (REPO / ".venv/bin/python").exists() else "python3",
                          "scripts/pack_benchmarks.py", "--check"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "8 tables OK" in out.stdout


def test_unpack_writes_csv_with_the_original_names(tmp_path: Path):
    written = unpack(NB201_DIR, tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{n}.csv" for n in TABLES)


def _tracked_files() -> list[Path]:
    if (REPO / ".git").exists():
        out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
        return [REPO / p for p in out.stdout.decode().split("\0") if p]
    return [p for p in REPO.rglob("*") if p.is_file() and ".venv" not in p.parts]


def test_nothing_in_the_repository_reads_data_from_outside_the_clone():
    needles = ("../" + "shared", "shared/" + "data")  # split, so this file does not match itself
    offenders = []
    for path in _tracked_files():
        if not path.is_file() or path.suffix in (".parquet", ".png", ".onnx"):
            continue
        text = path.read_text(errors="ignore")
        offenders += [f"{path.relative_to(REPO)}: {n}" for n in needles if n in text]
    assert not offenders
