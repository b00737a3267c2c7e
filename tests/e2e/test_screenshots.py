"""Every page (but the editor, see test_editor.py) in a real browser: it renders without an exception,
and its screenshot is saved to docs/screenshots/ for the user guide, so the guide stays current."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.conftest import run_streamlit, wait_idle
from tests.warehouse_fixtures import nb201_warehouse  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

SHOTS = REPO / "docs" / "screenshots"
# URL path → the page's title (st.title), which shows that the right page rendered.
PAGES = {
    "compare": "Compare cells",
    "browse": "Warehouse",
    "proxies": "Zero-cost proxies",
    "jobs": "Jobs",
    "experiments": "Experiment results",
    "nas_filter": "NAS filter lab",
    "principles": "Principles lab",
}

COMPARED = ["DAG#1 (sequential)", "DAG#2 (parallel)", "DAG#3 (mixed)"]  # Chen et al.'s Figure 1 cells


def _add_presets(page, names: list[str]) -> None:
    for name in names:
        page.get_by_test_id("stSelectbox").filter(has_text="Preset").click()
        page.get_by_role("option", name=name, exact=True).click()
        wait_idle(page)
    page.get_by_role("heading", name="Metrics").wait_for(timeout=30_000)


def test_pages_render_and_screenshots(nb201_warehouse: Path, new_page, tmp_path: Path):  # noqa: F811
    env = {"EXPLORER_WAREHOUSE": str(nb201_warehouse), "EXPLORER_DATA_DIR": str(tmp_path / "data"),
           "EXPLORER_DB_URL": f"sqlite:///{tmp_path / 'jobs.sqlite'}",
           "EXPLORER_ARTIFACT_DIR": str(tmp_path / "artifacts"), "EXPLORER_READ_ONLY": "0"}
    SHOTS.mkdir(parents=True, exist_ok=True)
    with run_streamlit(env=env, log_dir=tmp_path) as url:
        page = new_page(url + "/" + next(iter(PAGES)))
        for path, title in PAGES.items():
            if page.url.rstrip("/") != f"{url}/{path}":
                page.goto(f"{url}/{path}")
                wait_idle(page)
            page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=30_000)
            wait_idle(page)
            if path == "compare":
                _add_presets(page, COMPARED)
            page.wait_for_timeout(700)  # let charts finish drawing before the screenshot
            assert page.get_by_test_id("stException").count() == 0, f"/{path} shows an exception"
            shot = tmp_path / f"{path}.png"
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000, f"/{path}: an empty screenshot"
            shutil.copyfile(shot, SHOTS / f"{path}.png")
