"""Benchmark evidence for a cell: NATS-Bench equivalence on all cells, the lookup against the
warehouse rows, the edit map, connectivity neighbours, the CLI and the editor / Compare panels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.benchmarks.evidence import lookup
from explorer.benchmarks.warehouse import open_shared
from explorer.cell.canonical import nb201_from_ops, nb201_ops, nb201_unique_str
from explorer.cell.model import Cell
from explorer.cell.presets import get_preset
from explorer.cli import main as cli_main
from tests.conftest import REPO
from tests.warehouse_fixtures import nb201_warehouse  # noqa: F401 (fixture)

RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"


def test_unique_strings_agree_with_nats_bench_on_all_cells(nb201_warehouse: Path) -> None:  # noqa: F811
    wh = open_shared(nb201_warehouse)
    rows = wh.query("SELECT arch_str, unique_str FROM architectures WHERE space = 'nb201'", row_limit=20_000).frame
    assert len(rows) == 15_625
    mine = [nb201_unique_str(Cell.from_nb201(s)) for s in rows["arch_str"]]
    assert mine == list(rows["unique_str"])
    assert all(nb201_from_ops(nb201_ops(Cell.from_nb201(s))) == s for s in rows["arch_str"][:200])


def test_a_free_dag_has_no_unique_string() -> None:
    assert nb201_unique_str(get_preset("DAG#1 (sequential)").cell) is None


def test_resnet_lookup_matches_the_warehouse_rows(nb201_warehouse: Path) -> None:  # noqa: F811
    wh = open_shared(nb201_warehouse)
    ev = lookup(wh, Cell.from_nb201(RESNET))
    rows = wh.query("SELECT r.dataset, r.schedule, r.test_acc FROM results r JOIN architectures a USING (arch_id) "
                    f"WHERE a.arch_str = '{RESNET}'").frame
    want = {(d, s): a for d, s, a in rows.itertuples(index=False) if a == a}
    (mt,) = ev.matches
    assert mt.arch_id == 11472 and mt.how == "exact" and mt.space == "nb201"
    assert {(r.dataset, r.schedule): r.test_acc for r in mt.results} == want
    for ds in ("cifar10", "cifar100", "imagenet16"):
        r = next(r for r in mt.results if r.dataset == ds and r.schedule == "200ep")
        better = wh.query(f"SELECT count(*) AS n FROM results WHERE dataset = '{ds}' AND schedule = '200ep' "
                          f"AND test_acc > {r.test_acc!r}").frame["n"][0]
        assert r.rank == better + 1 and r.n == 15_625 and 1 <= r.group_rank <= r.group_n < r.n
    n_eq = wh.query(f"SELECT count(*) - 1 AS n FROM architectures WHERE unique_str = '{mt.unique_str}'").frame["n"][0]
    assert len(mt.equivalent) == n_eq
    assert mt.hardware["cifar10"]["edgegpu_latency_ms"] > 0 and "naswot_v1" in mt.proxies["cifar10"]
    assert mt.params_m == pytest.approx(0.559386)
    # The edit map: 6 edges × 5 ops, the cell itself once per edge, each square the warehouse's value.
    assert len(ev.edit_map) == 30 and sum(o.current for o in ev.edit_map) == 6
    for o in ev.edit_map:
        if o.current:
            assert o.accuracy["cifar10"] == mt.accuracy("cifar10")
    o = next(o for o in ev.edit_map if o.edge == 5 and o.op == "nor_conv_3x3")
    other = lookup(wh, Cell.from_nb201(o.arch_str))
    assert other.matches[0].accuracy("cifar100") == o.accuracy["cifar100"]
    near1 = [n for n in ev.nearby if n.dataset == "cifar10" and n.distance == 1]
    best1 = max(x.accuracy["cifar10"] for x in ev.edit_map if not x.current)
    assert near1[0].test_acc == best1 and len(near1) == 5
    assert json.loads(json.dumps(ev.to_dict()))["matches"][0]["arch_id"] == 11472


def test_a_cell_outside_the_data_gets_connectivity_neighbours(nb201_warehouse: Path) -> None:  # noqa: F811
    wh = open_shared(nb201_warehouse)
    ev = lookup(wh, get_preset("DARTS-V2 normal cell").cell)
    assert not ev.found and ev.connectivity
    assert {g.dataset for g in ev.connectivity} == {"cifar10", "cifar100", "imagenet16"}
    g = ev.connectivity[0]
    assert g.n > 1 and g.space == "nb201"
    d = ev.to_dict()["connectivity"][0]
    assert "not a prediction" in d["label"] and d["summary"]["n"] == g.n


def test_cli_lookup_prints_the_same_numbers(nb201_warehouse: Path, capsys) -> None:  # noqa: F811
    assert cli_main(["lookup", "--nb201", RESNET, "--db", str(nb201_warehouse), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ev = lookup(open_shared(nb201_warehouse), Cell.from_nb201(RESNET))
    assert out["evidence"]["matches"][0]["results"] == json.loads(json.dumps(ev.to_dict()))["matches"][0]["results"]
    assert cli_main(["lookup", "--nb201", RESNET, "--db", str(nb201_warehouse)]) == 0
    assert "93.91" in capsys.readouterr().out


@pytest.fixture
def with_warehouse(nb201_warehouse: Path, monkeypatch) -> Path:  # noqa: F811
    monkeypatch.setenv("EXPLORER_WAREHOUSE", str(nb201_warehouse))
    return nb201_warehouse


def test_editor_panel_shows_the_accuracies_of_each_edited_cell(with_warehouse: Path) -> None:
    at = AppTest.from_file(str(REPO / "pages" / "editor.py"), default_timeout=60)
    at.query_params["cell"] = RESNET
    at.run()
    assert not at.exception
    vals = {m.label: m.value for m in at.metric}
    assert vals["CIFAR-10 test %"] == "93.91" and vals["CIFAR-100 test %"] == "70.89"
    # An edit in the table: the panel shows the new cell's accuracies (the map click is browser-tested).
    at.selectbox(key=f"nb201_op_23@{at.session_state['_rev']}").select("nor_conv_3x3").run()
    vals = {m.label: m.value for m in at.metric}
    new = lookup(open_shared(with_warehouse), at.session_state["cell"]).matches[0]
    assert vals["CIFAR-10 test %"] == f"{new.accuracy('cifar10'):.2f}" != "93.91"


def test_editor_panel_without_a_warehouse_is_one_caption(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EXPLORER_WAREHOUSE", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(str(REPO / "pages" / "editor.py"), default_timeout=60).run()
    assert not at.exception
    assert any("warehouse is built" in c.value for c in at.caption)


def test_compare_shows_each_cells_evidence(with_warehouse: Path) -> None:
    at = AppTest.from_file(str(REPO / "pages" / "compare.py"), default_timeout=60)
    at.query_params["compare"] = json.dumps([RESNET])
    at.run()
    at.selectbox(key="cmp_preset").select("DARTS-V2 normal cell").run()
    assert not at.exception
    assert "93.91" in [m.value for m in at.metric]
    assert any("not a prediction" in m.value for m in at.markdown)
