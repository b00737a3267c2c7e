"""Plotly figures of finished experiments: training curves, loss surfaces, gradient-variance maps,
Hessian spectra and NNGP checks.

Pure functions from arrays and job summaries to ``plotly.graph_objects.Figure``; the Experiments
page only fetches the arrays and shows what these return.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd
import plotly.graph_objects as go

NNGP_LINES = {"exact": ("exact DAG kernel", "solid"), "sum_rule": ("sum rule (Chen et al.)", "dash"),
              "eq12": ("Eq. 12 bound", "dot")}


class HasSpec(Protocol):
    id: int
    kind: str
    spec: dict[str, Any]


def seed_groups(jobs: Iterable[HasSpec], pooled: bool) -> list[list[HasSpec]]:
    """Jobs grouped into runs of one setting: the same spec but for the seed (or one group per job
    when not ``pooled``), in order of first appearance."""
    groups: dict[str, list[HasSpec]] = {}
    for job in jobs:
        spec = dict(job.spec or {})
        key = json.dumps({k: v for k, v in spec.items() if k != "seed"}, sort_keys=True) if pooled else str(job.id)
        groups.setdefault(key, []).append(job)
    return list(groups.values())


def run_label(members: Sequence[HasSpec]) -> str:
    """The legend entry of a seed group: the job's label for one run, else the run's name without
    its seed and the number of seeds ('DAG#3 · width 256 · digits · 3 seeds')."""
    from explorer.jobs.label_parts import train_title
    from explorer.jobs.labels import job_label

    if len(members) == 1:
        return job_label(members[0])  # type: ignore[arg-type]
    return f"{train_title(members[0].spec, seed=False)} · {len(members)} seeds"


def training_curves_figure(bands: Sequence[tuple[str, pd.DataFrame]], x: str, y_title: str) -> go.Figure:
    """One line per (label, band); a band of several runs (``n`` > 1) gets its mean ± std shaded.
    Bands come from ``explorer.experiments.checkpoints.curve_band``."""
    fig = go.Figure()
    for label, band in bands:
        if band.empty:
            continue
        if band["n"].max() > 1:
            xs = list(band[x])
            fig.add_trace(go.Scatter(x=xs + xs[::-1],
                                     y=list(band["mean"] + band["std"]) + list(band["mean"] - band["std"])[::-1],
                                     fill="toself", opacity=0.2, line={"width": 0}, showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=band[x], y=band["mean"], mode="lines+markers", name=label))
    fig.update_layout(xaxis_title=x, yaxis_title=y_title, height=480, legend={"orientation": "h"})
    return fig


def bands_csv(bands: Sequence[tuple[str, pd.DataFrame]], x: str) -> bytes:
    """The curves of ``training_curves_figure`` as CSV: curve, x, mean, std, n."""
    frames = [band.assign(curve=label)[["curve", x, "mean", "std", "n"]] for label, band in bands if not band.empty]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["curve", x, "mean", "std", "n"])
    return table.to_csv(index=False).encode()


def _setting_title(fig: go.Figure, setting: str) -> go.Figure:
    """Put what the analysis evaluated on (split, samples, BatchNorm statistics) on the figure itself,
    so a downloaded figure still says it."""
    if setting:
        fig.update_layout(title={"text": setting, "font": {"size": 12}})
    return fig


def surface_figures(alpha: np.ndarray, beta: np.ndarray, z: np.ndarray, title: str,
                    setting: str = "") -> tuple[go.Figure, go.Figure]:
    """A quantity on the (α, β) plane as a labelled contour map and as a 3-D surface; ``setting``
    (split and BatchNorm mode) becomes the figures' title."""
    contour = go.Figure(go.Contour(x=alpha, y=beta, z=z, colorbar={"title": title}, contours={"showlabels": True}))
    contour.update_layout(xaxis_title="α (direction 1)", yaxis_title="β (direction 2)", height=520)
    surface = go.Figure(go.Surface(x=alpha, y=beta, z=z, colorbar={"title": title}))
    surface.update_layout(scene={"xaxis_title": "α", "yaxis_title": "β", "zaxis_title": title}, height=560)
    return _setting_title(contour, setting), _setting_title(surface, setting)


def interpolation_figure(t: np.ndarray, values: np.ndarray, what: str, setting: str = "") -> go.Figure:
    """Loss or accuracy along (1 − t)·w_init + t·w* (Goodfellow et al.'s linear path)."""
    fig = go.Figure(go.Scatter(x=t, y=values, mode="lines+markers"))
    fig.add_vline(x=0, line_dash="dot", annotation_text="init")
    fig.add_vline(x=1, line_dash="dot", annotation_text="trained")
    fig.update_layout(xaxis_title="t in (1 − t)·w_init + t·w*", yaxis_title=what, height=380)
    return _setting_title(fig, setting)


def variance_heatmap(alpha: np.ndarray, beta: np.ndarray, sqrt_g: np.ndarray, setting: str = "") -> go.Figure:
    """Shu et al.'s gradient-variance map √g over the plane."""
    fig = go.Figure(go.Heatmap(x=alpha, y=beta, z=sqrt_g, colorbar={"title": "√g"}))
    fig.update_layout(xaxis_title="α", yaxis_title="β", height=520)
    return _setting_title(fig, setting)


def hessian_figures(eigenvalues: np.ndarray, traces: np.ndarray, setting: str = "") -> tuple[go.Figure, go.Figure]:
    """The top eigenvalues as bars, and each one's Rayleigh quotient over the power iterations
    (``traces`` rows padded with NaN after convergence)."""
    bars = go.Figure(go.Bar(x=[f"λ{i + 1}" for i in range(len(eigenvalues))], y=eigenvalues))
    bars.update_layout(yaxis_title="eigenvalue", height=380)
    lines = go.Figure([go.Scatter(y=row[np.isfinite(row)], mode="lines", name=f"λ{i + 1}")
                       for i, row in enumerate(traces)])
    lines.update_layout(xaxis_title="power iteration", yaxis_title="Rayleigh quotient", height=360)
    return _setting_title(bars, setting), _setting_title(lines, setting)


def nngp_check_figure(result: Mapping[str, Any]) -> go.Figure | None:
    """Empirical λmin (± SE over seeds) against width, with the analytic values as flat lines;
    None when the summary holds no widths."""
    widths = result.get("widths") or []
    if not widths:
        return None
    m = [w["width"] for w in widths]
    fig = go.Figure(go.Scatter(x=m, y=[w["lambda_min"] for w in widths], mode="markers",
                               error_y={"type": "data", "array": [w["lambda_min_se"] for w in widths]},
                               name="empirical λmin (± SE over seeds)"))
    for key, (name, dash) in NNGP_LINES.items():
        value = (result.get(key) or {}).get("lambda_min")
        if value is not None:
            fig.add_trace(go.Scatter(x=[min(m), max(m)], y=[value, value], mode="lines", line={"dash": dash},
                                     name=name))
    fig.update_layout(xaxis_type="log", xaxis_title="width m", yaxis_title="λmin of the 2×2 output kernel",
                      height=440)
    return fig
