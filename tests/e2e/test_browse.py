"""The warehouse page in a real browser: narrowing the d̄ range changes the row count and Figure 5."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import run_streamlit, wait_idle
from tests.warehouse_fixtures import nb201_warehouse  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

# Plotly draws one path.point per marker; only the bubble trace has markers.
BUBBLES = "el => el.querySelectorAll('.scatterlayer path.point').length"


def _state(page) -> tuple[int, int]:
    rows = int(page.get_by_test_id("stMetricValue").first.inner_text().replace(",", ""))
    bubbles = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first.evaluate(BUBBLES)
    return rows, bubbles


def test_filter_by_depth_changes_rows_and_bubbles(nb201_warehouse: Path, new_page, tmp_path):  # noqa: F811
    with run_streamlit(env={"EXPLORER_WAREHOUSE": str(nb201_warehouse)}, log_dir=tmp_path) as url:
        page = new_page(url + "/browse")
        page.get_by_test_id("stPlotlyChart").first.wait_for()
        rows0, bubbles0 = _state(page)
        assert rows0 == 15_625 and bubbles0 > 20
        slider = page.get_by_test_id("stSidebar").get_by_test_id("stSlider").filter(has_text="Effective depth")
        slider.scroll_into_view_if_needed()  # the sidebar's navigation can push it below the fold
        # One click on the track, left of centre, moves the low thumb there (one rerun).
        track = slider.get_by_role("slider").first.locator("xpath=..").bounding_box()
        thumb_low = slider.get_by_role("slider").first.bounding_box()
        thumb_high = slider.get_by_role("slider").last.bounding_box()
        assert track and thumb_low and thumb_high
        x0, x1 = thumb_low["x"], thumb_high["x"] + thumb_high["width"]
        page.mouse.click(x0 + 0.35 * (x1 - x0), thumb_low["y"] + thumb_low["height"] / 2)
        page.wait_for_function(
            """n => document.querySelector('[data-testid="stMetricValue"]').innerText.replace(/,/g, '') != n""",
            arg=str(rows0), timeout=20_000)
        wait_idle(page)
        rows1, bubbles1 = _state(page)
        assert 0 < rows1 < rows0
        assert 0 < bubbles1 < bubbles0
        assert page.get_by_test_id("stException").count() == 0


def _rows(page) -> int:
    return int(page.get_by_test_id("stMetricValue").first.inner_text().replace(",", ""))


def _press_and_count(page, thumb, key: str, before: int) -> int:
    """Press ``key`` on a focused slider thumb; the architecture count once the page reran with the new range."""
    thumb.focus()
    page.keyboard.press(key)
    page.wait_for_function(
        """n => document.querySelector('[data-testid="stMetricValue"]').innerText.replace(/,/g, '') != n""",
        arg=str(before), timeout=20_000)
    wait_idle(page)
    return _rows(page)


def test_keyboard_steps_on_the_depth_slider_change_the_rows(nb201_warehouse: Path, new_page, tmp_path):  # noqa: F811
    """Each arrow key moves a d̄ thumb to the next stored d̄ (NB201 has 15), so every press narrows the set.
    With a 0.01 step most presses landed between two stored values and the count stayed put."""
    with run_streamlit(env={"EXPLORER_WAREHOUSE": str(nb201_warehouse)}, log_dir=tmp_path) as url:
        page = new_page(url + "/browse")
        page.get_by_test_id("stPlotlyChart").first.wait_for()
        slider = page.get_by_test_id("stSidebar").get_by_test_id("stSlider").filter(has_text="Effective depth")
        slider.scroll_into_view_if_needed()
        low, high = slider.get_by_role("slider").first, slider.get_by_role("slider").last
        rows0 = _rows(page)
        assert rows0 == 15_625
        rows1 = _press_and_count(page, low, "ArrowRight", rows0)  # d̄ ≥ 1/3
        assert 0 < rows1 < rows0 and "0.33" in slider.inner_text()
        rows2 = _press_and_count(page, low, "ArrowRight", rows1)  # d̄ ≥ 1/2
        assert 0 < rows2 < rows1 and "0.50" in slider.inner_text()
        rows3 = _press_and_count(page, high, "ArrowLeft", rows2)  # d̄ ≤ 2.5
        assert 0 < rows3 < rows2 and "2.50" in slider.inner_text()
        rows4 = _press_and_count(page, low, "Home", rows3)  # 0.25 ≤ d̄ ≤ 2.5
        assert rows3 < rows4 < rows0
        assert _press_and_count(page, high, "End", rows4) == rows0  # the full range keeps undefined d̄
        assert page.get_by_test_id("stException").count() == 0
