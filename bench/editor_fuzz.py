"""Long random sessions on the cell editor in a real browser (tests/e2e/editor_driver.py): after
every settled step all views must show one cell, with no exception and a clean console.

    PYTHONPATH=$PWD .venv/bin/python bench/editor_fuzz.py --steps 2000 --seed 7 [--fast 0.3] [--minutes 30]

Runs seeds seed, seed+1, … until ``--steps`` steps are done or ``--minutes`` have passed; on a
failure it prints the seed and the steps (which replay it) and exits 1.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, SHELL_NAV, run_streamlit, wait_idle  # noqa: E402
from tests.e2e.editor_driver import InvariantError, run  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=2000, help="steps in all")
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--session-steps", type=int, default=100, help="steps per browser session (one seed)")
    ap.add_argument("--fast", type=float, default=0.3, help="share of faster-than-human actions")
    ap.add_argument("--minutes", type=float, default=60.0, help="stop after this long")
    ap.add_argument("--verbose", action="store_true", help="print every step")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    done, seed, started = 0, args.seed, time.monotonic()
    missed: dict[str, int] = {}
    with run_streamlit(log_dir=Path(tempfile.mkdtemp())) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        while done < args.steps and time.monotonic() - started < args.minutes * 60:
            n = min(args.session_steps, args.steps - done)
            ctx = browser.new_context(viewport={"width": 1500, "height": 1100})
            page = ctx.new_page()
            page.goto(url)
            page.wait_for_selector(SHELL_NAV, timeout=60_000)
            wait_idle(page)
            t0 = time.monotonic()
            try:
                s = run(page, seed, n, fast_share=args.fast, log=print if args.verbose else None)
            except InvariantError as exc:
                print(f"FAIL seed {seed} after {done} steps in earlier seeds:\n{exc}", flush=True)
                return 1
            finally:
                ctx.close()
            for k, v in s.missed.items():
                missed[k] = missed.get(k, 0) + v
            done += n
            print(f"seed {seed}: {n} steps ok in {time.monotonic() - t0:.0f} s "
                  f"({sum(s.missed.values())} actions missed a moving page); {done} steps in all", flush=True)
            seed += 1
        browser.close()
    print(f"OK: {done} steps, seeds {args.seed}..{seed - 1}, {time.monotonic() - started:.0f} s; "
          f"missed actions by kind: {missed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
