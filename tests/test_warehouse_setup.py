"""The warehouse builds from the shipped data by default, knows what it was built from, and is
rebuilt only when that changed (``explorer.benchmarks.ensure``; ``explorer serve`` and the pages use it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import explorer.benchmarks.build as build_module
from db.warehouse import read_meta
from explorer.benchmarks.data import NB201_DIR
from explorer.benchmarks.ensure import Inputs, build, check_warehouse, default_inputs, ensure_warehouse
from explorer.benchmarks.warehouse import Warehouse
from explorer.cli import main as cli_main
from tests.conftest import REPO
from tests.warehouse_fixtures import nb201_warehouse, write_nds  # noqa: F401 (fixture)


def test_the_plain_cli_build_is_the_full_nb201_warehouse(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.delenv("EXPLORER_NB201_DIR", raising=False)
    db = tmp_path / "w.duckdb"
    assert cli_main(["warehouse", "build", "--db", str(db), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["architectures"] == 15_625
    wh = Warehouse(db)
    try:
        best = wh.query("SELECT dataset, round(max(test_acc), 2) AS best FROM results WHERE schedule = '200ep' "
                        "GROUP BY 1").frame.set_index("dataset")["best"]
        meta = wh.info()["meta"]
    finally:
        wh.close()
    assert (best["cifar10"], best["cifar100"], best["imagenet16"]) == (94.37, 73.51, 47.31)
    assert meta["nb201_dir"] == "shipped" and json.loads(meta["nds_files"]) == []


def test_csv_and_parquet_copies_build_the_same_warehouse(nb201_csv_dir: Path, nb201_warehouse: Path,  # noqa: F811
                                                         tmp_path: Path):
    db = tmp_path / "csv.duckdb"
    build(db, Inputs(nb201_csv_dir))
    tables = ("architectures", "results", "proxies", "hardware")
    a, b = Warehouse(nb201_warehouse), Warehouse(db)
    try:
        for t in tables:
            left = a.query(f"SELECT * FROM {t} ORDER BY ALL", row_limit=10**6).frame
            right = b.query(f"SELECT * FROM {t} ORDER BY ALL", row_limit=10**6).frame
            pd.testing.assert_frame_equal(left, right, check_exact=True)
        assert a.info()["meta"]["nb201_dir"] == "shipped"
        assert b.info()["meta"]["nb201_dir"] == str(nb201_csv_dir.resolve())
    finally:
        a.close()
        b.close()


def test_ensure_builds_once_then_leaves_a_current_warehouse_alone(tmp_path: Path):
    db = tmp_path / "w.duckdb"
    logged: list[str] = []
    state = ensure_warehouse(db, log=logged.append)
    assert state.status == "built" and db.exists()
    assert "the shipped NAS-Bench-201 data" in logged[0]
    stamp = db.stat().st_mtime_ns
    assert ensure_warehouse(db).status == "current"
    assert db.stat().st_mtime_ns == stamp


def _nds_only(tmp_path: Path, n: int = 3) -> tuple[Path, Inputs]:
    write_nds(tmp_path / "DARTS.json", n)
    return tmp_path / "w.duckdb", Inputs(None, (tmp_path / "DARTS.json",))


def test_a_changed_input_or_build_version_makes_it_stale_and_the_rebuild_keeps_the_inputs(tmp_path, monkeypatch):
    db, inputs = _nds_only(tmp_path)
    build(db, inputs)
    state, again = check_warehouse(db, default_inputs())
    assert state.status == "current" and again == inputs  # the recorded inputs, not the default
    write_nds(tmp_path / "DARTS.json", 5, seed=1)  # the user's file changed
    state, again = check_warehouse(db, default_inputs())
    assert state.status == "stale" and again == inputs
    assert ensure_warehouse(db).status == "built"
    assert Warehouse(db).info()["counts"]["architectures"] == 5  # rebuilt from the same NDS file, no NB201
    monkeypatch.setattr(build_module, "BUILD_VERSION", build_module.BUILD_VERSION + 1)
    assert check_warehouse(db)[0].status == "stale"


def test_inputs_that_are_gone_keep_the_warehouse_as_built(tmp_path: Path):
    db, inputs = _nds_only(tmp_path)
    build(db, inputs)
    os.remove(tmp_path / "DARTS.json")
    stamp = db.stat().st_mtime_ns
    state = ensure_warehouse(db)
    assert state.usable and "are gone" in state.message
    assert db.stat().st_mtime_ns == stamp


def test_a_failed_build_reports_why_and_changes_nothing(tmp_path: Path):
    empty = tmp_path / "nb201"
    empty.mkdir()
    state = ensure_warehouse(tmp_path / "w.duckdb", nb201_dir=empty)
    assert state.status == "failed" and not state.usable
    assert "primary NB201 table is required" in state.message
    assert f"explorer warehouse build --nb201-dir {empty} --db {tmp_path / 'w.duckdb'}" in state.message
    assert not (tmp_path / "w.duckdb").exists()


def test_an_unreadable_file_is_rebuilt(tmp_path: Path):
    db = tmp_path / "w.duckdb"
    db.write_bytes(b"not a database")
    assert ensure_warehouse(db).status == "built"
    assert read_meta(db)["nb201_dir"] == "shipped"


def test_a_warehouse_from_before_the_record_is_rebuilt_from_the_defaults(tmp_path: Path):
    db, inputs = _nds_only(tmp_path)
    build(db, inputs)
    import duckdb

    con = duckdb.connect(str(db))
    con.execute("DELETE FROM meta WHERE key IN ('nb201_dir', 'nds_files', 'fingerprint')")
    con.close()
    state, again = check_warehouse(db, default_inputs())
    assert state.status == "stale" and again is not None and again.shipped


def test_serve_builds_the_warehouse_before_the_app_starts(tmp_path: Path):
    """`explorer serve` on an empty data folder: the warehouse exists by the time the app answers."""
    from tests.conftest import free_port

    env = {**os.environ, "EXPLORER_DATA_DIR": str(tmp_path), "EXPLORER_CONFIG": str(tmp_path / "none.toml")}
    (tmp_path / "none.toml").write_text("")
    for key in ("EXPLORER_WAREHOUSE", "EXPLORER_NB201_DIR", "EXPLORER_DB_URL"):
        env.pop(key, None)
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "explorer", "serve", "--no-worker", "--port", str(port),
                             "--address", "127.0.0.1"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        import time
        import urllib.request

        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.3)
        assert read_meta(tmp_path / "warehouse.duckdb")["nb201_dir"] == "shipped"
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert "building it from the shipped NAS-Bench-201 data" in text and "warehouse: built" in text


def test_serve_runs_streamlit_without_a_file_watcher(monkeypatch, tmp_path: Path):
    """A watcher kept a core busy on an idle server; `explorer serve` turns it off."""
    import explorer.cli.jobs as jobs_cli

    started: list[list[str]] = []

    class FakeProc:
        returncode = 0

        def __init__(self, argv, **kw):
            started.append(argv)

        def poll(self):
            return 0

        def send_signal(self, sig):
            pass

        def wait(self, timeout=None):
            return 0

    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(jobs_cli.subprocess, "Popen", FakeProc)
    cli_main(["serve", "--no-worker", "--no-warehouse"])
    app = started[0]
    assert "--server.fileWatcherType=none" in app and "--server.runOnSave=false" in app


def test_shipped_inputs_are_recognised_by_path():
    assert default_inputs().shipped and Inputs(NB201_DIR).shipped and not Inputs(None).shipped


@pytest.mark.parametrize("argv, message", [
    (["--no-nb201"], "--no-nb201 needs --nds files"),
    (["--no-nb201", "--nb201-dir", "x"], "contradict"),
])
def test_cli_build_refuses_contradictions(argv, message, tmp_path, capsys):
    assert cli_main(["warehouse", "build", "--db", str(tmp_path / "w.duckdb"), *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_zip_member_selector_is_an_input_that_exists(tmp_path: Path):
    """'data.zip:DARTS' is recorded as given; the check looks at the zip, so the warehouse stays current."""
    import zipfile

    write_nds(tmp_path / "DARTS.json", 3)
    with zipfile.ZipFile(tmp_path / "data.zip", "w") as z:
        z.write(tmp_path / "DARTS.json", "DARTS.json")
    db = tmp_path / "w.duckdb"
    selector = Path(f"{tmp_path / 'data.zip'}:DARTS")
    build(db, Inputs(None, (selector,)))
    assert Inputs(None, (selector,)).missing() == []
    assert check_warehouse(db)[0].status == "current"
