"""The front door to the job queue for pages, the CLI and scripts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from db.store import JobStore
from explorer.errors import SpecError
from explorer.jobs.registry import get_kind
from explorer.settings import Settings, get_settings


def open_store(settings: Settings | None = None, *, migrate: bool = True) -> JobStore:
    """The configured store (``EXPLORER_DB_URL``, else SQLite in the data directory), upgraded."""
    settings = settings or get_settings()
    return JobStore(settings.db_url, artifact_dir=settings.artifact_dir, migrate=migrate)


def submit(
    store: JobStore,
    kind: str,
    spec: Mapping[str, Any] | str | BaseModel,
    *,
    priority: int = 0,
    max_attempts: int = 3,
    parent_id: int | None = None,
) -> int:
    """Validate ``spec`` (a mapping, JSON text or model) with the kind's model and queue the job.
    Raises ``SpecError`` naming every problem (or a configured limit exceeded); nothing is stored then."""
    job_kind = get_kind(kind)
    raw = spec.model_dump(mode="json") if isinstance(spec, BaseModel) else spec
    model = job_kind.validate(raw)
    _check_limits(kind, model, get_settings())
    return store.submit(kind, model, priority=priority, max_attempts=max_attempts, parent_id=parent_id)


def _check_limits(kind: str, model: BaseModel, settings: Settings) -> None:
    """The deployment's limits (``limits.*`` in the settings), on top of the spec model's own bounds."""
    from explorer.landscape import GridSpec  # loaded with the kinds already
    from explorer.train import TrainSpec

    if isinstance(model, TrainSpec) and model.epochs > settings.max_epochs:
        raise SpecError(f"invalid {kind} spec: epochs: {model.epochs} is over this server's limit "
                        f"of {settings.max_epochs} (limits.epochs)")
    if isinstance(model, GridSpec) and model.steps > settings.max_grid_steps:
        raise SpecError(f"invalid {kind} spec: steps: {model.steps} grid points per axis is over this "
                        f"server's limit of {settings.max_grid_steps} (limits.grid_steps)")
