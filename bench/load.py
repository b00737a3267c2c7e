"""Load: concurrent browser sessions on the editor and the warehouse page while two workers run jobs.

One ``streamlit run app.py`` on a temporary data directory (its warehouse built from the NB201 CSVs
with ``explorer warehouse build``), driven by Debian's Chromium through Playwright: one browser, one
context per session, each with two tabs (the editor on the NB201 ResNet cell, and ``/browse``).
Each round a session

- edits: picks the other op for edge 2 → 3 (skip ⇄ conv 3×3) and times, inside the page, from the
  pointerdown on the option to the animation frame that paints the new d̄ (1 ⇄ 1.5);
- filters: clicks the d̄ slider's track (narrow the low end to 35 % ⇄ back to the minimum) and times
  from the pointerdown to the frame that paints the new "Architectures" count (15,625 ⇄ fewer);

then waits until its page has been quiet for 1 s. A session switches to a tab (bring_to_front) before
using it. The first round of each session warms caches and is not counted. Baseline, in the same
command and against the same server: 1 session, no workers. Then the loaded run: ``--sessions``
sessions at once (joining ``--ramp`` seconds apart) while two ``explorer worker`` processes (SQLite job
store in the same data directory) are kept busy with small ``train`` jobs (the queue is topped up so
it never empties). Page errors (uncaught exceptions, console errors, crashes, ``stException`` and
error alerts on the page, Streamlit's "having trouble loading" notice of a component, tracebacks in
the server log) are counted; failed loads of external resources (no internet here) and Streamlit's
404s on ``<page>/_stcore/...`` are reported but not counted. Any page error makes the exit status 1,
as does a loaded run in which no job finished.

    .venv/bin/python bench/load.py [--sessions 10] [--rounds 8] [--quick] [--no-workers] [--ramp S]
                                   [--job-threads N] [--nb201-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlparse

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psutil  # noqa: E402

from db.store import JobStore, utcnow  # noqa: E402
from explorer.cell.presets import get_preset  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, IDLE, SHELL_NAV  # noqa: E402

WAIT_MS = 120_000  # per wait: 2 cores shared by 10 browser sessions, the app and two job processes
QUIET_MS = 1000
RESNET = get_preset("NB201 ResNet cell").cell
# One epoch on digits: 0.7 s alone on this machine, so many start and finish inside the window.
JOB = {"network": {"cell": RESNET.to_text(), "width": 64}, "epochs": 1}

# Arm a timer on the next pointerdown (as bench/editor.py does on mousedown; the slider cancels its
# pointerdown, which suppresses the mousedown). The page keeps it in window.__t0.
ARM = ("() => { window.__t0 = null; document.addEventListener('pointerdown', "
       "() => { if (window.__t0 === null) window.__t0 = performance.now(); }, {capture: true, once: true}); }")
# [label, want, not_want]: true (and the time in window.__t1) once the metric shows `want`, or, when
# `want` is null, anything other than `not_want`.
SHOWN = """([label, want, notWant]) => {
    const m = [...document.querySelectorAll('[data-testid="stMetric"]')].find(el => el.innerText.includes(label));
    const v = m && m.querySelector('[data-testid="stMetricValue"]');
    if (!v) return false;
    const text = v.innerText.trim();
    if (want !== null ? text === want : text !== notWant) { window.__t1 = performance.now(); return true; }
    return false;
}"""
METRIC = """label => { const m = [...document.querySelectorAll('[data-testid="stMetric"]')]
    .find(el => el.innerText.includes(label));
    return m ? m.querySelector('[data-testid="stMetricValue"]').innerText.trim() : null; }"""
QUIET_SINCE = """() => { window.__last = performance.now(); const app = document.querySelector('[data-testid="stApp"]');
    new MutationObserver(() => { window.__last = performance.now(); })
        .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); }"""
PROBE = re.compile(r"^/[^_].*/_stcore/(health|host-config)$")
ERROR_ELEMENTS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


@dataclass
class Timings:
    edit_ms: list[float] = field(default_factory=list)
    filter_ms: list[float] = field(default_factory=list)
    open_s: list[float] = field(default_factory=list)  # both tabs opened and quiet


@dataclass
class Errors:
    """Page errors (these fail the run) and network noise that is not the app's (counted, reported)."""

    items: list[str] = field(default_factory=list)
    noise: Counter = field(default_factory=Counter)
    phase: dict[str, str] = field(default_factory=dict)  # session "s3" → what it is doing
    start: float = field(default_factory=time.monotonic)

    def add(self, where: str, what: str) -> None:
        when = f"+{time.monotonic() - self.start:.0f} s, {self.phase.get(where.split()[0], '-')}"
        self.items.append(f"{where} ({when}): {what}")
        print(f"  ERROR {self.items[-1]}", flush=True)

    def http(self, where: str, url: str, status: int) -> None:
        # Opened at a page's path (/browse), Streamlit's frontend first asks <page>/_stcore/health and
        # host-config, gets 404 and falls back to /_stcore/...: Streamlit's own probing, not a failure.
        if PROBE.match(urlparse(url).path):
            self.noise[f"HTTP {status} on Streamlit's deep-link probe (<page>/_stcore/...)"] += 1
        else:
            self.add(where, f"HTTP {status} {url}")

    def failed(self, where: str, url: str, failure: str | None) -> None:
        host = urlparse(url).hostname
        if host != "127.0.0.1":
            self.noise[f"{failure} for {host} (this machine has no internet)"] += 1
        elif failure == "net::ERR_ABORTED":
            self.noise["net::ERR_ABORTED (request cancelled by the page)"] += 1
        else:
            self.add(where, f"request failed: {failure} {url}")


# --- processes ---------------------------------------------------------------------------------------

def clean_env(data_dir: Path, config: Path) -> dict[str, str]:
    """This machine's environment without its EXPLORER_* settings: everything under ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPLORER_")}
    return {**env, "EXPLORER_DATA_DIR": str(data_dir), "EXPLORER_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}


def start_app(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.port={port}",
         "--server.address=127.0.0.1", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"],
        cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1).read()
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)
                raise RuntimeError(f"streamlit did not start; see {log}") from None
            time.sleep(0.2)


def start_worker(env: dict[str, str], log: Path, threads: int | None) -> subprocess.Popen:
    if threads:  # torch's intra-op threads in each job process (default: one per core)
        env = {**env, "OMP_NUM_THREADS": str(threads)}
    return subprocess.Popen([sys.executable, "-m", "explorer", "worker"], cwd=REPO, env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM (a worker drains and requeues its job), SIGKILL if it does not exit in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Feeder(threading.Thread):
    """Keeps at least ``depth`` train jobs queued until stopped, so both workers stay busy."""

    def __init__(self, store: JobStore, depth: int = 4) -> None:
        super().__init__(daemon=True)
        self.store, self.depth, self.ids = store, depth, []
        self.halt = threading.Event()

    def run(self) -> None:
        from explorer.jobs.queue import submit

        while not self.halt.is_set():
            for _ in range(self.depth - self.store.counts()["queued"]):
                self.ids.append(submit(self.store, "train", JOB))
            self.halt.wait(0.5)


def cpu_seconds(procs: list[psutil.Process]) -> float:
    """User + system CPU of these processes and of their reaped children (finished jobs count too)."""
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            pass
    return total


def cpu_groups(app: subprocess.Popen, workers: list[subprocess.Popen]) -> dict[str, float]:
    """CPU seconds so far of the app, the workers (their job processes included) and the browser
    (Chromium and Playwright's driver: every other descendant of this process)."""
    def tree(pid: int) -> list[psutil.Process]:
        try:
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    app_tree = tree(app.pid)
    worker_tree = [p for w in workers for p in tree(w.pid)]
    taken = {p.pid for p in app_tree + worker_tree}
    browser = [p for p in psutil.Process().children(recursive=True) if p.pid not in taken]
    # The app's and workers' own reaped children are in their roots' children_* times; this
    # process's children_* would count them again, so the browser group uses its live processes only.
    ours = {"app (streamlit)": cpu_seconds(app_tree), "workers + jobs": cpu_seconds(worker_tree),
            "browser (chromium)": cpu_seconds(browser), "this script": sum(psutil.Process().cpu_times()[:2])}
    machine = psutil.cpu_times()
    busy = sum(machine) - machine.idle - machine.iowait
    return {**ours, "everything else": busy - sum(ours.values())}


# --- one browser session -------------------------------------------------------------------------------

def watch(page, name: str, errors: Errors) -> None:
    page.on("pageerror", lambda exc: errors.add(name, f"page error: {exc}"))
    # "Failed to load resource" repeats a response or request failure, classified by the two below.
    page.on("console", lambda msg: msg.type == "error" and not msg.text.startswith("Failed to load resource")
            and errors.add(name, f"console error: {msg.text}"))
    page.on("response", lambda r: r.status >= 400 and errors.http(name, r.url, r.status))
    page.on("requestfailed", lambda r: errors.failed(name, r.url, r.failure))
    page.on("crash", lambda _: errors.add(name, "page crashed"))


async def open_page(context, url: str, name: str, errors: Errors):
    page = await context.new_page()
    watch(page, name, errors)
    await page.goto(url, timeout=WAIT_MS)
    # A deep link on a fresh session is handed from the bare page to app.py: wait for the app's own
    # navigation so no interaction lands between the two runs (as tests/e2e/conftest.py does).
    await page.wait_for_selector(SHELL_NAV, timeout=WAIT_MS)
    await settle(page)
    return page


async def settle(page) -> None:
    """Wait until no script run has started for QUIET_MS and none is running (a person's pace; the
    canvas echoes its state once after a redraw, which reruns its fragment)."""
    await page.evaluate(QUIET_SINCE)
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        await page.wait_for_timeout(150)
        await page.wait_for_selector(IDLE, timeout=WAIT_MS)
        await page.wait_for_timeout(QUIET_MS)
        if await page.evaluate(f"() => performance.now() - window.__last >= {QUIET_MS}") and \
                await page.locator(IDLE).count():
            return
    raise TimeoutError("the page never went quiet")


async def check_page(page, name: str, errors: Errors) -> None:
    n = await page.locator(ERROR_ELEMENTS).count()
    if n:
        texts = await page.locator(ERROR_ELEMENTS).all_inner_texts()
        errors.add(name, f"{n} error element(s) on the page: {' | '.join(t[:200] for t in texts)}")
    # Streamlit's notice for a custom component (the canvas) that did not load within 60 s.
    if await page.get_by_text("having trouble loading").count():
        errors.add(name, "a component's 'having trouble loading' notice is on the page")


async def timed(page, label: str, want: str | None, not_want: str | None) -> float:
    """ms from the armed pointerdown to the frame in which metric ``label`` shows the new value."""
    await page.wait_for_function(SHOWN, arg=[label, want, not_want], polling="raf", timeout=WAIT_MS)
    t0, t1 = await page.evaluate("() => [window.__t0, window.__t1]")
    if t0 is None:
        raise RuntimeError("the timer was not armed: no pointerdown reached the page")
    return t1 - t0


async def edit(page, i: int) -> float:
    """Toggle edge 2 → 3 of the ResNet cell: skip (d̄ = 1) ⇄ conv 3×3 (d̄ = 1.5)."""
    op, want = ("nor_conv_3x3", "1.5") if i % 2 == 0 else ("skip_connect", "1")
    await page.get_by_test_id("stSelectbox").filter(has_text="2 → 3").click(timeout=WAIT_MS)
    option = page.get_by_role("option", name=op, exact=True)
    await option.wait_for(timeout=WAIT_MS)
    await page.evaluate(ARM)
    await option.click(timeout=WAIT_MS)
    return await timed(page, "Effective depth d̄", want, None)


class DepthSlider:
    """The browse page's d̄ range slider, narrowed by one click on its track and widened back by
    another at the track's left end (the nearest thumb jumps to the click)."""

    def __init__(self, page) -> None:
        self.page = page
        slider = page.get_by_test_id("stSidebar").get_by_test_id("stSlider").filter(has_text="Effective depth")
        self.track = slider.locator('[role="group"] > div').first  # react-aria's track: the thumbs' parent

    async def box(self) -> dict[str, float]:
        await self.track.scroll_into_view_if_needed(timeout=WAIT_MS)  # the sidebar nav can push it out of view
        return await self.track.bounding_box()

    async def toggle(self, i: int) -> float:
        before = await self.page.evaluate(METRIC, "Architectures")
        box = await self.box()
        # A tenth of a pixel into the track snaps to the minimum (step 0.01 over ≈ 300 px).
        x = box["x"] + (0.35 * box["width"] if i % 2 == 0 else 0.1)
        await self.page.evaluate(ARM)
        await self.page.mouse.click(x, box["y"] + box["height"] / 2)
        return await timed(self.page, "Architectures", None, before)


async def session(browser, url: str, k: int, rounds: int, errors: Errors, out: Timings, ramp_s: float) -> None:
    await asyncio.sleep(k * ramp_s)  # people arrive one after another
    errors.phase[f"s{k}"] = "opening"
    t = time.perf_counter()
    context = await browser.new_context(viewport={"width": 1500, "height": 1100})
    try:
        editor = await open_page(context, f"{url}/?cell={quote(RESNET.to_text(), safe='')}", f"s{k} editor", errors)
        browse = await open_page(context, f"{url}/browse", f"s{k} browse", errors)
        await browse.get_by_test_id("stPlotlyChart").first.wait_for(timeout=WAIT_MS)
        full = await browse.evaluate(METRIC, "Architectures")
        if full != "15,625":
            errors.add(f"s{k} browse", f"expected 15,625 architectures at full range, saw {full}")
        out.open_s.append(time.perf_counter() - t)
        slider = DepthSlider(browse)
        for i in range(rounds + 1):  # round 0 warms caches and is not counted
            errors.phase[f"s{k}"] = f"round {i}, edit"
            await editor.bring_to_front()  # a person switches tabs; a tab left behind acts up
            ms = await edit(editor, i)
            await settle(editor)
            await check_page(editor, f"s{k} editor", errors)
            if i:
                out.edit_ms.append(ms)
            errors.phase[f"s{k}"] = f"round {i}, filter"
            await browse.bring_to_front()
            ms = await slider.toggle(i)
            await settle(browse)
            await check_page(browse, f"s{k} browse", errors)
            shown = await browse.evaluate(METRIC, "Architectures")
            if (i % 2 == 1) != (shown == "15,625"):
                errors.add(f"s{k} browse", f"round {i}: unexpected count {shown}")
            if i:
                out.filter_ms.append(ms)
        errors.phase[f"s{k}"] = "done"
    except Exception as exc:
        raise RuntimeError(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; "
                           f"{errors.phase[f's{k}']}; pages then: {await describe(context)}") from exc
    finally:
        await context.close()


async def describe(context) -> str:
    """What each open tab shows: the two metrics the rounds wait for and the 2 → 3 op."""
    out = []
    for page in context.pages:
        try:
            op = await page.get_by_role("combobox", name="2 → 3").input_value(timeout=2000) \
                if await page.get_by_role("combobox", name="2 → 3").count() else None
            out.append(f"{page.url.split('?')[0]} d̄={await page.evaluate(METRIC, 'Effective depth d̄')} "
                       f"op 2→3={op} architectures={await page.evaluate(METRIC, 'Architectures')} "
                       f"state={await page.locator('[data-testid=stApp]').get_attribute('data-test-script-state')}")
        except Exception as exc:  # noqa: BLE001 (a description must not hide the original error)
            out.append(f"{page.url.split('?')[0]}: {type(exc).__name__}")
    return "; ".join(out)


async def run_sessions(url: str, sessions: int, rounds: int, errors: Errors, ramp_s: float = 0.0,
                       sample: Callable[[], dict[str, float]] = dict) -> tuple[Timings, dict[str, float]]:
    """Run the sessions at once (session k starts after k·ramp_s); their timings and ``sample()``'s
    change over the sessions (taken while the browser is up, so its processes count)."""
    from playwright.async_api import async_playwright

    out = Timings()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            before = sample()
            results = await asyncio.gather(*(session(browser, url, k, rounds, errors, out, ramp_s)
                                             for k in range(sessions)),
                                           return_exceptions=True)
            after = sample()
            for k, r in enumerate(results):
                if isinstance(r, BaseException):
                    errors.add(f"s{k}", f"session failed: {r}")
        finally:
            await browser.close()
    return out, {k: after[k] - before[k] for k in before}


# --- report --------------------------------------------------------------------------------------------

def pct(xs: list[float], q: int) -> float:
    """The q-th percentile (linear interpolation between closest ranks)."""
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1]


def server_tracebacks(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines()
    return [lines[min(i + 1, len(lines) - 1)] for i, line in enumerate(lines) if "Traceback" in line]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=8, help="counted rounds per session (one edit + one filter each)")
    ap.add_argument("--quick", action="store_true", help="3 rounds")
    ap.add_argument("--no-workers", action="store_true", help="the loaded run without jobs (browsers only)")
    ap.add_argument("--ramp", type=float, default=2.0, help="seconds between session starts (default 2)")
    ap.add_argument("--job-threads", type=int, help="OMP_NUM_THREADS for the workers' jobs (default: unset, "
                    "torch takes one thread per core in each job)")
    ap.add_argument("--nb201-dir", type=Path, default=None, help="NB201 tables (default: the shipped copy)")
    args = ap.parse_args()
    rounds = 3 if args.quick else args.rounds
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} not found: scripts/test.sh installs Debian's chromium")

    errors = Errors()
    procs: list[subprocess.Popen] = []
    feeder = None
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        data = Path(tmp)
        config = data / "explorer.toml"
        config.write_text("# empty: every setting from the environment\n")
        env = clean_env(data, config)
        t = time.perf_counter()
        nb201 = ["--nb201-dir", str(args.nb201_dir)] if args.nb201_dir else []
        subprocess.run([sys.executable, "-m", "explorer", "warehouse", "build", *nb201, "--no-progress"],
                       cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"warehouse built in {time.perf_counter() - t:.1f} s", flush=True)
        try:
            app, url = start_app(env, data / "streamlit.log")
            procs.append(app)
            print(f"baseline: 1 session, no workers, {rounds} rounds", flush=True)
            t = time.perf_counter()
            base, _ = asyncio.run(run_sessions(url, 1, rounds, errors))
            print(f"  {time.perf_counter() - t:.0f} s", flush=True)

            workers: list[subprocess.Popen] = []
            store = JobStore(f"sqlite:///{data / 'jobs.sqlite'}", artifact_dir=data / "artifacts")
            if not args.no_workers:
                feeder = Feeder(JobStore(store.url, artifact_dir=data / "artifacts", migrate=False))
                feeder.start()
                workers = [start_worker(env, data / f"worker-{n}.log", args.job_threads) for n in range(2)]
                procs += workers
                deadline = time.monotonic() + 120
                while store.counts()["running"] < 2:  # both workers busy before the clock starts
                    if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                        raise RuntimeError(f"the workers did not start jobs; see {data}/worker-*.log")
                    time.sleep(0.2)
            print(f"loaded: {args.sessions} sessions, {len(workers)} workers, {rounds} rounds", flush=True)
            w0, t0 = utcnow(), time.perf_counter()
            loaded, cpu = asyncio.run(run_sessions(url, args.sessions, rounds, errors, args.ramp,
                                                   lambda: {"wall": time.perf_counter(), **cpu_groups(app, workers)}))
            wall, w1 = time.perf_counter() - t0, utcnow()
            load_avg = os.getloadavg()[0]
            print(f"  {wall:.0f} s", flush=True)
            if feeder:
                feeder.halt.set()
                feeder.join()
            for w in workers:
                stop(w)
            # Jobs that finished inside the loaded window, and any that failed at all.
            jobs = [store.get(i) for i in (feeder.ids if feeder else [])]
            done = [j for j in jobs if j.status == "succeeded" and j.finished_at and w0 <= j.finished_at <= w1]
            failed = [j for j in jobs if j.status == "failed"]
        finally:
            if feeder:
                feeder.halt.set()
            for p in reversed(procs):
                stop(p)
        for line in server_tracebacks(data / "streamlit.log"):
            errors.add("server log", f"traceback: {line}")

    print(f"\n{'':32s} {'n':>4s} {'p50 ms':>8s} {'p95 ms':>8s}")
    rows = (
        ("edit → d̄ painted", base.edit_ms, loaded.edit_ms),
        ("filter → count painted", base.filter_ms, loaded.filter_ms),
    )
    for name, b, lo in rows:
        for phase, xs in (("baseline", b), ("loaded", lo)):
            if xs:
                print(f"{name + ', ' + phase:32s} {len(xs):4d} {pct(xs, 50):8.0f} {pct(xs, 95):8.0f}")
        if b and lo:
            print(
                f"{name + ', loaded / baseline':32s} {'':4s} "
                f"{pct(lo, 50) / pct(b, 50):7.1f}× {pct(lo, 95) / pct(b, 95):7.1f}×"
            )
    for phase, t in (("baseline", base), ("loaded", loaded)):
        if t.open_s:
            print(f"{'both tabs open, ' + phase:32s} {len(t.open_s):4d} {statistics.median(t.open_s):7.1f}s "
                  f"{max(t.open_s):7.1f}s (median, max)")
    print(f"\nloaded window {wall:.0f} s, load average (1 min) at its end {load_avg:.1f} on {os.cpu_count()} cores")
    span = cpu.pop("wall")
    print(f"CPU seconds while the {args.sessions} sessions ran ({span:.0f} s; {os.cpu_count()} cores give "
          f"{os.cpu_count() * span:.0f} s):")
    for group, seconds in cpu.items():
        print(f"  {group:20s} {seconds:7.0f} s  ({seconds / span:.2f} cores)")
    if not args.no_workers:
        runs = [(j.finished_at - j.started_at).total_seconds() for j in done]
        print(f"jobs: {len(done)} train jobs succeeded inside the loaded window"
              + (f" (median run {statistics.median(runs):.0f} s)" if runs else "")
              + f"; {len(jobs)} submitted, {len(failed)} failed; at the end: "
              + ", ".join(f"{n} {s}" for s, n in Counter(j.status for j in jobs).items()))
    print(f"page errors: {len(errors.items)}")
    for what, n in errors.noise.items():
        print(f"  not counted: {n} × {what}")
    for e in errors.items[:20]:
        print(f"  {e}")
    ok = not errors.items and (args.no_workers or (done and not failed))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
