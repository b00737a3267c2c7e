"""The teaching text for a cell: formulas with its numbers filled in, and the published claims.

Markdown strings (with KaTeX between $…$) that the editor shows when "teach" is on; the numbers
come from the same ``metrics`` the live panel shows, so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.cell.model import Cell
from explorer.theory.metrics import CellMetrics

MAX_TERMS = 8  # longer sums are shown with "…"


def _num(x: float) -> str:
    return f"{x:.4g}"


def node_path_counts(cell: Cell) -> dict[int, int]:
    """Paths from any input to each node, through edges that exist (inputs count 1)."""
    counts = {v: 1 for v in cell.inputs}
    for v in cell.topological_order:
        if cell.roles[v] == "input":
            continue
        counts[v] = sum(counts[e.src] for e in cell.live_edges if e.dst == v)
    return counts


def path_counting(cell: Cell) -> str:
    """How P was counted: n_v = Σ_{u→v} n_u in topological order, with the numbers."""
    counts = node_path_counts(cell)
    lines = [
        "Paths are counted node by node in topological order: an input node has one path (itself); "
        "every other node has the sum of the paths of the nodes feeding it through an edge that "
        "exists (`none` edges are skipped). Parallel edges count twice. P is the output's count.",
        "",
    ]
    for v in cell.topological_order:
        if cell.roles[v] == "input":
            lines.append(f"- node {cell.name(v)} (input): n = 1")
            continue
        srcs = [e.src for e in cell.live_edges if e.dst == v]
        if not srcs:
            lines.append(f"- node {cell.name(v)}: no incoming edge, n = 0")
            continue
        terms = " + ".join(f"n{u}" for u in srcs[:MAX_TERMS]) + (" + …" if len(srcs) > MAX_TERMS else "")
        values = " + ".join(str(counts[u]) for u in srcs[:MAX_TERMS]) + (" + …" if len(srcs) > MAX_TERMS else "")
        tag = " (output, so P)" if v == cell.output else ""
        lines.append(f"- node {cell.name(v)}{tag}: n = {terms} = {values} = {counts[v]:,}")
    return "\n".join(lines)


def depth_width_formulas(m: CellMetrics) -> str:
    """d̄ = Σ d_p / P and m̄ = Σ 1(d_p > 0) / d̄ with this cell's numbers (from the histogram)."""
    hist = m.path_histogram
    if m.paths == 0:
        return ("$\\bar d = \\frac{1}{P}\\sum_p d_p$ needs at least one path; this cell has **P = 0** "
                "(no input reaches the output), so d̄ and m̄ are undefined.")
    terms = [f"{n}\\cdot{d}" for d, n in enumerate(hist) if n][:MAX_TERMS]
    more = " + \\dots" if sum(1 for n in hist if n) > MAX_TERMS else ""
    depth_sum = sum(d * n for d, n in enumerate(hist))
    parameterized_paths = m.paths - (hist[0] if hist else 0)
    lines = [
        "d_p is the number of parameterized ops (convolutions, linear layers) on path p; skips and "
        "pooling add nothing. Grouping the paths by d_p (count · d_p):",
        "",
        f"$$\\bar d = \\frac{{\\sum_p d_p}}{{P}} = \\frac{{{' + '.join(terms)}{more}}}{{{m.paths}}}"
        f" = \\frac{{{depth_sum}}}{{{m.paths}}}"
        + (f" = {_num(m.effective_depth)}$$" if m.effective_depth is not None else " = 0$$"),
    ]
    if m.effective_depth is None:
        lines.append(
            "Every path has d_p = 0, so d̄ = 0 and m̄ = Σ 1(d_p > 0) / d̄ = 0/0 is undefined: "
            "the cell has no parameterized path."
        )
    else:
        assert m.effective_width is not None
        lines.append(
            f"$$\\bar m = \\frac{{\\sum_p \\mathbb{{1}}(d_p > 0)}}{{\\bar d}} = "
            f"\\frac{{{parameterized_paths}}}{{{_num(m.effective_depth)}}} = {_num(m.effective_width)}$$"
        )
    return "\n\n".join(lines)


@dataclass(frozen=True)
class Claim:
    source: str
    text: str


def claims(cell: Cell, m: CellMetrics, inside_box: bool | None = None, space: str | None = None) -> list[Claim]:
    """One sentence per published claim, each applied to this cell's numbers."""
    out = [
        Claim("Chen et al., NeurIPS 2022, Eq. 12",
              f"The smallest eigenvalue of the NNGP kernel, which sets the convergence rate of gradient "
              f"descent, is bounded by P − Σ_p f^(d_p)(K0): each path adds at most 1 − f^(d_p)(K0), and "
              f"f^d(K0) → 1 as d grows, so many shallow paths raise the bound; here it is "
              f"{_num(m.nngp_eq12)} at K0 = {m.k0:g}."),
        Claim("Chen et al., NeurIPS 2022, Sec. 3.3",
              "Of their three MLP-cell DAGs, DAG#3 (d̄ = 1.25, m̄ = 2.4) is predicted to converge faster "
              "than the sequential DAG#1 (d̄ = 3, m̄ = 1/3): more paths with fewer parameterized ops each "
              "give a larger λmin bound."),
    ]
    if inside_box is not None and space is not None:
        where = "inside" if inside_box else "outside"
        out.append(Claim(
            "Chen et al., NeurIPS 2022, Sec. 5.3",
            f"Their NAS pre-filter keeps only cells whose (d̄, m̄) lie in the central half of the space's box, "
            f"cutting the cells to train while keeping the good ones; this cell lies {where} the {space} box.",
        ))
    depth = "—" if m.cell_depth is None else str(m.cell_depth)
    out.append(Claim(
        "Shu et al., ICLR 2020, Sec. 4",
        f"Cells found by popular NAS methods are wide and shallow (large width, small depth), which makes "
        f"them converge fast but not necessarily generalise best; this cell has width {m.cell_width:g}c "
        f"and depth {depth}.",
    ))
    return out
