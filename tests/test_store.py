"""JobStore on SQLite: the API the pages, the CLI and the worker rely on."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pydantic import BaseModel

import db.hypotheses  # noqa: F401 - the other tables on the shared metadata, so the comparison is whole
from db.store import INLINE_ARTIFACT_MAX_BYTES, JobNotFound, JobStore, StoreError
from db.store.engine import current_revision, head_revision
from db.store.schema import Base
from explorer.core.errors import SpecError
from explorer.jobs.queue import submit


class Spec(BaseModel):
    n: int = 1


@pytest.fixture
def store(tmp_path) -> JobStore:
    return JobStore(f"sqlite:///{tmp_path / 'data' / 'jobs.sqlite'}", artifact_dir=tmp_path / "artifacts")


def test_a_fresh_file_is_migrated_to_exactly_the_models(store):
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    JobStore(store.url)  # opening again is a no-op upgrade


def test_submit_stores_only_validated_specs(store):
    with pytest.raises(TypeError):
        store.submit("selftest", {"steps": 3})  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="steps: Input should be greater than or equal to 1"):
        submit(store, "selftest", {"steps": 0})
    with pytest.raises(SpecError, match="unknown job kind 'nope'"):
        submit(store, "nope", {})
    assert store.list() == []
    job = store.get(submit(store, "selftest", '{"steps": 3}'))
    assert job.status == "queued" and job.spec["steps"] == 3 and job.spec["size"] == 64  # defaults filled in
    assert job.to_dict()["created_at"].endswith("Z")


def test_claim_takes_priority_then_age_and_never_twice(store):
    low = store.submit("a", Spec())
    high = store.submit("a", Spec(), priority=5)
    other_kind = store.submit("b", Spec(), priority=9)
    first = store.claim("w1", "cpu", ["a"])
    assert (first.id, first.status, first.attempts, first.worker_id) == (high, "running", 1, "w1")
    assert store.claim("w2", "cuda:0", ["a"]).id == low
    assert store.claim("w2", "cpu", ["a"]) is None
    assert store.claim("w2", "cpu", []) is None
    assert store.get(other_kind).status == "queued"


def test_concurrent_claims_by_threads_take_each_job_once(store):
    ids = [store.submit("a", Spec()) for _ in range(60)]
    taken: list[int] = []

    def claimer(name: str) -> None:
        local = JobStore(store.url, migrate=False)
        while (job := local.claim(name, "cpu", ["a"])) is not None:
            taken.append(job.id)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == ids


def test_finish_and_progress_only_for_the_current_attempt(store):
    job_id = store.submit("a", Spec())
    job = store.claim("w", "cpu", ["a"])
    assert store.set_progress(job_id, job.attempts, 0.5, "half")
    assert not store.set_progress(job_id, job.attempts + 1, 0.9)  # a stale attempt writes nothing
    assert store.finish(job_id, job.attempts, "succeeded", result={"x": 1})
    assert not store.finish(job_id, job.attempts, "failed", error="late")
    done = store.get(job_id)
    assert (done.status, done.progress, done.result, done.error) == ("succeeded", 1.0, {"x": 1}, None)
    with pytest.raises(StoreError):
        store.finish(job_id, job.attempts, "running")


def test_cancel_queued_running_and_finished(store):
    queued = store.submit("a", Spec())
    assert store.cancel(queued).status == "cancelled"
    running = store.submit("a", Spec())
    store.claim("w", "cpu", ["a"])
    job = store.cancel(running)
    assert job.status == "running" and job.cancel_requested
    assert store.cancel_requested([running, queued]) == {running, queued}
    with pytest.raises(StoreError, match="already cancelled"):
        store.cancel(queued)
    with pytest.raises(JobNotFound):
        store.cancel(12345)


def test_retry_makes_a_new_job_with_the_same_spec(store):
    old = store.submit("a", Spec(n=7), priority=2)
    with pytest.raises(StoreError, match="only finished jobs"):
        store.retry(old)
    store.cancel(old)
    new = store.get(store.retry(old))
    assert (new.kind, new.spec, new.priority, new.parent_id, new.status, new.attempts) == (
        "a",
        {"n": 7},
        2,
        old,
        "queued",
        0,
    )


def test_stale_jobs_are_requeued_then_failed_after_max_attempts(store):
    job_id = store.submit("a", Spec(), max_attempts=2)
    store.register_worker("w", host="h", pid=1, devices=["cpu"], slots=1, executor="local")
    store.claim("w", "cpu", ["a"])
    assert store.requeue_stale(60) == ([], [])  # fresh heartbeat
    assert store.requeue_stale(0) == ([job_id], [])
    job = store.get(job_id)
    assert (job.status, job.attempts, job.worker_id) == ("queued", 1, None)
    assert "requeued" in job.message
    assert store.workers() == []  # the silent worker is marked stopped
    store.claim("w2", "cpu", ["a"])
    assert store.requeue_stale(0) == ([], [job_id])
    job = store.get(job_id)
    assert (job.status, job.attempts) == ("failed", 2)
    assert "no heartbeat" in job.error


def test_clean_requeue_does_not_count_an_attempt(store):
    job_id = store.submit("a", Spec())
    job = store.claim("w", "cpu", ["a"])
    assert store.requeue(job_id, job.attempts, "requeued: shutdown")
    assert store.get(job_id).attempts == 0 and store.get(job_id).status == "queued"


def test_metric_stream_in_order_and_incremental(store):
    job_id = store.submit("a", Spec())
    store.add_metrics(job_id, [{"name": "loss", "value": 3 - i, "step": i} for i in range(3)])
    store.add_metrics(job_id, [{"name": "acc", "value": 0.5, "epoch": 1}])
    points = store.metrics(job_id)
    assert [(p.name, p.value, p.step, p.epoch) for p in points] == [
        ("loss", 3, 0, None), ("loss", 2, 1, None), ("loss", 1, 2, None), ("acc", 0.5, None, 1)]
    assert [p.name for p in store.metrics(job_id, after_id=points[2].id)] == ["acc"]
    assert store.metric_names(job_id) == ["acc", "loss"]
    frame = store.metrics_frame(job_id, names=["loss"])
    assert list(frame["value"]) == [3, 2, 1]


def test_artifacts_inline_and_as_files_never_pickles(store, tmp_path):
    job_id = store.submit("a", Spec())
    buffer = io.BytesIO()
    np.save(buffer, np.arange(5), allow_pickle=False)
    small = store.put_artifact(job_id, "x.npy", buffer.getvalue())
    assert small.path is None and small.media_type == "application/x-npy"
    big_bytes = b"\0" * (INLINE_ARTIFACT_MAX_BYTES + 1)
    big = store.put_artifact(job_id, "weights.safetensors", big_bytes)
    assert big.path == f"{job_id}/weights.safetensors"
    assert (tmp_path / "artifacts" / big.path).stat().st_size == len(big_bytes)
    assert store.read_artifact(job_id, "weights.safetensors") == big_bytes
    assert np.load(io.BytesIO(store.read_artifact(job_id, "x.npy")), allow_pickle=False).tolist() == [0, 1, 2, 3, 4]
    store.put_artifact(job_id, "x.npy", b"replaced")
    assert [a.name for a in store.artifacts(job_id)] == ["weights.safetensors", "x.npy"]
    assert store.read_artifact(job_id, "x.npy") == b"replaced"
    for bad in ("model.pkl", "model.pt", "../escape.npy", "no_extension"):
        with pytest.raises(StoreError):
            store.put_artifact(job_id, bad, b"x")
    with pytest.raises(StoreError, match="no artifact"):
        store.read_artifact(job_id, "missing.npy")


def test_workers_register_heartbeat_and_stop(store):
    store.register_worker("w1", host="h", pid=10, devices=["cuda:0", "cuda:1"], slots=2, executor="local")
    job_id = store.submit("a", Spec())
    store.claim("w1", "cuda:0", ["a"])
    before = store.get(job_id).heartbeat_at
    store.heartbeat("w1", [job_id])
    assert store.get(job_id).heartbeat_at >= before
    (worker,) = store.workers()
    assert worker.devices == ["cuda:0", "cuda:1"] and worker.alive(60)
    store.stop_worker("w1")
    assert store.workers() == [] and len(store.workers(include_stopped=True)) == 1


def test_a_diverged_metric_is_stored_and_read_back_as_nan(store):
    """A NaN or infinite loss is a data point of a diverged run, not an error (stored as NULL)."""
    import math

    job = submit(store, "selftest", {"steps": 3})
    store.add_metrics(job, [{"name": "train_loss", "value": 0.5, "epoch": 1},
                            {"name": "train_loss", "value": float("nan"), "epoch": 2},
                            {"name": "train_loss", "value": float("inf"), "epoch": 3}])
    values = [p.value for p in store.metrics(job)]
    assert values[0] == 0.5 and math.isnan(values[1]) and math.isnan(values[2])
    assert store.metrics_frame(job)["value"].isna().sum() == 2
