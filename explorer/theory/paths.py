"""Paths through a cell and the numbers made from them (no kernels).

- Paths (Chen et al., NeurIPS 2022): P end-to-end paths from the input nodes to the output
  through edges that exist; d_p = parameterized ops on path p. Counted by dynamic programming
  over the DAG (a histogram of d_p per node), so path counts of 10^12 are exact and instant.
- Effective depth d̄ = Σ d_p / P and effective width m̄ = Σ 1(d_p > 0) / d̄ (their Def. 4.1).
- Cell depth and width (Shu et al., ICLR 2020): the longest input → output path in edges, and
  Σ over intermediate nodes of the share of their incoming edges that come from input nodes
  (in units of the node width c).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from explorer.cell.model import Cell, Edge


def path_histogram(cell: Cell) -> tuple[int, ...]:
    """histogram[d] = number of input → output paths with exactly d parameterized ops."""
    hist: dict[int, list[int]] = {v: [1] for v in cell.inputs}
    for v in cell.topological_order:
        if v in hist and cell.roles[v] == "input":
            continue
        acc: list[int] = []
        for e in cell.live_edges:
            if e.dst != v or e.src not in hist:
                continue
            shift = 1 if e.parameterized else 0
            src = hist[e.src]
            if len(acc) < len(src) + shift:
                acc.extend([0] * (len(src) + shift - len(acc)))
            for d, count in enumerate(src):
                acc[d + shift] += count
        if acc:
            hist[v] = acc
    out = hist.get(cell.output, [])
    while out and out[-1] == 0:
        out = out[:-1]
    return tuple(out)


@dataclass(frozen=True)
class EffectiveDepthWidth:
    effective_depth: float | None
    effective_width: float | None
    reason: str | None  # why they are undefined, when they are


def effective_depth_width(histogram: tuple[int, ...]) -> EffectiveDepthWidth:
    paths = sum(histogram)
    if paths == 0:
        return EffectiveDepthWidth(None, None, "undefined: no path from an input to the output (P = 0)")
    depth_sum = sum(d * n for d, n in enumerate(histogram))
    if depth_sum == 0:
        return EffectiveDepthWidth(
            None, None, "undefined: no parameterized path (every path has d_p = 0, so d̄ = 0)"
        )
    d_bar = depth_sum / paths
    return EffectiveDepthWidth(d_bar, (paths - histogram[0]) / d_bar, None)


def iter_paths(cell: Cell) -> Iterator[tuple[Edge, ...]]:
    """Every input → output path as a tuple of edges, depth-first (may be astronomically many)."""
    out_edges: dict[int, list[Edge]] = {}
    for e in cell.live_edges:
        out_edges.setdefault(e.src, []).append(e)

    def walk(v: int, prefix: tuple[Edge, ...]) -> Iterator[tuple[Edge, ...]]:
        if v == cell.output:
            yield prefix
            return
        for e in out_edges.get(v, ()):
            yield from walk(e.dst, (*prefix, e))

    for s in cell.inputs:
        yield from walk(s, ())


def list_paths(cell: Cell, limit: int = 200) -> tuple[list[tuple[Edge, ...]], int]:
    """Up to ``limit`` paths for display, and the exact total count."""
    paths = []
    for p in iter_paths(cell):
        if len(paths) >= limit:
            break
        paths.append(p)
    return paths, sum(path_histogram(cell))


def cell_depth(cell: Cell) -> int | None:
    """Shu et al.: edges on the longest input → output path (None when there is no path)."""
    longest: dict[int, int] = {v: 0 for v in cell.inputs}
    for v in cell.topological_order:
        if cell.roles[v] == "input":
            continue
        best = [longest[e.src] + 1 for e in cell.live_edges if e.dst == v and e.src in longest]
        if best:
            longest[v] = max(best)
    return longest.get(cell.output)


def cell_width(cell: Cell) -> float:
    """Shu et al.: Σ over intermediate nodes of (incoming edges from inputs / all incoming), in c."""
    width = 0.0
    for v in cell.intermediates:
        into = [e for e in cell.live_edges if e.dst == v]
        if into:
            width += sum(cell.roles[e.src] == "input" for e in into) / len(into)
    return width
