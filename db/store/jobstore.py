"""``JobStore``: every read and write of jobs, metric streams, artifacts and workers.

Pages and the CLI use the first half (submit, list, get, cancel, retry, metrics, artifacts,
workers); the worker and the job process use the second (claim, heartbeat, progress, finish,
requeue). Every write is one short transaction; every status change is conditional on the state
it expects, so a late or duplicate writer (a worker thought dead, a killed job) changes nothing.

Long because it is the one place that writes SQL against the job store: claims, heartbeats,
streams and artifacts share transactions and the row mappers, and are reviewed together.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, and_, delete, func, insert, or_, select, text, update

from db.store.engine import make_engine, upgrade, write_transaction
from db.store.records import ArtifactInfo, Job, MetricPoint, WorkerInfo, utcnow
from db.store.schema import FINISHED_STATUSES, JOB_STATUSES, job_artifacts, job_metrics, jobs, workers

# Artifacts up to this size live in the database (so every host sees them); larger ones are
# files under the artifact directory, which must then be shared storage for several hosts.
INLINE_ARTIFACT_MAX_BYTES = 4 * 1024 * 1024

# Weights as safetensors, arrays as .npy/.npz, tables, figures, text. Never pickle: a pickle runs
# code when it is read.
ARTIFACT_MEDIA_TYPES: dict[str, str] = {
    ".safetensors": "application/vnd.safetensors",
    ".npy": "application/x-npy",
    ".npz": "application/x-npz",
    ".json": "application/json",
    ".csv": "text/csv",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".html": "text/html",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".parquet": "application/vnd.apache.parquet",
    ".onnx": "application/onnx",
}
_ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


class StoreError(ValueError):
    """A request the store cannot honour (unknown job, wrong state, bad artifact). Fit to show."""


class JobNotFound(StoreError):
    pass


class JobLimitReached(StoreError):
    """The owner already has as many unfinished jobs as the server allows."""


class ANY_OWNER:  # noqa: N801 - a sentinel: no filter on the owner (None means "no owner")
    pass


def _owner_is(owner: str | None):
    return jobs.c.owner.is_(None) if owner is None else jobs.c.owner == owner


def _media_type(name: str) -> str:
    if not _ARTIFACT_NAME.match(name):
        raise StoreError(
            f"artifact name {name!r}: use letters, digits, '.', '_', '-' (no folders), up to 200 characters"
        )
    suffix = Path(name).suffix.lower()
    if suffix not in ARTIFACT_MEDIA_TYPES:
        raise StoreError(
            f"artifact {name!r}: {suffix or 'no extension'} is not allowed; "
            f"use one of {', '.join(ARTIFACT_MEDIA_TYPES)} (weights as .safetensors, arrays as .npy/.npz, never pickle)"
        )
    return ARTIFACT_MEDIA_TYPES[suffix]


class JobStore:
    """The job store at ``url`` (any SQLAlchemy URL; ``sqlite:///path`` or ``postgresql+psycopg://…``).

    ``migrate=True`` upgrades the schema on open (every entry point does this once; a fresh data
    directory or database builds itself). ``artifact_dir`` holds artifacts too large to inline.
    """

    def __init__(self, url: str, *, artifact_dir: Path | str | None = None, migrate: bool = True) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        self.artifact_dir = Path(artifact_dir) if artifact_dir is not None else None
        if migrate:
            upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"JobStore({self.engine.url.render_as_string(hide_password=True)!r})"

    # ---------------------------------------------------------------- submitting and reading jobs

    def submit(
        self,
        kind: str,
        spec: BaseModel,
        *,
        priority: int = 0,
        max_attempts: int = 3,
        parent_id: int | None = None,
        owner: str | None = None,
        max_active: int | None = None,
    ) -> int:
        """Queue a job; returns its id. ``spec`` must be the kind's validated pydantic model
        (``explorer.jobs.submit`` validates raw input first), so nothing unchecked is stored.
        ``owner`` is who submitted it; with ``max_active`` the owner may have at most that many
        unfinished (queued or running) jobs, this one included, or ``JobLimitReached`` is raised."""
        return self.submit_many([(kind, spec)], priority=priority, max_attempts=max_attempts,
                                parent_id=parent_id, owner=owner, max_active=max_active)[0]

    def submit_many(
        self,
        items: Sequence[tuple[str, BaseModel]],
        *,
        priority: int = 0,
        max_attempts: int = 3,
        parent_id: int | None = None,
        owner: str | None = None,
        max_active: int | None = None,
    ) -> list[int]:
        """Queue several (kind, validated spec) jobs in one transaction: all of them or none."""
        for _kind, spec in items:
            if not isinstance(spec, BaseModel):
                raise TypeError("spec must be a validated pydantic model; use explorer.jobs.submit() for raw input")
        if max_attempts < 1:
            raise StoreError("max_attempts must be at least 1")
        now = utcnow()
        rows = [
            dict(kind=kind, spec=spec.model_dump(mode="json"), status="queued", priority=int(priority), attempts=0,
                 max_attempts=int(max_attempts), created_at=now, progress=0.0, cancel_requested=False,
                 parent_id=parent_id, owner=owner)
            for kind, spec in items
        ]
        with write_transaction(self.engine) as conn:
            self._check_active(conn, owner, len(rows), max_active)
            return [int(conn.execute(insert(jobs).values(**row).returning(jobs.c.id)).scalar_one()) for row in rows]

    def _check_active(self, conn, owner: str | None, adding: int, max_active: int | None) -> None:
        """Refuse ``adding`` more jobs when ``owner`` would then have over ``max_active`` unfinished."""
        if max_active is None:
            return
        if self.engine.dialect.name == "postgresql":
            # Serialise one owner's submissions: two concurrent ones must not both see room for one.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"jobs-owner:{owner}"})
        active = conn.execute(
            select(func.count()).select_from(jobs)
            .where(_owner_is(owner), jobs.c.status.in_(("queued", "running")))
        ).scalar_one()
        if active + adding > max_active:
            raise JobLimitReached(
                f"{owner or 'this owner'} already has {active} unfinished job(s) (queued or running); "
                f"this server allows {max_active} per user (limits.jobs_per_user)"
                + (f" and this adds {adding}" if adding > 1 else "")
                + ". Wait for some to finish, or cancel some on the Jobs page."
            )

    def get(self, job_id: int) -> Job:
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        if row is None:
            raise JobNotFound(f"no job with id {job_id}")
        return Job.from_row(row)

    def list(
        self,
        *,
        status: str | Collection[str] | None = None,
        kind: str | Collection[str] | None = None,
        owner: str | None | type[ANY_OWNER] = ANY_OWNER,
        limit: int = 200,
        offset: int = 0,
        newest_first: bool = True,
    ) -> list[Job]:
        """Jobs, newest first, optionally only some statuses and kinds, or one owner's."""
        query = select(jobs)
        if owner is not ANY_OWNER:
            query = query.where(_owner_is(owner))
        if status:
            statuses = [status] if isinstance(status, str) else list(status)
            unknown = set(statuses) - set(JOB_STATUSES)
            if unknown:
                raise StoreError(f"unknown status {sorted(unknown)}; statuses: {', '.join(JOB_STATUSES)}")
            query = query.where(jobs.c.status.in_(statuses))
        if kind:
            query = query.where(jobs.c.kind.in_([kind] if isinstance(kind, str) else list(kind)))
        query = query.order_by(jobs.c.id.desc() if newest_first else jobs.c.id).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [Job.from_row(row) for row in conn.execute(query)]

    def counts(self, *, owner: str | None | type[ANY_OWNER] = ANY_OWNER) -> dict[str, int]:
        """Number of jobs in each status (every status present, zeros included), or one owner's."""
        query = select(jobs.c.status, func.count()).group_by(jobs.c.status)
        if owner is not ANY_OWNER:
            query = query.where(_owner_is(owner))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {status: 0 for status in JOB_STATUSES} | {status: int(n) for status, n in rows}

    def cancel(self, job_id: int) -> Job:
        """Cancel a job: a queued one at once; a running one is flagged and its worker stops it
        within seconds. Cancelling a finished job is refused."""
        now = utcnow()
        with write_transaction(self.engine) as conn:
            row = conn.execute(select(jobs.c.status).where(jobs.c.id == job_id)).first()
            if row is None:
                raise JobNotFound(f"no job with id {job_id}")
            if row.status == "queued":
                conn.execute(
                    update(jobs)
                    .where(jobs.c.id == job_id)
                    .values(
                        status="cancelled",
                        cancel_requested=True,
                        finished_at=now,
                        message="cancelled before it started",
                    )
                )
            elif row.status == "running":
                conn.execute(update(jobs).where(jobs.c.id == job_id).values(cancel_requested=True))
            else:
                raise StoreError(f"job {job_id} is already {row.status}; only queued or running jobs can be cancelled")
        return self.get(job_id)

    def retry(self, job_id: int, *, priority: int | None = None, max_active: int | None = None) -> int:
        """Queue a new job with the same kind, spec and owner as a finished one; returns the new id.
        The old job, its metrics and artifacts stay as they were. ``max_active`` as in ``submit``."""
        old = self.get(job_id)
        if not old.finished:
            raise StoreError(f"job {job_id} is {old.status}; only finished jobs can be retried")
        values = dict(
            kind=old.kind, spec=old.spec, status="queued", priority=old.priority if priority is None else priority,
            attempts=0, max_attempts=old.max_attempts, created_at=utcnow(), progress=0.0, cancel_requested=False,
            parent_id=old.id, owner=old.owner,
        )
        with write_transaction(self.engine) as conn:
            self._check_active(conn, old.owner, 1, max_active)
            return int(conn.execute(insert(jobs).values(**values).returning(jobs.c.id)).scalar_one())

    def children(self, job_id: int) -> list[Job]:
        """The jobs made from ``job_id`` (its retries and clones: ``parent_id``), oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(jobs).where(jobs.c.parent_id == job_id).order_by(jobs.c.id))
            return [Job.from_row(row) for row in rows]

    # ---------------------------------------------------------------- metric streams

    def metrics(
        self, job_id: int, *, names: Iterable[str] | None = None, after_id: int = 0
    ) -> list[MetricPoint]:
        """A job's metric points in the order written; ``after_id`` fetches only newer ones."""
        query = select(job_metrics).where(job_metrics.c.job_id == job_id, job_metrics.c.id > after_id)
        if names is not None:
            query = query.where(job_metrics.c.name.in_(list(names)))
        with self.engine.connect() as conn:
            return [MetricPoint.from_row(r) for r in conn.execute(query.order_by(job_metrics.c.id))]

    def metrics_frame(self, job_id: int, *, names: Iterable[str] | None = None):
        """The metric stream as a pandas DataFrame (columns id, name, value, step, epoch, time)."""
        import pandas as pd

        points = self.metrics(job_id, names=names)
        columns = ["id", "name", "value", "step", "epoch", "time"]
        return pd.DataFrame([{c: getattr(p, c) for c in columns} for p in points], columns=columns)

    def metric_names(self, job_id: int) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(job_metrics.c.name).where(job_metrics.c.job_id == job_id).distinct().order_by(job_metrics.c.name)
            )
            return [r.name for r in rows]

    def add_metrics(self, job_id: int, points: Sequence[Mapping[str, Any]]) -> None:
        """Append points, each a mapping with name, value and optionally step, epoch, time."""
        if not points:
            return
        now = utcnow()
        rows = [
            dict(job_id=job_id, name=str(p["name"]), value=_finite_or_none(p["value"]), step=p.get("step"),
                 epoch=p.get("epoch"), time=p.get("time") or now)
            for p in points
        ]
        with write_transaction(self.engine) as conn:
            conn.execute(insert(job_metrics), rows)

    # ---------------------------------------------------------------- artifacts


    def put_artifact(self, job_id: int, name: str, data: bytes | Path, media_type: str | None = None) -> ArtifactInfo:
        """Store (or replace) a job's artifact. Small ones go in the database, large ones become
        a file ``<artifact_dir>/<job_id>/<name>``. Pickles are refused (see ARTIFACT_MEDIA_TYPES)."""
        inferred = _media_type(name)
        payload = Path(data).read_bytes() if isinstance(data, Path) else bytes(data)
        size = len(payload)
        rel_path: str | None = None
        if size > INLINE_ARTIFACT_MAX_BYTES:
            if self.artifact_dir is None:
                raise StoreError(
                    f"artifact {name!r} is {size} bytes, over the {INLINE_ARTIFACT_MAX_BYTES}-byte inline limit, "
                    "and this store has no artifact directory"
                )
            rel_path = f"{job_id}/{name}"
            target = self.artifact_dir / rel_path
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename: a reader never sees half a file.
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
                tmp.write(payload)
            os.replace(tmp.name, target)
        values = dict(
            job_id=job_id, name=name, media_type=media_type or inferred, size=size,
            data=None if rel_path else payload, path=rel_path, created_at=utcnow(),
        )
        with write_transaction(self.engine) as conn:
            if conn.execute(select(jobs.c.id).where(jobs.c.id == job_id)).first() is None:
                raise JobNotFound(f"no job with id {job_id}")
            conn.execute(delete(job_artifacts).where(job_artifacts.c.job_id == job_id, job_artifacts.c.name == name))
            conn.execute(insert(job_artifacts).values(**values))
        return ArtifactInfo(job_id, name, values["media_type"], size, rel_path, values["created_at"])

    def artifacts(self, job_id: int) -> list[ArtifactInfo]:
        columns = [c for c in job_artifacts.c if c.name != "data"]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*columns).where(job_artifacts.c.job_id == job_id).order_by(job_artifacts.c.name)
            )
            return [ArtifactInfo.from_row(r) for r in rows]

    def read_artifact(self, job_id: int, name: str) -> bytes:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(job_artifacts.c.data, job_artifacts.c.path)
                .where(job_artifacts.c.job_id == job_id, job_artifacts.c.name == name)
            ).first()
        if row is None:
            raise StoreError(f"job {job_id} has no artifact {name!r}")
        if row.path is None:
            return bytes(row.data)
        if self.artifact_dir is None:
            raise StoreError(f"artifact {name!r} of job {job_id} is a file, and this store has no artifact directory")
        path = self.artifact_dir / row.path
        if not path.exists():
            raise StoreError(
                f"artifact file {path} is missing (is the artifact directory shared with the worker's host?)"
            )
        return path.read_bytes()

    # ---------------------------------------------------------------- workers

    def workers(self, *, include_stopped: bool = False) -> list[WorkerInfo]:
        query = select(workers).order_by(workers.c.started_at.desc())
        if not include_stopped:
            query = query.where(workers.c.stopped_at.is_(None))
        with self.engine.connect() as conn:
            return [WorkerInfo.from_row(r) for r in conn.execute(query)]

    def register_worker(
        self, worker_id: str, *, host: str, pid: int, devices: Sequence[str], slots: int, executor: str
    ) -> None:
        now = utcnow()
        with write_transaction(self.engine) as conn:
            conn.execute(
                insert(workers).values(
                    id=worker_id, host=host, pid=pid, devices=list(devices), slots=slots, executor=executor,
                    started_at=now, heartbeat_at=now, stopped_at=None,
                )
            )

    def heartbeat(self, worker_id: str, job_ids: Collection[int] = ()) -> None:
        """The worker is alive, and so are the jobs it runs."""
        now = utcnow()
        with write_transaction(self.engine) as conn:
            conn.execute(update(workers).where(workers.c.id == worker_id).values(heartbeat_at=now))
            if job_ids:
                conn.execute(
                    update(jobs)
                    .where(jobs.c.id.in_(list(job_ids)), jobs.c.status == "running", jobs.c.worker_id == worker_id)
                    .values(heartbeat_at=now)
                )

    def stop_worker(self, worker_id: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(update(workers).where(workers.c.id == worker_id).values(stopped_at=utcnow()))

    # ---------------------------------------------------------------- the worker's side of a job

    def claim(self, worker_id: str, device: str, kinds: Collection[str]) -> Job | None:
        """Atomically take the best queued job of one of ``kinds`` (highest priority, then oldest)
        and mark it running on ``worker_id``/``device``; None when there is none.

        One UPDATE … WHERE id = (SELECT … LIMIT 1) … RETURNING: on PostgreSQL the inner SELECT is
        FOR UPDATE SKIP LOCKED, so concurrent claimers pass over each other's rows; on SQLite the
        statement runs under BEGIN IMMEDIATE, which admits one writer at a time.
        """
        if not kinds:
            return None
        now = utcnow()
        candidate = (
            select(jobs.c.id)
            .where(jobs.c.status == "queued", jobs.c.kind.in_(list(kinds)))
            .order_by(jobs.c.priority.desc(), jobs.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        statement = (
            update(jobs)
            .where(jobs.c.id == candidate, jobs.c.status == "queued")
            .values(
                status="running", worker_id=worker_id, device=device, started_at=now, heartbeat_at=now,
                attempts=jobs.c.attempts + 1, progress=0.0, message=None, error=None, pid=None,
            )
            .returning(*jobs.c)
        )
        with write_transaction(self.engine) as conn:
            row = conn.execute(statement).first()
        return None if row is None else Job.from_row(row)

    def _owned(self, job_id: int, attempt: int):
        """The condition for writing to a running job: it is still this attempt's."""
        return and_(jobs.c.id == job_id, jobs.c.status == "running", jobs.c.attempts == attempt)

    def mark_started(self, job_id: int, attempt: int, pid: int) -> bool:
        with write_transaction(self.engine) as conn:
            return conn.execute(update(jobs).where(self._owned(job_id, attempt)).values(pid=pid)).rowcount == 1

    def set_progress(self, job_id: int, attempt: int, fraction: float, message: str | None = None) -> bool:
        values: dict[str, Any] = {"progress": min(1.0, max(0.0, float(fraction)))}
        if message is not None:
            values["message"] = message
        with write_transaction(self.engine) as conn:
            return conn.execute(update(jobs).where(self._owned(job_id, attempt)).values(**values)).rowcount == 1

    def finish(
        self,
        job_id: int,
        attempt: int,
        status: str,
        *,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
        message: str | None = None,
    ) -> bool:
        """End a running attempt as succeeded, failed or cancelled. False (and no change) if the
        attempt is no longer the job's current running one."""
        if status not in FINISHED_STATUSES:
            raise StoreError(f"cannot finish a job as {status!r}")
        values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "error": error}
        if status == "succeeded":
            values["progress"] = 1.0
        if result is not None:
            values["result"] = dict(result)
        if message is not None:
            values["message"] = message
        with write_transaction(self.engine) as conn:
            return conn.execute(update(jobs).where(self._owned(job_id, attempt)).values(**values)).rowcount == 1

    def requeue(self, job_id: int, attempt: int, message: str) -> bool:
        """Put a running attempt back in the queue without counting it (its worker is shutting
        down cleanly); False if it is no longer this attempt's."""
        with write_transaction(self.engine) as conn:
            return conn.execute(
                update(jobs).where(self._owned(job_id, attempt)).values(
                    status="queued", attempts=jobs.c.attempts - 1, worker_id=None, device=None, pid=None,
                    started_at=None, heartbeat_at=None, progress=0.0, message=message,
                )
            ).rowcount == 1

    def cancel_requested(self, job_ids: Collection[int]) -> set[int]:
        """Which of these jobs someone asked to cancel."""
        if not job_ids:
            return set()
        with self.engine.connect() as conn:
            rows = conn.execute(select(jobs.c.id).where(jobs.c.id.in_(list(job_ids)), jobs.c.cancel_requested))
            return {int(r.id) for r in rows}

    def requeue_stale(self, lease_s: float) -> tuple[list[int], list[int]]:
        """Jobs whose heartbeat is older than ``lease_s`` lost their worker: requeue them, or fail
        them once they used all their attempts. Returns (requeued ids, failed ids)."""
        now = utcnow()
        stale_before = now - timedelta(seconds=lease_s)
        stale = and_(jobs.c.status == "running", or_(jobs.c.heartbeat_at.is_(None), jobs.c.heartbeat_at < stale_before))
        with write_transaction(self.engine) as conn:
            failed = (
                conn.execute(
                    update(jobs)
                    .where(stale, jobs.c.attempts >= jobs.c.max_attempts)
                    .values(
                        status="failed",
                        finished_at=now,
                        error=f"its worker stopped answering (no heartbeat for {lease_s:g} s) "
                        "on every one of its attempts",
                        message="worker lost",
                    )
                    .returning(jobs.c.id)
                )
                .scalars()
                .all()
            )
            requeued = (
                conn.execute(
                    update(jobs)
                    .where(stale)
                    .values(
                        status="queued",
                        worker_id=None,
                        device=None,
                        pid=None,
                        started_at=None,
                        heartbeat_at=None,
                        progress=0.0,
                        message=f"requeued: its worker stopped answering (no heartbeat for {lease_s:g} s)",
                    )
                    .returning(jobs.c.id)
                )
                .scalars()
                .all()
            )
            conn.execute(
                update(workers).where(workers.c.stopped_at.is_(None), workers.c.heartbeat_at < stale_before)
                .values(stopped_at=now)
            )
        return [int(i) for i in requeued], [int(i) for i in failed]


def _finite_or_none(value: Any) -> float | None:
    """NaN and ±inf (a diverged run) are stored as NULL: SQLite would turn NaN into NULL anyway and
    PostgreSQL's NaN does not survive JSON; ``MetricPoint`` reads NULL back as NaN."""
    v = float(value)
    return v if math.isfinite(v) else None
