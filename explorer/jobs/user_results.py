"""Your own ``train`` runs as a results set, beside the benchmark's numbers for the same cell.

Every succeeded ``train`` job becomes one row (``train_results_frame``); ``export_train_results``
writes them all to one Parquet file (default ``<EXPLORER_DATA_DIR>/results/train_runs.parquet``),
which the worker refreshes after each train job and ``explorer results export`` rewrites on demand.
``runs_beside_benchmark`` joins the set with a warehouse result set by ``arch_str`` (the cell's
``Cell.to_text()``, the warehouse's key), so the browse page can show a run next to NB201's.

No torch here: the worker (which never imports torch) calls this module. Accuracies in the set are
fractions as the ``train`` kind reports them; the join gives percentages, as the warehouse has them.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from db.store import Job, JobStore
from explorer.cell.model import parse_cell
from explorer.core.access import User
from explorer.core.errors import CellError, DataError
from explorer.core.settings import Settings, get_settings
from explorer.jobs.labels import job_label

log = logging.getLogger(__name__)

# The set's columns and their dtypes (nullable integers where a network kind has no such size).
COLUMNS: dict[str, str] = {
    "job_id": "int64",
    "label": "str",  # '#9 DAG#3 · width 256 · digits · seed 1' (explorer.jobs.labels.job_label)
    "owner": "str",  # who ran it on a shared server (explorer.core.access); empty without tokens
    "arch_str": "str",  # Cell.to_text() of the (normal) cell: the warehouse's arch_str
    "cell_kind": "str",  # nb201 | darts | dag
    "network": "str",  # mlp | nb201 | darts (as the run resolved it)
    "width": "Int64",  # MLP width m
    "channels": "Int64",  # C of the NB201/DARTS network
    "cells_per_stage": "Int64",  # N of the NB201 network
    "layers": "Int64",  # cells of the DARTS network
    "parameters": "Int64",
    "dataset": "str",
    "epochs": "Int64",  # epochs run
    "seed": "Int64",
    "optimizer": "str",
    "lr": "float64",
    "schedule": "str",
    "batch_size": "Int64",
    "final_train_acc": "float64",  # fractions in [0, 1]
    "final_train_loss": "float64",
    "final_test_acc": "float64",
    "final_test_loss": "float64",
    "best_test_acc": "float64",
    "train_s": "float64",  # the training loop
    "duration_s": "float64",  # the whole job, started → finished
    "device": "str",
    "finished_at": "datetime64[us]",  # UTC
}
# Network sizes that mean something for each network kind; the others stay empty.
_SIZES = {"mlp": ("width",), "nb201": ("channels", "cells_per_stage"), "darts": ("channels", "layers")}
# Which warehouse datasets are the same data as a run's dataset (cifar10valid is CIFAR-10 too).
SAME_DATA = {"cifar10": {"cifar10", "cifar10valid"}, "cifar100": {"cifar100"}}
_PAGE = 500


def results_path(settings: Settings | None = None) -> Path:
    """Where the set lives by default: ``<data_dir>/results/train_runs.parquet``."""
    return (settings or get_settings()).data_dir / "results" / "train_runs.parquet"


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in COLUMNS.items()})


def _succeeded_train_jobs(store: JobStore) -> list[Job]:
    jobs: list[Job] = []
    while True:
        page = store.list(status="succeeded", kind="train", limit=_PAGE, offset=len(jobs), newest_first=False)
        jobs += page
        if len(page) < _PAGE:
            return jobs


def _row(store: JobStore, job: Job) -> dict[str, Any]:
    spec, result = job.spec, job.result or {}
    net = spec.get("network", {})
    try:
        cell = parse_cell(net["cell"])  # a genotype gives its normal cell, as the warehouse keys NDS rows
        arch_str, cell_kind = cell.to_text(), cell.kind
    except (CellError, KeyError) as exc:  # validated at submit; a later format change must not sink the set
        log.warning("train job %d: its cell does not parse any more (%s)", job.id, exc)
        arch_str = cell_kind = None
    network = result.get("network") or net.get("network")
    # The summary has no final train accuracy: the last point of the epoch stream is it.
    train_acc = store.metrics(job.id, names=["epoch_train_acc"])
    return {
        "job_id": job.id,
        "label": job_label(job),
        "owner": job.owner,
        "arch_str": arch_str,
        "cell_kind": cell_kind,
        "network": network,
        **{
            size: net.get(size) if size in _SIZES.get(network or "", ()) else None
            for size in ("width", "channels", "cells_per_stage", "layers")
        },
        "parameters": result.get("parameters"),
        "dataset": result.get("dataset") or spec.get("data", {}).get("name"),
        "epochs": result.get("epochs_run", spec.get("epochs")),
        "seed": spec.get("seed"),
        "optimizer": spec.get("optimizer"),
        "lr": spec.get("lr"),
        "schedule": spec.get("schedule"),
        "batch_size": spec.get("batch_size"),
        "final_train_acc": train_acc[-1].value if train_acc else None,
        "final_train_loss": result.get("final_train_loss"),
        "final_test_acc": result.get("final_test_acc"),
        "final_test_loss": result.get("final_test_loss"),
        "best_test_acc": result.get("best_test_acc"),
        "train_s": result.get("seconds"),
        "duration_s": job.duration_s,
        "device": result.get("device"),
        "finished_at": job.finished_at,
    }


def train_results_frame(store: JobStore) -> pd.DataFrame:
    """One row per succeeded ``train`` job of ``store``, oldest first (columns: ``COLUMNS``)."""
    rows = [_row(store, job) for job in _succeeded_train_jobs(store)]
    if not rows:
        return empty_frame()
    return pd.DataFrame.from_records(rows, columns=list(COLUMNS)).astype(COLUMNS)


def export_after_train(store: JobStore, job: Job) -> None:
    """The ``train`` kind's ``on_success`` hook: the worker refreshes the set after each train job.
    Best-effort: a failed export is logged, never fails the job or stops the worker; ``explorer
    results export`` rewrites the set any time."""
    try:
        export_train_results(store)
    except Exception:  # noqa: BLE001
        log.exception("could not export the train results set (after job %d)", job.id)


def export_train_results(store: JobStore, path: str | Path | None = None) -> pd.DataFrame:
    """Write every succeeded train run of ``store`` to ``path`` (default ``results_path()``) as
    Parquet, atomically: a reader sees the old file or the new one, never half of one. Returns the
    frame written."""
    path = Path(path) if path is not None else results_path()
    frame = train_results_frame(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            frame.to_parquet(f, index=False)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return frame


def runs_visible_to(runs: pd.DataFrame, user: User) -> pd.DataFrame:
    """The rows of a results set whose job ``user`` may see (all of them without tokens)."""
    return runs[[user.can_see(owner if isinstance(owner, str) else None) for owner in runs["owner"]]]


def read_train_results(path: str | Path | None = None) -> pd.DataFrame:
    """The set at ``path`` (default ``results_path()``); an empty frame when there is none yet.
    ``DataError`` when the file is not a readable set."""
    path = Path(path) if path is not None else results_path()
    if not path.exists():
        return empty_frame()
    fix = "rewrite it with `explorer results export`"
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a damaged file
        raise DataError(f"{path}: not a readable Parquet results set ({type(exc).__name__}: {exc}); {fix}") from None
    if "owner" not in frame.columns:  # written before jobs had owners: nobody's
        frame["owner"] = pd.Series([None] * len(frame), dtype="str")
    if "label" not in frame.columns and "job_id" in frame.columns:  # written before runs had labels
        frame["label"] = pd.Series([f"#{i}" for i in frame["job_id"]], dtype="str", index=frame.index)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: not a train results set (no column {', '.join(missing)}); {fix}")
    return frame[list(COLUMNS)]


# --- beside the benchmark ------------------------------------------------------------------------

BESIDE_COLUMNS = (
    "job_id", "label", "arch_str", "network", "parameters", "dataset", "epochs", "seed", "your_test_acc",
    "benchmark_acc", "benchmark_dataset", "benchmark_epochs", "benchmark_params", "same_dataset", "in_benchmark",
)


def same_dataset(run_dataset: str, benchmark_dataset: str) -> bool:
    """Whether a run's dataset is the benchmark result set's data (``cifar10`` ~ ``cifar10valid``)."""
    return benchmark_dataset in SAME_DATA.get(run_dataset, set())


def runs_beside_benchmark(runs: pd.DataFrame, benchmark: pd.DataFrame, benchmark_dataset: str) -> pd.DataFrame:
    """Each run with the benchmark's accuracy for the same cell (joined on ``arch_str``).

    ``benchmark``: one warehouse result set's rows (``Warehouse.rows``: ``arch_str``, ``accuracy``
    in %, optionally ``epochs`` and ``params_m``), ``benchmark_dataset`` its dataset. Every run
    stays (``in_benchmark`` False and no benchmark numbers when the cell is not in the set);
    ``your_test_acc`` is in % like ``benchmark_acc``; ``same_dataset`` says whether the two numbers
    are on the same data at all (a digits run and a CIFAR-10 result are not)."""
    bench = pd.DataFrame({
        "arch_str": benchmark["arch_str"].astype("str"),
        "benchmark_acc": benchmark["accuracy"].astype("float64"),
        "benchmark_epochs": benchmark["epochs"].astype("Int64") if "epochs" in benchmark else pd.NA,
        # The warehouse counts parameters in millions.
        "benchmark_params": (benchmark["params_m"] * 1e6).round().astype("Int64") if "params_m" in benchmark else pd.NA,
    }).drop_duplicates("arch_str")
    out = runs[["job_id", "label", "arch_str", "network", "parameters", "dataset", "epochs", "seed"]].copy()
    out["your_test_acc"] = runs["final_test_acc"].astype("float64") * 100
    out = out.merge(bench, on="arch_str", how="left", indicator=True)
    out["in_benchmark"] = out.pop("_merge").eq("both")
    out["benchmark_dataset"] = benchmark_dataset
    out["same_dataset"] = [same_dataset(str(d), benchmark_dataset) for d in out["dataset"]]
    return out[list(BESIDE_COLUMNS)]
