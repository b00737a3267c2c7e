"""NAS filter lab: Chen et al.'s d̄/m̄ box as a pre-filter for NAS, tested on the benchmark warehouse."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from explorer.cell.presets import get_preset
from explorer.core.errors import USER_ERRORS, UserError
from explorer.core.settings import get_settings
from explorer.figures.benchmarks import naswot_histogram
from explorer.jobs.label_parts import cell_title
from explorer.labs.search_sim import (
    ABLATION_F,
    DEFAULT_CANDIDATES,
    DEFAULT_REPEATS,
    SimulationConfig,
    box_table,
    final_result_sets,
    inside_outside_frame,
    load_space,
    main_table_of,
    picks_frame,
    proxy_choices,
    score_percentile,
    simulate,
)
from ui.access import SIGN_IN_NOTE, session_jobs
from ui.common import page_header
from ui.warehouse import DATASET_LABELS, open_or_explain

HELP = """
Chen et al. (NeurIPS 2022, Sec. 5.3) propose a cheap pre-filter for NAS: keep only cells whose
effective depth d̄ and width m̄ lie in the middle of the space's range, the **box**
centre ± f × radius (centre and radius from the smallest and largest d̄, m̄ in the space; the paper
uses f = ½). Cells with no parameterized input→output path have no d̄/m̄ and never pass.

- **Spaces**: NB201 (200-epoch seed means) and every NDS cell or network space the warehouse holds
  (its own schedule, one seed); each space's box comes from its own d̄/m̄ range.
- **Inside vs outside**: final (NB201: 200-epoch) test accuracy of the cells in and out of the box, with Welch's
  t-test of the difference and a bootstrap 95 % CI of the mean difference.
- **Search simulation**: each of R repeats draws N candidates (the same draws for every search).
  *Random* picks a random candidate (with the filter: a random one inside the box). *Proxy* picks
  the candidate with the best proxy score; with the filter, candidates outside the box are skipped
  before the proxy is computed, so it costs fewer proxy evaluations. The table reports the picked
  cell's accuracy (mean ± std over repeats), proxy evaluations per search and their reduction.
- **Ablation**: the same over f ∈ {1, ¾, ½, ¼} (the paper's Table 3).
- Proxies come from the warehouse (NASWOT v1 exists for CIFAR-10 only; the NAS-Bench-Suite-Zero
  proxies for CIFAR-10 and ImageNet16-120 cover 9,445 cells): a dataset without its own scores uses
  CIFAR-10's, as the *proxy source* column says. `acc12` is the 12-epoch validation accuracy.
"""

page_header("NAS filter lab", HELP)
wh = open_or_explain()
sb = st.sidebar
sb.header("Setup")
all_sets = wh.result_sets()
sets = final_result_sets(all_sets)  # NB201: 200 epochs; an NDS space: its own schedule
spaces = list(dict.fromkeys(sets["space"]))
if not spaces:
    st.info("The warehouse has no final-accuracy results to search over.")
    st.stop()
space = sb.selectbox("Space", spaces, key="nasf_space")
schedule = str(sets[sets["space"] == space]["schedule"].iloc[0])
available = [d for d in dict.fromkeys(sets[sets["space"] == space]["dataset"]) if d != "cifar10valid"]
default_ds = [d for d in ("cifar10", "cifar100", "imagenet16") if d in available] or available[:1]
kept = st.session_state.get("nasf_datasets")
if kept and not set(kept) <= set(available):  # another space (NDS ImageNet files have only 'imagenet')
    st.session_state["nasf_datasets"] = [d for d in kept if d in available] or default_ds
datasets = sb.multiselect("Datasets", available, default=default_ds, key="nasf_datasets",
                          format_func=lambda d: DATASET_LABELS.get(d, d))
has_acc12 = bool(((all_sets["space"] == space) & (all_sets["schedule"] == "12ep")).any())
proxies = proxy_choices(wh, space, has_acc12=has_acc12)
NO_PROXY = "none (random search only)"
proxy_choice = sb.selectbox("Proxy", proxies or [NO_PROXY], key="nasf_proxy",
                            help="naswot_v1: NASWOT (2020) on CIFAR-10; acc12: 12-epoch validation accuracy. "
                                 "NDS spaces have no proxy scores: random search, with and without the box")
proxy = None if proxy_choice == NO_PROXY else proxy_choice
f = sb.select_slider("Box factor f", options=[0.25, 0.5, 0.75, 1.0], value=0.5, key="nasf_f",
                     help="the box is centre ± f × radius; the paper uses ½")
repeats = int(sb.number_input("Repeats R", 10, 5000, DEFAULT_REPEATS, step=50, key="nasf_repeats"))
candidates = int(sb.number_input("Candidates N per search", 1, 5000, DEFAULT_CANDIDATES, step=10, key="nasf_n"))
seed = int(sb.number_input("Seed", 0, 2**31 - 1, 0, key="nasf_seed"))

if not datasets:
    st.info("Choose at least one dataset in the sidebar.")
    st.stop()


@st.cache_data(show_spinner="Simulating searches…", max_entries=16)
def run_lab(path: str, stamp: float, space: str, schedule: str, datasets: tuple[str, ...], proxy: str | None,
            f: float, repeats: int, candidates: int, seed: int):
    data = load_space(wh, space, list(datasets), proxy, schedule)
    config = SimulationConfig(repeats=repeats, candidates=candidates, fs=tuple(dict.fromkeys((*ABLATION_F, f))),
                              seed=seed)
    result = simulate(data, config)
    assert result.box is not None
    return (result.box.to_dict(f), box_table(data, f, seed=seed), inside_outside_frame(data, f), result.table,
            picks_frame(result))


try:
    box, boxes, cells, table, picks = run_lab(str(wh.path), wh.path.stat().st_mtime, space, schedule,
                                              tuple(datasets), proxy, float(f), repeats, candidates, seed)
except UserError as exc:
    st.error(str(exc))
    st.stop()

c1, c2, c3 = st.columns(3)
c1.metric(
    "Box d̄",
    f"{box['center_depth'] - box['half_radius_depth']:.3f} – {box['center_depth'] + box['half_radius_depth']:.3f}",
)
c2.metric(
    "Box m̄",
    f"{box['center_width'] - box['half_radius_width']:.3f} – {box['center_width'] + box['half_radius_width']:.3f}",
)
c3.metric("Share of the space kept", f"{100 * boxes['share_inside'].iloc[0]:.1f} %")

st.subheader("Accuracy inside vs outside the box")
st.plotly_chart(px.violin(cells, x="dataset", y="accuracy", color="box", box=True, points=False,
                          labels={"accuracy": f"test accuracy, {schedule} (%)"}), key="nasf_violin")
st.dataframe(boxes, hide_index=True, key="nasf_boxes", column_config={
    "share_inside": st.column_config.NumberColumn("share inside", format="%.3f"),
    "p_value": st.column_config.NumberColumn("p", format="%.2e"),
    "mann_whitney_p": st.column_config.NumberColumn("Mann–Whitney p", format="%.2e"),
})

st.subheader(f"Search simulation (R = {repeats}, N = {candidates}, f = {f:g})")
shown = main_table_of(table, f)
st.dataframe(shown.drop(columns=["f"]), hide_index=True, key="nasf_main", column_config={
    "mean_acc": st.column_config.NumberColumn("mean acc", format="%.2f"),
    "std_acc": st.column_config.NumberColumn("std acc", format="%.2f"),
    "mean_evaluations": st.column_config.NumberColumn("proxy evals / search", format="%.1f"),
    "evaluation_reduction": st.column_config.NumberColumn("reduction", format="percent"),
    "share_inside_pool": st.column_config.NumberColumn("share of pool inside", format="%.3f"),
})
view = picks[picks["f"].isna() | (picks["f"] == f)]
st.plotly_chart(px.box(view, x="dataset", y="accuracy", color="filter", facet_col="search",
                       labels={"accuracy": "picked cell's accuracy (%)"}), key="nasf_picks")

st.subheader("Ablation over f (Chen et al. Table 3)")
st.dataframe(table.drop(columns=["proxy_source"]), hide_index=True, key="nasf_ablation")
ablation = table.dropna(subset=["f"])
st.plotly_chart(px.line(ablation, x="f", y="mean_acc", color="dataset", line_dash="search", markers=True,
                        labels={"mean_acc": "mean picked accuracy (%)", "f": "box factor f"}), key="nasf_ablation_acc")
st.download_button("Download the search table (CSV)", lambda: table.to_csv(index=False).encode(),
                   file_name=f"nas_filter_{space}_{proxy}_R{repeats}_N{candidates}_seed{seed}.csv", mime="text/csv",
                   key="nasf_csv", on_click="ignore")
st.download_button(
    "Download every pick (CSV)",
    lambda: picks.to_csv(index=False).encode(),
    file_name=f"nas_filter_picks_{space}_{proxy}_seed{seed}.csv",
    mime="text/csv",
    key="nasf_picks_csv",
    on_click="ignore",
)

# --- the user's cell scored with NASWOT ----------------------------------------------------------------
st.subheader("Your cell's NASWOT score")
st.caption("Queue a `naswot` job: the cell's untrained NB201 network (C = 16, N = 5) scores one mini-batch. "
           "It is comparable with the warehouse's `naswot_v1` scores only on CIFAR-10 with batch 128; other data "
           "rank cells among themselves. Jobs run on a worker (`explorer worker`).")


@st.cache_data(show_spinner=False, max_entries=4)
def naswot_reference(path: str, stamp: float, space: str):
    return load_space(wh, space, ["cifar10"], "naswot_v1").datasets["cifar10"].proxy


if "naswot_v1" not in proxies:
    st.info(f"The warehouse has no NASWOT scores for {space}.")
    st.stop()
try:
    store = session_jobs()
except USER_ERRORS as exc:
    st.error(str(exc))
    st.stop()
reference = naswot_reference(str(wh.path), wh.path.stat().st_mtime, space)
if not get_settings().read_only and not store.user.can_submit:
    st.info(SIGN_IN_NOTE)
elif not get_settings().read_only:
    current = st.session_state.get("cell")
    default_cell = current.to_text() if current is not None and current.kind == "nb201" else get_preset(
        "NB201 ResNet cell").cell.to_text()
    with st.form("nasf_naswot_form"):
        cell_text = st.text_input("Cell (NB201 string or any cell format)", default_cell, key="nasf_naswot_cell")
        f1, f2, f3 = st.columns(3)
        data_name = f1.selectbox("Data", ["digits", "mnist1d", "synthetic", "cifar10"], key="nasf_naswot_data")
        data_path = f1.text_input("CIFAR-10 folder (for cifar10)", "", key="nasf_naswot_path",
                                  help="relative to the server's data directory, or an absolute path inside it")
        batch = int(f2.number_input("Batch size", 2, 1024, 64, key="nasf_naswot_batch",
                                    help="the Jacobian score needs a batch no larger than the input's size"))
        score_kind = f3.selectbox("Score", ["jacobian", "hamming"], key="nasf_naswot_score")
        if st.form_submit_button("Queue NASWOT job"):
            spec = {"network": {"cell": cell_text, "network": "nb201"}, "batch_size": batch, "score": score_kind,
                    "data": {"name": data_name, **({"path": data_path} if data_path else {})}}
            try:
                st.success(f"queued job {store.submit('naswot', spec)}")
            except USER_ERRORS as exc:
                st.error(str(exc))
jobs = store.list(kind="naswot", limit=50)
if jobs:
    placed = []
    for job in jobs:
        res = job.result or {}
        score = res.get("score")
        placed.append({"job": job.id, "status": job.status, "cell": cell_title(job.spec["network"]["cell"]),
                       "score": score, "data": res.get("dataset"), "kind": res.get("kind"),
                       "share of space below": score_percentile(score, reference)
                       if score is not None and res.get("comparable_with_warehouse") else None,
                       "comparable": res.get("comparable_with_warehouse"), "notes": " ".join(res.get("notes", []))})
    placed_frame = pd.DataFrame(placed)
    st.dataframe(placed_frame, hide_index=True, key="nasf_naswot_jobs")
    fig = naswot_histogram(reference, placed_frame, f"{space}: NASWOT (2020) scores on CIFAR-10, warehouse")
    st.plotly_chart(fig, key="nasf_naswot_hist")
    if not placed_frame["comparable"].fillna(False).astype(bool).all():
        st.caption("Only scores computed like the warehouse's (Jacobian score, CIFAR-10, batch 128) are drawn on "
                   "its histogram; the others are on another scale.")
else:
    st.caption("No NASWOT jobs yet.")
