"""The job process: runs one attempt of one job and records how it ended.

The worker starts it (``LocalExecutor``: a fresh fork of a preloaded fork server; ``RayExecutor``:
inside a Ray task). It writes ``succeeded`` with the kind's summary, or ``failed`` with the
traceback. When it is stopped (SIGTERM from the worker, a Ray cancel) it writes nothing: the
worker knows why it stopped the job and records cancelled or requeued.
"""

from __future__ import annotations

import json
import os
import select
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from db.store import JobStore
from explorer.experiments.context import DeviceType
from explorer.jobs.context import JobInterrupted, StoreContext
from explorer.jobs.registry import get_kind


@dataclass(frozen=True)
class Attempt:
    """Everything a job process needs, picklable (it crosses a fork server or Ray)."""

    db_url: str
    artifact_dir: str | None
    job_id: int
    attempt: int
    device: DeviceType  # what the kind sees
    cuda_visible_devices: str | None  # pin to one GPU ("0"), hide all (""), or leave as is (None)
    worker_pid: int | None = None  # the job dies with this process (local executor)
    threads: int | None = None  # CPU threads torch may use in this job (None: torch's default)


def _jsonable(value: Any) -> Any:
    def default(obj: Any) -> Any:
        if hasattr(obj, "item"):  # numpy / torch scalars
            return obj.item()
        if hasattr(obj, "tolist"):
            return obj.tolist()
        if isinstance(obj, Path):
            return str(obj)
        raise TypeError(f"{type(obj).__name__} is not JSON-able")

    return json.loads(json.dumps(value, default=default))


def _die_with(worker_pid: int) -> None:
    """End this job's process group when the worker process ends, so a worker killed with -9
    leaves no job running on (holding a GPU, writing to a job that another worker retries).
    The job's parent is the fork server, not the worker, so PR_SET_PDEATHSIG cannot do this."""

    def watch() -> None:
        try:
            fd = os.pidfd_open(worker_pid)  # readable once that process has exited
            select.select([fd], [], [])
        except ProcessLookupError:
            pass  # already gone
        except OSError:  # no pidfd (old kernel): poll instead
            while True:
                try:
                    os.kill(worker_pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.5)
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="die-with-worker", daemon=True).start()


def _limit_threads(threads: int) -> None:
    """Torch's intra-op pool, and the OpenMP/BLAS pools of anything the job starts, at ``threads``."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    import torch

    torch.set_num_threads(threads)


def run_attempt(attempt: Attempt, *, own_process: bool = True) -> int:
    """Run the attempt; returns an exit code. ``own_process``: this process exists only for the
    job (set up signals, a new process group, death with the parent)."""
    if attempt.cuda_visible_devices is not None:
        # Before anything touches CUDA: torch reads it on first use, so the job sees one device.
        os.environ["CUDA_VISIBLE_DEVICES"] = attempt.cuda_visible_devices
    if attempt.threads is not None:
        _limit_threads(attempt.threads)
    store = JobStore(attempt.db_url, artifact_dir=attempt.artifact_dir, migrate=False)
    ctx = StoreContext(store, attempt.job_id, attempt.attempt, attempt.device)
    if own_process:
        os.setsid()  # the worker signals the whole group: the job's own helpers stop with it
        if attempt.worker_pid is not None:
            _die_with(attempt.worker_pid)

        def on_sigterm(_signum, _frame) -> None:
            ctx.request_stop()
            raise JobInterrupted()

        signal.signal(signal.SIGTERM, on_sigterm)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the worker, which decides
    try:
        if not store.mark_started(attempt.job_id, attempt.attempt, os.getpid()):
            return 0  # cancelled or requeued before it started
        job = store.get(attempt.job_id)
        try:
            kind = get_kind(job.kind)
            spec = kind.validate(job.spec)
            result = kind.run(spec, ctx)
            ctx.flush()
        except (JobInterrupted, KeyboardInterrupt):
            ctx.flush()
            return 0
        except BaseException as exc:  # noqa: BLE001 - any failure of the job is recorded, then we exit
            ctx.flush()
            store.finish(
                attempt.job_id, attempt.attempt, "failed",
                error=traceback.format_exc(), message=f"{type(exc).__name__}: {exc}"[:500],
            )
            return 1
        if ctx.should_stop():
            return 0  # it returned early because it was asked to stop; the worker records why
        store.finish(attempt.job_id, attempt.attempt, "succeeded", result=_jsonable(result or {}))
        return 0
    finally:
        store.close()


def main_in_fork(attempt: Attempt) -> None:
    """Target of the local executor's process."""
    raise SystemExit(run_attempt(attempt))
