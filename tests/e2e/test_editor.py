"""The editor in a real browser: a cell from the URL, an op changed in the table, an edge deleted
on the React Flow canvas, and a screenshot for the user guide."""

from __future__ import annotations

import shutil
from urllib.parse import quote

import pytest

from explorer.cell.presets import get_preset
from tests.conftest import REPO
from tests.e2e.conftest import run_streamlit, wait_idle
from tests.e2e.editor_driver import Session

pytestmark = pytest.mark.browser

RESNET = get_preset("NB201 ResNet cell").cell
SCREENSHOT = REPO / "docs" / "screenshots" / "editor.png"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with run_streamlit(log_dir=tmp_path_factory.mktemp("streamlit")) as url:
        yield url


def metric(page, label: str):
    """The value element of the metric whose label is ``label``."""
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def select_option(page, label: str, option: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_url_cell_table_edit_and_canvas_delete(app_url, new_page, tmp_path) -> None:
    from playwright.sync_api import expect

    page = new_page(f"{app_url}/?cell={quote(RESNET.to_text(), safe='')}")
    expect(metric(page, "Paths P")).to_have_text("2", timeout=30_000)
    expect(metric(page, "Effective depth d̄")).to_have_text("1")
    assert page.get_by_test_id("stException").count() == 0

    # Change an op in the edge table: 2 → 3 from skip to a conv makes both paths deeper.
    select_option(page, "2 → 3", "nor_conv_3x3")
    wait_idle(page)
    expect(metric(page, "Effective depth d̄")).to_have_text("1.5", timeout=15_000)
    assert "nor_conv_3x3~2" in page.url.replace("%7E", "~")
    canvas = page.frame_locator('iframe[title*="streamlit_flow"]')
    # The canvas follows the table: edge 2 → 3 (e5) now carries the conv.
    expect(canvas.locator('[data-testid="rf__edge-e5"] .react-flow__edge-text')).to_have_text(
        "nor_conv_3x3", timeout=15_000)

    # Delete the edge 0 → 3 (skip) on the canvas: one path fewer.
    edge = canvas.locator('.react-flow__edge[data-testid="rf__edge-e3"]')
    expect(edge).to_have_count(1, timeout=20_000)
    edge.locator(".react-flow__edge-text").click(button="right")
    canvas.get_by_role("button", name="Delete Edge").click()
    expect(metric(page, "Paths P")).to_have_text("1", timeout=20_000)
    wait_idle(page)
    # The table follows the canvas: the deleted NB201 edge is now `none`.
    expect(page.get_by_role("combobox", name="0 → 3")).to_have_value("none")
    assert page.get_by_test_id("stException").count() == 0

    page.wait_for_timeout(500)  # let the canvas finish redrawing
    shot = tmp_path / "editor.png"
    page.screenshot(path=str(shot))
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)
    assert shot.stat().st_size > 10_000


def test_downloads_are_made_on_click_and_hold_the_current_cell(app_url, new_page) -> None:
    from explorer.cell.model import parse_cell

    page = new_page(f"{app_url}/?cell={quote(RESNET.to_text(), safe='')}")
    page.get_by_role("tab", name="Graph & downloads").click()
    wait_idle(page)
    from playwright.sync_api import expect

    select_option(page, "2 → 3", "nor_conv_3x3")  # a rerun between drawing the button and the click
    expect(metric(page, "Effective depth d̄")).to_have_text("1.5", timeout=15_000)
    Session(page, seed=0).settle()  # the canvas echoes its new state with one more run: let it end
    for label, parse in (("Cell JSON", parse_cell), ("NB201 arch string", parse_cell)):
        with page.expect_download(timeout=30_000) as info:
            page.get_by_role("button", name=label).click()
        cell = parse(open(info.value.path()).read())
        assert cell == RESNET.with_op(next(k for k, e in enumerate(RESNET.edges) if (e.src, e.dst) == (2, 3)),
                                      "nor_conv_3x3")
    assert page.get_by_test_id("stException").count() == 0


def test_darts_inputs_and_canvas_nodes_are_not_hidden(app_url, new_page) -> None:
    """QA: DARTS "from" selects were cut off, and the canvas's zoom buttons covered an input node."""
    from playwright.sync_api import expect

    darts = get_preset("NASNet-A normal cell").cell  # 5 intermediate nodes: "from 6" is the longest
    page = new_page(f"{app_url}/?cell={quote(darts.to_text(), safe='')}")
    Session(page, seed=0).settle()
    boxes = page.get_by_role("combobox", name="input 2 of node 6")
    expect(boxes).to_have_value("from 1")
    # The shown value fits its box (no ellipsis, nothing scrolled out of view).
    for j in (1, 2):
        for k in range(2, 7):
            box = page.get_by_role("combobox", name=f"input {j} of node {k}")
            assert box.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), (j, k)
    # Every node's centre on the canvas is the node itself, not a control drawn over it.
    frame = next(f for f in page.frames if "streamlit_flow" in (f.url or ""))
    covered = frame.evaluate("""() => [...document.querySelectorAll('.react-flow__node')].filter(n => {
        const r = n.getBoundingClientRect();
        for (const [x, y] of [[r.left + 3, r.bottom - 3], [r.left + r.width / 2, r.top + r.height / 2]]) {
            const hit = document.elementFromPoint(x, y);
            if (hit && !n.contains(hit)) return true;
        }
        return false; }).map(n => n.getAttribute('data-id'))""")
    assert covered == []
