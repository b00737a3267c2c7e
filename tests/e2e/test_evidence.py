"""The editor's evidence panel in a real browser: the ResNet preset's accuracies equal the warehouse
rows, a table edit shows the new cell's, a click on the edit map applies that edit, and a cell
outside NB201 shows its connectivity neighbours, labelled as such."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from explorer.benchmarks.warehouse import open_shared
from explorer.cell.presets import get_preset
from tests.e2e.conftest import run_streamlit, wait_idle
from tests.warehouse_fixtures import nb201_warehouse  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
LABELS = {"cifar10": "CIFAR-10 test %", "cifar100": "CIFAR-100 test %", "imagenet16": "ImageNet16-120 test %"}


def _acc(wh, arch: str) -> dict[str, str]:
    df = wh.query("SELECT r.dataset, r.test_acc FROM results r JOIN architectures a USING (arch_id) "
                  f"WHERE a.arch_str = '{arch}' AND r.schedule = '200ep'").frame
    return {LABELS[d]: f"{a:.2f}" for d, a in df.itertuples(index=False) if d in LABELS}


def _shown(page) -> dict[str, str]:
    panel = page.locator(".st-key-evidence_panel")
    return {label: panel.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")
            .inner_text().strip() for label in LABELS.values()}


def _cell_in_url(page) -> str:
    from urllib.parse import parse_qs, urlparse

    return parse_qs(urlparse(page.url).query)["cell"][0]


def test_preset_edit_and_map_click(nb201_warehouse: Path, new_page, tmp_path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    wh = open_shared(nb201_warehouse)
    with run_streamlit(env={"EXPLORER_WAREHOUSE": str(nb201_warehouse)}, log_dir=tmp_path) as url:
        page = new_page(url + "/?cell=" + "%7Cnone~0%7C%2B%7Cnone~0%7Cnone~1%7C%2B%7Cnone~0%7Cnone~1%7Cnone~2%7C")
        page.get_by_test_id("stSelectbox").filter(has_text="Preset").click()
        page.get_by_role("option", name="NB201 ResNet cell", exact=True).click()
        wait_idle(page)
        expect(page.locator(".st-key-evidence_panel")).to_contain_text("CIFAR-10 test %", timeout=30_000)
        assert _cell_in_url(page) == RESNET
        assert _shown(page) == _acc(wh, RESNET)

        # One edge changed in the table: the panel shows the new cell's accuracies.
        page.get_by_test_id("stSelectbox").filter(has_text="2 → 3").click()
        page.get_by_role("option", name="nor_conv_1x1", exact=True).click()
        edited = RESNET.replace("skip_connect~2", "nor_conv_1x1~2")
        want = _acc(wh, edited)
        page.wait_for_function("want => { const p = document.querySelector('.st-key-evidence_panel');"
                               " return p && p.innerText.includes(want); }", arg=want[LABELS["cifar100"]],
                               timeout=30_000)
        wait_idle(page)
        assert _cell_in_url(page) == edited and _shown(page) == want

        # A click on the map's square (edge 0 → 1, op none) applies that edit.
        chart = page.locator(".st-key-evidence_panel").get_by_test_id("stPlotlyChart").first
        chart.scroll_into_view_if_needed()
        points = chart.locator(".scatterlayer path.point")
        expect(points).to_have_count(30, timeout=30_000)
        # Squares are drawn edge by edge (arch-string order), ops in NB201_OPS order: index 0 = (0 → 1, none).
        box = points.nth(0).bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        clicked = edited.replace("|nor_conv_3x3~0|+", "|none~0|+", 1)
        page.wait_for_function("want => new URL(location.href).searchParams.get('cell') === want", arg=clicked,
                               timeout=30_000)
        wait_idle(page)
        page.wait_for_function("want => { const p = document.querySelector('.st-key-evidence_panel');"
                               " return p && p.innerText.includes(want); }",
                               arg=_acc(wh, clicked)[LABELS["cifar10"]], timeout=30_000)
        assert _shown(page) == _acc(wh, clicked)

        # A cell outside NB201: the connectivity neighbours, labelled as other cells.
        # (by link: the preset box lists the presets of the current space only)
        darts = get_preset("DARTS-V2 normal cell").cell.to_text()
        page = new_page(url + "/?cell=" + quote(darts, safe=""))
        panel = page.locator(".st-key-evidence_panel")
        expect(panel).to_contain_text("Cells with this connectivity", timeout=30_000)
        expect(panel).to_contain_text("not a prediction of this cell")
        assert page.get_by_test_id("stException").count() == 0
