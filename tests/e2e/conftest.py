"""Real-browser fixtures: ``streamlit run app.py`` on a free loopback port, driven by Debian's
Chromium through Playwright (its own browser download does not work here)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
SHELL_NAV = '[data-testid="stSidebarNav"]:has-text("Cell editor")'

pytestmark = pytest.mark.browser


@contextmanager
def run_streamlit(env: dict[str, str] | None = None, log_dir: Path | None = None) -> Iterator[str]:
    """Start the app and yield its base URL; stop it afterwards."""
    port = free_port()
    log = open((log_dir or Path("/tmp")) / f"streamlit-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
         f"--server.port={port}", "--server.address=127.0.0.1", "--browser.gatherUsageStats=false",
         "--server.fileWatcherType=none"],
        cwd=REPO, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start; see {log.name}") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: scripts/test.sh installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def new_page(browser, tmp_path) -> Iterator[Callable]:
    """new_page(url) → a Playwright page that has finished its first script run."""
    contexts = []

    def open_page(url: str):
        ctx = browser.new_context(viewport={"width": 1500, "height": 1100})
        contexts.append(ctx)
        page = ctx.new_page()
        page.goto(url)
        # A deep link on a fresh server is handed from the bare page to app.py (ui.common.ensure_shell):
        # wait for the app's own navigation so no interaction lands between the two runs.
        page.wait_for_selector(SHELL_NAV, timeout=60_000)
        wait_idle(page)
        return page

    yield open_page
    for ctx in contexts:
        ctx.close()


def wait_idle(page, timeout_ms: int = 30_000) -> None:
    """Wait until the script run triggered by the last interaction has finished."""
    page.wait_for_timeout(150)  # let a rerun start before waiting for it to end
    page.wait_for_selector(IDLE, timeout=timeout_ms)
