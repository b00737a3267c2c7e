"""Warehouse browser: filter NAS-Bench-201 / NDS architectures by d̄, m̄ and more; Chen et al. Figure 5 live."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

from explorer.benchmarks.analysis import ReachableRegion
from explorer.benchmarks.warehouse import TABLE_COLUMNS, Filter
from explorer.cell.model import parse_cell
from explorer.core.errors import CellError, UserError
from explorer.core.settings import get_settings
from explorer.figures.benchmarks import figure5, parallel_coordinates
from ui.common import page_header
from ui.state import editor_link
from ui.user_runs import user_runs_section
from ui.warehouse import open_or_explain, pick_result_set

HELP = """
Every architecture of the benchmark warehouse with its connectivity metrics (computed by the same
code as the editor) and its trained accuracy. Narrow the set in the sidebar.

- **d̄ / m̄**: Chen et al.'s effective depth and width. Cells with no parameterized path have no
  d̄/m̄; narrowing either slider drops them. The caption under each slider gives the space's box
  (half radius, as in their Sec. 5.3).
  Their sliders step through the values the space has (NB201: 15 of d̄, 19 of m̄), so each arrow-key
  press moves to the next one.
- **Figure 5**: one bubble per distinct (d̄, m̄): colour = mean accuracy, size = standard deviation.
  Grey: unreachable, since m̄·d̄ is the number of parameterized paths (between 1 and the space's
  largest path count) and d̄ cannot exceed the longest path.
- **R**: multiple correlation of accuracy with (d̄, m̄) (linear least squares) over the filtered cells.
- **NDS spaces** (`nds:…`, when the warehouse was built with `--nds`): cell spaces (DARTS, ENAS, …)
  describe the normal cell; ResNet, ResNeXt and Vanilla describe the **whole network** as one DAG
  (each residual block a body path beside its shortcut, blocks in series; docs/warehouse.md), so
  Chen et al.'s claim can be looked at on ResNets too. Their box comes from the space's own d̄/m̄ range.
- Chen et al. fixed 3 of NB201's 6 edges to convolutions for their Figure 5: pick *3* under *conv edges*.
"""

PAGE_SIZE = 50
SAMPLE = 3000  # rows drawn in the parallel-coordinates view and the scatter matrix
MAX_STOPS = 200  # a column with at most this many distinct values gets a slider over those values

page_header("Warehouse", HELP)
wh = open_or_explain()
sb = st.sidebar
sb.header("Filters")
rs = pick_result_set(wh, "browse")
base = Filter(rs.space, rs.dataset, rs.schedule, accuracy=rs.accuracy)  # type: ignore[arg-type]
ranged = ["effective_depth", "effective_width", "cell_width", "cell_depth", "n_skip", "n_pool", "n_none",
          "n_conv3x3", "n_conv1x1", rs.accuracy]
full = wh.column_ranges(base, ranged)


def box_of(space: str):
    """NB201: the box of the whole space (every wiring); other spaces (NDS): of the stored d̄/m̄ range."""
    from explorer.theory.spaces import Box, space_box

    if space == "nb201":
        return space_box("nb201")
    (d_lo, d_hi), (m_lo, m_hi) = full["effective_depth"], full["effective_width"]
    if None in (d_lo, d_hi, m_lo, m_hi):
        return None
    return Box.from_extent(space, np.array([d_lo, d_hi]), np.array([m_lo, m_hi]))


def cell_link(text: str) -> str | None:
    """The editor link of a cell; None for what the editor cannot open (NDS networks: ResNets are no cell)."""
    try:
        return editor_link(parse_cell(text))
    except CellError:
        return None


box = box_of(rs.space)
F_BOX = 0.5
ranges: dict[str, tuple[float | None, float | None]] = {}


def fit_range(kept: tuple[float, float], lo: float, hi: float, stops: list[float] | None) -> tuple[float, float]:
    """``kept`` clamped into [lo, hi], and narrowed onto stored values when the slider offers only those."""
    low, high = min(max(kept[0], lo), hi), max(min(kept[1], hi), lo)
    if stops:
        low = next(v for v in stops if v >= low)
        high = next(v for v in reversed(stops) if v <= high)
    return (low, high) if low <= high else (lo, hi)


def range_slider(label: str, column: str, step: float, help: str | None = None, caption: str | None = None,
                 per_dataset: bool = False) -> None:
    """A range slider over ``column``. A cell's metrics do not depend on the data set, so their
    ranges are kept per space (changing the dataset keeps d̄/m̄); accuracy is kept per result set.

    A column with few distinct values (d̄, m̄, the cell's width and depth) gets a slider over exactly
    those: with a fixed step, most arrow-key presses moved the thumb between two stored values and
    the page reran with the same rows, so keyboard changes looked ignored."""
    lo, hi = full.get(column, (None, None))
    if lo is None or hi is None:
        return
    stops = wh.column_values(base, column, MAX_STOPS)
    if stops:
        lo, hi = stops[0], stops[-1]
    else:
        if step < 1:
            lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
        lo, hi = round(lo, 6), round(hi, 6)
    if hi <= lo:
        return
    scope = f"{rs.space}_{rs.dataset}_{rs.schedule}" if per_dataset else rs.space
    key = f"browse_{column}_{scope}"
    kept = st.session_state.get(key)
    if kept is not None:  # a kept range must fit this result set (a widget refuses a value outside it)
        fitted = fit_range(kept, lo, hi, stops)
        if fitted != tuple(kept):
            st.session_state[key] = fitted
    if stops:
        digits = 2 if step < 1 else 0
        value = sb.select_slider(label, stops, (lo, hi), key=key, help=help, format_func=lambda v: f"{v:.{digits}f}")
    else:
        value = sb.slider(label, lo, hi, (lo, hi), step=step, key=key, help=help)
    if caption:
        sb.caption(caption)
    if tuple(value) != (lo, hi):  # the full range keeps rows whose value is undefined
        ranges[column] = value


def box_caption(center: float, radius: float) -> str:
    return f"▮ space box (f = ½): {center - F_BOX * radius:.2f} – {center + F_BOX * radius:.2f}"


range_slider("Effective depth d̄", "effective_depth", 0.01,
             caption=box_caption(box.center_depth, box.radius_depth) if box else None)
range_slider("Effective width m̄", "effective_width", 0.01,
             caption=box_caption(box.center_width, box.radius_width) if box else None)
range_slider("Cell width (Shu et al.)", "cell_width", 0.25)
range_slider("Cell depth (Shu et al.)", "cell_depth", 1.0)
conv_choices = wh.column_ranges(base, ["n_conv"])["n_conv"]
conv_lo, conv_hi = int(conv_choices[0] or 0), int(conv_choices[1] or 0)
n_conv = sb.multiselect("Conv edges (parameterized ops)", list(range(conv_lo, conv_hi + 1)), default=[],
                        key=f"browse_n_conv_{rs.space}", help="empty = any")
with sb.expander("Op counts"):
    for col, label in (("n_skip", "skip edges"), ("n_pool", "pooling edges"), ("n_none", "absent (none) edges"),
                       ("n_conv3x3", "conv 3×3 edges"), ("n_conv1x1", "conv 1×1 edges")):
        lo, hi = full.get(col, (None, None))
        if lo is not None and hi is not None and hi > lo:
            v = st.slider(label, int(lo), int(hi), (int(lo), int(hi)), key=f"browse_{col}_{rs.space}")
            if v != (int(lo), int(hi)):
                ranges[col] = v
range_slider("Accuracy (%)", rs.accuracy, 0.1, per_dataset=True)

proxy_names = wh.proxy_names(rs.space, rs.dataset)
proxy_ranges: dict[str, tuple[float | None, float | None]] = {}
chosen = sb.multiselect("Filter by proxies", proxy_names, key=f"browse_proxies_{rs.space}_{rs.dataset}")
for proxy, (lo, hi) in wh.proxy_ranges(base, chosen).items():
    if hi > lo:
        v = sb.slider(
            proxy, float(lo), float(hi), (float(lo), float(hi)), key=f"browse_proxy_{proxy}_{rs.space}_{rs.dataset}"
        )
        if v != (float(lo), float(hi)):
            proxy_ranges[proxy] = v

f = Filter(rs.space, rs.dataset, rs.schedule, ranges=ranges, n_conv=tuple(n_conv) or None,
           proxy_ranges=proxy_ranges, accuracy=rs.accuracy)  # type: ignore[arg-type]
count = wh.count(f)
groups = wh.figure5(f)
r_value, r_n = wh.multiple_r(f)

c1, c2, c3, c4 = st.columns(4)
c1.metric("Architectures", f"{count:,}")
c2.metric("With defined d̄/m̄", f"{r_n:,}")
c3.metric("(d̄, m̄) groups", f"{len(groups):,}")
c4.metric("R: accuracy ~ (d̄, m̄)", "—" if r_value is None else f"{r_value:.3f}",
          help="Multiple correlation of accuracy with d̄ and m̄ (least squares with intercept)")

# --- Figure 5 ------------------------------------------------------------------------------------
st.subheader("Chen et al. Figure 5: accuracy by (d̄, m̄)")
if groups.empty:
    st.info("No architecture with defined d̄/m̄ matches these filters.")
else:
    extent = wh.space_extent(rs.space)
    fig = figure5(groups, ReachableRegion(extent["max_paths"], extent["max_depth"]), box, f=F_BOX)
    st.plotly_chart(fig, key="figure5")
    st.caption("Bubble size: standard deviation of accuracy within the group. Dashed: the space's box (f = ½). "
               "Grey: unreachable (d̄, m̄).")

# Only the open tab runs (on_change="rerun"): the views query every filtered row.
tabs = st.tabs(["Results", "Parallel coordinates", "Scatter matrix"] + ([] if get_settings().read_only else ["SQL"]),
               key="browse_tab", on_change="rerun")
tab_table, tab_par, tab_splom, *tab_sql = tabs


def results_table() -> None:
    sort_cols = ["accuracy", *(c for c in TABLE_COLUMNS if c != "arch_str")]
    t1, t2, t3 = st.columns([2, 1, 1])
    order_by = t1.selectbox("Sort by", sort_cols, key="browse_sort")
    descending = t2.toggle("Descending", True, key="browse_desc")
    pages = max(1, math.ceil(count / PAGE_SIZE))
    page_no = int(t3.number_input(f"Page (of {pages})", 1, pages, 1, key="browse_page"))
    rows = wh.rows(f, columns=TABLE_COLUMNS, order_by=order_by, descending=descending, limit=PAGE_SIZE,
                   offset=(page_no - 1) * PAGE_SIZE)
    rows.insert(0, "open", [cell_link(text) for text in rows["arch_str"]])
    # The sort column next to the id, where it is seen without scrolling the wide table sideways.
    rows = rows[["open", "arch_id", order_by, *(c for c in rows.columns if c not in ("open", "arch_id", order_by))]]
    st.dataframe(rows, hide_index=True, key="browse_table", column_config={
        "open": st.column_config.LinkColumn("Editor", display_text="open ↗", help="Open this cell in the editor"),
        "arch_str": st.column_config.TextColumn("Architecture", width="large"),
    })
    st.caption(f"Rows {(page_no - 1) * PAGE_SIZE + 1:,}–{min(page_no * PAGE_SIZE, count):,} of {count:,}.")
    d1, d2 = st.columns(2)
    name = f"{rs.space.replace(':', '_')}_{rs.dataset}_{rs.schedule}"
    d1.download_button("Download CSV", lambda: wh.export(f, "csv"), file_name=f"{name}.csv", mime="text/csv",
                       key="browse_csv", on_click="ignore")
    d2.download_button("Download Parquet", lambda: wh.export(f, "parquet"), file_name=f"{name}.parquet",
                       mime="application/vnd.apache.parquet", key="browse_parquet", on_click="ignore")


def view_sample() -> tuple[pd.DataFrame, list[str]]:
    """Up to SAMPLE filtered rows and the columns to draw: (d̄, m̄, width, depth, params, accuracy, a proxy)."""
    dims = ["effective_depth", "effective_width", "cell_width", "cell_depth", "params_m", "accuracy"]
    proxy = st.selectbox("Proxy", proxy_names, key="browse_view_proxy") if proxy_names else None
    sample = wh.rows(f, proxies=[proxy] if proxy else [], order_by="arch_id", descending=False)
    if len(sample) > SAMPLE:
        sample = sample.sample(SAMPLE, random_state=0)
        st.caption(f"A random sample of {SAMPLE:,} of the {count:,} architectures.")
    dims += [f"proxy_{proxy}"] if proxy else []
    return sample, [d for d in dims if sample[d].notna().any()]


if tab_table.open:
    with tab_table:
        results_table()

if tab_par.open:
    with tab_par:
        sample, dims = view_sample()
        if sample.empty:
            st.info("No rows.")
        else:
            st.plotly_chart(parallel_coordinates(sample, dims), key="browse_parcoords")

if tab_splom.open:
    with tab_splom:
        sample, dims = view_sample()
        if sample.empty:
            st.info("No rows.")
        else:
            fig = px.scatter_matrix(sample, dimensions=dims, color="accuracy", color_continuous_scale="Viridis",
                                    opacity=0.5, height=800)
            fig.update_traces(marker={"size": 3}, diagonal_visible=False)
            st.plotly_chart(fig, key="browse_splom")

if tab_sql and tab_sql[0].open:
    with tab_sql[0]:
        st.caption("One read-only SELECT over architectures, results, proxies, hardware, curves, sources, meta "
                   "(10,000 rows, 10 s at most).")
        sql = st.text_area("SQL", "SELECT space, dataset, schedule, count(*) AS n, max(test_acc) AS best\n"
                           "FROM results JOIN architectures USING (arch_id)\nGROUP BY ALL ORDER BY ALL",
                           key="browse_sql", height=120)
        if st.button("Run query", key="browse_sql_run"):
            try:
                res = wh.query(sql)
            except UserError as exc:
                st.error(str(exc))
            else:
                st.dataframe(res.frame, hide_index=True)
                if res.truncated:
                    st.caption(f"First {res.row_limit:,} rows.")

user_runs_section(wh, rs)  # your finished train runs beside the benchmark (ui/user_runs.py)
