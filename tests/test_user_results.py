"""Train runs as a Parquet results set: exported by the worker after each train job, read back,
joined with the benchmark, written by the CLI, shown on the browse page."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from db.store import JobStore
from explorer.benchmarks.warehouse import Filter, Warehouse
from explorer.cell.presets import get_preset
from explorer.cli import main
from explorer.core.errors import DataError
from explorer.jobs.child import Attempt, run_attempt
from explorer.jobs.kind import KindInfo
from explorer.jobs.labels import job_label
from explorer.jobs.queue import submit
from explorer.jobs.registry import load_kinds
from explorer.jobs.user_results import (
    BESIDE_COLUMNS,
    COLUMNS,
    export_train_results,
    read_train_results,
    results_path,
    runs_beside_benchmark,
    same_dataset,
)
from explorer.jobs.worker import Worker, WorkerConfig
from tests.conftest import REPO
from tests.warehouse_fixtures import nb201_warehouse  # noqa: F401 (fixture)

RESNET = get_preset("NB201 ResNet cell").cell.to_text()
DAG3 = get_preset("DAG#3 (mixed)").cell.to_text()


class _Done:
    def __init__(self, code: int) -> None:
        self.code = code

    def exitcode(self) -> int:
        return self.code

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


class InlineExecutor:
    """Runs each job to its end in this process when the worker starts it: the worker's own loop
    and bookkeeping (and so its train-results hook), without a fork server."""

    name = "inline"

    def job_kinds(self) -> dict[str, KindInfo]:
        return {name: kind.info() for name, kind in load_kinds().items()}

    def start(self, attempt: Attempt, gpu: bool) -> _Done:
        return _Done(run_attempt(attempt, own_process=False))

    def wait(self, handles, timeout: float) -> None: ...

    def close(self) -> None: ...


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JobStore, Path, dict[str, int]]]:
    """A store where a worker ran two tiny train jobs (an NB201 cell, an MLP cell) and a selftest."""
    tmp = tmp_path_factory.mktemp("user_results")
    store = JobStore(f"sqlite:///{tmp / 'jobs.sqlite'}", artifact_dir=tmp / "artifacts")
    ids = {
        "nb201": submit(store, "train", {"network": {"cell": RESNET, "network": "nb201", "channels": 4,
                                                     "cells_per_stage": 1},
                                         "data": {"name": "digits"}, "epochs": 2, "seed": 3, "lr": 0.05}),
        "mlp": submit(store, "train", {"network": {"cell": DAG3, "width": 16}, "data": {"name": "digits"},
                                       "epochs": 1, "optimizer": "adam", "lr": 0.01}),
        "selftest": submit(store, "selftest", {"steps": 2, "size": 4}),
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EXPLORER_DATA_DIR", str(tmp))
        mp.setenv("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES", ""))  # the job process sets it
        Worker(store, executor=InlineExecutor(), config=WorkerConfig(poll_s=0.01)).run(max_jobs=3)
    yield store, tmp, ids
    store.close()


def test_the_worker_exports_each_finished_train_job(runs) -> None:
    store, tmp, ids = runs
    assert {store.get(i).status for i in ids.values()} == {"succeeded"}
    path = tmp / "results" / "train_runs.parquet"
    assert path.exists() and not [p for p in path.parent.iterdir() if p != path]  # no temporary file left
    frame = read_train_results(path)
    assert list(frame.columns) == list(COLUMNS)
    assert list(frame["job_id"]) == [ids["nb201"], ids["mlp"]]  # train jobs only, oldest first
    nb201, mlp = (frame.iloc[k] for k in range(2))
    job = store.get(ids["nb201"])
    assert (nb201["arch_str"], nb201["cell_kind"], nb201["network"]) == (RESNET, "nb201", "nb201")
    assert nb201["label"] == job_label(job) and nb201["label"].startswith(f"#{job.id} ")
    assert (nb201["channels"], nb201["cells_per_stage"]) == (4, 1)
    assert pd.isna(nb201["width"]) and pd.isna(nb201["layers"])
    assert (nb201["dataset"], nb201["epochs"], nb201["seed"], nb201["optimizer"], nb201["lr"]) == (
        "digits",
        2,
        3,
        "sgd",
        0.05,
    )
    assert nb201["parameters"] == job.result["parameters"] > 0
    for column in ("final_test_acc", "final_test_loss", "final_train_loss", "best_test_acc"):
        assert nb201[column] == job.result[column]
    curves = pd.read_csv(pd.io.common.BytesIO(store.read_artifact(ids["nb201"], "curves.csv")))
    assert nb201["final_train_acc"] == curves["train_acc"].iat[-1]  # the last epoch's running train accuracy
    assert nb201["train_s"] == job.result["seconds"] and nb201["duration_s"] == job.duration_s > nb201["train_s"]
    assert nb201["finished_at"] == job.finished_at
    assert (mlp["arch_str"], mlp["cell_kind"], mlp["network"], mlp["width"]) == (DAG3, "dag", "mlp", 16)
    assert pd.isna(mlp["channels"]) and (mlp["optimizer"], mlp["epochs"], mlp["seed"]) == ("adam", 1, 0)
    assert 0.0 <= mlp["final_test_acc"] <= 1.0


def test_the_default_path_follows_the_data_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    assert results_path() == tmp_path.resolve() / "results" / "train_runs.parquet"


def test_no_set_yet_reads_as_empty_and_an_empty_store_exports_an_empty_set(tmp_path) -> None:
    empty = read_train_results(tmp_path / "none.parquet")
    assert empty.empty and list(empty.columns) == list(COLUMNS)
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    try:
        export_train_results(store, tmp_path / "out" / "runs.parquet")
    finally:
        store.close()
    again = read_train_results(tmp_path / "out" / "runs.parquet")
    assert again.empty and list(again.columns) == list(COLUMNS)


def test_a_damaged_or_foreign_file_is_a_clear_data_error(runs, tmp_path) -> None:
    _, tmp, _ = runs
    good = (tmp / "results" / "train_runs.parquet").read_bytes()
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match="cut.parquet: not a readable Parquet results set.*explorer results export"):
        read_train_results(cut)
    older = tmp_path / "older.parquet"  # written before runs had labels: called by their id
    pd.read_parquet(tmp / "results" / "train_runs.parquet").drop(columns=["label"]).to_parquet(older)
    frame = read_train_results(older)
    assert list(frame.columns) == list(COLUMNS) and all(frame["label"] == [f"#{i}" for i in frame["job_id"]])
    other = tmp_path / "other.parquet"
    pd.DataFrame({"job_id": [1], "acc": [0.5]}).to_parquet(other)
    with pytest.raises(DataError, match="not a train results set \\(no column arch_str"):
        read_train_results(other)


def test_a_failed_export_is_logged_and_does_not_stop_the_worker(tmp_path, monkeypatch, caplog) -> None:
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    job_id = submit(store, "train", {"network": {"cell": DAG3, "width": 8}, "data": {"name": "synthetic"}, "epochs": 1})
    (tmp_path / "results").write_text("a file where the results folder should be")
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES", ""))
    with caplog.at_level(logging.ERROR, logger="explorer.worker"):
        assert Worker(store, executor=InlineExecutor(), config=WorkerConfig(poll_s=0.01)).run(max_jobs=1) == 0
    try:
        assert store.get(job_id).status == "succeeded"
        assert "could not export the train results set" in caplog.text
    finally:
        store.close()


def test_runs_beside_a_benchmark_frame(runs) -> None:
    _, tmp, ids = runs
    frame = read_train_results(tmp / "results" / "train_runs.parquet")
    bench = pd.DataFrame({"arch_str": [RESNET, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"],
                          "accuracy": [93.91, 10.0], "epochs": [200, 200], "params_m": [0.559386, 0.0]})
    table = runs_beside_benchmark(frame, bench, "cifar10")
    assert list(table.columns) == list(BESIDE_COLUMNS) and list(table["job_id"]) == [ids["nb201"], ids["mlp"]]
    nb201, mlp = (table.iloc[k] for k in range(2))
    assert nb201["in_benchmark"] and nb201["benchmark_acc"] == 93.91 and nb201["benchmark_params"] == 559_386
    assert nb201["your_test_acc"] == pytest.approx(100 * frame["final_test_acc"].iat[0])
    assert not nb201["same_dataset"] and nb201["benchmark_dataset"] == "cifar10"  # digits is not CIFAR-10
    assert not mlp["in_benchmark"] and np.isnan(mlp["benchmark_acc"])
    assert same_dataset("cifar10", "cifar10valid") and same_dataset("cifar100", "cifar100")
    assert not same_dataset("cifar10", "cifar100") and not same_dataset("digits", "cifar10")


def test_runs_beside_the_real_nb201_warehouse(runs, nb201_warehouse: Path) -> None:  # noqa: F811
    _, tmp, ids = runs
    wh = Warehouse(nb201_warehouse)
    try:
        bench = wh.rows(Filter("nb201", "cifar10", "200ep"), columns=("arch_str", "epochs", "params_m"))
    finally:
        wh.close()
    table = runs_beside_benchmark(read_train_results(tmp / "results" / "train_runs.parquet"), bench, "cifar10")
    row = table.set_index("job_id").loc[ids["nb201"]]
    # NB201's ResNet cell: 93.91 % on CIFAR-10 (200 epochs, mean over seeds, as the train presets quote),
    # 559,386 parameters at C=16, N=5.
    assert row["in_benchmark"] and row["benchmark_acc"] == pytest.approx(93.91, abs=0.005)
    assert row["benchmark_epochs"] == 200 and row["benchmark_params"] == 559_386


def test_cli_export(runs, tmp_path, monkeypatch, capsys) -> None:
    store, _, ids = runs
    monkeypatch.setenv("EXPLORER_DB_URL", store.url)
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    out = tmp_path / "mine.parquet"
    assert main(["results", "export", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {"path": str(out), "rows": 2, "job_ids": [ids["nb201"], ids["mlp"]]}
    assert list(read_train_results(out)["job_id"]) == [ids["nb201"], ids["mlp"]]
    assert main(["results", "export"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote 2 train runs to {results_path()}"
    assert results_path().exists()


def test_browse_page_shows_your_runs_beside_nb201(runs, nb201_warehouse: Path, tmp_path, monkeypatch) -> None:  # noqa: F811
    _, tmp, ids = runs
    monkeypatch.setenv("EXPLORER_WAREHOUSE", str(nb201_warehouse))
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp))
    at = AppTest.from_file(str(REPO / "pages/browse.py"), default_timeout=60).run()
    assert not at.exception
    assert "Your runs beside NB201" in [h.value for h in at.subheader]
    table = at.dataframe[-1].value.set_index("job_id")  # the section comes last
    assert table.loc[ids["nb201"], "in_benchmark"] and not table.loc[ids["mlp"], "in_benchmark"]
    assert table.loc[ids["nb201"], "benchmark_acc"] == pytest.approx(93.91, abs=0.005)
    assert any("Different data: runs on digits" in w.value for w in at.warning)
    chart = json.loads(at.get("plotly_chart")[-1].proto.spec)  # Figure 5, then the section's bars
    assert [(t["type"], t["name"]) for t in chart["data"]] == [("bar", "your run"), ("bar", "benchmark (CIFAR-10 "
                                                                "(train+valid → test))")]
    # only the run whose cell NB201 has, called as the job pages call it
    assert chart["data"][1]["x"] == [job_label(runs[0].get(ids["nb201"]))]
    assert chart["data"][1]["x"][0].startswith(f"#{ids['nb201']} ") and "digits" in chart["data"][1]["x"][0]

    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))  # no set there yet
    at = AppTest.from_file(str(REPO / "pages/browse.py"), default_timeout=60).run()
    assert not at.exception and any("No train runs of yours yet" in i.value for i in at.info)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "train_runs.parquet").write_bytes(b"not parquet")
    at.run()
    assert not at.exception and any("not a readable Parquet results set" in w.value for w in at.warning)
