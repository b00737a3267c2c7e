"""The editor's React Flow canvas in a real browser: edges drawn by dragging between handles, a
node added from the pane menu, an edge's op changed through its "Edit Edge" dialog, and a label
that names no op refused. Each check reads the cell Python rebuilt from what the canvas sent back
(ui/canvas.py): the metrics, the ``?cell=`` URL and the edge-op table."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, quote, urlparse

import pytest

from explorer.cell.model import Cell, parse_cell
from explorer.cell.presets import get_preset
from tests.e2e.conftest import run_streamlit, wait_idle

pytestmark = pytest.mark.browser

CHAIN = get_preset("DAG#1 (sequential)").cell  # 0 → 1 → 2 → 3, all linear: P = 1, d̄ = 3
# The chain plus an unconnected intermediate node 3 ("side"); the output is node 4.
CHAIN_AND_FREE_NODE = CHAIN.add_node("intermediate", "side")
# P = 4, d̄ = 1.25. The tests edit e4, the skip 1 → 3: its label sits clear of the others. The labels
# of 0 → 3 and 1 → 2 are drawn on the same spot (the layout puts both edges' midpoints at (225, 47.5)),
# so only the top one of those two can be right-clicked by its label.
MIXED = get_preset("DAG#3 (mixed)").cell
FLOW = 'iframe[title*="streamlit_flow"]'


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with run_streamlit(log_dir=tmp_path_factory.mktemp("streamlit")) as url:
        yield url


def metric(page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def url_cell(page) -> Cell:
    """The cell the page's ``?cell=`` query parameter holds."""
    return parse_cell(parse_qs(urlparse(page.url).query)["cell"][0])


def wiring(cell: Cell) -> tuple:
    """Roles, labels and the set of edges: canvas edits may store new edges in another order."""
    return cell.roles, cell.labels, sorted((e.src, e.dst, e.op) for e in cell.edges)


def wait_for_url_cell(page, want: Cell, timeout_s: float = 20) -> None:
    """Wait until the URL holds ``want`` (the canvas round trip takes up to ~2 s here)."""
    deadline = time.monotonic() + timeout_s
    while wiring(url_cell(page)) != wiring(want) and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert wiring(url_cell(page)) == wiring(want)


def open_cell(new_page, app_url: str, cell: Cell):
    """The editor on ``cell`` with its canvas mounted and scrolled into view (mouse coordinates
    taken from bounding boxes stay valid only while the page does not scroll)."""
    from playwright.sync_api import expect

    page = new_page(f"{app_url}/?cell={quote(cell.to_text(), safe='')}")
    canvas = page.frame_locator(FLOW)
    expect(canvas.locator(".react-flow__node")).to_have_count(cell.n_nodes, timeout=30_000)
    page.locator(FLOW).scroll_into_view_if_needed()
    wait_idle(page)  # the component's first echo reruns the canvas fragment
    return page, canvas


def node(canvas, v: int):
    return canvas.locator(f'.react-flow__node[data-id="n{v}"]')


def connect(page, canvas, src: int, dst: int) -> None:
    """Draw src → dst: press on src's source handle (right), move in steps (React Flow follows
    mousemove events), release on dst's target handle (left)."""
    a = node(canvas, src).locator(".react-flow__handle.source").bounding_box()
    b = node(canvas, dst).locator(".react-flow__handle.target").bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=12)
    page.mouse.up()


def test_edges_dragged_between_handles_put_a_free_node_on_a_path(app_url, new_page) -> None:
    from playwright.sync_api import expect

    page, canvas = open_cell(new_page, app_url, CHAIN_AND_FREE_NODE)
    expect(metric(page, "Paths P")).to_have_text("1")
    expect(metric(page, "Effective depth d̄")).to_have_text("3")

    connect(page, canvas, 0, 3)
    # A drawn edge has no label; it takes the cell's most used parameterized op (linear).
    wait_for_url_cell(page, CHAIN_AND_FREE_NODE.add_edge(0, 3, "linear"))
    wait_idle(page)
    expect(metric(page, "Paths P")).to_have_text("1")  # 0 → 3 is a dead end until 3 → 4 exists
    expect(canvas.locator(".react-flow__edge")).to_have_count(4, timeout=20_000)

    connect(page, canvas, 3, 4)
    expect(metric(page, "Paths P")).to_have_text("2", timeout=20_000)
    expect(metric(page, "Effective depth d̄")).to_have_text("2.5")  # depths 3 and 2
    wait_for_url_cell(page, CHAIN_AND_FREE_NODE.add_edge(0, 3, "linear").add_edge(3, 4, "linear"))
    # The canvas is redrawn from the cell: the new edges carry their op as label.
    expect(canvas.locator(".react-flow__edge-text").filter(has_text="linear")).to_have_count(5, timeout=20_000)
    assert page.get_by_test_id("stException").count() == 0


def test_node_added_from_the_pane_menu_then_wired_in_adds_a_path(app_url, new_page) -> None:
    from playwright.sync_api import expect

    page, canvas = open_cell(new_page, app_url, CHAIN)
    expect(metric(page, "Paths P")).to_have_text("1")

    # Right-click the empty pane below node 1: Create New Node, content "side", Create Node.
    box = node(canvas, 1).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 160, button="right")
    canvas.get_by_role("button", name="Create New Node").click()
    canvas.get_by_placeholder("nodeContent").fill("side")
    canvas.get_by_role("button", name="Create Node").click()
    deadline = time.monotonic() + 20
    while url_cell(page).n_nodes == CHAIN.n_nodes and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    page.wait_for_timeout(1_500)  # a node change remounts the canvas, which echoes its state once more
    wait_idle(page)
    # The new node is intermediate node 3 and the output moves to 4; the chain keeps its edges.
    assert wiring(url_cell(page)) == wiring(CHAIN_AND_FREE_NODE)
    expect(canvas.locator(".react-flow__node")).to_have_count(5)
    expect(node(canvas, 3)).to_have_text("3 (side)")
    expect(metric(page, "Paths P")).to_have_text("1")

    connect(page, canvas, 0, 3)
    wait_for_url_cell(page, CHAIN_AND_FREE_NODE.add_edge(0, 3, "linear"))
    wait_idle(page)
    connect(page, canvas, 3, 4)
    expect(metric(page, "Paths P")).to_have_text("2", timeout=20_000)
    expect(metric(page, "Effective depth d̄")).to_have_text("2.5")
    assert page.get_by_test_id("stException").count() == 0


def edit_edge_label(canvas, edge_id: str, label: str) -> None:
    """Right-click the edge's label, Edit Edge, type ``label`` into Edge Label, Save Changes."""
    canvas.locator(f'[data-testid="rf__edge-{edge_id}"] .react-flow__edge-text').click(button="right")
    canvas.get_by_role("button", name="Edit Edge").click()
    canvas.get_by_placeholder("edgeLabel").fill(label)
    canvas.get_by_role("button", name="Save Changes").click()


def test_edit_edge_dialog_changes_the_op(app_url, new_page) -> None:
    from playwright.sync_api import expect

    page, canvas = open_cell(new_page, app_url, MIXED)
    expect(metric(page, "Paths P")).to_have_text("4")
    expect(metric(page, "Effective depth d̄")).to_have_text("1.25")  # path depths 0, 1, 2, 2
    assert (MIXED.edges[4].src, MIXED.edges[4].dst, MIXED.edges[4].op) == (1, 3, "skip_connect")

    # 1 → 3 becomes a linear layer: 0 → 1 → 3 has depth 2, so d̄ = (0 + 2 + 2 + 2) / 4.
    edit_edge_label(canvas, "e4", "linear")
    expect(metric(page, "Effective depth d̄")).to_have_text("1.5", timeout=20_000)
    expect(metric(page, "Paths P")).to_have_text("4")
    wait_for_url_cell(page, MIXED.with_op(4, "linear"))
    wait_idle(page)
    # The edge-op table and the canvas follow.
    expect(page.get_by_role("combobox", name="op of edge 4")).to_have_value("linear")
    expect(canvas.locator('[data-testid="rf__edge-e4"] .react-flow__edge-text')).to_have_text("linear")
    assert page.get_by_test_id("stException").count() == 0


def test_edit_edge_dialog_refuses_a_label_that_is_not_an_op(app_url, new_page) -> None:
    from playwright.sync_api import expect

    page, canvas = open_cell(new_page, app_url, MIXED)
    expect(metric(page, "Effective depth d̄")).to_have_text("1.25")
    before = page.url

    edit_edge_label(canvas, "e4", "conv_9x9")
    warning = page.get_by_test_id("stAlert").filter(has_text="'conv_9x9' is not an op")
    expect(warning).to_be_visible(timeout=20_000)
    expect(warning).to_contain_text("kept skip_connect")
    wait_idle(page)
    # Nothing changed: same numbers, same URL, and the canvas is redrawn with the old op.
    expect(metric(page, "Effective depth d̄")).to_have_text("1.25")
    expect(metric(page, "Paths P")).to_have_text("4")
    assert page.url == before
    expect(canvas.locator('[data-testid="rf__edge-e4"] .react-flow__edge-text')).to_have_text(
        "skip_connect", timeout=20_000)
    expect(page.get_by_role("combobox", name="op of edge 4")).to_have_value("skip_connect")
    assert page.get_by_test_id("stException").count() == 0
