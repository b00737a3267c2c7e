"""Workers on a real PostgreSQL server (started by tests/pg.py): concurrency, crashes, cancel,
failure, restarts."""

from __future__ import annotations

import os
import signal

import pytest

from db.store import JobStore
from explorer.jobs.queue import submit
from tests.jobs_support import job_env, pid_alive, start_worker, stop_worker, submit_at_once, wait_for
from tests.pg import postgres_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def pg():
    with postgres_server() as server:
        yield server


@pytest.fixture
def pg_store(pg, tmp_path):
    url = pg.new_database()
    store = JobStore(url, artifact_dir=tmp_path / "artifacts")
    yield store
    store.close()


def _worker_pid(worker_id: str | None) -> int:
    return int(worker_id.split("-")[-2])  # "<host>-<pid>-<random>"


def test_four_workers_run_400_jobs_each_exactly_once(pg_store, tmp_path):
    store = pg_store
    ids = [submit(store, "selftest", {"steps": 1, "size": 2, "seed": i}) for i in range(400)]
    env = job_env(store.url, tmp_path)
    workers = [start_worker(env, tmp_path / "logs") for _ in range(4)]
    try:
        wait_for(lambda: store.counts()["succeeded"] == 400 or store.counts()["failed"], 300, "400 jobs to finish")
    finally:
        codes = [stop_worker(w) for w in workers]
    assert codes == [0, 0, 0, 0]
    jobs = store.list(limit=1000)
    assert sorted(j.id for j in jobs) == sorted(ids)  # none lost, none added
    assert {j.status for j in jobs} == {"succeeded"}
    assert {j.attempts for j in jobs} == {1}  # each claimed once
    assert all(len(store.metrics(i)) == 1 for i in ids)  # each ran once: one point per step
    assert len({j.worker_id for j in jobs}) > 1


def test_killed_worker_job_is_requeued_and_finished_by_another(pg_store, tmp_path):
    store = pg_store
    job_id = submit(store, "selftest", {"steps": 30, "size": 4, "sleep_s": 0.1})  # about 3 s
    env = job_env(store.url, tmp_path)
    first = start_worker(env, tmp_path / "logs")
    second = None
    try:
        job = wait_for(lambda: (j := store.get(job_id)).pid and j, 120, "the job to start")
        second = start_worker(env, tmp_path / "logs")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        # The job process dies with its worker (no orphan keeps running, holding a device).
        wait_for(lambda: not pid_alive(job.pid), 10, "the killed worker's job process to die")
        done = wait_for(lambda: (j := store.get(job_id)).status in ("succeeded", "failed") and j, 120,
                        "the requeued job to finish")
    finally:
        stop_worker(first)
        if second is not None:
            stop_worker(second)
    assert done.status == "succeeded"
    assert done.attempts == 2
    assert _worker_pid(done.worker_id) == second.pid
    assert done.result["steps"] == 30


def test_cancel_stops_a_running_job_and_a_raising_job_fails_with_its_traceback(pg_store, tmp_path):
    store = pg_store
    slow = submit(store, "selftest", {"steps": 100_000, "size": 4, "sleep_s": 0.05})
    failing = submit(store, "selftest", {"steps": 10, "size": 4, "fail_at_step": 3})
    worker = start_worker(job_env(store.url, tmp_path), tmp_path / "logs", "--slots", "2")
    try:
        running = wait_for(lambda: (j := store.get(slow)).pid and j, 120, "the slow job to start")
        store.cancel(slow)
        requested = store.get(slow)
        assert requested.cancel_requested and requested.status == "running"
        cancelled = wait_for(lambda: (j := store.get(slow)).status != "running" and j, 5, "the job to be cancelled")
        assert cancelled.status == "cancelled"
        wait_for(lambda: not pid_alive(running.pid), 5, "the cancelled job's process to be gone")

        failed = wait_for(lambda: (j := store.get(failing)).finished and j, 60, "the failing job to end")
    finally:
        assert stop_worker(worker) == 0
    assert failed.status == "failed"
    assert failed.attempts == 1  # a job that raises is not retried by itself
    assert "Traceback (most recent call last)" in failed.error
    assert "SelftestFailure: selftest failed on purpose at step 3" in failed.error
    assert "SelftestFailure" in failed.message
    assert len(store.metrics(failing)) == 2  # the points before the failure are kept


def test_queued_jobs_survive_a_restart_of_everything(pg, pg_store, tmp_path):
    store = pg_store
    running = submit(store, "selftest", {"steps": 30, "size": 4, "sleep_s": 0.1})
    queued = [submit(store, "selftest", {"steps": 2, "size": 4, "seed": i}) for i in range(5)]
    env = job_env(store.url, tmp_path)
    worker = start_worker(env, tmp_path / "logs")
    try:
        wait_for(lambda: store.get(running).pid, 120, "the first job to start")
    finally:
        assert stop_worker(worker) == 0  # SIGTERM: the running job goes back to the queue
    assert store.get(running).status == "queued"
    assert store.counts()["queued"] == 6

    pg.restart()
    worker = start_worker(env, tmp_path / "logs")
    try:
        wait_for(lambda: store.counts()["succeeded"] == 6, 180, "every job to run after the restart")
    finally:
        assert stop_worker(worker) == 0
    assert {store.get(i).attempts for i in [running, *queued]} == {1}


def test_the_postgres_fixture_runs_as_a_separate_user_when_root(pg):
    # As root the server must run as `postgres`; a server running as root would have refused to start.
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port={pg.port} user={pg.user} dbname=postgres") as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    assert pg.user == ("postgres" if os.geteuid() == 0 else pg.user)


def test_concurrent_submissions_respect_the_per_user_limit_on_postgres(pg_store, monkeypatch):
    from explorer.core.access import User

    monkeypatch.setenv("EXPLORER_MAX_JOBS_PER_USER", "4")
    refused = submit_at_once(pg_store, User("alice", sees_all=False, can_submit=True), 12)
    assert len(pg_store.list(owner="alice")) == 4 and refused == 8
