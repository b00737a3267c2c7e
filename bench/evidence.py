"""Editor latency with and without the benchmark evidence panel, in a real browser.

The same command runs the editor twice on the NB201 ResNet cell: once with a built warehouse (the
panel shows the cell's accuracies, the edit map and the nearby bests) and once pointed at a missing
warehouse (the panel is one caption). Each edit toggles edge 2 → 3 between skip and conv 3x3 in the
edge table; the time runs from the mousedown on the option to the animation frame that shows the
new value: the panel's CIFAR-10 accuracy with the panel, d̄ without it. The two cells alternate,
so after the first round each lookup is a cache hit (st.cache_data per cell text and warehouse
stamp); the first visit of a cell costs one lookup more (timed in tests: about 50-90 ms here).

    .venv/bin/python bench/evidence.py [--edits 12] [--warehouse FILE]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.editor import ARM, SHOWN, settle  # noqa: E402
from explorer.benchmarks.evidence import lookup  # noqa: E402
from explorer.benchmarks.warehouse import open_shared  # noqa: E402
from explorer.cell.model import Cell  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, wait_idle  # noqa: E402

RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
CONV = RESNET.replace("skip_connect~2", "nor_conv_3x3~2")


def _serve(port: int, log: Path, env: dict[str, str]):
    import os
    import subprocess
    import time
    import urllib.request

    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.port={port}",
         "--server.address=127.0.0.1", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"],
        cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT, env={**os.environ, **env})
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log}") from None
            time.sleep(0.2)


def _edits(page, edits: int, targets: list[tuple[str, str, str]]) -> list[float]:
    out = []
    for i in range(edits + 1):  # the first edit warms caches and is not counted
        op, label, want = targets[i % 2]
        page.get_by_test_id("stSelectbox").filter(has_text="2 → 3").click()
        option = page.get_by_role("option", name=op, exact=True)
        option.wait_for()
        page.evaluate(ARM)
        option.click()
        page.wait_for_function(SHOWN, arg=[label, want], polling="raf", timeout=30_000)
        ms = page.evaluate("() => window.__t1 - window.__t0")
        settle(page)
        if i:
            out.append(ms)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=12)
    parser.add_argument("--warehouse", help="a built warehouse (default: build one in a temporary folder)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        db = Path(args.warehouse) if args.warehouse else Path(tmp) / "wh.duckdb"
        if not args.warehouse:
            from explorer.benchmarks.ensure import build, default_inputs

            build(db, default_inputs())
        wh = open_shared(db)
        acc = {s: f"{lookup(wh, Cell.from_nb201(s)).matches[0].accuracy('cifar10'):.2f}" for s in (RESNET, CONV)}
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        results: dict[str, list[float]] = {}
        runs = (
            ("without the panel (no warehouse)", {"EXPLORER_WAREHOUSE": str(Path(tmp) / "missing.duckdb")},
             [("nor_conv_3x3", "Effective depth d̄", "1.5"), ("skip_connect", "Effective depth d̄", "1")]),
            ("with the evidence panel", {"EXPLORER_WAREHOUSE": str(db)},
             [("nor_conv_3x3", "CIFAR-10 test %", acc[CONV]), ("skip_connect", "CIFAR-10 test %", acc[RESNET])]),
        )
        for name, env, targets in runs:
            port = free_port()
            proc = _serve(port, Path(tmp) / f"{port}.log", env)
            try:
                page = browser.new_context(viewport={"width": 1500, "height": 1100}).new_page()
                page.goto(f"http://127.0.0.1:{port}/?cell={quote(RESNET, safe='')}")
                wait_idle(page, 90_000)
                results[name] = _edits(page, args.edits, targets)
                page.context.close()
            finally:
                proc.terminate()
                proc.wait(10)
        browser.close()
    base = statistics.median(results[runs[0][0]])
    print(f"{'':34s} {'median ms':>10s} {'p90 ms':>8s} {'ratio':>6s}")
    for name, ms in results.items():
        p90 = sorted(ms)[int(0.9 * (len(ms) - 1))]
        print(f"{name:34s} {statistics.median(ms):10.0f} {p90:8.0f} {statistics.median(ms) / base:6.2f}")
    print(f"added by the panel: {statistics.median(results[runs[1][0]]) - base:+.0f} ms median "
          f"({args.edits} edits each: table op change → value painted; the two cells alternate, so after the "
          "first two edits every lookup is a cache hit)")


if __name__ == "__main__":
    main()
