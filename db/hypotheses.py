"""Hypothesis records of the principles lab, stored in the job store's database.

One row per (key, version). A record is editable while it is a draft; ``lock`` freezes it when it
is run (pre-registration: the statement, groups, protocol and α are fixed before any data is seen),
and saving a changed spec for a locked key makes a new version. The table shares the job store's
SQLAlchemy metadata; its migration is ``db/migrations/versions/0002_hypotheses.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, UniqueConstraint, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from db.store import utcnow, write_transaction
from db.store.schema import Base, BigId

HYPOTHESIS_STATUSES = ("draft", "running", "analysed", "failed")


class HypothesisRow(Base):
    __tablename__ = "hypotheses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # statement, direction, groups, protocol, α
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    locked_at: Mapped[datetime | None] = mapped_column(DateTime)
    job_ids: Mapped[list[int] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    verdict: Mapped[str | None] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("key", "version", name="uq_hypotheses_key_version"),)


hypotheses = HypothesisRow.__table__


@dataclass(frozen=True)
class StoredHypothesis:
    id: int
    key: str
    version: int
    spec: dict[str, Any]
    status: str
    created_at: datetime
    locked_at: datetime | None
    job_ids: list[int]
    result: dict[str, Any] | None
    verdict: str | None
    message: str | None

    @property
    def locked(self) -> bool:
        return self.locked_at is not None

    @classmethod
    def from_row(cls, row: Any) -> StoredHypothesis:
        m = row._mapping
        return cls(m["id"], m["key"], m["version"], dict(m["spec"]), m["status"], m["created_at"], m["locked_at"],
                   list(m["job_ids"] or []), m["result"], m["verdict"], m["message"])


class HypothesisStoreError(ValueError):
    """A hypothesis operation that cannot be done (unknown key, changing a locked record)."""


class HypothesisStore:
    """Reads and writes hypothesis records on a job store's engine (migrated by the JobStore)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def latest(self, key: str) -> StoredHypothesis | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(hypotheses).where(hypotheses.c.key == key)
                               .order_by(hypotheses.c.version.desc()).limit(1)).first()
        return None if row is None else StoredHypothesis.from_row(row)

    def get(self, key: str, version: int | None = None) -> StoredHypothesis:
        if version is None:
            found = self.latest(key)
        else:
            with self.engine.connect() as conn:
                row = conn.execute(select(hypotheses).where(hypotheses.c.key == key,
                                                            hypotheses.c.version == version)).first()
            found = None if row is None else StoredHypothesis.from_row(row)
        if found is None:
            raise HypothesisStoreError(f"no hypothesis {key!r}" + (f" version {version}" if version else ""))
        return found

    def all_latest(self) -> list[StoredHypothesis]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(hypotheses).order_by(hypotheses.c.key, hypotheses.c.version)).all()
        latest: dict[str, StoredHypothesis] = {}
        for row in rows:
            rec = StoredHypothesis.from_row(row)
            latest[rec.key] = rec
        return list(latest.values())

    def versions(self, key: str) -> list[StoredHypothesis]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(hypotheses).where(hypotheses.c.key == key).order_by(hypotheses.c.version)).all()
        return [StoredHypothesis.from_row(r) for r in rows]

    def save(self, key: str, spec: dict[str, Any]) -> StoredHypothesis:
        """Store ``spec`` under ``key``: a new key starts at version 1, a draft is updated in place,
        a locked record is never changed (a different spec becomes the next version)."""
        with write_transaction(self.engine) as conn:
            row = conn.execute(select(hypotheses).where(hypotheses.c.key == key)
                               .order_by(hypotheses.c.version.desc()).limit(1)).first()
            if row is not None:
                current = StoredHypothesis.from_row(row)
                if current.spec == spec:
                    return current
                if not current.locked:
                    conn.execute(update(hypotheses).where(hypotheses.c.id == current.id).values(spec=spec))
                    new_id = current.id
                else:
                    new_id = self._insert(conn, key, current.version + 1, spec)
            else:
                new_id = self._insert(conn, key, 1, spec)
            return StoredHypothesis.from_row(conn.execute(select(hypotheses).where(hypotheses.c.id == new_id)).one())

    @staticmethod
    def _insert(conn: Any, key: str, version: int, spec: dict[str, Any]) -> int:
        return int(conn.execute(insert(hypotheses).values(
            key=key, version=version, spec=spec, status="draft", created_at=utcnow(), job_ids=[],
        ).returning(hypotheses.c.id)).scalar_one())

    def lock(self, record_id: int, job_ids: list[int], status: str = "running") -> StoredHypothesis:
        """Freeze a draft and record the jobs it queued; refuses a record that is already locked."""
        with write_transaction(self.engine) as conn:
            done = conn.execute(update(hypotheses).where(hypotheses.c.id == record_id, hypotheses.c.locked_at.is_(None))
                                .values(locked_at=utcnow(), job_ids=list(job_ids), status=status)).rowcount
            if not done:
                raise HypothesisStoreError(f"hypothesis record {record_id} is already locked (run): save a changed "
                                           "spec to make a new version")
            return StoredHypothesis.from_row(conn.execute(select(hypotheses).where(hypotheses.c.id == record_id)).one())

    def add_jobs(self, record_id: int, job_ids: list[int]) -> StoredHypothesis:
        """Record follow-up jobs of a run (e.g. Hessian jobs queued once its train jobs finished)."""
        with write_transaction(self.engine) as conn:
            row = conn.execute(select(hypotheses).where(hypotheses.c.id == record_id)).one()
            current = StoredHypothesis.from_row(row)
            if not current.locked:
                raise HypothesisStoreError(f"hypothesis record {record_id} has not been run")
            conn.execute(update(hypotheses).where(hypotheses.c.id == record_id)
                         .values(job_ids=current.job_ids + list(job_ids)))
            return StoredHypothesis.from_row(conn.execute(select(hypotheses).where(hypotheses.c.id == record_id)).one())

    def set_result(self, record_id: int, *, status: str, result: dict[str, Any] | None = None,
                   verdict: str | None = None, message: str | None = None) -> StoredHypothesis:
        if status not in HYPOTHESIS_STATUSES:
            raise HypothesisStoreError(f"unknown status {status!r}")
        with write_transaction(self.engine) as conn:
            conn.execute(update(hypotheses).where(hypotheses.c.id == record_id)
                         .values(status=status, result=result, verdict=verdict, message=message))
            return StoredHypothesis.from_row(conn.execute(select(hypotheses).where(hypotheses.c.id == record_id)).one())
