"""BatchNorm statistics of the analyses (running as Li et al., or the batch's), the split, and
that every analysis result says which it used."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from explorer.cell.presets import get_preset
from explorer.experiments.batchnorm import has_batchnorm, recalibrate_
from explorer.experiments.datasets import DataSpec, load_dataset
from explorer.experiments.gradvar import (
    GradVarianceSpec,
    extend_for_backpack,
    gradient_variance,
    variance_grid,
)
from explorer.experiments.hessian import HessianSpec, top_eigenvalues
from explorer.experiments.landscape import LossContourSpec, SurfaceEvaluator, directions
from explorer.experiments.presets import analysis_presets
from explorer.jobs.results import evaluation_caption
from explorer.nets import build_network


@pytest.fixture(scope="module")
def digits():
    data = load_dataset(DataSpec(name="digits"))
    return data.x_train[:120], data.y_train[:120]


def _nb201(digits) -> nn.Module:
    torch.manual_seed(0)
    net = build_network(get_preset("NB201 ResNet cell").cell, "nb201", input_shape=(1, 8, 8), channels=4,
                        cells_per_stage=1)
    net.train()
    with torch.no_grad():
        for _ in range(3):  # running statistics that differ from the batch's
            net(digits[0][:16] * 3)
    return net.eval()


def test_batch_statistics_are_the_train_mode_forward(digits) -> None:
    x, y = digits
    net = _nb201(digits)
    d1, d2 = directions(net, seed=1)
    running = SurfaceEvaluator(net, x, y, d1, d2)
    batch = SurfaceEvaluator(net, x, y, d1, d2, bn_stats="batch")
    trained_mode = copy.deepcopy(net).train()
    with torch.no_grad():
        expected = float(nn.functional.cross_entropy(trained_mode(x), y))
    assert batch.point(0.0, 0.0)[0] == pytest.approx(expected, rel=1e-5)
    assert running.point(0.0, 0.0)[0] != pytest.approx(expected, rel=1e-3)
    # loop and vmap agree in batch mode too (no running buffers for vmap to trip over)
    xs = np.array([-0.5, 0.5])
    loop = batch.grid(xs, xs, method="loop").loss
    vm = SurfaceEvaluator(net, x, y, d1, d2, bn_stats="batch").grid(xs, xs, method="vmap").loss
    np.testing.assert_allclose(loop, vm, rtol=1e-4)
    assert all(m.running_mean is not None for m in net.modules() if isinstance(m, nn.BatchNorm2d))  # untouched


def test_networks_without_batchnorm_are_the_same_either_way(digits) -> None:
    x, y = digits
    torch.manual_seed(0)
    net = build_network(get_preset("DAG#3 (mixed)").cell, "mlp", input_shape=(1, 8, 8), width=16)
    assert not has_batchnorm(net)
    d1, d2 = directions(net, seed=1)
    a = SurfaceEvaluator(net, x, y, d1, d2).point(0.3, -0.2)
    b = SurfaceEvaluator(net, x, y, d1, d2, bn_stats="batch").point(0.3, -0.2)
    assert a == pytest.approx(b)


def test_recalibrated_statistics_and_the_gradient_variance_grid(digits) -> None:
    x, y = digits
    net = _nb201(digits)
    before = {k: b.clone() for k, b in net.named_buffers()}
    calibrated = copy.deepcopy(net)
    recalibrate_(calibrated, x)
    name, bn = next((n, m) for n, m in calibrated.named_modules() if isinstance(m, nn.BatchNorm2d))
    assert not bn.training and not torch.allclose(bn.running_mean, net.get_submodule(name).running_mean)
    d1, d2 = directions(net, seed=2)
    axis = np.array([0.0])
    g_batch = variance_grid(net, x, y, d1, d2, axis, axis, bn_stats="batch")[0, 0]
    g_running = variance_grid(net, x, y, d1, d2, axis, axis)[0, 0]
    expected = gradient_variance(extend_for_backpack(calibrated), x, y)
    assert g_batch == pytest.approx(expected, rel=1e-4) and g_batch != pytest.approx(g_running, rel=1e-3)
    assert all(torch.equal(before[k], b) for k, b in net.named_buffers())  # restored


def test_hessian_with_batch_statistics_leaves_the_model_alone(digits) -> None:
    x, y = digits
    net = _nb201(digits)
    running = top_eigenvalues(net, x, y, 1, max_iterations=15).eigenvalues[0]
    batch = top_eigenvalues(net, x, y, 1, max_iterations=15, bn_stats="batch").eigenvalues[0]
    assert np.isfinite(batch) and batch != pytest.approx(running, rel=1e-3)
    assert all(m.running_mean is not None for m in net.modules() if isinstance(m, nn.BatchNorm2d))


def test_spec_fields_and_shus_presets_use_the_test_split() -> None:
    assert LossContourSpec(train_job=1).bn_stats == "running" and LossContourSpec(train_job=1).split == "train"
    assert GradVarianceSpec(train_job=1).split == "test"  # Shu et al.'s quantity, Shu et al.'s split
    assert HessianSpec(train_job=1, bn_stats="batch").bn_stats == "batch"
    shu = [p for p in analysis_presets() if "Shu" in p.name]
    assert shu and all(p.spec["split"] == "test" for p in shu)
    for p in analysis_presets():
        spec = p.spec_for(7)
        model = LossContourSpec if p.kind == "loss_contour" else GradVarianceSpec
        assert model.model_validate(spec).train_job == 7


def test_every_analysis_caption_says_split_and_batchnorm() -> None:
    text = evaluation_caption({"split": "test", "bn_stats": "batch", "samples": 1000}, {"samples": 1000})
    assert "test split, 1,000 samples" in text and "batch statistics" in text
    old = evaluation_caption({"train_job": 3}, {"samples": 500})  # stored before bn_stats existed
    assert "training split" in old and "running statistics" in old
    mlp = evaluation_caption({"split": "train"}, {"batchnorm": "none in this network"})
    assert "no BatchNorm" in mlp
