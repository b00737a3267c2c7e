"""Layered, staggered node positions for drawing a cell (plotly graph view and the flow canvas).

Layers come from networkx's topological generations over every edge (``none`` included, so
switching an op to ``none`` does not make the picture jump). Nodes in a layer are spread
vertically; then every other layer is shifted by half a row. Without the shift, a chain
0 → 1 → 2 → 3 puts every node on one line and the skip edges 0 → 2, 1 → 3 run straight through
the nodes between them, where they can neither be seen nor clicked. Cells of up to
``MAX_TUNED_NODES`` nodes then get each layer's shift tuned so that no straight edge passes close
to a node it does not touch (bigger cells keep the plain stagger: the search would cost seconds).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from explorer.cell.model import Cell

SHIFTS = (0.0, 0.5, -0.5, 0.25, -0.25, 0.75, -0.75)  # vertical shifts of a layer to try, in rows
MAX_TUNED_NODES = 16
GOOD_CLEARANCE = 0.3  # rows between a node and any straight edge not its own: good enough
# An edge label is a wide, flat box at its edge's midpoint: about 0.7 layers wide and 0.12 rows high
# on the canvas (DX = 150, DY = 190 px; labels up to ~100 x 22 px). Two labels are apart when their
# midpoints differ by one box in x or in y; a plain distance in rows let labels half a layer apart
# on one height overlap (DARTS cells).
LABEL_W, LABEL_H = 0.7, 0.12
GOOD_LABEL_GAP = 1.0  # in label boxes: two labels just do not overlap


@dataclass(frozen=True)
class Position:
    layer: int
    x: float  # = layer
    y: float  # rows; 0 is the middle, grows downwards


def layers(cell: Cell) -> dict[int, int]:
    """Node → layer: the length of the longest edge chain reaching it from a node with no inputs."""
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(range(cell.n_nodes))
    graph.add_edges_from((e.src, e.dst) for e in cell.edges)
    out: dict[int, int] = {}
    for depth, generation in enumerate(nx.topological_generations(graph)):
        for v in generation:
            out[v] = depth
    # The output always sits alone in the last layer, so it reads as the cell's end.
    last = max((d for v, d in out.items() if v != cell.output), default=-1)
    out[cell.output] = max(out[cell.output], last + 1)
    return out


def _positions(lay: dict[int, int], shifts: dict[int, float]) -> dict[int, Position]:
    by_layer: dict[int, list[int]] = {}
    for v, layer in lay.items():
        by_layer.setdefault(layer, []).append(v)
    positions = {}
    for layer, nodes in by_layer.items():
        nodes.sort()
        for row, v in enumerate(nodes):
            # Odd layers spread their rows wider: with equal spacing in two neighbouring layers the
            # crossing edges a → d, b → c of a parallelogram share a midpoint and so a label spot.
            spread = 1.0 + 0.3 * (layer % 2)
            positions[v] = Position(layer, float(layer), (row - (len(nodes) - 1) / 2) * spread + shifts.get(layer, 0.0))
    return positions


def clearance(cell: Cell, positions: dict[int, Position]) -> float:
    """The smallest distance from a node to a straight edge it is not an end of (inf if none)."""
    xy = np.array([[positions[v].x, positions[v].y] for v in range(cell.n_nodes)])
    pairs = np.array(sorted({(e.src, e.dst) for e in cell.edges}), dtype=int).reshape(-1, 2)
    if not len(pairs):
        return float("inf")
    a, b = xy[pairs[:, 0]], xy[pairs[:, 1]]  # (E, 2)
    ab = b - a
    t = np.einsum("nek,ek->ne", xy[:, None, :] - a[None], ab) / np.maximum(np.einsum("ek,ek->e", ab, ab), 1e-12)
    closest = a[None] + np.clip(t, 0, 1)[..., None] * ab[None]
    dist = np.linalg.norm(xy[:, None, :] - closest, axis=-1)  # (N, E)
    ends = (np.arange(cell.n_nodes)[:, None] == pairs[None, :, 0]) | (
        np.arange(cell.n_nodes)[:, None] == pairs[None, :, 1]
    )
    dist[ends] = np.inf
    return float(dist.min())


def label_gap(cell: Cell, positions: dict[int, Position]) -> float:
    """The smallest distance, in label boxes, between the midpoints of two edges with different ends
    (inf if fewer than two): edge labels sit there; below 1 two labels overlap. A zigzag 0, 1, 2, 3
    makes a parallelogram, whose diagonals 0 → 3 and 1 → 2 cross at their midpoints: one label would
    hide the other."""
    pairs = sorted({(e.src, e.dst) for e in cell.edges})
    if len(pairs) < 2:
        return float("inf")
    mid = np.array([[(positions[a].x + positions[b].x) / 2 / LABEL_W, (positions[a].y + positions[b].y) / 2 / LABEL_H]
                    for a, b in pairs])
    dist = np.abs(mid[:, None, :] - mid[None, :, :]).max(axis=-1)  # in label boxes (Chebyshev)
    dist[np.diag_indices(len(pairs))] = np.inf
    return float(dist.min())


def _score(cell: Cell, positions: dict[int, Position]) -> tuple[float, float, float]:
    """Compared in order: edges clear of nodes (up to good enough), then labels apart (likewise),
    then more clearance. A hidden node is worse than two overlapping labels."""
    clear = clearance(cell, positions)
    return min(clear, GOOD_CLEARANCE), min(label_gap(cell, positions), GOOD_LABEL_GAP), clear


def layered_positions(cell: Cell) -> dict[int, Position]:
    """Positions for every node: x = layer, y = row within the layer (centred) plus a per-layer
    shift. Odd layers start half a row down; then each layer in turn takes the shift from
    ``SHIFTS`` that keeps straight edges furthest from the other nodes and edge midpoints (where
    labels go) furthest apart (two greedy sweeps)."""
    lay = layers(cell)
    shifts = {layer: (0.5 if layer % 2 else 0.0) for layer in set(lay.values())}
    if cell.n_nodes > MAX_TUNED_NODES:
        return _positions(lay, shifts)
    best = _score(cell, _positions(lay, shifts))
    good = (GOOD_CLEARANCE, GOOD_LABEL_GAP)
    for _sweep in range(2):
        for layer in sorted(shifts):
            if best[:2] >= good:
                break
            for shift in SHIFTS:
                trial = {**shifts, layer: shift}
                score = _score(cell, _positions(lay, trial))
                if score > best and any(abs(a - b) > 1e-9 for a, b in zip(score, best, strict=True)):
                    shifts, best = trial, score
    return _positions(lay, shifts)


def scaled_positions(cell: Cell, dx: float, dy: float) -> dict[int, tuple[float, float]]:
    """Pixel positions for a canvas: ``dx`` per layer, ``dy`` per row, top-left at (0, 0)."""
    pos = layered_positions(cell)
    top = min(p.y for p in pos.values())
    return {v: (p.x * dx, (p.y - top) * dy) for v, p in pos.items()}
