"""Network-level metrics (explorer.theory.network) agree with the cell code on the same DAG."""

from __future__ import annotations

import math

import pytest

from explorer.cell.model import Cell, Edge
from explorer.theory.metrics import metrics
from explorer.theory.network import Block, anynet_blocks, log2_paths, network_metrics, path_histogram


def as_cell(blocks: list[Block]) -> Cell:
    """The network DAG written as a Cell: body ops are conv_3x3, a projection conv_1x1, identity a skip."""
    edges, node, src = [], 1, 0
    for b in blocks:
        prev = src
        for _ in range(b.body):
            edges.append(Edge(prev, node, "conv_3x3"))
            prev, node = node, node + 1
        if b.shortcut is not None:
            edges.append(Edge(src, prev, "skip_connect" if b.shortcut == "identity" else "conv_1x1"))
        src = prev
    roles = ("input",) + ("intermediate",) * (node - 2) + ("output",)
    return Cell(roles, tuple(edges))


CASES = [
    [Block(2, "identity")],
    [Block(1, "projection"), Block(2, "identity")],
    [Block(2, None), Block(2, None), Block(2, None)],
    [Block(3, "projection"), Block(3, "identity"), Block(3, "projection"), Block(3, "identity")],
    [Block(2, "identity")] * 6,
    [Block(1, "identity"), Block(2, None), Block(3, "projection")],
]


@pytest.mark.parametrize("blocks", CASES)
def test_same_numbers_as_the_cell_dp(blocks):
    got, want = network_metrics(blocks), metrics(as_cell(blocks))
    assert got.paths == want.paths and got.path_histogram == want.path_histogram
    assert got.cell_depth == want.cell_depth and got.n_parameterized_ops == want.n_parameterized_ops
    assert got.cell_width == pytest.approx(want.cell_width)
    for key in ("effective_depth", "effective_width", "nngp_eq12", "nngp_lambda_min", "nngp_exact_dag"):
        assert getattr(got, key) == pytest.approx(getattr(want, key), rel=1e-9, abs=1e-12), key


def test_paths_are_exact_past_64_bits():
    blocks = [Block(2, "identity")] * 100
    hist = path_histogram(blocks)
    assert sum(hist) == 2**100 and hist[100] == math.comb(100, 50) and len(hist) == 201
    m = network_metrics(blocks)
    assert m.paths == 2**100 and m.effective_depth == pytest.approx(100.0)  # each block: 0 or 2, mean 1
    assert log2_paths(m.paths) == pytest.approx(100.0)


def test_anynet_projection_rule():
    # pycls: a projection when the stride or the width changes (stem 16 → 16: identity first).
    blocks = anynet_blocks("res_basic_block", [2, 2], [16, 32], [1, 2], stem_width=16)
    assert [b.shortcut for b in blocks] == ["identity", "identity", "projection", "identity"]
    assert [b.body for b in anynet_blocks("res_bottleneck_block", [1], [64], [1], stem_width=16)] == [3]
    assert [b.shortcut for b in anynet_blocks("double_plain_block", [3], [16], [1])] == [None] * 3


def test_vanilla_is_one_path():
    m = network_metrics(anynet_blocks("double_plain_block", [2, 3], [16, 32], [1, 2]))
    assert m.paths == 1 and m.effective_depth == 10 and m.effective_width == pytest.approx(0.1)
