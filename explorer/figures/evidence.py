"""Figures of a cell's benchmark evidence: the edge × op map of one-edit neighbours and the
accuracy distribution of cells with the same (or nearest) connectivity."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from explorer.benchmarks.evidence import ConnectivityGroup, EditOption
from explorer.cell.ops import NB201_OPS

DATASET_TITLES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagenet16": "ImageNet16-120",
                  "cifar10valid": "CIFAR-10 (valid)", "imagenet": "ImageNet"}
SHORT_OPS = {"none": "none", "skip_connect": "skip", "nor_conv_1x1": "conv 1×1", "nor_conv_3x3": "conv 3×3",
             "avg_pool_3x3": "pool 3×3"}


def edit_map_figure(options: Sequence[EditOption], dataset: str, *, height: int = 330) -> go.Figure:
    """A heatmap drawn as square markers (a scatter, so a click selects one square in Streamlit):
    rows = edges, columns = ops, colour = test accuracy of the cell with that one edit; the cell's
    own op on each edge is outlined. ``customdata`` = (edge index, op) of each square."""
    shown = [o for o in options if dataset in o.accuracy]
    rows = sorted({(o.edge, o.src, o.dst) for o in options})
    ylabels = {e: f"{i} → {j}" for e, i, j in rows}
    fig = go.Figure(go.Scatter(
        x=[SHORT_OPS.get(o.op, o.op) for o in shown], y=[ylabels[o.edge] for o in shown], mode="markers+text",
        marker={"symbol": "square", "size": 38, "color": [o.accuracy[dataset] for o in shown],
                "colorscale": "Viridis", "showscale": True,
                "colorbar": {"title": {"text": "test acc %"}, "thickness": 12},
                "line": {"width": [4 if o.current else 0 for o in shown], "color": "#e4002b"}},
        text=[f"{o.accuracy[dataset]:.1f}" for o in shown], textfont={"size": 10, "color": "white"},
        customdata=[[o.edge, o.op] for o in shown],
        hovertemplate="edge %{y} → %{x}<br>test accuracy %{marker.color:.2f}%<extra></extra>",
    ))
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, clickmode="event+select", dragmode=False,
        title={"text": f"One edit away, {DATASET_TITLES.get(dataset, dataset)} (outlined: this cell)",
               "font": {"size": 13}},
        xaxis={"categoryorder": "array", "categoryarray": [SHORT_OPS[o] for o in NB201_OPS], "side": "top",
               "fixedrange": True},
        yaxis={"categoryorder": "array", "categoryarray": [ylabels[e] for e, _, _ in reversed(rows)],
               "fixedrange": True},
        showlegend=False,
    )
    return fig


def connectivity_figure(groups: Sequence[ConnectivityGroup], *, height: int = 300) -> go.Figure:
    """Box plots of the accuracies of cells at the nearest (d̄, m̄) point, one per space and data set."""
    fig = go.Figure()
    for g in groups:
        name = f"{g.space} · {DATASET_TITLES.get(g.dataset, g.dataset)} · {g.schedule}"
        fig.add_trace(go.Box(y=list(g.accuracies), name=name, boxpoints="outliers",
                             hovertemplate=f"{g.n} cells at (d̄, m̄) = ({g.effective_depth:.3g}, "
                                           f"{g.effective_width:.3g})<br>%{{y:.2f}}%<extra></extra>"))
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}, showlegend=False,
                      title={"text": "Cells with this connectivity (other cells, not a prediction of this one)",
                             "font": {"size": 13}},
                      yaxis_title="test accuracy %")
    return fig
