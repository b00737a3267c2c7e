"""AppTest of the Compare page, the edge diff and the teaching text."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from explorer.cell.diff import edge_diff
from explorer.cell.presets import get_preset
from explorer.theory.metrics import metrics
from explorer.theory.teaching import depth_width_formulas, node_path_counts
from tests.conftest import REPO

COMPARE = str(REPO / "pages" / "compare.py")


def test_compare_renders_empty_and_with_cells() -> None:
    at = AppTest.from_file(COMPARE, default_timeout=60).run()
    assert not at.exception
    for name in ("DAG#1 (sequential)", "DAG#3 (mixed)", "NB201 all-skip"):
        at.selectbox(key="cmp_preset").select(name).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.loc["effective depth d̄"])[:2] == ["3", "1.25"]
    assert list(table.loc["effective width m̄"])[:2] == ["0.3333", "2.4"]
    assert list(table.loc["paths P"])[:2] == ["1", "4"]
    assert "d̄, m̄ undefined" in " ".join(c.value for c in at.caption)
    diff = at.dataframe[1].value
    assert "differs" in diff.columns and len(diff) >= 6
    at.button(key="cmp_rm_2").click().run()
    assert len(at.session_state["compare_cells"]) == 2


def test_compare_paste_error_is_shown() -> None:
    at = AppTest.from_file(COMPARE, default_timeout=60).run()
    at.text_input(key="cmp_paste").input('{"nodes": 3}').run()
    assert not at.exception
    assert any("cell JSON" in e.value for e in at.error)


def test_edge_diff_marks_differences() -> None:
    a, b = get_preset("DAG#1 (sequential)").cell, get_preset("DAG#3 (mixed)").cell
    rows = {(r.src, r.dst): r for r in edge_diff([a, b])}
    assert rows[(0, 1)].ops == ("linear", "linear") and not rows[(0, 1)].differs
    assert rows[(0, 2)].ops == ("—", "linear") and rows[(0, 2)].differs


def test_teaching_numbers_match_the_metrics() -> None:
    dag3 = get_preset("DAG#3 (mixed)").cell
    assert node_path_counts(dag3)[dag3.output] == metrics(dag3).paths == 4
    text = depth_width_formulas(metrics(dag3))
    assert "= 1.25$$" in text and "\\frac{3}{1.25} = 2.4" in text  # Chen et al.: d̄ = 1.25, m̄ = 2.4
    skip = metrics(get_preset("NB201 all-skip").cell)
    assert "undefined" in depth_width_formulas(skip)


def test_open_in_editor_switches_page_with_the_cell() -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.switch_page("pages/compare.py").run()
    at.selectbox(key="cmp_preset").select("DAG#3 (mixed)").run()
    at.button(key="cmp_open_0").click().run()
    assert not at.exception
    assert at.session_state["cell"] == get_preset("DAG#3 (mixed)").cell
    assert {m.label: m.value for m in at.metric}["Effective width m̄"] == "2.4"


def test_the_compare_list_is_in_the_url_and_survives_a_reload() -> None:
    """QA: Compare's list was lost on reload and was not in the URL."""
    import json

    names = ("DAG#1 (sequential)", "NB201 all-skip", "DARTS-V2 normal cell")
    at = AppTest.from_file(COMPARE, default_timeout=60).run()
    for name in names:
        at.selectbox(key="cmp_preset").select(name).run()
    qp = at.query_params["compare"]
    texts = json.loads(qp[0] if isinstance(qp, list) else qp)
    assert texts == [get_preset(n).cell.to_text() for n in names]
    assert at.selectbox(key="cmp_preset").value is None  # ready for the next pick

    reloaded = AppTest.from_file(COMPARE, default_timeout=60)  # a new session on the same URL
    reloaded.query_params["compare"] = json.dumps(texts)
    reloaded.run()
    assert not reloaded.exception
    assert [c for _, c in reloaded.session_state["compare_cells"]] == [get_preset(n).cell for n in names]
    assert [n for n, _ in reloaded.session_state["compare_cells"]] == list(names)

    reloaded.button(key="cmp_rm_0").click().run()
    qp = reloaded.query_params["compare"]
    assert json.loads(qp[0] if isinstance(qp, list) else qp) == texts[1:]


def test_a_bad_compare_link_says_so() -> None:
    at = AppTest.from_file(COMPARE, default_timeout=60)
    at.query_params["compare"] = '["|not a cell"]'
    at.run()
    assert not at.exception
    assert at.session_state["compare_cells"] == []
    assert any("Compare list in the link could not be read" in e.value for e in at.error)
