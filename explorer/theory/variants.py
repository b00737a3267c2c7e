"""Variants of a cell, as in Shu et al. (ICLR 2020): random rewirings, random ops, and "adapt".

- ``rewire``: keep every edge's op, draw its input node at random (their Appendix A.2, "random
  variants with the same operations"). A DARTS-style node still takes two distinct earlier nodes
  and the output concatenates every intermediate node; an NB201 cell has one fixed wiring, so its
  ops are shuffled over the six edges instead; a free DAG draws each edge's source among the nodes
  before its target in the topological order, so the result stays acyclic.
- ``random_ops``: keep the wiring, draw every op from the space's op set.
- ``adapt``: the widest and shallowest wiring with the same ops: every edge into an intermediate
  node comes from an input node (Shu et al. Sec. 4.1 / Table 2). For DARTS-style cells the two edges
  of a node come from the two inputs and the output concatenates every intermediate node, so every
  op stays in use; other cells get the same rule, which can create parallel edges and (see
  ``Cell.warnings``) dead nodes. ``keep_concat=True`` keeps the cell's own concatenation instead:
  AmoebaNet-A's output concatenates nodes 4–6 only, so nodes 2 and 3, which fed nodes 3–5, feed
  nothing once rewired and the live width is 3c (the width the paper reports for the adapted
  AmoebaNet) rather than 5c. NASNet-A and ENAS (as in the DARTS repository's genotypes) and SNAS-mild
  already take every node from the inputs: their adaptation changes no width or depth (null
  contrasts, left out of the lab's H2/H3).

Each variant is reported with Shu et al.'s width and depth and Chen et al.'s d̄ and m̄, sorted by
width as in their Table 2.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from explorer.cell.model import Cell, Edge
from explorer.cell.ops import DARTS_OPS, NB201_OPS
from explorer.core.errors import CellError
from explorer.theory.paths import cell_depth, cell_width, effective_depth_width, path_histogram

Mode = Literal["rewire", "ops"]
MODES: dict[str, str] = {
    "rewire": "keep the ops, rewire the inputs at random",
    "ops": "keep the wiring, draw random ops",
}
MAX_VARIANTS = 200


def op_pool(cell: Cell) -> tuple[str, ...]:
    """The ops a random-op variant draws from: the space's set (NB201, DARTS), else the ops the
    cell already uses plus ``skip_connect``."""
    if cell.kind == "nb201":
        return NB201_OPS
    if cell.kind == "darts":
        return DARTS_OPS
    used = {e.op for e in cell.edges if e.op != "concat"}
    return tuple(sorted(used | {"skip_connect"}))


def rewire(cell: Cell, rng: random.Random) -> Cell:
    if cell.kind == "nb201":
        ops = [e.op for e in cell.edges]
        rng.shuffle(ops)
        return cell.with_edges(Edge(e.src, e.dst, op) for e, op in zip(cell.edges, ops, strict=True))
    if cell.kind == "darts":
        pairs, _ = cell.to_genotype_pairs()
        new_pairs = []
        for k in range(len(pairs) // 2):
            node = 2 + k
            a, b = rng.sample(range(node), 2)
            new_pairs += [(pairs[2 * k][0], a), (pairs[2 * k + 1][0], b)]
        return Cell.from_genotype_pairs(new_pairs, list(range(2, 2 + len(pairs) // 2)))
    rank = {v: i for i, v in enumerate(cell.topological_order)}
    before = [[u for u in cell.topological_order[: rank[v]] if u != cell.output] for v in range(cell.n_nodes)]
    edges = []
    for e in cell.edges:
        if e.dst == cell.output or not before[e.dst]:
            edges.append(e)
        else:
            edges.append(Edge(rng.choice(before[e.dst]), e.dst, e.op))
    return cell.with_edges(edges)


def random_ops(cell: Cell, rng: random.Random, pool: Sequence[str] | None = None) -> Cell:
    pool = tuple(pool or op_pool(cell))
    return cell.with_edges(e if e.op == "concat" else Edge(e.src, e.dst, rng.choice(pool)) for e in cell.edges)


def adapt(cell: Cell, *, keep_concat: bool = False) -> Cell:
    """The widest, shallowest wiring with the same ops (every intermediate node fed by inputs only);
    DARTS-style cells concatenate every intermediate node unless ``keep_concat``."""
    if cell.kind == "darts":
        pairs, concat = cell.to_genotype_pairs()
        new_pairs = [(op, k % 2) for k, (op, _src) in enumerate(pairs)]
        return Cell.from_genotype_pairs(new_pairs, list(concat) if keep_concat else list(range(2, 2 + len(pairs) // 2)))
    inputs = cell.inputs
    edges, seen = [], {}
    for e in cell.edges:
        if cell.roles[e.dst] != "intermediate" or cell.roles[e.src] == "input":
            edges.append(e)
            continue
        k = seen.get(e.dst, 0)
        seen[e.dst] = k + 1
        edges.append(Edge(inputs[k % len(inputs)], e.dst, e.op))
    return cell.with_edges(edges)


def live_cell_width(cell: Cell) -> float:
    """Shu et al.'s width counted over the intermediate nodes that reach the output only (a node
    whose result nothing uses adds no width): 3c for AmoebaNet-A adapted with its own concatenation."""
    reaches = {cell.output}
    for v in reversed(cell.topological_order):
        if any(e.src == v and e.dst in reaches for e in cell.live_edges):
            reaches.add(v)
    width = 0.0
    for v in cell.intermediates:
        into = [e for e in cell.live_edges if e.dst == v]
        if into and v in reaches:
            width += sum(cell.roles[e.src] == "input" for e in into) / len(into)
    return width


def changes_shape(cell: Cell, variant: Cell) -> bool:
    """Whether ``variant`` differs from ``cell`` in Shu et al.'s width or depth (else the rewiring is a
    null contrast for a claim about wide, shallow cells)."""
    return (cell_width(cell), cell_depth(cell)) != (cell_width(variant), cell_depth(variant))


@dataclass(frozen=True)
class VariantRow:
    label: str  # 'original', 'adapted', 'variant 3'
    cell: Cell
    cell_width: float
    cell_depth: int | None
    paths: int
    effective_depth: float | None
    effective_width: float | None


def describe(label: str, cell: Cell) -> VariantRow:
    hist = path_histogram(cell)
    dw = effective_depth_width(hist)
    return VariantRow(label, cell, cell_width(cell), cell_depth(cell), sum(hist),
                      dw.effective_depth, dw.effective_width)


def random_variants(cell: Cell, mode: Mode, count: int, seed: int) -> list[Cell]:
    """``count`` variants drawn with ``seed`` (the same seed gives the same variants)."""
    if mode not in MODES:
        raise CellError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not 1 <= count <= MAX_VARIANTS:
        raise CellError(f"count must be in 1..{MAX_VARIANTS}, got {count}")
    rng = random.Random(seed)
    draw = rewire if mode == "rewire" else random_ops
    return [draw(cell, rng) for _ in range(count)]


def variant_table(cell: Cell, variants: Sequence[Cell]) -> list[VariantRow]:
    """The original cell and its variants, widest first (then shallowest), as in Shu et al. Table 2."""
    rows = [describe("original", cell)] + [describe(f"variant {i + 1}", v) for i, v in enumerate(variants)]
    depth_key = lambda r: r.cell_depth if r.cell_depth is not None else 10**9  # noqa: E731
    return sorted(rows, key=lambda r: (-r.cell_width, depth_key(r)))
