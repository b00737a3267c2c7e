"""train → loss_contour → grad_variance → hessian_top through the real queue: a worker process,
a job process per job, artifacts handed on through the store."""

from __future__ import annotations

import io

import numpy as np
import pytest

from db.store import JobStore
from explorer.cell.presets import get_preset
from explorer.jobs.queue import submit
from tests.jobs_support import job_env, start_worker, stop_worker, wait_for

pytestmark = pytest.mark.slow


def test_train_then_contour_and_variance_through_the_queue(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    store = JobStore(url, artifact_dir=tmp_path / "artifacts")
    worker = start_worker(job_env(url, tmp_path, OMP_NUM_THREADS="1"), tmp_path / "logs")

    def finished(job_id: int) -> bool:
        return store.get(job_id).status in ("succeeded", "failed", "cancelled")

    try:
        train_id = submit(store, "train", {
            "network": {"cell": get_preset("DAG#3 (mixed)").cell.to_text(), "width": 32},
            "data": {"name": "digits"}, "epochs": 2, "batch_size": 64})
        wait_for(lambda: finished(train_id), 180, "the train job")
        train = store.get(train_id)
        assert train.status == "succeeded", train.message
        contour_id = submit(store, "loss_contour", {"train_job": train_id, "steps": 5, "samples": 200,
                                                    "interpolation_steps": 5})
        variance_id = submit(store, "grad_variance", {"train_job": train_id, "steps": 3, "samples": 200})
        hessian_id = submit(store, "hessian_top", {"train_job": train_id, "samples": 200, "top_k": 1})
        wait_for(lambda: all(finished(i) for i in (contour_id, variance_id, hessian_id)), 180, "the analysis jobs")
    finally:
        stop_worker(worker)
    jobs = {i: store.get(i) for i in (contour_id, variance_id, hessian_id)}
    assert {j.status for j in jobs.values()} == {"succeeded"}, [j.message for j in jobs.values()]
    assert train.result["final_test_acc"] > 0.8
    names = {a.name for a in store.artifacts(train_id)}
    assert {"weights.safetensors", "weights_init.safetensors", "train_spec.json", "curves.csv"} <= names
    assert {p.name for p in store.metrics(train_id)} >= {"train_loss", "test_acc"}
    contour = np.load(io.BytesIO(store.read_artifact(contour_id, "contour.npz")))
    # The centre of the plane is the trained network on the evaluation subset.
    assert contour["loss"].shape == (5, 5) and contour["loss"][2, 2] == jobs[contour_id].result["centre_loss"]
    variance = np.load(io.BytesIO(store.read_artifact(variance_id, "grad_variance.npz")))
    assert variance["sqrt_g"].shape == (3, 3) and np.all(np.isfinite(variance["sqrt_g"]))
    assert jobs[hessian_id].result["eigenvalues"][0] > 0  # positive curvature at a trained minimum
