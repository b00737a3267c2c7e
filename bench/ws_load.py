"""Capacity: many simulated users on one app server, each a websocket session (``bench/st_client.py``),
no browser, so the load generator costs the machine little and the server's own cost is what shows.

Per user: one tab on one page, acting every ``--think`` seconds (±50 % jitter):

- ``edit``    editor on the NB201 ResNet cell: toggle edge 2 → 3 (skip ⇄ conv 3×3) in the edge table;
- ``preset``  editor: pick the next NB201 preset in the Preset select (ResNet → all-conv → all-skip);
- ``filter``  Warehouse page: move the d̄ range slider's low end (minimum ⇄ 35 % of the range);
- ``jobs``    Jobs page open, doing nothing: its fragments refresh on their own (``run_every``).

Response = from sending the ``rerun_script`` to the script-finished message of that run (the canvas
echo the browser sends after an edit is sent too and costs the server a run; its time is in
``settled``). Server CPU per interaction = the server process's CPU time (psutil, user + system)
over the phase ÷ the users' actions in it (the jobs viewers' refresh runs counted in the phase, not
as actions). Memory per session = the server's RSS with N sessions open minus its RSS before ÷ N.

Phases, all in one command against one server: the per-action cost (1 session, ``--repeat``
actions of each kind in a row), then each of ``--levels`` concurrent sessions for ``--duration``
seconds (the first level, 1, is the baseline the others are read against), optionally again with
two ``explorer worker`` processes running train jobs (``--workers``). ``--url`` points it at a
server that is already running (then no CPU/memory figures, unless ``--server-pid``).

    PYTHONPATH=. .venv/bin/python bench/ws_load.py [--levels 1,10,30,60] [--duration 40] [--think 5]
                                                [--workers] [--url URL] [--server-pid PID] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import psutil  # noqa: E402
from st_client import Session  # noqa: E402

from explorer.cell.presets import get_preset  # noqa: E402

RESNET = get_preset("NB201 ResNet cell").cell
EDITOR_QUERY = "cell=" + quote(RESNET.to_text(), safe="")
PRESETS = ["NB201 all-conv", "NB201 all-skip", "NB201 ResNet cell"]
MIX = ("edit", "edit", "preset", "filter", "filter", "edit", "preset", "filter", "edit", "jobs")  # user k → MIX[k % 10]


@dataclass
class Sample:
    action: str
    ms: float  # sent → script finished
    settled_ms: float  # sent → no run pending (echo included)
    runs: int  # script runs the action caused (echo included)


@dataclass
class Phase:
    samples: list[Sample] = field(default_factory=list)
    auto_runs: list[float] = field(default_factory=list)  # the jobs page's refresh runs, ms
    errors: list[str] = field(default_factory=list)
    open_ms: list[float] = field(default_factory=list)


# --- users ---------------------------------------------------------------------------------------

async def open_user(url: str, action: str) -> Session:
    if action in ("edit", "preset"):
        s = Session(url, query=EDITOR_QUERY)
    elif action == "filter":
        s = Session(url, path="browse")
    else:
        s = Session(url, path="jobs")
    await s.open()
    return s


async def act(s: Session, action: str, i: int) -> Sample:
    """One interaction of kind ``action`` (the i-th of this user)."""
    n0 = len(s.runs)
    t = time.perf_counter()
    if action == "edit":
        w = s.widget("nb201_op_23")
        current = s.values[w.id].string_value
        run = await s.set(w, "nor_conv_3x3" if current == "skip_connect" else "skip_connect")
    elif action == "preset":
        run = await s.set(s.widget("preset"), PRESETS[i % len(PRESETS)])
    elif action == "filter":
        # A select_slider over the stored d̄ values: its value is a pair of formatted options.
        w = s.widget("browse_effective_depth_nb201")
        low = w.proto.options[round(0.35 * (len(w.proto.options) - 1)) if i % 2 == 0 else 0]
        run = await s.set(w, [low, s.values[w.id].string_array_value.data[1]])
    else:
        raise ValueError(action)
    return Sample(action, run.ms, (time.perf_counter() - t) * 1000, len(s.runs) - n0)


async def user(url: str, k: int, action: str, think_s: float, until: float, phase: Phase,
               rng: random.Random) -> Session | None:
    try:
        t = time.perf_counter()
        s = await open_user(url, action)
        phase.open_ms.append((time.perf_counter() - t) * 1000)
    except Exception as exc:  # noqa: BLE001 (a failed session is a result, not a crash)
        phase.errors.append(f"u{k} {action}: open failed: {type(exc).__name__}: {exc}")
        return None
    i = 0
    try:
        await asyncio.sleep(rng.uniform(0, think_s))  # users do not act in lockstep
        while time.perf_counter() < until:
            if action != "jobs":
                phase.samples.append(await act(s, action, i))
                i += 1
            await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))
    except Exception as exc:  # noqa: BLE001
        phase.errors.append(f"u{k} {action}: {type(exc).__name__}: {exc}")
    phase.errors += [f"u{k} {action}: {e}" for e in s.errors]
    phase.auto_runs += [r.ms for r in s.runs if r.cause == "auto" and r.finished_at]
    return s


# --- measurement ---------------------------------------------------------------------------------

class Server:
    """CPU seconds and RSS of the server process (and its children), or nothing without a pid."""

    def __init__(self, pid: int | None) -> None:
        self.proc = psutil.Process(pid) if pid else None

    def cpu(self) -> float:
        if self.proc is None:
            return float("nan")
        t = self.proc.cpu_times()
        return t.user + t.system + t.children_user + t.children_system

    def rss_mib(self) -> float:
        return self.proc.memory_info().rss / 2**20 if self.proc else float("nan")


def pct(xs: list[float], q: int) -> float:
    if not xs:
        return float("nan")
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1]


async def per_action_cost(url: str, server: Server, repeat: int) -> dict[str, tuple[float, float, float]]:
    """action → (server CPU ms per interaction, median response ms, runs per interaction): one
    session, ``repeat`` interactions of the kind in a row after one warm-up."""
    out = {}
    for action in ("edit", "preset", "filter"):
        s = await open_user(url, action)
        await act(s, action, 0)  # warm-up: first-use caches, the canvas's first echo
        c0, samples = server.cpu(), []
        for i in range(1, repeat + 1):
            samples.append(await act(s, action, i))
        cpu_ms = (server.cpu() - c0) * 1000 / repeat
        out[action] = (cpu_ms, statistics.median(x.ms for x in samples), statistics.mean(x.runs for x in samples))
        if s.errors:
            print(f"  errors in {action}: {s.errors[:3]}", flush=True)
        await s.close()
    # The jobs page: CPU of its refresh runs while one viewer has it open.
    s = await open_user(url, "jobs")
    c0, t0 = server.cpu(), time.perf_counter()
    await asyncio.sleep(min(20, 4 * repeat))
    auto = [r for r in s.runs if r.cause == "auto" and r.finished_at]
    span = time.perf_counter() - t0
    out["jobs (per refresh)"] = ((server.cpu() - c0) * 1000 / max(1, len(auto)),
                                 statistics.median(r.ms for r in auto) if auto else float("nan"),
                                 len(auto) / span)
    await s.close()
    return out


async def level(url: str, n: int, duration_s: float, think_s: float, server: Server, seed: int) -> dict:
    rng = random.Random(seed)
    phase = Phase()
    rss0 = server.rss_mib()
    c0, t0 = server.cpu(), time.perf_counter()
    until = t0 + duration_s
    tasks = [asyncio.create_task(user(url, k, MIX[k % len(MIX)], think_s, until, phase, random.Random(rng.random())))
             for k in range(n)]
    # RSS with every session open: sampled at the middle of the window.
    await asyncio.sleep(duration_s / 2)
    rss_mid = server.rss_mib()
    sessions = await asyncio.gather(*tasks)
    cpu_s, wall = server.cpu() - c0, time.perf_counter() - t0
    for s in sessions:
        if s is not None:
            await s.close()
    return {"n": n, "phase": phase, "cpu_s": cpu_s, "wall_s": wall, "mem_per_session": (rss_mid - rss0) / n,
            "rss_mid": rss_mid, "load": os.getloadavg()[0]}


def row(r: dict, base: dict | None) -> str:
    ph: Phase = r["phase"]
    ms = [s.ms for s in ph.samples]
    acts = len(ph.samples)
    by = {a: [s.ms for s in ph.samples if s.action == a] for a in ("edit", "preset", "filter")}
    ratio = ""
    if base is not None and base["phase"].samples:
        b = [s.ms for s in base["phase"].samples]
        ratio = f"{pct(ms, 50) / pct(b, 50):5.1f}× {pct(ms, 95) / pct(b, 95):5.1f}×"
    per_act = r["cpu_s"] * 1000 / acts if acts else float("nan")
    return (f"{r['n']:4d} {acts:6d} {pct(ms, 50):7.0f} {pct(ms, 95):7.0f} {ratio:>13s} "
            + " ".join(f"{pct(by[a], 50):6.0f}/{pct(by[a], 95):<6.0f}" for a in by)
            + f" {pct(ph.auto_runs, 50):6.0f} {per_act:8.0f} {r['cpu_s'] / r['wall_s']:6.2f} "
            f"{r['mem_per_session']:7.1f} {len(ph.errors):4d} {r['load']:5.1f}")


HEADER = (f"{'N':>4s} {'acts':>6s} {'p50':>7s} {'p95':>7s} {'vs N=1':>13s} "
          f"{'edit p50/95':>13s} {'preset':>13s} {'filter':>13s} {'jobs↻':>6s} {'CPUms/act':>8s} "
          f"{'cores':>6s} {'MiB/ses':>7s} {'errs':>4s} {'load':>5s}")


# --- main ----------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", default="1,10,30,60")
    ap.add_argument("--duration", type=float, default=40.0, help="seconds per level")
    ap.add_argument("--think", type=float, default=5.0, help="seconds between a user's actions (±50 %%)")
    ap.add_argument("--repeat", type=int, default=10, help="interactions per action for the per-action cost")
    ap.add_argument("--workers", action="store_true", help="repeat the levels with two workers running jobs")
    ap.add_argument("--url", help="an already running app (default: start one on a fresh data folder)")
    ap.add_argument("--server-pid", type=int, help="with --url: the server process to read CPU/RSS from")
    ap.add_argument("--quick", action="store_true", help="levels 1,10; 20 s each; 5 repeats")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.quick:
        args.levels, args.duration, args.repeat = "1,10", 20.0, 5
    levels = [int(x) for x in args.levels.split(",")]

    from load import Feeder, clean_env, start_app, start_worker, stop  # bench/load.py's process helpers

    procs: list[subprocess.Popen] = []
    feeder = None
    with tempfile.TemporaryDirectory(prefix="bench-ws-") as tmp:
        data = Path(tmp)
        try:
            if args.url:
                url, server = args.url.rstrip("/"), Server(args.server_pid)
            else:
                config = data / "explorer.toml"
                config.write_text("# empty: every setting from the environment\n")
                env = clean_env(data, config)
                subprocess.run([sys.executable, "-m", "explorer", "warehouse", "build", "--no-progress"],
                               cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
                app, url = start_app(env, data / "streamlit.log")
                procs.append(app)
                server = Server(app.pid)
            me = psutil.Process()
            print(f"server {url}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
            # Warm the pages once (imports, first-use caches), as a running server would be.
            asyncio.run(warm(url))

            print(f"\nper-action cost, 1 session, {args.repeat} in a row:")
            print(f"  {'action':20s} {'CPU ms/act':>10s} {'median ms':>10s} {'runs/act':>9s}")
            for a, (cpu, med, runs) in asyncio.run(per_action_cost(url, server, args.repeat)).items():
                print(f"  {a:20s} {cpu:10.0f} {med:10.0f} {runs:9.2f}" + ("  (refreshes/s)" if "jobs" in a else ""))

            rounds = [("no workers", False)] + ([("2 workers running train jobs", True)] if args.workers else [])
            for title, with_workers in rounds:
                workers = []
                if with_workers:
                    from db.store import JobStore

                    store = JobStore(f"sqlite:///{data / 'jobs.sqlite'}", artifact_dir=data / "artifacts")
                    feeder = Feeder(JobStore(store.url, artifact_dir=data / "artifacts", migrate=False))
                    feeder.start()
                    workers = [start_worker(env, data / f"worker-{n}.log", None) for n in range(2)]
                    procs += workers
                    deadline = time.monotonic() + 120
                    while store.counts()["running"] < 2 and time.monotonic() < deadline:
                        time.sleep(0.2)
                print(f"\n{title}: {args.duration:.0f} s per level, each user acts every {args.think:g} s ± 50 %; "
                      "ms = sent → script finished")
                print(HEADER)
                base = None
                for n in levels:
                    c_me = sum(me.cpu_times()[:2])
                    r = asyncio.run(level(url, n, args.duration, args.think, server, args.seed + n))
                    print(row(r, base), flush=True)
                    print(f"{'':6s}load generator CPU {(sum(me.cpu_times()[:2]) - c_me) / r['wall_s']:.2f} cores; "
                          f"settled (echo incl.) p50 {pct([s.settled_ms for s in r['phase'].samples], 50):.0f} ms",
                          flush=True)
                    for e in r["phase"].errors[:5]:
                        print(f"{'':6s}ERROR {e}")
                    base = base or r
                if feeder:
                    feeder.halt.set()
                    feeder.join()
                for w in workers:
                    stop(w)
        finally:
            if feeder:
                feeder.halt.set()
            for p in reversed(procs):
                stop(p)
    return 0


async def warm(url: str) -> None:
    for action in ("edit", "filter", "jobs"):
        s = await open_user(url, action)
        await s.close()


if __name__ == "__main__":
    sys.exit(main())
