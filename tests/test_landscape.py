"""Loss landscapes: filter normalisation, exactness at the origin, loop = vmap = no-linearity."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from explorer.cell.presets import get_preset
from explorer.experiments.datasets import DataSpec, load_dataset
from explorer.experiments.landscape import SurfaceEvaluator, directions, interpolate, random_direction
from explorer.experiments.train import evaluate
from explorer.jobs.local_context import LocalContext
from explorer.jobs.registry import get_kind
from explorer.nets import build_network


@pytest.fixture(scope="module")
def digits():
    data = load_dataset(DataSpec(name="digits"))
    return data.x_train[:150], data.y_train[:150]


def _net(kind: str, digits) -> torch.nn.Module:
    torch.manual_seed(0)
    preset = {"mlp": "DAG#3 (mixed)", "nb201": "NB201 ResNet cell", "darts": "DARTS-V2 normal cell"}[kind]
    net = build_network(get_preset(preset).cell, kind, input_shape=(1, 8, 8), width=24, channels=4,
                        cells_per_stage=1, layers=2)
    net.train()
    with torch.no_grad():
        net(digits[0])  # BatchNorm running statistics away from their defaults
    return net.eval()


def test_filter_normalised_directions(digits) -> None:
    net = _net("nb201", digits)
    d = random_direction(net, torch.Generator().manual_seed(0))
    params = {k: v.detach() for k, v in net.named_parameters()}
    seen_conv = seen_linear = 0
    for name, w in params.items():
        if w.dim() <= 1:
            assert torch.count_nonzero(d[name]) == 0, name  # biases and BN: zero
            continue
        seen_conv += w.dim() == 4
        seen_linear += w.dim() == 2
        for i in range(w.shape[0]):
            assert float(d[name][i].norm()) == pytest.approx(float(w[i].norm()), rel=1e-5, abs=1e-7), (name, i)
    assert seen_conv and seen_linear
    kept = random_direction(net, torch.Generator().manual_seed(0), ignore_bias_bn=False)
    assert all(torch.equal(kept[k], w) for k, w in params.items() if w.dim() <= 1)


@pytest.mark.parametrize("kind", ["mlp", "nb201", "darts"])
def test_origin_is_exact_and_loop_vmap_and_plain_agree(kind, digits) -> None:
    x, y = digits
    net = _net(kind, digits)
    d1, d2 = directions(net, seed=3)
    fast = SurfaceEvaluator(net, x, y, d1, d2)
    assert fast.first is not None  # the first layer is linear: its products are precomputed
    assert fast.point(0.0, 0.0) == evaluate(net, x, y)  # exactly the trained loss and accuracy
    axis = np.linspace(-1, 1, 3)
    loop = fast.grid(axis, axis, method="loop")
    vec = fast.grid(axis, axis, method="vmap", points_per_call=4)
    plain = SurfaceEvaluator(net, x, y, d1, d2, use_linearity=False).grid(axis, axis, method="loop")
    auto = fast.grid(axis, axis)  # measures both ways on the first two rows, then keeps the faster
    assert set(fast.seconds_per_point) == {"loop", "vmap"} and fast.method_used in ("loop", "vmap")
    np.testing.assert_allclose(auto.loss, loop.loss, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(vec.loss, loop.loss, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(plain.loss, loop.loss, rtol=1e-5, atol=1e-5)
    assert loop.loss[1, 1] == evaluate(net, x, y)[0]
    # The evaluator works on a copy: the model is untouched.
    assert fast.point(0.0, 0.0) == evaluate(net, x, y)


def test_grid_point_equals_a_model_with_moved_weights(digits) -> None:
    x, y = digits
    net = _net("mlp", digits)
    d1, d2 = directions(net, seed=1)
    value = SurfaceEvaluator(net, x, y, d1, d2).point(0.5, -0.25)
    moved = _net("mlp", digits)
    with torch.no_grad():
        for k, p in moved.named_parameters():
            p.add_(0.5 * d1[k] - 0.25 * d2[k])
    assert value[0] == pytest.approx(evaluate(moved, x, y)[0], rel=1e-5)


def test_interpolation_ends_at_init_and_trained_losses(digits) -> None:
    x, y = digits
    init = _net("mlp", digits)
    trained = _net("mlp", digits)
    with torch.no_grad():
        for p in trained.parameters():
            p.mul_(1.1).add_(0.01)
    state = {k: v.clone() for k, v in init.state_dict().items()}
    losses, _ = interpolate(trained, state, x, y, np.array([0.0, 0.5, 1.0]))
    assert losses[0] == pytest.approx(evaluate(init, x, y)[0], rel=1e-6)
    assert losses[2] == pytest.approx(evaluate(trained, x, y)[0], rel=1e-6)


def test_loss_contour_job_after_a_train_job() -> None:
    shared: dict = {}
    train_ctx = LocalContext(job_id=1, artifacts=shared)
    get_kind("train").run(get_kind("train").validate({
        "network": {"cell": get_preset("DAG#1 (sequential)").cell.to_text(), "width": 16},
        "data": {"name": "synthetic"}, "epochs": 1}), train_ctx)
    ctx = LocalContext(job_id=2, artifacts=shared)
    kind = get_kind("loss_contour")
    summary = kind.run(kind.validate({"train_job": 1, "steps": 5, "samples": 100, "interpolation_steps": 3}), ctx)
    arrays = np.load(io.BytesIO(shared[(2, "contour.npz")]))
    assert arrays["loss"].shape == (5, 5) and arrays["interp_loss"].shape == (3,)
    assert summary["centre_loss"] == arrays["loss"][2, 2] and summary["points"] == 25
    assert shared[(2, "contour.csv")].decode().startswith("alpha,beta,loss,acc")
    with pytest.raises(Exception, match="not a finished train job"):
        kind.run(kind.validate({"train_job": 99}), LocalContext(job_id=3, artifacts=shared))
