"""Widgets the warehouse pages share: open the warehouse (building it when needed), pick a result set."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import streamlit as st

from explorer.benchmarks.ensure import ensure_warehouse
from explorer.benchmarks.warehouse import Accuracy, Warehouse, build_command, open_shared
from explorer.core.errors import DataError
from explorer.core.settings import get_settings

DATASET_LABELS = {
    "cifar10": "CIFAR-10 (train+valid → test)", "cifar10valid": "CIFAR-10 (train → valid / test)",
    "cifar100": "CIFAR-100", "imagenet16": "ImageNet16-120", "imagenet": "ImageNet (NDS)",
}


_build_lock = threading.Lock()  # one build per app process; other sessions wait and then open it


def open_or_explain() -> Warehouse:
    """The shared read-only warehouse. Missing or out of date, it is built here once (from the shipped
    NAS-Bench-201 data or the inputs it records); if that fails the page says why and how to fix it."""
    settings = get_settings()
    try:
        return open_shared(settings.warehouse_path)
    except DataError:
        pass
    with _build_lock:
        try:
            return open_shared(settings.warehouse_path)  # built by another session meanwhile
        except DataError:
            pass
        with st.status("Building the benchmark warehouse (once; about 10 s)…", expanded=True) as status:
            state = ensure_warehouse(settings.warehouse_path, nb201_dir=settings.nb201_dir, log=st.write)
            status.update(label=state.message, state="complete" if state.usable else "error")
    try:
        if state.usable:
            return open_shared(settings.warehouse_path)
        problem = state.message
    except DataError as exc:
        problem = str(exc)
    st.error(f"The benchmark warehouse is not available: {problem}", icon="⚠️")
    st.markdown("To fix it, run this in the project folder, then reload the page (the other pages work "
                "without it):")
    st.code(build_command(settings.warehouse_path, settings.nb201_dir), language="bash")
    st.stop()
    raise AssertionError("not reached: st.stop ends the script")


@dataclass(frozen=True)
class ResultSet:
    space: str
    dataset: str
    schedule: str
    accuracy: Accuracy


def pick_result_set(wh: Warehouse, key: str, container=st.sidebar) -> ResultSet:
    sets = wh.result_sets()
    spaces = list(dict.fromkeys(sets["space"]))
    space = container.selectbox("Space", spaces, key=f"{key}_space")
    in_space = sets[sets["space"] == space]
    datasets = list(dict.fromkeys(in_space["dataset"]))
    dataset = container.selectbox("Dataset", datasets, key=f"{key}_dataset",
                                  format_func=lambda d: DATASET_LABELS.get(d, d))
    in_ds = in_space[in_space["dataset"] == dataset]
    schedules = list(in_ds["schedule"])
    default = schedules.index("200ep") if "200ep" in schedules else 0
    schedule = container.selectbox("Schedule", schedules, index=default, key=f"{key}_schedule",
                                   help="'200ep': mean over seeds of the 200-epoch runs; '-single': one seed")
    row = in_ds[in_ds["schedule"] == schedule].iloc[0]
    kinds = [k for k, n in (("test_acc", row["n_test"]), ("valid_acc", row["n_valid"])) if n > 0]
    accuracy = container.radio("Accuracy", kinds, key=f"{key}_accuracy", horizontal=True,
                               format_func=lambda k: "test" if k == "test_acc" else "validation")
    return ResultSet(space, dataset, schedule, accuracy or "test_acc")
