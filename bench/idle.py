"""Idle CPU of ``explorer serve``: what the server costs when nobody is doing anything.

One ``explorer serve`` (app + one local worker, SQLite store and warehouse in a temporary data folder),
one Chromium session that opens the editor and changes the cell a few times, one ``selftest`` job run
to completion; then the session stays open on the editor and the CPU time of the whole server process
tree (serve, Streamlit, worker) is read from the OS over ``--seconds``. Baseline in the same command:
the same steps against the server as ``explorer serve`` ran it before (Streamlit's file watcher on,
``streamlit run`` defaults) plus a worker. Aim (issue 14): under 2 % of a core.

    .venv/bin/python bench/idle.py [--seconds 60] [--no-baseline]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psutil  # noqa: E402

from bench.load import clean_env  # noqa: E402
from explorer.cell.presets import get_preset  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, IDLE, SHELL_NAV  # noqa: E402

CELLS = ["NB201 ResNet cell", "DAG#1 (sequential)", "DAG#3 (mixed)", "NB201 ResNet cell"]


def wait_health(url: str, proc: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1).read()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start") from None
            time.sleep(0.3)


def tree_cpu_s(root: psutil.Process) -> float:
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def run_job(env: dict[str, str]) -> None:
    out = subprocess.run([sys.executable, "-m", "explorer", "submit", "selftest", "--spec", "{}", "--json"],
                         cwd=REPO, env=env, capture_output=True, text=True, check=True)
    job = json.loads(out.stdout)["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        show = subprocess.run([sys.executable, "-m", "explorer", "jobs", "show", str(job), "--json"],
                              cwd=REPO, env=env, capture_output=True, text=True, check=True)
        if json.loads(show.stdout)["status"] in ("succeeded", "failed", "cancelled"):
            return
        time.sleep(1)
    raise RuntimeError(f"job {job} did not finish")


def measure(label: str, argv_app: list[str], argv_worker: list[str] | None, seconds: float) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp:
        data = Path(tmp)
        config = data / "explorer.toml"
        config.write_text("")
        env = clean_env(data, config)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        subprocess.run([sys.executable, "-m", "explorer", "warehouse", "build", "--no-progress"], cwd=REPO, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        log = (data / "server.log").open("w")
        procs = [subprocess.Popen([a.replace("PORT", str(port)) for a in argv_app], cwd=REPO, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)]
        if argv_worker:
            procs.append(subprocess.Popen(argv_worker, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT))
        try:
            wait_health(url, procs[0])
            from playwright.sync_api import sync_playwright

            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                for name in CELLS:
                    page.goto(f"{url}/?cell={quote(get_preset(name).cell.to_text(), safe='')}")
                    page.wait_for_selector(SHELL_NAV, timeout=120_000)
                    page.wait_for_selector(IDLE, timeout=120_000)
                run_job(env)
                time.sleep(5)  # let the last rerun and the worker's bookkeeping settle
                roots = [psutil.Process(p.pid) for p in procs]
                before = sum(tree_cpu_s(r) for r in roots)
                t0 = time.monotonic()
                time.sleep(seconds)
                used = sum(tree_cpu_s(r) for r in roots) - before
                wall = time.monotonic() - t0
                browser.close()
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
            log.close()
        share = 100 * used / wall
        print(f"{label:<46} {used:7.2f} s CPU in {wall:.0f} s = {share:6.2f} % of a core", flush=True)
        return share


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--no-baseline", action="store_true", help="only the server as explorer serve runs it")
    args = ap.parse_args()
    py = sys.executable
    served = measure("explorer serve (app + worker)",
                     [py, "-m", "explorer", "serve", "--port", "PORT", "--address", "127.0.0.1", "--devices", "cpu",
                      "--no-warehouse"], None, args.seconds)
    if not args.no_baseline:
        old = measure("baseline: file watcher on (serve before the fix)",
                      [py, "-m", "streamlit", "run", "app.py", "--server.port=PORT", "--server.address=127.0.0.1",
                       "--server.headless=true", "--browser.gatherUsageStats=false",
                       "--server.folderWatchBlacklist=[]"],
                      [py, "-m", "explorer", "worker", "--devices", "cpu"], args.seconds)
        print(f"ratio served / baseline: {served / old if old else float('nan'):.3f}")
    print("aim: under 2 % of a core —", "met" if served < 2 else "NOT met")
    return 0 if served < 2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
