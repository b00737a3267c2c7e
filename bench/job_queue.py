"""Job queue benchmark: enqueue → running latency, no-op job throughput, and the cost of a job's
own process, on SQLite and on PostgreSQL (a throwaway server, as in the tests).

    .venv/bin/python bench/job_queue.py [--jobs 200] [--latency-samples 20] [--no-postgres]

Every figure is printed with a baseline measured in the same run: the process launch against a
bare `python -c pass`, the queue's throughput against the bare claim/finish loop in one process.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and its name would hide the
# standard library's `queue`: put the repository there instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from db.store import JobStore  # noqa: E402
from explorer.jobs.executors import LocalExecutor  # noqa: E402
from explorer.jobs.queue import submit  # noqa: E402
from tests.jobs_support import job_env, start_worker, stop_worker, wait_for  # noqa: E402

NOOP = {"steps": 1, "size": 2}


def _noop() -> None:
    pass


def launch_overhead(n: int = 20) -> dict[str, float]:
    """Median seconds from start to exit of a process that does nothing."""

    def timed(fn, repeats: int = n) -> float:
        samples = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t)
        return statistics.median(samples)

    def bare() -> None:
        subprocess.run([sys.executable, "-c", "pass"], check=True)

    def fresh_with_kinds() -> None:  # what each job would pay without the fork server
        subprocess.run(
            [sys.executable, "-c", "from explorer.jobs.registry import load_kinds; load_kinds()"], check=True
        )

    spawn = multiprocessing.get_context("spawn")

    def spawned() -> None:
        p = spawn.Process(target=_noop)
        p.start()
        p.join()

    LocalExecutor().job_kinds()  # fork server up and preloaded (torch, kinds) before timing
    forkserver = multiprocessing.get_context("forkserver")

    def forked() -> None:
        p = forkserver.Process(target=_noop)
        p.start()
        p.join()

    return {"python -c pass": timed(bare), "multiprocessing spawn": timed(spawned),
            "fresh python + job kinds": timed(fresh_with_kinds, 5),
            "fork server (the worker's)": timed(forked)}


def bare_queue_rate(store: JobStore, n: int) -> float:
    """Jobs/s through submit → claim → finish in one process, no job process: the store's ceiling."""
    from explorer.jobs.registry import get_kind

    spec = get_kind("selftest").validate(NOOP)
    t = time.perf_counter()
    for _ in range(n):
        job_id = store.submit("selftest", spec)
        job = store.claim("bench", "cpu", ["selftest"])
        store.finish(job_id, job.attempts, "succeeded")
    return n / (time.perf_counter() - t)


def queue_figures(url: str, work: Path, jobs: int, samples: int) -> dict[str, float]:
    store = JobStore(url, artifact_dir=work / "artifacts")
    ceiling = bare_queue_rate(store, jobs)
    env = job_env(url, work)
    for name in ("EXPLORER_WORKER_POLL_S", "EXPLORER_HEARTBEAT_S", "EXPLORER_JOB_LEASE_S"):
        env.pop(name)  # the defaults users get (poll 0.5 s)
    worker = start_worker(env, work / "logs", "--slots", "2")
    try:
        warm = submit(store, "selftest", NOOP)
        wait_for(lambda: store.get(warm).status == "succeeded", 300, "the warm-up job")
        latencies = []
        for _ in range(samples):
            job_id = submit(store, "selftest", NOOP)
            job = wait_for(lambda j=job_id: (x := store.get(j)).status == "succeeded" and x, 60, "a job")
            latencies.append((job.started_at - job.created_at).total_seconds())
        done_before = store.counts()["succeeded"]
        t = time.perf_counter()  # from the first submit to the last job done
        ids = [submit(store, "selftest", NOOP) for _ in range(jobs)]
        wait_for(lambda: store.counts()["succeeded"] == done_before + jobs, 600, "the batch", interval=0.05)
        elapsed = time.perf_counter() - t
        assert all(store.get(i).attempts == 1 for i in ids)
    finally:
        stop_worker(worker)
    return {"latency_median_s": statistics.median(latencies), "latency_max_s": max(latencies),
            "jobs_per_s": jobs / elapsed, "bare_store_jobs_per_s": ceiling}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--latency-samples", type=int, default=20)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    launch = launch_overhead()
    base = launch["python -c pass"]
    print("Process launch (median seconds, start to exit of a no-op process)")
    for name, seconds in launch.items():
        print(f"  {name:28s} {seconds * 1000:8.1f} ms   {seconds / base:5.2f}× python -c pass")

    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-queue-")))
        backends = {"sqlite": f"sqlite:///{work / 'sqlite' / 'jobs.sqlite'}"}
        if not args.no_postgres:
            from tests.pg import postgres_server

            server = stack.enter_context(postgres_server())
            backends["postgresql"] = server.new_database()
        print(f"\nQueue: one worker, 2 slots, default poll 0.5 s; {args.jobs} no-op selftest jobs")
        for name, url in backends.items():
            (work / name).mkdir(exist_ok=True)
            figures = queue_figures(url, work / name, args.jobs, args.latency_samples)
            print(f"  {name:10s} enqueue→running median {figures['latency_median_s'] * 1000:6.0f} ms "
                  f"(max {figures['latency_max_s'] * 1000:5.0f} ms); "
                  f"{figures['jobs_per_s']:6.1f} jobs/s through job processes = "
                  f"{figures['jobs_per_s'] / figures['bare_store_jobs_per_s']:.3f}× the bare store loop "
                  f"({figures['bare_store_jobs_per_s']:.0f} jobs/s) and "
                  f"{figures['jobs_per_s'] * base:.2f}× one `python -c pass` per job")


if __name__ == "__main__":
    main()
