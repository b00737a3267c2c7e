"""What the store hands out: plain frozen records, detached from any session or connection."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    """Naive UTC, the form every time in the store is kept in."""
    return datetime.now(UTC).replace(tzinfo=None)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def _row_values(cls, row) -> dict[str, Any]:
    mapping = row._mapping
    return {f.name: mapping[f.name] for f in fields(cls) if f.name in mapping}


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    spec: dict[str, Any]
    status: str  # queued | running | succeeded | failed | cancelled
    priority: int
    attempts: int  # how many times it was started
    max_attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    worker_id: str | None
    device: str | None  # "cpu", "cuda:0", ... on the worker's host
    pid: int | None  # the process running it (on the worker's host)
    heartbeat_at: datetime | None
    progress: float  # 0..1
    message: str | None
    error: str | None  # the traceback of a failed job
    cancel_requested: bool
    result: dict[str, Any] | None  # the small summary the kind returned
    parent_id: int | None  # the job this one retries or clones
    owner: str | None = None  # who submitted it on a shared server (explorer.core.access); None without tokens

    @classmethod
    def from_row(cls, row) -> Job:
        return cls(**_row_values(cls, row))

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")

    @property
    def duration_s(self) -> float | None:
        """Run time so far (running) or in all (finished); None before it started."""
        if self.started_at is None:
            return None
        return ((self.finished_at or utcnow()) - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: times as ISO 8601 UTC strings."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = _iso(value)
        out["duration_s"] = self.duration_s
        return out


@dataclass(frozen=True)
class MetricPoint:
    id: int
    job_id: int
    name: str
    value: float
    step: int | None
    epoch: int | None
    time: datetime

    @classmethod
    def from_row(cls, row) -> MetricPoint:
        values = _row_values(cls, row)
        if values["value"] is None:  # stored NULL: a value that was not a finite number
            values["value"] = float("nan")
        return cls(**values)


@dataclass(frozen=True)
class ArtifactInfo:
    job_id: int
    name: str
    media_type: str
    size: int
    path: str | None  # relative to the artifact directory; None when the bytes are in the database
    created_at: datetime

    @classmethod
    def from_row(cls, row) -> ArtifactInfo:
        return cls(**_row_values(cls, row))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "created_at": _iso(self.created_at)}


@dataclass(frozen=True)
class WorkerInfo:
    id: str
    host: str
    pid: int
    devices: list[str]
    slots: int
    executor: str
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None

    @classmethod
    def from_row(cls, row) -> WorkerInfo:
        return cls(**_row_values(cls, row))

    def alive(self, lease_s: float) -> bool:
        return self.stopped_at is None and (utcnow() - self.heartbeat_at).total_seconds() < lease_s

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = _iso(value)
        return out
