"""Plotly figure builders for cells: the graph view, the NNGP curves and the (d̄, m̄) scatter.

Pure functions from library objects to ``plotly.graph_objects.Figure``; the pages only show them.
Graph view convention (Chen et al.'s figures): parameterized edges solid, non-parameterized
edges dashed, ``none`` edges not drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from explorer.cell.layout import layered_positions
from explorer.cell.model import Cell
from explorer.theory.curves import KernelCurve
from explorer.theory.spaces import Box, class_table

ROLE_COLORS = {"input": "#2ca02c", "intermediate": "#1f77b4", "output": "#ff7f0e"}
PARAM_COLOR, PLAIN_COLOR, CONCAT_COLOR = "#d62728", "#555555", "#bbbbbb"
CURVE_DASH = {"eq12": "solid", "sum_rule": "dash", "exact_dag": "dot"}
CELL_COLORS = ("#d62728", "#9467bd", "#17becf", "#8c564b")
K0_GRID = np.linspace(-0.99, 0.99, 133)


def _bezier(p0: tuple[float, float], p1: tuple[float, float], bend: float, n: int = 24) -> np.ndarray:
    """Points on a quadratic Bézier from p0 to p1 whose control point is pushed ``bend`` sideways."""
    a, b = np.asarray(p0, float), np.asarray(p1, float)
    mid = (a + b) / 2
    d = b - a
    normal = np.array([-d[1], d[0]]) / (np.hypot(*d) or 1.0)
    ctrl = mid + bend * normal
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * a + 2 * (1 - t) * t * ctrl + t**2 * b


def _bend(xy: dict[int, tuple[float, float]], src: int, dst: int, parallel: int) -> float:
    """The sideways bend that keeps an edge furthest from the other nodes (straight when clear);
    the k-th parallel edge between the same nodes is pushed k steps further out."""
    others = np.array([p for v, p in xy.items() if v not in (src, dst)] or [(1e9, 1e9)])
    best, best_clear = 0.0, -1.0
    for bend in (0.0, 0.2, -0.2, 0.35, -0.35, 0.5, -0.5):
        pts = _bezier(xy[src], xy[dst], bend)
        clear = float(np.min(np.hypot(pts[:, None, 0] - others[None, :, 0], pts[:, None, 1] - others[None, :, 1])))
        if clear > best_clear + 0.05:  # prefer the straighter edge unless bending clears much more
            best, best_clear = bend, clear
        if best_clear > 0.3:
            break
    return best + 0.22 * parallel * (1 if best >= 0 else -1)


def _label_spot(pts: np.ndarray, placed: list[np.ndarray], scale: np.ndarray) -> np.ndarray:
    """A point on the edge for its label, away from the labels already placed (plot-relative units)."""
    n = len(pts) - 1
    spots = [pts[round(t * n)] for t in (0.5, 0.35, 0.65, 0.25, 0.75)]

    def clearance(p: np.ndarray) -> float:
        return min((float(np.hypot(*((p - q) / scale))) for q in placed), default=1.0)

    for p in spots:
        if clearance(p) > 0.12:
            return p
    return max(spots, key=clearance)


EDGE_STYLES = {  # kind → (colour, dash, legend name)
    "param": (PARAM_COLOR, "solid", "parameterized"),
    "plain": (PLAIN_COLOR, "dash", "non-parameterized"),
    "concat": (CONCAT_COLOR, "dot", "concat into the output"),
}
MAX_DECORATED_EDGES = 60  # above this, edges are drawn straight with no arrows or labels (speed)


def graph_figure(cell: Cell, *, height: int = 380, title: str | None = None) -> go.Figure:
    """The cell drawn as in Chen et al.'s figures; edges bend around nodes and are labelled."""
    pos = layered_positions(cell)
    xy = {v: (p.x, -p.y) for v, p in pos.items()}  # plotly's y grows upwards
    fig = go.Figure()
    decorate = len(cell.live_edges) <= MAX_DECORATED_EDGES
    seen: dict[tuple[int, int], int] = {}
    placed: list[np.ndarray] = []  # edge labels so far: the next one avoids them
    spread = np.ptp(np.array(list(xy.values())), axis=0)
    scale = np.where(spread > 0, spread, 1.0)
    annotations = []
    # One trace per edge kind (a trace per edge makes big cells take seconds to build).
    lines: dict[str, tuple[list, list, list]] = {kind: ([], [], []) for kind in EDGE_STYLES}
    for e in cell.live_edges:
        k = seen.get((e.src, e.dst), 0)
        seen[(e.src, e.dst)] = k + 1
        bend = _bend(xy, e.src, e.dst, k) if decorate else 0.0
        pts = _bezier(xy[e.src], xy[e.dst], bend, n=24 if decorate else 2)
        kind = "concat" if e.op == "concat" else "param" if e.parameterized else "plain"
        color = EDGE_STYLES[kind][0]
        xs, ys, texts = lines[kind]
        xs.extend([*pts[:, 0], None])
        ys.extend([*pts[:, 1], None])
        texts.extend([f"{e.src} → {e.dst}: {e.op}"] * len(pts) + [None])
        if not decorate:
            continue
        tip, before = pts[-4], pts[-7]
        annotations.append({"x": tip[0], "y": tip[1], "ax": before[0], "ay": before[1], "xref": "x",
                            "yref": "y", "axref": "x", "ayref": "y", "showarrow": True, "arrowhead": 2,
                            "arrowsize": 1.3, "arrowwidth": 2, "arrowcolor": color, "text": ""})
        if e.op != "concat":
            label_at = _label_spot(pts, placed, scale)
            placed.append(label_at)
            annotations.append({"x": label_at[0], "y": label_at[1], "text": e.op, "showarrow": False,
                                "font": {"size": 11, "color": color}, "bgcolor": "rgba(255,255,255,0.8)"})
    for kind, (xs, ys, texts) in lines.items():
        if xs:
            color, dash, name = EDGE_STYLES[kind]
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": color, "dash": dash, "width": 2.5},
                                     hoverinfo="text", text=texts, name=name))
    nodes = sorted(xy)
    fig.add_trace(go.Scatter(
        x=[xy[v][0] for v in nodes], y=[xy[v][1] for v in nodes], mode="markers+text",
        marker={"size": 34, "color": [ROLE_COLORS[cell.roles[v]] for v in nodes],
                "line": {"color": "white", "width": 2}},
        text=[str(v) for v in nodes], textfont={"color": "white", "size": 14},
        hovertext=[f"node {cell.name(v)}: {cell.roles[v]}" for v in nodes], hoverinfo="text",
        showlegend=False,
    ))
    fig.update_layout(
        annotations=annotations, height=height, margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        title=title, plot_bgcolor="white", legend={"orientation": "h", "y": -0.02},
        xaxis={"visible": False}, yaxis={"visible": False},
    )
    return fig


@dataclass(frozen=True)
class NamedCurves:
    """One cell's curves for an overlay: a name for the legend and ``kernel_curves`` output."""

    name: str
    curves: Sequence[KernelCurve]


def nngp_figure(series: Sequence[NamedCurves], k0s: np.ndarray, current_k0: float, *,
                height: int = 380) -> go.Figure:
    """λmin quantities over K0 ∈ (−1, 1): every curve of every cell, the current K0 marked."""
    fig = go.Figure()
    overlay = len(series) > 1
    for i, s in enumerate(series):
        color = CELL_COLORS[i % len(CELL_COLORS)]
        for c in s.curves:
            values = np.asarray(c.values, dtype=float)
            label = f"{s.name}: {c.label}" if overlay else c.label
            fig.add_trace(go.Scatter(
                x=k0s, y=values, mode="lines", name=label,
                line={"dash": CURVE_DASH.get(c.key, "solid"), "width": 2,
                      **({"color": color} if overlay else {})},
            ))
            at = float(np.interp(current_k0, k0s, values))
            fig.add_trace(go.Scatter(
                x=[current_k0], y=[at], mode="markers", showlegend=False,
                marker={"size": 9, "color": color if overlay else "black"},
                hovertext=f"{label}<br>K0 = {current_k0:g}: {at:.4g}", hoverinfo="text",
            ))
    fig.add_vline(x=current_k0, line={"color": "grey", "dash": "dot"},
                  annotation_text=f"K0 = {current_k0:g}", annotation_position="top")
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title="input correlation K0", yaxis_title="λmin of the NNGP kernel (value or bound)",
        legend={"orientation": "h", "y": -0.25, "font": {"size": 11}},
    )
    return fig


def space_points(name: str) -> pd.DataFrame:
    """Distinct (d̄, m̄) points of a space with how many concrete cells sit on each (defined only)."""
    t = class_table(name)
    ok = t.defined
    df = pd.DataFrame({
        "effective_depth": np.round(t.effective_depth[ok], 9),
        "effective_width": np.round(t.effective_width[ok], 9),
        "cells": t.multiplicity[ok],
    })
    return df.groupby(["effective_depth", "effective_width"], as_index=False)["cells"].sum()


@dataclass(frozen=True)
class Mark:
    """A cell to mark on the scatter."""

    name: str
    effective_depth: float
    effective_width: float


def space_scatter(points: pd.DataFrame, box: Box, marks: Sequence[Mark], *, f: float = 0.5,
                  height: int = 420) -> go.Figure:
    """The space's cells on the (d̄, m̄) plane (colour = log10 cells per point), the box and its
    central ``f`` part, and the marked cells as stars."""
    fig = go.Figure()
    fig.add_trace(go.Scattergl(
        x=points["effective_depth"], y=points["effective_width"], mode="markers", name=f"{box.space} cells",
        marker={"size": 6, "color": np.log10(points["cells"].to_numpy(dtype=float)), "colorscale": "Blues",
                "colorbar": {"title": "log10 cells", "thickness": 12}, "opacity": 0.7},
        hovertemplate="d̄ %{x:.3f}<br>m̄ %{y:.3f}<br>%{customdata:,} cells<extra></extra>",
        customdata=points["cells"].to_numpy(dtype=np.int64),
    ))
    for scale, dash, label in ((1.0, "dot", "box"), (f, "solid", f"central {f:g} box")):
        fig.add_shape(
            type="rect", x0=box.center_depth - scale * box.radius_depth, x1=box.center_depth + scale * box.radius_depth,
            y0=box.center_width - scale * box.radius_width, y1=box.center_width + scale * box.radius_width,
            line={"color": "#ff7f0e", "dash": dash, "width": 2}, name=label,
        )
    for i, mark in enumerate(marks):
        fig.add_trace(go.Scatter(
            x=[mark.effective_depth], y=[mark.effective_width], mode="markers+text", name=mark.name,
            text=[mark.name], textposition="top center",
            marker={"symbol": "star", "size": 18, "color": CELL_COLORS[i % len(CELL_COLORS)],
                    "line": {"color": "black", "width": 1}},
        ))
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis_title="effective depth d̄",
        yaxis_title="effective width m̄", legend={"orientation": "h", "y": -0.2},
    )
    return fig


def pyvis_html(cell: Cell) -> str:
    """A standalone interactive HTML page of the cell (vis-network inlined: works offline)."""
    from pyvis.network import Network

    net = Network(height="600px", width="100%", directed=True, cdn_resources="in_line")
    pos = layered_positions(cell)
    for v in range(cell.n_nodes):
        net.add_node(v, label=cell.name(v), title=cell.roles[v], color=ROLE_COLORS[cell.roles[v]],
                     x=pos[v].x * 200, y=pos[v].y * 120, shape="circle")
    for e in cell.live_edges:
        color = CONCAT_COLOR if e.op == "concat" else PARAM_COLOR if e.parameterized else PLAIN_COLOR
        net.add_edge(e.src, e.dst, label=e.op, title=e.op, color=color, dashes=not e.parameterized)
    net.toggle_physics(False)
    return net.generate_html()
