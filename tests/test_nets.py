"""Networks built from cells: parameter counts against NAS-Bench-201 and DARTS, shapes, none/skip."""

from __future__ import annotations

import csv
import random

import pytest
import torch

from explorer.cells import Cell, CellError, Edge, Genotype
from explorer.nets import build_network, cell_parameter_count, network_kind, parameter_count
from explorer.nets.dag import DagCell
from explorer.nets.layers import nb201_layer
from explorer.presets import PRESETS

RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), "
    "('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)


def _count_on_meta(cell: Cell | Genotype, kind: str, **size: int) -> int:
    with torch.device("meta"):
        return parameter_count(build_network(cell, kind, **size))


def test_resnet_cell_has_nb201s_parameter_count() -> None:
    assert _count_on_meta(Cell.from_nb201(RESNET), "nb201", channels=16, cells_per_stage=5) == 559_386


def test_nb201_counts_equal_the_benchmark_for_a_sample(nb201_dir) -> None:
    with open(nb201_dir / "nb201_main.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    sample = random.Random(7).sample(rows, 40)
    for row in sample:
        expected = round(float(row["params_m"]) * 1e6)
        got = _count_on_meta(Cell.from_nb201(row["arch_str"]), "nb201")
        assert got == expected, row["arch_str"]


def test_darts_v2_has_the_darts_papers_parameter_count() -> None:
    # DARTS (Liu et al., ICLR 2019) Table 1: 3.3M at C=36, 20 layers, CIFAR-10 (no auxiliary head);
    # the DARTS repository's train.py logs "param size = 3.349342MB".
    assert _count_on_meta(Genotype.parse(DARTS_V2), "darts", channels=36, layers=20) == 3_349_342


def test_cell_parameter_count_matches_the_realised_cells() -> None:
    resnet = Cell.from_nb201(RESNET)
    # Two ReLU-Conv3x3-BN at C=16: 2 × (16·16·9 + 2·16).
    assert cell_parameter_count(resnet, 16) == 2 * (16 * 16 * 9 + 32)
    dag1 = next(p.cell for p in PRESETS if p.name.startswith("DAG#1"))
    assert cell_parameter_count(dag1, 64) == 3 * (64 * 64 + 64)
    net = build_network(dag1, "mlp", input_shape=(64,), width=64)
    assert sum(p.numel() for p in net.edge_ops.parameters()) == cell_parameter_count(dag1, 64)
    darts = Genotype.parse(DARTS_V2).normal
    realised = build_network(darts, "darts", input_shape=(3, 8, 8), channels=8, layers=3)
    assert parameter_count(realised.cells[0].ops) == cell_parameter_count(darts, 8)


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_every_preset_runs_forward_and_backward(preset) -> None:
    torch.manual_seed(0)
    kind = network_kind(preset.cell)
    shape = (12,) if kind == "mlp" else (3, 8, 8)
    net = build_network(preset.cell, kind, input_shape=shape, num_classes=5, width=16, channels=4,
                        cells_per_stage=1, layers=3)
    x = torch.randn(2, *shape)
    out = net(x)
    assert out.shape == (2, 5)
    out.square().sum().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad and p.grad is not None)


@pytest.mark.parametrize("genotype", ["DARTS-V2", "NASNet-A"])  # 4 and 5 intermediate nodes
def test_darts_network_for_both_genotype_sizes(genotype) -> None:
    cell = next(p.cell for p in PRESETS if p.name.startswith(genotype))
    assert len(cell.intermediates) == (4 if genotype == "DARTS-V2" else 5)
    net = build_network(cell, "darts", input_shape=(3, 9, 9), num_classes=3, channels=4, layers=3)
    out = net(torch.randn(2, 3, 9, 9))  # odd sizes too: the factorized reduce pads
    assert out.shape == (2, 3)
    out.sum().backward()
    # The reduce cell defaults to the normal cell, and a genotype's own reduce cell is used when given.
    g = Genotype.parse(DARTS_V2)
    with_reduce = build_network(g, "darts", input_shape=(3, 8, 8), channels=4, layers=3)
    assert with_reduce.cells[1].ops.cell == g.reduce and with_reduce.cells[0].ops.cell == g.normal


def _copy_weights(src: torch.nn.Module, dst: torch.nn.Module) -> None:
    with torch.no_grad():
        for a, b in zip(list(src.parameters()) + list(src.buffers()),
                        list(dst.parameters()) + list(dst.buffers()), strict=True):
            b.copy_(a)


def test_none_edge_has_no_parameters_and_no_effect() -> None:
    with_none = Cell.from_nb201("|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|")
    without = with_none.with_edges(e for e in with_none.edges if e.op != "none")
    torch.manual_seed(1)
    a = build_network(with_none, "nb201", input_shape=(3, 8, 8), channels=4, cells_per_stage=2).eval()
    b = build_network(without, "nb201", input_shape=(3, 8, 8), channels=4, cells_per_stage=2).eval()
    assert parameter_count(a) == parameter_count(b)
    _copy_weights(a, b)
    x = torch.randn(3, 3, 8, 8)
    assert torch.equal(a(x), b(x))
    # MLP: same
    mlp = Cell(("input", "intermediate", "output"), (Edge(0, 1, "linear"), Edge(1, 2, "linear"), Edge(0, 2, "none")))
    mlp_without = mlp.remove_edge(2)
    m1, m2 = (build_network(c, "mlp", input_shape=(6,), width=8) for c in (mlp, mlp_without))
    assert parameter_count(m1) == parameter_count(m2)
    _copy_weights(m1, m2)
    x = torch.randn(4, 6)
    assert torch.equal(m1(x), m2(x))


def test_skip_edge_is_an_exact_identity() -> None:
    skip = Cell(("input", "output"), (Edge(0, 1, "skip_connect"),))
    x = torch.randn(2, 4, 6, 6)
    cell = DagCell(skip, lambda op, stride: nb201_layer(op, 4, 4, stride))
    assert torch.equal(cell([x]), x)
    # A skip in parallel with a conv: output = x + conv(x) exactly.
    res = Cell(("input", "output"), (Edge(0, 1, "nor_conv_3x3"), Edge(0, 1, "skip_connect")))
    cell = DagCell(res, lambda op, stride: nb201_layer(op, 4, 4, stride)).eval()
    assert torch.equal(cell([x]), cell.layers["0"](x) + x)
    mlp = build_network(Cell(("input", "output"), (Edge(0, 1, "skip_connect"),)), "mlp", input_shape=(5,), width=7)
    h = torch.randn(3, 7)
    assert torch.equal(mlp.node_features(h)[1], h)


def test_disconnected_cell_outputs_zeros_from_its_cells() -> None:
    cell = Cell.from_nb201("|none~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")
    dag = DagCell(cell, lambda op, stride: nb201_layer(op, 4, 4, stride))
    assert parameter_count(dag) == 4 * 4 * 9 + 8  # the dead conv exists, as in NB201
    x = torch.randn(2, 4, 5, 5)
    assert dag([x]).shape == x.shape


def test_bad_cells_and_sizes_raise_cell_errors() -> None:
    darts = next(p.cell for p in PRESETS if p.name.startswith("DARTS-V2"))
    with pytest.raises(CellError, match="one input node"):
        build_network(darts, "nb201")
    with pytest.raises(CellError, match="two input nodes"):
        build_network(Cell.from_nb201(RESNET), "darts")
    with pytest.raises(CellError, match="network kind"):
        build_network(darts, "transformer")
    with pytest.raises(CellError, match="images"):
        build_network(darts, "darts", input_shape=(64,))
    with pytest.raises(CellError, match="NAS-Bench-201 layer"):
        build_network(Cell(("input", "output"), (Edge(0, 1, "sep_conv_3x3"),)), "nb201")
