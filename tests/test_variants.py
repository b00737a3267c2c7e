"""Shu et al.'s random variants and the "adapt" wiring."""

from __future__ import annotations

import random

import pytest

from explorer.cell.model import Cell, Edge, parse_cell
from explorer.cell.presets import get_preset
from explorer.core.errors import CellError
from explorer.theory.paths import cell_depth, cell_width
from explorer.theory.variants import adapt, op_pool, random_ops, random_variants, rewire, variant_table

DARTS_V2 = get_preset("DARTS-V2 normal cell").cell
RESNET = get_preset("NB201 ResNet cell").cell
DAG3 = get_preset("DAG#3 (mixed)").cell


def test_adapt_darts_v2_is_widest_and_shallowest() -> None:
    adapted = adapt(DARTS_V2)
    pairs, concat = adapted.to_genotype_pairs()
    assert [op for op, _ in pairs] == [op for op, _ in DARTS_V2.to_genotype_pairs()[0]]  # same ops
    assert [src for _, src in pairs] == [0, 1] * 4  # every node fed by both inputs
    assert concat == [2, 3, 4, 5]
    # Shu et al.: 4 intermediate nodes fed only by the inputs: width 4c, depth 2 (input → node → output).
    assert cell_width(adapted) == 4.0 and cell_depth(adapted) == 2
    assert cell_width(DARTS_V2) < 4.0 or cell_depth(DARTS_V2) > 2


def test_rewire_keeps_darts_ops_and_validity() -> None:
    rng = random.Random(0)
    ops = sorted(e.op for e in DARTS_V2.edges)
    for _ in range(50):
        v = rewire(DARTS_V2, rng)
        assert v.kind == "darts"
        assert sorted(e.op for e in v.edges) == ops
        for e in v.edges:
            assert e.src < e.dst
        pairs, _ = v.to_genotype_pairs()
        assert all(pairs[2 * k][1] != pairs[2 * k + 1][1] for k in range(4))  # two distinct inputs per node


def test_rewire_nb201_shuffles_ops_over_the_fixed_wiring() -> None:
    v = rewire(RESNET, random.Random(3))
    assert v.kind == "nb201"
    assert sorted(e.op for e in v.edges) == sorted(e.op for e in RESNET.edges)


def test_rewire_free_dag_stays_acyclic() -> None:
    rng = random.Random(1)
    for _ in range(50):
        v = rewire(DAG3, rng)
        assert v.roles == DAG3.roles and len(v.edges) == len(DAG3.edges)


def test_random_ops_keeps_wiring() -> None:
    v = random_ops(DARTS_V2, random.Random(0))
    assert [(e.src, e.dst) for e in v.edges] == [(e.src, e.dst) for e in DARTS_V2.edges]
    assert {e.op for e in v.edges if e.op != "concat"} <= set(op_pool(DARTS_V2))


def test_same_seed_same_variants() -> None:
    a = random_variants(DARTS_V2, "rewire", 10, seed=42)
    b = random_variants(DARTS_V2, "rewire", 10, seed=42)
    c = random_variants(DARTS_V2, "rewire", 10, seed=43)
    assert a == b and a != c


def test_variant_table_sorted_by_width_widest_first() -> None:
    rows = variant_table(DARTS_V2, random_variants(DARTS_V2, "rewire", 20, seed=0))
    widths = [r.cell_width for r in rows]
    assert widths == sorted(widths, reverse=True)
    assert sum(r.label == "original" for r in rows) == 1


def test_bad_arguments_raise_cell_error() -> None:
    with pytest.raises(CellError):
        random_variants(DARTS_V2, "shuffle", 3, 0)  # type: ignore[arg-type]
    with pytest.raises(CellError):
        random_variants(DARTS_V2, "ops", 0, 0)


def test_adapt_free_dag_feeds_intermediates_from_inputs() -> None:
    chain = Cell(("input", "intermediate", "intermediate", "output"),
                 (Edge(0, 1, "linear"), Edge(1, 2, "linear"), Edge(2, 3, "linear")))
    adapted = adapt(chain)
    assert [(e.src, e.dst) for e in adapted.edges] == [(0, 1), (0, 2), (2, 3)]
    assert adapted.warnings  # node 1 no longer reaches the output: reported, not hidden
    assert adapt(parse_cell(RESNET.to_text())).edges[2].src == 0
