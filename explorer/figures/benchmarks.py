"""Plotly figures of benchmark data: Chen et al.'s Figure 5 (accuracy over the (d̄, m̄) plane).

Pure functions from warehouse aggregates to ``plotly.graph_objects.Figure``; the Warehouse page
only shows them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from explorer.benchmarks.analysis import ReachableRegion
from explorer.theory.spaces import Box

UNREACHABLE = "rgba(128,128,128,0.25)"


def figure5(groups: pd.DataFrame, region: ReachableRegion, box: Box | None = None, *, f: float = 0.5) -> go.Figure:
    """One bubble per distinct (d̄, m̄): colour = mean accuracy, size = its standard deviation;
    grey where no cell can be (``region``); dashed, the space's box shrunk to ``f``.

    ``groups`` has columns effective_depth, effective_width, n, mean_acc, std_acc
    (``Warehouse.figure5``)."""
    d_max = max(float(groups["effective_depth"].max()), region.max_depth) * 1.08
    m_max = float(groups["effective_width"].max()) * 1.15
    edge = region.boundary(d_max)
    there_and_back = np.r_[edge["depth"], edge["depth"][::-1]]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=there_and_back,
                             y=np.r_[np.minimum(edge["upper"], m_max), np.full(len(edge["depth"]), m_max)],
                             fill="toself", fillcolor=UNREACHABLE, line={"width": 0},
                             name="unreachable (m̄·d̄ > max paths)", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=there_and_back,
                             y=np.r_[np.zeros(len(edge["depth"])), np.minimum(edge["lower"], m_max)[::-1]],
                             fill="toself", fillcolor=UNREACHABLE, line={"width": 0},
                             name="unreachable (m̄·d̄ < 1)", hoverinfo="skip"))
    if region.max_depth < d_max:
        fig.add_vrect(x0=region.max_depth, x1=d_max, fillcolor=UNREACHABLE, line_width=0)
    std = groups["std_acc"].fillna(0.0)
    size = 8 + 40 * std / max(float(std.max()), 1e-9)
    fig.add_trace(go.Scatter(
        x=groups["effective_depth"], y=groups["effective_width"], mode="markers", name="(d̄, m̄) groups",
        marker={"size": size, "color": groups["mean_acc"], "colorscale": "Viridis", "showscale": True,
                "colorbar": {"title": "mean acc %"}, "line": {"width": 0.5, "color": "black"}},
        customdata=np.c_[groups["n"], groups["mean_acc"], std],
        hovertemplate="d̄ %{x:.3f}, m̄ %{y:.3f}<br>n %{customdata[0]}<br>mean %{customdata[1]:.2f} %"
                      "<br>std %{customdata[2]:.2f}<extra></extra>"))
    if box is not None:
        fig.add_shape(
            type="rect",
            x0=box.center_depth - f * box.radius_depth,
            x1=box.center_depth + f * box.radius_depth,
            y0=box.center_width - f * box.radius_width,
            y1=box.center_width + f * box.radius_width,
            line={"color": "crimson", "dash": "dash"},
            name="box",
        )
    fig.update_layout(xaxis_title="effective depth d̄", yaxis_title="effective width m̄", height=480,
                      xaxis_range=[0, d_max], yaxis_range=[0, m_max], legend={"orientation": "h", "y": -0.2})
    return fig


AXIS_TITLES = {"effective_depth": "d̄", "effective_width": "m̄", "cell_width": "cell width",
               "cell_depth": "cell depth", "params_m": "params (M)", "accuracy": "accuracy (%)"}


def parallel_coordinates(sample: pd.DataFrame, dims: list[str]) -> go.Figure:
    """One line per architecture across ``dims``, coloured by accuracy. Short axis titles and side
    margins wide enough for the outer axes' tick labels (plotly's default cuts the first one off)."""
    fig = go.Figure(go.Parcoords(
        line={"color": sample["accuracy"], "colorscale": "Viridis", "showscale": True,
              "colorbar": {"title": {"text": "accuracy"}}},
        dimensions=[{"label": AXIS_TITLES.get(d, d.removeprefix("proxy_")), "values": sample[d]} for d in dims]))
    fig.update_layout(margin={"l": 80, "r": 80, "t": 60, "b": 30}, height=460)
    return fig


def naswot_histogram(reference: np.ndarray, scores: pd.DataFrame, title: str) -> go.Figure:
    """The warehouse's NASWOT scores (CIFAR-10, batch 128) as a histogram, with a dashed line for
    each job in ``scores`` (columns job, score, comparable) whose score was computed the same way;
    scores on other data or batches are on another scale and are left off."""
    fig = go.Figure(go.Histogram(x=reference, nbinsx=80, name="warehouse"))
    comparable = scores[scores["comparable"].fillna(False).astype(bool) & scores["score"].notna()]
    for job, score in zip(comparable["job"], comparable["score"], strict=True):
        if np.isfinite(score):
            fig.add_vline(x=float(score), line_dash="dash", annotation_text=f"job {job}")
    fig.update_layout(title=title, xaxis_title="naswot_v1", yaxis_title="cells", showlegend=False)
    return fig
