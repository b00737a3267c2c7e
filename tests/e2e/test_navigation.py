"""Deep links work on a freshly started server (the first session opens a page, not the root)."""

import pytest

from tests.e2e.conftest import run_streamlit

pytestmark = pytest.mark.browser


def test_deep_link_on_fresh_server_gets_app_shell_and_keeps_query(new_page, tmp_path):
    with run_streamlit({"EXPLORER_DATA_DIR": str(tmp_path)}, log_dir=tmp_path) as base:
        page = new_page(base + "/compare?from=link")
        page.wait_for_selector('[data-testid="stSidebarNav"]:has-text("Zero-cost proxies")', timeout=30_000)
        nav = page.get_by_test_id("stSidebarNav").inner_text()
        # The app's own navigation titles, not the file names Streamlit shows for bare pages/.
        assert "Warehouse" in nav and "NAS filter lab" in nav and "nas filter" not in nav
        assert page.locator("h1").first.inner_text() == "Compare cells"
        assert page.url.endswith("/compare?from=link")
