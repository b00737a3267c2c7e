"""The job store: jobs, their metric streams and artifacts, and workers, in SQLite or PostgreSQL.

    from explorer.jobs.queue import open_store
    store = open_store()                      # EXPLORER_DB_URL, or SQLite in the data directory (a JobStore)
    store.list(status="running")              # -> list[Job]
    store.metrics_frame(job_id)               # -> pandas DataFrame of the metric stream
    store.artifacts(job_id); store.read_artifact(job_id, "weights.safetensors")

To queue a job from raw input use ``explorer.jobs.submit(store, kind, spec)``: it validates the spec
with the kind's pydantic model first.
"""

from db.store.engine import make_engine, upgrade, write_transaction
from db.store.jobstore import (
    ANY_OWNER,
    ARTIFACT_MEDIA_TYPES,
    INLINE_ARTIFACT_MAX_BYTES,
    JobLimitReached,
    JobNotFound,
    JobStore,
    StoreError,
)
from db.store.records import ArtifactInfo, Job, MetricPoint, WorkerInfo, utcnow
from db.store.schema import FINISHED_STATUSES, JOB_STATUSES

__all__ = [
    "ANY_OWNER",
    "ARTIFACT_MEDIA_TYPES",
    "FINISHED_STATUSES",
    "INLINE_ARTIFACT_MAX_BYTES",
    "JOB_STATUSES",
    "ArtifactInfo",
    "Job",
    "JobLimitReached",
    "JobNotFound",
    "JobStore",
    "MetricPoint",
    "StoreError",
    "WorkerInfo",
    "make_engine",
    "upgrade",
    "utcnow",
    "write_transaction",
]
