"""Principles lab: pre-registered hypotheses about skip connections, their runs and verdicts."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from explorer.core.errors import USER_ERRORS
from explorer.core.settings import get_settings
from explorer.jobs.queue import JobStore
from explorer.labs.analysis import design_power, power_sentence
from explorer.labs.lab import Lab
from explorer.labs.reports import format_p, report_html, report_markdown, result_figure
from explorer.labs.specs import METRICS
from ui.access import SIGN_IN_NOTE, current_user, session_jobs
from ui.common import page_header

HELP = f"""
Each hypothesis is a record: a **statement**, the **predicted direction**, the **groups** of cells it
compares and the **protocol** (data, network, optimizer, epochs, seeds, metric, α). Running it
**locks** that version (pre-registration: nothing can change after the data is in) and queues one
`train` job per cell and seed; warehouse hypotheses are answered from the benchmark data at once.
Editing a locked hypothesis saves a new version.

The analysis picks the test from the design: two groups → Welch's t-test (≥ 20 values per group)
or an exact permutation test (fewer), with Mann–Whitney U as a rank check; paired cells (a cell and
its rewiring) → a permutation test within each pair; "no difference" → equivalence test (TOST) within
the stated margin; ordered groups → Spearman's ρ over the order **and** every neighbouring pair.
Several units (datasets, learning rates) are Holm-corrected together. The verdict is **supported**
when every part is significant in the predicted direction, **refuted** when any part is significant
against it, otherwise **inconclusive** — and **cannot be decided** when the design's smallest
reachable p is not below α (such runs are refused). The table below the overview corrects across
all analysed hypotheses (Holm).

Metrics: {"; ".join(f"`{k}`: {v}" for k, v in METRICS.items())}.
"""



@st.cache_resource(show_spinner=False)
def _lab(_store: JobStore, db_url: str, warehouse_path: str) -> Lab:
    """One lab per store and warehouse, shared by every session (the store: ``session_jobs``)."""
    return Lab(_store, warehouse_path)


page_header("Principles lab", HELP)
settings = get_settings()
user = current_user()
# Hypotheses are shared records: on a shared server only signed-in users run, analyse or edit them.
may_change = not settings.read_only and user.can_submit
try:
    lab = _lab(session_jobs().store, settings.db_url, str(settings.warehouse_path))
    # Showing the page only reads: analyses are written by the explicit "Analyse" action below.
    hypotheses = lab.latest()
except USER_ERRORS as exc:
    st.error(str(exc))
    st.stop()

rows = []
for h in hypotheses:
    jobs = lab.job_status(h) if h.job_ids else {}
    rows.append({"key": h.key, "version": h.version, "title": h.spec.title, "status": h.status,
                 "verdict": h.verdict or "", "jobs done": f"{jobs.get('succeeded', 0) + jobs.get('failed', 0)}"
                 f"/{len(h.job_ids)}" if h.job_ids else "", "summary": h.record.message or ""})
st.subheader("Hypotheses")
st.dataframe(pd.DataFrame(rows), hide_index=True, key="principles_overview")
family = lab.family()
if family:
    st.caption(f"Family-wise: Holm across the {len(family)} analysed hypotheses; a \"supported\" or \"refuted\" "
               "stands only if its family-adjusted p is below α")
    # p-values as people read them: an underflowed p is "< 1e-300", never "0"
    table = pd.DataFrame(family).drop(columns=["family_size"]).rename(
        columns={"p_family": "family-adjusted p", "family_verdict": "after the correction"})
    table[["p", "family-adjusted p"]] = table[["p", "family-adjusted p"]].map(format_p)
    st.dataframe(table, hide_index=True, key="principles_family")

keys = [h.key for h in hypotheses]
key = st.selectbox("Hypothesis", keys, key="principles_key",
                   format_func=lambda k: f"{k}: {next(h.spec.title for h in hypotheses if h.key == k)}")
versions = lab.versions(key)
version = st.selectbox("Version", [v.version for v in versions], index=len(versions) - 1, key=f"principles_v_{key}")
h = next(v for v in versions if v.version == version)

st.markdown(f"> {h.spec.statement}")
c1, c2, c3 = st.columns(3)
c1.metric("Status", h.status)
c2.metric("Verdict", h.verdict or "—")
c3.metric("Predicted", h.spec.direction, help=h.spec.design())
power = (h.result or {}).get("power") or design_power(h.spec)
(st.caption if power["decidable"] else st.warning)(f"Power: {power_sentence(power)}")
if h.record.locked_at:
    st.caption(f"Locked (pre-registered) {h.record.locked_at:%Y-%m-%d %H:%M} UTC · jobs {h.job_ids or 'none'}")

if h.status == "running":
    counts = lab.job_status(h)
    done = counts.get("succeeded", 0) + counts.get("failed", 0) + counts.get("cancelled", 0)
    st.progress(done / max(1, len(h.job_ids)), text=f"{done} of {len(h.job_ids)} jobs finished "
                f"({', '.join(f'{n} {s}' for s, n in counts.items())}); analyse the run once all are done.")
    if done < len(h.job_ids):
        if st.button("Check again", key="principles_refresh"):
            st.rerun()
    elif may_change and lab.may_analyse(h, user):
        if st.button(f"Analyse {key} v{version}", type="primary", key="principles_analyse",
                     help="Computes the verdict from the finished jobs (or queues the follow-up jobs its metric "
                          "needs, as yours)."):
            try:
                lab.analyse(key, version, user=user)
                st.rerun()
            except USER_ERRORS as exc:
                st.error(str(exc))
    else:
        st.caption("Every job has finished: the user who ran it analyses the run.")
if h.status == "failed" and h.record.message:
    st.error(h.record.message)

if not h.record.locked and may_change and version == versions[-1].version:
    if st.button(f"Run {key} v{version} (locks it)", type="primary", key="principles_run"):
        try:
            lab.run(key, user=user)
            st.rerun()
        except USER_ERRORS as exc:
            st.error(str(exc))

if h.result:
    fig = result_figure(h)
    if fig is not None:
        st.plotly_chart(fig, key="principles_figure")
    for unit in h.result["units"]:
        with st.expander(f"{unit['unit']}: p = {format_p(unit['p_value'])} (Holm {format_p(unit['p_holm'])})"):
            st.dataframe(pd.DataFrame(unit["groups"]), hide_index=True, key=f"principles_unit_{unit['unit']}")
            st.json({k: v for k, v in unit.items() if k not in ("groups",)}, expanded=False)

md = report_markdown(h, family)
with st.expander("Report", expanded=not h.result):
    st.markdown(md)
d1, d2 = st.columns(2)
d1.download_button("Download report (Markdown)", lambda: md.encode(), file_name=f"{key}_v{version}.md",
                   mime="text/markdown", key="principles_md", on_click="ignore")
d2.download_button("Download report (HTML)", lambda: report_html(h).encode(), file_name=f"{key}_v{version}.html",
                   mime="text/html", key="principles_html", on_click="ignore")

if not settings.read_only and not user.can_submit:
    st.info(SIGN_IN_NOTE)
if may_change:
    with st.expander("Edit (saves a new version when this one is locked)"):
        current = st.session_state.get("cell")
        if current is not None:
            st.caption("The editor's current cell, to paste into a group's `cells` (presets and variants "
                       "open in the editor too):")
            st.code(current.to_text(), language="json")
        text = st.text_area("Spec (JSON)", json.dumps(h.spec.model_dump(mode="json"), indent=2), height=360,
                            key=f"principles_spec_{key}_{version}",
                            help="Change the key to start a new hypothesis; same key: a draft is edited in place, "
                                 "a locked one gets a new version.")
        if st.button("Save", key="principles_save"):
            try:
                saved = lab.save(json.loads(text))
                st.success(f"saved {saved.key} v{saved.version}")
            except json.JSONDecodeError as exc:
                st.error(f"not valid JSON: {exc}")
            except USER_ERRORS as exc:
                st.error(str(exc))
