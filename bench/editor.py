"""Editor latency in a real browser: from choosing an op in the edge table to the new d̄ on screen.

Runs ``streamlit run app.py`` and, as the baseline, a one-selectbox, one-metric Streamlit app in
the same process and the same Chromium, so the ratio says what the editor adds on top of a bare
Streamlit round trip on this machine. The time is taken inside the page: from the mousedown on the
option to the animation frame in which the metric shows the new value.

    .venv/bin/python bench/editor.py [--edits 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from explorer.cell.presets import get_preset  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, wait_idle  # noqa: E402

BASELINE_APP = textwrap.dedent("""
    import streamlit as st
    op = st.selectbox("2 → 3", ["skip_connect", "nor_conv_3x3"], key="op")
    st.metric("Effective depth d̄", "1" if op == "skip_connect" else "1.5")
""")

# Arm a timer on the next mousedown; the page keeps it in window.__t0.
ARM = "() => { window.__t0 = null; document.addEventListener('mousedown', " \
      "() => { if (window.__t0 === null) window.__t0 = performance.now(); }, {capture: true, once: true}); }"
SHOWN = """([label, want]) => {
    const m = [...document.querySelectorAll('[data-testid="stMetric"]')]
        .find(el => el.innerText.includes(label));
    const v = m && m.querySelector('[data-testid="stMetricValue"]');
    if (v && v.innerText.trim() === want) { window.__t1 = performance.now(); return true; }
    return false;
}"""


def serve(script: Path, port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless=true", f"--server.port={port}",
         "--server.address=127.0.0.1", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"],
        cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log}") from None
            time.sleep(0.2)


def settle(page, quiet_ms: int = 1000) -> None:
    """Wait until no script run (page or fragment: the canvas echoes its state after a redraw)
    has started for ``quiet_ms``: each edit is timed alone, at a person's pace."""
    page.evaluate("""() => { window.__last = performance.now();
        const app = document.querySelector('[data-testid="stApp"]');
        new MutationObserver(() => { window.__last = performance.now(); })
            .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); }""")
    while True:
        wait_idle(page)
        page.wait_for_timeout(quiet_ms)
        if page.evaluate(f"() => performance.now() - window.__last >= {quiet_ms}") and page.locator(
                '[data-testid="stApp"][data-test-script-state="notRunning"]').count():
            return


def edit_latencies(page, edits: int) -> list[float]:
    """Toggle edge 2 → 3 between skip (d̄ = 1) and conv 3x3 (d̄ = 1.5) ``edits`` times; ms each."""
    out = []
    for i in range(edits + 1):  # the first edit warms caches and is not counted
        op, want = ("nor_conv_3x3", "1.5") if i % 2 == 0 else ("skip_connect", "1")
        page.get_by_test_id("stSelectbox").filter(has_text="2 → 3").click()
        option = page.get_by_role("option", name=op, exact=True)
        option.wait_for()
        page.evaluate(ARM)
        option.click()
        page.wait_for_function(SHOWN, arg=["Effective depth d̄", want], polling="raf", timeout=30_000)
        ms = page.evaluate("() => window.__t1 - window.__t0")
        settle(page)
        if i:
            out.append(ms)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    resnet = get_preset("NB201 ResNet cell").cell
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        baseline_script = Path(tmp) / "baseline_app.py"
        baseline_script.write_text(BASELINE_APP)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for name, script, query in (
            ("baseline (bare Streamlit)", baseline_script, ""),
            ("cell editor", REPO / "app.py", f"/?cell={quote(resnet.to_text(), safe='')}"),
        ):
            port = free_port()
            proc = serve(script, port, Path(tmp) / f"{port}.log")
            try:
                page = browser.new_context(viewport={"width": 1500, "height": 1100}).new_page()
                page.goto(f"http://127.0.0.1:{port}{query}")
                wait_idle(page, 90_000)
                results[name] = edit_latencies(page, args.edits)
                page.context.close()
            finally:
                proc.terminate()
                proc.wait(10)
        browser.close()
    base = statistics.median(results["baseline (bare Streamlit)"])
    print(f"{'':28s} {'median ms':>10s} {'p90 ms':>8s} {'ratio':>6s}")
    for name, ms in results.items():
        p90 = sorted(ms)[int(0.9 * (len(ms) - 1))]
        print(f"{name:28s} {statistics.median(ms):10.0f} {p90:8.0f} {statistics.median(ms) / base:6.2f}")
    print(f"({args.edits} edits each: table op change → new d̄ painted)")


if __name__ == "__main__":
    main()
