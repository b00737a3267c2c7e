"""Helpers for the job tests: worker processes with short timings, waiting on the store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tests.conftest import REPO

T = TypeVar("T")

# Short timings so lease expiry, cancel and drain happen in about a second.
FAST_TIMINGS = {
    "EXPLORER_WORKER_POLL_S": "0.1",
    "EXPLORER_HEARTBEAT_S": "0.3",
    "EXPLORER_JOB_LEASE_S": "3",
    "EXPLORER_JOB_KILL_GRACE_S": "1",
    "EXPLORER_WORKER_DRAIN_S": "0.5",
}


def job_env(db_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPLORER_")}
    return {**env, **FAST_TIMINGS, "EXPLORER_DB_URL": db_url, "EXPLORER_DATA_DIR": str(data_dir),
            "PYTHONUNBUFFERED": "1", **extra}


def start_worker(env: dict[str, str], log_dir: Path, *args: str) -> subprocess.Popen:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / f"worker-{time.monotonic_ns()}.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "explorer", "worker", *args], cwd=REPO, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    proc.log_path = Path(log.name)  # type: ignore[attr-defined]
    log.close()
    return proc


def stop_worker(proc: subprocess.Popen, timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll until ``predicate()`` is truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone in every way that matters (it holds no memory).
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def submit_at_once(store, user, n: int) -> int:
    """``n`` threads submit a tiny selftest job as ``user`` at the same moment; how many were refused
    (``AccessError``: the per-user limit)."""
    import threading

    from explorer.core.access import AccessError
    from explorer.jobs.queue import submit

    refused: list[AccessError] = []
    start = threading.Barrier(n)

    def one() -> None:
        start.wait()
        try:
            submit(store, "selftest", {"steps": 1, "size": 2}, user=user)
        except AccessError as exc:
            refused.append(exc)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(refused)
