"""Experiment results: queue preset runs, and read training curves, loss landscapes, gradient variance,
Hessian spectra and NNGP checks from finished jobs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import streamlit as st
import torch

from explorer.core.errors import USER_ERRORS
from explorer.core.settings import get_settings
from explorer.experiments.checkpoints import curve_band, load_trained
from explorer.experiments.presets import analysis_presets, experiment_presets, preset_specs
from explorer.figures.experiments import (
    bands_csv,
    hessian_figures,
    interpolation_figure,
    nngp_check_figure,
    run_label,
    seed_groups,
    surface_figures,
    training_curves_figure,
    variance_heatmap,
)
from explorer.jobs.kind import Download
from explorer.jobs.labels import experiment_groups
from explorer.jobs.queue import Job, JobView
from explorer.jobs.registry import get_kind, kinds_analysing, read_result
from explorer.nets.onnx import ONNX_MEDIA_TYPE, export_onnx
from ui.access import SIGN_IN_NOTE, session_jobs
from ui.common import page_header

HELP = """
Experiments run as **jobs** on workers (see the Jobs page); this page queues ready-made sets of
them and draws what finished jobs stored.

- **Queue**: quick presets run in seconds to a minute on a CPU (digits, MNIST-1D, synthetic data, small
  MLP-cell, NB201 and DARTS networks); paper-size presets use the papers' settings and want a GPU worker.
  Pick a finished `train` job to queue its loss landscape, gradient variance or Hessian spectrum.
- **Training curves**: opens on the newest experiment (the runs queued together, e.g. a preset's
  9 jobs): one curve per cell, mean ± std over its seeds. Pick another experiment, or add and
  remove single runs.
- **Loss landscape** (Li et al., 2018): loss on a plane through the trained weights along two
  filter-normalised random directions, and along the line from the initial to the final weights.
- **Gradient variance** (Shu et al., 2020): √g with g = mean‖∇f_i‖² − ‖mean ∇f_i‖² over samples, on the same
  plane. BatchNorm is in **eval mode** for it: per-sample gradients are undefined when a sample's
  normalisation depends on its batch.
- **Hessian**: the largest eigenvalues (by magnitude) of the loss Hessian at the trained weights.
- **NNGP check**: the empirical output kernel of the MLP-cell network at initialisation against the
  exact infinite-width value, Chen et al.'s sum rule and their Eq. 12, as width grows.

Every figure downloads as HTML (and PNG), with its data.
"""



def _downloads(fig: go.Figure, key: str, data: Callable[[], bytes] | None = None, data_name: str = "",
               mime: str = "") -> None:
    cols = st.columns(3)
    # Callables: the file is made (or read from the store) on click, not on every rerun, and never
    # goes stale between reruns.
    cols[0].download_button("Figure (HTML)", lambda: fig.to_html(include_plotlyjs="cdn").encode(), f"{key}.html",
                            "text/html", key=f"{key}_html", on_click="ignore")
    if data is not None:
        cols[1].download_button(f"Data ({data_name.rsplit('.', 1)[-1].upper()})", data, data_name, mime,
                                key=f"{key}_data", on_click="ignore")
    if cols[2].button("Figure (PNG)", key=f"{key}_png_make", help="rendered with kaleido (needs Chromium)"):
        try:
            st.session_state[f"{key}_png"] = fig.to_image(format="png", width=1000, height=700)
        except Exception as exc:  # kaleido needs a browser; say so instead of failing the page
            st.warning(f"PNG export is not available here ({exc}); the HTML figure has a PNG button too.")
    if st.session_state.get(f"{key}_png"):
        cols[2].download_button("Save PNG", st.session_state[f"{key}_png"], f"{key}.png", "image/png",
                                key=f"{key}_png_save", on_click="ignore")


def _finished(store: JobView, kind: str, key: str) -> tuple[Job, Any] | None:
    """The finished ``kind`` job picked in a selector, with its results as the kind reads them."""
    job = _pick(store, store.list(kind=kind, status="succeeded", limit=200), kind, key)
    if job is None:
        return None
    try:
        return job, read_result(store, job)
    except USER_ERRORS as exc:
        st.error(str(exc))
        return None


def _artifact_downloads(fig: go.Figure, key: str, store: JobView, job_id: int, download: Download | None) -> None:
    """``_downloads`` with a job's artifact as the data (read on click)."""
    if download is None:
        _downloads(fig, key)
        return
    _downloads(fig, key, lambda: store.read_artifact(job_id, download.artifact), download.artifact,
               download.media_type)


def _pick(store: JobView, jobs: list[Job], what: str, key: str) -> Job | None:
    if not jobs:
        st.info(f"No finished {what} jobs yet. Queue one in the Queue tab (or on the Jobs page).")
        return None
    labels, by_id = store.labels(jobs), {j.id: j for j in jobs}
    # Ids as options: a Job changes as it runs, an id does not, so the pick survives reruns.
    return by_id[st.selectbox(what.capitalize(), list(by_id), format_func=labels.get, key=key)]


# ------------------------------------------------------------------------------------------ queue


def _queue_tab(store: JobView, read_only: bool) -> None:
    if read_only:
        st.info("This deployment is read-only: results can be browsed, no jobs queued.")
        return
    if not store.user.can_submit:
        st.info(SIGN_IN_NOTE)
        return
    presets = experiment_presets()
    size = st.radio("Presets", ["quick", "paper"], horizontal=True, key="exp_size",
                    format_func=lambda s: "Quick (CPU, seconds to a minute)" if s == "quick" else "Paper size (GPU)")
    choices = [p for p in presets if p.size == size]
    preset = st.selectbox("Preset", choices, format_func=lambda p: p.name, key="exp_preset")
    st.caption(f"{preset.description} — {len(preset.specs)} train job(s).")
    optional = f" (empty: {preset.fallback_data['name']} instead)" if preset.fallback_data else ""
    path = st.text_input(f"Folder with the {preset.needs_path} files{optional}", key="exp_path",
                         help=f"relative to the server's data directory ({get_settings().data_dir}), "
                              "or an absolute path inside it") if preset.needs_path else None
    if st.button("Queue these runs", type="primary", key="exp_queue"):
        try:
            ids = store.submit_many([("train", spec) for spec in preset_specs(preset, path)])
        except USER_ERRORS as exc:
            st.error(str(exc))
        else:
            st.success(f"Queued train jobs {', '.join(f'#{i}' for i in ids)}. Watch them on the Jobs page.")

    st.subheader("Analyse a trained network")
    trained = store.list(kind="train", status="succeeded", limit=200)
    job = _pick(store, trained, "train", "exp_analyse_job")
    if job is None:
        return
    analyses = kinds_analysing("train")
    for col, kind in zip(st.columns(len(analyses)), analyses, strict=True):
        if col.button(kind.title or kind.name, key=f"exp_queue_{kind.name}"):
            try:
                new = store.submit(kind.name, kind.analysis_spec(job.id))
            except USER_ERRORS as exc:
                st.error(str(exc))
            else:
                st.success(f"Queued {kind.name} job #{new}.")
    papers = analysis_presets()
    picked = st.selectbox("Or as a paper did it", range(len(papers)), format_func=lambda i: papers[i].name,
                          key="exp_analysis_preset")
    st.caption(papers[picked].description)
    if st.button("Queue this analysis", key="exp_queue_analysis_preset"):
        try:
            new = store.submit(papers[picked].kind, papers[picked].spec_for(job.id))
        except USER_ERRORS as exc:
            st.error(str(exc))
        else:
            st.success(f"Queued {papers[picked].kind} job #{new}.")
    _onnx_download(store, job)


def _onnx_download(store: JobView, job: Job) -> None:
    key = f"exp_onnx_{job.id}"
    if st.button("Export the trained network to ONNX", key=f"{key}_make",
                 help="opens in Netron, the op-level graph viewer; takes a few seconds"):
        try:
            trained = load_trained(store, job.id, torch.device("cpu"))
            with st.spinner("Exporting…"):
                st.session_state[key] = export_onnx(trained.model, trained.data.input_shape)
        except USER_ERRORS as exc:
            st.error(str(exc))
    if st.session_state.get(key):
        st.download_button("Save ONNX", st.session_state[key], f"train_job_{job.id}.onnx", ONNX_MEDIA_TYPE,
                           key=f"{key}_save", on_click="ignore")


# ------------------------------------------------------------------------------------------ curves


def _curves_tab(store: JobView) -> None:
    jobs = store.list(kind="train", status=["succeeded", "running"], limit=500)
    if not jobs:
        st.info("No train jobs yet. Queue a preset in the Queue tab.")
        return
    groups = {g.key: g for g in experiment_groups(jobs)}
    labels, by_id = store.labels(jobs), {j.id: j for j in jobs}
    group = groups[st.selectbox("Experiment", list(groups), format_func=lambda k: groups[k].title,
                                key="exp_curve_group", help="runs queued together (a preset's cells × seeds), "
                                "newest first; add or remove single runs below")]
    # One selection per experiment: picking another experiment starts from all of its runs.
    chosen_ids = st.multiselect("Train jobs", list(by_id), default=[j.id for j in group.jobs],
                                format_func=labels.get, key=f"exp_curve_jobs_{group.key}")
    curve_metrics = get_kind("train").metric_labels or {}
    cols = st.columns(3)
    metric = cols[0].selectbox("Metric", list(curve_metrics), format_func=curve_metrics.get, key="exp_metric")
    x = "step" if metric == "train_loss" else cols[1].radio("Align by", ["epoch", "step"], horizontal=True,
                                                            key="exp_align")
    pooled = cols[2].checkbox("Mean ± std over seeds", value=True, key="exp_pool",
                              help="jobs with the same network, cell and dataset are pooled")
    if not chosen_ids:
        return
    bands = [(run_label(members), curve_band([store.metrics_frame(j.id, names=[metric]) for j in members], x))
             for members in seed_groups(sorted((by_id[i] for i in chosen_ids), key=lambda j: j.id), pooled)]
    fig = training_curves_figure(bands, x, curve_metrics[metric])
    st.plotly_chart(fig, width="stretch")
    _downloads(fig, "training_curves", lambda: bands_csv(bands, x), "training_curves.csv", "text/csv")


# ------------------------------------------------------------------------------------------ surfaces


def _landscape_tab(store: JobView) -> None:
    picked = _finished(store, "loss_contour", "exp_contour_job")
    if picked is None:
        return
    job, plane = picked
    which = st.radio("Show", list(plane.values), horizontal=True, key="exp_contour_z", format_func=plane.labels.get)
    contour, surface = surface_figures(plane.alpha, plane.beta, plane.values[which], which, plane.setting)
    st.caption(f"Evaluated on the {plane.setting}.")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(contour, width="stretch")
        _artifact_downloads(contour, f"contour_{job.id}", store, job.id, plane.table)
    with right:
        st.plotly_chart(surface, width="stretch")
        _artifact_downloads(surface, f"surface_{job.id}", store, job.id, plane.arrays)
    if len(plane.line_t):
        line = interpolation_figure(plane.line_t, plane.line[which], which, plane.setting)
        st.plotly_chart(line, width="stretch")
        _downloads(line, f"interpolation_{job.id}")
    st.caption(f"Job #{job.id}: {json.dumps(job.result)}")


def _variance_tab(store: JobView) -> None:
    st.caption("BatchNorm runs in eval mode here (per-sample gradients are undefined in train mode), with the "
               "trained running statistics or those of the evaluation subset recomputed at every point.")
    picked = _finished(store, "grad_variance", "exp_gv_job")
    if picked is None:
        return
    job, plane = picked
    (name, values), = plane.values.items()
    st.caption(f"Evaluated on the {plane.setting}.")
    heat = variance_heatmap(plane.alpha, plane.beta, values, plane.setting)
    _, surface = surface_figures(plane.alpha, plane.beta, values, name, plane.setting)
    left, right = st.columns(2)
    with left:
        st.plotly_chart(heat, width="stretch")
        _artifact_downloads(heat, f"grad_variance_{job.id}", store, job.id, plane.table)
    with right:
        st.plotly_chart(surface, width="stretch")
        _downloads(surface, f"grad_variance_surface_{job.id}")


def _hessian_tab(store: JobView) -> None:
    picked = _finished(store, "hessian_top", "exp_h_job")
    if picked is None:
        return
    job, spectrum = picked
    st.caption(f"Evaluated on the {spectrum.setting}.")
    bars, traces = hessian_figures(spectrum.eigenvalues, spectrum.traces, spectrum.setting)
    st.plotly_chart(bars, width="stretch")
    _artifact_downloads(bars, f"hessian_{job.id}", store, job.id, spectrum.arrays)
    st.plotly_chart(traces, width="stretch")


def _nngp_tab(store: JobView) -> None:
    picked = _finished(store, "nngp_check", "exp_nngp_job")
    if picked is None:
        return
    job, check = picked
    fig = nngp_check_figure(check.summary)
    if fig is None:
        st.warning("This job stored no widths.")
        return
    st.plotly_chart(fig, width="stretch")
    st.caption(check.caption)
    _downloads(fig, f"nngp_check_{job.id}", lambda: json.dumps(check.summary, indent=2).encode(), "nngp_check.json",
               "application/json")


# ------------------------------------------------------------------------------------------ page

page_header("Experiment results", HELP)
settings = get_settings()
store = session_jobs()
tabs = st.tabs(["Queue", "Training curves", "Loss landscape", "Gradient variance", "Hessian", "NNGP check"])
with tabs[0]:
    _queue_tab(store, settings.read_only)
with tabs[1]:
    _curves_tab(store)
with tabs[2]:
    _landscape_tab(store)
with tabs[3]:
    _variance_tab(store)
with tabs[4]:
    _hessian_tab(store)
with tabs[5]:
    _nngp_tab(store)
