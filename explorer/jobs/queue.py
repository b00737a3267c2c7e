"""The front door to the job queue for pages, the CLI and scripts.

``submit`` validates a spec and applies the server's rules before anything is stored: limits on
epochs and grid size, dataset paths confined to the data directory, jobs a spec refers to that the
user may see, and the per-user job limit. ``JobView`` is the store as one user sees it: pages read
jobs, metrics and artifacts only through it, so on a shared server nobody reaches another user's
job by guessing its id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from db.store import (
    ANY_OWNER,
    JOB_STATUSES,
    ArtifactInfo,
    Job,
    JobLimitReached,
    JobNotFound,
    JobStore,
    MetricPoint,
    StoreError,
    WorkerInfo,
    utcnow,
)
from explorer.core.access import OPEN, AccessError, User
from explorer.core.errors import SpecError
from explorer.core.paths import PathError, confine
from explorer.core.settings import Settings, get_settings
from explorer.jobs.labels import labels_by_id
from explorer.jobs.registry import get_kind

Spec = Mapping[str, Any] | str | BaseModel

# The job records and errors views handle: pages and the CLI take them from here, not from storage.
__all__ = ["JOB_STATUSES", "ArtifactInfo", "Job", "JobStore", "JobView", "MetricPoint", "StoreError", "WorkerInfo",
           "open_store", "submit", "submit_many", "utcnow"]


def open_store(settings: Settings | None = None, *, migrate: bool = True) -> JobStore:
    """The configured store (``EXPLORER_DB_URL``, else SQLite in the data directory), upgraded."""
    settings = settings or get_settings()
    return JobStore(settings.db_url, artifact_dir=settings.artifact_dir, migrate=migrate)


def submit(
    store: JobStore,
    kind: str,
    spec: Spec,
    *,
    priority: int = 0,
    max_attempts: int = 3,
    parent_id: int | None = None,
    user: User = OPEN,
) -> int:
    """Validate ``spec`` (a mapping, JSON text or model) with the kind's model and queue the job as
    ``user``'s. Raises ``SpecError`` naming every problem (or a configured limit exceeded),
    ``PathError`` or ``AccessError``; nothing is stored then."""
    return submit_many(store, [(kind, spec)], priority=priority, max_attempts=max_attempts,
                       parent_id=parent_id, user=user)[0]


def submit_many(
    store: JobStore,
    items: Sequence[tuple[str, Spec]],
    *,
    priority: int = 0,
    max_attempts: int = 3,
    parent_id: int | None = None,
    user: User = OPEN,
) -> list[int]:
    """``submit`` for several jobs at once: every spec is checked first, then all are queued in
    one transaction, or none (a sweep never stops half-way at the per-user limit)."""
    if not user.can_submit:
        raise AccessError("this server needs an access token to run jobs: enter yours in the sidebar")
    settings = get_settings()
    models = [(kind, _checked(store, kind, spec, user, settings)) for kind, spec in items]
    try:
        return store.submit_many(models, priority=priority, max_attempts=max_attempts, parent_id=parent_id,
                                 owner=user.name, max_active=None if user.sees_all else settings.max_jobs_per_user)
    except JobLimitReached as exc:
        raise AccessError(str(exc)) from None


def _checked(store: JobStore, kind: str, spec: Spec, user: User, settings: Settings) -> BaseModel:
    job_kind = get_kind(kind)
    raw = spec.model_dump(mode="json") if isinstance(spec, BaseModel) else spec
    model = job_kind.validate(raw)
    if job_kind.check_limits is not None:
        job_kind.check_limits(model, settings)
    for _owner_model, name, job_id in _flagged(model, "job_ref"):
        try:
            JobView(store, user).get(job_id)
        except JobNotFound:
            raise SpecError(f"invalid {kind} spec: {name}: no job with id {job_id}") from None
    return _confine_paths(kind, model, settings)


def _flagged(model: BaseModel, flag: str) -> Iterator[tuple[BaseModel, str, Any]]:
    """(model, field name, value) for every set field marked ``json_schema_extra={flag: True}``,
    in ``model`` and the models nested in it."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get(flag) and value is not None:
            yield model, name, value
        children = value if isinstance(value, list | tuple) else [value]
        for child in children:
            if isinstance(child, BaseModel):
                yield from _flagged(child, flag)


def _confine_paths(kind: str, model: BaseModel, settings: Settings) -> BaseModel:
    """The model with every ``data_path`` field made absolute inside the data directory, so a
    worker reads exactly the folder that was checked (or ``PathError``)."""
    updates: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("data_path") and value:
            try:
                updates[name] = str(confine(value, settings.data_dir, name))
            except PathError as exc:
                raise PathError(f"invalid {kind} spec: {exc}") from None
        elif isinstance(value, BaseModel):
            updates[name] = _confine_paths(kind, value, settings)
    return model.model_copy(update=updates) if updates else model


class JobView:
    """The job store as ``user`` sees it. Jobs the user may not see behave as if they did not
    exist: the same ``JobNotFound`` as for an id nobody has used."""

    def __init__(self, store: JobStore, user: User = OPEN) -> None:
        self.store = store
        self.user = user

    def _owner_filter(self) -> Any:
        return ANY_OWNER if self.user.sees_all else self.user.name

    @property
    def _guest(self) -> bool:  # sees no job at all (not even those without an owner)
        return not self.user.sees_all and self.user.name is None

    def list(self, **filters: Any) -> list[Job]:
        """``JobStore.list`` over the user's jobs (a guest's list is empty)."""
        return [] if self._guest else self.store.list(owner=self._owner_filter(), **filters)

    def labels(self, jobs: Sequence[Job]) -> dict[int, str]:
        """'#9 DAG#3 · width 256 · digits · seed 1' for each job, by id (``explorer.cell.naming``); a job
        another refers to is read only when it is not among ``jobs`` and the user may see it."""
        return labels_by_id(jobs, self._find)

    def _find(self, job_id: int) -> Job | None:
        try:
            return self.get(job_id)
        except JobNotFound:
            return None

    def counts(self) -> dict[str, int]:
        if self._guest:
            return dict.fromkeys(JOB_STATUSES, 0)
        return self.store.counts(owner=self._owner_filter())

    def get(self, job_id: int) -> Job:
        job = self.store.get(job_id)
        if not self.user.can_see(job.owner):
            raise JobNotFound(f"no job with id {job_id}")
        return job

    def metrics(self, job_id: int, **kwargs: Any) -> list[MetricPoint]:
        self.get(job_id)
        return self.store.metrics(job_id, **kwargs)

    def metrics_frame(self, job_id: int, **kwargs: Any):
        self.get(job_id)
        return self.store.metrics_frame(job_id, **kwargs)

    def artifacts(self, job_id: int) -> list[ArtifactInfo]:
        self.get(job_id)
        return self.store.artifacts(job_id)

    def read_artifact(self, job_id: int, name: str) -> bytes:
        self.get(job_id)
        return self.store.read_artifact(job_id, name)

    def submit(self, kind: str, spec: Spec, **kwargs: Any) -> int:
        return submit(self.store, kind, spec, user=self.user, **kwargs)

    def submit_many(self, items: Sequence[tuple[str, Spec]], **kwargs: Any) -> list[int]:
        return submit_many(self.store, items, user=self.user, **kwargs)

    def cancel(self, job_id: int) -> Job:
        self._may_act()
        self.get(job_id)
        return self.store.cancel(job_id)

    def retry(self, job_id: int, *, priority: int | None = None) -> int:
        self._may_act()
        self.get(job_id)
        try:
            return self.store.retry(job_id, priority=priority,
                                    max_active=None if self.user.sees_all else get_settings().max_jobs_per_user)
        except JobLimitReached as exc:
            raise AccessError(str(exc)) from None

    def workers(self, **kwargs: Any) -> list[WorkerInfo]:
        """The workers (shared machinery, the same for every user)."""
        return self.store.workers(**kwargs)

    def _may_act(self) -> None:
        if not self.user.can_submit:
            raise AccessError("this server needs an access token to change jobs: enter yours in the sidebar")
