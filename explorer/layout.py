"""Layered, staggered node positions for drawing a cell (plotly graph view and the flow canvas).

Layers come from networkx's topological generations over every edge (``none`` included, so
switching an op to ``none`` does not make the picture jump). Nodes in a layer are spread
vertically; then every other layer is shifted by half a row. Without the shift, a chain
0 → 1 → 2 → 3 puts every node on one line and the skip edges 0 → 2, 1 → 3 run straight through
the nodes between them, where they can neither be seen nor clicked.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from explorer.cells import Cell

STAGGER = 0.5  # vertical shift of odd layers, in rows


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


def layered_positions(cell: Cell, stagger: float = STAGGER) -> dict[int, Position]:
    """Positions for every node: x = layer, y = row within the layer (centred), odd layers shifted."""
    by_layer: dict[int, list[int]] = {}
    for v, layer in layers(cell).items():
        by_layer.setdefault(layer, []).append(v)
    positions = {}
    for layer, nodes in by_layer.items():
        nodes.sort()
        shift = stagger if layer % 2 else 0.0
        for row, v in enumerate(nodes):
            positions[v] = Position(layer, float(layer), row - (len(nodes) - 1) / 2 + shift)
    return positions


def scaled_positions(cell: Cell, dx: float, dy: float) -> dict[int, tuple[float, float]]:
    """Pixel positions for a canvas: ``dx`` per layer, ``dy`` per row, top-left at (0, 0)."""
    pos = layered_positions(cell)
    top = min(p.y for p in pos.values())
    return {v: (p.x * dx, (p.y - top) * dy) for v, p in pos.items()}
