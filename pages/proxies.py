"""Zero-cost proxies: how well each ranks the architectures, overall and inside d̄/m̄ buckets."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from explorer.benchmarks.analysis import MIN_BUCKET, proxy_rank_correlations
from explorer.benchmarks.warehouse import Filter
from ui.common import page_header
from ui.warehouse import open_or_explain, pick_result_set

HELP = f"""
Rank correlation of each zero-cost proxy's score with trained accuracy: **Kendall τ** and
**Spearman ρ** (1 = the proxy orders architectures exactly as accuracy does).

- **all**: every architecture of the result set that has the proxy (NB201: the 11 NAS-Bench-Suite-Zero
  proxies cover 9,445 cells; NASWOT v1 and Zen all connected cells; missing scores are left out).
- **Buckets**: d̄ and m̄ are each split into equal-count bins; a proxy that only tracks depth or width
  loses its correlation inside a bucket. Buckets of fewer than {MIN_BUCKET} architectures are not shown.
- `flops` and `params` are listed as baselines, as in the zero-cost literature.
"""

page_header("Zero-cost proxies", HELP)
wh = open_or_explain()
st.sidebar.header("Result set")
rs = pick_result_set(wh, "proxies")
bins = st.sidebar.slider("d̄ / m̄ bins", 1, 5, 3, key="proxies_bins")
f = Filter(rs.space, rs.dataset, rs.schedule, accuracy=rs.accuracy)  # type: ignore[arg-type]

table = proxy_rank_correlations(wh.proxy_frame(f), bins=bins)
if table.empty:
    st.info(f"No proxy scores for {rs.space} / {rs.dataset}. NB201 has proxies for cifar10 and imagenet16 "
            "(and Zen for cifar100).")
    st.stop()

overall = table[table["bucket"] == "all"].sort_values("spearman_rho", ascending=False, key=abs)
st.subheader("Overall")
st.dataframe(overall.drop(columns=["bucket"]), hide_index=True, key="proxies_overall", column_config={
    "kendall_tau": st.column_config.NumberColumn("Kendall τ", format="%.3f"),
    "spearman_rho": st.column_config.NumberColumn("Spearman ρ", format="%.3f"),
})

st.subheader("Per d̄/m̄ bucket")
measure = st.radio("Measure", ["spearman_rho", "kendall_tau"], horizontal=True, key="proxies_measure",
                   format_func=lambda m: "Spearman ρ" if m == "spearman_rho" else "Kendall τ")
grid = table.pivot(index="proxy", columns="bucket", values=measure).reindex(overall["proxy"])
fig = px.imshow(grid, color_continuous_scale="RdBu", zmin=-1, zmax=1, aspect="auto", text_auto=".2f",
                labels={"color": measure})
fig.update_layout(height=80 + 32 * len(grid))
st.plotly_chart(fig, key="proxies_heatmap")
with st.expander("All numbers"):
    st.dataframe(table, hide_index=True, key="proxies_table")
