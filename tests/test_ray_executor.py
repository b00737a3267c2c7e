"""The Ray executor against a real local Ray head started here (`ray start --head`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from db.store import JobStore
from explorer.jobs.queue import submit
from tests.conftest import free_port
from tests.jobs_support import job_env, start_worker, stop_worker, wait_for

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray", reason="requirements-ray.txt (in requirements-dev.txt) installs Ray")


@pytest.fixture
def ray_head():
    port = free_port()
    # A short temp dir: Ray's socket paths must fit in 107 characters.
    temp_dir = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    ray_bin = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [str(ray_bin), "start", "--head", "--block", f"--port={port}", "--num-cpus=2", "--num-gpus=0",
         "--object-store-memory=100000000", "--include-dashboard=false", "--disable-usage-stats",
         f"--temp-dir={temp_dir}"],
        stdout=open(temp_dir / "head.log", "w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        # Stop only the cluster this test started: its own process group.
        for sig, wait_s in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(head.pid, sig)  # Ray's daemons stay in the group; SIGKILL catches stragglers
            except ProcessLookupError:
                break
            try:
                head.wait(wait_s)
            except subprocess.TimeoutExpired:
                pass
        subprocess.run(["rm", "-rf", str(temp_dir)], check=False)


def test_twenty_jobs_through_ray_each_exactly_once(ray_head, tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    store = JobStore(url)
    ids = [submit(store, "selftest", {"steps": 2, "size": 4, "seed": i}) for i in range(20)]
    worker = start_worker(job_env(url, tmp_path), tmp_path / "logs",
                          "--executor", "ray", "--ray-address", ray_head, "--slots", "2")
    try:
        wait_for(lambda: store.counts()["succeeded"] == 20 or store.counts()["failed"] or worker.poll() is not None,
                 300, "20 Ray jobs to finish")
    finally:
        code = stop_worker(worker)
    log = worker.log_path.read_text()
    assert code == 0, log[-3000:]
    jobs = [store.get(i) for i in ids]
    assert {j.status for j in jobs} == {"succeeded"}, log[-3000:]
    assert {j.attempts for j in jobs} == {1}
    assert all(len(store.metrics(i)) == 2 for i in ids)
    assert {j.device for j in jobs} == {"cpu"}
    assert store.workers(include_stopped=True)[0].executor == "ray"
    # Each ran in a Ray worker process (max_calls=1: a fresh one per job), not in the worker itself.
    assert worker.pid not in {j.pid for j in jobs}
