"""Chen et al. (NeurIPS 2022) Fig. 4 as the paper and its code set it up: the network (stem, init,
readout) and the "paper" preset, field by field; the learning-rate sweep; the earlier network kept."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from explorer.cell.presets import get_preset
from explorer.experiments.checkpoints import stored_spec_json
from explorer.experiments.presets import LR_SWEEP, experiment_presets, preset_specs
from explorer.experiments.train import TrainSpec
from explorer.nets import build_network
from explorer.nets.mlp import MLPCellNet

DAG3 = get_preset("DAG#3 (mixed)").cell


def _std_ratio(layer: nn.Linear) -> float:
    """The weights' std against Kaiming normal's √(2/fan_in)."""
    return float(layer.weight.detach().std()) / math.sqrt(2.0 / layer.in_features)


def test_chens_network_has_a_relu_stem_and_kaiming_normal_everywhere() -> None:
    torch.manual_seed(0)
    net = build_network(DAG3, "mlp", input_shape=(784,), width=1024)
    assert isinstance(net, MLPCellNet) and net.stem_kind == "chen"
    layers = [net.stem, net.head, *(op.linear for op in net.edge_ops.values())]
    for layer in layers:
        assert _std_ratio(layer) == pytest.approx(1.0, abs=0.02)
        assert float(layer.weight.detach().mean()) == pytest.approx(0.0, abs=0.01)
        assert torch.count_nonzero(layer.bias) == 0
    x = torch.randn(8, 784)
    with torch.no_grad():
        h = net.stem(x)
        feats = net.node_features(torch.relu(h))
        assert torch.allclose(net(x), net.head(feats[DAG3.output]))  # the stem's ReLU is applied
        assert not torch.allclose(net(x), net.head(net.node_features(h)[DAG3.output]))


def test_the_earlier_network_is_kept_under_its_own_name() -> None:
    torch.manual_seed(0)
    old = build_network(DAG3, "mlp", input_shape=(784,), width=512, mlp_stem="linear")
    torch.manual_seed(0)
    new = build_network(DAG3, "mlp", input_shape=(784,), width=512)
    assert old.state_dict().keys() == new.state_dict().keys()  # weights load into either
    # PyTorch's default: uniform with bound 1/√fan_in, i.e. std 1/√(3·fan_in), bias nonzero.
    assert float(old.stem.weight.detach().std()) == pytest.approx(1 / math.sqrt(3 * 784), rel=0.02)
    assert torch.count_nonzero(old.head.bias) > 0
    for name, op in old.edge_ops.items():  # the cell is the same network under the same seed
        assert torch.equal(op.linear.weight, new.edge_ops[name].linear.weight)
    with pytest.raises(ValueError, match="stem"):
        MLPCellNet(DAG3, 4, 8, 2, stem="relu")  # type: ignore[arg-type]


def test_runs_stored_before_the_field_get_the_linear_stem_back() -> None:
    spec = TrainSpec.model_validate({"network": {"cell": DAG3.to_text(), "network": "mlp"}})
    raw = json.loads(spec.model_dump_json())
    del raw["network"]["mlp_stem"]
    legacy = TrainSpec.model_validate_json(stored_spec_json(json.dumps(raw).encode()))
    assert legacy.network.mlp_stem == "linear"
    assert TrainSpec.model_validate_json(stored_spec_json(spec.model_dump_json().encode())).network.mlp_stem == "chen"


def _preset(name: str):  # noqa: ANN202 - test helper
    return next(p for p in experiment_presets() if p.name == name)


def test_the_paper_preset_is_chen_et_al_field_by_field() -> None:
    preset = _preset("Chen et al. Fig. 4 (paper)")
    assert preset.size == "paper" and preset.needs_path == "mnist"
    specs = preset_specs(preset, "/data/mnist")
    assert {s.name for s in specs} == {"DAG#1", "DAG#2", "DAG#3"}
    for s in specs:
        net = s.network
        assert net.kind() == "mlp" and net.width == 1024 and net.mlp_stem == "chen"  # Linear+ReLU stem, Kaiming normal
        assert s.batch_size == 128 and s.optimizer == "sgd" and s.lr == 1e-5
        assert s.momentum == 0.0 and s.weight_decay == 0.0 and not s.nesterov and s.schedule == "constant"
        assert s.epochs == 1000  # their code: --lr 0.00001 --epochs 1000
        assert s.data.name == "mnist" and s.data.path == "/data/mnist"
        assert s.grad_clip is None and not s.amp
    # Training accuracy is recorded every epoch (what Fig. 4 plots): the train kind's curve.
    from explorer.jobs.registry import get_kind
    assert "epoch_train_acc" in (get_kind("train").metric_labels or {})
    # Without MNIST on disk it falls back to MNIST-1D and says so, in the description and the experiment.
    fallback = preset_specs(preset)
    assert {s.data.name for s in fallback} == {"mnist1d"} and fallback[0].experiment.endswith("on mnist1d")
    assert "MNIST-1D instead" in preset.description and "deviation" in preset.description


def test_every_chen_preset_that_deviates_says_how() -> None:
    for preset in experiment_presets():
        if not preset.name.startswith("Chen et al.") or preset.size == "paper":
            continue
        assert "Deviates from the paper" in preset.description, preset.name
        specs = preset_specs(preset)
        assert all(s.network.mlp_stem == "chen" and s.momentum == 0 and s.batch_size == 128 for s in specs)


def test_the_learning_rate_sweep() -> None:
    preset = _preset("Chen et al. Fig. 4, learning-rate sweep on digits (quick)")
    specs = preset_specs(preset)
    assert sorted({s.lr for s in specs}) == sorted(LR_SWEEP) and min(LR_SWEEP) == 1e-5 and max(LR_SWEEP) == 0.1
    assert len(specs) == 3 * len(LR_SWEEP) and len({s.name for s in specs}) == len(specs)  # curves tell lrs apart
    assert {s.network.width for s in specs} == {1024}
