"""The Experiments page under AppTest: an empty store, then real finished jobs of every kind."""

from __future__ import annotations

import base64
import json

import numpy as np
from streamlit.testing.v1 import AppTest

from db.store import JobStore
from explorer.cell.presets import get_preset
from explorer.experiments.presets import experiment_presets, preset_specs
from explorer.jobs.child import Attempt, run_attempt
from explorer.jobs.queue import submit, submit_many
from tests.conftest import REPO

PAGE = str(REPO / "pages/experiments.py")
TIMEOUT = 60


def _env(monkeypatch, tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    monkeypatch.setenv("EXPLORER_DB_URL", url)
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("EXPLORER_READ_ONLY", raising=False)
    return url


def _run_queued(store: JobStore, url: str, tmp_path) -> None:
    """Run every queued job in this process, the way a job process does (real store writes)."""
    while (job := store.claim("test-worker", "cpu", ["train", "loss_contour", "grad_variance", "hessian_top",
                                                      "nngp_check"])) is not None:
        run_attempt(Attempt(url, str(tmp_path / "artifacts"), job.id, job.attempts, "cpu", None), own_process=False)
        assert store.get(job.id).status == "succeeded", store.get(job.id).error


def test_empty_store_shows_guidance_and_queues_a_preset(monkeypatch, tmp_path) -> None:
    url = _env(monkeypatch, tmp_path)
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("No train jobs yet" in i.value for i in at.info)
    at.button(key="exp_queue").click().run()
    assert not at.exception
    assert any("Queued train jobs" in s.value for s in at.success)
    assert len(JobStore(url).list(kind="train")) == 9  # 3 DAGs × 3 seeds


def test_results_of_every_kind_are_drawn(monkeypatch, tmp_path) -> None:
    url = _env(monkeypatch, tmp_path)
    store = JobStore(url, artifact_dir=tmp_path / "artifacts")
    cell = get_preset("DAG#3 (mixed)").cell.to_text()
    for seed in (0, 1):
        submit(store, "train", {"network": {"cell": cell, "width": 16}, "data": {"name": "synthetic"}, "epochs": 2,
                                "seed": seed})
    _run_queued(store, url, tmp_path)
    train_id = store.list(kind="train")[0].id
    submit(store, "loss_contour", {"train_job": train_id, "steps": 3, "samples": 64, "interpolation_steps": 3})
    submit(store, "grad_variance", {"train_job": train_id, "steps": 3, "samples": 64})
    submit(store, "hessian_top", {"train_job": train_id, "samples": 64, "top_k": 2})
    submit(store, "nngp_check", {"cell": cell, "widths": [16, 32], "seeds": 2})
    _run_queued(store, url, tmp_path)

    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    # Two seeds of one cell pooled into one band + mean line; contour and surface; heat map; bars; NNGP.
    charts = at.get("plotly_chart")
    assert len(charts) >= 8
    at.checkbox(key="exp_pool").uncheck().run()
    assert not at.exception
    at.radio(key="exp_contour_z").set_value("acc").run()
    at.selectbox(key="exp_metric").set_value("train_loss").run()
    assert not at.exception
    at.button(key="exp_queue_loss_contour").click().run()
    assert not at.exception and any("Queued loss_contour" in s.value for s in at.success)
    job_id = at.selectbox(key="exp_analyse_job").value
    at.button(key=f"exp_onnx_{job_id}_make").click().run()
    assert not at.exception
    import onnx

    onnx.checker.check_model(onnx.load_from_string(at.session_state[f"exp_onnx_{job_id}"]))


def _values(array) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array ({"dtype", "bdata"}) as plotly 6 writes them."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array)


def test_training_curves_open_on_the_newest_experiment_one_curve_per_cell(monkeypatch, tmp_path) -> None:
    """The lecture's step: queue the DAG preset, open Training curves, see DAG#3 below DAG#2 below
    DAG#1 without picking anything (metrics written straight to the store: no training needed)."""
    url = _env(monkeypatch, tmp_path)
    store = JobStore(url, artifact_dir=tmp_path / "artifacts")
    submit(store, "train", {"network": {"cell": get_preset("NB201 all-conv").cell.to_text()},
                            "data": {"name": "synthetic"}, "epochs": 2})  # an older, unrelated run
    preset = next(p for p in experiment_presets() if p.name.startswith("Chen et al. Fig. 4, digits"))
    ids = submit_many(store, [("train", s) for s in preset_specs(preset)])
    final_loss = {"DAG#1": 1.5, "DAG#2": 1.0, "DAG#3": 0.5}
    for _ in range(len(ids) + 1):
        job = store.claim("w", "cpu", ["train"])
        level = final_loss.get(job.spec.get("name"), 2.0) + 0.01 * job.spec["seed"]
        store.add_metrics(job.id, [{"name": "epoch_train_loss", "value": level * (3 - e), "epoch": e, "step": e}
                                   for e in (1, 2)])
        store.finish(job.id, job.attempts, "succeeded", result={})

    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.selectbox(key="exp_curve_group").value == ",".join(map(str, ids))
    at.selectbox(key="exp_metric").set_value("epoch_train_loss").run()
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    lines = [t for t in fig["data"] if t.get("mode") == "lines+markers"]
    assert [t["name"] for t in lines] == [f"DAG#{i} · width 256 · digits · 3 seeds" for i in (1, 2, 3)]
    last = [_values(t["y"])[-1] for t in lines]
    assert last[2] < last[1] < last[0]  # DAG#3 below DAG#2 below DAG#1
    assert at.title[0].value == "Experiment results"


def test_read_only_hides_queueing(monkeypatch, tmp_path) -> None:
    _env(monkeypatch, tmp_path)
    monkeypatch.setenv("EXPLORER_READ_ONLY", "1")
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("read-only" in i.value for i in at.info)
