"""Connectivity metrics of a cell.

- Paths (Chen et al., NeurIPS 2022): P end-to-end paths from the input nodes to the output
  through edges that exist; d_p = parameterized ops on path p. Counted by dynamic programming
  over the DAG (a histogram of d_p per node), so path counts of 10^12 are exact and instant.
- Effective depth d̄ = Σ d_p / P and effective width m̄ = Σ 1(d_p > 0) / d̄ (their Def. 4.1).
- Cell depth and width (Shu et al., ICLR 2020): the longest input → output path in edges, and
  Σ over intermediate nodes of the share of their incoming edges that come from input nodes
  (in units of the node width c).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from explorer.cell.model import Cell, Edge
from explorer.theory import dag_kernel, nngp

MAX_LISTED_DEPTHS = 10_000  # path_depths lists at most this many d_p values
DEFAULT_K0 = 0.5


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


@dataclass(frozen=True)
class CellMetrics:
    """Every number the live panel shows; ``to_dict`` is the CLI's JSON."""

    paths: int
    path_depths: list[int]  # sorted d_p, at most MAX_LISTED_DEPTHS of them
    path_depths_truncated: bool
    path_histogram: list[int]
    effective_depth: float | None
    effective_width: float | None
    undefined_reason: str | None
    cell_width: float
    cell_depth: int | None
    n_parameterized_ops: int
    k0: float
    nngp_eq12: float
    nngp_lambda_min: float
    nngp_exact_dag: float  # λmin of the exact infinite-width output kernel (dag_kernel)
    warnings: list[str]

    def to_dict(self) -> dict:
        d = asdict(self)
        # JSON has no NaN/inf; paths can exceed 2^53, keep them as exact integers.
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def metrics(cell: Cell, k0: float = DEFAULT_K0) -> CellMetrics:
    hist = path_histogram(cell)
    dw = effective_depth_width(hist)
    depths: list[int] = []
    for d, n in enumerate(hist):
        take = min(n, MAX_LISTED_DEPTHS - len(depths))
        depths.extend([d] * take)
    diag, off = nngp.sum_rule_kernel(cell, k0)
    return CellMetrics(
        paths=sum(hist),
        path_depths=depths,
        path_depths_truncated=sum(hist) > len(depths),
        path_histogram=list(hist),
        effective_depth=dw.effective_depth,
        effective_width=dw.effective_width,
        undefined_reason=dw.reason,
        cell_width=cell_width(cell),
        cell_depth=cell_depth(cell),
        n_parameterized_ops=sum(e.parameterized for e in cell.live_edges),
        k0=float(k0),
        nngp_eq12=float(nngp.eq12(hist, k0)),
        nngp_lambda_min=float(nngp.lambda_min_2x2(diag, off)),
        nngp_exact_dag=float(dag_kernel.exact_lambda_min(cell, k0)),
        warnings=list(cell.warnings),
    )
