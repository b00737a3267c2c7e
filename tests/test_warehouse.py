"""The benchmark warehouse: built from the real NB201 files (once per session) and from NDS files
the tests write; known facts, metric agreement with the core, filters, the read-only guard, and
failed builds that leave the previous warehouse intact."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explorer.benchmarks import ingest
from explorer.benchmarks.analysis import multiple_correlation
from explorer.benchmarks.build import build_warehouse
from explorer.benchmarks.warehouse import Filter, Warehouse, open_shared
from explorer.cell.model import Cell, Genotype
from explorer.cli import main as cli_main
from explorer.core.errors import DataError, UserError
from explorer.theory.metrics import metrics
from explorer.theory.paths import cell_depth, cell_width, effective_depth_width, path_histogram
from tests.warehouse_fixtures import nb201_warehouse, write_nds  # noqa: F401 (fixture)

PRIMARY = "nb201_acc200_natsbench.csv"


@pytest.fixture(scope="module")
def wh(nb201_warehouse: Path) -> Warehouse:  # noqa: F811
    return open_shared(nb201_warehouse)


def test_nb201_counts(wh: Warehouse):
    info = wh.info()
    assert info["counts"]["architectures"] == 15_625
    assert info["counts"]["hardware"] == 3 * 15_625
    sets = wh.result_sets()
    assert len(sets) == 11 and (sets["n"] == 15_625).all()
    assert (
        wh.query("SELECT count(DISTINCT arch_str) FROM architectures WHERE space = 'nb201'").frame.iat[0, 0] == 15_625
    )


def test_best_accuracies_match_the_papers(wh: Warehouse):
    best = wh.query("SELECT dataset, round(max(test_acc), 2) AS best FROM results WHERE schedule = '200ep' "
                    "GROUP BY 1").frame.set_index("dataset")["best"]
    assert best["cifar10"] == 94.37 and best["cifar100"] == 73.51 and best["imagenet16"] == 47.31
    top = wh.rows(Filter(dataset="cifar100"), limit=1)
    assert top["arch_id"].iat[0] == 9930  # README: CIFAR-100 optimum at index 9930


def test_disconnected_cells_have_undefined_depth_width(wh: Warehouse):
    df = wh.query("SELECT paths, effective_depth, effective_width, undefined_reason FROM architectures "
                  "WHERE paths = 0").frame
    assert len(df) == 341
    assert df["effective_depth"].isna().all() and df["effective_width"].isna().all()
    assert df["undefined_reason"].str.contains("no path").all()
    undefined = wh.query("SELECT count(*) FROM architectures WHERE effective_depth IS NULL").frame.iat[0, 0]
    assert undefined == 1_983  # NOTES.md: d̄ = 0 or no path


def test_every_stored_metric_equals_the_core(wh: Warehouse):
    """d̄, m̄, P and Shu width/depth of all 15,625 rows from the core's functions; the full
    ``metrics`` (NNGP included, 1-2 ms a cell) on a random 1,000 of them."""
    df = wh.query("SELECT * FROM architectures ORDER BY arch_id", row_limit=20_000).frame
    assert len(df) == 15_625
    for row in df.itertuples():
        cell = Cell.from_nb201(row.arch_str)
        hist = path_histogram(cell)
        dw = effective_depth_width(hist)
        for stored, core in ((row.effective_depth, dw.effective_depth), (row.effective_width, dw.effective_width)):
            assert (core is None and math.isnan(stored)) or stored == core, row.arch_str
        assert row.paths == sum(hist) and row.cell_width == cell_width(cell)
        assert (row.cell_depth == cell_depth(cell)) if row.paths else math.isnan(row.cell_depth)
        assert [row.e01, row.e02, row.e12, row.e03, row.e13, row.e23] == [e.op for e in cell.edges]
        assert row.arch_str == cell.to_text()
    for row in df.sample(1_000, random_state=0).itertuples():
        m = metrics(Cell.from_nb201(row.arch_str), k0=0.5)
        assert row.nngp_eq12 == m.nngp_eq12 and row.nngp_lambda_min == m.nngp_lambda_min
        assert row.nngp_exact_dag == m.nngp_exact_dag and row.n_parameterized_ops == m.n_parameterized_ops == row.n_conv
        core = m.to_dict()
        core.pop("path_depths")
        assert json.loads(row.metrics_json) == core


def test_hardware_and_proxy_spot_values(wh: Warehouse):
    hw = wh.query("SELECT edgegpu_latency_ms, raspi4_latency_ms, fpga_energy_mj FROM hardware "
                  "WHERE arch_id = 0 AND dataset = 'cifar10'").frame.iloc[0]
    assert hw.tolist() == pytest.approx([5.80742, 10.48198, 18.01072], abs=1e-5)  # HW-NAS-Bench README
    counts = wh.query("SELECT proxy, count(*) AS n FROM proxies WHERE dataset = 'cifar10' GROUP BY 1").frame
    n = dict(zip(counts["proxy"], counts["n"], strict=True))
    assert n["synflow"] == 9_445 and n["zen"] == 15_625 - 341 and n["naswot_v1"] == 15_625 - 341


def test_filters_narrow_the_set(wh: Warehouse):
    everything = Filter()
    assert wh.count(everything) == 15_625
    box = Filter(ranges={"effective_depth": (1.0, 2.0), "effective_width": (1.5, 3.0)})
    rows = wh.rows(box, limit=None)
    assert len(rows) == wh.count(box) > 0
    assert rows["effective_depth"].between(1.0, 2.0).all() and rows["effective_width"].between(1.5, 3.0).all()
    three = Filter(n_conv=(3,))
    assert (wh.rows(three, limit=None)["n_conv"] == 3).all()
    assert wh.count(three) == math.comb(6, 3) * 2**3 * 3**3  # 3 conv edges of 2 kinds, 3 others of 3
    prox = Filter(proxy_ranges={"synflow": (80.0, None)})
    got = wh.rows(prox, proxies=["synflow"], limit=None)
    assert len(got) > 0 and (got["proxy_synflow"] >= 80.0).all()
    with pytest.raises(UserError, match="cannot filter"):
        wh.count(Filter(ranges={"arch_str; DROP": (0, 1)}))


def test_sorted_pages(wh: Warehouse):
    f = Filter(ranges={"effective_depth": (1.0, None)})
    page1 = wh.rows(f, order_by="accuracy", limit=20)
    page2 = wh.rows(f, order_by="accuracy", limit=20, offset=20)
    assert page1["accuracy"].is_monotonic_decreasing and page1["accuracy"].iat[-1] >= page2["accuracy"].iat[0]
    assert set(page1["arch_id"]).isdisjoint(page2["arch_id"])


def test_figure5_and_r_match_pandas_and_numpy(wh: Warehouse):
    f = Filter(n_conv=(3,))
    rows = wh.rows(f, limit=None).dropna(subset=["effective_depth"])
    ref = (rows.assign(d=rows["effective_depth"].round(9), m=rows["effective_width"].round(9))
           .groupby(["d", "m"])["accuracy"].agg(["count", "mean", "std"]).reset_index())
    got = wh.figure5(f)
    assert len(got) == len(ref)
    np.testing.assert_allclose(got["n"], ref["count"])
    np.testing.assert_allclose(got["mean_acc"], ref["mean"])
    np.testing.assert_allclose(got["std_acc"].fillna(0), ref["std"].fillna(0), atol=1e-9)
    r, n = wh.multiple_r(f)
    x = np.c_[np.ones(len(rows)), rows["effective_depth"], rows["effective_width"]]
    y = rows["accuracy"].to_numpy()
    fit = x @ np.linalg.lstsq(x, y, rcond=None)[0]
    assert n == len(rows)
    assert r == pytest.approx(np.corrcoef(fit, y)[0, 1], abs=1e-9)


def test_multiple_correlation_edge_cases():
    assert multiple_correlation(0.5, 0.5, 1.0) == 0.5
    assert multiple_correlation(None, None, None) is None
    assert multiple_correlation(0.3, None, None) == 0.3
    assert multiple_correlation(0.6, 0.0, 0.0) == pytest.approx(0.6)


def test_column_values_are_the_stored_values_when_few(wh: Warehouse):
    depths = wh.column_values(Filter(), "effective_depth", 200)
    assert depths is not None and len(depths) == 15 and depths == sorted(depths) and depths[0] == 0.25
    assert wh.count(Filter(ranges={"effective_depth": (depths[1], depths[1])})) > 0  # exact: a stop filters
    assert wh.column_values(Filter(), "effective_depth", 14) is None  # too many for a slider over values
    with pytest.raises(UserError, match="unknown column"):
        wh.column_values(Filter(), "arch_str", 10)


def test_export_round_trip(wh: Warehouse):
    import io

    f = Filter(ranges={"effective_depth": (2.0, 2.5)})
    n = wh.count(f)
    assert len(pd.read_csv(io.BytesIO(wh.export(f, "csv")))) == n
    assert len(pd.read_parquet(io.BytesIO(wh.export(f, "parquet")))) == n


@pytest.mark.parametrize(("sql", "message"), [
    ("CREATE TABLE x (a INT)", "so a CREATE statement is refused"),
    ("DELETE FROM results", "so a DELETE statement is refused"),
    ("INSERT INTO meta VALUES ('a', 'b')", "so an INSERT statement is refused"),
    ("ATTACH '/tmp/other.duckdb' AS o", "so an ATTACH statement is refused"),
    ("COPY architectures TO '/tmp/x.csv'", "so a COPY statement is refused"),
    ("SET enable_external_access = true", "so changing a setting (SET) is refused"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv() reads files"),
    ("SELECT * FROM read_parquet ('/tmp/x.parquet')", "read_parquet() reads files"),
    ("SELECT * FROM glob('/*')", "glob() reads files"),
    ("SELECT 1; SELECT 2", "one statement at a time"),
    ("", "empty query"),
    ("SELEC 1", "does not parse"),
])
def test_query_guard_refuses(wh: Warehouse, sql: str, message: str):
    with pytest.raises(UserError) as err:
        wh.query(sql)
    assert message in str(err.value)


def test_query_guard_message_reads_for_every_statement_type(wh: Warehouse):
    """The refusal names what was refused in words, for every kind of statement DuckDB reports."""
    import duckdb

    from explorer.benchmarks.warehouse import _statement_phrase

    for kind in duckdb.StatementType.__members__:
        phrase = _statement_phrase(kind)
        assert "_" not in phrase and phrase.split()[0] in ("a", "an", "this", "changing", "setting", "loading",
                                                          "installing", "creating"), phrase
    with pytest.raises(UserError) as err:
        wh.query("DROP TABLE results")
    assert str(err.value) == ("Only SELECT (or EXPLAIN) queries run here: the warehouse is read-only, so a DROP "
                              "statement is refused. Try: SELECT * FROM architectures LIMIT 10")


def test_query_guard_backstop_and_limits(wh: Warehouse):
    with pytest.raises(UserError, match="reading or writing files is not allowed"):
        wh.query("SELECT * FROM '/etc/hosts.csv'")  # replacement scan: refused by DuckDB's file-access switch
    res = wh.query("SELECT arch_id FROM architectures", row_limit=100)
    assert len(res.frame) == 100 and res.truncated
    with pytest.raises(UserError, match="time limit"):
        wh.query("SELECT count(*) FROM range(100000000000) a", timeout_s=0.3)
    assert wh.query("SELECT count(*) AS n FROM architectures").frame.iat[0, 0] == 15_625  # still usable


def test_cli_query_json_and_refusal(nb201_warehouse: Path, capsys):  # noqa: F811
    assert cli_main(["warehouse", "query", "--db", str(nb201_warehouse), "--json",
                     "SELECT space, count(*) AS n FROM architectures GROUP BY 1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == [{"space": "nb201", "n": 15_625}] and out["truncated"] is False
    assert cli_main(["warehouse", "query", "--db", str(nb201_warehouse), "DROP TABLE results"]) == 2
    assert "Only SELECT (or EXPLAIN) queries run here" in capsys.readouterr().err


# --- NDS, idempotency, failed builds -----------------------------------------------------------


def test_nds_ingest(tmp_path: Path):
    entries = write_nds(tmp_path / "DARTS.json", 6)
    write_nds(tmp_path / "ENAS_in.json", 4, split=True, seed=1, epochs=3)
    db = tmp_path / "nds.duckdb"
    report = build_warehouse(db, None, [tmp_path / "DARTS.json", tmp_path / "ENAS_in.json"])
    assert report.counts["architectures"] == 10 and report.counts["curves"] == 6 * 5 + 4 * 3
    wh = Warehouse(db)
    try:
        sets = wh.result_sets()
        assert sets[["space", "dataset", "schedule"]].values.tolist() == [
            ["nds:DARTS", "cifar10", "5ep-single"], ["nds:ENAS_in", "imagenet", "3ep-single"]]
        df = wh.query("SELECT * FROM architectures JOIN results USING (arch_id) WHERE space = 'nds:DARTS' "
                      "ORDER BY source_id").frame
        for row, entry in zip(df.itertuples(), entries, strict=True):
            geno = Genotype.from_dict(entry["net"]["genotype"])
            m = metrics(geno.normal, k0=0.5)
            assert row.effective_depth == pytest.approx(m.effective_depth)
            assert row.effective_width == pytest.approx(m.effective_width)
            assert row.paths == m.paths and row.cell_depth == m.cell_depth
            assert row.arch_str == geno.normal.to_text()
            assert Genotype.from_dict(json.loads(row.genotype_json)) == geno
            assert row.test_acc == pytest.approx(100 - entry["min_test_top1"])
            assert row.params_m == pytest.approx(entry["params"] / 1e6)
            assert row.net_width == entry["net"]["width"] and row.base_lr == entry["optim"]["base_lr"]
        curve = wh.query("SELECT epoch, test_acc, train_loss FROM curves c JOIN architectures a USING (arch_id) "
                         "WHERE a.space = 'nds:DARTS' AND a.source_id = 0 ORDER BY epoch").frame
        assert curve["test_acc"].tolist() == pytest.approx([100 - e for e in entries[0]["test_ep_top1"]])
        assert curve["epoch"].tolist() == [1, 2, 3, 4, 5]
        assert wh.count(Filter("nds:DARTS", "cifar10", "5ep-single")) == 6
    finally:
        wh.close()


def test_nds_release_every_kind_of_file(tmp_path: Path, capsys):
    """One build from a zip (with a reruns file), a gzip'ed file, a folder, a diverged sweep, an
    ImageNet sweep and a ResNet file: every entry stored, NaN as NULL, ImageNet as ImageNet."""
    from explorer.theory.network import anynet_blocks, network_metrics
    from tests.warehouse_fixtures import nds_bytes, nds_entries, write_nds_zip

    zipped = write_nds_zip(tmp_path / "data.zip", {
        "ResNet_reruns.json": nds_bytes(nds_entries(4, kind="resnet", seed=3), split=True),
        "ResNeXt-A.json": nds_bytes(nds_entries(3, kind="resnext", seed=4)),
        "Vanilla.json": nds_bytes(nds_entries(2, kind="vanilla", seed=5))})
    lr_wd = write_nds(tmp_path / "DARTS_lr-wd.json", 5, epochs=10, nan={1: 7, 3: 0})
    write_nds(tmp_path / "DARTS_lr-wd_in.json.gz", 3, seed=6)
    resnet = write_nds(tmp_path / "resnet.json", 4, kind="resnet", seed=7)  # lower case: canonical 'ResNet'
    db = tmp_path / "w.duckdb"
    args = ["warehouse", "build", "--no-nb201", "--db", str(db), "--json", "--nds", str(zipped),
            str(tmp_path / "DARTS_lr-wd.json"), str(tmp_path / "DARTS_lr-wd_in.json.gz"), str(tmp_path / "resnet.json")]
    assert cli_main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["architectures"] == 4 + 3 + 2 + 5 + 3 + 4 == report["nds"]["entries"]
    assert report["nds"]["diverged"] == 2 and report["nds"]["network"] == 13
    wh = Warehouse(db)
    try:
        sets = {tuple(r) for r in wh.result_sets()[["space", "dataset"]].values.tolist()}
        assert ("nds:DARTS_lr-wd_in", "imagenet") in sets and ("nds:DARTS_lr-wd", "cifar10") in sets
        assert ("nds:ResNet", "cifar10") in sets and ("nds:ResNet_reruns", "cifar10") in sets
        runs = wh.query("SELECT r.*, a.source_id FROM nds_runs r JOIN architectures a USING (arch_id) "
                        "WHERE r.space = 'DARTS_lr-wd' ORDER BY a.source_id").frame
        assert runs["diverged"].tolist() == [False, True, False, True, False]
        assert runs["final_train_loss"].isna().tolist() == [False, True, False, True, False]
        assert runs["best_train_loss"][1] == pytest.approx(2 / 7) and runs["aux"].tolist() == [
            e["net"]["aux"] for e in lr_wd]
        assert runs["iter_time"].tolist() == pytest.approx([e["iter_time"] for e in lr_wd])
        curve = wh.query("SELECT c.epoch, c.train_loss FROM curves c JOIN architectures a USING (arch_id) "
                         "WHERE a.space = 'nds:DARTS_lr-wd' AND a.source_id = 1 ORDER BY epoch").frame
        assert curve["train_loss"].isna().tolist() == [False] * 7 + [True] * 3  # kept, as NULL
        groups = wh.query("SELECT entry_group, count(*) AS n FROM nds_runs WHERE space = 'ResNet_reruns' "
                          "GROUP BY ALL ORDER BY 1").frame
        assert groups.values.tolist() == [["mid", 2], ["top", 2]]
        net = wh.query("SELECT a.*, r.stage_depths, r.block_type, res.final_test_acc FROM architectures a "
                       "JOIN nds_runs r USING (arch_id) JOIN results res USING (arch_id) "
                       "WHERE a.space = 'nds:ResNet' ORDER BY source_id").frame
        for row, entry in zip(net.itertuples(), resnet, strict=True):
            n = entry["net"]
            m = network_metrics(anynet_blocks(n["block_type"], n["ds"], n["ws"], n["ss"]))
            assert row.family == "residual_basic" and json.loads(row.stage_depths) == n["ds"]
            assert row.paths == m.paths == 2 ** sum(n["ds"]) and row.log2_paths == pytest.approx(sum(n["ds"]))
            assert row.effective_depth == pytest.approx(m.effective_depth)
            assert row.effective_width == pytest.approx(m.effective_width)
            assert row.final_test_acc == pytest.approx(100 - entry["test_ep_top1"][-1])
    finally:
        wh.close()


def _content(db: Path) -> dict[str, list]:
    wh = Warehouse(db)
    try:
        return {t: wh.query(f"SELECT * FROM {t} ORDER BY ALL", row_limit=100_000).frame.to_dict("records")
                for t in ("architectures", "results", "proxies", "curves", "sources")}
    finally:
        wh.close()


def test_build_is_idempotent(tmp_path: Path):
    write_nds(tmp_path / "PNAS.json", 5)
    db = tmp_path / "w.duckdb"
    build_warehouse(db, None, [tmp_path / "PNAS.json"])
    first = _content(db)
    build_warehouse(db, None, [tmp_path / "PNAS.json"])
    assert _content(db) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["PNAS.json", "w.duckdb"]  # no leftovers


@pytest.fixture
def previous(tmp_path: Path) -> Path:
    """A small good warehouse (NDS only) that failed builds must leave intact."""
    write_nds(tmp_path / "DARTS.json", 3)
    db = tmp_path / "out" / "w.duckdb"
    build_warehouse(db, None, [tmp_path / "DARTS.json"])
    return db


def _assert_intact(db: Path) -> None:
    wh = Warehouse(db)
    try:
        assert wh.query("SELECT count(*) FROM architectures").frame.iat[0, 0] == 3
    finally:
        wh.close()
    assert [p.name for p in db.parent.iterdir()] == ["w.duckdb"]


def _nb201_copy(src: Path, dst: Path, files: list[str]) -> Path:
    """A folder with links to the real files (the corrupted one is written over its link)."""
    dst.mkdir()
    for name in files:
        os.symlink(src / name, dst / name)
    return dst


def _corrupt(path: Path, edit) -> None:
    text = path.read_text()
    path.unlink()
    path.write_text(edit(text))


def _replace_line(n: int, old: str, new: str):
    def edit(text: str) -> str:
        lines = text.split("\n")
        assert old in lines[n]
        lines[n] = lines[n].replace(old, new, 1)
        return "\n".join(lines)
    return edit


@pytest.mark.parametrize(("file", "edit", "expected"), [
    (PRIMARY, lambda t: t[: len(t) // 2], r"nb201_acc200_natsbench.csv:\d+ \(row \d+\): expected 6 fields"),
    ("nb201_cifar10_naswot.csv", _replace_line(6, "|nor_conv_1x1~0|", "|conv_9x9~0|"),
     r"nb201_cifar10_naswot.csv:7 \(row 5\): arch_str .* does not parse"),
    ("nb201_acc12_minibench.csv", _replace_line(11, "10,", "11,"),
     r"nb201_acc12_minibench.csv:12 \(row 10\): arch_index 11 out of order"),
    ("nb201_naslib_single_seed_zen.csv", _replace_line(3, "|avg_pool_3x3~0|+", "|nor_conv_3x3~0|+"),
     r"nb201_naslib_single_seed_zen.csv:4 \(row 2\): arch_index 2 ↔ arch_str mismatch"),
])
def test_corrupt_nb201_input_fails_with_file_and_row(nb201_csv_dir: Path, tmp_path: Path, previous: Path,
                                                     file, edit, expected):
    files = [PRIMARY] if file == PRIMARY else [PRIMARY, file]
    src = _nb201_copy(nb201_csv_dir, tmp_path / "nb201", files)
    _corrupt(src / file, edit)
    with pytest.raises(DataError, match=expected):
        build_warehouse(previous, src, [])
    _assert_intact(previous)


def test_malformed_nds_json_leaves_previous(tmp_path: Path, previous: Path):
    bad = tmp_path / "Amoeba.json"
    write_nds(bad, 3)
    bad.write_text(bad.read_text().replace('"normal"', '"normal', 1))
    with pytest.raises(DataError, match=r"Amoeba.json: malformed JSON"):
        build_warehouse(previous, None, [tmp_path / "DARTS.json", bad])
    _assert_intact(previous)


def test_interrupted_write_leaves_previous(tmp_path: Path, previous: Path, monkeypatch):
    import db.warehouse as warehouse

    real = warehouse._write

    def interrupted(path, tables, meta, progress):
        real(path, tables, meta, progress)
        assert path.exists()
        raise KeyboardInterrupt

    monkeypatch.setattr(warehouse, "_write", interrupted)
    write_nds(tmp_path / "ENAS.json", 7)
    with pytest.raises(KeyboardInterrupt):
        build_warehouse(previous, None, [tmp_path / "ENAS.json"])
    _assert_intact(previous)


def test_killed_build_leftovers_are_cleared(tmp_path: Path, previous: Path):
    dead = previous.with_name(f".{previous.name}.building-999999999")  # no such process
    dead.write_bytes(b"half a database")
    write_nds(tmp_path / "NASNet.json", 2)
    build_warehouse(previous, None, [tmp_path / "NASNet.json"])
    assert [p.name for p in previous.parent.iterdir()] == ["w.duckdb"]


def test_missing_inputs(tmp_path: Path):
    with pytest.raises(UserError, match="nothing to build"):
        build_warehouse(tmp_path / "w.duckdb")
    with pytest.raises(DataError, match="not a directory"):
        build_warehouse(tmp_path / "w.duckdb", tmp_path / "nope")
    with pytest.raises(DataError, match="primary NB201 table is required"):
        build_warehouse(tmp_path / "w.duckdb", tmp_path)
    with pytest.raises(DataError, match="no warehouse here; build one with explorer warehouse build"):
        Warehouse(tmp_path / "none.duckdb")
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        write_nds(tmp_path / sub / "DARTS.json", 2)
    with pytest.raises(DataError, match="design space .DARTS. given twice: .*a/DARTS.json and .*b/DARTS.json"):
        build_warehouse(tmp_path / "w.duckdb", None, [tmp_path / "a" / "DARTS.json", tmp_path / "b" / "DARTS.json"])


def test_open_shared_sees_a_rebuild(tmp_path: Path):
    write_nds(tmp_path / "DARTS.json", 2)
    write_nds(tmp_path / "ENAS.json", 5)
    db = tmp_path / "w.duckdb"
    build_warehouse(db, None, [tmp_path / "DARTS.json"])
    assert open_shared(db).count(Filter("nds:DARTS", "cifar10", "5ep-single")) == 2
    build_warehouse(db, None, [tmp_path / "ENAS.json"])
    assert open_shared(db).count(Filter("nds:ENAS", "cifar10", "5ep-single")) == 5


def test_naslib_encoding_matches_readme():
    # README: file 4 row 0 is "4,3,3,0,0,0" for |avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|...
    arch = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    assert ingest.naslib_encoding(Cell.from_nb201(arch)) == "4,3,3,0,0,0"


def test_cli_build_json(tmp_path: Path, capsys):
    write_nds(tmp_path / "DARTS.json", 2)
    db = tmp_path / "w.duckdb"
    assert cli_main(["warehouse", "build", "--no-nb201", "--nds", str(tmp_path / "DARTS.json"), "--db", str(db),
                     "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["architectures"] == 2 and report["db"] == str(db)
    shutil.rmtree(tmp_path / "missing", ignore_errors=True)
    assert cli_main(["warehouse", "build", "--nb201-dir", str(tmp_path / "missing"), "--db", str(db)]) == 2
    assert "not a directory" in capsys.readouterr().err
