"""``StoreContext``: the ``JobContext`` a running job gets, writing through the job store.

Metric points are buffered and written in batches (one transaction per batch, not per point);
progress is written at most a few times a second. Every write is conditional on this attempt
still owning the job, so a job that lost its lease notices (``should_stop()`` turns True).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from db.store import JobNotFound, JobStore, utcnow
from explorer.core.access import may_read
from explorer.experiments.context import DeviceType


class JobInterrupted(BaseException):
    """Raised inside a job when its worker stops it (cancel or shutdown). A BaseException, so a
    job's own ``except Exception`` does not swallow it."""


class StoreContext:
    """Implements ``explorer.jobs.registry.JobContext`` for one attempt of one job."""

    METRIC_FLUSH_S = 0.5
    METRIC_FLUSH_POINTS = 500
    PROGRESS_MIN_INTERVAL_S = 0.2
    CANCEL_POLL_S = 0.5

    def __init__(self, store: JobStore, job_id: int, attempt: int, device: DeviceType) -> None:
        self.store = store
        self.job_id = job_id
        self.attempt = attempt
        self.device = device
        self._points: list[dict[str, Any]] = []
        self._last_flush = time.monotonic()
        self._last_progress = 0.0
        self._last_cancel_poll = 0.0
        self._stop = False
        self.lost = False  # this attempt no longer owns the job (requeued or finished elsewhere)

    # -- JobContext
    def progress(self, fraction: float, message: str | None = None) -> None:
        now = time.monotonic()
        if fraction < 1.0 and message is None and now - self._last_progress < self.PROGRESS_MIN_INTERVAL_S:
            return
        self._last_progress = now
        self.flush()
        if not self.store.set_progress(self.job_id, self.attempt, fraction, message):
            self.lost = True

    def metric(self, name: str, value: float, *, step: int | None = None, epoch: int | None = None) -> None:
        self._points.append({"name": name, "value": float(value), "step": step, "epoch": epoch, "time": utcnow()})
        if len(self._points) >= self.METRIC_FLUSH_POINTS or time.monotonic() - self._last_flush > self.METRIC_FLUSH_S:
            self.flush()

    def artifact(self, name: str, data: bytes | Path, media_type: str) -> None:
        self.store.put_artifact(self.job_id, name, data, media_type)

    def read_artifact(self, job_id: int, name: str) -> bytes:
        # On a shared server a user's job reads only that user's jobs: a spec naming another
        # user's job id fails as if the job did not exist (nothing to learn by guessing ids).
        if job_id != self.job_id and not may_read(self._owner(self.job_id), self._owner(job_id)):
            raise JobNotFound(f"no job with id {job_id}")
        return self.store.read_artifact(job_id, name)

    def _owner(self, job_id: int) -> str | None:
        return self.store.get(job_id).owner

    def should_stop(self) -> bool:
        if self._stop or self.lost:
            return True
        now = time.monotonic()
        if now - self._last_cancel_poll >= self.CANCEL_POLL_S:
            self._last_cancel_poll = now
            self._stop = bool(self.store.cancel_requested([self.job_id]))
        return self._stop

    # -- used by the job process
    def request_stop(self) -> None:
        self._stop = True

    def flush(self) -> None:
        if self._points:
            points, self._points = self._points, []
            self.store.add_metrics(self.job_id, points)
        self._last_flush = time.monotonic()
