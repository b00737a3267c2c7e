"""Networks built from cells: parameter counts against NAS-Bench-201 and DARTS, shapes, none/skip."""

from __future__ import annotations

import random

import pandas as pd
import pytest
import torch

from explorer.cell.model import Cell, Edge, Genotype
from explorer.cell.presets import PRESETS
from explorer.core.errors import CellError
from explorer.nets import build_network, cell_parameter_count, network_kind, parameter_count
from explorer.nets.dag import DagCell
from explorer.nets.layers import darts_layer, drop_path, nb201_layer
from explorer.nets.spec import NetworkSpec

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
    rows = pd.read_parquet(nb201_dir / "nb201_main.parquet").to_dict("records")
    sample = random.Random(7).sample(rows, 40)
    for row in sample:
        expected = round(float(row["params_m"]) * 1e6)
        got = _count_on_meta(Cell.from_nb201(row["arch_str"]), "nb201")
        assert got == expected, row["arch_str"]


def test_darts_v2_has_the_darts_papers_parameter_count() -> None:
    # DARTS (Liu et al., ICLR 2019) Table 1: 3.3M at C=36, 20 layers, CIFAR-10 (no auxiliary head);
    # the DARTS repository's train.py logs "param size = 3.349342MB".
    assert _count_on_meta(Genotype.parse(DARTS_V2), "darts", channels=36, layers=20) == 3_349_342
    # With the auxiliary head the reported count stays the same (DARTS' count_parameters_in_MB leaves
    # it out); the head itself: 1×1 conv 576→128, BN, 2×2 conv 128→768, BN, linear 768→10.
    with torch.device("meta"):
        net = build_network(Genotype.parse(DARTS_V2), "darts", channels=36, layers=20, auxiliary=True)
    head = 576 * 128 + 2 * 128 + 128 * 768 * 4 + 2 * 768 + 768 * 10 + 10
    assert parameter_count(net) == 3_349_342
    assert parameter_count(net, auxiliary=True) == 3_349_342 + head


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


def _darts_v2(size: int = 8, **kw) -> torch.nn.Module:
    return build_network(Genotype.parse(DARTS_V2), "darts", input_shape=(3, size, size), num_classes=5,
                         channels=4, layers=kw.pop("layers", 3), **kw)


@pytest.mark.parametrize("size", [32, 8])  # DARTS' 8×8 map at 2/3 depth, and a smaller one
def test_auxiliary_head_runs_in_training_only(size) -> None:
    torch.manual_seed(0)
    net = _darts_v2(size, layers=5, auxiliary=True).train()
    x = torch.randn(3, 3, size, size)
    logits, aux = net(x, auxiliary=True)
    assert logits.shape == (3, 5) and aux is not None and aux.shape == (3, 5)
    (logits.sum() + aux.sum()).backward()
    assert all(p.grad is not None for p in net.auxiliary_head.parameters())
    assert net(x).shape == (3, 5)  # a plain call gives the logits in every mode
    net.eval()
    out = net(x)
    assert isinstance(out, torch.Tensor) and out.shape == (3, 5)
    logits, aux = net(x, auxiliary=True)
    assert aux is None and torch.equal(logits, out)
    # The head reads the cell at 2/3 depth (index 2·5//3 = 3): its input channels are that cell's.
    assert net.auxiliary_index == 3
    assert net.auxiliary_head.features[0].in_channels == net.cells[3].out_channels


def test_auxiliary_head_is_darts_only() -> None:
    with pytest.raises(CellError, match="auxiliary"):
        build_network(Cell.from_nb201(RESNET), "nb201", auxiliary=True)
    with pytest.raises(Exception, match="auxiliary"):
        NetworkSpec(cell=RESNET, auxiliary=True)
    assert NetworkSpec(cell=DARTS_V2, auxiliary=True).build((3, 8, 8), 10).auxiliary_head is not None
    assert NetworkSpec(cell=DARTS_V2).build((3, 8, 8), 10).auxiliary_head is None  # the default: as before


def test_drop_path_zeroes_whole_samples_and_rescales_the_rest() -> None:
    torch.manual_seed(0)
    x = torch.rand(4000, 2, 3, 3) + 0.5
    assert drop_path(x, 0.0) is x
    p = 0.3
    out = drop_path(x, p)
    ratio = out / x
    kept = ratio.flatten(1)[:, 0] > 0
    # per sample: all zero, or all exactly x / (1 − p)
    assert torch.allclose(ratio[kept], torch.full_like(ratio[kept], 1 / (1 - p)))
    assert torch.equal(out[~kept], torch.zeros_like(out[~kept]))
    assert abs(kept.float().mean().item() - (1 - p)) < 0.03  # ≈ 2.5 standard errors
    assert abs((out.mean() / x.mean()).item() - 1) < 0.05  # the expectation is kept


def test_drop_path_in_a_cell_skips_identities_and_is_off_in_eval() -> None:
    # Output = sep_conv(x) + skip(x): drop-path may only ever remove the conv's term.
    cell = Cell(("input", "output"), (Edge(0, 1, "sep_conv_3x3"), Edge(0, 1, "skip_connect")))
    torch.manual_seed(0)
    dag = DagCell(cell, lambda op, stride: darts_layer(op, 4, stride)).train()
    x = torch.randn(400, 4, 5, 5)
    conv = dag.layers["0"](x)  # train-mode BN: batch statistics, the same in every call
    assert torch.equal(dag([x], 0.0), conv + x)  # p = 0: exactly no drop-path
    torch.manual_seed(1)
    out = dag([x], 0.5)
    term = out - x
    dropped = term.flatten(1).abs().amax(1) == 0
    assert 120 < int(dropped.sum()) < 280  # about half of 400
    torch.testing.assert_close(term[~dropped], conv[~dropped] / 0.5)
    dag.eval()
    assert torch.equal(dag([x], 0.5), dag([x], 0.0))  # eval: deterministic and unaffected


def test_network_drop_path_zero_is_exact_and_eval_is_unaffected() -> None:
    torch.manual_seed(0)
    net = _darts_v2(8).train()
    x = torch.randn(4, 3, 8, 8)
    plain = net(x)
    net.drop_path_prob = 0.0
    assert torch.equal(net(x), plain)
    net.drop_path_prob = 0.4
    torch.manual_seed(5)
    dropped = net(x)
    assert not torch.equal(dropped, plain)
    torch.manual_seed(5)
    assert torch.equal(net(x), dropped)  # reproducible from the global seed
    net.eval()
    a, b = net(x), net(x)
    net.drop_path_prob = 0.0
    assert torch.equal(a, b) and torch.equal(a, net(x))


def test_branch_scale_bounds_a_deep_residual_chain_and_leaves_a_plain_one_alone() -> None:
    """x + α·f(x): with α = 1 an unnormalised residual chain's second moment grows ≈ 2.8× per layer
    (H8's 32-layer chains diverged); 1/√L (enough for branches ending in a linear layer) is not enough
    for branches ending in a ReLU, 1/L is. A plain chain has no node where a layer meets an identity,
    so α changes nothing there."""
    from explorer.cell.model import parse_cell
    from explorer.labs.catalogue import chain
    from explorer.nets.mlp import MLPCellNet

    def growth(cell: Cell, scale: float) -> float:
        torch.manual_seed(0)
        net = MLPCellNet(cell, 64, width=256, branch_scale=scale)
        with torch.no_grad():
            h = torch.relu(net.stem(torch.randn(512, 64)))
            out = net.node_features(h)[cell.output]
        return float(out.pow(2).mean() / h.pow(2).mean())

    residual, plain = parse_cell(chain(32, True)), parse_cell(chain(32, False))
    assert growth(residual, 1.0) > 1e12
    assert growth(residual, 32 ** -0.5) > 100  # the positive-mean cross term: ≈ (1 + 0.9α)^32
    assert 1.5 < growth(residual, 1 / 32) < 3.5  # ≈ e^0.9
    torch.manual_seed(0)
    x = torch.randn(8, 64)
    outs = []
    for scale in (1.0, 0.1):
        torch.manual_seed(1)
        outs.append(MLPCellNet(plain, 64, width=32, branch_scale=scale)(x))
    assert torch.equal(outs[0], outs[1])
    with pytest.raises(ValueError, match="mlp_branch_scale scales MLP-cell branches"):
        NetworkSpec(cell="|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
                    mlp_branch_scale=0.5)
