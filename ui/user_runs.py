"""The browse page's "Your runs beside NB201": finished train runs next to the benchmark's accuracy."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from explorer.benchmarks.warehouse import Filter, Warehouse
from explorer.core.errors import DataError
from explorer.jobs.user_results import (
    read_train_results,
    results_path,
    runs_beside_benchmark,
    runs_visible_to,
)
from ui.access import current_user
from ui.warehouse import DATASET_LABELS, ResultSet


@st.cache_data(show_spinner=False, max_entries=4)
def _read_runs(path: str, mtime_ns: int) -> pd.DataFrame:  # the mtime is in the key: a new export is read again
    return read_train_results(path)


def user_runs_section(wh: Warehouse, rs: ResultSet) -> None:
    """Your runs (the Parquet set the worker writes) joined by cell with the chosen result set."""
    st.subheader("Your runs beside NB201")
    path = results_path()
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        st.info("No train runs of yours yet. Finished `train` jobs appear here (queue them on the Experiment "
                f"results page); the set is `{path}`, rewritten by `explorer results export`.")
        return
    try:
        runs = _read_runs(str(path), stamp)
    except DataError as exc:
        st.warning(str(exc))
        return
    runs = runs_visible_to(runs, current_user())
    if runs.empty:
        st.info(f"The results set `{path}` holds no succeeded train run of yours yet.")
        return
    bench = wh.rows(Filter(rs.space, rs.dataset, rs.schedule, accuracy=rs.accuracy),  # type: ignore[arg-type]
                    columns=("arch_str", "epochs", "params_m"), order_by="arch_id", descending=False)
    table = runs_beside_benchmark(runs, bench, rs.dataset)
    label = DATASET_LABELS.get(rs.dataset, rs.dataset)
    n_in = int(table["in_benchmark"].sum())
    st.caption(f"{len(table)} run(s) of yours; {n_in} of them use a cell of this result set ({rs.space}, {label}, "
               f"{rs.schedule}, {'test' if rs.accuracy == 'test_acc' else 'validation'} accuracy). "
               "Matched by cell (its canonical text).")
    differ = sorted(set(table.loc[~table["same_dataset"], "dataset"].astype(str)))
    if differ:
        st.warning(f"Different data: runs on {', '.join(differ)} are not on {label}, and their networks and "
                   "schedules are smaller than the benchmark's. Compare how cells rank, not the numbers.")
    st.dataframe(table, hide_index=True, key="browse_user_runs", column_config={
        "label": st.column_config.TextColumn("Run", width="medium"),
        "arch_str": st.column_config.TextColumn("Cell", width="medium"),
        "your_test_acc": st.column_config.NumberColumn("Your test acc (%)", format="%.2f"),
        "benchmark_acc": st.column_config.NumberColumn("Benchmark acc (%)", format="%.2f"),
    })
    shown = table[table["in_benchmark"]]
    if shown.empty:
        return
    names = list(shown["label"])  # '#9 DAG#3 · …', as the Jobs and Experiment results pages call the run
    fig = go.Figure([
        go.Bar(x=names, y=shown["your_test_acc"], name="your run", customdata=shown[["arch_str"]],
               hovertemplate="%{x}: %{y:.2f} %<br>%{customdata[0]}<extra></extra>"),  # the label names the data
        go.Bar(x=names, y=shown["benchmark_acc"], name=f"benchmark ({label})"),
    ])
    fig.update_layout(barmode="group", yaxis_title="accuracy (%)", height=360, legend={"orientation": "h", "y": -0.2})
    st.plotly_chart(fig, key="browse_user_runs_chart")
