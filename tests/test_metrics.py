"""Path metrics against the papers' numbers, brute-force enumeration, closed forms and invariants."""

from __future__ import annotations

import math
from collections import Counter

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.cell.model import Cell, Edge
from explorer.cell.presets import get_preset
from explorer.theory import nngp
from explorer.theory.metrics import MAX_LISTED_DEPTHS, metrics
from explorer.theory.paths import (
    cell_depth,
    cell_width,
    effective_depth_width,
    iter_paths,
    list_paths,
    path_histogram,
)

DAG1, DAG2, DAG3 = (get_preset(n).cell for n in ("DAG#1 (sequential)", "DAG#2 (parallel)", "DAG#3 (mixed)"))
K0S = (-0.9, -0.5, 0.0, 0.2, 0.5, 0.8, 0.95)


# --- the papers' numbers -----------------------------------------------------------------------


@pytest.mark.parametrize("name, width, depth", [
    # Shu et al., ICLR 2020, Figure 1: width in units of c, depth in edges
    ("NASNet-A", 5.0, 2), ("AmoebaNet-A", 4.0, 4), ("ENAS", 5.0, 2), ("DARTS-V2", 3.5, 3), ("SNAS-mild", 4.0, 2),
])
def test_shu_figure_1(name, width, depth):
    cell = get_preset(f"{name} normal cell").cell
    m = metrics(cell)
    assert (m.cell_width, m.cell_depth) == (width, depth)
    assert (cell_width(cell), cell_depth(cell)) == (width, depth)


@pytest.mark.parametrize("cell, paths, depths, d_bar, m_bar", [
    # Chen et al., NeurIPS 2022, Figure 2 / Table: P, d̄, m̄ of the three MLP DAGs
    (DAG1, 1, [3], 3.0, 1 / 3),
    (DAG2, 3, [1, 1, 1], 1.0, 3.0),
    (DAG3, 4, [0, 1, 2, 2], 1.25, 2.4),
])
def test_chen_dags(cell, paths, depths, d_bar, m_bar):
    m = metrics(cell)
    assert m.paths == paths and m.path_depths == depths and not m.path_depths_truncated
    assert m.effective_depth == pytest.approx(d_bar) and m.effective_width == pytest.approx(m_bar)
    assert m.undefined_reason is None
    assert m.n_parameterized_ops == sum(e.op == "linear" for e in cell.edges)


@pytest.mark.parametrize("k0", K0S)
def test_chen_ordering_of_eq12_and_sum_rule(k0):
    eq12 = [metrics(c, k0).nngp_eq12 for c in (DAG1, DAG2, DAG3)]
    lam = [float(nngp.sum_rule_lambda_min(c, k0)) for c in (DAG1, DAG2, DAG3)]
    assert eq12[0] < eq12[1] < eq12[2]
    assert lam[0] < lam[1] < lam[2]
    assert metrics(DAG3, k0).nngp_lambda_min == pytest.approx(lam[2])


def test_resnet_cell():
    m = metrics(get_preset("NB201 ResNet cell").cell)
    assert (m.paths, m.path_depths, m.effective_depth, m.effective_width) == (2, [0, 2], 1.0, 1.0)
    assert (m.cell_depth, m.cell_width, m.n_parameterized_ops) == (3, 1.0, 2)


# --- undefined d̄ / m̄ ---------------------------------------------------------------------------


def test_no_path_is_undefined_not_zero():
    m = metrics(Cell.from_nb201("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|"))
    assert m.paths == 0 and m.path_depths == [] and m.path_histogram == []
    assert m.effective_depth is None and m.effective_width is None
    assert "P = 0" in m.undefined_reason and "no path" in m.undefined_reason
    assert m.cell_depth is None
    d = m.to_dict()
    assert d["effective_depth"] is None and d["effective_width"] is None and d["undefined_reason"]
    assert "the output has no path from any input" in m.warnings


def test_no_parameterized_path_is_undefined_not_zero():
    m = metrics(get_preset("NB201 all-skip").cell)
    assert m.paths == 4 and m.path_depths == [0, 0, 0, 0]
    assert m.effective_depth is None and m.effective_width is None
    assert "d̄ = 0" in m.undefined_reason
    assert effective_depth_width(()).reason and effective_depth_width((3,)).reason
    assert effective_depth_width((0, 2)).effective_width == 2.0


# --- brute force on random DAGs ----------------------------------------------------------------

_OPS = ("linear", "skip_connect", "none", "conv_3x3", "avg_pool_3x3")


@st.composite
def random_cells(draw, max_nodes: int = 9, max_edges: int = 16) -> Cell:
    """Random DAGs: 1-3 inputs, parallel edges, `none` edges, dead nodes; node ids shuffled."""
    n = draw(st.integers(3, max_nodes))
    n_in = draw(st.integers(1, min(3, n - 1)))
    # nodes in topological order t = 0..n-1: inputs first, output last
    n_edges = draw(st.integers(0, max_edges))
    edges_t = []
    for _ in range(n_edges):
        a = draw(st.integers(0, n - 2))
        b = draw(st.integers(max(a + 1, n_in), n - 1))
        edges_t.append((a, b, draw(st.sampled_from(_OPS))))
    perm = draw(st.permutations(range(n)))  # node id of topological position t
    roles = [""] * n
    for t in range(n):
        roles[perm[t]] = "input" if t < n_in else "output" if t == n - 1 else "intermediate"
    return Cell(tuple(roles), tuple(Edge(perm[a], perm[b], op) for a, b, op in edges_t))


def brute_force_histogram(cell: Cell) -> Counter:
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(cell.n_nodes))
    for k, e in enumerate(cell.live_edges):
        g.add_edge(e.src, e.dst, key=k, param=e.parameterized)
    hist: Counter = Counter()
    for s in cell.inputs:
        for path in nx.all_simple_edge_paths(g, s, cell.output):
            hist[sum(g.edges[u, v, k]["param"] for u, v, k in path)] += 1
    return hist


def brute_force_longest(cell: Cell) -> int | None:
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(cell.n_nodes))
    g.add_edges_from((e.src, e.dst) for e in cell.live_edges)
    lengths = [len(p) for s in cell.inputs for p in nx.all_simple_edge_paths(g, s, cell.output)]
    return max(lengths) if lengths else None


@settings(max_examples=250, deadline=None)
@given(random_cells())
def test_dp_path_counts_equal_brute_force(cell):
    hist = path_histogram(cell)
    brute = brute_force_histogram(cell)
    assert dict(enumerate(hist)) == {d: brute.get(d, 0) for d in range(len(hist))}
    assert sum(hist) == sum(brute.values())
    assert cell_depth(cell) == brute_force_longest(cell)
    m = metrics(cell)
    assert m.paths == sum(brute.values())
    assert m.path_depths == sorted(brute.elements())
    total = sum(brute.values())
    depth_sum = sum(d * n for d, n in brute.items())
    if total and depth_sum:
        assert m.effective_depth == pytest.approx(depth_sum / total)
        assert m.effective_width == pytest.approx((total - brute[0]) * total / depth_sum)
    else:
        assert m.effective_depth is None and m.effective_width is None and m.undefined_reason
    paths = list(iter_paths(cell))
    assert len(paths) == total
    assert sorted(sum(e.parameterized for e in p) for p in paths) == m.path_depths
    shown, count = list_paths(cell, limit=3)
    assert count == total and shown == paths[:3]


def test_parallel_edges_and_multi_input_paths():
    # two inputs; 0 ⇒ 2 by two convs and a skip; 1 → 2 conv; 2 → 3 conv twice
    cell = Cell(("input", "input", "intermediate", "output"),
                (Edge(0, 2, "conv_3x3"), Edge(0, 2, "conv_3x3"), Edge(0, 2, "skip_connect"),
                 Edge(1, 2, "conv_3x3"), Edge(2, 3, "linear"), Edge(2, 3, "linear"), Edge(1, 3, "none")))
    assert path_histogram(cell) == (0, 2, 6)  # 4 routes into node 2 × 2 routes out
    assert sum(brute_force_histogram(cell).values()) == 8


def test_darts_paths_pool_both_inputs_and_concat_adds_no_depth():
    m = metrics(get_preset("DARTS-V2 normal cell").cell)
    # nodes 2, 3, 4 each take inputs 0 and 1: 2 paths each (node 4's edge from 0 is a skip, d 0);
    # node 5 takes 0 by a skip (d 0) and node 2 by a dil conv (2 paths, d 2); concat adds nothing
    assert m.paths == 2 + 2 + 2 + 3
    assert sorted(m.path_depths) == [0, 0, 1, 1, 1, 1, 1, 2, 2]


# --- huge path counts ---------------------------------------------------------------------------


def test_huge_path_counts_are_exact_binomial():
    """A 40-node chain where each of the 39 links is a linear edge and a skip in parallel:
    P = 2^39 (> 10^9) and the depth histogram is binomial C(39, d)."""
    links = 39
    roles = ("input",) + ("intermediate",) * (links - 1) + ("output",)
    edges = [Edge(i, i + 1, op) for i in range(links) for op in ("linear", "skip_connect")]
    cell = Cell(roles, edges)
    hist = path_histogram(cell)
    assert hist == tuple(math.comb(links, d) for d in range(links + 1))
    m = metrics(cell)
    assert m.paths == 2**links > 10**9
    assert m.effective_depth == links / 2
    assert m.effective_width == pytest.approx((2**links - 1) / (links / 2), rel=1e-15)
    assert len(m.path_depths) == MAX_LISTED_DEPTHS and m.path_depths_truncated
    assert m.path_depths == sorted(m.path_depths) and m.path_depths[0] == 0
    assert m.to_dict()["paths"] == 549_755_813_888  # an exact integer in the JSON too


def test_huge_path_counts_beyond_int64_are_exact():
    links = 45  # three parallel linear edges per link: 3^45 > 2^63
    roles = ("input",) + ("intermediate",) * (links - 1) + ("output",)
    cell = Cell(roles, [Edge(i, i + 1, "linear") for i in range(links) for _ in range(3)])
    assert path_histogram(cell) == (0,) * links + (3**links,)
    assert metrics(cell).paths == 3**links


def test_layered_dag_matches_closed_form():
    """Input → L layers of k nodes, consecutive layers fully connected by linear edges (and
    each edge doubled by a skip), last layer → output: P = k · (2k)^(L-1), all through linear."""
    k, layers = 3, 9
    roles = ["input"] + ["intermediate"] * (k * layers) + ["output"]
    node = lambda layer, i: 1 + layer * k + i  # noqa: E731
    edges = [Edge(0, node(0, i), "linear") for i in range(k)]
    for layer in range(layers - 1):
        for i in range(k):
            for j in range(k):
                edges += [Edge(node(layer, i), node(layer + 1, j), "linear"),
                          Edge(node(layer, i), node(layer + 1, j), "skip_connect")]
    edges += [Edge(node(layers - 1, i), len(roles) - 1, "skip_connect") for i in range(k)]
    cell = Cell(tuple(roles), edges)
    hist = path_histogram(cell)
    # the first edge adds 1; each of the L-1 links adds 1 with k choices, or 0 with k choices
    expected = [0] + [k * k ** (layers - 1) * math.comb(layers - 1, d - 1) for d in range(1, layers + 1)]
    assert list(hist) == expected
    assert sum(hist) == k * (2 * k) ** (layers - 1) > 10**6
    assert metrics(cell).effective_depth == pytest.approx(1 + (layers - 1) / 2)


# --- invariants --------------------------------------------------------------------------------


def _comparable(cell: Cell, k0: float = 0.5) -> dict:
    d = metrics(cell, k0).to_dict()
    d.pop("warnings")
    return d


@settings(max_examples=120, deadline=None)
@given(random_cells(), st.data())
def test_adding_a_none_edge_changes_nothing(cell, data):
    order = cell.topological_order
    a = data.draw(st.integers(0, cell.n_nodes - 2))
    b = data.draw(st.integers(a + 1, cell.n_nodes - 1))
    u, v = order[a], order[b]
    if cell.roles[v] == "input" or cell.roles[u] == "output":
        return
    bigger = cell.add_edge(u, v, "none")
    assert _comparable(bigger) == _comparable(cell)
    assert bigger.warnings == cell.warnings


@settings(max_examples=120, deadline=None)
@given(random_cells(), st.permutations(range(9)))
def test_renumbering_nodes_changes_nothing(cell, perm):
    perm = [p for p in perm if p < cell.n_nodes]
    roles = [""] * cell.n_nodes
    for v, r in enumerate(cell.roles):
        roles[perm[v]] = r
    renamed = Cell(tuple(roles), tuple(Edge(perm[e.src], perm[e.dst], e.op) for e in reversed(cell.edges)))
    a, b = _comparable(cell), _comparable(renamed)
    for key in ("nngp_eq12", "nngp_lambda_min", "nngp_exact_dag"):
        if key in a:
            assert a.pop(key) == pytest.approx(b.pop(key), abs=1e-12)
    for key in ("effective_depth", "effective_width", "cell_width"):  # sums in another order
        assert a.pop(key) == pytest.approx(b.pop(key))
    assert a == b
    assert len(renamed.warnings) == len(cell.warnings)


def test_width_counts_shares_of_input_edges():
    # node 1: one edge from the input (1/1); node 2: from input and from node 1 (1/2); node 3: none (0)
    cell = Cell(("input", "intermediate", "intermediate", "intermediate", "output"),
                (Edge(0, 1, "linear"), Edge(0, 2, "linear"), Edge(1, 2, "linear"), Edge(2, 3, "skip_connect"),
                 Edge(3, 4, "linear"), Edge(0, 3, "none")))
    assert cell_width(cell) == 1.5
    # DAG#3: node 1 takes only the input (1), node 2 the input and node 1 (1/2)
    assert (cell_width(DAG1), cell_width(DAG2), cell_width(DAG3)) == (1.0, 1.0, 1.5)
