"""Workers on the embedded SQLite store: real worker processes, real job processes."""

from __future__ import annotations

import pytest

from db.store import JobStore
from explorer.core.errors import UserError
from explorer.jobs.queue import submit
from explorer.jobs.worker import Worker, usable_cpus
from tests.jobs_support import job_env, start_worker, stop_worker, wait_for

pytestmark = pytest.mark.slow


def test_two_workers_run_100_jobs_each_exactly_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    store = JobStore(url, artifact_dir=tmp_path / "artifacts")
    ids = [submit(store, "selftest", {"steps": 2, "size": 4, "seed": i}) for i in range(100)]
    env = job_env(url, tmp_path)
    workers = [start_worker(env, tmp_path / "logs") for _ in range(2)]
    try:
        wait_for(lambda: store.counts()["succeeded"] == 100 or store.counts()["failed"], 240, "100 jobs to finish")
    finally:
        codes = [stop_worker(w) for w in workers]
    assert codes == [0, 0], [w.log_path.read_text()[-2000:] for w in workers]
    jobs = [store.get(i) for i in ids]
    assert {j.status for j in jobs} == {"succeeded"}
    # Exactly once: one start each, and each job's stream holds one run's points (two steps).
    assert {j.attempts for j in jobs} == {1}
    assert all(len(store.metrics(i)) == 2 for i in ids)
    assert all([a.name for a in store.artifacts(i)] == ["solution.npy"] for i in ids)
    assert len({j.worker_id for j in jobs}) == 2  # both workers took part
    assert len({j.pid for j in jobs}) == 100  # a process of its own for every job
    assert all(w.stopped_at is not None for w in store.workers(include_stopped=True))
    # Each job got a share of the cores: all of them before the second worker registered, half after.
    cpus = usable_cpus()
    assert {j.result["threads"] for j in jobs} <= {cpus, max(1, cpus // 2)}
    assert jobs[-1].result["threads"] == max(1, cpus // 2)


def test_sigterm_requeues_a_running_job_and_a_new_worker_finishes_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    store = JobStore(url)
    job_id = submit(store, "selftest", {"steps": 40, "size": 4, "sleep_s": 0.05})  # about 2 s
    env = job_env(url, tmp_path)  # drain 0.5 s: shorter than the job
    first = start_worker(env, tmp_path / "logs")
    try:
        wait_for(lambda: store.get(job_id).pid, 60, "the job to start")
    finally:
        assert stop_worker(first) == 0
    job = store.get(job_id)
    # a clean stop does not count (the message says how it ended when it does: seen once as "failed" in CI)
    assert (job.status, job.attempts, job.worker_id) == ("queued", 0, None), (job.message, job.error)
    assert "shut down" in job.message
    assert store.metrics(job_id)  # it had started writing its stream

    second = start_worker(env, tmp_path / "logs", "--max-jobs", "1", "--threads", "1")
    try:
        assert second.wait(120) == 0
    finally:
        stop_worker(second)
    job = store.get(job_id)
    assert (job.status, job.attempts) == ("succeeded", 1)
    assert job.result["steps"] == 40
    assert job.result["threads"] == 1  # --threads


class _Executor:
    name = "local"

    def job_kinds(self) -> dict:
        return {}


def test_a_hosts_cores_are_split_among_the_job_slots_of_its_live_workers(tmp_path, monkeypatch):
    import socket

    from explorer.jobs import worker as worker_module

    monkeypatch.setattr(worker_module, "usable_cpus", lambda: 16)
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    me = Worker(store, devices=["cpu"], slots=2, executor=_Executor())
    assert me._threads_per_job() == 8  # not registered yet: its own two slots
    store.register_worker("other", host=socket.gethostname(), pid=1, devices=["cpu", "cuda:0"], slots=3,
                          executor="local")
    store.register_worker("elsewhere", host="another-host", pid=1, devices=["cpu"], slots=8, executor="local")
    assert me._threads_per_job() == 16 // 6  # the other worker's 2 devices × 3 slots on this host
    store.register_worker(me.worker_id, host=socket.gethostname(), pid=2, devices=["cpu"], slots=2, executor="local")
    assert me._threads_per_job() == 2  # 16 cores ÷ 8 slots
    store.stop_worker("other")
    assert me._threads_per_job() == 8
    assert Worker(store, executor=_Executor(), threads=3)._threads_per_job() == 3
    with pytest.raises(UserError, match="--threads"):
        Worker(store, executor=_Executor(), threads=0)


def test_serve_starts_the_app_and_a_worker_and_stops_both(tmp_path):
    import signal
    import subprocess
    import sys
    import urllib.request

    from tests.conftest import REPO, free_port
    from tests.jobs_support import pid_alive

    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "explorer", "serve", "--port", str(port), "--address", "127.0.0.1", "--devices", "cpu"],
        cwd=REPO, env=job_env(url, tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    store = JobStore(url)  # migrating alongside serve is safe: the two queue on the lock
    try:
        def app_up() -> bool:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).status == 200
            except OSError:
                return False

        wait_for(app_up, 90, "the app to answer")
        (worker,) = wait_for(lambda: store.workers(), 90, "the worker to register")
        job_id = submit(store, "selftest", {"steps": 2, "size": 4})
        wait_for(lambda: store.get(job_id).status == "succeeded", 60, "the served worker to run a job")
        serve.send_signal(signal.SIGTERM)  # what Ctrl-C does too
        assert serve.wait(40) == 0
    finally:
        if serve.poll() is None:
            serve.kill()
    assert not pid_alive(worker.pid)
    assert store.workers() == []  # the worker said it stopped


def test_every_on_success_hook_names_a_function():
    """Kinds name their hook as "module:function" (the worker imports it only when a job succeeds)."""
    import importlib

    from explorer.jobs.registry import load_kinds

    for kind in load_kinds().values():
        if kind.on_success is not None:
            module, _, name = kind.on_success.partition(":")
            assert callable(getattr(importlib.import_module(module), name)), kind.name
