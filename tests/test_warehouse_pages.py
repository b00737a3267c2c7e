"""The warehouse pages under Streamlit's AppTest: without a warehouse, and over the real NB201 one."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from streamlit.testing.v1 import AppTest

from explorer.cell.model import parse_cell
from explorer.theory.spaces import space_box
from tests.conftest import REPO
from tests.warehouse_fixtures import nb201_warehouse  # noqa: F401 (fixture)

TIMEOUT = 60


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_first_open_builds_the_warehouse_from_the_shipped_data(tmp_path, monkeypatch):
    db = tmp_path / "fresh.duckdb"
    monkeypatch.setenv("EXPLORER_WAREHOUSE", str(db))
    monkeypatch.delenv("EXPLORER_NB201_DIR", raising=False)
    at = AppTest.from_file(str(REPO / "pages/browse.py"), default_timeout=TIMEOUT).run()
    assert not at.exception and not at.error
    assert db.exists()
    assert _metrics(at)["Architectures"] == "15,625"
    # the proxies page opens the same file, now present, without building again
    stamp = db.stat().st_mtime_ns
    at = AppTest.from_file(str(REPO / "pages/proxies.py"), default_timeout=TIMEOUT).run()
    assert not at.exception and not at.error
    assert db.stat().st_mtime_ns == stamp


@pytest.mark.parametrize("page", ["pages/browse.py", "pages/proxies.py"])
def test_a_failed_build_says_why_and_how_to_fix_it(page, tmp_path, monkeypatch):
    empty = tmp_path / "my_nb201"
    empty.mkdir()
    monkeypatch.setenv("EXPLORER_WAREHOUSE", str(tmp_path / "missing.duckdb"))
    monkeypatch.setenv("EXPLORER_NB201_DIR", str(empty))
    at = AppTest.from_file(str(REPO / page), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "not available" in at.error[0].value and "primary NB201 table is required" in at.error[0].value
    assert at.code[0].value == f"explorer warehouse build --nb201-dir {empty} --db {tmp_path / 'missing.duckdb'}"
    assert not (tmp_path / "missing.duckdb").exists()


def test_browse_filters_and_table(nb201_warehouse: Path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("EXPLORER_WAREHOUSE", str(nb201_warehouse))
    monkeypatch.delenv("EXPLORER_READ_ONLY", raising=False)
    at = AppTest.from_file(str(REPO / "pages/browse.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    m = _metrics(at)
    assert m["Architectures"] == "15,625" and m["With defined d̄/m̄"] == "13,642"
    box = space_box("nb201")  # centre (1.6, 2.2), half radius (0.7, 0.9) to one decimal
    lo, hi = box.center_depth - box.radius_depth / 2, box.center_depth + box.radius_depth / 2
    assert round(lo, 1) == 0.9 and round(hi, 1) == 2.3
    assert f"space box (f = ½): {lo:.2f} – {hi:.2f}" in " ".join(c.value for c in at.sidebar.caption)

    depth = next(s for s in at.sidebar.select_slider if s.label == "Effective depth d̄")
    assert len(depth.options) == 15  # NB201's d̄ values: each slider step reaches the next one
    depth.set_value((1.0, 2.0)).run()
    m2 = _metrics(at)
    assert not at.exception and int(m2["Architectures"].replace(",", "")) < 15_625
    assert m2["Architectures"] == m2["With defined d̄/m̄"]  # a d̄ range drops the undefined cells
    assert int(m2["(d̄, m̄) groups"]) < int(m["(d̄, m̄) groups"])

    at.sidebar.multiselect[0].set_value([3]).run()
    table = at.dataframe[0].value
    assert not at.exception and (table["n_conv"] == 3).all() and table["effective_depth"].between(1.0, 2.0).all()
    link = table["open"].iat[0]
    assert link.startswith("./?cell=") and parse_cell(unquote(link.removeprefix("./?cell="))).to_nb201() == \
        table["arch_str"].iat[0]
    assert link == "./?cell=" + quote(table["arch_str"].iat[0], safe="")
    at.selectbox(key="browse_sort").set_value("effective_width").run()
    assert list(at.dataframe[0].value.columns[:3]) == ["open", "arch_id", "effective_width"]  # in view

    # Another dataset of the same space keeps the d̄ range (a cell's d̄ does not depend on the data).
    at.sidebar.selectbox(key="browse_dataset").set_value("cifar100").run()
    depth = next(s for s in at.sidebar.select_slider if s.label == "Effective depth d̄")
    assert not at.exception and depth.value == (1.0, 2.0)
    assert at.dataframe[0].value["effective_depth"].between(1.0, 2.0).all()
    at.sidebar.selectbox(key="browse_dataset").set_value("cifar10").run()

    assert [t.label for t in at.tabs] == ["Results", "Parallel coordinates", "Scatter matrix", "SQL"]
    for tab in ("Parallel coordinates", "Scatter matrix"):  # lazy tabs: only the open one runs
        at.session_state["browse_tab"] = tab
        at.run()
        assert not at.exception and len(at.get("plotly_chart")) == 2  # Figure 5 and the view
        assert at.selectbox(key="browse_view_proxy").value == "epe_nas"
    at.session_state["browse_tab"] = "SQL"
    at.run()
    at.text_area(key="browse_sql").set_value("SELECT count(*) AS n FROM architectures").run()
    at.button(key="browse_sql_run").click().run()
    assert not at.exception and at.dataframe[-1].value["n"].iat[0] == 15_625
    at.text_area(key="browse_sql").set_value("DROP TABLE results").run()
    at.button(key="browse_sql_run").click().run()
    assert "so a DROP statement is refused" in at.error[0].value


def test_browse_read_only_hides_sql(nb201_warehouse: Path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("EXPLORER_WAREHOUSE", str(nb201_warehouse))
    monkeypatch.setenv("EXPLORER_READ_ONLY", "1")
    at = AppTest.from_file(str(REPO / "pages/browse.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [t.label for t in at.tabs] == ["Results", "Parallel coordinates", "Scatter matrix"]


def test_proxies_page(nb201_warehouse: Path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("EXPLORER_WAREHOUSE", str(nb201_warehouse))
    at = AppTest.from_file(str(REPO / "pages/proxies.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    overall = at.dataframe[0].value.set_index("proxy")
    # README: Spearman with CIFAR-10 test accuracy over the 9,445 cells: nwot 0.81, jacov 0.80, synflow 0.78
    assert overall.loc["nwot", "spearman_rho"] == pytest.approx(0.81, abs=0.005)
    assert overall.loc["synflow", "spearman_rho"] == pytest.approx(0.78, abs=0.005)
    assert overall.index[0] == "nwot"
    buckets = at.dataframe[1].value
    assert len(buckets[buckets["proxy"] == "nwot"]) == 1 + 9 + 1  # all, 3 × 3 buckets, undefined d̄/m̄
    at.sidebar.selectbox(key="proxies_dataset").set_value("cifar100").run()
    assert not at.exception and set(at.dataframe[0].value["proxy"]) == {"zen"}


def test_browse_nds_cell_and_network_spaces(tmp_path, monkeypatch):
    """An NDS-only warehouse: a cell space and a ResNet space (network-level d̄/m̄), Figure 5 for each."""
    from explorer.benchmarks.build import build_warehouse
    from tests.warehouse_fixtures import write_nds

    write_nds(tmp_path / "DARTS.json", 30, nan={3: 2})
    write_nds(tmp_path / "ResNet.json", 30, kind="resnet", seed=2)
    db = tmp_path / "nds.duckdb"
    build_warehouse(db, None, [tmp_path / "DARTS.json", tmp_path / "ResNet.json"])
    monkeypatch.setenv("EXPLORER_WAREHOUSE", str(db))
    at = AppTest.from_file(str(REPO / "pages/browse.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.selectbox(key="browse_space").options == ["nds:DARTS", "nds:ResNet"]
    assert _metrics(at)["Architectures"] == "30"
    at.selectbox(key="browse_space").set_value("nds:ResNet").run()
    assert not at.exception and not at.error
    assert _metrics(at)["Architectures"] == "30" and _metrics(at)["With defined d̄/m̄"] == "30"
    assert any("space box" in c.value for c in at.caption)  # the box of the space's own range
