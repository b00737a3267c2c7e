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
        # the link's query survives the hand-over (the page may add its own state, e.g. ?cell=)
        path, _, query = page.url.partition("?")
        assert path.endswith("/compare") and "from=link" in query.split("&")


def test_no_page_reaches_outside_the_server(browser, tmp_path):
    """Offline hosts (these machines, a lecture hall's laptop) must get the whole app from the
    server: every request of every page goes to it (a :material: page icon used to go to Google)."""
    from urllib.parse import urlparse

    from tests.e2e.conftest import SHELL_NAV, wait_idle

    pages = ["", "compare", "browse", "proxies", "jobs", "experiments", "nas_filter", "principles"]
    with run_streamlit({"EXPLORER_DATA_DIR": str(tmp_path), "EXPLORER_JOBS_REFRESH_S": "0"}, log_dir=tmp_path) as base:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        outside: list[str] = []
        ctx.on("request", lambda r: outside.append(r.url)
               if urlparse(r.url).hostname not in ("127.0.0.1", None) and not r.url.startswith("data:") else None)
        page = ctx.new_page()
        for name in pages:
            page.goto(f"{base}/{name}")
            page.wait_for_selector(SHELL_NAV, timeout=60_000)
            wait_idle(page)
            page.wait_for_timeout(500)
        ctx.close()
    assert not outside, sorted(set(outside))
